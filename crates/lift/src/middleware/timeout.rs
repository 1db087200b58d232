//! `Timeout`: give up on a handler in time to answer and flush telemetry.
//!
//! The deadline is the earlier of a configured limit (measured from when the middleware runs)
//! and the Lambda deadline minus a safety margin (default 500 ms). At the deadline the inner
//! future is dropped — the handler is cancelled at its current `.await` — and the outcome is a
//! `504 timeout` error (HTTP) or a failure (events), with time left for the response to be
//! posted and for the after-response flush. A deadline already past gives the 504 at once.
//!
//! It needs a Tokio runtime with the time driver (what `#[tokio::main]` and Lambda give).
//!
//! ```
//! use std::time::Duration;
//! use lift::middleware::Timeout;
//! use lift::prelude::*;
//!
//! let app = App::new()
//!     .middleware(Timeout::new(Duration::from_secs(1)).margin(Duration::from_millis(300)))
//!     .get("/", |_ctx: Context| async { "fast" });
//! assert!(app.build().is_ok());
//! ```

use std::time::{Duration, SystemTime};

use super::{Middleware, Next, Outcome};
use crate::observability::Field;
use crate::{BoxFuture, Context, Error};

/// Cancels the handler at a deadline and answers 504. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct Timeout {
    limit: Option<Duration>,
    margin: Duration,
}

/// Time kept back before the Lambda deadline by default.
pub const DEFAULT_MARGIN: Duration = Duration::from_millis(500);

impl Default for Timeout {
    fn default() -> Self {
        Timeout {
            limit: None,
            margin: DEFAULT_MARGIN,
        }
    }
}

impl Timeout {
    /// At most `limit` per request (and never past the Lambda deadline minus the margin).
    pub fn new(limit: Duration) -> Self {
        Timeout {
            limit: Some(limit),
            margin: DEFAULT_MARGIN,
        }
    }

    /// Only the Lambda deadline minus the margin.
    pub fn lambda_deadline() -> Self {
        Self::default()
    }

    /// The time kept back before the Lambda deadline.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// How long the handler may run for this invocation.
    fn budget(&self, ctx: &Context) -> Duration {
        let lambda = ctx
            .lambda()
            .deadline()
            .checked_sub(self.margin)
            .and_then(|d| d.duration_since(SystemTime::now()).ok())
            .unwrap_or(Duration::ZERO);
        match self.limit {
            Some(limit) => limit.min(lambda),
            None => lambda,
        }
    }
}

impl Middleware for Timeout {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        let budget = self.budget(&ctx);
        let logger = ctx.logger();
        if budget.is_zero() {
            // No time left: the handler is not started (a zero `tokio::time::timeout` would
            // still poll it once).
            logger.error(
                "no time left before the deadline; handler not run",
                &[("budget_ms", Field::U64(0))],
            );
            return Box::pin(std::future::ready(Err(Error::timeout())));
        }
        Box::pin(async move {
            match tokio::time::timeout(budget, next.run(ctx)).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    logger.error(
                        "request timed out; handler cancelled",
                        &[("budget_ms", Field::U64(budget.as_millis() as u64))],
                    );
                    Err(Error::timeout())
                }
            }
        })
    }
}
