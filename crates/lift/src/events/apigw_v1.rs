//! API Gateway REST API (payload format 1.0).
//!
//! The REST API sends `path` without the stage (`requestContext.path` has it), so routes are
//! written as the resource paths the user defined.
//!
//! [`request`] decodes such an event into the request view; [`encode`] builds one from
//! [`HttpParts`].

use http::Method;
use serde::ser::SerializeMap;
use serde::Serializer;
use serde_json::{json, Map, Value};

use super::encode::{self, HttpParts};
use super::shape::{self, Multi, Single};
use super::{Envelope, EventKind};
use crate::http::{Request, Response};

pub(crate) fn request(env: Envelope<'_>) -> Request<'_> {
    let rc = env.request_context.unwrap_or_default();
    let identity = rc.identity.unwrap_or_default();
    // The REST API sends both shapes; the multi-value one is complete when present.
    let headers = if env.multi_value_headers.0.is_empty() {
        env.headers.0
    } else {
        env.multi_value_headers.0
    };
    let query = if env.multi_value_query_string_parameters.0.is_empty() {
        env.query_string_parameters.0
    } else {
        env.multi_value_query_string_parameters.0
    };
    Request {
        query,
        headers,
        body: env.body,
        base64: env.is_base64_encoded.unwrap_or(false),
        source_ip: identity.source_ip,
        user_agent: identity.user_agent,
        stage: rc.stage,
        domain_name: rc.domain_name,
        api_request_id: rc.request_id,
        authorizer: rc.authorizer,
        ..Request::base(
            EventKind::ApiGatewayV1,
            method(env.http_method.as_deref()),
            env.path.unwrap_or_else(|| "/".into()),
        )
    }
}

/// The method, or an extension method no route uses when the source sent none or garbage
/// (which then gets a 404 or 405 like any unknown method).
pub(crate) fn method(m: Option<&str>) -> Method {
    m.and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .unwrap_or_else(|| Method::from_bytes(b"INVALID").unwrap_or_default())
}

/// `{"statusCode","headers","multiValueHeaders","body","isBase64Encoded"}`: single-valued
/// headers in `headers`, every header in `multiValueHeaders` (API Gateway merges the two and
/// keeps the multi-value entry when both name a pair).
pub(crate) fn serialize_response<S: Serializer>(r: &Response, s: S) -> Result<S::Ok, S::Error> {
    let (body, base64) = shape::body(r);
    let mut map = s.serialize_map(None)?;
    map.serialize_entry("statusCode", &r.status().as_u16())?;
    map.serialize_entry("headers", &Single(r.headers()))?;
    map.serialize_entry("multiValueHeaders", &Multi(r.headers()))?;
    map.serialize_entry("body", &body)?;
    map.serialize_entry("isBase64Encoded", &base64)?;
    map.end()
}

/// A REST API (payload 1.0) event for `parts`; an empty stage is reported as `prod`.
pub(crate) fn encode(parts: &HttpParts) -> Vec<u8> {
    let mut headers = parts.headers.clone();
    if let Some(c) = parts.cookie_header() {
        headers.push(("Cookie".into(), c));
    }
    let query = parts.decoded_query();
    let stage = if parts.stage.is_empty() {
        "prod"
    } else {
        &parts.stage
    };
    let mut event = Map::new();
    event.insert("resource".into(), json!(parts.path));
    event.insert("path".into(), json!(parts.path));
    event.insert("httpMethod".into(), json!(parts.method.as_str()));
    event.insert("headers".into(), encode::single(&headers));
    event.insert("multiValueHeaders".into(), encode::multi(&headers));
    event.insert(
        "queryStringParameters".into(),
        encode::single_or_null(&query),
    );
    event.insert(
        "multiValueQueryStringParameters".into(),
        encode::multi_or_null(&query),
    );
    event.insert("pathParameters".into(), Value::Null);
    event.insert("stageVariables".into(), Value::Null);
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": "123456789012",
            "apiId": "1234567890",
            "resourcePath": parts.path,
            "httpMethod": parts.method.as_str(),
            "path": format!("/{stage}{}", parts.path),
            "stage": stage,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTimeEpoch": 1428582896000u64,
            "protocol": "HTTP/1.1",
            "domainName": "1234567890.execute-api.us-east-1.amazonaws.com",
            "identity": { "sourceIp": parts.source_ip, "userAgent": parts.user_agent() }
        }),
    );
    parts.body_fields(&mut event);
    encode::to_vec(event)
}
