//! [`OutcomeExt`]: what middleware reads and changes on the [`Outcome`] that `next.run` gave
//! back, whether it is a response or an error.
//!
//! ```
//! use lift::middleware::{from_fn, Next, OutcomeExt};
//! use lift::prelude::*;
//! use http::{HeaderValue, header::HeaderName};
//!
//! let stamp = from_fn(|ctx: Context, next: Next| async move {
//!     let mut outcome = next.run(ctx).await;
//!     if outcome.status().is_client_error() {
//!         // The same header map on a response and on an error: decorated once.
//!         outcome.headers_mut().insert(HeaderName::from_static("x-hint"), HeaderValue::from_static("see docs"));
//!     }
//!     outcome
//! });
//! let app = App::new().middleware(stamp).get("/", |_ctx: Context| async { "hi" });
//! assert!(app.build().is_ok());
//! ```

use http::{HeaderMap, StatusCode};

use super::Outcome;
use crate::Error;

/// Reading and decorating an [`Outcome`]. See the [module docs](self).
pub trait OutcomeExt {
    /// The status the client will get: the response's, or the error's.
    fn status(&self) -> StatusCode;
    /// The error, when the outcome is one.
    fn error(&self) -> Option<&Error>;
    /// The headers the client will get: the response's, or those added to the error.
    fn headers_mut(&mut self) -> &mut HeaderMap;
}

impl OutcomeExt for Outcome {
    fn status(&self) -> StatusCode {
        match self {
            Ok(r) => r.status(),
            Err(e) => e.status(),
        }
    }

    fn error(&self) -> Option<&Error> {
        self.as_ref().err()
    }

    fn headers_mut(&mut self) -> &mut HeaderMap {
        match self {
            Ok(r) => r.headers_mut(),
            Err(e) => e.headers_mut(),
        }
    }
}
