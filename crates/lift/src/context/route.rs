//! [`RouteMatch`]: what the router found for an HTTP request — the template and the path
//! parameters — and the part of the raw path it matched on.

use std::sync::Arc;

/// A route's path parameters, name and decoded value, in template order.
pub(crate) type Params = Arc<[(Arc<str>, String)]>;

/// The route that matched a request. Cheap to clone: its parts are shared.
#[derive(Debug, Clone, Default)]
pub struct RouteMatch {
    /// Where the routed path starts in the raw path (after a stage or base path).
    pub(crate) path_start: usize,
    pub(crate) template: Option<Arc<str>>,
    /// `None` for a route without parameters, so most requests allocate nothing here.
    pub(crate) params: Option<Params>,
}

impl RouteMatch {
    /// The route template that matched, e.g. `/users/{id}`; `None` when no route matched (and
    /// for events that are not HTTP requests).
    pub fn template(&self) -> Option<&str> {
        self.template.as_deref()
    }

    /// A path parameter, percent-decoded: `param("id")` for `/users/{id}`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .flat_map(|p| p.iter())
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All path parameters, in template order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params
            .iter()
            .flat_map(|p| p.iter())
            .map(|(k, v)| (&**k, v.as_str()))
    }
}

/// The part of `raw` routing saw: after the stage prefix or base path that ends at `start`.
pub(crate) fn routed_path(raw: &str, start: usize) -> &str {
    match raw.get(start..) {
        // The stage or base path was the whole path: the router matched `/`.
        Some("") => "/",
        Some(rest) => rest,
        None => raw,
    }
}
