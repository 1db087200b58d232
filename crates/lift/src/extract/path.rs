//! [`Path`]: the route's path parameters, typed.

use serde::de::DeserializeOwned;

use super::FromContext;
use crate::context::Context;
use crate::http::params::{ParamError, PathParams};
use crate::http::Error;

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
/// use lift::{App, extract::Path};
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
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let params = PathParams::new(ctx.route().params().collect());
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
                ctx.route().template().unwrap_or("(none)")
            )),
        })
    }
}
