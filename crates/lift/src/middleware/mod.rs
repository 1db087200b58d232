//! Middleware: code that runs around handlers, for HTTP routes and every other event kind.
//!
//! A middleware is around-style: it receives the invocation's [`Context`] and a [`Next`], may do
//! work before calling `next.run(ctx)`, may change the result after it, or may return early
//! without calling it (short-circuit). Middleware is installed app-wide
//! ([`App::middleware`](crate::App::middleware)), per group
//! ([`Group::middleware`](crate::routing::Group::middleware)) or per route
//! ([`Route::middleware`](crate::routing::Route::middleware)); app-wide middleware runs first,
//! after the router has matched (so it can read [`RequestHandle::route`](crate::RequestHandle::route)) but before a 404 or 405 is
//! produced (so it can answer a CORS preflight for any path).
//!
//! ```
//! use lift::{middleware::{from_fn, Next}, App, Context};
//! use http::{HeaderValue, header::HeaderName};
//!
//! let app = App::new()
//!     .middleware(from_fn(|ctx: Context, next: Next| async move {
//!         let mut res = next.run(ctx).await?;
//!         res.headers_mut().insert(HeaderName::from_static("x-powered-by"), HeaderValue::from_static("lift"));
//!         Ok(res)
//!     }))
//!     .get("/", |_ctx: Context| async { "hi" });
//! ```

pub mod access_log;
pub mod cors;
pub mod error_handler;
pub mod http_only;
pub mod outcome;
pub mod recover;
pub mod request_id;
pub mod request_metrics;
pub mod security_headers;
pub mod stack;
pub mod timeout;
pub mod tower;

pub use crate::wire::catch_panic::{CatchPanic, Caught};
pub use access_log::{AccessLog, SENSITIVE_WORDS};
pub use cors::{Cors, CorsBuilder, CorsError};
pub use error_handler::ErrorHandler;
pub use http_only::{http_only, HttpOnly};
pub use outcome::OutcomeExt;
pub use recover::Recover;
pub use request_id::{RequestId, MAX_REQUEST_ID_LEN};
pub use request_metrics::RequestMetrics;
pub use security_headers::SecurityHeaders;
pub use stack::Stack;
pub use timeout::{Timeout, DEFAULT_MARGIN};
pub use tower::{NextService, TowerLayer};

use std::future::Future;
use std::sync::Arc;

use crate::context::Context;
use crate::http::Error;
use crate::http::Response;
use crate::BoxFuture;

/// The result every middleware and handler produces.
pub type Outcome = Result<Response, Error>;

/// Code that runs around the handler. See the [module docs](self).
pub trait Middleware: Send + Sync + 'static {
    /// Handle one invocation: call `next.run(ctx)` to continue, or return without it.
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome>;

    /// Whether this middleware is for HTTP requests only: when `true`, every other event
    /// passes it by, straight to the next step. Wrap any middleware with [`http_only()`] to make
    /// it so.
    fn http_only(&self) -> bool {
        false
    }
}

impl<M: Middleware + ?Sized> Middleware for Arc<M> {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        (**self).call(ctx, next)
    }

    fn http_only(&self) -> bool {
        (**self).http_only()
    }
}

/// The type-erased innermost step of a pipeline (a handler or the router's dispatch).
pub(crate) type Endpoint = Arc<dyn Fn(Context) -> BoxFuture<Outcome> + Send + Sync>;

/// A middleware stack ending in an endpoint.
pub(crate) struct Pipeline {
    /// Each middleware, with whether it is for HTTP only (asked once, when the app is built).
    middleware: Vec<(Arc<dyn Middleware>, bool)>,
    endpoint: Endpoint,
}

impl Pipeline {
    pub(crate) fn new(middleware: Vec<Arc<dyn Middleware>>, endpoint: Endpoint) -> Arc<Self> {
        Arc::new(Pipeline {
            middleware: middleware
                .into_iter()
                .map(|m| {
                    let http_only = m.http_only();
                    (m, http_only)
                })
                .collect(),
            endpoint,
        })
    }

    /// Run the chain, ending in its own endpoint.
    pub(crate) fn run(self: &Arc<Self>, ctx: Context) -> BoxFuture<Outcome> {
        self.run_to(ctx, Dispatch::Own)
    }

    /// Run the chain, ending where routing decided for this request.
    pub(crate) fn run_to(self: &Arc<Self>, ctx: Context, end: Dispatch) -> BoxFuture<Outcome> {
        Next {
            pipeline: self.clone(),
            index: 0,
            end,
        }
        .run(ctx)
    }
}

/// Where a chain ends: what routing decided for the request, handed down the chain inside
/// [`Next`] (never parked on the context).
pub(crate) enum Dispatch {
    /// The pipeline's own endpoint (a route's handler).
    Own,
    /// A route's (or an event handler's) own pipeline.
    Route(Arc<Pipeline>),
    /// The app's fallback.
    Fallback(Endpoint),
    /// 404: no route matches the path.
    NotFound,
    /// 405: routes match the path, none with this method; the `Allow` value.
    MethodNotAllowed(Box<http::HeaderValue>),
    /// 413: the body is over the route's limit (in bytes), answered before anything reads it.
    TooLarge(usize),
}

/// The rest of the chain after the current middleware.
pub struct Next {
    pipeline: Arc<Pipeline>,
    index: usize,
    end: Dispatch,
}

impl Next {
    /// Run the rest of the chain (the following middleware, then the handler).
    pub fn run(self, ctx: Context) -> BoxFuture<Outcome> {
        let mut index = self.index;
        // HTTP-only middleware is passed by for every other event.
        while let Some((m, http_only)) = self.pipeline.middleware.get(index) {
            if *http_only && !ctx.event_kind().is_http() {
                index += 1;
                continue;
            }
            let m = m.clone();
            return m.call(
                ctx,
                Next {
                    pipeline: self.pipeline,
                    index: index + 1,
                    end: self.end,
                },
            );
        }
        match self.end {
            Dispatch::Own => (self.pipeline.endpoint)(ctx),
            Dispatch::Route(p) => p.run(ctx),
            Dispatch::Fallback(e) => e(ctx),
            Dispatch::MethodNotAllowed(allow) => Box::pin(std::future::ready(Err(
                Error::method_not_allowed().with_header(http::header::ALLOW, *allow),
            ))),
            Dispatch::TooLarge(limit) => {
                Box::pin(std::future::ready(Err(Error::payload_too_large(limit))))
            }
            Dispatch::NotFound => Box::pin(std::future::ready(Err(Error::not_found(
                "no route matches this path",
            )))),
        }
    }
}

/// A middleware from an async function or closure `(Context, Next) -> Result<Response, Error>`.
pub fn from_fn<F, Fut>(f: F) -> FromFn<F>
where
    F: Fn(Context, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    FromFn(f)
}

/// A middleware made by [`from_fn`].
#[derive(Clone)]
pub struct FromFn<F>(F);

impl<F, Fut> Middleware for FromFn<F>
where
    F: Fn(Context, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        Box::pin((self.0)(ctx, next))
    }
}
