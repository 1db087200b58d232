//! JWT defences a caller probing from outside would try: `null` claims, claim values from other
//! app clients, `typ`, values of unverified tokens in the log, forged algorithms that would make
//! the function call its secret store, a rotated secret, plain-HTTP key sets, and WebSocket
//! `$connect` without a token. Secrets come from a provider written against the public API
//! alone, which counts what the store is asked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use lift::observability::{Logger, MemoryExporter, Observability};
use lift::prelude::*;
use lift::security::secrets::{
    Secret, SecretError, SecretErrorKind, SecretFuture, SecretProvider, SecretValue, Secrets,
};
use lift::security::{
    require_role, Algorithm, AuthorizerClaims, HmacSecret, Issuer, Jwks, Jwt, JwtAuth, JwtError,
    JwtKey,
};
use lift::testing::{invoke, TestRequest, TestWebSocket};
use serde_json::{json, Value};

const ISS: &str = "https://auth.example.com";
const SECRET: &[u8] = b"a-secret-of-at-least-32-bytes-long!!";
const ROTATED: &[u8] = b"the-secret-after-rotation-32-bytes-long";
const NOW: u64 = 1_700_000_000;

fn sign(alg: Algorithm, secret: &[u8], claims: &Value, typ: Option<&str>) -> String {
    // Makes sure jsonwebtoken has a provider even before any key of Lift's is made.
    let _ = JwtKey::hmac(SECRET, [Algorithm::HS256]);
    let mut header = Header::new(alg);
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

fn claims(over: Value) -> Value {
    let mut c = json!({"iss": ISS, "sub": "u-1", "exp": NOW + 600, "tenant_id": "acme"});
    for (k, v) in over.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn static_jwt(
    configure: impl FnOnce(lift::security::JwtBuilder) -> lift::security::JwtBuilder,
) -> Jwt {
    let issuer = Issuer::new(ISS).key(JwtKey::hmac(SECRET, [Algorithm::HS256]).unwrap());
    configure(Jwt::builder().issuer(issuer)).build().unwrap()
}

fn logger() -> Logger {
    Observability::new()
        .export_to(MemoryExporter::new())
        .logger()
}

async fn verify(jwt: &Jwt, token: &str) -> Result<lift::security::Principal, JwtError> {
    jwt.verify_at(token, NOW, &logger()).await
}

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_null_required_claim_is_missing() {
    let jwt = static_jwt(|b| b.require(["exp", "sub", "tenant_id"]));
    let null_sub = sign(
        Algorithm::HS256,
        SECRET,
        &claims(json!({"sub": null})),
        None,
    );
    assert_eq!(
        verify(&jwt, &null_sub).await.err(),
        Some(JwtError::MissingClaim("sub".into()))
    );
    let null_tenant = sign(
        Algorithm::HS256,
        SECRET,
        &claims(json!({"tenant_id": null})),
        None,
    );
    assert_eq!(
        verify(&jwt, &null_tenant).await.err(),
        Some(JwtError::MissingClaim("tenant_id".into()))
    );
    // `exp: null` never stands for "never expires".
    let null_exp = sign(
        Algorithm::HS256,
        SECRET,
        &claims(json!({"exp": null})),
        None,
    );
    assert_eq!(
        verify(&jwt, &null_exp).await.err(),
        Some(JwtError::InvalidClaims {
            claim: Some("exp".into()),
            fault: "wrong type"
        })
    );
}

#[tokio::test]
async fn a_registered_claim_of_the_wrong_type_is_refused_naming_the_claim_not_the_value() {
    let jwt = static_jwt(|b| b);
    for (over, claim) in [
        (json!({"exp": "1700000600"}), "exp"),
        (json!({"nbf": "hunter2-nbf"}), "nbf"),
        (json!({"iat": {"x": "hunter2-iat"}}), "iat"),
        (json!({"aud": 7}), "aud"),
        (json!({"sub": ["hunter2-sub"]}), "sub"),
    ] {
        let token = sign(Algorithm::HS256, SECRET, &claims(over.clone()), None);
        let err = verify(&jwt, &token).await.unwrap_err();
        assert_eq!(
            err,
            JwtError::InvalidClaims {
                claim: Some(claim.into()),
                fault: "wrong type"
            },
            "{over}"
        );
        assert_eq!(
            err.to_string(),
            format!("invalid claims: claim {claim}: wrong type")
        );
    }
}

#[tokio::test]
async fn the_refusal_logged_by_jwt_auth_quotes_nothing_of_the_token() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(
            Observability::new()
                .cold_start_metric(false)
                .export_to(mem.clone()),
        )
        .middleware(JwtAuth::new(static_jwt(|b| b)))
        .get("/me", |_ctx: Context| async { "me" })
        .build()
        .unwrap();
    let token = sign(
        Algorithm::HS256,
        SECRET,
        &claims(json!({"exp": "hunter2"})),
        None,
    );
    let res = invoke(
        &app,
        TestRequest::get("/me")
            .header("authorization", &format!("Bearer {token}"))
            .v2(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 401);
    let logs = mem.logs();
    let refused: Vec<&Value> = logs
        .iter()
        .filter(|l| l["message"] == "token refused")
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        refused[0]["reason"],
        "invalid claims: claim exp: wrong type"
    );
    for line in &logs {
        assert!(!line.to_string().contains("hunter2"), "{line}");
    }
}

#[tokio::test]
async fn required_values_accept_only_the_apps_clients_and_access_tokens() {
    // Cognito access tokens: `client_id` and `token_use`.
    let jwt = static_jwt(|b| {
        b.require_value("client_id", ["web-client", "mobile-client"])
            .require_value("token_use", ["access"])
    });
    let ok = claims(json!({"client_id": "mobile-client", "token_use": "access"}));
    assert!(verify(&jwt, &sign(Algorithm::HS256, SECRET, &ok, None))
        .await
        .is_ok());
    for (over, want) in [
        (
            json!({"client_id": "another-apps-client", "token_use": "access"}),
            JwtError::ClaimValueNotAccepted("client_id".into()),
        ),
        (
            json!({"client_id": "web-client", "token_use": "id"}),
            JwtError::ClaimValueNotAccepted("token_use".into()),
        ),
        (
            json!({"token_use": "access"}),
            JwtError::MissingClaim("client_id".into()),
        ),
        (
            json!({"client_id": null, "token_use": "access"}),
            JwtError::MissingClaim("client_id".into()),
        ),
        (
            json!({"client_id": ["web-client"], "token_use": "access"}),
            JwtError::InvalidClaims {
                claim: Some("client_id".into()),
                fault: "wrong type",
            },
        ),
    ] {
        let token = sign(Algorithm::HS256, SECRET, &claims(over.clone()), None);
        assert_eq!(verify(&jwt, &token).await.err(), Some(want), "{over}");
    }
    // A value rule on a claim the verifier checks itself is a build error.
    let issuer = Issuer::new(ISS).key(JwtKey::hmac(SECRET, [Algorithm::HS256]).unwrap());
    let err = Jwt::builder()
        .issuer(issuer)
        .require_value("aud", ["x"])
        .build()
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "the value of claim aud is checked by the verifier itself and cannot be required"
    );
}

#[tokio::test]
async fn typ_is_checked_when_required() {
    let jwt = static_jwt(|b| b.typ(["at+jwt"]));
    let c = claims(json!({}));
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        let token = sign(Algorithm::HS256, SECRET, &c, Some(typ));
        assert!(verify(&jwt, &token).await.is_ok(), "{typ}");
    }
    for typ in [Some("JWT"), None] {
        let token = sign(Algorithm::HS256, SECRET, &c, typ);
        assert_eq!(
            verify(&jwt, &token).await.err(),
            Some(JwtError::TypNotAccepted),
            "{typ:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets behind the keys
// ---------------------------------------------------------------------------------------------

/// Values by (name, stage).
type Values = HashMap<(String, String), Vec<u8>>;

/// A secret store written against the public API: values by (name, stage), a count of fetches.
#[derive(Clone, Default)]
struct Store {
    values: Arc<Mutex<Values>>,
    version: Arc<AtomicU64>,
    fetches: Arc<AtomicU64>,
}

impl Store {
    fn put(&self, stage: &str, value: &[u8]) {
        self.version.fetch_add(1, Ordering::Relaxed);
        self.values
            .lock()
            .unwrap()
            .insert(("jwt".into(), stage.into()), value.to_vec());
    }
    fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}

impl SecretProvider for Store {
    fn store(&self) -> &'static str {
        "counting"
    }
    fn fetch<'a>(&'a self, name: &'a str, stage: Option<&'a str>) -> SecretFuture<'a> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let key = (name.to_owned(), stage.unwrap_or("AWSCURRENT").to_owned());
        let found = self.values.lock().unwrap().get(&key).cloned();
        let version = format!("v{}", self.version.load(Ordering::Relaxed));
        Box::pin(async move {
            match found {
                Some(v) => Ok(Secret::new(SecretValue::Binary(v)).with_version(version)),
                None => Err(SecretError::new(SecretErrorKind::NotFound, "no such stage")),
            }
        })
    }
}

fn secret_jwt(store: &Store) -> Jwt {
    let source = HmacSecret::new(Secrets::new(store.clone()), "jwt", [Algorithm::HS256]);
    Jwt::builder()
        .issuer(Issuer::new(ISS).key_source(source))
        .build()
        .unwrap()
}

#[tokio::test]
async fn forged_tokens_of_another_algorithm_never_reach_the_store() {
    let store = Store::default();
    store.put("AWSCURRENT", SECRET);
    let jwt = secret_jwt(&store);
    let good = sign(Algorithm::HS256, SECRET, &claims(json!({})), None);
    assert!(verify(&jwt, &good).await.is_ok());
    // AWSCURRENT, and AWSPREVIOUS (NotFound before the first rotation).
    assert_eq!(store.fetches(), 2);

    for i in 0..100 {
        let forged = sign(
            Algorithm::HS384,
            b"anything-an-attacker-likes-to-use-here",
            &claims(json!({"jti": i})),
            None,
        );
        assert_eq!(
            verify(&jwt, &forged).await.err(),
            Some(JwtError::AlgorithmNotAllowed)
        );
    }
    assert_eq!(
        store.fetches(),
        2,
        "no fetch for an alg the secret is not for"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rotated_secret_is_accepted_at_once_and_forgeries_cost_one_fetch_per_interval() {
    let store = Store::default();
    store.put("AWSCURRENT", SECRET);
    let jwt = secret_jwt(&store);
    let old = sign(Algorithm::HS256, SECRET, &claims(json!({})), None);
    assert!(verify(&jwt, &old).await.is_ok());
    assert_eq!(store.fetches(), 2);

    // Some time later (past the 30 s between refreshes, well within the 5 minute caches) the
    // secret rotates: the old value becomes AWSPREVIOUS.
    tokio::time::advance(Duration::from_secs(30)).await;
    store.put("AWSPREVIOUS", SECRET);
    store.put("AWSCURRENT", ROTATED);
    let new = sign(Algorithm::HS256, ROTATED, &claims(json!({})), None);
    let principal = verify(&jwt, &new).await.unwrap();
    assert_eq!(principal.user_id(), Some("u-1"));
    // One refresh: AWSCURRENT changed, so AWSPREVIOUS was read past the cache too.
    assert_eq!(store.fetches(), 4);
    // Tokens signed just before the rotation still verify, with no fetch.
    assert!(verify(&jwt, &old).await.is_ok());
    assert_eq!(store.fetches(), 4);

    // A flood of HS256 forgeries: the refresh they each ask for is inside the interval.
    for i in 0..100 {
        let forged = sign(
            Algorithm::HS256,
            b"a-guessed-secret-of-32-bytes-or-more!",
            &claims(json!({"jti": i})),
            None,
        );
        assert_eq!(
            verify(&jwt, &forged).await.err(),
            Some(JwtError::InvalidSignature)
        );
    }
    assert_eq!(
        store.fetches(),
        4,
        "the last refresh was less than 30 s ago"
    );
}

#[tokio::test(start_paused = true)]
async fn after_the_interval_a_forgery_costs_one_fetch_of_the_current_stage() {
    let store = Store::default();
    store.put("AWSCURRENT", SECRET);
    let source = HmacSecret::new(Secrets::new(store.clone()), "jwt", [Algorithm::HS256])
        .min_refresh_interval(Duration::from_secs(30));
    let jwt = Jwt::builder()
        .issuer(Issuer::new(ISS).key_source(source))
        .build()
        .unwrap();
    let good = sign(Algorithm::HS256, SECRET, &claims(json!({})), None);
    assert!(verify(&jwt, &good).await.is_ok());
    assert_eq!(store.fetches(), 2);
    tokio::time::advance(Duration::from_secs(30)).await;
    for i in 0..50 {
        let forged = sign(
            Algorithm::HS256,
            b"a-guessed-secret-of-32-bytes-or-more!",
            &claims(json!({"jti": i})),
            None,
        );
        assert!(verify(&jwt, &forged).await.is_err());
    }
    // AWSCURRENT asked once; it had not changed, so AWSPREVIOUS came from the cache.
    assert_eq!(store.fetches(), 3);
}

#[test]
fn a_plain_http_key_set_url_is_a_build_error_unless_loopback_or_allowed() {
    let build = |jwks: Jwks| {
        Jwt::builder()
            .issuer(Issuer::new(ISS).key_source(jwks))
            .build()
    };
    let err = build(Jwks::new("http://auth.example.com/.well-known/jwks.json"))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "JWKS URL http://auth.example.com/.well-known/jwks.json: plain HTTP to a host that is not \
         loopback; use https (or Jwks::allow_plain_http on a network you trust end to end)"
    );
    assert!(build(Jwks::new("https://auth.example.com/.well-known/jwks.json")).is_ok());
    assert!(build(Jwks::new("http://127.0.0.1:8080/jwks.json")).is_ok());
    assert!(build(Jwks::new("http://auth.internal/jwks.json").allow_plain_http()).is_ok());
}

// ---------------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------------

fn websocket_app(auth: impl lift::middleware::Middleware) -> lift::AppService {
    App::new()
        .observability(
            Observability::new()
                .cold_start_metric(false)
                .export_to(MemoryExporter::new()),
        )
        .middleware(auth)
        .middleware(require_role("member"))
        .on_websocket("$connect", |ctx: Context| async move {
            ctx.identity()
                .user()
                .map_or_else(|| "nobody".to_owned(), |u| u.to_string())
        })
        .on_websocket("$default", |ctx: Context| async move {
            format!("echo {}", ctx.request().text().unwrap_or_default())
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn jwt_auth_guards_websocket_connect() {
    let app = websocket_app(JwtAuth::new(static_jwt(|b| b.leeway(u64::MAX / 4))).query("token"));
    let member = sign(
        Algorithm::HS256,
        SECRET,
        &claims(json!({"roles": ["member"]})),
        None,
    );
    let guest = sign(
        Algorithm::HS256,
        SECRET,
        &claims(json!({"roles": ["guest"]})),
        None,
    );

    // No token: refused, so API Gateway refuses the connection.
    let res = invoke(&app, TestWebSocket::connect().event())
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // A token in the header or the query string: connected as its user.
    for event in [
        TestWebSocket::connect().header("Authorization", &format!("Bearer {member}")),
        TestWebSocket::connect().query("token", &member),
    ] {
        let res = invoke(&app, event.event()).await.unwrap();
        assert_eq!((res.status(), res.text()), (200, "u-1".to_owned()));
    }
    // A valid token without the role: 403.
    let res = invoke(
        &app,
        TestWebSocket::connect().query("token", &guest).event(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    // A forged one: 401.
    let forged = sign(
        Algorithm::HS256,
        b"a-guessed-secret-of-32-bytes-or-more!",
        &claims(json!({})),
        None,
    );
    let res = invoke(
        &app,
        TestWebSocket::connect().query("token", &forged).event(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 401);
    // Messages on a connection admitted at `$connect` pass.
    let res = invoke(&app, TestWebSocket::message("$default", "hi").event())
        .await
        .unwrap();
    assert_eq!((res.status(), res.text()), (200, "echo hi".to_owned()));
}

#[tokio::test]
async fn authorizer_claims_guard_websocket_connect_and_carry_the_principal_after() {
    let app = websocket_app(AuthorizerClaims::new());
    let res = invoke(&app, TestWebSocket::connect().event())
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let member = json!({"principalId": "u-7", "roles": "member"});
    let res = invoke(&app, TestWebSocket::connect().authorizer(&member).event())
        .await
        .unwrap();
    assert_eq!((res.status(), res.text()), (200, "u-7".to_owned()));
    // A later message carries the authorizer's context: its principal is checked too.
    let guest = json!({"principalId": "u-8", "roles": "guest"});
    let res = invoke(
        &app,
        TestWebSocket::message("$default", "hi")
            .authorizer(&guest)
            .event(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
}
