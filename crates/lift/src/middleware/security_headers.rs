//! `SecurityHeaders`: the response headers that tell a browser to treat the API defensively.
//!
//! Every HTTP response, errors included, gets:
//!
//! | header | default |
//! |---|---|
//! | `Strict-Transport-Security` | `max-age=31536000; includeSubDomains` |
//! | `X-Content-Type-Options` | `nosniff` |
//! | `X-Frame-Options` | `DENY` |
//! | `Referrer-Policy` | `strict-origin-when-cross-origin` |
//! | `Content-Security-Policy` | not sent unless configured |
//!
//! Each value can be changed, or the header left out by passing `None`. A header the handler
//! (or an inner middleware, or the error) already set is kept as it is, so one route can relax
//! a policy for itself. `Content-Security-Policy` is off by default because a policy that fits
//! an HTML page breaks nothing in a JSON API but one that is wrong breaks a page, and only the
//! application knows which it serves. Browsers ignore `Strict-Transport-Security` over plain
//! HTTP, so it does no harm on the local dev server.
//!
//! Unlike [`Cors`](super::Cors), which relaxes what other origins may do and answers
//! preflights itself, this middleware only adds restrictions and never changes the outcome's
//! status or body. For events that are not HTTP requests it does nothing and calls the rest of
//! the chain. Install it app-wide so that 404s, 405s and preflight answers get the headers too.
//!
//! ```
//! use http::HeaderValue;
//! use lift::middleware::SecurityHeaders;
//! use lift::{App, Context};
//!
//! let app = App::new()
//!     .middleware(
//!         SecurityHeaders::new()
//!             .strict_transport_security(HeaderValue::from_static("max-age=63072000; includeSubDomains; preload"))
//!             .frame_options(HeaderValue::from_static("SAMEORIGIN"))
//!             .content_security_policy(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"))
//!             .referrer_policy(None),
//!     )
//!     .get("/", |_: Context| async { "hi" });
//! assert!(app.build().is_ok());
//! ```

use http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use http::{HeaderName, HeaderValue};

use super::{Middleware, Next, Outcome, OutcomeExt};
use crate::{BoxFuture, Context};

/// Adds security response headers. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    strict_transport_security: Option<HeaderValue>,
    content_type_options: Option<HeaderValue>,
    frame_options: Option<HeaderValue>,
    referrer_policy: Option<HeaderValue>,
    content_security_policy: Option<HeaderValue>,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        SecurityHeaders {
            strict_transport_security: Some(HeaderValue::from_static(
                "max-age=31536000; includeSubDomains",
            )),
            content_type_options: Some(HeaderValue::from_static("nosniff")),
            frame_options: Some(HeaderValue::from_static("DENY")),
            referrer_policy: Some(HeaderValue::from_static("strict-origin-when-cross-origin")),
            content_security_policy: None,
        }
    }
}

impl SecurityHeaders {
    /// The defaults in the [module docs](self).
    pub fn new() -> Self {
        Self::default()
    }

    /// `Strict-Transport-Security`, or `None` to leave it out.
    pub fn strict_transport_security(mut self, value: impl Into<Option<HeaderValue>>) -> Self {
        self.strict_transport_security = value.into();
        self
    }

    /// `X-Content-Type-Options`, or `None` to leave it out.
    pub fn content_type_options(mut self, value: impl Into<Option<HeaderValue>>) -> Self {
        self.content_type_options = value.into();
        self
    }

    /// `X-Frame-Options` (`DENY` or `SAMEORIGIN`), or `None` to leave it out.
    pub fn frame_options(mut self, value: impl Into<Option<HeaderValue>>) -> Self {
        self.frame_options = value.into();
        self
    }

    /// `Referrer-Policy`, or `None` to leave it out.
    pub fn referrer_policy(mut self, value: impl Into<Option<HeaderValue>>) -> Self {
        self.referrer_policy = value.into();
        self
    }

    /// `Content-Security-Policy` (not sent by default), or `None` to leave it out.
    pub fn content_security_policy(mut self, value: impl Into<Option<HeaderValue>>) -> Self {
        self.content_security_policy = value.into();
        self
    }

    /// The configured headers, in a fixed order.
    fn headers(&self) -> impl Iterator<Item = (HeaderName, &HeaderValue)> {
        [
            (STRICT_TRANSPORT_SECURITY, &self.strict_transport_security),
            (X_CONTENT_TYPE_OPTIONS, &self.content_type_options),
            (X_FRAME_OPTIONS, &self.frame_options),
            (REFERRER_POLICY, &self.referrer_policy),
            (CONTENT_SECURITY_POLICY, &self.content_security_policy),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.as_ref()?)))
    }

    fn apply(&self, mut outcome: Outcome) -> Outcome {
        // A response and an error carry the same header map: decorated alike.
        let h = outcome.headers_mut();
        for (name, value) in self.headers() {
            if !h.contains_key(&name) {
                h.insert(name, value.clone());
            }
        }
        outcome
    }
}

impl Middleware for SecurityHeaders {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        // The future must own what it adds; the values are static or reference-counted, so the
        // clone copies no header bytes.
        let this = self.clone();
        let inner = next.run(ctx);
        Box::pin(async move { this.apply(inner.await) })
    }

    fn http_only(&self) -> bool {
        true
    }
}
