//! A JWT in compact form, split into its three segments and its header read. Nothing here
//! trusts the token: the header only says which key to try, never which kind of key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::jwt_error::JwtError;
use super::keys::JwtKey;
use crate::wire::json::Str;
use jsonwebtoken::Algorithm;

/// A token split into its segments, with its header decoded.
#[derive(Debug)]
pub struct Token<'t> {
    /// `header.payload`: what the signature covers.
    pub(crate) signing_input: &'t str,
    /// The payload segment, still base64url.
    pub(crate) payload: &'t str,
    /// The signature segment, still base64url.
    pub(crate) signature: &'t str,
    pub(crate) header: TokenHeader,
}

/// The parts of a token's protected header that verification reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHeader {
    /// `alg`: only one of the algorithms Lift verifies; `none` never parses.
    pub alg: Algorithm,
    /// `kid`: which key of the issuer signed it.
    pub kid: Option<String>,
}

/// Every other header parameter (`typ`, `cty`, `jku`, `x5c`, ...) is read past and never used;
/// in particular keys named by the token itself (`jku`, `jwk`, `x5u`, `x5c`) are never fetched
/// or trusted.
#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Option<Str<'a>>,
    #[serde(borrow)]
    kid: Option<Str<'a>>,
    crit: Option<IgnoredAny>,
}

impl<'t> Token<'t> {
    /// Split `token` and read its header. Fails on anything but three base64url segments, a
    /// header that is a JSON object naming a supported `alg`, and no `crit` parameter (Lift
    /// implements no JWS extension, so any critical one is refused, as RFC 7515 §4.1.11 asks).
    pub fn parse(token: &'t str) -> Result<Self, JwtError> {
        let mut parts = token.splitn(3, '.');
        let (Some(header), Some(payload), Some(signature)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed("not three segments"));
        };
        if signature.contains('.') {
            return Err(JwtError::Malformed("not three segments"));
        }
        if header.is_empty() {
            return Err(JwtError::Malformed("empty segment"));
        }
        let signing_input = &token[..header.len() + 1 + payload.len()];
        // The header first: what it declares (alg none, crit) is the most precise reason.
        let header = read_header(header)?;
        if payload.is_empty() {
            return Err(JwtError::Malformed("empty segment"));
        }
        if signature.is_empty() {
            return Err(JwtError::InvalidSignature);
        }
        Ok(Token {
            signing_input,
            payload,
            signature,
            header,
        })
    }

    /// The decoded header.
    pub fn header(&self) -> &TokenHeader {
        &self.header
    }

    /// Check the signature alone with `key`: the key must allow the header's `alg`. This
    /// verifies any JWS; for a JWT, [`Jwt::verify`](super::Jwt::verify) also checks the
    /// claims and chooses the key.
    pub fn verify_with(&self, key: &JwtKey) -> Result<(), JwtError> {
        if !key.allows(self.header.alg) {
            return Err(JwtError::AlgorithmNotAllowed);
        }
        if verify_signature(key, self) {
            Ok(())
        } else {
            Err(JwtError::InvalidSignature)
        }
    }

    /// Whether the header's `typ` is one of `accepted` (each lowercase, without
    /// `application/`). The header is decoded again here: `typ` is read only by verifiers that
    /// require one, so the others never pay for it.
    pub(crate) fn typ_is_one_of(&self, accepted: &[Box<str>]) -> Result<bool, JwtError> {
        #[derive(Deserialize)]
        struct Typ<'a> {
            #[serde(borrow)]
            typ: Option<Str<'a>>,
        }
        let segment = self
            .signing_input
            .split_once('.')
            .map_or(self.signing_input, |(h, _)| h);
        let bytes = decode_segment(segment, "header")?;
        let header: Typ<'_> = serde_json::from_slice(&bytes)
            .map_err(|_| JwtError::Malformed("header is not a JSON object"))?;
        Ok(header
            .typ
            .is_some_and(|t| accepted.iter().any(|a| **a == media_type(&t))))
    }

    /// The payload, base64url-decoded (JSON text for a JWT).
    pub fn payload_bytes(&self) -> Result<Vec<u8>, JwtError> {
        decode_segment(self.payload, "payload")
    }
}

fn read_header(segment: &str) -> Result<TokenHeader, JwtError> {
    // Headers are short (`{"alg":"RS256","kid":"...","typ":"JWT"}`): decode them on the stack.
    let mut stack = [0u8; 256];
    let heap;
    let bytes: &[u8] = match URL_SAFE_NO_PAD.decode_slice(segment, &mut stack) {
        Ok(n) => &stack[..n],
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
            heap = decode_segment(segment, "header")?;
            &heap
        }
        Err(_) => return Err(JwtError::Malformed("header is not base64url")),
    };
    let raw: RawHeader<'_> = serde_json::from_slice(bytes).map_err(|e| {
        if e.to_string().starts_with("duplicate field") {
            JwtError::Malformed("duplicate header parameter")
        } else {
            JwtError::Malformed("header is not a JSON object")
        }
    })?;
    if raw.crit.is_some() {
        return Err(JwtError::CriticalHeader);
    }
    let alg = match raw.alg.as_deref() {
        None => return Err(JwtError::Malformed("header has no alg")),
        Some(a) if a.eq_ignore_ascii_case("none") => return Err(JwtError::AlgorithmNone),
        Some(a) => a
            .parse::<Algorithm>()
            .map_err(|_| JwtError::UnsupportedAlgorithm)?,
    };
    Ok(TokenHeader {
        alg,
        kid: raw.kid.map(|k| k.to_string_owned()),
    })
}

/// Whether `key` verifies the signature of `token` with the header's `alg`. The caller has
/// checked that the key allows the `alg`.
///
/// Public-key signatures are verified by `jsonwebtoken` on `aws-lc-rs`. HMAC secrets are
/// verified by `aws-lc-rs` itself (the same backend) with the key prepared when the secret was
/// configured: `jsonwebtoken` prepares it again for every token, which is a quarter of an
/// HS256 verification.
pub(crate) fn verify_signature(key: &JwtKey, token: &Token<'_>) -> bool {
    let alg = token.header.alg;
    if let Some((_, hmac)) = key.hmac.iter().find(|(a, _)| *a == alg) {
        let mut tag = [0u8; 64];
        return match URL_SAFE_NO_PAD.decode_slice(token.signature, &mut tag) {
            Ok(n) => {
                aws_lc_rs::hmac::verify(hmac, token.signing_input.as_bytes(), &tag[..n]).is_ok()
            }
            Err(_) => false,
        };
    }
    jsonwebtoken::crypto::verify(
        token.signature,
        token.signing_input.as_bytes(),
        &key.key,
        token.header.alg,
    )
    .unwrap_or(false)
}

/// A `typ` value as compared: lowercase, without the `application/` prefix that RFC 7515
/// §4.1.9 lets senders omit.
pub(crate) fn media_type(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

/// Strict base64url without padding: any other character, padding or trailing bits fail.
pub(crate) fn decode_segment(segment: &str, what: &'static str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| {
        JwtError::Malformed(match what {
            "header" => "header is not base64url",
            _ => "payload is not base64url",
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64("{}"))
    }

    #[test]
    fn reads_alg_and_kid() {
        let t = token(r#"{"alg":"RS256","kid":"k1","typ":"JWT","x5u":"https://evil"}"#);
        let parsed = Token::parse(&t).expect("parses");
        assert_eq!(
            parsed.header,
            TokenHeader {
                alg: Algorithm::RS256,
                kid: Some("k1".into())
            }
        );
        assert_eq!(parsed.signature, "c2ln");
        assert_eq!(parsed.signing_input, &t[..t.len() - 5]);
    }

    #[test]
    fn refuses_none_crit_unknown_alg_and_duplicates() {
        let cases = [
            (r#"{"alg":"none"}"#, JwtError::AlgorithmNone),
            (r#"{"alg":"NONE"}"#, JwtError::AlgorithmNone),
            (
                r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
                JwtError::CriticalHeader,
            ),
            (r#"{"alg":"HS256","crit":[]}"#, JwtError::CriticalHeader),
            (r#"{"alg":"ES512"}"#, JwtError::UnsupportedAlgorithm),
            (
                r#"{"alg":"HS256","alg":"none"}"#,
                JwtError::Malformed("duplicate header parameter"),
            ),
            (r#"{"kid":"a"}"#, JwtError::Malformed("header has no alg")),
            (
                r#"["HS256"]"#,
                JwtError::Malformed("header is not a JSON object"),
            ),
            (
                r#"{"alg":1}"#,
                JwtError::Malformed("header is not a JSON object"),
            ),
        ];
        for (header, want) in cases {
            assert_eq!(Token::parse(&token(header)).err(), Some(want), "{header}");
        }
    }

    #[test]
    fn refuses_bad_shapes() {
        let h = b64(r#"{"alg":"HS256"}"#);
        let cases = [
            ("abc".to_string(), JwtError::Malformed("not three segments")),
            (
                format!("{h}.e30"),
                JwtError::Malformed("not three segments"),
            ),
            (
                format!("{h}.e30.c2ln.x"),
                JwtError::Malformed("not three segments"),
            ),
            (format!("{h}.e30."), JwtError::InvalidSignature),
            (
                ".e30.c2ln".to_string(),
                JwtError::Malformed("empty segment"),
            ),
            (
                format!("{h}=.e30.c2ln"),
                JwtError::Malformed("header is not base64url"),
            ),
            (
                format!("{h}+.e30.c2ln"),
                JwtError::Malformed("header is not base64url"),
            ),
        ];
        for (t, want) in cases {
            assert_eq!(Token::parse(&t).err(), Some(want), "{t}");
        }
    }
}
