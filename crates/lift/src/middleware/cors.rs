//! `Cors`: cross-origin resource sharing, as the Fetch standard defines it.
//!
//! [`Cors`] lets browsers on other origins call the API. It answers preflights itself and adds
//! the `Access-Control-*` headers to every other response, errors included:
//!
//! - **Preflight** (`OPTIONS` with `Origin` and `Access-Control-Request-Method`): answered `204`
//!   without running the handler. From an allowed origin it carries `Access-Control-Allow-Origin`,
//!   `-Allow-Methods`, `-Allow-Headers`, `-Max-Age` and `-Allow-Credentials` as configured; from
//!   any other origin it carries none of them, so the browser blocks the request.
//! - **Actual request** from an allowed origin: the handler runs and its response (or error)
//!   gets `Access-Control-Allow-Origin`, `-Allow-Credentials` and `-Expose-Headers`. From another
//!   origin, or with no `Origin`, the handler runs and its response gets no CORS headers.
//! - **`Vary`**: a preflight always gets `Vary: Origin, Access-Control-Request-Method,
//!   Access-Control-Request-Headers`, and every other response `Vary: Origin` unless any origin
//!   is allowed (the answer then does not depend on it), so a cache never serves one origin's
//!   answer to another. Existing `Vary` values are kept and never repeated.
//!
//! An allowed origin is echoed back exactly. With [`CorsBuilder::allow_any_origin`] the answer
//! is `*` instead, and the browser then sends no cookies or credentials; combining it with
//! [`CorsBuilder::allow_credentials`] is refused when building ([`CorsError`]), and no
//! configuration echoes an origin it was not given, so a credentialed request is only ever
//! allowed from an origin listed here.
//!
//! Install it app-wide ([`App::middleware`](crate::App::middleware)), first: app-wide
//! middleware runs after routing but before a 404 or 405 is produced, so it answers preflights
//! for paths whose routes have no `OPTIONS` handler, and errors returned by later middleware
//! (a 401 from authentication) still reach the browser readable. As group or route middleware
//! it would never see those preflights. A different policy for some paths is set with
//! [`CorsBuilder::route`]. For events that are not HTTP requests it does nothing and calls the
//! rest of the chain.
//!
//! Its neighbour [`SecurityHeaders`](super::SecurityHeaders) adds headers that restrict what a
//! browser does with a response; `Cors` relaxes what a browser allows across origins, and is
//! the only middleware here that answers a request without running the handler.
//!
//! The semantics follow tower-http's `CorsLayer`, which is not used directly. Lift's chain is
//! not a tower `Service` over `http::Request`; [`TowerLayer`](super::TowerLayer) adapts tower
//! layers, but an error from the inner chain passes through it unchanged, so 401s, 404s and
//! 405s would reach the browser without CORS headers (and be hidden from the page). CORS also
//! has to run before the router's 404 and 405 and pick a per-route policy from the path the
//! router saw. Three deliberate differences: a preflight is answered `204` and carries no
//! CORS headers when its origin is not allowed; an invalid configuration is a [`CorsError`]
//! from [`CorsBuilder::build`], not a panic; and sub-domain patterns
//! (`https://*.example.org`) are built in.
//!
//! ```
//! use std::time::Duration;
//! use http::Method;
//! use lift::middleware::Cors;
//! use lift::{App, Context};
//!
//! # fn main() -> Result<(), lift::middleware::CorsError> {
//! let cors = Cors::builder()
//!     .allow_origin("https://app.example.com")
//!     .allow_origin("https://*.preview.example.com")
//!     .allow_methods([Method::GET, Method::POST, Method::DELETE])
//!     .allow_headers(["content-type", "authorization"])
//!     .expose_headers(["x-request-id"])
//!     .allow_credentials(true)
//!     .max_age(Duration::from_secs(600))
//!     // Anyone may read the public pages, without credentials.
//!     .route("/public/{*path}", Cors::builder().allow_any_origin().build()?)
//!     .build()?;
//!
//! let app = App::new()
//!     .middleware(cors)
//!     .get("/me", |_: Context| async { "me" })
//!     .get("/public/{*path}", |_: Context| async { "public" });
//! # assert!(app.build().is_ok());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use super::{Middleware, Next, Outcome};
use crate::context::Context;
use crate::error::Error;
use crate::http::Response;
use crate::BoxFuture;

/// The `Vary` name of any other response that depends on the origin.
const ORIGIN_VARY: [&str; 1] = ["Origin"];

/// The methods allowed when [`CorsBuilder::allow_methods`] is not called: the usual REST verbs.
const DEFAULT_METHODS: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The CORS middleware. Build it with [`Cors::builder`]; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Cors {
    policy: Arc<Policy>,
    routes: Option<Arc<matchit::Router<Arc<Policy>>>>,
}

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

/// Why a [`CorsBuilder`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorsError {
    /// Any origin (`*`) together with credentials: the Fetch standard forbids the pair, and
    /// echoing every origin instead would let any site make requests with the user's cookies.
    AnyOriginWithCredentials,
    /// `*` as an allowed or exposed header name together with credentials: browsers then read
    /// it as a header literally named `*`, not as "every header".
    WildcardHeaderWithCredentials,
    /// An allowed origin that is not `scheme://host[:port]` or `scheme://*.domain[:port]`.
    InvalidOrigin {
        /// The origin as configured.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An allowed or exposed header that is not a valid header name.
    InvalidHeaderName(String),
    /// A per-route template the router syntax rejects, or one given twice.
    InvalidRoute {
        /// The template as configured.
        template: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for CorsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorsError::AnyOriginWithCredentials => f.write_str(
                "invalid CORS configuration: any origin (`*`) cannot be combined with credentials; \
                 list the allowed origins instead",
            ),
            CorsError::WildcardHeaderWithCredentials => f.write_str(
                "invalid CORS configuration: `*` as a header name is read literally when \
                 credentials are allowed; list the header names instead",
            ),
            CorsError::InvalidOrigin { origin, reason } => {
                write!(f, "invalid CORS origin `{origin}`: {reason}")
            }
            CorsError::InvalidHeaderName(name) => {
                write!(f, "invalid CORS configuration: `{name}` is not a header name")
            }
            CorsError::InvalidRoute { template, reason } => {
                write!(f, "invalid CORS route `{template}`: {reason}")
            }
        }
    }
}

impl std::error::Error for CorsError {}

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

impl CorsBuilder {
    /// Allow an origin: exactly `scheme://host[:port]` as a browser sends it
    /// (`https://app.example.com`), or every sub-domain of a domain with `*` as the whole
    /// leftmost label (`https://*.example.org` allows `https://a.example.org` and
    /// `https://a.b.example.org`, not `https://example.org`, another scheme or another port).
    /// `"*"` is the same as [`allow_any_origin`](Self::allow_any_origin).
    ///
    /// Scheme and host are compared case-insensitively and a default port (`:443` for https,
    /// `:80` for http) is dropped, as browsers do; anything else malformed (a path, a trailing
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
        let policy = Arc::new(Policy::new(&self)?);
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
}

/// One checked CORS configuration, with its header values computed once.
#[derive(Debug)]
struct Policy {
    origins: Origins,
    credentials: bool,
    methods: Option<HeaderValue>,
    headers: AllowHeaders,
    expose: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

#[derive(Debug)]
enum Origins {
    Any,
    /// Exact origins (with their header value, to echo without re-validating) and patterns.
    List {
        exact: Vec<(Box<str>, HeaderValue)>,
        patterns: Vec<Pattern>,
    },
}

#[derive(Debug)]
enum AllowHeaders {
    List(Option<HeaderValue>),
    Mirror,
}

/// `scheme://*.suffix[:port]`.
#[derive(Debug)]
struct Pattern {
    /// `https://`
    scheme: Box<str>,
    /// `.example.org`, with its leading dot.
    suffix: Box<str>,
    /// `:8443`, or empty for no port.
    port: Box<str>,
}

impl Policy {
    fn new(b: &CorsBuilder) -> Result<Self, CorsError> {
        let any = b.any_origin || b.origins.iter().any(|o| o == "*");
        if any && b.credentials {
            return Err(CorsError::AnyOriginWithCredentials);
        }
        let mut exact = Vec::new();
        let mut patterns = Vec::new();
        // Checked even when any origin is allowed, so a typo is reported either way.
        for o in b.origins.iter().filter(|o| *o != "*") {
            match parse_origin(o)? {
                Rule::Exact(s) => {
                    let value =
                        HeaderValue::from_str(&s).map_err(|_| CorsError::InvalidOrigin {
                            origin: o.clone(),
                            reason: "not a valid header value",
                        })?;
                    exact.push((s.into_boxed_str(), value));
                }
                Rule::Pattern(p) => patterns.push(p),
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

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if it is allowed.
    fn allow_origin(&self, origin: Option<&str>) -> Option<HeaderValue> {
        match &self.origins {
            Origins::Any => Some(HeaderValue::from_static("*")),
            Origins::List { exact, patterns } => {
                let origin = origin?;
                if let Some((_, v)) = exact.iter().find(|(o, _)| **o == *origin) {
                    return Some(v.clone());
                }
                if patterns.iter().any(|p| p.matches(origin)) {
                    return HeaderValue::from_str(origin).ok();
                }
                None
            }
        }
    }

    fn preflight(&self, origin: Option<&str>, request_headers: Option<&str>) -> Response {
        let mut r = Response::new(StatusCode::NO_CONTENT);
        let h = r.headers_mut();
        // The answer depends on all three request headers; the response is fresh, so there is
        // no `Vary` to merge with.
        h.insert(
            VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        let Some(allow) = self.allow_origin(origin) else {
            return r;
        };
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if self.credentials {
            h.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(m) = &self.methods {
            h.insert(ACCESS_CONTROL_ALLOW_METHODS, m.clone());
        }
        let allow_headers = match &self.headers {
            AllowHeaders::List(v) => v.clone(),
            AllowHeaders::Mirror => request_headers
                .filter(|v| !v.trim().is_empty())
                .and_then(|v| HeaderValue::from_str(v).ok()),
        };
        if let Some(v) = allow_headers {
            h.insert(ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        if let Some(v) = &self.max_age {
            h.insert(ACCESS_CONTROL_MAX_AGE, v.clone());
        }
        r
    }

    /// What an actual (non-preflight) response gets.
    fn actual(&self, origin: Option<&str>) -> Actual {
        let allow_origin = origin.and_then(|o| self.allow_origin(Some(o)));
        let allowed = allow_origin.is_some();
        Actual {
            allow_origin,
            credentials: allowed && self.credentials,
            expose: self.expose.clone().filter(|_| allowed),
            vary_origin: !matches!(self.origins, Origins::Any),
        }
    }
}

/// The headers an actual response gets, computed before the handler runs (the [`Context`] is
/// handed on, so the request cannot be read afterwards).
struct Actual {
    allow_origin: Option<HeaderValue>,
    credentials: bool,
    expose: Option<HeaderValue>,
    vary_origin: bool,
}

impl Actual {
    fn is_empty(&self) -> bool {
        self.allow_origin.is_none() && !self.vary_origin
    }

    fn headers(self) -> impl Iterator<Item = (HeaderName, HeaderValue)> {
        let credentials = self.credentials.then(|| HeaderValue::from_static("true"));
        [
            (ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin),
            (ACCESS_CONTROL_ALLOW_CREDENTIALS, credentials),
            (ACCESS_CONTROL_EXPOSE_HEADERS, self.expose),
        ]
        .into_iter()
        .filter_map(|(n, v)| Some((n, v?)))
    }

    fn apply(self, outcome: Outcome) -> Outcome {
        let vary = self.vary_origin;
        match outcome {
            Ok(mut r) => {
                let h = r.headers_mut();
                if vary {
                    add_vary(h, &ORIGIN_VARY);
                }
                for (name, value) in self.headers() {
                    // Replace, never append: a browser rejects two `Access-Control-Allow-Origin`s.
                    h.insert(name, value);
                }
                Ok(r)
            }
            Err(mut e) => {
                if vary {
                    e = add_vary_to_error(e, &ORIGIN_VARY);
                }
                for (name, value) in self.headers() {
                    // An error's headers can only be appended to: keep one an inner step set
                    // rather than send two, which a browser rejects.
                    if !e.headers().iter().any(|(n, _)| *n == name) {
                        e = e.with_header(name, value);
                    }
                }
                Err(e)
            }
        }
    }
}

impl Middleware for Cors {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        let policy = self.policy_for(ctx.path());
        let origin = ctx.header("origin");
        let is_preflight = *ctx.method() == Method::OPTIONS
            && origin.is_some()
            && ctx.header("access-control-request-method").is_some();
        if is_preflight {
            let r = policy.preflight(origin, ctx.header("access-control-request-headers"));
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

enum Rule {
    Exact(String),
    Pattern(Pattern),
}

/// Parse and normalise a configured origin the way a browser serialises one.
fn parse_origin(raw: &str) -> Result<Rule, CorsError> {
    let invalid = |reason| CorsError::InvalidOrigin {
        origin: raw.to_owned(),
        reason,
    };
    let lower = raw.to_ascii_lowercase();
    let Some((scheme, rest)) = lower.split_once("://") else {
        return Err(invalid(
            "expected scheme://host[:port], e.g. https://app.example.com (the opaque origin \
             `null` is shared by every sandboxed page and cannot be allowed)",
        ));
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    if !scheme_ok {
        return Err(invalid("the scheme is not valid"));
    }
    if rest.contains(['/', '?', '#', '@']) {
        return Err(invalid(
            "an origin has no path, query or user info (and no trailing `/`)",
        ));
    }
    let (host, port) = split_port(rest).ok_or_else(|| invalid("the port is not a number"))?;
    let port = match (scheme, port) {
        // Browsers leave the default port out of the origin they send.
        ("https", Some("443")) | ("http", Some("80")) => None,
        (_, p) => p,
    };
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    if let Some(suffix) = host.strip_prefix("*.") {
        if !is_hostname(suffix) {
            return Err(invalid(
                "a wildcard must be the whole leftmost label of a host name: https://*.example.org",
            ));
        }
        if !suffix.contains('.') {
            return Err(invalid(
                "a wildcard needs a domain of at least two labels (`*.com` would allow every .com site)",
            ));
        }
        return Ok(Rule::Pattern(Pattern {
            scheme: format!("{scheme}://").into_boxed_str(),
            suffix: format!(".{suffix}").into_boxed_str(),
            port: port.into_boxed_str(),
        }));
    }
    if host.contains('*') {
        return Err(invalid(
            "a wildcard must be the whole leftmost label of a host name: https://*.example.org",
        ));
    }
    let ipv6 = host.len() > 2
        && host.starts_with('[')
        && host.ends_with(']')
        && host[1..host.len() - 1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    if !ipv6 && !is_hostname(host) {
        return Err(invalid("the host is not a valid host name"));
    }
    Ok(Rule::Exact(format!("{scheme}://{host}{port}")))
}

/// Split `host[:port]` (host possibly a bracketed IPv6 address); `None` when the port is not
/// a number.
fn split_port(s: &str) -> Option<(&str, Option<&str>)> {
    let colon = if s.starts_with('[') {
        s.find(']').and_then(|i| s[i..].find(':').map(|j| i + j))
    } else {
        s.rfind(':')
    };
    let Some(i) = colon else {
        return Some((s, None));
    };
    let port = &s[i + 1..];
    let numeric = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    (numeric && port.parse::<u16>().is_ok()).then_some((&s[..i], Some(port)))
}

/// Dot-separated non-empty labels of lowercase letters, digits, `-` and `_`.
fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

impl Pattern {
    /// Whether a request's `Origin` is `scheme://<labels><suffix><port>` exactly: one or more
    /// whole labels before the suffix, and the same port (or none).
    fn matches(&self, origin: &str) -> bool {
        let Some(rest) = origin.strip_prefix(&*self.scheme) else {
            return false;
        };
        let Some(host) = rest.strip_suffix(&*self.port) else {
            return false;
        };
        let Some(labels) = host.strip_suffix(&*self.suffix) else {
            return false;
        };
        // `is_hostname` rejects `:`, so a port the pattern does not name cannot hide in `labels`.
        is_hostname(labels)
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

/// `a, b, c` as a header value, or `None` for an empty list. The parts are method or header
/// names, always valid header-value bytes.
fn join(parts: &[&str]) -> Option<HeaderValue> {
    if parts.is_empty() {
        return None;
    }
    HeaderValue::from_str(&parts.join(", ")).ok()
}

/// The `Vary` names among `names` that `existing` values do not already cover; none when one
/// of them is `*` (the response varies on everything).
fn missing_vary<'a, 'v>(
    existing: impl Iterator<Item = &'v HeaderValue>,
    names: &[&'a str],
) -> (Vec<&'a str>, Vec<String>) {
    let mut present: Vec<String> = Vec::new();
    for v in existing {
        if let Ok(s) = v.to_str() {
            present.extend(
                s.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    if present.iter().any(|t| t == "*") {
        return (Vec::new(), present);
    }
    let missing = names
        .iter()
        .copied()
        .filter(|n| !present.iter().any(|t| t.eq_ignore_ascii_case(n)))
        .collect();
    (missing, present)
}

/// Add `names` to the response's `Vary`, keeping what is there, as one comma-joined value.
fn add_vary(h: &mut HeaderMap, names: &[&str]) {
    let (missing, present) = missing_vary(h.get_all(VARY).iter(), names);
    if missing.is_empty() {
        return;
    }
    let all: Vec<&str> = present.iter().map(String::as_str).chain(missing).collect();
    if let Some(v) = join(&all) {
        h.insert(VARY, v);
    }
}

/// Add `names` to an error's `Vary`. An error's headers can only be appended to; the renderer
/// joins repeated values, so appending only the missing names keeps each name once.
fn add_vary_to_error(e: Error, names: &[&str]) -> Error {
    let existing: Vec<&HeaderValue> = e
        .headers()
        .iter()
        .filter(|(n, _)| *n == VARY)
        .map(|(_, v)| v)
        .collect();
    let (missing, _) = missing_vary(existing.into_iter(), names);
    match join(&missing) {
        Some(v) => e.with_header(VARY, v),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PREFLIGHT_VARY: [&str; 3] = [
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
    ];

    fn pattern(s: &str) -> Pattern {
        match parse_origin(s).unwrap() {
            Rule::Pattern(p) => p,
            Rule::Exact(e) => panic!("{s} parsed as exact {e}"),
        }
    }

    fn exact(s: &str) -> String {
        match parse_origin(s).unwrap() {
            Rule::Exact(e) => e,
            Rule::Pattern(_) => panic!("{s} parsed as a pattern"),
        }
    }

    #[test]
    fn origins_are_normalised_as_browsers_send_them() {
        assert_eq!(exact("https://App.Example.com"), "https://app.example.com");
        assert_eq!(exact("https://a.com:443"), "https://a.com");
        assert_eq!(exact("http://a.com:80"), "http://a.com");
        assert_eq!(exact("http://a.com:8080"), "http://a.com:8080");
        assert_eq!(exact("http://localhost:3000"), "http://localhost:3000");
        assert_eq!(exact("http://[::1]:3000"), "http://[::1]:3000");
        assert_eq!(exact("http://127.0.0.1"), "http://127.0.0.1");
    }

    #[test]
    fn malformed_origins_are_refused() {
        for bad in [
            "null",
            "app.example.com",
            "https://a.com/",
            "https://a.com/path",
            "https://user@a.com",
            "https://a.com:port",
            "https://a.com:99999",
            "https://a*.example.org",
            "https://*example.org",
            "https://a.*.example.org",
            "https://*.com",
            "*://a.com",
            "https://",
            "https://a..com",
        ] {
            assert!(
                matches!(parse_origin(bad), Err(CorsError::InvalidOrigin { .. })),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn patterns_match_whole_labels_on_the_same_scheme_and_port() {
        let p = pattern("https://*.example.org");
        assert!(p.matches("https://a.example.org"));
        assert!(p.matches("https://a.b.example.org"));
        assert!(p.matches("https://x-1.example.org"));
        for no in [
            "https://example.org",
            "https://.example.org",
            "https://a..example.org",
            "http://a.example.org",
            "https://a.example.org.evil.com",
            "https://aexample.org",
            "https://evil.com/.example.org",
            "https://a.example.org:8443",
            "https://a:1.example.org",
            "https://A.example.org",
            "https://a.example.org ",
        ] {
            assert!(!p.matches(no), "{no} should not match");
        }
        let p = pattern("https://*.example.org:8443");
        assert!(p.matches("https://a.example.org:8443"));
        assert!(!p.matches("https://a.example.org"));
        assert!(!p.matches("https://a.example.org:443"));
        assert!(!p.matches("https://a.example.org:84431"));
    }

    #[test]
    fn vary_is_merged_not_repeated() {
        let mut h = HeaderMap::new();
        h.insert(VARY, HeaderValue::from_static("accept-encoding"));
        add_vary(&mut h, &PREFLIGHT_VARY);
        add_vary(&mut h, &ORIGIN_VARY);
        assert_eq!(
            h.get_all(VARY).iter().collect::<Vec<_>>(),
            ["accept-encoding, Origin, Access-Control-Request-Method, Access-Control-Request-Headers"]
        );
        let mut h = HeaderMap::new();
        h.insert(VARY, HeaderValue::from_static("*"));
        add_vary(&mut h, &ORIGIN_VARY);
        assert_eq!(h[VARY], "*");
    }
}
