//! Typed extractors: values a handler takes as arguments, built from the invocation before it
//! runs. [`Path`], [`Query`], [`Json`], [`ValidJson`] and [`State`] here; the event sources
//! add theirs ([`SqsMessage`](crate::events::SqsMessage) and the like); any type can be one by
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

use std::ops::{Deref, DerefMut};

use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::error::{Error, FieldError};
use crate::http::params::{ParamError, PathParams, QueryParams};
use crate::http::Json;

/// A value built from the invocation before the handler runs. An error short-circuits the
/// handler and becomes the response.
pub trait FromContext: Sized + Send + 'static {
    /// Build the value, or fail with the error the client should see.
    fn from_context(ctx: &Context) -> Result<Self, Error>;
}

/// `None` when the inner extractor fails, instead of its error: `Option<Json<T>>` for an
/// optional body, `Option<Query<T>>` for optional parameters.
impl<T: FromContext> FromContext for Option<T> {
    fn from_context(ctx: &Context) -> Result<Self, Error> {
        Ok(T::from_context(ctx).ok())
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

/// The route's path parameters, percent-decoded, deserialised into `T`: one value for a route
/// with one parameter (`Path<u64>` for `/users/{id}`), a tuple in template order for several
/// (`Path<(String, u32)>` for `/shops/{shop}/items/{n}`), or a struct (or map) by name.
///
/// A value that does not parse is a 400 `bad_request` naming the parameter and what was
/// expected (``invalid path parameter `id`: expected an integer from 0 to 4294967295``); the
/// value itself is never echoed. A type that does not fit the route — a tuple of the wrong
/// length, a struct field the route has no parameter for — is the program's mistake: a 500
/// whose cause is logged.
///
/// ```
/// use lift::{App, http::Path};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Ids { org: String, user: u64 }
///
/// async fn user(Path(id): Path<u64>) -> String { format!("user {id}") }
/// async fn member(Path(ids): Path<Ids>) -> String { format!("{}/{}", ids.org, ids.user) }
/// async fn file(Path((bucket, key)): Path<(String, String)>) -> String {
///     format!("{bucket}:{key}")
/// }
///
/// let app = App::new()
///     .get("/users/{id}", user)
///     .get("/orgs/{org}/users/{user}", member)
///     .get("/files/{bucket}/{*key}", file);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> FromContext for Path<T> {
    fn from_context(ctx: &Context) -> Result<Self, Error> {
        let params = PathParams::new(ctx.params().collect());
        T::deserialize(params).map(Path).map_err(|e| match e {
            ParamError::Invalid {
                name: Some(name),
                expected,
            } => Error::bad_request(format!("invalid path parameter `{name}`: {expected}")),
            ParamError::Invalid {
                name: None,
                expected,
            } => Error::bad_request(format!("invalid path parameters: {expected}")),
            e => Error::internal(format!(
                "Path<{}> on route {}: {e}",
                std::any::type_name::<T>(),
                ctx.route().unwrap_or("(none)")
            )),
        })
    }
}

/// The query string deserialised into `T`, a struct (or a map): each field is the parameter of
/// its name, percent-decoded, as [`Context::query`] reads it. A `Vec<_>` field takes every
/// value of a repeated parameter (`?tag=a&tag=b`; mark it `#[serde(default)]` to allow none),
/// any other field the first; an `Option<_>` field is `None` when the parameter is absent, and
/// `#[serde(default)]` gives a default.
///
/// A parameter that is missing or does not parse is a 400 `bad_request` naming it and what was
/// expected (``missing query parameter `page` ``, ``invalid query parameter `page`: expected an
/// integer from 0 to 4294967295``); values are never echoed, and names only up to 64
/// characters.
///
/// ```
/// use lift::{App, http::Query};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// #[serde(rename_all = "lowercase")]
/// enum Order { Asc, Desc }
///
/// #[derive(Deserialize)]
/// struct Search {
///     q: String,
///     page: Option<u32>,
///     #[serde(default)]
///     tag: Vec<String>,
///     order: Option<Order>,
/// }
///
/// async fn search(Query(s): Query<Search>) -> String {
///     let order = match s.order { Some(Order::Desc) => "desc", _ => "asc" };
///     format!("{} page {} tags {} {order}", s.q, s.page.unwrap_or(1), s.tag.join(","))
/// }
///
/// let app = App::new().get("/search", search); // /search?q=lift&tag=a&tag=b&order=desc
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> FromContext for Query<T> {
    fn from_context(ctx: &Context) -> Result<Self, Error> {
        let params = QueryParams::new(ctx.request().query_pairs());
        T::deserialize(params).map(Query).map_err(|e| match e {
            ParamError::Invalid {
                name: Some(name),
                expected,
            } => Error::bad_request(format!("invalid query parameter `{name}`: {expected}")),
            ParamError::Invalid {
                name: None,
                expected,
            } => Error::bad_request(format!("invalid query string: {expected}")),
            ParamError::Missing(name) => {
                Error::bad_request(format!("missing query parameter `{name}`"))
            }
            ParamError::Unknown(name) => {
                Error::bad_request(format!("unknown query parameter `{name}`"))
            }
            ParamError::Unsupported(why) => {
                Error::internal(format!("Query<{}>: {why}", std::any::type_name::<T>()))
            }
        })
    }
}

/// A clone of the application state of type `T` given to [`App::state`](crate::App::state)
/// (wrap it in an `Arc` when a clone should be cheap). State that was never added is the
/// program's mistake: a 500 whose cause, naming the type, is logged.
///
/// ```
/// use std::sync::Arc;
/// use lift::{App, http::State};
///
/// struct Clients { table: String }
///
/// async fn table(State(clients): State<Arc<Clients>>) -> String { clients.table.clone() }
///
/// let app = App::new()
///     .state(Arc::new(Clients { table: "orders".into() }))
///     .get("/table", table);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromContext for State<T> {
    fn from_context(ctx: &Context) -> Result<Self, Error> {
        ctx.state::<T>().cloned().map(State).ok_or_else(|| {
            Error::internal(format!(
                "State<{0}>: no state of type {0}; add it with App::state",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// The body as JSON: `content-type` other than JSON → 415, malformed JSON or wrong shape → 400.
impl<T: DeserializeOwned + Send + 'static> FromContext for Json<T> {
    fn from_context(ctx: &Context) -> Result<Self, Error> {
        ctx.request().json().map(Json)
    }
}

/// Validation of a request type, listing each field that fails and why.
///
/// With the `validate` feature (on by default) every type that derives
/// [`garde::Validate`](https://docs.rs/garde) gets this for free; otherwise implement it by hand.
pub trait Validate {
    /// `Ok(())`, or every field that failed.
    fn validate_fields(&self) -> Result<(), Vec<FieldError>>;
}

#[cfg(feature = "validate")]
impl<T: garde::Validate<Context = ()>> Validate for T {
    fn validate_fields(&self) -> Result<(), Vec<FieldError>> {
        garde::Validate::validate(self).map_err(|report| {
            report
                .iter()
                .map(|(path, e)| FieldError {
                    field: path.to_string(),
                    message: e.message().to_string(),
                })
                .collect()
        })
    }
}

/// A JSON body that is then validated: the [`Json`] errors, plus 422 listing each failed field.
///
/// ```
/// use lift::{App, Context, http::{Json, ValidJson}};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize, garde::Validate)]
/// struct NewUser {
///     #[garde(length(chars, min = 1, max = 64))]
///     name: String,
///     #[garde(email)]
///     email: String,
/// }
///
/// async fn create(_ctx: Context, ValidJson(user): ValidJson<NewUser>) -> Json<NewUser> {
///     Json(user)
/// }
/// let app = App::new().post("/users", create);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + Validate + Send + 'static> FromContext for ValidJson<T> {
    fn from_context(ctx: &Context) -> Result<Self, Error> {
        let value: T = ctx.request().json()?;
        value.validate_fields().map_err(Error::validation)?;
        Ok(ValidJson(value))
    }
}
