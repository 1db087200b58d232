//! The other direction from decoding: [`HttpParts`], a plain description of an HTTP request,
//! and the JSON building blocks the HTTP sources' encoders (`apigw_v1::encode`,
//! `apigw_v2::encode`, `alb::encode`) share to turn it into that source's event. The dev server
//! encodes each request it serves this way, [`TestRequest`](crate::testing::TestRequest)
//! builds its events with them, and [`TestWebSocket`](crate::testing::TestWebSocket) its
//! headers and body.

use base64::Engine as _;
use http::Method;
use serde_json::{Map, Value};

/// An HTTP request to encode as an event of any HTTP source.
#[derive(Debug, Clone)]
pub(crate) struct HttpParts {
    pub(crate) method: Method,
    pub(crate) path: String,
    /// Query pairs as sent, still percent-encoded.
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) cookies: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) source_ip: String,
    /// The API Gateway stage; empty for the source's default.
    pub(crate) stage: String,
}

impl HttpParts {
    /// A request with no headers, cookies or body; `target` may carry a query string
    /// (`/hello?name=Ada`), kept percent-encoded.
    pub(crate) fn new(method: Method, target: &str, source_ip: String) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        HttpParts {
            method,
            path: path.to_owned(),
            query,
            headers: Vec::new(),
            cookies: Vec::new(),
            body: None,
            source_ip,
            stage: String::new(),
        }
    }

    /// The query string as sent.
    pub(super) fn raw_query(&self) -> String {
        self.query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The query pairs decoded the way the request view decodes them.
    pub(super) fn decoded_query(&self) -> Vec<(String, String)> {
        self.query
            .iter()
            .map(|(k, v)| (decode(k), decode(v)))
            .collect()
    }

    /// The cookies as one `Cookie` header value, if there are any.
    pub(super) fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The `User-Agent` header, or `lift-test` when there is none.
    pub(super) fn user_agent(&self) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "lift-test".to_owned())
    }

    /// `body` and `isBase64Encoded`: text as is, bytes that are not UTF-8 in base64.
    pub(super) fn body_fields(&self, event: &mut Map<String, Value>) {
        match &self.body {
            None => {
                event.insert("body".into(), Value::Null);
                event.insert("isBase64Encoded".into(), Value::Bool(false));
            }
            Some(b) => {
                let (body, b64) = body_text(b);
                event.insert("body".into(), Value::String(body));
                event.insert("isBase64Encoded".into(), Value::Bool(b64));
            }
        }
    }
}

/// A body as an event carries it: text as is, bytes that are not UTF-8 in base64 (`true`).
pub(crate) fn body_text(b: &[u8]) -> (String, bool) {
    match std::str::from_utf8(b) {
        Ok(s) => (s.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(b), true),
    }
}

/// A query component decoded the way the request view decodes it.
fn decode(s: &str) -> String {
    crate::http::request::decode(s.into(), true).to_string_owned()
}

/// Last value wins, as API Gateway's single-value maps do.
pub(crate) fn single(pairs: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    Value::Object(m)
}

/// Every value of each name, in order.
pub(crate) fn multi(pairs: &[(String, String)]) -> Value {
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

/// [`single`], or `null` when there are no pairs.
pub(super) fn single_or_null(pairs: &[(String, String)]) -> Value {
    if pairs.is_empty() {
        Value::Null
    } else {
        single(pairs)
    }
}

/// [`multi`], or `null` when there are no pairs.
pub(super) fn multi_or_null(pairs: &[(String, String)]) -> Value {
    if pairs.is_empty() {
        Value::Null
    } else {
        multi(pairs)
    }
}

/// The event's JSON bytes.
pub(super) fn to_vec(event: Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(&Value::Object(event)).unwrap_or_default()
}
