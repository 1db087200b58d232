//! The `middleware-showcase` example, driven from outside the process: Lift's default middleware
//! stack (RequestId, AccessLog, RequestMetrics, SecurityHeaders, Cors, ErrorHandler, Recover and
//! a 1 s Timeout), with CORS for `https://app.example.com` (credentials on) and
//! `https://*.example.org`.
//!
//! Every behaviour is checked on each way a request can come in:
//!
//! - the local dev server (`LIFT_PORT`), over HTTP on 127.0.0.1 (`dev_*` tests);
//! - the Lambda Runtime API, emulated by `cargo lambda watch` (`lambda_*` tests), three ways:
//!   function-URL requests over HTTP (`/lambda-url/middleware-showcase/...`), and API Gateway
//!   REST (v1) and HTTP API (v2) events sent with `cargo lambda invoke --data-file`. Those events
//!   are written at test time into a temporary directory, from `tests/fixtures/hello-v1.json`
//!   and `hello-v2.json` with the method, path, query, headers and body replaced.
//!
//! The dev server runs with `LIFT_LOG_FORMAT=json` (one test checks the pretty format), so the
//! tests can read its access-log lines; under the emulator the logs are JSON because
//! `AWS_LAMBDA_FUNCTION_NAME` is set.
//!
//! "The request id the platform gave" a request is the Runtime API's
//! `Lambda-Runtime-Aws-Request-Id` under the emulator (read from the emulator's own log), and
//! the id the dev server made up for it (read from the `function_request_id` of its access-log
//! line: the dev server handles one request at a time here and logs every one).

// Tests fail by panicking, with a message; that is what these are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::{
    example_bin_named, fixture_json, free_port, http, Emulator, HttpResponse, LambdaHttp, Proc,
};
use serde_json::{json, Map, Value};

const NAME: &str = "middleware-showcase";

const APP_ORIGIN: &str = "https://app.example.com";
const ORG_ORIGIN: &str = "https://api.example.org";

/// `SecurityHeaders::default()`, on every HTTP response.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
];

const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
const ALLOW_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";
const ALLOW_HEADERS: &str = "content-type, authorization";

/// How long (at most) to wait for a log line: a bound, never a timing assertion.
const LOG_POLL_TRIES: u32 = 1200;
const LOG_POLL_EVERY: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------------------------
// Requests and responses, whatever the way in
// ---------------------------------------------------------------------------------------------

/// One request, as the client means it.
#[derive(Clone, Copy)]
struct Req<'a> {
    method: &'a str,
    path: &'a str,
    /// Without the `?`; empty for none.
    query: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: &'a [u8],
}

impl<'a> Req<'a> {
    fn new(method: &'a str, path: &'a str) -> Req<'a> {
        Req {
            method,
            path,
            query: "",
            headers: &[],
            body: b"",
        }
    }

    fn get(path: &'a str) -> Req<'a> {
        Req::new("GET", path)
    }

    fn query(mut self, query: &'a str) -> Req<'a> {
        self.query = query;
        self
    }

    fn headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Req<'a> {
        self.headers = headers;
        self
    }

    fn body(mut self, body: &'a [u8]) -> Req<'a> {
        self.body = body;
        self
    }

    /// `path?query`, as an HTTP request target.
    fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.to_owned()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

/// A response, normalised across the ways in.
struct Reply {
    via: String,
    status: u16,
    /// Lower-cased names, every value received.
    headers: BTreeMap<String, Vec<String>>,
    body: String,
    /// Everything the client received (status line and headers, or the Lambda response JSON),
    /// to check that a secret appears nowhere.
    raw: String,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] status {}\nheaders {:#?}\nbody {:?}",
            self.via, self.status, self.headers, self.body
        )
    }
}

impl Reply {
    fn from_http(via: &str, r: &HttpResponse) -> Reply {
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &r.headers {
            headers
                .entry(k.to_ascii_lowercase())
                .or_default()
                .push(v.clone());
        }
        let raw = format!("{r:?}");
        Reply {
            via: via.to_owned(),
            status: r.status,
            headers,
            body: r.text(),
            raw,
        }
    }

    fn from_lambda(via: &str, r: LambdaHttp, raw: String) -> Reply {
        Reply {
            via: via.to_owned(),
            status: r.status,
            headers: r.headers,
            body: r.body,
            raw,
        }
    }

    /// The value of a single-valued header; fails when it was sent more than once with
    /// different values.
    fn header(&self, name: &str) -> Option<&str> {
        let values = self.headers.get(&name.to_ascii_lowercase())?;
        assert!(
            values.iter().all(|v| v == &values[0]),
            "header {name} sent with several values {values:?}\n{self:?}"
        );
        values.first().map(String::as_str)
    }

    /// Every comma-separated element of every value of a list header (`Vary`).
    fn list(&self, name: &str) -> Vec<String> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .into_iter()
            .flatten()
            .flat_map(|v| v.split(','))
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e})\n{self:?}"))
    }

    fn assert_status(&self, status: u16) {
        assert_eq!(self.status, status, "status\n{self:?}");
    }

    fn assert_header(&self, name: &str, value: &str) {
        assert_eq!(self.header(name), Some(value), "header {name}\n{self:?}");
    }

    fn assert_no_header(&self, name: &str) {
        assert_eq!(
            self.header(name),
            None,
            "header {name} must be absent\n{self:?}"
        );
    }

    fn assert_json_body(&self, body: &str) {
        self.assert_header("content-type", "application/json");
        assert_eq!(self.body, body, "body\n{self:?}");
    }

    fn assert_security_headers(&self) {
        for (name, value) in SECURITY_HEADERS {
            self.assert_header(name, value);
        }
    }

    /// No `Access-Control-*` header at all.
    fn assert_no_cors_headers(&self) {
        let cors: Vec<&String> = self
            .headers
            .keys()
            .filter(|k| k.starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "CORS headers {cors:?}\n{self:?}");
    }

    /// The CORS headers of an actual (not preflight) response for an allowed `origin`.
    fn assert_cors_allowed(&self, origin: &str) {
        self.assert_header("access-control-allow-origin", origin);
        self.assert_header("access-control-allow-credentials", "true");
        self.assert_header("access-control-expose-headers", "x-request-id");
        // Preflight-only headers stay off actual responses.
        self.assert_no_header("access-control-allow-methods");
        self.assert_no_header("access-control-allow-headers");
        self.assert_no_header("access-control-max-age");
        assert!(
            self.list("vary").iter().any(|v| v == "Origin"),
            "Vary must contain Origin\n{self:?}"
        );
    }

    /// The one JSON error body, exactly.
    fn assert_error(&self, status: u16, code: &str, message: &str, request_id: &str) {
        self.assert_status(status);
        let want = json!({"error": {"code": code, "message": message, "request_id": request_id}});
        self.assert_json_body(&want.to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// The ways in
// ---------------------------------------------------------------------------------------------

trait Target {
    /// Which way in, for messages and per-way values.
    fn via(&self) -> &'static str;

    fn send(&mut self, req: Req<'_>) -> Reply;

    /// The request id the platform (Runtime API or dev server) gave the last request sent.
    fn platform_request_id(&mut self) -> String;

    /// The function's output lines so far: stdout, then stderr.
    fn output_lines(&self) -> Vec<String>;

    /// Everything printed so far, for failure messages.
    fn output(&self) -> String;

    /// Fails the test if the function (or the emulator) has exited.
    fn assert_running(&mut self);
}

/// Waits (bounded) for a JSON log line (stdout or stderr) matching `pred`, and returns it.
fn wait_for_log(t: &mut dyn Target, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..LOG_POLL_TRIES {
        let found = t
            .output_lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| pred(v));
        if let Some(line) = found {
            return line;
        }
        t.assert_running();
        thread::sleep(LOG_POLL_EVERY);
    }
    panic!(
        "[{}] the function never logged {what}\n{}",
        t.via(),
        t.output()
    );
}

/// The function's access-log line for the request whose (final) request id is `id`.
fn access_line(t: &mut dyn Target, id: &str) -> Value {
    wait_for_log(t, &format!("an access-log line for {id}"), |v| {
        v["message"] == "request" && v["request_id"] == id
    })
}

/// The built example as the local dev server; killed on drop.
struct DevServer {
    port: u16,
    proc: Proc,
    json_logs: bool,
    /// Requests sent so far (each writes one access-log line).
    sent: usize,
}

impl DevServer {
    fn start(json_logs: bool) -> DevServer {
        let port = free_port();
        let mut cmd = Command::new(example_bin_named(NAME));
        // Outside Lambda, whatever the caller's shell has; only the log format is chosen here.
        for var in [
            "AWS_LAMBDA_RUNTIME_API",
            "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_LOG_LEVEL",
            "POWERTOOLS_LOG_LEVEL",
            "POWERTOOLS_LOGGER_SAMPLE_RATE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("LIFT_PORT", port.to_string())
            .env("LIFT_LOG_FORMAT", if json_logs { "json" } else { "pretty" });
        let mut proc = Proc::spawn(&format!("{NAME} (dev server)"), cmd);
        let url = format!("http://127.0.0.1:{port}");
        proc.wait_for_stdout(&format!("a line containing {url}"), |l| l.contains(&url));
        proc.wait_for_port(port);
        DevServer {
            port,
            proc,
            json_logs,
            sent: 0,
        }
    }
}

impl Target for DevServer {
    fn via(&self) -> &'static str {
        "dev"
    }

    fn send(&mut self, req: Req<'_>) -> Reply {
        let resp = http(self.port, req.method, &req.target(), req.headers, req.body);
        self.sent += 1;
        self.proc.assert_running();
        Reply::from_http("dev server", &resp)
    }

    fn platform_request_id(&mut self) -> String {
        assert!(
            self.json_logs,
            "the dev server's ids are read from JSON logs"
        );
        let n = self.sent;
        let is_access =
            |l: &String| serde_json::from_str::<Value>(l).is_ok_and(|v| v["message"] == "request");
        let lines = self
            .proc
            .wait_for_stdout_lines(&format!("{n} access-log lines"), |lines| {
                lines.iter().filter(|l| is_access(l)).count() >= n
            });
        let line: Value = lines
            .iter()
            .filter(|l| is_access(l))
            .nth(n - 1)
            .map(|l| serde_json::from_str(l).unwrap())
            .unwrap();
        line["function_request_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no function_request_id in {line}"))
            .to_owned()
    }

    fn output_lines(&self) -> Vec<String> {
        let mut lines = self.proc.stdout_lines();
        lines.extend(self.proc.stderr_lines());
        lines
    }

    fn output(&self) -> String {
        self.proc.output()
    }

    fn assert_running(&mut self) {
        self.proc.assert_running();
    }
}

/// How a request reaches the function under the emulator.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// `/lambda-url/<function>/...` over HTTP (the emulator builds an HTTP API v2 event).
    Url,
    /// An API Gateway REST (v1) event, with `cargo lambda invoke --data-file`.
    V1,
    /// An HTTP API (v2) event, with `cargo lambda invoke --data-file`.
    V2,
}

const ALL_VIAS: [Via; 3] = [Via::Url, Via::V1, Via::V2];

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lift-e2e-{NAME}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The example under the emulator, with a directory for the events it is sent.
struct Lambda {
    emu: Emulator,
    events: TempDir,
    /// Invocations so far, the warm-up included.
    invocations: usize,
}

impl Lambda {
    fn start() -> Lambda {
        // Without the emulator's own permissive CORS layer, so the function's CORS answers
        // reach the client as they would through a function URL with no CORS configuration.
        let emu = Emulator::start_function_with_args(NAME, &[], &["--disable-cors"]);
        Lambda {
            emu,
            events: TempDir::new(),
            // `start_function`'s warm-up (hello-v2.json) was the first.
            invocations: 1,
        }
    }

    fn via(&mut self, via: Via) -> OnLambda<'_> {
        OnLambda { lambda: self, via }
    }
}

/// The example under the emulator, reached one way.
struct OnLambda<'a> {
    lambda: &'a mut Lambda,
    via: Via,
}

/// Replaces (case-insensitively) or adds a header in a `headers` object.
fn set_header(headers: &mut Map<String, Value>, name: &str, value: Value) {
    headers.retain(|k, _| !k.eq_ignore_ascii_case(name));
    headers.insert(name.to_owned(), value);
}

/// `a=1&b=2` as `{"a":"1","b":"2"}` (no encoding needed for the queries used here).
fn query_map(query: &str, multi: bool) -> Value {
    let mut map = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = if multi { json!([v]) } else { json!(v) };
        map.insert(k.to_owned(), v);
    }
    Value::Object(map)
}

fn body_value(body: &[u8]) -> Value {
    if body.is_empty() {
        Value::Null
    } else {
        Value::String(String::from_utf8(body.to_vec()).expect("test bodies are UTF-8"))
    }
}

/// hello-v1.json with the request replaced.
fn v1_event(req: Req<'_>) -> Value {
    let mut e = fixture_json("hello-v1.json");
    e["httpMethod"] = json!(req.method);
    e["path"] = json!(req.path);
    e["resource"] = json!(req.path);
    e["requestContext"]["httpMethod"] = json!(req.method);
    e["requestContext"]["resourcePath"] = json!(req.path);
    e["requestContext"]["path"] = json!(format!("/Prod{}", req.path));
    for (name, value) in req.headers {
        set_header(e["headers"].as_object_mut().unwrap(), name, json!(value));
        set_header(
            e["multiValueHeaders"].as_object_mut().unwrap(),
            name,
            json!([value]),
        );
    }
    if req.query.is_empty() {
        e["queryStringParameters"] = Value::Null;
        e["multiValueQueryStringParameters"] = Value::Null;
    } else {
        e["queryStringParameters"] = query_map(req.query, false);
        e["multiValueQueryStringParameters"] = query_map(req.query, true);
    }
    e["body"] = body_value(req.body);
    e["isBase64Encoded"] = json!(false);
    e
}

/// hello-v2.json with the request replaced.
fn v2_event(req: Req<'_>) -> Value {
    let mut e = fixture_json("hello-v2.json");
    e["rawPath"] = json!(req.path);
    e["rawQueryString"] = json!(req.query);
    e["requestContext"]["http"]["method"] = json!(req.method);
    e["requestContext"]["http"]["path"] = json!(req.path);
    for (name, value) in req.headers {
        set_header(
            e["headers"].as_object_mut().unwrap(),
            &name.to_ascii_lowercase(),
            json!(value),
        );
    }
    let root = e.as_object_mut().unwrap();
    if req.query.is_empty() {
        root.remove("queryStringParameters");
    } else {
        root.insert(
            "queryStringParameters".to_owned(),
            query_map(req.query, false),
        );
    }
    e["body"] = body_value(req.body);
    e["isBase64Encoded"] = json!(false);
    e
}

impl OnLambda<'_> {
    /// Writes the event, invokes it with `cargo lambda invoke --data-file`, and checks the
    /// response has the source's shape.
    fn invoke(&mut self, req: Req<'_>) -> Reply {
        let (event, via) = match self.via {
            Via::V1 => (v1_event(req), "API Gateway v1 event"),
            Via::V2 => (v2_event(req), "HTTP API v2 event"),
            Via::Url => unreachable!("function-URL requests go over HTTP"),
        };
        let path = self
            .lambda
            .events
            .0
            .join(format!("event-{}.json", self.lambda.invocations));
        std::fs::write(&path, serde_json::to_vec_pretty(&event).unwrap())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        let out = self.lambda.emu.invoke_path(&path);
        assert!(
            out.status.success(),
            "cargo lambda invoke {} {} ({via}) failed ({})\nstdout: {}\nstderr: {}\n{}",
            req.method,
            req.target(),
            out.status,
            out.stdout,
            out.stderr,
            self.lambda.emu.output()
        );
        let raw: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "cargo lambda invoke printed no JSON ({e})\nstdout: {}\nstderr: {}",
                out.stdout, out.stderr
            )
        });
        match self.via {
            Via::V1 => assert!(
                raw["multiValueHeaders"].is_object(),
                "a v1 response has multiValueHeaders: {raw}"
            ),
            _ => {
                assert!(
                    raw.get("multiValueHeaders").is_none(),
                    "a v2 response has no multiValueHeaders: {raw}"
                );
                assert!(
                    raw["cookies"].is_array(),
                    "a v2 response has a cookies array: {raw}"
                );
            }
        }
        Reply::from_lambda(via, LambdaHttp::parse(&raw), out.stdout)
    }
}

impl Target for OnLambda<'_> {
    fn via(&self) -> &'static str {
        match self.via {
            Via::Url => "url",
            Via::V1 => "v1",
            Via::V2 => "v2",
        }
    }

    fn send(&mut self, req: Req<'_>) -> Reply {
        let reply = match self.via {
            Via::Url => {
                let resp = self
                    .lambda
                    .emu
                    .url(req.method, &req.target(), req.headers, req.body);
                Reply::from_http("function URL", &resp)
            }
            Via::V1 | Via::V2 => self.invoke(req),
        };
        self.lambda.invocations += 1;
        self.lambda.emu.assert_running();
        reply
    }

    fn platform_request_id(&mut self) -> String {
        let n = self.lambda.invocations;
        let ids = self.lambda.emu.wait_for_request_ids(n);
        assert_eq!(
            ids.len(),
            n,
            "one event per invocation: {ids:?}\n{}",
            self.lambda.emu.output()
        );
        ids[n - 1].clone()
    }

    fn output_lines(&self) -> Vec<String> {
        let mut lines = self.lambda.emu.function_stdout();
        lines.extend(self.lambda.emu.function_stderr());
        lines
    }

    fn output(&self) -> String {
        self.lambda.emu.output()
    }

    fn assert_running(&mut self) {
        self.lambda.emu.assert_running();
    }
}

/// Runs `scenario` on each way into the emulated Lambda, one emulator for all three.
fn on_lambda(scenario: fn(&mut dyn Target)) {
    let mut lambda = Lambda::start();
    for via in ALL_VIAS {
        scenario(&mut lambda.via(via));
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// `GET /hello`: the body, the request id (the client's when well-formed, else the platform's),
/// the security headers, and `Vary: Origin` without any CORS header when no `Origin` was sent.
fn hello(t: &mut dyn Target) {
    let res = t.send(Req::get("/hello").headers(&[("x-request-id", "client-1")]));
    res.assert_status(200);
    res.assert_json_body(r#"{"message":"hello"}"#);
    res.assert_header("x-request-id", "client-1");
    res.assert_security_headers();
    res.assert_no_cors_headers();
    assert_eq!(res.list("vary"), ["Origin"], "{res:?}");

    // No id from the client: the platform's.
    let res = t.send(Req::get("/hello"));
    res.assert_status(200);
    let id = t.platform_request_id();
    res.assert_header("x-request-id", &id);

    // Too long (200 > 128 characters): replaced by the platform's id.
    let long = "a".repeat(200);
    let res = t.send(Req::get("/hello").headers(&[("x-request-id", &long)]));
    res.assert_status(200);
    res.assert_json_body(r#"{"message":"hello"}"#);
    let id = t.platform_request_id();
    assert_ne!(id, long);
    res.assert_header("x-request-id", &id);
    res.assert_security_headers();

    // The longest accepted id (128 characters) is kept.
    let longest = "b".repeat(128);
    let res = t.send(Req::get("/hello").headers(&[("x-request-id", &longest)]));
    res.assert_status(200);
    res.assert_header("x-request-id", &longest);
}

/// Preflights, actual requests and errors, from allowed and other origins.
fn cors(t: &mut dyn Target) {
    // Preflight from the exact origin, and from a sub-domain of the wildcard one.
    for origin in [APP_ORIGIN, ORG_ORIGIN] {
        let res = t.send(
            Req::new("OPTIONS", "/hello")
                .headers(&[("Origin", origin), ("Access-Control-Request-Method", "GET")]),
        );
        res.assert_status(204);
        assert_eq!(res.body, "", "a preflight answer has no body\n{res:?}");
        res.assert_header("access-control-allow-origin", origin);
        res.assert_header("access-control-allow-credentials", "true");
        res.assert_header("access-control-allow-methods", ALLOW_METHODS);
        res.assert_header("access-control-allow-headers", ALLOW_HEADERS);
        res.assert_header("access-control-max-age", "600");
        res.assert_header("vary", PREFLIGHT_VARY);
        res.assert_security_headers();
        let id = t.platform_request_id();
        res.assert_header("x-request-id", &id);
    }

    // Preflight from origins that are not allowed: 204 with no CORS header.
    for origin in ["https://evil.example.com", "https://example.org"] {
        let res = t.send(
            Req::new("OPTIONS", "/hello")
                .headers(&[("Origin", origin), ("Access-Control-Request-Method", "GET")]),
        );
        res.assert_status(204);
        res.assert_no_cors_headers();
        res.assert_header("vary", PREFLIGHT_VARY);
        res.assert_security_headers();
    }

    // An actual request from the allowed origin.
    let res = t.send(Req::get("/hello").headers(&[("Origin", APP_ORIGIN)]));
    res.assert_status(200);
    res.assert_json_body(r#"{"message":"hello"}"#);
    res.assert_cors_allowed(APP_ORIGIN);
    res.assert_security_headers();

    // From another origin: the handler runs, nothing lets the browser read it.
    let res = t.send(Req::get("/hello").headers(&[("Origin", "https://evil.example.com")]));
    res.assert_status(200);
    res.assert_json_body(r#"{"message":"hello"}"#);
    res.assert_no_cors_headers();
    assert_eq!(res.list("vary"), ["Origin"], "{res:?}");

    // An error (404) from the allowed origin carries the CORS and security headers.
    let res = t.send(Req::get("/nope").headers(&[("Origin", APP_ORIGIN)]));
    let id = t.platform_request_id();
    res.assert_error(404, "not_found", "no route matches this path", &id);
    res.assert_header("x-request-id", &id);
    res.assert_cors_allowed(APP_ORIGIN);
    res.assert_security_headers();
}

/// A panicking handler: a 500 with the usual body, logged, and the process keeps serving.
fn panic_recovers(t: &mut dyn Target) {
    let res = t.send(Req::get("/panic"));
    let id = t.platform_request_id();
    res.assert_error(500, "internal", "internal server error", &id);
    res.assert_header("x-request-id", &id);
    res.assert_security_headers();
    assert!(
        !res.raw.contains("index out of bounds"),
        "the panic message reached the client\n{res:?}"
    );
    let line = wait_for_log(t, "the `panic recovered` line", |v| {
        v["message"] == "panic recovered" && v["request_id"] == id.as_str()
    });
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(
        line["panic"], "index out of bounds: the len is 0 but the index is 0",
        "{line}"
    );

    // The same process answers the next request.
    t.assert_running();
    let res = t.send(Req::get("/hello"));
    res.assert_status(200);
    res.assert_json_body(r#"{"message":"hello"}"#);
    t.assert_running();
}

/// Under the 1 s limit: the handler's answer.
fn slow_under_the_limit(t: &mut dyn Target) {
    let res = t.send(Req::get("/slow").query("ms=100"));
    res.assert_status(200);
    res.assert_json_body(r#"{"slept_ms":100}"#);
    res.assert_security_headers();
    let id = t.platform_request_id();
    res.assert_header("x-request-id", &id);
    let line = access_line(t, &id);
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["query"], json!({"ms": "100"}), "{line}");
}

/// Over the 1 s limit: the handler is cancelled and the client gets 504 `timeout`.
fn timeout_answers_504(t: &mut dyn Target) {
    let res = t.send(Req::get("/slow").query("ms=3000"));
    let id = t.platform_request_id();
    res.assert_error(504, "timeout", "the request did not complete in time", &id);
    res.assert_header("x-request-id", &id);
    res.assert_security_headers();
    let line = access_line(t, &id);
    assert_eq!(line["status"], 504, "{line}");
    assert_eq!(line["level"], "ERROR", "{line}");

    // Still serving.
    let res = t.send(Req::get("/hello"));
    res.assert_status(200);
}

/// An internal error: a generic 500 for the client, the cause (with the password) in the log.
fn fail_hides_cause(t: &mut dyn Target) {
    let res = t.send(Req::get("/fail"));
    let id = t.platform_request_id();
    res.assert_error(500, "internal", "internal server error", &id);
    res.assert_security_headers();
    assert!(
        !res.raw.contains("hunter2") && !res.raw.contains("password"),
        "the error's cause reached the client\n{res:?}\nraw: {}",
        res.raw
    );
    let line = wait_for_log(t, "the `request failed` line with the cause", |v| {
        v["message"] == "request failed" && v["request_id"] == id.as_str()
    });
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(line["status"], 500, "{line}");
    assert_eq!(line["code"], "internal", "{line}");
    let error = line["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("connection refused: db password=hunter2"),
        "the cause is logged: {line}"
    );
}

/// `POST /echo`: JSON back; another content type 415; malformed JSON 400.
fn echo(t: &mut dyn Target) {
    let body = r#"{"a":[1,2],"b":{"c":"d"},"n":null}"#;
    let res = t.send(
        Req::new("POST", "/echo")
            .headers(&[("content-type", "application/json")])
            .body(body.as_bytes()),
    );
    res.assert_status(200);
    res.assert_header("content-type", "application/json");
    assert_eq!(
        res.json(),
        serde_json::from_str::<Value>(body).unwrap(),
        "{res:?}"
    );

    let res = t.send(
        Req::new("POST", "/echo")
            .headers(&[("content-type", "text/plain")])
            .body(br#"{"a":1}"#),
    );
    let id = t.platform_request_id();
    res.assert_error(
        415,
        "unsupported_media_type",
        "expected content-type application/json",
        &id,
    );
    res.assert_security_headers();

    let res = t.send(
        Req::new("POST", "/echo")
            .headers(&[("content-type", "application/json")])
            .body(br#"{"a":"#),
    );
    let id = t.platform_request_id();
    res.assert_error(400, "bad_request", "request body is not valid JSON", &id);
    res.assert_security_headers();
}

/// The access-log line: route, status, latency, request id; never the Authorization value.
fn access_log(t: &mut dyn Target) {
    let id = format!("access-{}", t.via());
    let res = t.send(Req::get("/hello").query("q=1").headers(&[
        ("x-request-id", &id),
        ("Authorization", "Bearer secret-token"),
    ]));
    res.assert_status(200);
    res.assert_header("x-request-id", &id);
    let platform_id = t.platform_request_id();

    let line = access_line(t, &id);
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["route"], "/hello", "{line}");
    assert_eq!(line["path"], "/hello", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["request_id"], id.as_str(), "{line}");
    assert_eq!(line["function_request_id"], platform_id.as_str(), "{line}");
    assert_eq!(line["query"], json!({"q": "1"}), "{line}");
    assert!(
        line["latency_ms"].as_f64().is_some_and(|l| l >= 0.0),
        "latency_ms is a non-negative number: {line}"
    );
    for key in ["authorization", "Authorization", "headers"] {
        assert!(line.get(key).is_none(), "{key} in the access log: {line}");
    }

    // A 404 is logged with no route.
    let res = t.send(Req::get("/nope").headers(&[("Authorization", "Bearer secret-token")]));
    res.assert_status(404);
    let platform_id = t.platform_request_id();
    let line = access_line(t, &platform_id);
    assert_eq!(line["route"], Value::Null, "{line}");
    assert_eq!(line["path"], "/nope", "{line}");
    assert_eq!(line["status"], 404, "{line}");

    let output = t.output_lines().join("\n");
    assert!(
        !output.contains("secret-token"),
        "the Authorization value reached the log\n{output}"
    );
    // In JSON mode every line the function prints is one JSON object.
    for l in t.output_lines() {
        if l.starts_with("lift: serving on ") {
            continue;
        }
        assert!(
            serde_json::from_str::<Value>(&l).is_ok_and(|v| v.is_object()),
            "[{}] a log line is not a JSON object: {l}",
            t.via()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The tests: the dev server
// ---------------------------------------------------------------------------------------------

#[test]
fn dev_hello_request_id_and_security_headers() {
    hello(&mut DevServer::start(true));
}

#[test]
fn dev_cors() {
    cors(&mut DevServer::start(true));
}

#[test]
fn dev_panic_is_recovered() {
    panic_recovers(&mut DevServer::start(true));
}

#[test]
fn dev_slow_and_timeout() {
    let mut dev = DevServer::start(true);
    slow_under_the_limit(&mut dev);
    timeout_answers_504(&mut dev);
}

#[test]
fn dev_internal_error_hides_its_cause() {
    fail_hides_cause(&mut DevServer::start(true));
}

#[test]
fn dev_echo_json() {
    echo(&mut DevServer::start(true));
}

#[test]
fn dev_access_log() {
    access_log(&mut DevServer::start(true));
}

/// The human-readable format keeps the same secrets out and the same causes in.
#[test]
fn dev_pretty_logs_keep_secrets_out() {
    let mut dev = DevServer::start(false);
    let res = dev.send(Req::get("/hello").headers(&[("Authorization", "Bearer secret-token")]));
    res.assert_status(200);
    let res = dev.send(Req::get("/fail"));
    res.assert_status(500);
    assert!(!res.raw.contains("hunter2"), "{res:?}");
    let mut found = false;
    for _ in 0..LOG_POLL_TRIES {
        if dev.output_lines().iter().any(|l| l.contains("hunter2")) {
            found = true;
            break;
        }
        dev.assert_running();
        thread::sleep(LOG_POLL_EVERY);
    }
    let output = dev.output();
    assert!(found, "the cause never reached the log\n{output}");
    assert!(
        !output.contains("secret-token"),
        "the Authorization value reached the log\n{output}"
    );
    assert!(
        dev.output_lines()
            .iter()
            .any(|l| l.contains(" request ") && l.contains(" route=/hello ")),
        "a pretty access-log line for /hello\n{output}"
    );
}

// ---------------------------------------------------------------------------------------------
// The tests: the Lambda Runtime API (cargo lambda watch)
// ---------------------------------------------------------------------------------------------

#[test]
fn lambda_hello_request_id_and_security_headers() {
    on_lambda(hello);
}

#[test]
fn lambda_cors() {
    on_lambda(cors);
}

#[test]
fn lambda_panic_is_recovered() {
    on_lambda(panic_recovers);
}

/// cargo-lambda 1.9.2's Runtime API hands every event out with `Lambda-Runtime-Deadline-Ms:
/// 600000` (a duration, where the Runtime API specifies epoch milliseconds). Lift reads a
/// deadline that small as a duration, so `Timeout` still gives the handler its 1 s here.
#[test]
fn lambda_slow_under_the_limit() {
    on_lambda(slow_under_the_limit);
}

#[test]
fn lambda_timeout_answers_504() {
    on_lambda(timeout_answers_504);
}

#[test]
fn lambda_internal_error_hides_its_cause() {
    on_lambda(fail_hides_cause);
}

#[test]
fn lambda_echo_json() {
    on_lambda(echo);
}

#[test]
fn lambda_access_log() {
    on_lambda(access_log);
}
