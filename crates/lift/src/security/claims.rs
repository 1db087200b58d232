//! A JWT's claims, read in one borrowed pass: the registered claims verification checks, the
//! configured tenant and roles claims, and which required claims were present.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::claim_names::{split_list, ClaimNames};
use crate::wire::json::Str;

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
    /// Bit `i` is set when `required[i]` was present with a value other than `null`.
    pub required_seen: u64,
    /// Bit `i` is set when the claim of `values[i]` was present (not `null`).
    pub values_seen: u64,
    /// Bit `i` is set when the claim of `values[i]` held one of its accepted values.
    pub values_ok: u64,
}

/// The most required claims, and the most claims with required values, one verifier can name
/// (a bit each in [`ClaimSet`]'s masks).
#[cfg(feature = "jwt")]
pub(crate) const MAX_REQUIRED: usize = 64;

/// A claim whose value must be one of a list (`client_id` one of the app's clients,
/// `token_use` `access`).
#[derive(Debug, Clone)]
pub(crate) struct ClaimValues {
    pub name: Box<str>,
    pub accepted: Vec<Box<str>>,
}

/// The claims a value rule may name: those Lift reads as one string. The others have their own
/// checks (`iss`: [`Issuer`](super::Issuer), `aud`: its audiences, the dates, roles, scopes).
#[cfg(feature = "jwt")]
pub(crate) fn value_rule_allowed(claim: &str, names: &ClaimNames) -> bool {
    !matches!(
        claim,
        "exp" | "nbf" | "iat" | "iss" | "aud" | "scope" | "scp"
    ) && claim != &*names.roles
}

/// Why a claims object was refused: the claim to blame, when one is, and the kind of fault.
/// Neither ever quotes the token: its claims are not verified yet when they are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimsFault {
    pub claim: Option<String>,
    pub fault: &'static str,
}

/// The faults a claims object can have.
pub(crate) const NOT_AN_OBJECT: &str = "not a JSON object";
pub(crate) const WRONG_TYPE: &str = "wrong type";
pub(crate) const DUPLICATE: &str = "duplicate";

/// Reads a claims object with the claim names and rules of one verifier.
pub(crate) struct ClaimsSeed<'c> {
    pub names: &'c ClaimNames,
    pub required: &'c [Box<str>],
    pub values: &'c [ClaimValues],
    /// Whether `exp`, `nbf`, `iat` and `aud` are read (and must be well-typed). API Gateway's
    /// authorizer claims are already verified and carry them as text: they are skipped there.
    pub registered: bool,
}

/// Parse `json` (the decoded payload) as a claims object.
pub(crate) fn parse<'a>(json: &'a str, seed: ClaimsSeed<'_>) -> Result<ClaimSet<'a>, ClaimsFault> {
    let blame = Cell::new(None);
    let mut de = serde_json::Deserializer::from_str(json);
    let reader = Reader {
        seed: &seed,
        blame: &blame,
    };
    // serde_json's own message is never used: it can quote the value (`invalid type: string
    // "..."`). What the reader blamed is all that is said.
    let refused = |_| {
        let (claim, fault) = blame.take().unwrap_or((None, NOT_AN_OBJECT));
        ClaimsFault { claim, fault }
    };
    let set = reader.deserialize(&mut de).map_err(refused)?;
    de.end().map_err(refused)?;
    Ok(set)
}

/// The claim a failed read is blamed on, and the kind of fault.
type Blame = Cell<Option<(Option<String>, &'static str)>>;

struct Reader<'r, 'c> {
    seed: &'r ClaimsSeed<'c>,
    blame: &'r Blame,
}

impl<'de> DeserializeSeed<'de> for Reader<'_, '_> {
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

impl Reader<'_, '_> {
    /// Read the value of `key` into `set`: which claim bit it is (0 for claims read more than
    /// once is harmless) and whether it held a value other than `null`.
    fn read<'de, A: MapAccess<'de>>(
        &self,
        key: &str,
        map: &mut A,
        set: &mut ClaimSet<'de>,
    ) -> Result<(u16, bool), A::Error> {
        let seed = self.seed;
        if key == &*seed.names.tenant {
            set.tenant = map.next_value::<Option<Scalar>>()?.map(|s| s.0);
            let _ = self.check_value(
                key,
                set.tenant.as_deref(),
                &mut set.values_seen,
                &mut set.values_ok,
            );
            return Ok((TENANT, set.tenant.is_some()));
        }
        if key == &*seed.names.roles {
            let roles = map.next_value::<Option<List>>()?;
            let present = roles.is_some();
            set.roles = roles.unwrap_or_default().0;
            return Ok((ROLES, present));
        }
        Ok(match key {
            "exp" | "nbf" | "iat" | "aud" if !seed.registered => {
                (0, map.next_value::<Option<IgnoredAny>>()?.is_some())
            }
            // A registered date must be a number: `null` is the wrong type, not an absence,
            // so that `exp: null` can never stand for "never expires".
            "exp" => {
                set.exp = Some(map.next_value::<NumericDate>()?.0);
                (EXP, true)
            }
            "nbf" => {
                set.nbf = Some(map.next_value::<NumericDate>()?.0);
                (NBF, true)
            }
            "iat" => {
                set.iat = Some(map.next_value::<NumericDate>()?.0);
                (IAT, true)
            }
            "iss" => {
                set.iss = map.next_value()?;
                (ISS, set.iss.is_some())
            }
            "aud" => {
                set.aud = map.next_value::<Option<Audience<'de>>>()?.map(|a| a.0);
                (AUD, set.aud.is_some())
            }
            "sub" => {
                set.sub = map.next_value::<Option<Str<'de>>>()?.map(|s| s.0.into());
                let _ = self.check_value(
                    key,
                    set.sub.as_deref(),
                    &mut set.values_seen,
                    &mut set.values_ok,
                );
                (SUB, set.sub.is_some())
            }
            "email" => {
                set.email = map.next_value::<Option<Str<'de>>>()?.map(|s| s.0.into());
                let _ = self.check_value(
                    key,
                    set.email.as_deref(),
                    &mut set.values_seen,
                    &mut set.values_ok,
                );
                (EMAIL, set.email.is_some())
            }
            "scope" => {
                let scope = map.next_value::<Option<Str<'de>>>()?;
                if let Some(s) = &scope {
                    split_list(s, &mut set.scopes);
                }
                (SCOPE, scope.is_some())
            }
            "scp" => {
                let list = map.next_value::<Option<List>>()?;
                let present = list.is_some();
                set.scopes.extend(list.unwrap_or_default().0);
                (SCP, present)
            }
            _ if seed.values.iter().any(|v| &*v.name == key) => {
                let value = map.next_value::<Option<Scalar>>()?;
                if !self.check_value(
                    key,
                    value.as_ref().map(|v| v.0.as_str()),
                    &mut set.values_seen,
                    &mut set.values_ok,
                ) {
                    self.blame(key, DUPLICATE);
                    return Err(de::Error::custom("duplicate claim"));
                }
                (0, value.is_some())
            }
            _ => (0, map.next_value::<Option<IgnoredAny>>()?.is_some()),
        })
    }

    /// Note whether `key`, when a value rule names it, holds an accepted value. `false` when
    /// the claim was seen already: a second value must not overrule the first.
    fn check_value(&self, key: &str, value: Option<&str>, seen: &mut u64, ok: &mut u64) -> bool {
        let Some(value) = value else { return true };
        if let Some(i) = self.seed.values.iter().position(|v| &*v.name == key) {
            if *seen & (1 << i) != 0 {
                return false;
            }
            *seen |= 1 << i;
            if self.seed.values[i].accepted.iter().any(|a| **a == *value) {
                *ok |= 1 << i;
            }
        }
        true
    }

    /// The name a fault of `key` is reported under: always one of the verifier's own names,
    /// since only claims it reads can fail.
    fn blame(&self, key: &str, fault: &'static str) {
        self.blame.set(Some((Some(key.to_owned()), fault)));
    }
}

impl<'de> Visitor<'de> for Reader<'_, '_> {
    type Value = ClaimSet<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut set = ClaimSet::default();
        let mut seen = 0u16;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let key = &*key;
            let (bit, present) = self.read(key, &mut map, &mut set).inspect_err(|_| {
                // Unknown claims are read past and fail only on broken JSON: blame none.
                let blamed = self.blame.take();
                let unblamed = blamed.is_none();
                self.blame.set(blamed);
                if unblamed && is_read(key, self.seed) {
                    self.blame(key, WRONG_TYPE);
                }
            })?;
            if present {
                if let Some(i) = self.seed.required.iter().position(|r| &**r == key) {
                    set.required_seen |= 1 << i;
                }
            }
            if seen & bit != 0 {
                self.blame(key, DUPLICATE);
                return Err(de::Error::custom("duplicate claim"));
            }
            seen |= bit;
        }
        Ok(set)
    }
}

/// Whether the verifier reads `key` itself (and so may blame it for a fault).
fn is_read(key: &str, seed: &ClaimsSeed<'_>) -> bool {
    matches!(
        key,
        "exp" | "nbf" | "iat" | "iss" | "aud" | "sub" | "email" | "scope" | "scp"
    ) || key == &*seed.names.tenant
        || key == &*seed.names.roles
        || seed.values.iter().any(|v| &*v.name == key)
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

    fn rules() -> Vec<ClaimValues> {
        vec![
            ClaimValues {
                name: "client_id".into(),
                accepted: vec!["web".into(), "mobile".into()],
            },
            ClaimValues {
                name: "sub".into(),
                accepted: vec!["u-1".into()],
            },
        ]
    }

    fn read(json: &str) -> Result<ClaimSet<'_>, ClaimsFault> {
        let names = ClaimNames::default()
            .tenant("custom:tenant_id")
            .roles("cognito:groups");
        let required: Vec<Box<str>> = vec!["exp".into(), "custom:tenant_id".into(), "sub".into()];
        parse(
            json,
            ClaimsSeed {
                names: &names,
                required: &required,
                values: &rules(),
                registered: true,
            },
        )
    }

    fn fault(claim: Option<&str>, fault: &'static str) -> ClaimsFault {
        ClaimsFault {
            claim: claim.map(str::to_owned),
            fault,
        }
    }

    #[test]
    fn reads_every_claim_in_one_pass() {
        let set = read(
            r#"{"sub":"u-1","iss":"https://i","aud":["a","b"],"exp":1700000000,"nbf":1.5,
               "iat":1699999999,"email":"a@b.c","custom:tenant_id":"acme",
               "cognito:groups":["admin","user"],"scope":"read write","other":{"x":[1,2]},
               "client_id":"mobile"}"#,
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
        assert_eq!(set.required_seen, 0b111);
        assert_eq!((set.values_seen, set.values_ok), (0b11, 0b11));
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
    fn a_null_claim_is_missing() {
        let set = read(r#"{"sub":null,"custom:tenant_id":null,"client_id":null,"exp":1}"#)
            .expect("parses");
        assert_eq!(set.required_seen, 0b1, "only exp counts as present");
        assert_eq!((set.sub, set.tenant), (None, None));
        assert_eq!((set.values_seen, set.values_ok), (0, 0));
    }

    #[test]
    fn a_registered_date_that_is_null_or_not_a_number_is_the_wrong_type() {
        for (bad, claim) in [
            (r#"{"exp":null}"#, "exp"),
            (r#"{"exp":"1700000000"}"#, "exp"),
            (r#"{"nbf":"soon"}"#, "nbf"),
            (r#"{"iat":null}"#, "iat"),
            (r#"{"iat":true}"#, "iat"),
        ] {
            assert_eq!(
                read(bad).err(),
                Some(fault(Some(claim), WRONG_TYPE)),
                "{bad}"
            );
        }
    }

    #[test]
    fn records_values_outside_the_accepted_ones() {
        let set = read(r#"{"client_id":"someone-else","sub":"u-2"}"#).expect("parses");
        assert_eq!((set.values_seen, set.values_ok), (0b11, 0));
    }

    #[test]
    fn refuses_duplicates_and_wrong_types_naming_the_claim_never_the_value() {
        for (bad, want) in [
            (r#"{"exp":1,"exp":2}"#, fault(Some("exp"), DUPLICATE)),
            (
                r#"{"custom:tenant_id":"a","custom:tenant_id":"b"}"#,
                fault(Some("custom:tenant_id"), DUPLICATE),
            ),
            (
                r#"{"client_id":"web","client_id":"evil"}"#,
                fault(Some("client_id"), DUPLICATE),
            ),
            (r#"{"aud":1}"#, fault(Some("aud"), WRONG_TYPE)),
            (
                r#"{"iss":["secret-value"]}"#,
                fault(Some("iss"), WRONG_TYPE),
            ),
            (
                r#"{"sub":{"a":"secret-value"}}"#,
                fault(Some("sub"), WRONG_TYPE),
            ),
            (r#"[1]"#, fault(None, NOT_AN_OBJECT)),
            (r#"{"a":1} trailing"#, fault(None, NOT_AN_OBJECT)),
            (r#"{"a":"#, fault(None, NOT_AN_OBJECT)),
        ] {
            assert_eq!(read(bad).err(), Some(want), "{bad}");
        }
    }
}
