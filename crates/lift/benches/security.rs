//! JWT verification: Lift's verifier beside `jsonwebtoken`'s own `decode` of the same token
//! with the same checks (signature, exp, nbf, iss, aud), and the JWKS cache hit.
//!
//! `cargo bench -p lift --bench security`
//!
//! Lift's numbers include reading the principal (sub, tenant, roles, scopes, email, the raw
//! claims); `jsonwebtoken`'s decode into a struct of the same owned fields.

// A bench is a test harness: a broken setup should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::time::{SystemTime, UNIX_EPOCH};

mod support;
use support::ready;

use criterion::{criterion_group, criterion_main, Criterion};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use lift::observability::{Logger, Observability};
use lift::security::{Algorithm, FetchFuture, Issuer, Jwks, JwksFetch, Jwt, JwtKey, KeySource};
use serde::Deserialize;
use serde_json::json;

const ISS: &str = "https://auth.example.com";
const AUD: &str = "lift-bench";
const SECRET: &[u8] = b"bench-secret-0123456789abcdef0123456789abcdef";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The W1-style claims: a user of tenant `acme` with two roles and scopes.
fn claims() -> serde_json::Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "user-123", "exp": now() + 3600, "iat": now(),
        "nbf": now(), "tenant_id": "acme", "roles": ["user", "admin"],
        "scope": "orders:read orders:write", "email": "user-123@example.com",
    })
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Claims {
    sub: String,
    tenant_id: String,
    roles: Vec<String>,
    scope: String,
    email: String,
    exp: u64,
}

struct Case {
    name: &'static str,
    alg: Algorithm,
    token: String,
    lift_key: JwtKey,
    decoding: DecodingKey,
}

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/benches/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn cases() -> Vec<Case> {
    // The dev-dependency turns jsonwebtoken's second backend on: choose one before signing.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let sign =
        |alg, key: &EncodingKey| jsonwebtoken::encode(&Header::new(alg), &claims(), key).unwrap();
    vec![
        Case {
            name: "hs256",
            alg: Algorithm::HS256,
            token: sign(Algorithm::HS256, &EncodingKey::from_secret(SECRET).unwrap()),
            lift_key: JwtKey::hmac(SECRET, [Algorithm::HS256]).unwrap(),
            decoding: DecodingKey::from_secret(SECRET).unwrap(),
        },
        Case {
            name: "rs256",
            alg: Algorithm::RS256,
            token: sign(
                Algorithm::RS256,
                &EncodingKey::from_rsa_pem(&key("rsa2048.pem")).unwrap(),
            ),
            lift_key: JwtKey::rsa_pem(&key("rsa2048.pub.pem"), [Algorithm::RS256]).unwrap(),
            decoding: DecodingKey::from_rsa_pem(&key("rsa2048.pub.pem")).unwrap(),
        },
        Case {
            name: "es256",
            alg: Algorithm::ES256,
            token: sign(
                Algorithm::ES256,
                &EncodingKey::from_ec_pem(&key("p256.pem")).unwrap(),
            ),
            lift_key: JwtKey::ec_pem(&key("p256.pub.pem"), [Algorithm::ES256]).unwrap(),
            decoding: DecodingKey::from_ec_pem(&key("p256.pub.pem")).unwrap(),
        },
        Case {
            name: "eddsa",
            alg: Algorithm::EdDSA,
            token: sign(
                Algorithm::EdDSA,
                &EncodingKey::from_ed_pem(&key("ed25519.pem")).unwrap(),
            ),
            lift_key: JwtKey::ed_pem(&key("ed25519.pub.pem")).unwrap(),
            decoding: DecodingKey::from_ed_pem(&key("ed25519.pub.pem")).unwrap(),
        },
    ]
}

fn verify(c: &mut Criterion) {
    let logger: Logger = Observability::new().logger();
    let mut group = c.benchmark_group("jwt");
    for case in cases() {
        let jwt = Jwt::builder()
            .issuer(
                Issuer::new(ISS)
                    .audience(AUD)
                    .algorithms([case.alg])
                    .key(case.lift_key.clone()),
            )
            .tenant_claim("tenant_id")
            .roles_claim("roles")
            .build()
            .unwrap();
        let t = now();
        let p = ready(jwt.verify_at(&case.token, t, &logger)).unwrap();
        assert_eq!(p.tenant_id(), Some("acme"));
        group.bench_function(format!("{}/lift", case.name), |b| {
            b.iter(|| ready(jwt.verify_at(&case.token, t, &logger)).unwrap())
        });

        let mut validation = Validation::new(case.alg);
        validation.set_issuer(&[ISS]);
        validation.set_audience(&[AUD]);
        validation.validate_nbf = true;
        jsonwebtoken::decode::<Claims>(&case.token, &case.decoding, &validation).unwrap();
        group.bench_function(format!("{}/jsonwebtoken", case.name), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Claims>(&case.token, &case.decoding, &validation).unwrap()
            })
        });
    }
    group.finish();
}

/// A key set served from memory: the bench measures the cache, not a network.
struct Static(String);

impl JwksFetch for Static {
    fn get<'a>(&'a self, _url: &'a str) -> FetchFuture<'a> {
        let body = bytes::Bytes::from(self.0.clone());
        Box::pin(async move { Ok(body) })
    }
}

fn jwks_hit(c: &mut Criterion) {
    let jwk = |kid: &str| {
        let mut k: serde_json::Value = serde_json::from_str(
            &jsonwebtoken::jwk::Jwk::from_encoding_key(
                &EncodingKey::from_ec_pem(&key("p256.pem")).unwrap(),
                Algorithm::ES256,
            )
            .map(|j| serde_json::to_string(&j).unwrap())
            .unwrap(),
        )
        .unwrap();
        k["kid"] = json!(kid);
        k
    };
    let doc = json!({"keys": [jwk("k1"), jwk("k2"), jwk("k3")]}).to_string();
    let jwks = Jwks::with_fetch("https://example.com/jwks.json", Static(doc));
    let logger: Logger = Observability::new().logger();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(jwks.refresh(&logger)).unwrap();
    let t = now();
    c.bench_function("jwks/cache_hit", |b| {
        b.iter(|| {
            let (set, due) = jwks.cached(t);
            let set = set.unwrap();
            assert!(!due);
            let found = set
                .candidates(Some("k3"), Algorithm::ES256)
                .next()
                .is_some();
            found
        })
    });
}

criterion_group!(benches, verify, jwks_hit);
criterion_main!(benches);
