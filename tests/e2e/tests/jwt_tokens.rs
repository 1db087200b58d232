//! Lift's JWT verification against tokens made by an independent implementation: PyJWT on
//! `cryptography` (installed in the test venv by scripts/setup.sh), through
//! `py/jwt_tokens.py`. Every algorithm verifies; every attack is refused with its exact reason;
//! the middleware answers 401 with `WWW-Authenticate` and the project's error body, the reason
//! only in the log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::jwt_tokens;
use lift::observability::{MemoryExporter, Observability};
use lift::prelude::*;
use lift::security::{Algorithm, Issuer, Jwt, JwtAuth, JwtKey, LambdaTenant};
use lift::testing::{invoke, invoke_with, lambda_context, TestRequest};
use serde_json::Value;

/// The script's output, made once per test binary.
fn tokens() -> &'static Value {
    static TOKENS: OnceLock<Value> = OnceLock::new();
    TOKENS.get_or_init(|| jwt_tokens(&[]))
}

fn key(name: &str) -> &'static [u8] {
    tokens()["keys"][name].as_str().unwrap().as_bytes()
}

fn hmac_secret() -> Vec<u8> {
    let hex = tokens()["keys"]["hmac_hex"].as_str().unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// The verifier of the script's three static issuers.
fn verifier() -> Jwt {
    let hs = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
    Jwt::builder()
        .issuer(
            Issuer::new("https://issuer.test")
                .audience("lift-tests")
                .key(JwtKey::hmac(&hmac_secret(), hs).unwrap())
                .key(JwtKey::rsa_pem(key("rsa"), RSA_ALGS).unwrap())
                .key(JwtKey::ec_pem(key("ec256"), [Algorithm::ES256]).unwrap())
                .key(JwtKey::ec_pem(key("ec384"), [Algorithm::ES384]).unwrap())
                .key(JwtKey::ed_pem(key("ed25519")).unwrap()),
        )
        .issuer(
            // The key could verify RS384 too; the issuer's allow-list says RS256 only.
            Issuer::new("https://rsa-only.test")
                .audience("lift-tests")
                .algorithms([Algorithm::RS256])
                .key(JwtKey::rsa_pem(key("rsa"), [Algorithm::RS256, Algorithm::RS384]).unwrap()),
        )
        .issuer(
            Issuer::new("https://kid.test").audience("lift-tests").key(
                JwtKey::rsa_pem(key("rsa"), [Algorithm::RS256])
                    .unwrap()
                    .kid("k1"),
            ),
        )
        .build()
        .unwrap()
}

fn case(name: &str) -> &'static str {
    tokens()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))["token"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn every_token_gets_its_exact_outcome() {
    let jwt = verifier();
    let logger = Observability::new().logger();
    let cases = tokens()["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for c in cases {
        let (name, token, expect) = (
            c["name"].as_str().unwrap(),
            c["token"].as_str().unwrap(),
            c["expect"].as_str().unwrap(),
        );
        match (jwt.verify(token, &logger).await, expect) {
            (Ok(p), "ok") => {
                assert_eq!(p.user_id(), Some("user-1"), "{name}");
                assert_eq!(p.tenant_id(), Some("acme"), "{name}");
                assert_eq!(p.roles(), ["user"], "{name}");
                assert_eq!(p.scopes(), ["orders:read", "orders:write"], "{name}");
                assert_eq!(p.email(), Some("user-1@example.com"), "{name}");
            }
            (Ok(_), want) => panic!("{name}: accepted, wanted `{want}`"),
            (Err(e), "ok") => panic!("{name}: refused with `{e}`"),
            (Err(e), want) => assert_eq!(e.to_string(), want, "{name}"),
        }
    }
}

/// An app with one protected route answering with the principal, its telemetry in memory.
fn app(auth: JwtAuth, mem: &MemoryExporter) -> lift::AppService {
    App::new()
        .observability(
            Observability::new()
                .service("jwt-test")
                .cold_start_metric(false)
                .export_to(mem.clone()),
        )
        .get("/public", |_ctx: Context| async { "open" })
        .route(
            "/me",
            Route::new()
                .get(|ctx: Context| async move {
                    ctx.logger().info("handled", &[]);
                    let p = ctx.identity().principal().unwrap();
                    format!("{} of {}", p.user_id().unwrap(), p.tenant_id().unwrap())
                })
                .middleware(auth),
        )
        .build()
        .unwrap()
}

fn refused_lines(mem: &MemoryExporter) -> Vec<String> {
    mem.logs()
        .iter()
        .filter(|l| l["message"] == "token refused")
        .map(|l| l["reason"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn missing_or_invalid_tokens_get_401_and_the_reason_stays_in_the_log() {
    let mem = MemoryExporter::new();
    let service = app(JwtAuth::new(verifier()), &mem);
    let requests = [
        (TestRequest::get("/me"), "no bearer token"),
        (
            TestRequest::get("/me").header("authorization", "Basic dXNlcjpwYXNz"),
            "no bearer token",
        ),
        (
            TestRequest::get("/me").header("authorization", "Bearer "),
            "no bearer token",
        ),
        (
            TestRequest::get("/me").header("authorization", &format!("Bearer {}", case("expired"))),
            "token expired",
        ),
        (
            TestRequest::get("/me").header(
                "authorization",
                &format!("Bearer {}", case("alg none, no signature")),
            ),
            "alg none refused",
        ),
        (
            TestRequest::get("/me").header(
                "authorization",
                &format!("Bearer {}", case("tampered payload")),
            ),
            "invalid signature",
        ),
    ];
    for (req, reason) in requests {
        mem.clear();
        let res = invoke(&service, req.v2()).await.unwrap();
        assert_eq!(res.status(), 401, "{reason}");
        // A request that brought no token gets no error code (RFC 6750, section 3.1).
        let challenge = if reason == "no bearer token" {
            "Bearer"
        } else {
            "Bearer error=\"invalid_token\""
        };
        assert_eq!(res.header("www-authenticate"), Some(challenge), "{reason}");
        let body: Value = res.json().unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{reason}");
        assert_eq!(
            body["error"]["message"], "missing or invalid token",
            "{reason}"
        );
        assert!(
            !res.text().contains(reason),
            "the reason leaked: {}",
            res.text()
        );
        assert_eq!(refused_lines(&mem), [reason]);
        assert!(mem.logs().iter().all(|l| l["message"] != "handled"));
    }
    let res = invoke(&service, TestRequest::get("/public").v2())
        .await
        .unwrap();
    assert_eq!((res.status(), res.text().as_str()), (200, "open"));
}

#[tokio::test]
async fn a_valid_token_becomes_the_identity_of_every_log_line() {
    let mem = MemoryExporter::new();
    let service = app(JwtAuth::new(verifier()).cookie("session"), &mem);
    for req in [
        TestRequest::get("/me").header("authorization", &format!("Bearer {}", case("RS256 valid"))),
        TestRequest::get("/me").header("Authorization", &format!("bearer {}", case("EdDSA valid"))),
        TestRequest::get("/me").cookie("session", case("ES384 valid")),
    ] {
        mem.clear();
        for event in [req.v1(), req.v2(), req.alb()] {
            let res = invoke(&service, event).await.unwrap();
            assert_eq!((res.status(), res.text().as_str()), (200, "user-1 of acme"));
        }
        let handled: Vec<Value> = mem
            .logs()
            .into_iter()
            .filter(|l| l["message"] == "handled")
            .collect();
        assert_eq!(handled.len(), 3);
        for line in handled {
            assert_eq!(line["tenant_id"], "acme");
            assert_eq!(line["user_id"], "user-1");
        }
    }
}

#[tokio::test]
async fn a_lambda_tenant_that_differs_from_the_token_is_refused() {
    let mem = MemoryExporter::new();
    let token = format!("Bearer {}", case("HS256 valid"));
    let req = TestRequest::get("/me").header("authorization", &token);
    let with_tenant = |tenant: &str| {
        let mut ctx = lambda_context();
        ctx.tenant_id = Some(tenant.to_owned());
        ctx
    };

    let strict = app(JwtAuth::new(verifier()), &mem);
    let same = invoke_with(&strict, req.v2(), with_tenant("acme"))
        .await
        .unwrap();
    assert_eq!(
        (same.status(), same.text().as_str()),
        (200, "user-1 of acme")
    );
    let other = invoke_with(&strict, req.v2(), with_tenant("globex"))
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
    let body: Value = other.json().unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(!other.text().contains("acme") && !other.text().contains("globex"));

    // The Lambda tenant never replaces the token's: ignored, the token's tenant stands.
    let lax = app(
        JwtAuth::new(verifier()).lambda_tenant(LambdaTenant::Ignore),
        &mem,
    );
    let res = invoke_with(&lax, req.v2(), with_tenant("globex"))
        .await
        .unwrap();
    assert_eq!((res.status(), res.text().as_str()), (200, "user-1 of acme"));
}
