//! The `multi-tenant-api` example, driven from outside: on the dev server over HTTP, and under
//! the Runtime API (`cargo lambda watch`) with an SQS import batch and function-URL requests.
//! Tokens are HS256, signed by PyJWT (`py/jwt_tokens.py example …`) with the secret the
//! function is started with. Every cross-tenant request is refused with 403 and nothing of the
//! other tenant in the body; imports are stored and logged under each record's own tenant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{
    example_bin_named, free_port, http, jwt_tokens, run_bounded, Emulator, HttpResponse, KeyServer,
    Proc, Serve,
};
use serde_json::{json, Value};

const SECRET: &str = "multi-tenant-example-secret-0123456789abcdef";
const ISSUER: &str = "https://auth.example.test";
const AUDIENCE: &str = "orders-api";
const ENV: [(&str, &str); 3] = [
    ("JWT_SECRET", SECRET),
    ("JWT_ISSUER", ISSUER),
    ("JWT_AUDIENCE", AUDIENCE),
];

fn tokens() -> Value {
    jwt_tokens(&["example", SECRET, ISSUER, AUDIENCE])
}

/// One HTTP request: method, target, headers, body.
type SendFn = Box<dyn FnMut(&str, &str, &[(&str, &str)], &[u8]) -> HttpResponse>;

/// Sends requests with a named token (or none), through the dev server or a function URL.
struct Client {
    tokens: Value,
    send: SendFn,
}

impl Client {
    fn call(&mut self, token: Option<&str>, method: &str, path: &str, body: &str) -> HttpResponse {
        let auth = token.map(|t| format!("Bearer {}", self.tokens[t].as_str().unwrap()));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        (self.send)(method, path, &headers, body.as_bytes())
    }

    fn json(&mut self, token: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
        let res = self.call(Some(token), method, path, body);
        let value = if res.body.is_empty() {
            Value::Null
        } else {
            res.json()
        };
        (res.status, value)
    }
}

fn assert_refused(res: &HttpResponse, status: u16, code: &str, secrets: &[&str]) {
    assert_eq!(res.status, status, "{res:?}");
    let body = res.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    let text = String::from_utf8_lossy(&res.body);
    for s in secrets {
        assert!(!text.contains(s), "`{s}` leaked into {text}");
    }
}

/// The HTTP API, as any client sees it.
fn exercise_http(c: &mut Client) {
    let health = c.call(None, "GET", "/health", "");
    assert_eq!(
        (health.status, health.json()),
        (200, json!({"status": "ok"}))
    );

    // Create an order for acme, as acme's user.
    let (status, order) = c.json(
        "acme-user",
        "POST",
        "/tenants/acme/orders",
        r#"{"item":"widget","quantity":3}"#,
    );
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(
        order,
        json!({"id": id, "tenant": "acme", "item": "widget", "quantity": 3})
    );
    let (status, one) = c.json(
        "acme-user",
        "GET",
        &format!("/tenants/acme/orders/{id}"),
        "",
    );
    assert_eq!((status, &one), (200, &order));
    let (status, list) = c.json("acme-admin", "GET", "/tenants/acme/orders", "");
    assert_eq!(status, 200);
    assert!(
        list["orders"].as_array().unwrap().contains(&order),
        "{list}"
    );

    // Bad bodies.
    for bad in [
        r#"{"item":"widget","quantity":0}"#,
        r#"{"item":"widget","quantity":1001}"#,
        r#"{"item":"","quantity":1}"#,
    ] {
        let res = c.call(Some("acme-user"), "POST", "/tenants/acme/orders", bad);
        assert_refused(&res, 422, "validation_failed", &[]);
    }
    let res = c.call(
        Some("acme-user"),
        "POST",
        "/tenants/acme/orders",
        r#"{"item":"#,
    );
    assert_refused(&res, 400, "bad_request", &[]);

    // Missing or invalid tokens: 401.
    for token in [
        None,
        Some("acme-expired"),
        Some("acme-other-audience"),
        Some("acme-exp-null"),
        Some("acme-sub-null"),
        Some("acme-tenant-null"),
        Some("acme-nbf-string"),
    ] {
        let res = c.call(token, "GET", "/tenants/acme/orders", "");
        assert_refused(&res, 401, "unauthorized", &["expired", "aud"]);
        // No token at all: no error code (RFC 6750, section 3.1).
        let challenge = if token.is_none() {
            "Bearer"
        } else {
            "Bearer error=\"invalid_token\""
        };
        assert_eq!(res.header("www-authenticate"), Some(challenge));
    }

    // Every cross-tenant request: 403, nothing of acme in the body.
    let leaks = ["acme", "widget", id.as_str()];
    for (token, method, path, body) in [
        ("globex-user", "GET", "/tenants/acme/orders".to_owned(), ""),
        (
            "globex-user",
            "GET",
            format!("/tenants/acme/orders/{id}"),
            "",
        ),
        ("globex-admin", "GET", "/tenants/acme/orders".to_owned(), ""),
        (
            "globex-user",
            "POST",
            "/tenants/acme/orders".to_owned(),
            r#"{"item":"x","quantity":1}"#,
        ),
        (
            "globex-admin",
            "DELETE",
            format!("/tenants/acme/orders/{id}"),
            "",
        ),
        ("acme-user", "GET", "/tenants/globex/orders".to_owned(), ""),
    ] {
        let res = c.call(Some(token), method, &path, body);
        let secrets: &[&str] = if token.starts_with("globex") {
            &leaks
        } else {
            &["globex"]
        };
        assert_refused(&res, 403, "forbidden", secrets);
    }
    // In its own space, globex never sees acme's order.
    let (status, theirs) = c.json("globex-user", "GET", "/tenants/globex/orders", "");
    assert_eq!(status, 200);
    assert!(!theirs.to_string().contains("widget"), "{theirs}");
    let res = c.call(
        Some("globex-user"),
        "GET",
        &format!("/tenants/globex/orders/{id}"),
        "",
    );
    assert_refused(&res, 404, "not_found", &leaks);

    // Roles: no role → 403; user cannot delete; admin can.
    let res = c.call(Some("acme-no-role"), "GET", "/tenants/acme/orders", "");
    assert_refused(&res, 403, "forbidden", &[]);
    let res = c.call(
        Some("acme-user"),
        "DELETE",
        &format!("/tenants/acme/orders/{id}"),
        "",
    );
    assert_refused(&res, 403, "forbidden", &[]);
    let res = c.call(
        Some("acme-admin"),
        "DELETE",
        &format!("/tenants/acme/orders/{id}"),
        "",
    );
    assert_eq!((res.status, res.body.len()), (204, 0), "{res:?}");
    let res = c.call(
        Some("acme-user"),
        "GET",
        &format!("/tenants/acme/orders/{id}"),
        "",
    );
    assert_refused(&res, 404, "not_found", &[]);
}

#[test]
fn the_http_api_on_the_dev_server() {
    let port = free_port();
    let mut cmd = Command::new(example_bin_named("multi-tenant-api"));
    cmd.envs(ENV)
        .env("LIFT_PORT", port.to_string())
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("AWS_LAMBDA_FUNCTION_NAME");
    let mut proc = Proc::spawn("multi-tenant-api (dev server)", cmd);
    proc.wait_for_port(port);
    let mut client = Client {
        tokens: tokens(),
        send: Box::new(move |m, p, h, b| http(port, m, p, h, b)),
    };
    exercise_http(&mut client);
    proc.assert_running();
}

#[test]
fn the_http_api_on_the_dev_server_with_keys_from_a_jwks_url() {
    let tokens = jwt_tokens(&["example-jwks", "-", ISSUER, AUDIENCE]);
    let keys = KeyServer::start(Serve::Doc(tokens["jwks"].to_string()));
    let port = free_port();
    let mut cmd = Command::new(example_bin_named("multi-tenant-api"));
    cmd.env("JWKS_URL", keys.url("/.well-known/jwks.json"))
        .env("JWT_ISSUER", ISSUER)
        .env("JWT_AUDIENCE", AUDIENCE)
        .env_remove("JWT_SECRET")
        .env("LIFT_PORT", port.to_string())
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("AWS_LAMBDA_FUNCTION_NAME");
    let mut proc = Proc::spawn("multi-tenant-api (dev server, JWKS)", cmd);
    proc.wait_for_port(port);
    let mut client = Client {
        tokens,
        send: Box::new(move |m, p, h, b| http(port, m, p, h, b)),
    };
    exercise_http(&mut client);
    // The key set was fetched once, on the first token, and served from the cache after.
    assert_eq!(keys.hits(), 1);
    proc.assert_running();
}

#[test]
fn without_a_key_the_function_refuses_to_start() {
    let mut cmd = Command::new(example_bin_named("multi-tenant-api"));
    cmd.env("JWT_ISSUER", ISSUER)
        .env("JWT_AUDIENCE", AUDIENCE)
        .env_remove("JWT_SECRET")
        .env_remove("JWKS_URL")
        .env("LIFT_PORT", free_port().to_string());
    let out = run_bounded("multi-tenant-api without a key", cmd);
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("set JWT_SECRET (HS256) or JWKS_URL"),
        "{}",
        out.stderr
    );
}

#[test]
fn imports_and_requests_under_the_runtime_api() {
    let mut emu =
        Emulator::start_function_warmed_by("multi-tenant-api", &ENV, &[], "events/health-v2.json");

    // The import batch: two acme orders, one globex, one invalid quantity, one body cut short.
    let reply = emu.invoke_ok("events/sqs-order-imports.json");
    assert_eq!(
        reply,
        json!({"batchItemFailures": [
            {"itemIdentifier": "1m000000-0000-4000-8000-000000000003"},
            {"itemIdentifier": "1m000000-0000-4000-8000-000000000004"},
        ]})
    );
    let lines = emu.wait_for_function_stdout("three `order imported` lines", |lines| {
        lines
            .iter()
            .filter(|l| l.contains("order imported"))
            .count()
            >= 3
    });
    let imported: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "order imported")
        .collect();
    let tenants: Vec<&str> = imported
        .iter()
        .map(|l| l["tenant_id"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["acme", "globex", "acme"]);

    // The imported orders, each tenant seeing its own only.
    let port = emu.port();
    let name = emu.function_name().to_owned();
    let mut client = Client {
        tokens: tokens(),
        send: Box::new(move |m, p, h, b| http(port, m, &format!("/lambda-url/{name}{p}"), h, b)),
    };
    let (status, acme) = client.json("acme-user", "GET", "/tenants/acme/orders", "");
    assert_eq!(status, 200);
    let items: Vec<&str> = acme["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["item"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["anvil", "magnet"]);
    let (_, globex) = client.json("globex-user", "GET", "/tenants/globex/orders", "");
    assert_eq!(globex["orders"].as_array().unwrap().len(), 1);
    assert_eq!(globex["orders"][0]["item"], "gear");

    exercise_http(&mut client);
    emu.assert_running();
}
