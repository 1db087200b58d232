//! JWT parsing and verification on arbitrary input: `Token::parse`, then a full verification
//! against an HS256/HS512 issuer (header, claims, signature, time and audience checks). Neither
//! may panic, and a token Lift accepts must carry a signature `jsonwebtoken` also verifies with
//! the key: the seeds are signed, so mutations reach the claims checks too.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use lift::observability::{Logger, Observability};
use lift::security::{Algorithm, Issuer, Jwt, JwtKey, Token};

const SECRET: &[u8] = b"fuzz-secret-0123456789abcdef0123456789";

fn verifier() -> &'static (Jwt, Logger) {
    static V: OnceLock<(Jwt, Logger)> = OnceLock::new();
    V.get_or_init(|| {
        let key = JwtKey::hmac(SECRET, [Algorithm::HS256, Algorithm::HS512]).expect("key");
        let jwt = Jwt::builder()
            .issuer(Issuer::new("https://fuzz.test").audience("fuzz").key(key))
            .require(["exp", "sub", "tenant_id"])
            .build()
            .expect("verifier");
        (jwt, Observability::new().logger())
    })
}

/// Static keys never wait: one poll finishes the verification.
fn once<F: Future>(f: F) -> Option<F::Output> {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = Token::parse(text) {
        let _ = token.payload_bytes();
    }
    let (jwt, logger) = verifier();
    let verified = once(jwt.verify_at(text, 1_800_000_000, logger)).expect("no waiting");
    if verified.is_ok() {
        let token = Token::parse(text).expect("a verified token parses");
        let (signing_input, signature) = text.rsplit_once('.').expect("three segments");
        let key = jsonwebtoken::DecodingKey::from_secret(SECRET).expect("key");
        let alg = token.header().alg;
        let genuine = jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), &key, alg);
        assert!(
            matches!(genuine, Ok(true)),
            "accepted a forged signature: {text:?}"
        );
    }
});
