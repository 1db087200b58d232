//! Application Load Balancer target group requests.
//!
//! ALB forwards query strings as the client sent them (still percent-encoded), so they are
//! decoded here. When the target group has multi-value headers on, the request carries only
//! `multiValueHeaders`/`multiValueQueryStringParameters` and the response must answer in kind.
//!
//! Without multi-value headers a response's `headers` holds one value per name. Repeated
//! headers are comma-joined, but `Set-Cookie` cannot be (a cookie's `Expires` holds a comma):
//! the first cookie is sent, and [`dropped_cookies`] names the others so that the corridor can
//! say so in a WARN instead of losing them silently. Turning multi-value headers on for the
//! target group is the fix.
//!
//! ALB hands over `path` as the client sent it, percent-encoded; routing decodes path
//! parameters once.
//!
//! [`request`] decodes such an event into the request view; [`encode`] builds one from
//! [`HttpParts`].

use http::header::SET_COOKIE;
use serde::ser::SerializeMap;
use serde::Serializer;
use serde_json::{json, Map};

use super::encode::{self, HttpParts};
use super::shape::{self, Joined, Multi};
use super::{Envelope, EventKind};
use crate::http::request::decode;
use crate::http::{Request, Response};

pub(crate) fn request(env: Envelope<'_>) -> Request<'_> {
    let multi_value = !env.multi_value_headers.0.is_empty()
        || !env.multi_value_query_string_parameters.0.is_empty();
    let (headers, query) = if multi_value {
        (
            env.multi_value_headers.0,
            env.multi_value_query_string_parameters.0,
        )
    } else {
        (env.headers.0, env.query_string_parameters.0)
    };
    let query = query
        .into_iter()
        .map(|(k, v)| (decode(k, true), decode(v, true)))
        .collect();
    let mut req = Request {
        query,
        headers,
        body: env.body,
        base64: env.is_base64_encoded.unwrap_or(false),
        multi_value,
        ..Request::base(
            EventKind::Alb,
            super::apigw_v1::method(env.http_method.as_deref()),
            env.path.unwrap_or_else(|| "/".into()),
        )
    };
    req.source_ip = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-for"))
        .map(|(_, v)| client_address(v.clone()));
    req
}

/// The client address: the last entry of `X-Forwarded-For`, the one the load balancer appended
/// itself. Earlier entries come from the client and can say anything.
fn client_address(v: crate::wire::json::Str<'_>) -> crate::wire::json::Str<'_> {
    use std::borrow::Cow;
    match v.0 {
        Cow::Borrowed(s) => s.rsplit(',').next().unwrap_or(s).trim().into(),
        Cow::Owned(s) => crate::wire::json::Str(Cow::Owned(
            s.rsplit(',').next().unwrap_or(&s).trim().to_owned(),
        )),
    }
}

/// `{"statusCode","statusDescription","headers"|"multiValueHeaders","body","isBase64Encoded"}`.
pub(crate) fn serialize_response<S: Serializer>(
    r: &Response,
    multi_value: bool,
    s: S,
) -> Result<S::Ok, S::Error> {
    let (body, base64) = shape::body(r);
    let status = r.status();
    let description = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    let mut map = s.serialize_map(None)?;
    map.serialize_entry("statusCode", &status.as_u16())?;
    map.serialize_entry("statusDescription", &description)?;
    if multi_value {
        map.serialize_entry("multiValueHeaders", &Multi(r.headers()))?;
    } else {
        map.serialize_entry(
            "headers",
            &Joined {
                headers: r.headers(),
                skip_cookies: false,
            },
        )?;
    }
    map.serialize_entry("body", &body)?;
    map.serialize_entry("isBase64Encoded", &base64)?;
    map.end()
}

/// The first cookie a single-value response sends, and the names of the ones it cannot carry,
/// when there are any. Names only: a cookie's value may be a secret, and a log is no place for
/// it.
pub(crate) fn dropped_cookies(r: &Response) -> Option<(&str, Vec<&str>)> {
    let mut cookies = r.headers().get_all(SET_COOKIE).iter().map(cookie_name);
    let sent = cookies.next()?;
    let dropped: Vec<&str> = cookies.collect();
    (!dropped.is_empty()).then_some((sent, dropped))
}

/// The name of a `Set-Cookie` value (`name=value; attributes`).
fn cookie_name(v: &http::HeaderValue) -> &str {
    let v = v.to_str().unwrap_or_default();
    v.split_once('=').map_or(v, |(name, _)| name).trim()
}

/// An ALB event for `parts`, with multi-value headers and query parameters when `multi_value`
/// (the target group setting). The query stays percent-encoded, cookies travel in a `cookie`
/// header, and the source IP in `x-forwarded-for` unless a header already sets it.
pub(crate) fn encode(parts: &HttpParts, multi_value: bool) -> Vec<u8> {
    let mut headers = parts.headers.clone();
    if let Some(c) = parts.cookie_header() {
        headers.push(("cookie".into(), c));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-for"))
    {
        headers.push(("x-forwarded-for".into(), parts.source_ip.clone()));
    }
    let mut event = Map::new();
    event.insert(
        "requestContext".into(),
        json!({"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambda/abc"}}),
    );
    event.insert("httpMethod".into(), json!(parts.method.as_str()));
    event.insert("path".into(), json!(parts.path));
    if multi_value {
        event.insert(
            "multiValueQueryStringParameters".into(),
            encode::multi(&parts.query),
        );
        event.insert("multiValueHeaders".into(), encode::multi(&headers));
    } else {
        event.insert("queryStringParameters".into(), encode::single(&parts.query));
        event.insert("headers".into(), encode::single(&headers));
    }
    parts.body_fields(&mut event);
    encode::to_vec(event)
}
