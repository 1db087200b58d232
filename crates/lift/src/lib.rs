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
//!     let name = ctx.query("name").unwrap_or("World");
//!     Json(json!({ "message": format!("Hello, {name}!") }))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lift::BoxError> {
//!     App::new().get("/hello", hello).run().await
//! }
//! ```
//!
//! The guides in `docs/` explain routing, handlers, errors, the runtime and testing.
#![deny(missing_docs)]

mod after_response;
mod app;
mod catch_panic;
mod context;
mod corridor;
mod dev;
mod error;
pub mod events;
mod handler;
pub mod http;
pub mod middleware;
pub mod observability;
mod respond;
pub mod routing;
mod runtime;
mod scope;
pub mod security;
mod service;
mod shutdown;
pub mod testing;

pub use after_response::{AfterResponse, DEFAULT_AFTER_RESPONSE_LIMIT};
pub use app::{App, BuildError};
pub use context::{Context, FunctionConfig, LambdaContext, RequestHandle};
pub use error::{BoxError, Error, FieldError};
pub use events::EventKind;
pub use handler::Handler;
pub use service::{AppService, Invocation, InvokeError, Reply};

/// The README and the guides in `docs/`, compiled and run as doc tests so their examples stay true.
#[cfg(doctest)]
mod guides {
    #[doc = include_str!("../../../README.md")]
    struct Readme;
    #[doc = include_str!("../../../docs/routing.md")]
    struct Routing;
    #[doc = include_str!("../../../docs/handlers.md")]
    struct Handlers;
    #[doc = include_str!("../../../docs/middleware.md")]
    struct Middleware;
    #[doc = include_str!("../../../docs/errors.md")]
    struct Errors;
    #[doc = include_str!("../../../docs/runtime.md")]
    struct Runtime;
    #[doc = include_str!("../../../docs/testing.md")]
    struct Testing;
    #[doc = include_str!("../../../docs/observability.md")]
    struct Observability;
    #[doc = include_str!("../../../docs/cors.md")]
    struct Cors;
    #[doc = include_str!("../../../docs/events.md")]
    struct Events;
    #[doc = include_str!("../../../docs/telemetry.md")]
    struct Telemetry;
    #[doc = include_str!("../../../docs/security.md")]
    struct Security;
    #[doc = include_str!("../../../docs/tracing.md")]
    struct Tracing;
}

/// A boxed, sendable future, as middleware and handlers return.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// The names most handlers need: `use lift::prelude::*;`.
pub mod prelude {
    pub use crate::http::{Cookie, IntoResponse, Json, Response, ValidJson};
    pub use crate::middleware::{from_fn, Middleware, Next};
    pub use crate::routing::{Group, Route};
    pub use crate::{App, Context, Error};
    pub use http::{Method, StatusCode};
}
