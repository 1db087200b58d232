//! [`Cors`], the middleware, and [`CorsBuilder`], the configuration it is built from.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};

use super::error::CorsError;
use super::origin::{parse_origin, OriginRule, Origins};
use super::policy::{AllowHeaders, Policy};
use super::vary::join;
use crate::context::Context;
use crate::middleware::{Middleware, Next, Outcome};
use crate::BoxFuture;

/// The methods allowed when [`CorsBuilder::allow_methods`] is not called: the usual REST verbs.
const DEFAULT_METHODS: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The configuration of a [`Cors`], checked by [`build`](Self::build).
///
/// Nothing is allowed until configured: with no origin, no cross-origin request is allowed
/// (useful as a [per-route](Self::route) policy that shuts CORS off).
#[derive(Debug, Clone, Default)]
pub struct CorsBuilder {
    any_origin: bool,
    origins: Vec<String>,
    methods: Option<Vec<Method>>,
    headers: Vec<String>,
    mirror_headers: bool,
    expose: Vec<String>,
    credentials: bool,
    max_age: Option<Duration>,
    routes: Vec<(String, Cors)>,
}

impl CorsBuilder {
    /// Allow an origin: exactly `scheme://host[:port]` as a browser sends it
    /// (`https://app.example.com`), or every sub-domain of a domain with `*` as the whole
    /// leftmost label (`https://*.example.org` allows `https://a.example.org` and
    /// `https://a.b.example.org`, not `https://example.org`, another scheme or another port).
    /// `"*"` is the same as [`allow_any_origin`](Self::allow_any_origin).
    ///
    /// The configured origin is written the way a browser serialises one: scheme and host in
    /// lowercase, a default port (`:443` for https, `:80` for http) dropped. A request's
    /// `Origin` is compared with that form exactly (browsers always send it so; `HTTPS://APP.…`
    /// is not a browser's and is refused). Anything else malformed (a path, a trailing
    /// `/`, `null`) is a [`CorsError::InvalidOrigin`] from [`build`](Self::build).
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Allow each of several origins, as [`allow_origin`](Self::allow_origin).
    pub fn allow_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.origins.extend(origins.into_iter().map(Into::into));
        self
    }

    /// Allow every origin: answer `Access-Control-Allow-Origin: *`, so browsers send no
    /// credentials. Overrides the listed origins. Cannot be combined with
    /// [`allow_credentials`](Self::allow_credentials).
    pub fn allow_any_origin(mut self) -> Self {
        self.any_origin = true;
        self
    }

    /// The methods a preflight allows (`Access-Control-Allow-Methods`); replaces the default
    /// `GET, HEAD, POST, PUT, PATCH, DELETE`. An empty list sends no header, leaving the
    /// browser's CORS-safelisted `GET`, `HEAD` and `POST`.
    pub fn allow_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = Some(methods.into_iter().collect());
        self
    }

    /// Request headers a preflight allows beyond the CORS-safelisted ones
    /// (`Access-Control-Allow-Headers`), e.g. `content-type` for JSON bodies and
    /// `authorization`. Calls add up. None are allowed by default.
    pub fn allow_headers<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.headers
            .extend(names.into_iter().map(|n| n.as_ref().to_owned()));
        self
    }

    /// Allow whatever request headers a preflight asks for, by echoing its
    /// `Access-Control-Request-Headers`. Takes precedence over
    /// [`allow_headers`](Self::allow_headers).
    pub fn mirror_request_headers(mut self) -> Self {
        self.mirror_headers = true;
        self
    }

    /// Response headers the browser lets the calling page read beyond the CORS-safelisted
    /// ones (`Access-Control-Expose-Headers`). Calls add up.
    pub fn expose_headers<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.expose
            .extend(names.into_iter().map(|n| n.as_ref().to_owned()));
        self
    }

    /// Allow credentials (cookies, `Authorization`, client certificates):
    /// `Access-Control-Allow-Credentials: true` for allowed origins.
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// How long a browser may cache a preflight's answer (`Access-Control-Max-Age`, whole
    /// seconds). Browsers cap it (Chromium at two hours). Unset, browsers use five seconds.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Use `cors` instead of this policy for requests whose path matches `template`, in the
    /// router's syntax (`/public/{*path}`), preflights included. The most specific matching
    /// template wins, as in routing.
    pub fn route(mut self, template: impl Into<String>, cors: Cors) -> Self {
        self.routes.push((template.into(), cors));
        self
    }

    /// Check the configuration and build the middleware.
    pub fn build(self) -> Result<Cors, CorsError> {
        let policy = Arc::new(self.policy()?);
        let routes = if self.routes.is_empty() {
            None
        } else {
            let mut router = matchit::Router::new();
            for (template, cors) in self.routes {
                if cors.routes.is_some() {
                    // Nesting would be silently ignored otherwise: say so instead.
                    return Err(CorsError::InvalidRoute {
                        template,
                        reason: "a per-route policy cannot have per-route policies of its own"
                            .to_owned(),
                    });
                }
                if let Err(e) = router.insert(template.clone(), cors.policy) {
                    return Err(CorsError::InvalidRoute {
                        template,
                        reason: e.to_string(),
                    });
                }
            }
            Some(Arc::new(router))
        };
        Ok(Cors { policy, routes })
    }

    /// The checked policy of this configuration.
    fn policy(&self) -> Result<Policy, CorsError> {
        let b = self;
        let any = b.any_origin || b.origins.iter().any(|o| o == "*");
        if any && b.credentials {
            return Err(CorsError::AnyOriginWithCredentials);
        }
        let mut exact = Vec::new();
        let mut patterns = Vec::new();
        // Checked even when any origin is allowed, so a typo is reported either way.
        for o in b.origins.iter().filter(|o| *o != "*") {
            match parse_origin(o)? {
                OriginRule::Exact(s) => {
                    let value =
                        HeaderValue::from_str(&s).map_err(|_| CorsError::InvalidOrigin {
                            origin: o.clone(),
                            reason: "not a valid header value",
                        })?;
                    exact.push((s.into_boxed_str(), value));
                }
                OriginRule::Pattern(p) => patterns.push(p),
            }
        }
        let origins = if any {
            Origins::Any
        } else {
            Origins::List { exact, patterns }
        };
        let methods = match &b.methods {
            Some(m) => m.clone(),
            None => DEFAULT_METHODS.to_vec(),
        };
        let mut method_names: Vec<&str> = Vec::new();
        for m in &methods {
            if !method_names.contains(&m.as_str()) {
                method_names.push(m.as_str());
            }
        }
        let headers = if b.mirror_headers {
            AllowHeaders::Mirror
        } else {
            AllowHeaders::List(header_list(&b.headers, b.credentials)?)
        };
        Ok(Policy {
            origins,
            credentials: b.credentials,
            methods: join(&method_names),
            headers,
            expose: header_list(&b.expose, b.credentials)?,
            max_age: b.max_age.map(|d| HeaderValue::from(d.as_secs())),
        })
    }
}

/// Comma-join validated header names; `*` is refused with credentials (read literally then).
fn header_list(names: &[String], credentials: bool) -> Result<Option<HeaderValue>, CorsError> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let n = n.trim();
        if n == "*" {
            if credentials {
                return Err(CorsError::WildcardHeaderWithCredentials);
            }
        } else if HeaderName::from_bytes(n.as_bytes()).is_err() {
            return Err(CorsError::InvalidHeaderName(n.to_owned()));
        }
        let n = n.to_ascii_lowercase();
        if !out.contains(&n) {
            out.push(n);
        }
    }
    let names: Vec<&str> = out.iter().map(String::as_str).collect();
    Ok(join(&names))
}

/// The CORS middleware. Build it with [`Cors::builder`]; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct Cors {
    policy: Arc<Policy>,
    routes: Option<Arc<matchit::Router<Arc<Policy>>>>,
}

impl Cors {
    /// A builder with nothing allowed yet.
    pub fn builder() -> CorsBuilder {
        CorsBuilder::default()
    }

    /// The policy for a request path: the most specific per-route template that matches it,
    /// else the default.
    ///
    /// The path is matched with the router's own syntax rather than read from
    /// [`Context::route`], because a preflight to a route without an `OPTIONS` handler is a 405
    /// and has no matched route, yet must get the same policy as the route's other methods.
    fn policy_for(&self, path: &str) -> &Arc<Policy> {
        self.routes
            .as_ref()
            .and_then(|r| r.at(path).ok())
            .map_or(&self.policy, |m| m.value)
    }
}

impl Middleware for Cors {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        let policy = self.policy_for(ctx.path());
        let origin = ctx.request().header("origin");
        let is_preflight = *ctx.request().method() == Method::OPTIONS
            && origin.is_some()
            && ctx
                .request()
                .header("access-control-request-method")
                .is_some();
        if is_preflight {
            let r = policy.preflight(
                origin,
                ctx.request().header("access-control-request-headers"),
            );
            return Box::pin(std::future::ready(Ok(r)));
        }
        let actual = policy.actual(origin);
        if actual.is_empty() {
            return next.run(ctx);
        }
        let inner = next.run(ctx);
        Box::pin(async move { actual.apply(inner.await) })
    }

    fn http_only(&self) -> bool {
        true
    }
}
