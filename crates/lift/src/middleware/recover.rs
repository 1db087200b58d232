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

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context as TaskContext, Poll};

use super::{Middleware, Next, Outcome};
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

thread_local! {
    /// Set while a `Recover` polls its inner future on this thread; the hook fills in the
    /// location of a panic raised there.
    static CATCHING: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let caught = CATCHING.with(|c| {
                let mut c = c.borrow_mut();
                match c.as_mut() {
                    Some(slot) => {
                        *slot = info.location().map(|l| l.to_string());
                        true
                    }
                    None => false,
                }
            });
            if !caught {
                previous(info);
            }
        }));
    });
}

/// A caught panic: its message and, when the hook saw it, its location.
struct Caught {
    message: String,
    location: Option<String>,
}

fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Polls the inner future, catching a panic raised while polling it.
struct CatchPanic {
    inner: BoxFuture<Outcome>,
}

impl Future for CatchPanic {
    type Output = Result<Outcome, Caught>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let previous = CATCHING.with(|c| c.borrow_mut().replace(None));
        let polled = panic::catch_unwind(AssertUnwindSafe(|| self.inner.as_mut().poll(cx)));
        let location = CATCHING
            .with(|c| std::mem::replace(&mut *c.borrow_mut(), previous))
            .flatten();
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(outcome)) => Poll::Ready(Ok(outcome)),
            Err(payload) => Poll::Ready(Err(Caught {
                message: message(&*payload),
                location,
            })),
        }
    }
}

impl Middleware for Recover {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        install_hook();
        let logger = ctx.logger();
        // `next.run` itself runs synchronous code (extractors, other middleware's set-up):
        // calling it inside the future keeps that inside the catch too.
        let inner: BoxFuture<Outcome> = Box::pin(async move { next.run(ctx).await });
        Box::pin(async move {
            match (CatchPanic { inner }).await {
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
