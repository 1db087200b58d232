//! [`Query`]: the query string, typed.

use serde::de::DeserializeOwned;

use super::FromContext;
use crate::context::Context;
use crate::http::params::{ParamError, QueryParams};
use crate::http::Error;

/// The query string deserialised into `T`, a struct (or a map): each field is the parameter of
/// its name, percent-decoded, as [`Request::query`](crate::http::Request::query) reads it. A `Vec<_>` field takes every
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
/// use lift::{App, extract::Query};
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
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
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
