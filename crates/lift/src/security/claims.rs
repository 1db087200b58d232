//! A JWT's claims, read in one borrowed pass: the registered claims verification checks, the
//! configured tenant and roles claims, and which required claims were present.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::principal::{split_list, ClaimNames};
use crate::events::json::Str;

/// What one pass over the claims object found. Strings compared only (`iss`, `aud`) stay
/// borrowed; those the principal keeps are owned once, here.
#[derive(Default, Debug)]
pub(crate) struct ClaimSet<'a> {
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
    pub iss: Option<Str<'a>>,
    /// `aud` as a string or an array; `None` when absent.
    pub aud: Option<Vec<Str<'a>>>,
    pub sub: Option<String>,
    pub email: Option<String>,
    pub tenant: Option<String>,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    /// Bit `i` is set when `required[i]` was present.
    pub required_seen: u64,
}

/// The most required claims one verifier can name (a bit each in [`ClaimSet::required_seen`]).
pub(crate) const MAX_REQUIRED: usize = 64;

/// Reads a claims object with the claim names and required list of one verifier.
pub(crate) struct ClaimsSeed<'c> {
    pub names: &'c ClaimNames,
    pub required: &'c [Box<str>],
    /// Whether `exp`, `nbf`, `iat` and `aud` are read (and must be well-typed). API Gateway's
    /// authorizer claims are already verified and carry them as text: they are skipped there.
    pub registered: bool,
}

/// Parse `json` (the decoded payload) as a claims object.
pub(crate) fn parse<'a>(json: &'a str, seed: ClaimsSeed<'_>) -> Result<ClaimSet<'a>, String> {
    let mut de = serde_json::Deserializer::from_str(json);
    let set = seed.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(set)
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = ClaimSet<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

// Bits of the claims read once each: a second occurrence is refused.
const EXP: u16 = 1;
const NBF: u16 = 1 << 1;
const IAT: u16 = 1 << 2;
const ISS: u16 = 1 << 3;
const AUD: u16 = 1 << 4;
const SUB: u16 = 1 << 5;
const EMAIL: u16 = 1 << 6;
const TENANT: u16 = 1 << 7;
const ROLES: u16 = 1 << 8;
const SCOPE: u16 = 1 << 9;
const SCP: u16 = 1 << 10;

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = ClaimSet<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut set = ClaimSet::default();
        let mut seen = 0u16;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let key = &*key;
            if let Some(i) = self.required.iter().position(|r| &**r == key) {
                set.required_seen |= 1 << i;
            }
            let bit = if key == &*self.names.tenant {
                set.tenant = map.next_value::<Option<Scalar>>()?.map(|s| s.0);
                TENANT
            } else if key == &*self.names.roles {
                set.roles = map.next_value::<Option<List>>()?.unwrap_or_default().0;
                ROLES
            } else {
                match key {
                    "exp" | "nbf" | "iat" | "aud" if !self.registered => {
                        map.next_value::<IgnoredAny>()?;
                        0
                    }
                    "exp" => {
                        set.exp = map.next_value::<Option<NumericDate>>()?.map(|n| n.0);
                        EXP
                    }
                    "nbf" => {
                        set.nbf = map.next_value::<Option<NumericDate>>()?.map(|n| n.0);
                        NBF
                    }
                    "iat" => {
                        set.iat = map.next_value::<Option<NumericDate>>()?.map(|n| n.0);
                        IAT
                    }
                    "iss" => {
                        set.iss = map.next_value()?;
                        ISS
                    }
                    "aud" => {
                        set.aud = map.next_value::<Option<Audience<'de>>>()?.map(|a| a.0);
                        AUD
                    }
                    "sub" => {
                        set.sub = map.next_value::<Option<Str<'de>>>()?.map(|s| s.0.into());
                        SUB
                    }
                    "email" => {
                        set.email = map.next_value::<Option<Str<'de>>>()?.map(|s| s.0.into());
                        EMAIL
                    }
                    "scope" => {
                        if let Some(s) = map.next_value::<Option<Str<'de>>>()? {
                            split_list(&s, &mut set.scopes);
                        }
                        SCOPE
                    }
                    "scp" => {
                        let list = map.next_value::<Option<List>>()?.unwrap_or_default().0;
                        set.scopes.extend(list);
                        SCP
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        0
                    }
                }
            };
            if seen & bit != 0 {
                return Err(de::Error::custom(format_args!("duplicate claim `{key}`")));
            }
            seen |= bit;
        }
        Ok(set)
    }
}

/// A NumericDate: seconds since the epoch, integer or not.
struct NumericDate(f64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = f64::deserialize(d)?;
        if n.is_finite() {
            Ok(NumericDate(n))
        } else {
            Err(de::Error::custom("a date claim is not a finite number"))
        }
    }
}

/// A string claim, or a number read as its decimal text (some issuers send numeric tenant ids).
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list claim: an array of strings, or one string of names separated by commas or spaces.
#[derive(Default)]
struct List(Vec<String>);

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = List;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings or a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<List, E> {
                let mut out = Vec::new();
                split_list(v, &mut out);
                Ok(List(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
                while let Some(s) = seq.next_element::<Str<'de>>()? {
                    out.push(s.0.into_owned());
                }
                Ok(List(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `aud`: one string or an array of strings.
struct Audience<'a>(Vec<Str<'a>>);

impl<'de> Deserialize<'de> for Audience<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Audience<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Audience(vec![Str::from(v)]))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Audience(vec![Str(v.to_owned().into())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Str<'de>>()? {
                    out.push(s);
                }
                Ok(Audience(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<ClaimSet<'_>, String> {
        let names = ClaimNames::default()
            .tenant("custom:tenant_id")
            .roles("cognito:groups");
        let required: Vec<Box<str>> = vec!["exp".into(), "custom:tenant_id".into()];
        parse(
            json,
            ClaimsSeed {
                names: &names,
                required: &required,
                registered: true,
            },
        )
    }

    #[test]
    fn reads_every_claim_in_one_pass() {
        let set = read(
            r#"{"sub":"u-1","iss":"https://i","aud":["a","b"],"exp":1700000000,"nbf":1.5,
               "iat":1699999999,"email":"a@b.c","custom:tenant_id":"acme",
               "cognito:groups":["admin","user"],"scope":"read write","other":{"x":[1,2]}}"#,
        )
        .expect("parses");
        assert_eq!(set.sub.as_deref(), Some("u-1"));
        assert_eq!(set.iss.as_deref(), Some("https://i"));
        let aud: Vec<&str> = set.aud.iter().flatten().map(|a| &**a).collect();
        assert_eq!(aud, ["a", "b"]);
        assert_eq!(
            (set.exp, set.nbf, set.iat),
            (Some(1.7e9), Some(1.5), Some(1_699_999_999.0))
        );
        assert_eq!(set.email.as_deref(), Some("a@b.c"));
        assert_eq!(set.tenant.as_deref(), Some("acme"));
        assert_eq!(set.roles, ["admin", "user"]);
        assert_eq!(set.scopes, ["read", "write"]);
        assert_eq!(set.required_seen, 0b11);
    }

    #[test]
    fn reads_alternative_shapes() {
        let set = read(r#"{"aud":"one","custom:tenant_id":42,"cognito:groups":"a,b","scp":["x"]}"#)
            .expect("parses");
        let aud: Vec<&str> = set.aud.iter().flatten().map(|a| &**a).collect();
        assert_eq!(aud, ["one"]);
        assert_eq!(set.tenant.as_deref(), Some("42"));
        assert_eq!(set.roles, ["a", "b"]);
        assert_eq!(set.scopes, ["x"]);
        assert_eq!(set.required_seen, 0b10);
    }

    #[test]
    fn refuses_duplicates_and_wrong_types() {
        for bad in [
            r#"{"exp":1,"exp":2}"#,
            r#"{"custom:tenant_id":"a","custom:tenant_id":"b"}"#,
            r#"{"exp":"1700000000"}"#,
            r#"{"aud":1}"#,
            r#"{"iss":["a"]}"#,
            r#"[1]"#,
            r#"{"a":1} trailing"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
