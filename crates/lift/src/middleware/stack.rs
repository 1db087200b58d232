//! `Stack`: the default middleware, in the order that works, installed with one call.
//!
//! Outermost first:
//!
//! 1. [`RequestId`] — settles the id before anything logs, echoes it on every response.
//! 2. [`AccessLog`] — sees the final status and the whole latency of every request.
//! 3. [`RequestMetrics`] — the same, as CloudWatch metrics per route.
//! 4. [`SecurityHeaders`] — on every response, errors and preflights included.
//! 5. [`Cors`] (when configured) — answers preflights before anything below runs, and decorates
//!    every response, errors included.
//! 6. [`ErrorHandler`] — turns errors into the JSON body here, so everything above sees a
//!    finished response.
//! 7. [`Recover`] — a panic below becomes an error for the handler above.
//! 8. [`Timeout`] — innermost, around the route's own middleware and the handler, so the
//!    deadline bounds the work and a 504 still goes through every layer above.
//!
//! See `docs/middleware.md` for why this order.
//!
//! ```
//! use std::time::Duration;
//! use lift::middleware::{Stack, Timeout};
//! use lift::prelude::*;
//!
//! let app = App::new()
//!     .middleware_stack(Stack::new().timeout(Timeout::new(Duration::from_secs(1))))
//!     .get("/hello", |_ctx: Context| async { "hello" });
//! assert!(app.build().is_ok());
//! ```

use super::cors::Cors;
use super::security_headers::SecurityHeaders;
use super::{AccessLog, ErrorHandler, Recover, RequestId, RequestMetrics, Timeout};
use crate::App;

/// A setter that replaces (or sets) one part of the stack and one that removes it, for each
/// part: the promise that every part can be replaced or removed, kept by construction.
macro_rules! parts {
    ($( #[doc = $what:literal] $field:ident, $without:ident: $ty:ty; )*) => {$(
        #[doc = concat!("Replace ", $what, ".")]
        pub fn $field(mut self, m: $ty) -> Self {
            self.$field = Some(m);
            self
        }

        #[doc = concat!("Remove ", $what, ".")]
        pub fn $without(mut self) -> Self {
            self.$field = None;
            self
        }
    )*};
}

/// The default middleware stack. Every part can be replaced or removed: each has a setter
/// named after it and a `without_` one.
#[derive(Debug, Clone)]
pub struct Stack {
    request_id: Option<RequestId>,
    access_log: Option<AccessLog>,
    metrics: Option<RequestMetrics>,
    security_headers: Option<SecurityHeaders>,
    cors: Option<Cors>,
    error_handler: Option<ErrorHandler>,
    recover: Option<Recover>,
    timeout: Option<Timeout>,
}

impl Default for Stack {
    fn default() -> Self {
        Self::new()
    }
}

impl Stack {
    /// Everything on with defaults, no CORS, the timeout at the Lambda deadline minus 500 ms.
    pub fn new() -> Self {
        Stack {
            request_id: Some(RequestId::new()),
            access_log: Some(AccessLog::new()),
            metrics: Some(RequestMetrics::new()),
            security_headers: Some(SecurityHeaders::default()),
            cors: None,
            error_handler: Some(ErrorHandler::new()),
            recover: Some(Recover::new()),
            timeout: Some(Timeout::lambda_deadline()),
        }
    }

    parts! {
        /// the request-id middleware
        request_id, without_request_id: RequestId;
        /// the access log
        access_log, without_access_log: AccessLog;
        /// the request metrics
        metrics, without_metrics: RequestMetrics;
        /// the security headers
        security_headers, without_security_headers: SecurityHeaders;
        /// CORS (off by default: setting it turns CORS on)
        cors, without_cors: Cors;
        /// the error handler (to add mappers)
        error_handler, without_error_handler: ErrorHandler;
        /// panic recovery
        recover, without_recover: Recover;
        /// the timeout
        timeout, without_timeout: Timeout;
    }

    /// Add the stack to `app`'s app-wide middleware, outermost first.
    pub fn install(self, mut app: App) -> App {
        macro_rules! add {
            ($($field:ident),*) => {$(
                if let Some(m) = self.$field {
                    app = app.middleware(m);
                }
            )*};
        }
        add!(
            request_id,
            access_log,
            metrics,
            security_headers,
            cors,
            error_handler,
            recover,
            timeout
        );
        app
    }
}
