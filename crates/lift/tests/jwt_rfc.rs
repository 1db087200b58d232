//! JWS and JWT verification against the worked examples of RFC 7515 (JWS) Appendix A and
//! RFC 7520 (JOSE cookbook) Section 4. Tokens and keys are the RFCs' own values, with the line
//! breaks of their figures removed; a compact token is its three printed segments joined by
//! dots.
#![cfg(feature = "jwt")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{DecodingKey, EncodingKey, Header};
use lift::observability::Observability;
use lift::security::{
    Algorithm, Issuer, Jwt, JwtError, JwtKey, Principal, Token, TokenHeader, DEFAULT_LEEWAY,
};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// RFC 7515 Appendix A
// ---------------------------------------------------------------------------------------------

/// RFC 7515 A.1 to A.3 and A.5: the payload, the JWT claims
/// `{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}`.
const JOE_CLAIMS: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
/// The `exp` of [`JOE_CLAIMS`].
const JOE_EXP: u64 = 1_300_819_380;

/// RFC 7515 A.1.1: `{"typ":"JWT",\r\n "alg":"HS256"}`, its HMAC key, and the HMAC.
const A1_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
const A1_KEY: &str = r#"{"kty":"oct",
 "k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
const A1_SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// RFC 7515 A.2.1: `{"alg":"RS256"}`, the public part of its RSA key, and the signature.
const A2_HEADER: &str = "eyJhbGciOiJSUzI1NiJ9";
const A2_KEY: &str = r#"{"kty":"RSA",
 "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
 "e":"AQAB"}"#;
const A2_SIGNATURE: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

/// RFC 7515 A.3.1: `{"alg":"ES256"}`, the public part of its P-256 key, and the signature.
const A3_HEADER: &str = "eyJhbGciOiJFUzI1NiJ9";
const A3_KEY: &str = r#"{"kty":"EC",
 "crv":"P-256",
 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
const A3_SIGNATURE: &str =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/// RFC 7515 A.4.1: `{"alg":"ES512"}` over the payload `Payload`, the public part of its P-521
/// key, and the signature.
const A4_HEADER: &str = "eyJhbGciOiJFUzUxMiJ9";
const A4_PAYLOAD: &str = "UGF5bG9hZA";
const A4_KEY: &str = r#"{"kty":"EC",
 "crv":"P-521",
 "x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
 "y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}"#;
const A4_SIGNATURE: &str = "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

/// RFC 7515 A.5: `{"alg":"none"}`; the signature is the empty string.
const A5_HEADER: &str = "eyJhbGciOiJub25lIn0";

// ---------------------------------------------------------------------------------------------
// RFC 7520 Sections 3 and 4
// ---------------------------------------------------------------------------------------------

/// RFC 7520 §4 Figure 8: "It’s a dangerous business, Frodo, going out your door. ..." (not JSON).
const FRODO: &str = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";

/// RFC 7520 §3.4 (Figure 3): the public part (`n`, `e`) of Bilbo's RSA key.
const BILBO: &str = "bilbo.baggins@hobbiton.example";
const BILBO_RSA_KEY: &str = r#"{"kty":"RSA",
 "kid":"bilbo.baggins@hobbiton.example",
 "use":"sig",
 "n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
 "e":"AQAB"}"#;

/// RFC 7520 §3.5 (Figure 5): the symmetric key.
const HMAC_KID: &str = "018c0ae5-4d9b-471b-bfd6-eef314bc7037";
const HMAC_KEY: &str = r#"{"kty":"oct",
 "kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037",
 "use":"sig",
 "alg":"HS256",
 "k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}"#;

/// RFC 7520 §4.1.2 (Figures 11 and 12): `{"alg":"RS256","kid":"bilbo.baggins@hobbiton.example"}`.
const RS256_HEADER: &str =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const RS256_SIGNATURE: &str = "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg";

/// RFC 7520 §4.2.2 (Figures 18 and 19): `{"alg":"PS384","kid":"bilbo.baggins@hobbiton.example"}`.
const PS384_HEADER: &str =
    "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const PS384_SIGNATURE: &str = "cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw";

/// RFC 7520 §4.3.2 (Figures 25 and 26): `{"alg":"ES512","kid":"bilbo.baggins@hobbiton.example"}`.
const ES512_HEADER: &str =
    "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const ES512_SIGNATURE: &str = "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2";

/// RFC 7520 §4.4.2 (Figures 32 and 33): `{"alg":"HS256","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037"}`.
const HS256_HEADER: &str =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9";
const HS256_SIGNATURE: &str = "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A compact JWS from its three segments.
fn compact(header: &str, payload: &str, signature: &str) -> String {
    format!("{header}.{payload}.{signature}")
}

/// `token` with the character at `at` of segment `segment` (0 header, 1 payload, 2 signature)
/// replaced by `with`.
fn tamper(token: &str, segment: usize, at: usize, with: char) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let part = &mut parts[segment];
    let old = part[at..].chars().next().unwrap();
    assert_ne!(old, with, "tampering must change the token");
    part.replace_range(at..at + old.len_utf8(), &with.to_string());
    parts.join(".")
}

fn jwk(json: &str) -> Jwk {
    serde_json::from_str(json).unwrap()
}

fn base64url(value: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(value).unwrap()
}

/// The `k` of a symmetric JWK, decoded: the HMAC secret.
fn oct_secret(json: &str) -> Vec<u8> {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    base64url(value["k"].as_str().unwrap())
}

/// Verify `token` as a JWT of issuer `joe`, signed by `key`, at `now`; no claim is required.
async fn verify_at(key: JwtKey, token: &str, now: u64) -> Result<Principal, JwtError> {
    let jwt = Jwt::builder()
        .issuer(Issuer::new("joe").key(key))
        .require(Vec::<String>::new())
        .build()
        .unwrap();
    jwt.verify_at(token, now, &Observability::new().logger())
        .await
}

/// The claims of RFC 7515 A.1 to A.3, as the principal carries them.
fn assert_joe(principal: &Principal) {
    assert_eq!(principal.issuer(), Some("joe"));
    assert_eq!(principal.claims().get::<u64>("exp"), Some(JOE_EXP));
    assert_eq!(
        principal.claims().get::<bool>("http://example.com/is_root"),
        Some(true)
    );
}

fn a1_key() -> JwtKey {
    JwtKey::hmac(&oct_secret(A1_KEY), [Algorithm::HS256]).unwrap()
}

fn a1_token() -> String {
    compact(A1_HEADER, JOE_CLAIMS, A1_SIGNATURE)
}

fn bilbo_rsa_key() -> JwtKey {
    JwtKey::from_jwk(&jwk(BILBO_RSA_KEY)).unwrap()
}

/// RFC 7520 §4: the token parses to `header`, its signature verifies with `key`, one changed
/// payload character breaks it, and as a JWT it is refused for its payload, which is not JSON.
async fn assert_cookbook_jws(token: &str, key: JwtKey, header: TokenHeader) {
    let parsed = Token::parse(token).unwrap();
    assert_eq!(parsed.header(), &header);
    assert_eq!(parsed.verify_with(&key), Ok(()));

    // "SXTi..." becomes "TXTi...": the first payload byte is no longer 'I'.
    let tampered = tamper(token, 1, 0, 'T');
    assert_eq!(
        Token::parse(&tampered).unwrap().verify_with(&key),
        Err(JwtError::InvalidSignature)
    );

    // Any time will do: the payload is refused before a claim is read.
    let refused = verify_at(key, token, JOE_EXP).await;
    assert_eq!(
        refused.err(),
        Some(JwtError::InvalidClaims {
            claim: None,
            fault: "not a JSON object"
        })
    );
}

// ---------------------------------------------------------------------------------------------
// RFC 7515 Appendix A
// ---------------------------------------------------------------------------------------------

/// RFC 7515 A.1: HS256, verified until `exp` plus the leeway.
#[tokio::test]
async fn rfc7515_a1_hs256_verifies_until_exp_and_leeway() {
    // A symmetric JWK is never taken as a verification key: its `k` is given as a secret.
    assert!(JwtKey::from_jwk(&jwk(A1_KEY)).is_err());

    let principal = verify_at(a1_key(), &a1_token(), JOE_EXP - 1).await.unwrap();
    assert_joe(&principal);

    let last_second = JOE_EXP + DEFAULT_LEEWAY - 1;
    assert!(verify_at(a1_key(), &a1_token(), last_second).await.is_ok());
    assert_eq!(
        verify_at(a1_key(), &a1_token(), JOE_EXP + DEFAULT_LEEWAY)
            .await
            .unwrap_err(),
        JwtError::Expired
    );
}

/// RFC 7515 A.1: one character of the HMAC changed.
#[tokio::test]
async fn rfc7515_a1_changed_signature_is_refused() {
    let token = tamper(&a1_token(), 2, 0, 'e');
    assert_eq!(
        verify_at(a1_key(), &token, JOE_EXP - 1).await.unwrap_err(),
        JwtError::InvalidSignature
    );
}

/// RFC 7515 A.1: one character of the payload changed, so that `exp` moves from 1300819380 to
/// 9300819380. The claims are still well-formed JSON with `iss` `joe`, so verification gets as
/// far as the signature and refuses the token there: `InvalidSignature`, even at a time when the
/// forged `exp` has not passed.
#[tokio::test]
async fn rfc7515_a1_changed_payload_is_refused_by_the_signature() {
    let token = tamper(&a1_token(), 1, 30, 'k');
    let claims = Token::parse(&token).unwrap().payload_bytes().unwrap();
    let claims = String::from_utf8(claims).unwrap();
    assert!(claims.contains(r#""exp":9300819380,"#), "{claims}");
    assert!(claims.contains(r#"{"iss":"joe","#), "{claims}");

    let after_exp = JOE_EXP + DEFAULT_LEEWAY + 86_400;
    assert_eq!(
        verify_at(a1_key(), &token, after_exp).await.unwrap_err(),
        JwtError::InvalidSignature
    );
}

/// RFC 7515 A.2: RS256 with the RSA public key as a JWK.
#[tokio::test]
async fn rfc7515_a2_rs256_verifies() {
    let key = JwtKey::from_jwk(&jwk(A2_KEY)).unwrap();
    let token = compact(A2_HEADER, JOE_CLAIMS, A2_SIGNATURE);
    let principal = verify_at(key, &token, JOE_EXP - 1).await.unwrap();
    assert_joe(&principal);
}

/// RFC 7515 A.3: ES256 with the P-256 public key as a JWK. ECDSA signatures differ at each
/// signing, but this one is the RFC's and is fixed.
#[tokio::test]
async fn rfc7515_a3_es256_verifies() {
    let key = JwtKey::from_jwk(&jwk(A3_KEY)).unwrap();
    let token = compact(A3_HEADER, JOE_CLAIMS, A3_SIGNATURE);
    let principal = verify_at(key, &token, JOE_EXP - 1).await.unwrap();
    assert_joe(&principal);
}

/// RFC 7515 A.4: ES512. Lift does not verify P-521 (`jsonwebtoken` has no `ES512`), so the token
/// is refused as soon as its header is read, and the P-521 key cannot be loaded.
#[test]
fn rfc7515_a4_es512_is_unsupported() {
    let token = compact(A4_HEADER, A4_PAYLOAD, A4_SIGNATURE);
    assert_eq!(
        Token::parse(&token).unwrap_err(),
        JwtError::UnsupportedAlgorithm
    );
    assert!(JwtKey::from_jwk(&jwk(A4_KEY)).is_err());
}

/// RFC 7515 A.5: the unsecured JWS, `alg` `none` and an empty signature, is refused as
/// `AlgorithmNone` (the header is read before the signature), and so is the same header with
/// a signature.
#[tokio::test]
async fn rfc7515_a5_unsecured_is_refused() {
    let token = compact(A5_HEADER, JOE_CLAIMS, "");
    assert_eq!(
        verify_at(a1_key(), &token, JOE_EXP - 1).await.unwrap_err(),
        JwtError::AlgorithmNone
    );

    let with_signature = compact(A5_HEADER, JOE_CLAIMS, A1_SIGNATURE);
    assert_eq!(
        verify_at(a1_key(), &with_signature, JOE_EXP - 1)
            .await
            .unwrap_err(),
        JwtError::AlgorithmNone
    );
}

// ---------------------------------------------------------------------------------------------
// RFC 7520 Section 4
// ---------------------------------------------------------------------------------------------

/// RFC 7520 §4.1: RS256 with Bilbo's RSA key (§3.4).
#[tokio::test]
async fn rfc7520_4_1_rs256_verifies() {
    let header = TokenHeader {
        alg: Algorithm::RS256,
        kid: Some(BILBO.into()),
    };
    let token = compact(RS256_HEADER, FRODO, RS256_SIGNATURE);
    assert_cookbook_jws(&token, bilbo_rsa_key(), header).await;
}

/// RFC 7520 §4.2: PS384 with the same key. RSA-PSS signatures are randomized, but this one is
/// the RFC's and is fixed.
#[tokio::test]
async fn rfc7520_4_2_ps384_verifies() {
    let header = TokenHeader {
        alg: Algorithm::PS384,
        kid: Some(BILBO.into()),
    };
    let token = compact(PS384_HEADER, FRODO, PS384_SIGNATURE);
    assert_cookbook_jws(&token, bilbo_rsa_key(), header).await;
}

/// RFC 7520 §4.3: ES512 with Bilbo's P-521 key (§3.2): not supported by Lift, as in RFC 7515 A.4.
#[test]
fn rfc7520_4_3_es512_is_unsupported() {
    let token = compact(ES512_HEADER, FRODO, ES512_SIGNATURE);
    assert_eq!(
        Token::parse(&token).unwrap_err(),
        JwtError::UnsupportedAlgorithm
    );
}

/// RFC 7520 §4.4: HS256 with the symmetric key of §3.5, given as a secret.
#[tokio::test]
async fn rfc7520_4_4_hs256_verifies() {
    assert!(JwtKey::from_jwk(&jwk(HMAC_KEY)).is_err());
    let key = JwtKey::hmac(&oct_secret(HMAC_KEY), [Algorithm::HS256]).unwrap();
    let header = TokenHeader {
        alg: Algorithm::HS256,
        kid: Some(HMAC_KID.into()),
    };
    let token = compact(HS256_HEADER, FRODO, HS256_SIGNATURE);
    assert_cookbook_jws(&token, key, header).await;
}

// ---------------------------------------------------------------------------------------------
// Key-type confusion
// ---------------------------------------------------------------------------------------------

/// The RSA key of RFC 7515 A.2 can never serve as an HMAC secret: it cannot be made an HS256
/// key, and a token whose header says HS256, with the modulus as its HMAC secret, is refused by
/// an issuer that holds the RSA key.
#[tokio::test]
async fn rfc7515_a2_rsa_key_is_never_an_hmac_secret() {
    let rsa = jwk(A2_KEY);
    let decoding = DecodingKey::from_jwk(&rsa).unwrap();
    assert!(JwtKey::new(decoding, [Algorithm::HS256]).is_err());
    let rsa_key = JwtKey::from_jwk(&rsa).unwrap();
    assert!(!rsa_key.allows(Algorithm::HS256));

    let modulus = match &rsa.algorithm {
        AlgorithmParameters::RSA(p) => base64url(&p.n),
        other => panic!("not an RSA key: {other:?}"),
    };
    let claims = json!({"iss": "joe", "exp": JOE_EXP, "http://example.com/is_root": true});
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&modulus).unwrap(),
    )
    .unwrap();

    // The forgery is a sound HMAC of the modulus: only the key's type refuses it.
    let modulus_as_secret = JwtKey::hmac(&modulus, [Algorithm::HS256]).unwrap();
    assert_eq!(
        Token::parse(&forged)
            .unwrap()
            .verify_with(&modulus_as_secret),
        Ok(())
    );

    assert_eq!(
        Token::parse(&forged).unwrap().verify_with(&rsa_key),
        Err(JwtError::AlgorithmNotAllowed)
    );
    assert_eq!(
        verify_at(rsa_key, &forged, JOE_EXP - 1).await.unwrap_err(),
        JwtError::AlgorithmNotAllowed
    );
}
