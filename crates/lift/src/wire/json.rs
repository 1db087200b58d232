//! Borrowed JSON building blocks for parsing events once, without copying.
//!
//! serde's own `Cow<str>` only borrows when it is a field's direct type (never inside `Option`
//! or `Vec`), and `&str` fails on strings with escapes. [`Str`] borrows whenever the input
//! allows and owns only strings that had escapes. [`Pairs`] and [`MultiPairs`] read the
//! `headers` / `multiValueHeaders` style maps (which may be `null`) into flat vectors: events
//! carry few entries, so a vector beats a hash map to build and to scan.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A string borrowed from the event bytes when it has no escapes, owned otherwise.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl Str<'_> {
    pub(crate) fn to_string_owned(&self) -> String {
        self.0.clone().into_owned()
    }
}

impl fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'a> From<&'a str> for Str<'a> {
    fn from(s: &'a str) -> Self {
        Str(Cow::Borrowed(s))
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Str<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Str(Cow::Owned(v)))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

/// A JSON object of string values (`null` object and `null` values are skipped).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Pairs<'a>(pub(crate) Vec<(Str<'a>, Str<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Pairs::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Pairs::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_map(self)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, v)) = map.next_entry::<Str<'de>, Option<Str<'de>>>()? {
                    if let Some(v) = v {
                        out.push((k, v));
                    }
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_option(V)
    }
}

/// A JSON object of string arrays, flattened to one pair per value (`null` skipped).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct MultiPairs<'a>(pub(crate) Vec<(Str<'a>, Str<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for MultiPairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The values of one key, pushed straight into the shared output vector.
        struct KeyValues<'o, 'de> {
            key: Str<'de>,
            out: &'o mut Vec<(Str<'de>, Str<'de>)>,
        }
        impl<'o, 'de> de::DeserializeSeed<'de> for KeyValues<'o, 'de> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_option(self)
            }
        }
        impl<'o, 'de> Visitor<'de> for KeyValues<'o, 'de> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_none<E: de::Error>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_seq(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                while let Some(v) = seq.next_element::<Option<Str<'de>>>()? {
                    if let Some(v) = v {
                        self.out.push((self.key.clone(), v));
                    }
                }
                Ok(())
            }
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MultiPairs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string arrays or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MultiPairs::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MultiPairs::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_map(self)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    map.next_value_seed(KeyValues { key, out: &mut out })?;
                }
                Ok(MultiPairs(out))
            }
        }
        d.deserialize_option(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T<'a> {
        #[serde(borrow)]
        s: Option<Str<'a>>,
        #[serde(borrow, default)]
        p: Pairs<'a>,
        #[serde(borrow, default)]
        m: MultiPairs<'a>,
    }

    #[test]
    fn borrows_plain_strings_and_owns_escaped_ones() {
        let t: T = serde_json::from_str(r#"{"s":"plain","p":{"a":"x\"y","b":null}}"#).unwrap();
        assert!(matches!(t.s.unwrap().0, Cow::Borrowed("plain")));
        assert_eq!(t.p.0.len(), 1);
        assert!(matches!(t.p.0[0].1 .0, Cow::Owned(ref s) if s == "x\"y"));
    }

    #[test]
    fn null_maps_are_empty_and_multi_values_flatten() {
        let t: T =
            serde_json::from_str(r#"{"p":null,"m":{"a":["1","2"],"b":null,"c":[]}}"#).unwrap();
        assert!(t.p.0.is_empty());
        let m: Vec<(&str, &str)> = t.m.0.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(m, vec![("a", "1"), ("a", "2")]);
    }
}
