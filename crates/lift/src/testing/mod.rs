//! Test an [`App`](crate::App) in-process: build events of every source, invoke the app
//! through the whole corridor, and read the response back parsed.
//!
//! [`TestRequest`] builds HTTP events with the encoders in `events/` (the ones the dev server
//! uses too). The other sources have a builder each, giving the event in exactly the shape AWS
//! sends it, with deterministic defaults (ids numbered from 1, region `us-east-1`, account
//! `123456789012`, 2024-05-01T12:00:00Z) and a setter for every value a handler can read:
//! [`TestSqs`] (standard and FIFO queues) with [`TestSqsMessage`], [`TestSns`] with
//! [`TestSnsMessage`], [`TestS3`] with [`TestS3Record`], [`TestEventBridge`], [`TestSchedule`],
//! [`TestDynamoDb`] with [`TestDynamoDbRecord`], [`TestKinesis`] with [`TestKinesisRecord`], and
//! [`TestWebSocket`]. [`invoke`] runs an event and [`TestResponse`] reads the reply, including
//! a batch's failed records ([`TestResponse::failed_ids`]).
//!
//! ```
//! use lift::{testing::{invoke, TestRequest}, App, Context};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let app = App::new()
//!     .get("/hello", |ctx: Context| async move {
//!         format!("Hello, {}!", ctx.request().query("name").unwrap_or("World"))
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
use serde_json::Value;

use crate::corridor::AppService;
use crate::events::encode::HttpParts;
use crate::events::{alb, apigw_v1, apigw_v2};
pub use crate::observability::MemoryExporter;
use crate::wire::InvokeError;
use crate::wire::LambdaContext;

mod defaults;
mod dynamodb;
mod eventbridge;
mod kinesis;
mod s3;
mod sns;
mod sqs;
mod websocket;

pub use dynamodb::{TestDynamoDb, TestDynamoDbRecord};
pub use eventbridge::{TestEventBridge, TestSchedule};
pub use kinesis::{TestKinesis, TestKinesisRecord};
pub use s3::{TestS3, TestS3Record};
pub use sns::{TestSns, TestSnsMessage};
pub use sqs::{TestSqs, TestSqsMessage};
pub use websocket::TestWebSocket;

/// An HTTP request to turn into an event of any HTTP source.
#[derive(Debug, Clone)]
pub struct TestRequest {
    parts: HttpParts,
}

impl TestRequest {
    /// A request; `path` is the target as a client sends it and may carry a query string
    /// (`/hello?name=Ada`). Each event shape then holds it as its source would: percent-encoded
    /// as given, except an HTTP API's `rawPath`, which the HTTP API decodes ([`v2`](Self::v2)).
    pub fn new(method: Method, path: &str) -> Self {
        TestRequest {
            parts: HttpParts::new(method, path, defaults::SOURCE_IP.to_owned()),
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
        self.parts.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Add a query parameter (percent-encoded as given).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.parts.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Add a cookie.
    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        self.parts.cookies.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Set the body; bytes that are not UTF-8 are sent base64-encoded.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.parts.body = Some(body.into());
        self
    }

    /// Set a JSON body and `content-type: application/json`.
    pub fn json<T: Serialize>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_default();
        self.header("content-type", "application/json").body(body)
    }

    /// The client IP the source reports.
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.parts.source_ip = ip.to_owned();
        self
    }

    /// The API Gateway stage (v1: `requestContext.stage`; v2: also prefixed to `rawPath`).
    pub fn stage(mut self, stage: &str) -> Self {
        self.parts.stage = stage.to_owned();
        self
    }

    /// An API Gateway REST API (payload 1.0) event.
    pub fn v1(&self) -> Vec<u8> {
        apigw_v1::encode(&self.parts)
    }

    /// An API Gateway HTTP API (payload 2.0) event. Its `rawPath` is the path decoded, as the
    /// HTTP API writes it: `/users/a%20b` arrives as `/users/a b`, and `/users/a%2Fb` as
    /// `/users/a/b`, which no longer matches `/users/{id}`.
    pub fn v2(&self) -> Vec<u8> {
        apigw_v2::encode(&self.parts, apigw_v2::HTTP_API_DOMAIN)
    }

    /// A Lambda Function URL event (payload 2.0 on a `lambda-url` domain).
    pub fn function_url(&self) -> Vec<u8> {
        apigw_v2::encode(&self.parts, apigw_v2::FUNCTION_URL_DOMAIN)
    }

    /// An ALB event with single-value headers and query parameters.
    pub fn alb(&self) -> Vec<u8> {
        alb::encode(&self.parts, false)
    }

    /// An ALB event from a target group with multi-value headers on.
    pub fn alb_multi(&self) -> Vec<u8> {
        alb::encode(&self.parts, true)
    }
}

/// A Lambda context for a test invocation: a fresh request id and a 30 s deadline.
pub fn lambda_context() -> LambdaContext {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    LambdaContext::local(defaults::uuid(n), Duration::from_secs(30))
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

    /// The records a batch reply asks Lambda to retry: the `itemIdentifier`s of
    /// `batchItemFailures` (message ids for SQS, sequence numbers for DynamoDB and Kinesis), in
    /// order. Empty for any other reply, `null` included (a batch handled without partial
    /// batch responses).
    pub fn failed_ids(&self) -> Vec<&str> {
        self.raw["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect()
    }
}
