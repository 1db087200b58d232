//! Helpers shared by the integration tests: fixtures, Lambda contexts and exact error bodies.
#![allow(dead_code, clippy::expect_used)]

use std::time::Duration;

use lift::LambdaContext;
use serde_json::Value;

/// The bytes of a committed fixture in `tests/fixtures/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {path}: {e}"))
}

/// A fixture parsed as JSON.
pub fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("fixture is JSON")
}

/// A Lambda context with a known request id and a 30 s deadline.
pub fn lambda(request_id: &str) -> LambdaContext {
    LambdaContext::local(request_id, Duration::from_secs(30))
}

/// The trace header [`traced_lambda`] carries, as Lambda hands it to a function with active
/// tracing, and its trace id.
pub const TRACE_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
pub const TRACE_ID: &str = "1-5759e988-bd862e3fe1be46a994272793";
pub const TRACE_PARENT: &str = "53995c3f42cd8ad8";

/// [`lambda`] with Lambda's trace header ([`TRACE_HEADER`]): the invocation runs as in Lambda
/// with active tracing.
pub fn traced_lambda(request_id: &str) -> LambdaContext {
    let mut l = lambda(request_id);
    l.xray_trace_id = Some(TRACE_HEADER.to_owned());
    l
}

/// The same HTTP event sent to another path (`rawPath` and `requestContext.http.path` for
/// payload 2.0, `path` for REST v1 and ALB), everything else unchanged.
pub fn retarget(event: &[u8], path: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(event).expect("event is JSON");
    if v.get("rawPath").is_some() {
        v["rawPath"] = Value::from(path);
        v["requestContext"]["http"]["path"] = Value::from(path);
    } else {
        v["path"] = Value::from(path);
    }
    serde_json::to_vec(&v).expect("serialise event")
}

/// The exact error body Lift sends: `{"error":{"code","message","request_id"}}`.
pub fn error_body(code: &str, message: &str, request_id: &str) -> String {
    serde_json::to_string(&serde_json::json!({
        "error": {"code": code, "message": message, "request_id": request_id}
    }))
    .expect("serialise error body")
}

/// Three routes that fail in the ways tracing must tell apart: `/missing` (404, an `Error`),
/// `/busy` (429, a response), `/broken` (500, an error whose text holds a secret, `hunter2`).
pub fn failing_routes(app: lift::App) -> lift::App {
    use lift::prelude::*;
    app.get("/missing", |_ctx: Context| async {
        Err::<&str, _>(Error::not_found("no such thing"))
    })
    .get("/busy", |_ctx: Context| async {
        (StatusCode::TOO_MANY_REQUESTS, "slow down")
    })
    .get("/broken", |_ctx: Context| async {
        Err::<&str, _>(Error::internal(std::io::Error::other("password=hunter2")))
    })
}

/// `GET path` from a known caller (host `api.example.com`, `curl/8.0`, `198.51.100.4`), as the
/// tracing tests send it.
pub fn caller_request(path: &str) -> lift::testing::TestRequest {
    lift::testing::TestRequest::get(path)
        .header("Host", "api.example.com")
        .header("User-Agent", "curl/8.0")
        .source_ip("198.51.100.4")
}
