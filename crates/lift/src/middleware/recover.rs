//! `Recover`: a panic in a handler or an inner middleware becomes an error, not a dead process.
//!
//! The panic is caught where the inner future is polled. For HTTP requests the client gets the
//! usual 500 error body (`internal server error`, no panic text); for other events the
//! invocation is reported failed. The panic message and location go to the log as one ERROR
//! line with the request id. The same app then serves the next invocation normally.
//!
//! The location (`file:line:column`) is only known inside the panic hook, so the first
//! `Recover` installs a process-wide hook that notes it for the catching poll on the same thread
//! (read back immediately, before any other code runs there) and otherwise defers to the hook
//! that was installed before.
//!
//! ```
//! use lift::middleware::Recover;
//! use lift::prelude::*;
//!
//! let app = App::new()
//!     .middleware(Recover::new())
//!     .get("/boom", |_ctx: Context| async { if true { panic!("bug") } "unreachable" });
//! assert!(app.build().is_ok());
//! ```

use super::{CatchPanic, Caught, Middleware, Next, Outcome};
use crate::observability::{Field, Logger};
use crate::{BoxFuture, Context, Error};

/// Turns panics into 500s (HTTP) or failures (events). See the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct Recover;

impl Recover {
    /// The middleware.
    pub fn new() -> Self {
        Recover
    }
}

impl Middleware for Recover {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        let logger = ctx.logger();
        // `next.run` itself runs synchronous code (extractors, other middleware's set-up):
        // calling it inside the future keeps that inside the catch too.
        let inner: BoxFuture<Outcome> = Box::pin(async move { next.run(ctx).await });
        Box::pin(async move {
            match CatchPanic::new(inner).await {
                Ok(outcome) => outcome,
                Err(caught) => Err(report(&logger, caught)),
            }
        })
    }
}

fn report(logger: &Logger, caught: Caught) -> Error {
    let location = caught.location.unwrap_or_else(|| "unknown".to_owned());
    logger.error(
        "panic recovered",
        &[
            ("panic", Field::Str(&caught.message)),
            ("location", Field::Str(&location)),
        ],
    );
    Error::internal(PanicError(caught.message))
}

/// The cause attached to the 500: logged by the error renderer, never sent.
#[derive(Debug)]
struct PanicError(String);

impl std::fmt::Display for PanicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "panic: {}", self.0)
    }
}

impl std::error::Error for PanicError {}
