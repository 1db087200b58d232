//! `RequestId`: one id per request, taken from the caller when it sends a well-formed one.
//!
//! The id comes from a configurable header (default `x-request-id`) when it is well-formed
//! (1–128 visible ASCII characters), and is otherwise the Lambda request id. It becomes
//! [`RequestHandle::request_id`](crate::RequestHandle::request_id) — so it is on every log line and in every error body — and is echoed
//! in the same response header. Unlike tower-http's `SetRequestIdLayer` it never generates an
//! id of its own: Lambda already gives every invocation a unique one.
//!
//! ```
//! use lift::middleware::RequestId;
//! use lift::prelude::*;
//!
//! let app = App::new()
//!     .middleware(RequestId::new().header("x-correlation-id"))
//!     .get("/", |ctx: Context| async move { ctx.request_id().to_owned() });
//! assert!(app.build().is_ok());
//! ```

use http::{HeaderName, HeaderValue};

use super::{Middleware, Next, Outcome};
use crate::{BoxFuture, Context};

/// The longest request id accepted from a caller.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Sets the request id from a header or the Lambda request id, and echoes it. See the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct RequestId {
    header: HeaderName,
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestId {
    /// Read and echo `x-request-id`.
    pub fn new() -> Self {
        RequestId {
            header: HeaderName::from_static("x-request-id"),
        }
    }

    /// Read and echo another header. A name that is not a valid header name keeps the
    /// default.
    pub fn header(mut self, name: &str) -> Self {
        if let Ok(h) = HeaderName::try_from(name.to_ascii_lowercase()) {
            self.header = h;
        }
        self
    }
}

/// 1–128 characters, each visible ASCII (`!`..=`~`).
pub(crate) fn well_formed(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

impl Middleware for RequestId {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        if let Some(id) = ctx
            .request()
            .header(self.header.as_str())
            .filter(|id| well_formed(id))
        {
            let id = id.to_owned();
            ctx.set_request_id(id);
        }
        let header = self.header.clone();
        // Well-formed ids and Lambda's UUIDs are always valid header values.
        let echo = HeaderValue::try_from(ctx.request_id()).ok();
        Box::pin(async move {
            let outcome = next.run(ctx).await;
            let Some(value) = echo else { return outcome };
            match outcome {
                Ok(mut r) => {
                    r.headers_mut().insert(header, value);
                    Ok(r)
                }
                Err(e) => Err(e.with_header(header, value)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn ids_must_be_short_visible_ascii() {
        assert!(well_formed("abc-123_XYZ.~"));
        assert!(well_formed(&"a".repeat(128)));
        assert!(!well_formed(&"a".repeat(129)));
        assert!(!well_formed(""));
        assert!(!well_formed("has space"));
        assert!(!well_formed("tab\there"));
        assert!(!well_formed("ünïcode"));
    }
}
