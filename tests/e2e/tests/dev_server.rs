//! The `hello-world` example outside Lambda: the local dev server, spoken to over real HTTP.
//!
//! Each test starts the built binary on a free port (`LIFT_PORT`), waits for the URL line it
//! prints at start, and kills it when the test ends.

// Tests fail by panicking, with a message; that is what these are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{
    assert_created_user, assert_details_fields, assert_error_body, example_bin, free_port, http,
    HttpResponse, Proc,
};
use serde_json::json;

/// The dev server on a free port; killed on drop.
struct DevServer {
    port: u16,
    proc: Proc,
}

impl DevServer {
    fn start() -> DevServer {
        let port = free_port();
        let mut cmd = Command::new(example_bin());
        // Outside Lambda: no Runtime API in the environment, whatever the caller's shell has.
        cmd.env("LIFT_PORT", port.to_string())
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env_remove("AWS_LAMBDA_FUNCTION_NAME");
        let mut proc = Proc::spawn("hello-world (dev server)", cmd);
        let url = format!("http://127.0.0.1:{port}");
        proc.wait_for_stdout(&format!("a line containing {url}"), |l| l.contains(&url));
        proc.wait_for_port(port);
        DevServer { port, proc }
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        let resp = http(self.port, method, path, headers, body);
        self.proc.assert_running();
        resp
    }

    fn get(&mut self, path: &str) -> HttpResponse {
        self.request("GET", path, &[], b"")
    }

    fn post_json(&mut self, path: &str, body: &str) -> HttpResponse {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }
}

fn assert_json_content_type(resp: &HttpResponse) {
    let ct = resp.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "content-type {ct:?} is not application/json: {resp:?}"
    );
}

fn assert_error(resp: &HttpResponse, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(
        resp.status,
        status,
        "status for {code}: {resp:?} body {}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_json_content_type(resp);
    assert_error_body(&resp.json(), code)
}

#[test]
fn prints_its_url_and_greets_by_name() {
    let mut srv = DevServer::start();
    let resp = srv.get("/hello?name=Ada");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.text(), r#"{"message":"Hello, Ada!"}"#);
}

#[test]
fn greets_the_world_without_a_name() {
    let mut srv = DevServer::start();
    let resp = srv.get("/hello");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.text(), r#"{"message":"Hello, World!"}"#);
}

#[test]
fn greeting_decodes_the_query_and_escapes_json() {
    let mut srv = DevServer::start();
    let resp = srv.get("/hello?name=Ada%20%22the%22%20Lovelace");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(
        resp.json(),
        json!({"message": "Hello, Ada \"the\" Lovelace!"})
    );
}

#[test]
fn head_is_allowed_on_hello() {
    let mut srv = DevServer::start();
    let resp = srv.request("HEAD", "/hello?name=Ada", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
}

#[test]
fn gets_a_user_by_percent_decoded_id() {
    let mut srv = DevServer::start();
    let resp = srv.get("/users/42");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_json_content_type(&resp);
    assert_eq!(resp.json(), json!({"id": "42"}));

    let resp = srv.get("/users/a%20b");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json(), json!({"id": "a b"}));
}

#[test]
fn creates_a_user() {
    let mut srv = DevServer::start();
    let resp = srv.post_json("/users", r#"{"name":"Ada","email":"ada@example.com"}"#);
    assert_eq!(
        resp.status,
        201,
        "{resp:?} body {}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_json_content_type(&resp);
    assert_created_user(&resp.json(), "Ada", "ada@example.com");

    // Name length bounds are inclusive: 1 and 64 characters are both fine.
    let long = "x".repeat(64);
    let resp = srv.post_json(
        "/users",
        &json!({"name": long, "email": "a@b.example"}).to_string(),
    );
    assert_eq!(
        resp.status,
        201,
        "{resp:?} body {}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_created_user(&resp.json(), &long, "a@b.example");

    let resp = srv.post_json("/users", r#"{"name":"A","email":"a@example.com"}"#);
    assert_eq!(
        resp.status,
        201,
        "{resp:?} body {}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_created_user(&resp.json(), "A", "a@example.com");
}

#[test]
fn created_users_get_distinct_ids() {
    let mut srv = DevServer::start();
    let body = r#"{"name":"Ada","email":"ada@example.com"}"#;
    let a = srv.post_json("/users", body).json();
    let b = srv.post_json("/users", body).json();
    assert_ne!(a["id"], b["id"], "two creations returned the same id");
}

#[test]
fn malformed_json_is_400() {
    let mut srv = DevServer::start();
    let resp = srv.post_json("/users", r#"{"name":"Ada","email":"#);
    assert_error(&resp, 400, "bad_request");
}

#[test]
fn non_json_content_type_is_415() {
    let mut srv = DevServer::start();
    let resp = srv.request(
        "POST",
        "/users",
        &[("Content-Type", "text/plain")],
        br#"{"name":"Ada","email":"ada@example.com"}"#,
    );
    assert_error(&resp, 415, "unsupported_media_type");
}

#[test]
fn invalid_fields_are_422_with_details() {
    let mut srv = DevServer::start();

    let resp = srv.post_json("/users", r#"{"name":"","email":"not-an-email"}"#);
    let error = assert_error(&resp, 422, "validation_failed");
    assert_details_fields(&error, &["email", "name"]);

    let resp = srv.post_json(
        "/users",
        &json!({"name": "x".repeat(65), "email": "ada@example.com"}).to_string(),
    );
    let error = assert_error(&resp, 422, "validation_failed");
    assert_details_fields(&error, &["name"]);

    let resp = srv.post_json("/users", r#"{"name":"Ada","email":"ada.example.com"}"#);
    let error = assert_error(&resp, 422, "validation_failed");
    assert_details_fields(&error, &["email"]);
}

#[test]
fn unknown_path_is_404() {
    let mut srv = DevServer::start();
    let resp = srv.get("/no/such/route");
    assert_error(&resp, 404, "not_found");
}

#[test]
fn wrong_method_is_405_with_allow() {
    let mut srv = DevServer::start();
    let resp = srv.request("DELETE", "/hello", &[], b"");
    assert_error(&resp, 405, "method_not_allowed");
    assert_eq!(resp.header("allow"), Some("GET, HEAD"), "{resp:?}");
}

#[test]
fn keeps_serving_after_errors() {
    let mut srv = DevServer::start();
    assert_eq!(srv.post_json("/users", "{").status, 400);
    assert_eq!(srv.get("/nope").status, 404);
    let resp = srv.get("/hello?name=Ada");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), r#"{"message":"Hello, Ada!"}"#);
}

/// 3 MiB: over the default 2 MiB body limit, under Lambda's 6 MB payload limit.
const THREE_MIB: usize = 3 * 1024 * 1024;

#[test]
fn bodies_over_the_limit_get_413_and_the_server_keeps_serving() {
    let mut srv = DevServer::start();
    let json_body =
        serde_json::to_vec(&json!({"name": "x".repeat(THREE_MIB), "email": "a@b.c"})).unwrap();
    let raw_body = vec![0xa5_u8; THREE_MIB];
    let sent = [
        ("application/json", json_body),
        ("application/octet-stream", raw_body),
    ];
    for (content_type, body) in sent {
        let resp = srv.request("POST", "/users", &[("Content-Type", content_type)], &body);
        let error = assert_error(&resp, 413, "payload_too_large");
        assert_eq!(
            error["message"], "request body is larger than the limit of 2097152 bytes",
            "{error}"
        );
        let resp = srv.get("/hello?name=Ada");
        assert_eq!(resp.text(), r#"{"message":"Hello, Ada!"}"#);
    }
    // A body under the limit is still read in full.
    let resp = srv.post_json("/users", r#"{"name":"Ada","email":"ada@example.com"}"#);
    assert_eq!(resp.status, 201, "{resp:?}");
}
