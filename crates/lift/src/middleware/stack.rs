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

/// The default middleware stack. Every part can be replaced or removed.
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

    /// Replace the request-id middleware.
    pub fn request_id(mut self, m: RequestId) -> Self {
        self.request_id = Some(m);
        self
    }

    /// Replace the access log.
    pub fn access_log(mut self, m: AccessLog) -> Self {
        self.access_log = Some(m);
        self
    }

    /// Drop the access log.
    pub fn without_access_log(mut self) -> Self {
        self.access_log = None;
        self
    }

    /// Drop the request metrics.
    pub fn without_metrics(mut self) -> Self {
        self.metrics = None;
        self
    }

    /// Replace the security headers.
    pub fn security_headers(mut self, m: SecurityHeaders) -> Self {
        self.security_headers = Some(m);
        self
    }

    /// Drop the security headers.
    pub fn without_security_headers(mut self) -> Self {
        self.security_headers = None;
        self
    }

    /// Turn CORS on.
    pub fn cors(mut self, m: Cors) -> Self {
        self.cors = Some(m);
        self
    }

    /// Replace the error handler (to add mappers).
    pub fn error_handler(mut self, m: ErrorHandler) -> Self {
        self.error_handler = Some(m);
        self
    }

    /// Replace the timeout.
    pub fn timeout(mut self, m: Timeout) -> Self {
        self.timeout = Some(m);
        self
    }

    /// Drop the timeout.
    pub fn without_timeout(mut self) -> Self {
        self.timeout = None;
        self
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
