//! Test an [`App`](crate::App) in-process: build events of every HTTP source, invoke the app
//! through the whole corridor, and read the response back parsed.
//!
//! ```
//! use lift::{testing::{invoke, TestRequest}, App, Context};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let app = App::new()
//!     .get("/hello", |ctx: Context| async move {
//!         format!("Hello, {}!", ctx.query("name").unwrap_or("World"))
//!     })
//!     .build()
//!     .unwrap();
//!
//! let res = invoke(&app, TestRequest::get("/hello?name=Ada").v2()).await.unwrap();
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.text(), "Hello, Ada!");
//!
//! // The same request as API Gateway REST, ALB and Function URL events:
//! for event in [TestRequest::get("/hello").v1(), TestRequest::get("/hello").alb()] {
//!     assert_eq!(invoke(&app, event).await.unwrap().text(), "Hello, World!");
//! }
//! # });
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::context::LambdaContext;
pub use crate::observability::MemoryExporter;
use crate::service::{AppService, InvokeError};

/// An HTTP request to turn into an event of any HTTP source.
#[derive(Debug, Clone)]
pub struct TestRequest {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    source_ip: String,
    stage: String,
}

impl TestRequest {
    /// A request; `path` may carry a query string (`/hello?name=Ada`), kept percent-encoded.
    pub fn new(method: Method, path: &str) -> Self {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        TestRequest {
            method,
            path: path.to_owned(),
            query,
            headers: Vec::new(),
            cookies: Vec::new(),
            body: None,
            source_ip: "203.0.113.7".to_owned(),
            stage: String::new(),
        }
    }

    /// `GET path`
    pub fn get(path: &str) -> Self {
        Self::new(Method::GET, path)
    }

    /// `POST path`
    pub fn post(path: &str) -> Self {
        Self::new(Method::POST, path)
    }

    /// `PUT path`
    pub fn put(path: &str) -> Self {
        Self::new(Method::PUT, path)
    }

    /// `PATCH path`
    pub fn patch(path: &str) -> Self {
        Self::new(Method::PATCH, path)
    }

    /// `DELETE path`
    pub fn delete(path: &str) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// `HEAD path`
    pub fn head(path: &str) -> Self {
        Self::new(Method::HEAD, path)
    }

    /// `OPTIONS path`
    pub fn options(path: &str) -> Self {
        Self::new(Method::OPTIONS, path)
    }

    /// Add a header (names keep their case in v1 and ALB events; v2 lower-cases them, as API
    /// Gateway does). Repeat to send several values.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Add a query parameter (percent-encoded as given).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Add a cookie.
    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        self.cookies.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Set the body; bytes that are not UTF-8 are sent base64-encoded.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Set a JSON body and `content-type: application/json`.
    pub fn json<T: Serialize>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_default();
        self.header("content-type", "application/json").body(body)
    }

    /// The client IP the source reports.
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.to_owned();
        self
    }

    /// The API Gateway stage (v1: `requestContext.stage`; v2: also prefixed to `rawPath`).
    pub fn stage(mut self, stage: &str) -> Self {
        self.stage = stage.to_owned();
        self
    }

    fn raw_query(&self) -> String {
        self.query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn decoded_query(&self) -> Vec<(String, String)> {
        self.query
            .iter()
            .map(|(k, v)| (decode(k), decode(v)))
            .collect()
    }

    fn body_fields(&self, event: &mut Map<String, Value>) {
        match &self.body {
            None => {
                event.insert("body".into(), Value::Null);
                event.insert("isBase64Encoded".into(), Value::Bool(false));
            }
            Some(b) => {
                let (body, b64) = match std::str::from_utf8(b) {
                    Ok(s) => (s.to_owned(), false),
                    Err(_) => (base64::engine::general_purpose::STANDARD.encode(b), true),
                };
                event.insert("body".into(), Value::String(body));
                event.insert("isBase64Encoded".into(), Value::Bool(b64));
            }
        }
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn user_agent(&self) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "lift-test".to_owned())
    }

    /// An API Gateway REST API (payload 1.0) event.
    pub fn v1(&self) -> Vec<u8> {
        let mut headers = self.headers.clone();
        if let Some(c) = self.cookie_header() {
            headers.push(("Cookie".into(), c));
        }
        let query = self.decoded_query();
        let stage = if self.stage.is_empty() {
            "prod"
        } else {
            &self.stage
        };
        let mut event = Map::new();
        event.insert("resource".into(), json!(self.path));
        event.insert("path".into(), json!(self.path));
        event.insert("httpMethod".into(), json!(self.method.as_str()));
        event.insert("headers".into(), single(&headers));
        event.insert("multiValueHeaders".into(), multi(&headers));
        event.insert("queryStringParameters".into(), single_or_null(&query));
        event.insert(
            "multiValueQueryStringParameters".into(),
            multi_or_null(&query),
        );
        event.insert("pathParameters".into(), Value::Null);
        event.insert("stageVariables".into(), Value::Null);
        event.insert(
            "requestContext".into(),
            json!({
                "accountId": "123456789012",
                "apiId": "1234567890",
                "resourcePath": self.path,
                "httpMethod": self.method.as_str(),
                "path": format!("/{stage}{}", self.path),
                "stage": stage,
                "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                "requestTimeEpoch": 1428582896000u64,
                "protocol": "HTTP/1.1",
                "domainName": "1234567890.execute-api.us-east-1.amazonaws.com",
                "identity": { "sourceIp": self.source_ip, "userAgent": self.user_agent() }
            }),
        );
        self.body_fields(&mut event);
        to_vec(event)
    }

    /// An API Gateway HTTP API (payload 2.0) event.
    pub fn v2(&self) -> Vec<u8> {
        self.v2_on("1234567890.execute-api.us-east-1.amazonaws.com")
    }

    /// A Lambda Function URL event (payload 2.0 on a `lambda-url` domain).
    pub fn function_url(&self) -> Vec<u8> {
        self.v2_on("abcdefghijklmnop.lambda-url.us-east-1.on.aws")
    }

    fn v2_on(&self, domain: &str) -> Vec<u8> {
        let mut headers: Vec<(String, String)> = Vec::new();
        for (k, v) in &self.headers {
            let k = k.to_ascii_lowercase();
            match headers.iter_mut().find(|(x, _)| *x == k) {
                Some((_, existing)) => {
                    existing.push(',');
                    existing.push_str(v);
                }
                None => headers.push((k, v.clone())),
            }
        }
        let (stage, raw_path) = if self.stage.is_empty() {
            ("$default".to_owned(), self.path.clone())
        } else {
            (self.stage.clone(), format!("/{}{}", self.stage, self.path))
        };
        let mut query_params = Map::new();
        for (k, v) in self.decoded_query() {
            match query_params.get_mut(&k) {
                Some(Value::String(s)) => {
                    s.push(',');
                    s.push_str(&v);
                }
                _ => {
                    query_params.insert(k, Value::String(v));
                }
            }
        }
        let mut event = Map::new();
        event.insert("version".into(), json!("2.0"));
        event.insert("routeKey".into(), json!("$default"));
        event.insert("rawPath".into(), json!(raw_path));
        event.insert("rawQueryString".into(), json!(self.raw_query()));
        if !self.cookies.is_empty() {
            let cookies: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            event.insert("cookies".into(), json!(cookies));
        }
        event.insert("headers".into(), single(&headers));
        if !query_params.is_empty() {
            event.insert("queryStringParameters".into(), Value::Object(query_params));
        }
        event.insert(
            "requestContext".into(),
            json!({
                "accountId": "123456789012",
                "apiId": "1234567890",
                "domainName": domain,
                "domainPrefix": domain.split('.').next().unwrap_or(""),
                "http": {
                    "method": self.method.as_str(),
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip,
                    "userAgent": self.user_agent()
                },
                "requestId": "JKJaXmPLvHcESHA=",
                "routeKey": "$default",
                "stage": stage,
                "time": "10/Mar/2020:05:16:23 +0000",
                "timeEpoch": 1583817383220u64
            }),
        );
        self.body_fields(&mut event);
        to_vec(event)
    }

    /// An ALB event with single-value headers and query parameters.
    pub fn alb(&self) -> Vec<u8> {
        self.alb_event(false)
    }

    /// An ALB event from a target group with multi-value headers on.
    pub fn alb_multi(&self) -> Vec<u8> {
        self.alb_event(true)
    }

    fn alb_event(&self, multi_value: bool) -> Vec<u8> {
        let mut headers = self.headers.clone();
        if let Some(c) = self.cookie_header() {
            headers.push(("cookie".into(), c));
        }
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-for"))
        {
            headers.push(("x-forwarded-for".into(), self.source_ip.clone()));
        }
        // ALB forwards the query as the client sent it, still percent-encoded.
        let query = self.query.clone();
        let mut event = Map::new();
        event.insert(
            "requestContext".into(),
            json!({"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambda/abc"}}),
        );
        event.insert("httpMethod".into(), json!(self.method.as_str()));
        event.insert("path".into(), json!(self.path));
        if multi_value {
            event.insert("multiValueQueryStringParameters".into(), multi(&query));
            event.insert("multiValueHeaders".into(), multi(&headers));
        } else {
            event.insert("queryStringParameters".into(), single(&query));
            event.insert("headers".into(), single(&headers));
        }
        self.body_fields(&mut event);
        to_vec(event)
    }
}

/// A query component decoded the way the request view decodes it.
fn decode(s: &str) -> String {
    crate::http::request::decode(s.into(), true).to_string_owned()
}

/// Last value wins, as API Gateway's single-value maps do.
fn single(pairs: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    Value::Object(m)
}

fn multi(pairs: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Value::Array(a) = m
            .entry(k.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            a.push(Value::String(v.clone()));
        }
    }
    Value::Object(m)
}

fn single_or_null(pairs: &[(String, String)]) -> Value {
    if pairs.is_empty() {
        Value::Null
    } else {
        single(pairs)
    }
}

fn multi_or_null(pairs: &[(String, String)]) -> Value {
    if pairs.is_empty() {
        Value::Null
    } else {
        multi(pairs)
    }
}

fn to_vec(event: Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(&Value::Object(event)).unwrap_or_default()
}

/// A Lambda context for a test invocation: a fresh request id and a 30 s deadline.
pub fn lambda_context() -> LambdaContext {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    LambdaContext::local(
        format!("00000000-0000-4000-8000-{n:012x}"),
        Duration::from_secs(30),
    )
}

/// Invoke the app with an event (as the runtime would), run its after-response work, and
/// parse the reply.
pub async fn invoke(
    app: &AppService,
    event: impl Into<Bytes>,
) -> Result<TestResponse, InvokeError> {
    invoke_with(app, event, lambda_context()).await
}

/// [`invoke`] with a given Lambda context.
pub async fn invoke_with(
    app: &AppService,
    event: impl Into<Bytes>,
    lambda: LambdaContext,
) -> Result<TestResponse, InvokeError> {
    let reply = app.invoke(event.into(), lambda).await.finish().await?;
    let raw: Value = serde_json::from_slice(&reply.to_json()).unwrap_or(Value::Null);
    Ok(TestResponse::from_json(raw))
}

/// A reply parsed back from the source's shape.
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    raw: Value,
}

impl TestResponse {
    /// Parse a reply in any HTTP source's shape: `headers`, `multiValueHeaders` and `cookies`
    /// are merged into one header list (cookies as `set-cookie`); a base64 body is decoded.
    pub fn from_json(raw: Value) -> Self {
        let status = raw["statusCode"].as_u64().unwrap_or(0) as u16;
        let mut headers: Vec<(String, String)> = Vec::new();
        if let Some(Value::Object(m)) = raw.get("multiValueHeaders") {
            for (k, vs) in m {
                for v in vs.as_array().into_iter().flatten() {
                    headers.push((k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_owned()));
                }
            }
        }
        if let Some(Value::Object(m)) = raw.get("headers") {
            for (k, v) in m {
                let k = k.to_ascii_lowercase();
                if !headers.iter().any(|(x, _)| *x == k) {
                    headers.push((k, v.as_str().unwrap_or("").to_owned()));
                }
            }
        }
        if let Some(Value::Array(cookies)) = raw.get("cookies") {
            for c in cookies {
                headers.push(("set-cookie".into(), c.as_str().unwrap_or("").to_owned()));
            }
        }
        let body = raw["body"].as_str().unwrap_or("");
        let body = if raw["isBase64Encoded"].as_bool().unwrap_or(false) {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap_or_default()
        } else {
            body.as_bytes().to_vec()
        };
        TestResponse {
            status,
            headers,
            body,
            raw,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body bytes (base64-decoded).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The reply exactly as the runtime would post it.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}
