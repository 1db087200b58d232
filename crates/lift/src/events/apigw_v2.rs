//! API Gateway HTTP API (payload format 2.0) and Lambda Function URLs, which share it.

use serde::ser::SerializeMap;
use serde::Serializer;

use super::shape::{self, Cookies, Joined};
use super::{Envelope, EventKind};
use crate::http::request::parse_query;
use crate::http::{Request, Response};

pub(crate) fn request(env: Envelope<'_>, kind: EventKind) -> Request<'_> {
    let rc = env.request_context.unwrap_or_default();
    let http = rc.http.unwrap_or_default();
    let query = match env.raw_query_string {
        Some(raw) => parse_query(raw),
        None => env.query_string_parameters.0,
    };
    Request {
        query,
        headers: env.headers.0,
        cookies: env.cookies.unwrap_or_default(),
        body: env.body,
        base64: env.is_base64_encoded.unwrap_or(false),
        source_ip: http.source_ip,
        user_agent: http.user_agent,
        stage: rc.stage,
        domain_name: rc.domain_name,
        api_request_id: rc.request_id,
        ..Request::base(
            kind,
            super::apigw_v1::method(http.method.as_deref()),
            env.raw_path.unwrap_or_else(|| "/".into()),
        )
    }
}

/// `{"statusCode","headers","cookies","body","isBase64Encoded"}`; repeated headers are joined
/// with commas and `Set-Cookie` values go to `cookies`.
pub(crate) fn serialize_response<S: Serializer>(r: &Response, s: S) -> Result<S::Ok, S::Error> {
    let (body, base64) = shape::body(r);
    let mut map = s.serialize_map(None)?;
    map.serialize_entry("statusCode", &r.status().as_u16())?;
    map.serialize_entry(
        "headers",
        &Joined {
            headers: r.headers(),
            skip_cookies: true,
        },
    )?;
    // Always present (empty when there are none): Function URL front ends reject a response
    // without it, as `aws_lambda_events` also always writes it.
    map.serialize_entry("cookies", &Cookies(r.headers()))?;
    map.serialize_entry("body", &body)?;
    map.serialize_entry("isBase64Encoded", &base64)?;
    map.end()
}
