//! Handlers: plain async functions or closures that take the [`Context`] first, then up to two
//! typed extractors, and return anything that is [`IntoResponse`].
//!
//! ```
//! use lift::{App, Context, Error, http::Json};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct NewNote { text: String }
//!
//! async fn hello(ctx: Context) -> String {
//!     format!("hello {}", ctx.query("name").unwrap_or("you"))
//! }
//!
//! async fn create(_ctx: Context, Json(note): Json<NewNote>) -> Result<Json<String>, Error> {
//!     Ok(Json(note.text))
//! }
//!
//! let app = App::new().get("/hello", hello).post("/notes", create);
//! ```

use std::future::Future;
use std::sync::Arc;

use crate::context::Context;
use crate::http::{FromContext, IntoResponse};
use crate::middleware::{Endpoint, Outcome};
use crate::BoxFuture;

/// Implemented for async functions and closures that can handle a request.
///
/// `Args` is a marker naming the handler's argument list; users never write it.
pub trait Handler<Args>: Send + Sync + 'static {
    /// Run the handler for one invocation.
    fn call(&self, ctx: Context) -> BoxFuture<Outcome>;
}

impl<F, Fut, R> Handler<(Context,)> for F
where
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    fn call(&self, ctx: Context) -> BoxFuture<Outcome> {
        let fut = self(ctx);
        Box::pin(async move { fut.await.into_response() })
    }
}

impl<F, Fut, R, E1> Handler<(Context, E1)> for F
where
    F: Fn(Context, E1) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
    E1: FromContext,
{
    fn call(&self, ctx: Context) -> BoxFuture<Outcome> {
        match E1::from_context(&ctx) {
            Ok(e1) => {
                let fut = self(ctx, e1);
                Box::pin(async move { fut.await.into_response() })
            }
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

impl<F, Fut, R, E1, E2> Handler<(Context, E1, E2)> for F
where
    F: Fn(Context, E1, E2) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
    E1: FromContext,
    E2: FromContext,
{
    fn call(&self, ctx: Context) -> BoxFuture<Outcome> {
        let extracted = E1::from_context(&ctx).and_then(|e1| Ok((e1, E2::from_context(&ctx)?)));
        match extracted {
            Ok((e1, e2)) => {
                let fut = self(ctx, e1, e2);
                Box::pin(async move { fut.await.into_response() })
            }
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

/// Erase a handler's type so routes can store it.
pub(crate) fn endpoint<H: Handler<A>, A>(h: H) -> Endpoint {
    Arc::new(move |ctx| h.call(ctx))
}
