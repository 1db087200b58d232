//! The `hello-world` example inside the Lambda Runtime API, emulated by `cargo lambda watch`.
//!
//! Function-URL requests go over HTTP to the emulator; API Gateway and ALB events go through
//! `cargo lambda invoke --data-file` with the committed fixtures. Responses must come back in
//! the shape of the event's source.

// Tests fail by panicking, with a message; that is what these are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    assert_created_user, assert_details_fields, assert_error_body, fixture_json, Emulator,
    HttpResponse, LambdaHttp,
};
use serde_json::{json, Value};

const HELLO_ADA: &str = r#"{"message":"Hello, Ada!"}"#;

fn assert_hello_ada(resp: &LambdaHttp) {
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(resp.body, HELLO_ADA, "{}", resp.raw);
    assert_eq!(
        resp.header("content-type"),
        Some("application/json"),
        "{}",
        resp.raw
    );
}

/// v1 (REST API) responses carry `multiValueHeaders`.
fn assert_v1_shape(resp: &LambdaHttp) {
    assert!(
        resp.raw["multiValueHeaders"].is_object(),
        "v1 response without multiValueHeaders: {}",
        resp.raw
    );
    assert!(
        !resp.has("statusDescription"),
        "v1 response with an ALB key: {}",
        resp.raw
    );
}

/// v2 (HTTP API) responses have no multi-value headers; `cookies`, when present, is a list.
fn assert_v2_shape(resp: &LambdaHttp) {
    assert!(
        !resp.has("multiValueHeaders"),
        "v2 response with multiValueHeaders: {}",
        resp.raw
    );
    assert!(
        !resp.has("statusDescription"),
        "v2 response with an ALB key: {}",
        resp.raw
    );
    if let Some(cookies) = resp.raw.get("cookies") {
        assert!(
            cookies.is_array(),
            "v2 cookies is not an array: {}",
            resp.raw
        );
    }
}

/// ALB responses have `statusDescription` ("200 OK"), and multi-value headers exactly when the
/// target group has them on (the request used them).
fn assert_alb_shape(resp: &LambdaHttp, multi: bool, description: &str) {
    assert_eq!(resp.raw["statusDescription"], description, "{}", resp.raw);
    assert_eq!(
        resp.raw["multiValueHeaders"].is_object(),
        multi,
        "ALB multiValueHeaders must be present exactly when the request had them: {}",
        resp.raw
    );
    if !multi {
        assert!(
            resp.raw["headers"].is_object(),
            "ALB response without headers: {}",
            resp.raw
        );
    }
}

fn assert_furl_error(resp: &HttpResponse, status: u16, code: &str) -> Value {
    assert_eq!(
        resp.status,
        status,
        "status for {code}: {resp:?} body {}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_error_body(&resp.json(), code)
}

// ---------------------------------------------------------------------------------------------
// Function URLs (HTTP API v2 payloads built by the emulator)
// ---------------------------------------------------------------------------------------------

#[test]
fn function_url_hello() {
    let emu = Emulator::start();
    let resp = emu.url("GET", "/hello?name=Ada", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.text(), HELLO_ADA);

    let resp = emu.url("GET", "/hello", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.text(), r#"{"message":"Hello, World!"}"#);
}

#[test]
fn function_url_users() {
    let emu = Emulator::start();
    let resp = emu.url("GET", "/users/a%20b", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json(), json!({"id": "a b"}));

    let json_ct = [("Content-Type", "application/json")];
    let resp = emu.url(
        "POST",
        "/users",
        &json_ct,
        br#"{"name":"Ada","email":"ada@example.com"}"#,
    );
    assert_eq!(
        resp.status,
        201,
        "{resp:?} body {}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_created_user(&resp.json(), "Ada", "ada@example.com");

    let resp = emu.url("POST", "/users", &json_ct, br#"{"name":"#);
    assert_furl_error(&resp, 400, "bad_request");

    let resp = emu.url(
        "POST",
        "/users",
        &[("Content-Type", "text/plain")],
        b"hello",
    );
    assert_furl_error(&resp, 415, "unsupported_media_type");

    let resp = emu.url("POST", "/users", &json_ct, br#"{"name":"","email":"nope"}"#);
    let error = assert_furl_error(&resp, 422, "validation_failed");
    assert_details_fields(&error, &["email", "name"]);
}

#[test]
fn function_url_errors() {
    let emu = Emulator::start();
    let resp = emu.url("GET", "/no/such/route", &[], b"");
    assert_furl_error(&resp, 404, "not_found");

    let resp = emu.url("DELETE", "/hello", &[], b"");
    assert_furl_error(&resp, 405, "method_not_allowed");
    assert_eq!(resp.header("allow"), Some("GET, HEAD"), "{resp:?}");
}

// ---------------------------------------------------------------------------------------------
// API Gateway and ALB events through `cargo lambda invoke`
// ---------------------------------------------------------------------------------------------

#[test]
fn invoke_hello_in_each_source_shape() {
    let emu = Emulator::start();

    let v1 = LambdaHttp::parse(&emu.invoke_ok("hello-v1.json"));
    assert_hello_ada(&v1);
    assert_v1_shape(&v1);

    let v2 = LambdaHttp::parse(&emu.invoke_ok("hello-v2.json"));
    assert_hello_ada(&v2);
    assert_v2_shape(&v2);

    let alb = LambdaHttp::parse(&emu.invoke_ok("hello-alb.json"));
    assert_hello_ada(&alb);
    assert_alb_shape(&alb, false, "200 OK");

    let alb_multi = LambdaHttp::parse(&emu.invoke_ok("hello-alb-multi.json"));
    assert_hello_ada(&alb_multi);
    assert_alb_shape(&alb_multi, true, "200 OK");
}

#[test]
fn invoke_post_users() {
    let emu = Emulator::start();

    let v2 = LambdaHttp::parse(&emu.invoke_ok("users-post-v2.json"));
    assert_eq!(v2.status, 201, "{}", v2.raw);
    assert_v2_shape(&v2);
    assert_created_user(&v2.json(), "Ada", "ada@example.com");

    let v1 = LambdaHttp::parse(&emu.invoke_ok("users-post-v1-base64.json"));
    assert_eq!(v1.status, 201, "{}", v1.raw);
    assert_v1_shape(&v1);
    assert_created_user(&v1.json(), "Ada", "ada@example.com");

    let bad = LambdaHttp::parse(&emu.invoke_ok("bad-base64-v2.json"));
    assert_eq!(bad.status, 400, "{}", bad.raw);
    assert_v2_shape(&bad);
    assert_error_body(&bad.json(), "bad_request");
}

#[test]
fn invoke_percent_encoded_path() {
    let emu = Emulator::start();
    let resp = LambdaHttp::parse(&emu.invoke_ok("users-percent-v2.json"));
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(resp.json(), json!({"id": "a b"}));
}

#[test]
fn invoke_big_headers() {
    let emu = Emulator::start();
    let resp = LambdaHttp::parse(&emu.invoke_ok("big-headers-v2.json"));
    assert_hello_ada(&resp);
    assert_v2_shape(&resp);
}

/// The generated and shipped fixtures hit paths the example does not route: each must still
/// parse as its source and get a 404 in that source's shape.
#[test]
fn invoke_upstream_fixtures_get_404_in_their_shape() {
    let emu = Emulator::start();
    let cases: &[(&str, &str)] = &[
        ("apigw-v1-sam.json", "v1"),
        ("example-apigw-request.json", "v1"),
        ("example-apigw-request-multi-value-parameters.json", "v1"),
        ("apigw-v2-sam.json", "v2"),
        ("example-apigw-v2-request-no-authorizer.json", "v2"),
        ("example-apigw-v2-request-multi-value-parameters.json", "v2"),
        ("alb-sam.json", "alb"),
        ("example-alb-lambda-target-request-headers-only.json", "alb"),
        (
            "example-alb-lambda-target-request-multivalue-headers.json",
            "alb-multi",
        ),
    ];
    for (name, kind) in cases {
        let event = fixture_json(name);
        let resp = LambdaHttp::parse(&emu.invoke_ok(name));
        assert_eq!(
            resp.status,
            404,
            "{name} (path {}): {}",
            path_of(&event),
            resp.raw
        );
        assert_error_body(&resp.json(), "not_found");
        match *kind {
            "v1" => assert_v1_shape(&resp),
            "v2" => assert_v2_shape(&resp),
            "alb" => assert_alb_shape(&resp, false, "404 Not Found"),
            _ => assert_alb_shape(&resp, true, "404 Not Found"),
        }
    }
}

fn path_of(event: &Value) -> String {
    event
        .get("rawPath")
        .or_else(|| event.get("path"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Events that are not HTTP requests at all
// ---------------------------------------------------------------------------------------------

/// `cargo lambda invoke` of a garbage event: it must fail, naming the function's errorType.
/// It prints no JSON then, only a report on stderr: `Error: <errorType>`, then `× <errorMessage>`
/// wrapped to the terminal width, so the exact message is checked through the Invoke API.
fn assert_invoke_fails(out: &common::Finished, what: &str, error_type: &str) {
    assert!(
        !out.status.success(),
        "invoking {what} should fail, but cargo lambda invoke succeeded:\n{}",
        out.stdout
    );
    // cargo lambda prints the type without a leading `&` (a `std::any::type_name` of a
    // reference, as lambda_runtime reports its own deserialisation errors).
    let printed = error_type.trim_start_matches('&');
    assert!(
        out.stderr.contains(&format!("Error: {printed}")),
        "cargo lambda invoke {what} did not report errorType {error_type}:\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
}

/// What the function reports for each non-event, as observed: the Runtime API error object's
/// `errorType`, and the start of its `errorMessage`.
const GARBAGE: &[(&str, &str, &str)] = &[
    (
        "unknown-event.json",
        "Lift.UnsupportedEvent",
        "no handler for events of kind unknown",
    ),
    (
        "not-json.txt",
        "Lift.InvalidEvent",
        "the event is not valid JSON: syntax error at line 1, column 2",
    ),
    (
        "truncated.json",
        "Lift.InvalidEvent",
        "the event is not valid JSON: it ends early",
    ),
];

#[test]
fn garbage_events_are_runtime_errors_and_the_function_keeps_serving() {
    let mut emu = Emulator::start();
    for (name, error_type, message_start) in GARBAGE {
        let payload = std::fs::read(common::fixture(name)).unwrap();

        // The Invoke API relays the function's error object with a 500.
        let resp = emu.invoke_raw(&payload);
        assert_eq!(resp.status, 500, "{name}: {resp:?}");
        let error = resp.json();
        assert_eq!(error["errorType"], *error_type, "{name}: {error}");
        let message = error["errorMessage"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(message_start),
            "{name}: errorMessage {message:?} does not start with {message_start:?}"
        );
        emu.assert_running();

        // `cargo lambda invoke` reports it as a failed invocation, naming the errorType.
        assert_invoke_fails(&emu.invoke_file(name), name, error_type);
        emu.assert_running();

        let good = LambdaHttp::parse(&emu.invoke_ok("hello-v2.json"));
        assert_hello_ada(&good);
    }
}

/// 3 MiB: over the default 2 MiB body limit, under Lambda's 6 MB payload limit.
const THREE_MIB: usize = 3 * 1024 * 1024;

#[test]
fn bodies_over_the_limit_get_413_and_the_function_keeps_serving() {
    let emu = Emulator::start();
    let json_body =
        serde_json::to_vec(&json!({"name": "x".repeat(THREE_MIB), "email": "a@b.c"})).unwrap();
    let raw_body = vec![0xa5_u8; THREE_MIB];
    let sent = [
        ("application/json", json_body.clone()),
        ("application/octet-stream", raw_body),
    ];
    // Through the function URL: the emulator turns the request into an event.
    for (content_type, body) in &sent {
        let resp = emu.url("POST", "/users", &[("Content-Type", content_type)], body);
        let error = assert_furl_error(&resp, 413, "payload_too_large");
        assert_eq!(
            error["message"], "request body is larger than the limit of 2097152 bytes",
            "{error}"
        );
        assert_eq!(
            emu.url("GET", "/hello?name=Ada", &[], b"").text(),
            HELLO_ADA
        );
    }
    // As a REST API event through the Invoke API.
    let mut event = fixture_json("users-post-v1-base64.json");
    event["body"] = Value::from(String::from_utf8(json_body).unwrap());
    event["isBase64Encoded"] = Value::from(false);
    let resp = emu.invoke_raw(&serde_json::to_vec(&event).unwrap());
    assert_eq!(resp.status, 200, "{resp:?}");
    let reply = LambdaHttp::parse(&resp.json());
    assert_eq!(reply.status, 413, "{}", reply.raw);
    assert_error_body(
        &serde_json::from_str(&reply.body).unwrap(),
        "payload_too_large",
    );
    assert_eq!(
        emu.url("GET", "/hello?name=Ada", &[], b"").text(),
        HELLO_ADA
    );
}
