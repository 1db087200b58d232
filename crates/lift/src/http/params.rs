//! A serde deserializer over decoded name/value pairs: what [`Path`](super::Path) reads from
//! the route's parameters and [`Query`](super::Query) from the query string.
//!
//! Written here rather than taken from a crate: path parameters are a short list of values the
//! router has already decoded, read as one value, a tuple or a struct (only axum does this, in
//! a private module); and `serde_urlencoded` would parse the raw query string again, where
//! these pairs are the ones [`Request::query`](crate::http::Request::query) reads, decoded once, and
//! it cannot collect a repeated key into a `Vec`.
//!
//! Errors never carry the values they reject: a message names the parameter and says what was
//! expected, so a client learns what to fix and a log line holds no oversized input.

use std::collections::HashMap;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Expected, Unexpected, Visitor};

/// The longest parameter name or message echoed back, in characters: names in a query string
/// are the client's, and a message must stay short whatever it was sent.
const ECHO_LIMIT: usize = 64;

/// Why the parameters did not deserialise.
#[derive(Debug)]
pub(crate) enum ParamError {
    /// A value is not what the type expects: the client's mistake. `expected` says what was,
    /// `name` which parameter (once known).
    Invalid {
        name: Option<String>,
        expected: String,
    },
    /// A field of the type that no parameter has.
    Missing(&'static str),
    /// A parameter the type refuses (`#[serde(deny_unknown_fields)]`).
    Unknown(String),
    /// The type cannot be read from these parameters (a nested struct, the wrong number of
    /// them): the program's mistake.
    Unsupported(String),
}

impl ParamError {
    /// Name the parameter an error is about, unless it already names one.
    fn named(self, param: &str) -> Self {
        match self {
            ParamError::Invalid {
                name: None,
                expected,
            } => ParamError::Invalid {
                name: Some(bounded(param)),
                expected,
            },
            other => other,
        }
    }

    fn expected(expected: impl Into<String>) -> Self {
        ParamError::Invalid {
            name: None,
            expected: expected.into(),
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Invalid {
                name: Some(name),
                expected,
            } => write!(f, "`{name}`: {expected}"),
            ParamError::Invalid {
                name: None,
                expected,
            } => f.write_str(expected),
            ParamError::Missing(field) => write!(f, "no parameter `{field}`"),
            ParamError::Unknown(name) => write!(f, "unknown parameter `{name}`"),
            ParamError::Unsupported(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ParamError {}

impl de::Error for ParamError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ParamError::expected(bounded(&msg.to_string()))
    }

    // The overrides below leave out the rejected value, which serde's defaults would quote.

    fn invalid_type(_: Unexpected<'_>, exp: &dyn Expected) -> Self {
        ParamError::expected(format!("expected {exp}"))
    }

    fn invalid_value(_: Unexpected<'_>, exp: &dyn Expected) -> Self {
        ParamError::expected(format!("expected {exp}"))
    }

    fn invalid_length(_: usize, exp: &dyn Expected) -> Self {
        ParamError::expected(format!("expected {exp}"))
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        ParamError::expected(one_of(expected))
    }

    fn unknown_field(field: &str, _: &'static [&'static str]) -> Self {
        ParamError::Unknown(bounded(field))
    }

    fn missing_field(field: &'static str) -> Self {
        ParamError::Missing(field)
    }
}

/// `s`, cut to [`ECHO_LIMIT`] characters.
fn bounded(s: &str) -> String {
    match s.char_indices().nth(ECHO_LIMIT) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

fn one_of(names: &[&str]) -> String {
    match names {
        [] => "expected nothing".to_owned(),
        [one] => format!("expected `{one}`"),
        _ => {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("expected one of {}", quoted.join(", "))
        }
    }
}

/// What a visitor wanted, for a message.
fn wanted<'de, V: Visitor<'de>>(visitor: &V) -> String {
    (visitor as &dyn Expected).to_string()
}

/// Parse a number, or say which range it must be in.
macro_rules! parse_int {
    ($($method:ident $visit:ident $ty:ty),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
                match self.value.parse::<$ty>() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => Err(ParamError::expected(format!(
                        "expected an integer from {} to {}",
                        <$ty>::MIN,
                        <$ty>::MAX
                    ))),
                }
            }
        )*
    };
}

/// One parameter's value: a string the target type parses.
struct Value<'de> {
    value: &'de str,
}

impl<'de> de::Deserializer<'de> for Value<'de> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_borrowed_str(self.value)
    }

    parse_int! {
        deserialize_u8 visit_u8 u8,
        deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32,
        deserialize_u64 visit_u64 u64,
        deserialize_u128 visit_u128 u128,
        deserialize_i8 visit_i8 i8,
        deserialize_i16 visit_i16 i16,
        deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64,
        deserialize_i128 visit_i128 i128,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        match self.value.parse::<f32>() {
            Ok(n) => visitor.visit_f32(n),
            Err(_) => Err(ParamError::expected("expected a number")),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        match self.value.parse::<f64>() {
            Ok(n) => visitor.visit_f64(n),
            Err(_) => Err(ParamError::expected("expected a number")),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        match self.value {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => Err(ParamError::expected("expected `true` or `false`")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        let mut chars = self.value.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(ParamError::expected("expected a single character")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_borrowed_str(self.value)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_borrowed_str(self.value)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_borrowed_str(self.value)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_borrowed_bytes(self.value.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_borrowed_bytes(self.value.as_bytes())
    }

    /// A parameter that is there is `Some`; an absent one never reaches a deserializer.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    /// An enum of unit variants, named by the value.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_enum(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        Err(not_one_value(&visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        Err(not_one_value(&visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        Err(not_one_value(&visitor))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        Err(not_one_value(&visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        Err(not_one_value(&visitor))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }
}

fn not_one_value<'de, V: Visitor<'de>>(visitor: &V) -> ParamError {
    ParamError::Unsupported(format!(
        "a parameter is one value, which cannot be read as {}",
        wanted(visitor)
    ))
}

impl<'de> de::EnumAccess<'de> for Value<'de> {
    type Error = ParamError;
    type Variant = UnitOnly;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, UnitOnly), ParamError> {
        let variant = seed.deserialize(BorrowedStrDeserializer::<ParamError>::new(self.value))?;
        Ok((variant, UnitOnly))
    }
}

/// The variant of an enum read from one string: a unit variant, or nothing.
struct UnitOnly;

impl<'de> de::VariantAccess<'de> for UnitOnly {
    type Error = ParamError;

    fn unit_variant(self) -> Result<(), ParamError> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _: S) -> Result<S::Value, ParamError> {
        Err(data_variant())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, ParamError> {
        Err(data_variant())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ParamError> {
        Err(data_variant())
    }
}

fn data_variant() -> ParamError {
    ParamError::Unsupported("a parameter can name only an enum variant without data".to_owned())
}

/// The values of `(name, value)` pairs, in order, each named in its errors.
struct ValueAccess<I> {
    pairs: I,
}

impl<'de, I: Iterator<Item = (&'de str, &'de str)>> de::SeqAccess<'de> for ValueAccess<I> {
    type Error = ParamError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, ParamError> {
        match self.pairs.next() {
            Some((name, value)) => seed
                .deserialize(Value { value })
                .map(Some)
                .map_err(|e| e.named(name)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        match self.pairs.size_hint() {
            (lower, Some(upper)) if lower == upper => Some(upper),
            _ => None,
        }
    }
}

/// `(name, value)` pairs as a map, each value named in its errors.
struct PairAccess<'de, I, D> {
    pairs: I,
    /// The pending entry's name and its value's deserializer.
    pending: Option<(&'de str, D)>,
}

impl<'de, I, D> de::MapAccess<'de> for PairAccess<'de, I, D>
where
    I: Iterator<Item = (&'de str, D)>,
    D: de::Deserializer<'de, Error = ParamError>,
{
    type Error = ParamError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ParamError> {
        let Some((name, value)) = self.pairs.next() else {
            return Ok(None);
        };
        self.pending = Some((name, value));
        seed.deserialize(BorrowedStrDeserializer::<ParamError>::new(name))
            .map(Some)
            .map_err(|e| e.named(name))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ParamError> {
        match self.pending.take() {
            Some((name, value)) => seed.deserialize(value).map_err(|e| e.named(name)),
            // serde asks for a value only after a key.
            None => Err(ParamError::Unsupported("a value without a name".to_owned())),
        }
    }
}

/// The route's path parameters, in template order: one value, a tuple or sequence in order, or
/// a struct or map by name.
pub(crate) struct PathParams<'de> {
    params: Vec<(&'de str, &'de str)>,
}

impl<'de> PathParams<'de> {
    pub(crate) fn new(params: Vec<(&'de str, &'de str)>) -> Self {
        PathParams { params }
    }

    /// The one parameter a single value is read from.
    fn single<V: Visitor<'de>>(&self, visitor: &V) -> Result<(&'de str, Value<'de>), ParamError> {
        match self.params.as_slice() {
            [(name, value)] => Ok((name, Value { value })),
            params => Err(count_mismatch(1, params.len(), visitor)),
        }
    }

    fn seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_seq(ValueAccess {
            pairs: self.params.into_iter(),
        })
    }

    fn map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_map(PairAccess {
            pairs: self
                .params
                .into_iter()
                .map(|(name, value)| (name, Value { value })),
            pending: None,
        })
    }
}

fn count_mismatch<'de, V: Visitor<'de>>(wants: usize, has: usize, visitor: &V) -> ParamError {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    ParamError::Unsupported(format!(
        "{} takes {wants} path parameter{}, the route has {has}",
        wanted(visitor),
        plural(wants)
    ))
}

/// A single value: read from the one parameter, named in its errors.
macro_rules! single {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
                let (name, value) = self.single(&visitor)?;
                value.$method(visitor).map_err(|e| e.named(name))
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for PathParams<'de> {
    type Error = ParamError;

    /// A self-describing type (`serde_json::Value`, say) gets the parameters by name.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.map(visitor)
    }

    single! {
        deserialize_bool, deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64,
        deserialize_u128, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_i128, deserialize_f32, deserialize_f64, deserialize_char, deserialize_str,
        deserialize_string, deserialize_bytes, deserialize_byte_buf, deserialize_identifier,
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        let (param, value) = self.single(&visitor)?;
        value
            .deserialize_enum(name, variants, visitor)
            .map_err(|e| e.named(param))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.seq(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        if self.params.len() != len {
            return Err(count_mismatch(len, self.params.len(), &visitor));
        }
        self.seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.map(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }
}

/// Every value of one query parameter, in order: a sequence reads them all, anything else the
/// first (as [`Request::query`](crate::http::Request::query) does).
struct Repeated<'de> {
    name: &'de str,
    values: Vec<&'de str>,
}

impl<'de> Repeated<'de> {
    fn first(&self) -> Value<'de> {
        Value {
            value: self.values.first().copied().unwrap_or_default(),
        }
    }
}

/// A single value: read from the first.
macro_rules! first {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
                self.first().$method(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Repeated<'de> {
    type Error = ParamError;

    /// A self-describing type gets a string, or all the values when the key repeats.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        if self.values.len() == 1 {
            self.first().deserialize_any(visitor)
        } else {
            self.deserialize_seq(visitor)
        }
    }

    first! {
        deserialize_bool, deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64,
        deserialize_u128, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_i128, deserialize_f32, deserialize_f64, deserialize_char, deserialize_str,
        deserialize_string, deserialize_bytes, deserialize_byte_buf, deserialize_identifier,
        deserialize_unit, deserialize_map, deserialize_ignored_any,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.first().deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.first().deserialize_enum(name, variants, visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        let name = self.name;
        visitor.visit_seq(ValueAccess {
            pairs: self.values.into_iter().map(move |v| (name, v)),
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.first().deserialize_struct(name, fields, visitor)
    }
}

/// The query parameters as a struct or a map: each name once, with every value it was given,
/// in the order the names first appear.
pub(crate) struct QueryParams<'de> {
    params: Vec<Repeated<'de>>,
}

impl<'de> QueryParams<'de> {
    pub(crate) fn new(pairs: impl Iterator<Item = (&'de str, &'de str)>) -> Self {
        let mut params: Vec<Repeated<'de>> = Vec::new();
        // By name, so that a query of many names is grouped in linear time.
        let mut index: HashMap<&'de str, usize> = HashMap::new();
        for (name, value) in pairs {
            match index.get(name) {
                Some(&i) => params[i].values.push(value),
                None => {
                    index.insert(name, params.len());
                    params.push(Repeated {
                        name,
                        values: vec![value],
                    });
                }
            }
        }
        QueryParams { params }
    }

    fn map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_map(PairAccess {
            pairs: self.params.into_iter().map(|r| (r.name, r)),
            pending: None,
        })
    }
}

/// Not a struct or a map: the program asked for something a query string is not.
macro_rules! not_a_map {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
                Err(ParamError::Unsupported(format!(
                    "the query string is read as a struct or a map, not as {}",
                    wanted(&visitor)
                )))
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for QueryParams<'de> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.map(visitor)
    }

    not_a_map! {
        deserialize_bool, deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64,
        deserialize_u128, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_i128, deserialize_f32, deserialize_f64, deserialize_char, deserialize_str,
        deserialize_string, deserialize_bytes, deserialize_byte_buf, deserialize_identifier,
        deserialize_seq,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.map(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    fn path<T: de::DeserializeOwned>(params: &[(&str, &str)]) -> Result<T, ParamError> {
        T::deserialize(PathParams::new(params.to_vec()))
    }

    fn query<T: de::DeserializeOwned>(pairs: &[(&str, &str)]) -> Result<T, ParamError> {
        T::deserialize(QueryParams::new(pairs.iter().copied()))
    }

    #[test]
    fn path_values_tuples_and_structs() {
        assert_eq!(path::<u64>(&[("id", "42")]).unwrap(), 42);
        assert_eq!(
            path::<(String, u32)>(&[("name", "a b"), ("n", "7")]).unwrap(),
            ("a b".to_owned(), 7)
        );
        #[derive(Deserialize, Debug, PartialEq)]
        struct P {
            n: u32,
            name: String,
        }
        assert_eq!(
            path::<P>(&[("name", "x"), ("n", "7")]).unwrap(),
            P {
                n: 7,
                name: "x".into()
            }
        );
        assert_eq!(
            path::<Vec<String>>(&[("a", "1"), ("b", "2")]).unwrap(),
            vec!["1".to_owned(), "2".to_owned()]
        );
    }

    #[test]
    fn path_errors_name_the_parameter_and_never_the_value() {
        let e = path::<(u8, u8)>(&[("a", "1"), ("b", "999999")]).unwrap_err();
        assert_eq!(e.to_string(), "`b`: expected an integer from 0 to 255");
        let e = path::<u8>(&[("a", "1"), ("b", "2")]).unwrap_err();
        assert_eq!(e.to_string(), "u8 takes 1 path parameter, the route has 2");
        assert!(matches!(e, ParamError::Unsupported(_)));
        let long = "x".repeat(1000);
        let e = path::<bool>(&[("flag", &long)]).unwrap_err();
        assert_eq!(e.to_string(), "`flag`: expected `true` or `false`");
    }

    #[test]
    fn query_repeats_options_and_enums() {
        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(rename_all = "lowercase")]
        enum SortOrder {
            Asc,
            Desc,
        }
        #[derive(Deserialize, Debug, PartialEq)]
        struct Q {
            tag: Vec<String>,
            page: Option<u32>,
            order: SortOrder,
            #[serde(default)]
            limit: u8,
        }
        let q: Q = query(&[("tag", "a"), ("order", "desc"), ("tag", "b")]).unwrap();
        assert_eq!(
            q,
            Q {
                tag: vec!["a".into(), "b".into()],
                page: None,
                order: SortOrder::Desc,
                limit: 0
            }
        );
        let e = query::<Q>(&[("tag", "a"), ("order", "sideways")]).unwrap_err();
        assert_eq!(e.to_string(), "`order`: expected one of `asc`, `desc`");
        let e = query::<Q>(&[("tag", "a")]).unwrap_err();
        assert!(matches!(e, ParamError::Missing("order")), "{e}");
        let m: BTreeMap<String, String> = query(&[("b", "2"), ("a", "1"), ("b", "3")]).unwrap();
        assert_eq!(m["a"], "1");
        assert_eq!(m["b"], "2");
    }

    #[test]
    fn long_names_are_cut() {
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Q {
            a: Option<u8>,
        }
        let name = "n".repeat(500);
        let e = query::<Q>(&[(&name, "1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("unknown parameter `{}…`", "n".repeat(ECHO_LIMIT))
        );
    }
}
