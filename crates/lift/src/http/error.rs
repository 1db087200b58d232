//! The one error type.
//!
//! Every failure in Lift — a bad request, a missing route, a handler's own error — is an
//! [`Error`]: an HTTP status, a stable machine-readable `code`, a message that is safe to show a
//! client, optional per-field details, and (for internal errors) a source that is logged but
//! never sent.
//!
//! On the wire every error has one shape:
//!
//! ```json
//! {"error": {"code": "validation_failed", "message": "request body failed validation",
//!            "request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
//!            "details": [{"field": "email", "message": "not a valid email"}]}}
//! ```
//!
//! `Error` deliberately does not implement [`std::error::Error`], so that any standard error
//! converts into it with `?` (as an internal error: status 500, generic message, details only in
//! the log).

use std::borrow::Cow;
use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

/// A boxed standard error, the source of an internal [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One field that failed validation, listed in a 422 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's path, e.g. `email` or `items[0].name`.
    pub field: String,
    /// Why it failed, safe to show the client.
    pub message: String,
}

/// Lift's error: a status, a code and a client-safe message; internal causes stay in the log.
pub struct Error {
    status: StatusCode,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
    details: Vec<FieldError>,
    /// Boxed: most errors add no header, and a bare `HeaderMap` would triple the error's size.
    headers: Option<Box<HeaderMap>>,
    source: Option<BoxError>,
}

/// The message every internal error shows the client.
const INTERNAL_MESSAGE: &str = "internal server error";

impl Error {
    /// An error with the given status, code and client-safe message.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error {
            status,
            code: code.into(),
            message: message.into(),
            details: Vec::new(),
            headers: None,
            source: None,
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 405 `method_not_allowed`. The router adds the `Allow` header to the response.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed",
        )
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413 `payload_too_large`: the request body is larger than the route accepts.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is larger than the limit of {limit} bytes"),
        )
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    /// 422 `validation_failed`, listing each field and why.
    pub fn validation(details: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "request body failed validation",
        );
        e.details = details;
        e
    }

    /// 500 `internal` with a generic message; `source` is logged, never sent.
    pub fn internal(source: impl Into<BoxError>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            INTERNAL_MESSAGE,
        );
        e.source = Some(source.into());
        e
    }

    /// 504 `timeout`.
    pub fn timeout() -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "the request did not complete in time",
        )
    }

    /// Attach a cause that is logged but never sent to the client.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Add a header to the error's response (`Allow` on a 405, `WWW-Authenticate` on a 401).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers_mut().append(name, value);
        self
    }

    /// The headers added to the error's response: the same type as
    /// [`Response::headers`](crate::http::Response::headers), so middleware decorates both alike
    /// (see [`OutcomeExt::headers_mut`](crate::middleware::OutcomeExt::headers_mut)).
    pub fn headers(&self) -> &HeaderMap {
        static NONE: std::sync::OnceLock<HeaderMap> = std::sync::OnceLock::new();
        self.headers
            .as_deref()
            .unwrap_or_else(|| NONE.get_or_init(HeaderMap::new))
    }

    /// The headers added to the error's response, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers.get_or_insert_with(Box::default)
    }

    /// Write this error to `logger` as one ERROR line, `request failed`, with its status, code
    /// and internal cause: what the corridor does for every 5xx, for middleware that turns
    /// errors into responses itself.
    pub fn log(&self, logger: &crate::observability::Logger) {
        use crate::observability::Field;
        logger.error(
            "request failed",
            &[
                ("status", self.status.as_u16().into()),
                ("code", Field::Str(&self.code)),
                ("error", Field::Str(&self.to_string())),
            ],
        );
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable machine-readable code, e.g. `not_found`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The client-safe message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The fields that failed validation (empty unless this is a 422).
    pub fn details(&self) -> &[FieldError] {
        &self.details
    }

    /// The internal cause, if any. Log it; never send it.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }

    /// Whether this is a server-side failure (5xx) whose cause belongs in the log.
    pub fn is_server_error(&self) -> bool {
        self.status.is_server_error()
    }

    /// The JSON body sent to the client: `{"error":{"code","message","request_id"[,"details"]}}`.
    pub fn to_body(&self, request_id: &str) -> Vec<u8> {
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            error: ErrorFields<'a>,
        }
        #[derive(Serialize)]
        struct ErrorFields<'a> {
            code: &'a str,
            message: &'a str,
            request_id: &'a str,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            details: &'a [FieldError],
        }
        let body = ErrorBody {
            error: ErrorFields {
                code: &self.code,
                message: &self.message,
                request_id,
                details: &self.details,
            },
        };
        // Serialising plain strings into a Vec cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.status.as_u16())
            .field("code", &self.code)
            .field("message", &self.message)
            .field("details", &self.details)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl<E> From<E> for Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(e: E) -> Self {
        Error::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = Error::internal(std::io::Error::other("db password=hunter2"));
        let body = String::from_utf8(e.to_body("req-1")).unwrap();
        assert_eq!(
            body,
            r#"{"error":{"code":"internal","message":"internal server error","request_id":"req-1"}}"#
        );
        assert!(e.to_string().contains("hunter2"));
    }

    #[test]
    fn validation_errors_list_fields() {
        let e = Error::validation(vec![FieldError {
            field: "email".into(),
            message: "not a valid email address".into(),
        }]);
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            String::from_utf8(e.to_body("r")).unwrap(),
            r#"{"error":{"code":"validation_failed","message":"request body failed validation","request_id":"r","details":[{"field":"email","message":"not a valid email address"}]}}"#
        );
    }

    #[test]
    fn question_mark_turns_std_errors_into_internal() {
        fn parse() -> Result<u8, Error> {
            Ok("x".parse::<u8>()?)
        }
        let e = parse().unwrap_err();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.code(), "internal");
    }
}
