//! Lift: a framework for AWS Lambda functions.
//!
//! One [`App`] routes HTTP requests from API Gateway (REST v1 and HTTP API v2), Application Load
//! Balancers and Function URLs to handlers, through middleware, in one binary. Each invocation
//! walks one corridor: the event is detected and parsed once, a [`Context`] is built, the
//! middleware chain runs around the handler, and the response is written in the shape of the
//! source it came from. Outside Lambda the same app serves HTTP on `127.0.0.1` for local
//! development.
//!
//! ```no_run
//! use lift::{App, Context, http::Json};
//! use serde_json::json;
//!
//! async fn hello(ctx: Context) -> Json<serde_json::Value> {
//!     let name = ctx.request().query("name").unwrap_or("World");
//!     Json(json!({ "message": format!("Hello, {name}!") }))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lift::BoxError> {
//!     App::new().get("/hello", hello).run().await
//! }
//! ```
//!
//! The [`guides`] explain routing, handlers, middleware, errors, events, observability,
//! security, the runtime and testing.
#![deny(missing_docs)]

// The rooms, bottom layer first; each imports only from its own layer and those above it in
// this list (docs/architecture.md, held by tests/layering.rs).
mod app;
pub mod context;
mod corridor;
pub mod events;
pub mod extract;
mod handler;
pub mod http;
pub mod middleware;
pub mod observability;
pub mod routing;
pub mod security;
pub mod testing;
mod wire;

pub use app::{App, DEFAULT_AFTER_RESPONSE_LIMIT};
pub use context::{Context, RequestHandle};
pub use corridor::{AfterResponse, AppService, Invocation, Reply};
pub use handler::Handler;
pub use http::{BoxError, Error, FieldError};
pub use wire::{BuildError, EventKind, FunctionConfig, InvokeError, LambdaContext};

/// The guides, one question a page, with examples that compile and run as doc tests.
///
/// They are the pages of the repository's `docs/` directory (`crates/lift/docs` links to it, so
/// the published crate carries them).
#[cfg(any(doc, doctest))]
pub mod guides {
    #[doc = include_str!("../docs/getting-started.md")]
    pub mod getting_started {}
    #[doc = include_str!("../docs/routing.md")]
    pub mod routing {}
    #[doc = include_str!("../docs/handlers.md")]
    pub mod handlers {}
    #[doc = include_str!("../docs/middleware.md")]
    pub mod middleware {}
    #[doc = include_str!("../docs/errors.md")]
    pub mod errors {}
    #[doc = include_str!("../docs/runtime.md")]
    pub mod runtime {}
    #[doc = include_str!("../docs/testing.md")]
    pub mod testing {}
    #[doc = include_str!("../docs/observability.md")]
    pub mod observability {}
    #[doc = include_str!("../docs/cors.md")]
    pub mod cors {}
    #[doc = include_str!("../docs/events.md")]
    pub mod events {}
    #[doc = include_str!("../docs/telemetry.md")]
    pub mod telemetry {}
    #[doc = include_str!("../docs/security.md")]
    pub mod security {}
    #[doc = include_str!("../docs/tracing.md")]
    pub mod tracing {}
    #[doc = include_str!("../docs/deployment.md")]
    pub mod deployment {}
    #[doc = include_str!("../docs/operations.md")]
    pub mod operations {}
    #[doc = include_str!("../docs/observability-env.md")]
    pub mod observability_env {}
    #[doc = include_str!("../docs/architecture.md")]
    pub mod architecture {}
}

/// The README, compiled and run as a doc test so its example stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct Readme;

/// A boxed, sendable future, as middleware and handlers return.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// The names most handlers need: `use lift::prelude::*;`.
pub mod prelude {
    pub use crate::extract::{FromContext, Path, Query, State, ValidJson};
    pub use crate::http::{Cookie, IntoResponse, Json, Method, Response, StatusCode};
    pub use crate::middleware::{from_fn, Middleware, Next};
    pub use crate::routing::{Group, Route};
    pub use crate::{App, Context, Error};
}
