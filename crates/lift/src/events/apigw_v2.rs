//! API Gateway HTTP API (payload format 2.0) and Lambda Function URLs, which share it.
//!
//! They differ in `rawPath`. A Function URL writes it as the client sent it, percent-encoded
//! (`/files/a%20b`); the HTTP API decodes it first (`/files/a b`), so Lift takes its path
//! parameters as they are instead of decoding them a second time (`docs/routing.md` has the
//! evidence).
//!
//! [`request`] decodes such an event into the request view; [`encode`] builds one from
//! [`HttpParts`] on an HTTP API or a Function URL domain.

use serde::ser::SerializeMap;
use serde::Serializer;
use serde_json::{json, Map, Value};

use super::encode::{self, HttpParts};
use super::shape::{self, Cookies, Joined};
use super::{Envelope, EventKind};
use crate::http::request::parse_query;
use crate::http::{Request, Response};

pub(crate) fn request(env: Envelope<'_>, kind: EventKind) -> Request<'_> {
    let rc = env.request_context.unwrap_or_default();
    let http = rc.http.unwrap_or_default();
    let path_decoded = kind == EventKind::ApiGatewayV2
        && !rc.domain_name.as_deref().is_some_and(is_local_emulator);
    let (query, raw_query) = match env.raw_query_string {
        Some(raw) => (parse_query(raw.clone()), Some(raw)),
        None => (env.query_string_parameters.0, None),
    };
    Request {
        query,
        raw_query,
        headers: env.headers.0,
        cookies: env.cookies.unwrap_or_default(),
        body: env.body,
        base64: env.is_base64_encoded.unwrap_or(false),
        source_ip: http.source_ip,
        user_agent: http.user_agent,
        stage: rc.stage,
        domain_name: rc.domain_name,
        api_request_id: rc.request_id,
        authorizer: rc.authorizer,
        path_decoded,
        ..Request::base(
            kind,
            super::apigw_v1::method(http.method.as_deref()),
            env.raw_path.unwrap_or_else(|| "/".into()),
        )
    }
}

/// `cargo lambda watch` answers function-URL requests (`/lambda-url/<function>/...`) with a
/// payload 2.0 event on `localhost` whose `rawPath` keeps the client's encoding, as a deployed
/// Function URL does.
fn is_local_emulator(domain: &str) -> bool {
    domain == "localhost" || domain.starts_with("localhost:") || domain.starts_with("127.")
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

/// The domain of an encoded HTTP API event.
pub(crate) const HTTP_API_DOMAIN: &str = "1234567890.execute-api.us-east-1.amazonaws.com";
/// The domain of an encoded Function URL event.
pub(crate) const FUNCTION_URL_DOMAIN: &str = "abcdefghijklmnop.lambda-url.us-east-1.on.aws";

/// A payload 2.0 event for `parts` on `domain` ([`HTTP_API_DOMAIN`] or
/// [`FUNCTION_URL_DOMAIN`]). Header names are lower-cased and repeated headers and query
/// parameters joined with commas, as API Gateway does; a stage is prefixed to `rawPath`, which
/// holds the path decoded once on the HTTP API domain and as given on a Function URL one.
/// (A deployed HTTP API was seen to decode twice; one decode is what a test can reason about.)
pub(crate) fn encode(parts: &HttpParts, domain: &str) -> Vec<u8> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in &parts.headers {
        let k = k.to_ascii_lowercase();
        match headers.iter_mut().find(|(x, _)| *x == k) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(v);
            }
            None => headers.push((k, v.clone())),
        }
    }
    // The HTTP API decodes the path before it writes `rawPath`; a Function URL keeps it as the
    // client sent it. Both write `requestContext.http.path` decoded.
    let decoded = crate::http::request::decode(parts.path.as_str().into(), false).to_string_owned();
    let function_url = domain.contains(".lambda-url.");
    let path = if function_url { &parts.path } else { &decoded };
    let (stage, raw_path, http_path) = if parts.stage.is_empty() {
        ("$default".to_owned(), path.clone(), decoded)
    } else {
        (
            parts.stage.clone(),
            format!("/{}{path}", parts.stage),
            format!("/{}{decoded}", parts.stage),
        )
    };
    let mut query_params = Map::new();
    for (k, v) in parts.decoded_query() {
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
    event.insert("rawQueryString".into(), json!(parts.raw_query()));
    if !parts.cookies.is_empty() {
        let cookies: Vec<String> = parts
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        event.insert("cookies".into(), json!(cookies));
    }
    event.insert("headers".into(), encode::single(&headers));
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
                "method": parts.method.as_str(),
                "path": http_path,
                "protocol": "HTTP/1.1",
                "sourceIp": parts.source_ip,
                "userAgent": parts.user_agent()
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": stage,
            "time": "10/Mar/2020:05:16:23 +0000",
            "timeEpoch": 1583817383220u64
        }),
    );
    parts.body_fields(&mut event);
    encode::to_vec(event)
}
