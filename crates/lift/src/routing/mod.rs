//! HTTP routing: routes per method, path parameters, groups with a prefix and their own
//! middleware.
//!
//! Paths use `matchit` syntax: `/users/{id}` binds one segment, `/files/{*path}` binds the rest.
//! Matching is on the percent-encoded path; parameters are decoded. A path that matches no
//! route is a 404; a path that matches with another method is a 405 with an `Allow` header;
//! `HEAD` is served by the `GET` handler, without the body.

mod base_path;
mod events;
mod router;

use std::sync::Arc;

use http::Method;

use crate::handler::{endpoint, Handler};
use crate::middleware::{Endpoint, Middleware, Pipeline};
pub(crate) use base_path::route_start;
pub use events::BatchOptions;
pub(crate) use events::{pipeline as event_pipeline, EventRoutes};
pub(crate) use router::{Match, Router};

/// The routing outcome the app pipeline's innermost step acts on.
pub(crate) enum Dispatch {
    Route(Arc<Pipeline>),
    Fallback(Endpoint),
    NotFound,
    MethodNotAllowed(http::HeaderValue),
    /// The body is over the route's limit (in bytes): a 413 before anything reads it.
    TooLarge(usize),
}

/// The handlers for one path, by method, with route-level middleware.
///
/// ```
/// use lift::{routing::Route, App, Context};
///
/// async fn list(_: Context) -> &'static str { "[]" }
/// async fn create(_: Context) -> &'static str { "{}" }
///
/// let app = App::new().route("/items", Route::new().get(list).post(create));
/// ```
#[derive(Default, Clone)]
pub struct Route {
    pub(crate) methods: Vec<(Option<Method>, Endpoint)>,
    pub(crate) middleware: Vec<Arc<dyn Middleware>>,
    pub(crate) body_limit: Option<usize>,
}

impl Route {
    /// A route with no handlers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handle `method`.
    pub fn on<H: Handler<A>, A>(mut self, method: Method, handler: H) -> Self {
        self.methods.push((Some(method), endpoint(handler)));
        self
    }

    /// Handle every method that has no handler of its own.
    pub fn any<H: Handler<A>, A>(mut self, handler: H) -> Self {
        self.methods.push((None, endpoint(handler)));
        self
    }

    /// Handle `GET` (and `HEAD`, unless it has its own handler).
    pub fn get<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on(Method::GET, handler)
    }

    /// Handle `POST`.
    pub fn post<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on(Method::POST, handler)
    }

    /// Handle `PUT`.
    pub fn put<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on(Method::PUT, handler)
    }

    /// Handle `PATCH`.
    pub fn patch<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on(Method::PATCH, handler)
    }

    /// Handle `DELETE`.
    pub fn delete<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on(Method::DELETE, handler)
    }

    /// Handle `HEAD` explicitly.
    pub fn head<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on(Method::HEAD, handler)
    }

    /// Handle `OPTIONS`.
    pub fn options<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on(Method::OPTIONS, handler)
    }

    /// Accept request bodies of up to `bytes` on this route, instead of the app's limit
    /// ([`App::body_limit`](crate::App::body_limit), 2 MiB by default). A larger body is a 413
    /// `payload_too_large`, and is never read.
    ///
    /// ```
    /// use lift::{routing::Route, App, Context};
    ///
    /// async fn upload(ctx: Context) -> String { format!("{} bytes", ctx.body().unwrap().len()) }
    ///
    /// let app = App::new().route("/uploads", Route::new().post(upload).body_limit(5 << 20));
    /// assert!(app.build().is_ok());
    /// ```
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// Add middleware that runs for this route only, inside app-wide and group middleware.
    pub fn middleware(mut self, m: impl Middleware) -> Self {
        self.middleware.push(Arc::new(m));
        self
    }
}

/// Routes under a shared prefix, with middleware of their own.
///
/// ```
/// use lift::{middleware::{from_fn, Next}, App, Context, Error};
///
/// async fn stats(_: Context) -> &'static str { "ok" }
///
/// let app = App::new().group("/admin", |g| {
///     g.middleware(from_fn(|ctx: Context, next: Next| async move {
///         if ctx.header("x-admin").is_none() {
///             return Err(Error::forbidden("admins only"));
///         }
///         next.run(ctx).await
///     }))
///     .get("/stats", stats)
/// });
/// ```
#[derive(Default)]
pub struct Group {
    pub(crate) prefix: String,
    pub(crate) routes: Vec<(String, Route)>,
    pub(crate) middleware: Vec<Arc<dyn Middleware>>,
}

impl Group {
    pub(crate) fn new(prefix: &str) -> Self {
        Group {
            prefix: prefix.trim_end_matches('/').to_owned(),
            ..Group::default()
        }
    }

    /// Add middleware for every route of this group (and its nested groups).
    pub fn middleware(mut self, m: impl Middleware) -> Self {
        self.middleware.push(Arc::new(m));
        self
    }

    /// Add a route under the group's prefix.
    pub fn route(mut self, path: &str, route: Route) -> Self {
        self.routes.push((join(&self.prefix, path), route));
        self
    }

    /// A nested group under this group's prefix.
    pub fn group(mut self, prefix: &str, build: impl FnOnce(Group) -> Group) -> Self {
        let inner = build(Group::new(&join(&self.prefix, prefix)));
        for (path, mut route) in inner.routes {
            let mut mw = inner.middleware.clone();
            mw.append(&mut route.middleware);
            route.middleware = mw;
            self.routes.push((path, route));
        }
        self
    }

    /// `GET` (and `HEAD`) under the prefix.
    pub fn get<H: Handler<A>, A>(self, path: &str, h: H) -> Self {
        self.route(path, Route::new().get(h))
    }

    /// `POST` under the prefix.
    pub fn post<H: Handler<A>, A>(self, path: &str, h: H) -> Self {
        self.route(path, Route::new().post(h))
    }

    /// `PUT` under the prefix.
    pub fn put<H: Handler<A>, A>(self, path: &str, h: H) -> Self {
        self.route(path, Route::new().put(h))
    }

    /// `PATCH` under the prefix.
    pub fn patch<H: Handler<A>, A>(self, path: &str, h: H) -> Self {
        self.route(path, Route::new().patch(h))
    }

    /// `DELETE` under the prefix.
    pub fn delete<H: Handler<A>, A>(self, path: &str, h: H) -> Self {
        self.route(path, Route::new().delete(h))
    }

    /// Every method under the prefix.
    pub fn any<H: Handler<A>, A>(self, path: &str, h: H) -> Self {
        self.route(path, Route::new().any(h))
    }
}

fn join(prefix: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        if prefix.is_empty() {
            "/".to_owned()
        } else {
            prefix.to_owned()
        }
    } else {
        format!("{prefix}/{path}")
    }
}
