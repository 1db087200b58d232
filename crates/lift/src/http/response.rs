//! The HTTP response a handler builds, and [`IntoResponse`] for the types handlers return.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

use crate::http::Cookie;
use crate::http::Error;

/// An HTTP response: status, headers (multi-value allowed) and body bytes.
///
/// The source's shape is chosen when it is written out: API Gateway REST gets
/// `multiValueHeaders`, HTTP API and Function URLs get `cookies`, ALB gets a
/// `statusDescription`. Bodies whose content type is not text are sent base64-encoded.
///
/// ```
/// use lift::http::{Cookie, Response};
/// use http::StatusCode;
///
/// let r = Response::text("created")
///     .with_status(StatusCode::CREATED)
///     .with_cookie(Cookie::new("session", "abc").http_only().path("/"));
/// assert_eq!(r.status(), StatusCode::CREATED);
/// assert_eq!(r.headers()["set-cookie"], "session=abc; Path=/; HttpOnly");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Response {
    /// An empty response with the given status.
    pub fn new(status: StatusCode) -> Self {
        Response {
            status,
            // Room for the headers the default middleware adds, so they never regrow the map.
            headers: HeaderMap::with_capacity(12),
            body: Bytes::new(),
        }
    }

    /// 200 with a JSON body (`content-type: application/json`).
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, Error> {
        let body = serde_json::to_vec(value)?;
        Ok(Self::bytes("application/json", body))
    }

    /// 200 with a `text/plain; charset=utf-8` body.
    pub fn text(body: impl Into<String>) -> Self {
        Self::bytes("text/plain; charset=utf-8", body.into())
    }

    /// 200 with a body of the given content type. Non-text types are base64-encoded on the
    /// wire to API Gateway and ALB.
    pub fn bytes(content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let mut r = Self::new(StatusCode::OK);
        r.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        r.body = body.into();
        r
    }

    /// A redirect (`302 Found` unless [`with_status`](Self::with_status) changes it).
    /// A location that is not a valid header value is a 500.
    pub fn redirect(location: &str) -> Result<Self, Error> {
        let value = HeaderValue::from_str(location)?;
        let mut r = Self::new(StatusCode::FOUND);
        r.headers.insert(LOCATION, value);
        Ok(r)
    }

    /// Set the status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Append a header (a second value for the same name is kept, not replaced).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Append a `Set-Cookie` header.
    pub fn with_cookie(mut self, cookie: Cookie) -> Self {
        if let Ok(v) = HeaderValue::try_from(cookie.to_string()) {
            self.headers.append(SET_COOKIE, v);
        }
        self
    }

    /// Replace the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Change the status.
    pub fn set_status(&mut self, status: StatusCode) {
        self.status = status;
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Replace the body.
    pub fn set_body(&mut self, body: impl Into<Bytes>) {
        self.body = body.into();
    }
}
