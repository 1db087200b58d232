//! `ErrorHandler`: every error becomes the project's one JSON error body, inside the chain.
//!
//! Without it, the corridor renders errors at the very end. With it, errors are rendered where
//! it sits, so the middleware outside it (access log, metrics, CORS, security headers) see and
//! decorate a finished response with its real status. It also lets you map your own error types
//! to statuses: a mapper receives your error (found as the `lift::Error`'s source) and returns
//! the `lift::Error` to show. 5xx causes go to the log, never to the client; 404 and 405 get the
//! same body shape as everything else. Events that are not HTTP requests pass straight through:
//! their errors fail the record or the invocation instead.
//!
//! ```
//! use lift::middleware::ErrorHandler;
//! use lift::prelude::*;
//!
//! #[derive(Debug)]
//! struct OutOfStock(String);
//! impl std::fmt::Display for OutOfStock {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{} is out of stock", self.0) }
//! }
//! impl std::error::Error for OutOfStock {}
//!
//! async fn buy(_ctx: Context) -> Result<&'static str, Error> {
//!     Err(OutOfStock("widget".into()))?   // becomes a 500 by default...
//! }
//!
//! let app = App::new()
//!     .middleware(ErrorHandler::new().map(|e: &OutOfStock| Error::conflict(e.to_string())))   // ...a 409 here
//!     .post("/buy", buy);
//! assert!(app.build().is_ok());
//! ```

use std::sync::Arc;

use super::{Middleware, Next, Outcome};
use crate::{BoxFuture, Context, Error};

type Mapper = Arc<dyn Fn(&Error) -> Option<Error> + Send + Sync>;

/// Renders errors as JSON responses, with mappers for your own error types. See the
/// [module docs](self).
#[derive(Clone, Default)]
pub struct ErrorHandler {
    mappers: Vec<Mapper>,
}

impl std::fmt::Debug for ErrorHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorHandler")
            .field("mappers", &self.mappers.len())
            .finish()
    }
}

impl ErrorHandler {
    /// Render errors as they are.
    pub fn new() -> Self {
        Self::default()
    }

    /// Map errors whose cause is an `E` (e.g. your domain error, turned into `lift::Error` by
    /// `?`) to the error the client should see.
    pub fn map<E, F>(mut self, f: F) -> Self
    where
        E: std::error::Error + 'static,
        F: Fn(&E) -> Error + Send + Sync + 'static,
    {
        self.mappers.push(Arc::new(move |e: &Error| {
            e.source().and_then(|s| s.downcast_ref::<E>()).map(&f)
        }));
        self
    }

    /// Map any error: return `Some` to replace it, `None` to leave it.
    pub fn map_error<F>(mut self, f: F) -> Self
    where
        F: Fn(&Error) -> Option<Error> + Send + Sync + 'static,
    {
        self.mappers.push(Arc::new(f));
        self
    }
}

impl Middleware for ErrorHandler {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        let req = ctx.handle();
        let mappers = self.mappers.clone();
        Box::pin(async move {
            match next.run(ctx).await {
                Ok(r) => Ok(r),
                Err(e) => {
                    let e = mappers.iter().find_map(|m| m(&e)).unwrap_or(e);
                    if e.is_server_error() {
                        e.log(&req.logger());
                    }
                    Ok(e.to_response(req.request_id()))
                }
            }
        })
    }

    fn http_only(&self) -> bool {
        true
    }
}
