//! The HTTP request view every HTTP source is normalised into.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use http::Method;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::http::Error;
use crate::wire::json::Str;
use crate::wire::EventKind;

/// One HTTP request, borrowed from the event bytes it was parsed from.
///
/// Whatever the source (REST API v1, HTTP API v2, ALB, Function URL), the request reads the same:
/// header names are matched case-insensitively, query values are percent-decoded and keep
/// their repeats, and the body is base64-decoded when the source sent it encoded.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub(crate) kind: EventKind,
    pub(crate) method: Method,
    pub(crate) path: Str<'a>,
    pub(crate) query: Vec<(Str<'a>, Str<'a>)>,
    /// The query string exactly as sent, when the source keeps it (HTTP API `rawQueryString`).
    pub(crate) raw_query: Option<Str<'a>>,
    pub(crate) headers: Vec<(Str<'a>, Str<'a>)>,
    pub(crate) cookies: Vec<Str<'a>>,
    pub(crate) body: Option<Str<'a>>,
    pub(crate) base64: bool,
    pub(crate) source_ip: Option<Str<'a>>,
    pub(crate) user_agent: Option<Str<'a>>,
    pub(crate) stage: Option<Str<'a>>,
    pub(crate) domain_name: Option<Str<'a>>,
    pub(crate) api_request_id: Option<Str<'a>>,
    pub(crate) multi_value: bool,
    /// The source decoded the path before sending it (HTTP API `rawPath`): path parameters are
    /// taken as they are, never decoded a second time.
    pub(crate) path_decoded: bool,
    pub(crate) authorizer: Option<&'a RawValue>,
    /// The route's body limit, set once the request is routed: a larger body is never read.
    pub(crate) body_limit: BodyLimit,
}

/// The largest body a request's route accepts, set by the corridor once it has routed the
/// request (no limit until then). Atomic, so the shared request can take it.
#[derive(Debug)]
pub(crate) struct BodyLimit(AtomicUsize);

impl BodyLimit {
    const fn none() -> Self {
        BodyLimit(AtomicUsize::new(usize::MAX))
    }

    pub(crate) fn set(&self, bytes: usize) {
        self.0.store(bytes, Ordering::Relaxed);
    }

    fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Clone for BodyLimit {
    fn clone(&self) -> Self {
        BodyLimit(AtomicUsize::new(self.get()))
    }
}

/// The request non-HTTP events answer with: no method-specific data, no headers, no body.
pub(crate) static EMPTY: Request<'static> =
    Request::base(EventKind::Unknown, Method::GET, Str(Cow::Borrowed("")));

impl<'a> Request<'a> {
    /// A request with nothing but its source, method and path; the sources fill in the rest
    /// with struct-update syntax.
    pub(crate) const fn base(kind: EventKind, method: Method, path: Str<'a>) -> Self {
        Request {
            kind,
            method,
            path,
            query: Vec::new(),
            raw_query: None,
            headers: Vec::new(),
            cookies: Vec::new(),
            body: None,
            base64: false,
            source_ip: None,
            user_agent: None,
            stage: None,
            domain_name: None,
            api_request_id: None,
            multi_value: false,
            path_decoded: false,
            authorizer: None,
            body_limit: BodyLimit::none(),
        }
    }

    /// `requestContext.authorizer` as JSON text: what API Gateway's authorizer (Cognito, JWT or
    /// Lambda) put there after verifying the caller. Read it through
    /// [`AuthorizerClaims`](crate::security::AuthorizerClaims).
    pub fn authorizer(&self) -> Option<&str> {
        self.authorizer.map(RawValue::get)
    }

    /// The source the request came from.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path as the source sent it; for HTTP API v2 on a named stage it includes the stage.
    /// REST API, ALB and Function URL paths are percent-encoded, as the client sent them; an
    /// HTTP API `rawPath` arrives already decoded (`/files/a b`, not `/files/a%20b`; see
    /// `docs/routing.md`). Routing uses [`RequestHandle::path`](crate::RequestHandle::path).
    pub fn raw_path(&self) -> &str {
        &self.path
    }

    /// The first value of a query parameter, percent-decoded.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| &**v)
    }

    /// Every value of a repeated query parameter, in order.
    pub fn query_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.query
            .iter()
            .filter(move |(k, _)| &**k == name)
            .map(|(_, v)| &**v)
    }

    /// The query string, without the `?`: exactly as sent when the source keeps it (HTTP API,
    /// Function URL); otherwise (REST API and ALB, which hand over parameters) written back from
    /// the parameters, percent-encoded, in order.
    pub fn raw_query(&self) -> Cow<'_, str> {
        if let Some(raw) = &self.raw_query {
            return Cow::Borrowed(raw);
        }
        let mut out = String::new();
        for (k, v) in &self.query {
            if !out.is_empty() {
                out.push('&');
            }
            out.extend(utf8_percent_encode(k, QUERY_COMPONENT));
            out.push('=');
            out.extend(utf8_percent_encode(v, QUERY_COMPONENT));
        }
        Cow::Owned(out)
    }

    /// All query parameters, in order, repeats included.
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(k, v)| (&**k, &**v))
    }

    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// Every value of a header, matched case-insensitively, in order.
    pub fn header_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// All headers as the source sent them (names in their original case).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(k, v)| (&**k, &**v))
    }

    /// A cookie's value, from the HTTP API `cookies` array or the `Cookie` header(s).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookie_pairs()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// All cookies the request carried, as `(name, value)`.
    pub fn cookie_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        let from_array = self.cookies.iter().map(|c| &**c);
        let from_header = self.header_all("cookie").flat_map(|h| h.split(';'));
        from_array.chain(from_header).filter_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            Some((k.trim(), v.trim()))
        })
    }

    /// The `content-type` header, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The client's IP address as the source reports it (for ALB, the last
    /// `X-Forwarded-For` entry: the one the load balancer added).
    pub fn source_ip(&self) -> Option<&str> {
        self.source_ip.as_deref()
    }

    /// The `User-Agent`.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent
            .as_deref()
            .or_else(|| self.header("user-agent"))
    }

    /// The API Gateway stage, when the source has one.
    pub fn stage(&self) -> Option<&str> {
        self.stage.as_deref()
    }

    /// The domain name the request was sent to, when the source reports it.
    pub fn domain_name(&self) -> Option<&str> {
        self.domain_name.as_deref()
    }

    /// The API Gateway request id (not the Lambda request id), when the source has one.
    pub fn api_request_id(&self) -> Option<&str> {
        self.api_request_id.as_deref()
    }

    /// The body's size in bytes once decoded, read off its length without decoding it.
    pub fn body_len(&self) -> usize {
        let Some(body) = self.body.as_deref() else {
            return 0;
        };
        if !self.base64 {
            return body.len();
        }
        let b = body.as_bytes();
        let padding = if b.len() % 4 == 0 {
            b.iter().rev().take(2).take_while(|&&c| c == b'=').count()
        } else {
            0
        };
        (b.len() * 3 / 4).saturating_sub(padding)
    }

    /// The body's bytes, base64-decoded when the source sent it encoded.
    /// Invalid base64 is a 400; a body over the route's limit is a 413, and is not read.
    pub fn body(&self) -> Result<Cow<'_, [u8]>, Error> {
        let Some(body) = self.body.as_deref() else {
            return Ok(Cow::Borrowed(&[]));
        };
        let limit = self.body_limit.get();
        if self.body_len() > limit {
            return Err(Error::payload_too_large(limit));
        }
        if !self.base64 {
            return Ok(Cow::Borrowed(body.as_bytes()));
        }
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map(Cow::Owned)
            .map_err(|_| Error::bad_request("request body is not valid base64"))
    }

    /// The body as UTF-8 text. Bytes that are not UTF-8 are a 400.
    pub fn text(&self) -> Result<Cow<'_, str>, Error> {
        match self.body()? {
            Cow::Borrowed(b) => std::str::from_utf8(b)
                .map(Cow::Borrowed)
                .map_err(|_| Error::bad_request("request body is not valid UTF-8")),
            Cow::Owned(b) => String::from_utf8(b)
                .map(Cow::Owned)
                .map_err(|_| Error::bad_request("request body is not valid UTF-8")),
        }
    }

    /// The body parsed as JSON. A content type other than JSON is a 415 (WebSocket messages,
    /// which have no headers, are exempt); a body that is not valid JSON for `T` is a 400.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        // WebSocket messages carry no headers at all: their body is taken as JSON when asked.
        let declared = self.kind == EventKind::WebSocket && self.content_type().is_none();
        if !declared && !self.content_type().is_some_and(is_json_content_type) {
            return Err(Error::unsupported_media_type(
                "expected content-type application/json",
            ));
        }
        let body = self.body()?;
        serde_json::from_slice(&body).map_err(|e| {
            let why = match e.classify() {
                serde_json::error::Category::Data => {
                    "request body does not match the expected shape"
                }
                _ => "request body is not valid JSON",
            };
            Error::bad_request(why).with_source(e)
        })
    }
}

/// `application/json` or any `+json` type, parameters ignored.
pub(crate) fn is_json_content_type(ct: &str) -> bool {
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence
            .get(essence.len().saturating_sub(5)..)
            .is_some_and(|s| s.eq_ignore_ascii_case("+json"))
}

/// What a query component written back from its decoded form keeps: RFC 3986's unreserved
/// characters.
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-decode a path segment or a query component; borrows when there is nothing to decode.
/// Query components also turn `+` into a space (`application/x-www-form-urlencoded`).
pub(crate) fn decode<'a>(s: Str<'a>, plus_is_space: bool) -> Str<'a> {
    let has_plus = plus_is_space && s.contains('+');
    if !has_plus && !s.contains('%') {
        return s;
    }
    let spaced: Cow<'_, str> = if has_plus {
        Cow::Owned(s.replace('+', " "))
    } else {
        Cow::Borrowed(&*s)
    };
    let decoded = percent_decode_str(&spaced).decode_utf8_lossy().into_owned();
    Str(Cow::Owned(decoded))
}

/// Split a raw query string into decoded pairs, borrowing from it where it can.
pub(crate) fn parse_query(raw: Str<'_>) -> Vec<(Str<'_>, Str<'_>)> {
    match raw.0 {
        Cow::Borrowed(s) => split_query(s),
        Cow::Owned(s) => split_query(&s)
            .into_iter()
            .map(|(k, v)| (owned(k), owned(v)))
            .collect(),
    }
}

fn split_query(raw: &str) -> Vec<(Str<'_>, Str<'_>)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(Str::from(k), true), decode(Str::from(v), true))
        })
        .collect()
}

fn owned(s: Str<'_>) -> Str<'static> {
    Str(Cow::Owned(s.0.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(is_json_content_type("application/problem+json"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("json"));
    }

    #[test]
    fn decoding_borrows_when_it_can() {
        assert!(matches!(
            decode(Str::from("plain"), true).0,
            Cow::Borrowed("plain")
        ));
        assert_eq!(&*decode(Str::from("a%20b+c"), true), "a b c");
        assert_eq!(&*decode(Str::from("a+b"), false), "a+b");
    }

    #[test]
    fn raw_query_keeps_repeats_and_order() {
        let q = parse_query(Str::from("a=1&b=x%26y&a=2&flag&=&c=d+e"));
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(
            pairs,
            vec![
                ("a", "1"),
                ("b", "x&y"),
                ("a", "2"),
                ("flag", ""),
                ("", ""),
                ("c", "d e")
            ]
        );
    }
}
