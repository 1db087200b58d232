//! [`http_only`]: run a middleware for HTTP requests only; every other event (SQS, SNS, S3,
//! EventBridge, schedules, streams, WebSocket) passes straight through to the next step.
//!
//! ```
//! use lift::middleware::{from_fn, http_only, Next};
//! use lift::prelude::*;
//!
//! let app = App::new()
//!     .middleware(http_only(from_fn(|ctx: Context, next: Next| async move {
//!         // Only HTTP requests get here.
//!         next.run(ctx).await
//!     })))
//!     .get("/", |_ctx: Context| async { "hi" });
//! assert!(app.build().is_ok());
//! ```

use super::{Middleware, Next, Outcome};
use crate::{BoxFuture, Context};

/// Wrap `m` so that it runs for HTTP requests only. See the [module docs](self).
pub fn http_only<M: Middleware>(m: M) -> HttpOnly<M> {
    HttpOnly(m)
}

/// A middleware that runs only for HTTP requests. From [`http_only`].
#[derive(Debug, Clone)]
pub struct HttpOnly<M>(M);

impl<M: Middleware> Middleware for HttpOnly<M> {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        // The chain passes this middleware by for events (see `http_only` below).
        self.0.call(ctx, next)
    }

    fn http_only(&self) -> bool {
        true
    }
}
