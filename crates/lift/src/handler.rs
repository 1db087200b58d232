//! Handlers: plain async functions or closures that take up to eight typed extractors, with or
//! without the [`Context`] first, and return anything that is [`IntoResponse`].
//!
//! ```
//! use lift::{App, Context, Error, extract::Path, http::Json};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct NewNote { text: String }
//!
//! async fn hello(ctx: Context) -> String {
//!     format!("hello {}", ctx.request().query("name").unwrap_or("you"))
//! }
//!
//! async fn create(_ctx: Context, Json(note): Json<NewNote>) -> Result<Json<String>, Error> {
//!     Ok(Json(note.text))
//! }
//!
//! // Without the Context: only extractors, as in axum.
//! async fn note(Path(id): Path<u64>) -> String {
//!     format!("note {id}")
//! }
//!
//! let app = App::new().get("/hello", hello).post("/notes", create).get("/notes/{id}", note);
//! assert!(app.build().is_ok());
//! ```
//!
//! Extractors run in argument order; the first that fails answers with its error and the
//! handler does not run.

use std::future::Future;
use std::sync::Arc;

use crate::context::Context;
use crate::extract::FromContext;
use crate::http::IntoResponse;
use crate::middleware::{Endpoint, Outcome};
use crate::BoxFuture;

/// Implemented for async functions and closures that can handle a request.
///
/// `Args` is a marker naming the handler's argument list; users never write it. A handler takes
/// the [`Context`] and up to eight [`FromContext`] extractors (`Fn(Context, E1, …, E8)`), or the
/// extractors alone (`Fn(E1, …, E8)`, also with none: `Fn()`).
pub trait Handler<Args>: Send + Sync + 'static {
    /// Run the handler for one invocation.
    fn call(self: Arc<Self>, ctx: Context) -> BoxFuture<Outcome>;
}

/// Await each extractor in order; the first rejection is the handler's outcome.
macro_rules! extract {
    ($ctx:ident; $($e:ident $v:ident),*) => {
        $(
            let $v = match $e::from_context(&mut $ctx).await {
                Ok(value) => value,
                Err(rejection) => return Err(rejection.into()),
            };
        )*
    };
}

/// `Handler` for `Fn(Context, E1, …, En)`, marked `(Context, E1, …, En)`, and for
/// `Fn(E1, …, En)`, marked `((), E1, …, En)`. The two markers never unify (`Context` is not
/// `()`), and a function taking a `Context` first cannot satisfy the second form (`Context` is
/// not an extractor), so every handler has exactly one impl and its `Args` is always inferred.
///
/// Each extractor is awaited in argument order with the context mutably; the first rejection
/// answers, as an [`Error`](crate::Error), and the handler does not run.
macro_rules! handler {
    ($($e:ident $v:ident),*) => {
        impl<F, Fut, R, $($e,)*> Handler<(Context, $($e,)*)> for F
        where
            F: Fn(Context, $($e,)*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoResponse,
            $($e: FromContext,)*
        {
            #[allow(unused_mut)]
            fn call(self: Arc<Self>, mut ctx: Context) -> BoxFuture<Outcome> {
                Box::pin(async move {
                    extract!(ctx; $($e $v),*);
                    self(ctx, $($v,)*).await.into_response()
                })
            }
        }

        impl<F, Fut, R, $($e,)*> Handler<((), $($e,)*)> for F
        where
            F: Fn($($e,)*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoResponse,
            $($e: FromContext,)*
        {
            #[allow(unused_mut)]
            fn call(self: Arc<Self>, mut ctx: Context) -> BoxFuture<Outcome> {
                Box::pin(async move {
                    extract!(ctx; $($e $v),*);
                    let response = self($($v,)*).await.into_response();
                    // The invocation's context lives as long as its handler runs, as it does
                    // for a handler that takes it.
                    drop(ctx);
                    response
                })
            }
        }
    };
}

handler!();
handler!(E1 e1);
handler!(E1 e1, E2 e2);
handler!(E1 e1, E2 e2, E3 e3);
handler!(E1 e1, E2 e2, E3 e3, E4 e4);
handler!(E1 e1, E2 e2, E3 e3, E4 e4, E5 e5);
handler!(E1 e1, E2 e2, E3 e3, E4 e4, E5 e5, E6 e6);
handler!(E1 e1, E2 e2, E3 e3, E4 e4, E5 e5, E6 e6, E7 e7);
handler!(E1 e1, E2 e2, E3 e3, E4 e4, E5 e5, E6 e6, E7 e7, E8 e8);

/// Erase a handler's type so routes can store it.
pub(crate) fn endpoint<H: Handler<A>, A>(h: H) -> Endpoint {
    let h = Arc::new(h);
    Arc::new(move |ctx| h.clone().call(ctx))
}
