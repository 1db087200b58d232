//! API Gateway REST API (payload format 1.0).
//!
//! The REST API sends `path` without the stage (`requestContext.path` has it), so routes are
//! written as the resource paths the user defined.

use http::Method;
use serde::ser::SerializeMap;
use serde::Serializer;

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
