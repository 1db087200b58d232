//! HTTP routing: routes per method, path parameters, groups with a prefix and their own
//! middleware.
//!
//! Paths use `matchit` syntax: `/users/{id}` binds one segment, `/files/{*path}` binds the rest.
//! Matching is on the path as the source sent it (percent-encoded, except an HTTP API's, which
//! arrives decoded); parameters are decoded once, and never when the source decoded the path
//! already (`docs/routing.md`, "Percent-decoding, by source"). A path that matches no
//! route is a 404; a path that matches with another method is a 405 with an `Allow` header;
//! `HEAD` is served by the `GET` handler, without the body.

mod base_path;
mod events;
mod router;

use std::sync::Arc;

use http::Method;

use crate::handler::{endpoint, Handler};
use crate::middleware::{Endpoint, Middleware};
pub(crate) use base_path::route_start;
pub use events::BatchOptions;
pub(crate) use events::{pipeline as event_pipeline, EventRoutes};
pub(crate) use router::{Match, Router};

/// The method verbs, written once for [`Route`] (`.get(handler)`) and for the builders that
/// take a path first, [`App`](crate::App) and [`Group`] (`.get(path, handler)`, a one-method
/// route at `path`), so the three always offer the same set.
macro_rules! verbs {
    (route) => {
        $crate::routing::verbs!(@each route);
    };
    (path $where:literal) => {
        $crate::routing::verbs!(@each path $where);
    };
    // Each verb: its name, its method (`None`: any), what it handles, and a note.
    (@each $($kind:tt)+) => {
        $crate::routing::verbs!(@one $($kind)+, get, Some(::http::Method::GET), "`GET`",
            " The handler answers `HEAD` too, without the body, unless `HEAD` has its own.");
        $crate::routing::verbs!(@one $($kind)+, post, Some(::http::Method::POST), "`POST`",
            "");
        $crate::routing::verbs!(@one $($kind)+, put, Some(::http::Method::PUT), "`PUT`", "");
        $crate::routing::verbs!(@one $($kind)+, patch, Some(::http::Method::PATCH), "`PATCH`",
            "");
        $crate::routing::verbs!(@one $($kind)+, delete, Some(::http::Method::DELETE),
            "`DELETE`", "");
        $crate::routing::verbs!(@one $($kind)+, head, Some(::http::Method::HEAD), "`HEAD`",
            " Without a `HEAD` handler, the `GET` handler answers it.");
        $crate::routing::verbs!(@one $($kind)+, options, Some(::http::Method::OPTIONS),
            "`OPTIONS`", "");
        $crate::routing::verbs!(@one $($kind)+, any, None,
            "every method that has no handler of its own", "");
    };
    (@one route, $verb:ident, $method:expr, $what:literal, $note:literal) => {
        #[doc = concat!("Handle ", $what, ".", $note)]
        pub fn $verb<H: $crate::Handler<A>, A>(mut self, handler: H) -> Self {
            self.methods.push(($method, $crate::handler::endpoint(handler)));
            self
        }
    };
    (@one path $where:literal, $verb:ident, $method:expr, $what:literal, $note:literal) => {
        #[doc = concat!("Handle ", $what, " at `path`", $where, ".", $note)]
        pub fn $verb<H: $crate::Handler<A>, A>(self, path: &str, handler: H) -> Self {
            self.route(path, $crate::routing::Route::new().$verb(handler))
        }
    };
}
pub(crate) use verbs;

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

    verbs!(route);

    /// Accept request bodies of up to `bytes` on this route, instead of the app's limit
    /// ([`App::body_limit`](crate::App::body_limit), 2 MiB by default). A larger body is a 413
    /// `payload_too_large`, and is never read.
    ///
    /// ```
    /// use lift::{routing::Route, App, Context};
    ///
    /// async fn upload(ctx: Context) -> String { format!("{} bytes", ctx.request().body().unwrap().len()) }
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
///         if ctx.request().header("x-admin").is_none() {
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

    verbs!(path " under the group's prefix");
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
