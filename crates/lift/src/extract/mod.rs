//! Typed extractors: values a handler takes as arguments, built from the [`Context`] before it
//! runs. This layer sits just above the context; every extractor of the crate, and a user's,
//! is written against [`FromContext`] alone. [`Path`], [`Query`], [`Json`](crate::http::Json), [`ValidJson`] and [`State`] here; the event sources
//! add theirs ([`SqsMessage`](crate::events::SqsMessage) and the like), security adds
//! [`Principal`](crate::security::Principal) and [`Claims`](crate::security::Claims); any type can be one by
//! implementing [`FromContext`].
//!
//! ```
//! use lift::prelude::*;
//! use serde::Deserialize;
//!
//! #[derive(Clone)]
//! struct Db { name: &'static str }
//!
//! #[derive(Deserialize)]
//! struct Page {
//!     page: Option<u32>,
//!     #[serde(default)]
//!     tag: Vec<String>,
//! }
//!
//! async fn items(
//!     Path((shop, id)): Path<(String, u64)>,
//!     Query(page): Query<Page>,
//!     State(db): State<Db>,
//! ) -> String {
//!     format!("{} {shop}/{id} page {} tags {:?}", db.name, page.page.unwrap_or(1), page.tag)
//! }
//!
//! let app = App::new().state(Db { name: "main" }).get("/shops/{shop}/items/{id}", items);
//! assert!(app.build().is_ok());
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::ops::{Deref, DerefMut};

use crate::context::Context;
use crate::http::Error;

mod json;
mod path;
mod query;
mod state;

pub use json::{ValidJson, Validate};
pub use path::Path;
pub use query::Query;
pub use state::State;

/// A value built from the invocation before the handler runs, as axum's `FromRequestParts` is:
/// asynchronously (an extractor may fetch keys or call a store), with a rejection that
/// short-circuits the handler.
///
/// The rejection becomes an [`Error`], so the error middleware renders it like any other: a
/// status, a JSON problem body, and its cause in the log. Extractors run in argument order, each
/// with the context mutably, so one may set what a later one reads (the
/// [`Principal`](crate::security::Principal) extractor sets the identity).
///
/// ```
/// use lift::extract::FromContext;
/// use lift::prelude::*;
///
/// /// The caller's API version, from a header, 400 when it is not a number.
/// struct ApiVersion(u32);
///
/// impl FromContext for ApiVersion {
///     type Rejection = Error;
///
///     async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
///         let raw = ctx.request().header("x-api-version").unwrap_or("1");
///         raw.parse().map(ApiVersion).map_err(|_| Error::bad_request("x-api-version is not a number"))
///     }
/// }
///
/// async fn hello(ApiVersion(v): ApiVersion) -> String {
///     format!("v{v}")
/// }
/// assert!(App::new().get("/hello", hello).build().is_ok());
/// ```
pub trait FromContext: Sized + Send + 'static {
    /// What a failed extraction answers.
    type Rejection: Into<Error>;

    /// Build the value, or fail with the rejection the client should see.
    fn from_context(
        ctx: &mut Context,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// `None` when the inner extractor fails, instead of its rejection: `Option<Json<T>>` for an
/// optional body, `Option<Query<T>>` for optional parameters.
impl<T: FromContext> FromContext for Option<T> {
    type Rejection = Infallible;

    async fn from_context(ctx: &mut Context) -> Result<Self, Infallible> {
        Ok(T::from_context(ctx).await.ok())
    }
}

/// Wrappers read as the value they hold (`path.id` for `path: Path<Ids>`), as axum's are.
macro_rules! deref {
    ($($wrapper:ident),*) => {
        $(
            impl<T> Deref for $wrapper<T> {
                type Target = T;

                fn deref(&self) -> &T {
                    &self.0
                }
            }

            impl<T> DerefMut for $wrapper<T> {
                fn deref_mut(&mut self) -> &mut T {
                    &mut self.0
                }
            }
        )*
    };
}

deref!(Path, Query, State);
