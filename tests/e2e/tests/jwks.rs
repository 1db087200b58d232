//! JWKS: keys fetched over HTTP from a key set server the test starts on 127.0.0.1, with key
//! rotation, rate-limited refreshes under a flood of unknown kids, stale keys served while the
//! server fails, and two issuers at once. Keys and tokens come from PyJWT
//! (`py/jwt_tokens.py`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::{jwt_tokens, KeyServer, Serve};
use lift::observability::{MemoryExporter, Observability};
use lift::security::{Issuer, Jwks, Jwt, JwtError};
use serde_json::Value;

fn tokens() -> &'static Value {
    static TOKENS: OnceLock<Value> = OnceLock::new();
    TOKENS.get_or_init(|| jwt_tokens(&[]))
}

fn token(name: &str) -> &'static str {
    tokens()["jwks_tokens"][name].as_str().unwrap()
}

fn key_set(name: &str) -> String {
    tokens()["jwks"][name].to_string()
}

fn verifier(jwks: &Jwks) -> Jwt {
    Jwt::builder()
        .issuer(
            Issuer::new("https://jwks.test")
                .audience("lift-tests")
                .key_source(jwks.clone()),
        )
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_and_stale_keys_are_served_while_the_server_fails() {
    let server = KeyServer::start(Serve::Doc(key_set("first")));
    let jwks = Jwks::new(server.url("/.well-known/jwks.json")).min_refresh_interval(Duration::ZERO);
    let jwt = verifier(&jwks);
    let mem = MemoryExporter::new();
    let logger = Observability::new().export_to(mem.clone()).logger();

    // First token: one fetch; then cache hits.
    for _ in 0..3 {
        let p = jwt.verify(token("rot-1"), &logger).await.unwrap();
        assert_eq!(p.tenant_id(), Some("acme"));
    }
    assert_eq!(server.hits(), 1);

    // Before the rotation reaches the key set, the new kid is unknown (after one refresh).
    assert_eq!(
        jwt.verify(token("rot-2"), &logger).await.err(),
        Some(JwtError::UnknownKey)
    );
    assert_eq!(server.hits(), 2);

    // The issuer rotates: a token of the new kid makes the cache refresh, once.
    server.set(Serve::Doc(key_set("rotated")));
    jwt.verify(token("rot-2"), &logger).await.unwrap();
    jwt.verify(token("rot-2"), &logger).await.unwrap();
    jwt.verify(token("rot-1"), &logger).await.unwrap();
    assert_eq!(server.hits(), 3);

    // The server fails: known keys keep verifying from the cache; an unknown kid's refresh
    // fails, is logged and counted, and the token is refused.
    server.set(Serve::Status500);
    let unknown = tokens()["jwks_tokens"]["unknown"][0].as_str().unwrap();
    assert_eq!(
        jwt.verify(unknown, &logger).await.err(),
        Some(JwtError::UnknownKey)
    );
    jwt.verify(token("rot-2"), &logger).await.unwrap();
    let stats = jwks.stats();
    assert_eq!((stats.fetches, stats.failures, stats.keys), (4, 1, 2));
    assert_eq!(
        stats.last_error.as_deref(),
        Some("the key set endpoint answered 500 Internal Server Error")
    );
    let warns: Vec<Value> = mem
        .logs()
        .into_iter()
        .filter(|l| l["message"] == "jwks refresh failed")
        .collect();
    assert_eq!(warns.len(), 1);
    assert_eq!(warns[0]["level"], "WARN");
    assert_eq!(warns[0]["serving"], "the cached keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_costs_the_endpoint_one_request() {
    let server = KeyServer::start(Serve::Doc(key_set("first")));
    let jwks = Jwks::new(server.url("/jwks")).min_refresh_interval(Duration::from_secs(60));
    let jwt = verifier(&jwks);
    let logger = Observability::new().logger();
    jwt.verify(token("rot-1"), &logger).await.unwrap();

    let flood: Vec<_> = tokens()["jwks_tokens"]["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let jwt = jwt.clone();
            let logger = logger.clone();
            let t = t.as_str().unwrap().to_owned();
            tokio::spawn(async move { jwt.verify(&t, &logger).await.err() })
        })
        .collect();
    for f in flood {
        assert_eq!(f.await.unwrap(), Some(JwtError::UnknownKey));
    }
    assert_eq!(server.hits(), 1);
    let stats = jwks.stats();
    assert_eq!((stats.fetches, stats.rate_limited), (1, 50));
    jwt.verify(token("rot-1"), &logger).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_share_one_fetch() {
    let server = KeyServer::start(Serve::Doc(key_set("first")));
    let jwks = Jwks::new(server.url("/jwks"));
    let jwt = verifier(&jwks);
    let logger = Observability::new().logger();
    let first: Vec<_> = (0..8)
        .map(|_| {
            let (jwt, logger) = (jwt.clone(), logger.clone());
            tokio::spawn(async move { jwt.verify(token("rot-1"), &logger).await.is_ok() })
        })
        .collect();
    for f in first {
        assert!(f.await.unwrap());
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sets_are_fetched_again() {
    let server = KeyServer::start(Serve::Doc(key_set("first")));
    let jwks = Jwks::new(server.url("/jwks"))
        .ttl(Duration::ZERO)
        .min_refresh_interval(Duration::ZERO);
    let jwt = verifier(&jwks);
    let logger = Observability::new().logger();
    for n in 1..=3 {
        jwt.verify(token("rot-1"), &logger).await.unwrap();
        assert_eq!(server.hits(), n);
    }
    // Due but unreachable: the expired set is still served.
    server.set(Serve::Status500);
    jwt.verify(token("rot-1"), &logger).await.unwrap();
    assert_eq!((server.hits(), jwks.stats().failures), (4, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_issuers_each_with_their_own_key_set() {
    let first = KeyServer::start(Serve::Doc(key_set("rotated")));
    let second = KeyServer::start(Serve::Doc(key_set("second_issuer")));
    let jwt = Jwt::builder()
        .issuer(
            Issuer::new("https://jwks.test")
                .audience("lift-tests")
                .jwks_url(first.url("/jwks")),
        )
        .issuer(
            Issuer::new("https://jwks2.test")
                .audience("lift-tests")
                .key_source(Jwks::new(second.url("/jwks"))),
        )
        .build()
        .unwrap();
    let logger = Observability::new().logger();
    assert_eq!(
        jwt.verify(token("rot-2"), &logger)
            .await
            .unwrap()
            .tenant_id(),
        Some("acme")
    );
    assert_eq!(
        jwt.verify(token("ec-1"), &logger)
            .await
            .unwrap()
            .tenant_id(),
        Some("globex")
    );
    // The second issuer's kid signed with the first issuer's key: the second issuer's key
    // allows ES256 only, so the RS256 token finds no key there.
    assert_eq!(
        jwt.verify(token("ec-1 signed by rot-1's key"), &logger)
            .await
            .err(),
        Some(JwtError::AlgorithmNotAllowed)
    );
    assert_eq!((first.hits(), second.hits()), (1, 1));
}
