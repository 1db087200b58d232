//! The JWT extractors answer as the `JwtAuth` middleware does: every attack token and every
//! good one gets the same status, `WWW-Authenticate`, error body and `token refused` reason
//! through a handler that takes a `Principal` (with `JwtAuth` in the app state) as through the
//! middleware; `Claims<T>` reads the app's own claims type.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{EncodingKey, Header};
use lift::observability::{MemoryExporter, Observability};
use lift::prelude::*;
use lift::security::{Algorithm, Claims, Issuer, Jwt, JwtAuth, JwtKey, Principal};
use lift::testing::{invoke, invoke_with, lambda_context, TestRequest, TestResponse};
use lift::AppService;
use serde::Deserialize;
use serde_json::{json, Value};

const ISS: &str = "https://auth.example.com";
const SECRET: &[u8] = b"a-secret-of-at-least-32-bytes-long!!";
const OTHER: &[u8] = b"another-secret-of-at-least-32-bytes!!";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign_with(alg: Algorithm, secret: &[u8], claims: &Value, typ: Option<&str>) -> String {
    let _ = JwtKey::hmac(SECRET, [Algorithm::HS256]);
    let mut header = Header::new(alg);
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

fn claims(over: Value) -> Value {
    let mut c = json!({
        "iss": ISS, "sub": "u-1", "exp": now() + 600, "tenant_id": "acme", "plan": "gold",
        "roles": ["member"],
    });
    for (k, v) in over.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn good(over: Value) -> String {
    sign_with(Algorithm::HS256, SECRET, &claims(over), None)
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// The tokens a caller probing from outside would send, named.
fn attacks() -> Vec<(&'static str, Option<String>)> {
    let valid = good(json!({}));
    let mut parts = valid.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let tampered_payload = b64(&claims(json!({"tenant_id": "globex"})));
    vec![
        ("valid", Some(valid.clone())),
        ("no token", None),
        ("empty bearer", Some(String::new())),
        ("expired", Some(good(json!({"exp": now() - 3600})))),
        ("not yet valid", Some(good(json!({"nbf": now() + 3600})))),
        ("exp null", Some(good(json!({"exp": null})))),
        ("exp a string", Some(good(json!({"exp": "tomorrow"})))),
        ("sub null", Some(good(json!({"sub": null})))),
        ("iss an array", Some(good(json!({"iss": [ISS]})))),
        (
            "another issuer",
            Some(good(json!({"iss": "https://evil.example"}))),
        ),
        (
            "another secret",
            Some(sign_with(Algorithm::HS256, OTHER, &claims(json!({})), None)),
        ),
        (
            "another algorithm",
            Some(sign_with(
                Algorithm::HS384,
                SECRET,
                &claims(json!({})),
                None,
            )),
        ),
        (
            "alg none",
            Some(format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims(json!({})))
            )),
        ),
        (
            "tampered payload",
            Some(format!("{h}.{tampered_payload}.{s}")),
        ),
        ("no signature", Some(format!("{h}.{p}"))),
        ("four segments", Some(format!("{h}.{p}.{s}.{s}"))),
        ("garbage", Some("not-a-token".to_owned())),
        ("huge", Some("a".repeat(20_000))),
        ("no tenant", Some(good(json!({"tenant_id": null})))),
    ]
}

fn jwt() -> Jwt {
    let issuer = Issuer::new(ISS).key(JwtKey::hmac(SECRET, [Algorithm::HS256]).unwrap());
    Jwt::builder().issuer(issuer).build().unwrap()
}

fn observability(mem: &MemoryExporter) -> Observability {
    Observability::new()
        .cold_start_metric(false)
        .export_to(mem.clone())
}

async fn who(ctx: Context) -> Json<Value> {
    let id = ctx.identity();
    Json(json!({
        "user": id.user().as_deref(),
        "tenant": id.tenant().as_deref(),
        "source": id.principal().map(|p| format!("{:?}", p.source())),
    }))
}

fn with_middleware(mem: &MemoryExporter) -> AppService {
    App::new()
        .observability(observability(mem))
        .middleware(JwtAuth::new(jwt()))
        .get("/me", who)
        .build()
        .unwrap()
}

fn with_extractor(mem: &MemoryExporter) -> AppService {
    App::new()
        .observability(observability(mem))
        .state(JwtAuth::new(jwt()))
        .get("/me", |ctx: Context, _p: Principal| who(ctx))
        .build()
        .unwrap()
}

fn request(token: &Option<String>) -> Vec<u8> {
    let mut r = TestRequest::get("/me").header("x-request-id", "r-1");
    if let Some(t) = token {
        r = r.header("authorization", &format!("Bearer {t}"));
    }
    r.v2()
}

/// What a client and an operator see of one answer: status, challenge, body, refusal reasons.
fn seen(res: &TestResponse, mem: &MemoryExporter) -> Value {
    let mut body: Value = res.json().unwrap_or(Value::Null);
    if let Some(e) = body.get_mut("error") {
        e["request_id"] = Value::Null;
    }
    let reasons: Vec<Value> = mem
        .logs()
        .iter()
        .filter(|l| {
            l["message"] == "token refused"
                || l["message"].as_str().is_some_and(|m| m.contains("tenant"))
        })
        .map(|l| json!([l["message"], l["reason"]]))
        .collect();
    mem.clear();
    json!({
        "status": res.status(),
        "www-authenticate": res.header("www-authenticate"),
        "body": body,
        "logged": reasons,
    })
}

#[tokio::test]
async fn the_principal_extractor_answers_every_attack_as_the_middleware_does() {
    let (mem_a, mem_b) = (MemoryExporter::new(), MemoryExporter::new());
    let (middleware, extractor) = (with_middleware(&mem_a), with_extractor(&mem_b));
    let mut statuses = Vec::new();
    for (name, token) in attacks() {
        let a = invoke(&middleware, request(&token)).await.unwrap();
        let b = invoke(&extractor, request(&token)).await.unwrap();
        let (a, b) = (seen(&a, &mem_a), seen(&b, &mem_b));
        assert_eq!(a, b, "{name}");
        statuses.push((name, a["status"].as_u64().unwrap()));
    }
    // And the answers are the right ones, not merely the same.
    let expected: Vec<(&str, u64)> = vec![
        ("valid", 200),
        ("no token", 401),
        ("empty bearer", 401),
        ("expired", 401),
        ("not yet valid", 401),
        ("exp null", 401),
        ("exp a string", 401),
        ("sub null", 200),
        ("iss an array", 401),
        ("another issuer", 401),
        ("another secret", 401),
        ("another algorithm", 401),
        ("alg none", 401),
        ("tampered payload", 401),
        ("no signature", 401),
        ("four segments", 401),
        ("garbage", 401),
        ("huge", 401),
        ("no tenant", 200),
    ];
    assert_eq!(statuses, expected);
}

#[tokio::test]
async fn a_valid_token_is_the_identity_either_way() {
    let (mem_a, mem_b) = (MemoryExporter::new(), MemoryExporter::new());
    let token = Some(good(json!({})));
    for app in [with_middleware(&mem_a), with_extractor(&mem_b)] {
        let res = invoke(&app, request(&token)).await.unwrap();
        assert_eq!(
            res.json::<Value>().unwrap(),
            json!({"user": "u-1", "tenant": "acme", "source": "Jwt"})
        );
    }
}

#[tokio::test]
async fn lambda_tenant_isolation_refuses_another_tenant_either_way() {
    let (mem_a, mem_b) = (MemoryExporter::new(), MemoryExporter::new());
    let token = Some(good(json!({"tenant_id": "globex"})));
    let mut answers = Vec::new();
    for (app, mem) in [
        (with_middleware(&mem_a), &mem_a),
        (with_extractor(&mem_b), &mem_b),
    ] {
        let mut lambda = lambda_context();
        lambda.tenant_id = Some("acme".to_owned());
        let res = invoke_with(&app, request(&token), lambda).await.unwrap();
        assert_eq!(res.status(), 403);
        answers.push(seen(&res, mem));
    }
    assert_eq!(answers[0], answers[1]);
}

#[derive(Deserialize)]
struct AppClaims {
    sub: String,
    plan: String,
}

fn claims_app(mem: &MemoryExporter) -> AppService {
    App::new()
        .observability(observability(mem))
        .state(JwtAuth::new(jwt()))
        .get("/plan", |Claims(c): Claims<AppClaims>| async move {
            format!("{} is on {}", c.sub, c.plan)
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn claims_of_the_apps_type_are_read_and_a_misfit_is_an_invalid_token() {
    let mem = MemoryExporter::new();
    let app = claims_app(&mem);
    let call = |token: String| {
        TestRequest::get("/plan")
            .header("authorization", &format!("Bearer {token}"))
            .v2()
    };
    let res = invoke(&app, call(good(json!({})))).await.unwrap();
    assert_eq!(
        (res.status(), res.text()),
        (200, "u-1 is on gold".to_owned())
    );

    // `plan` a number: the token is valid, but not for this app.
    let res = invoke(&app, call(good(json!({"plan": 7})))).await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
    let misfit: Vec<Value> = mem
        .logs()
        .into_iter()
        .filter(|l| l["message"] == "claims do not fit")
        .collect();
    assert_eq!(misfit.len(), 1);
    assert!(!misfit[0].to_string().contains("gold"), "{}", misfit[0]);

    // No token: the middleware's 401.
    let res = invoke(&app, TestRequest::get("/plan").v2()).await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn a_principal_without_any_authentication_is_the_programs_mistake() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(observability(&mem))
        .get("/me", |p: Principal| async move {
            p.user_id().unwrap_or_default().to_owned()
        })
        .build()
        .unwrap();
    let res = invoke(&app, TestRequest::get("/me").v2()).await.unwrap();
    assert_eq!(res.status(), 500);
    let body: Value = res.json().unwrap();
    assert_eq!(body["error"]["code"], "internal");
}
