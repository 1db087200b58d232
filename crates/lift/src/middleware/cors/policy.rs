//! The CORS policy: [`CorsBuilder`] and its [`CorsError`], the checked [`Policy`] it builds,
//! and how a preflight is answered and an actual request's response decorated.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, VARY,
};
use http::{HeaderName, HeaderValue, Method, StatusCode};

use super::origin::{parse_origin, Origins, Rule};
use super::vary::{add_vary, ORIGIN_VARY};
use super::Cors;
use crate::http::Response;
use crate::middleware::{Outcome, OutcomeExt};

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
pub(super) struct Policy {
    origins: Origins,
    credentials: bool,
    methods: Option<HeaderValue>,
    headers: AllowHeaders,
    expose: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

#[derive(Debug)]
enum AllowHeaders {
    List(Option<HeaderValue>),
    Mirror,
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

    pub(super) fn preflight(
        &self,
        origin: Option<&str>,
        request_headers: Option<&str>,
    ) -> Response {
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
    pub(super) fn actual(&self, origin: Option<&str>) -> Actual {
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

/// The headers an actual response gets, computed before the handler runs (the
/// [`Context`](crate::context::Context) is handed on, so the request cannot be read afterwards).
pub(super) struct Actual {
    allow_origin: Option<HeaderValue>,
    credentials: bool,
    expose: Option<HeaderValue>,
    vary_origin: bool,
}

impl Actual {
    pub(super) fn is_empty(&self) -> bool {
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

    pub(super) fn apply(self, mut outcome: Outcome) -> Outcome {
        // A response and an error carry the same header map: decorated alike.
        let h = outcome.headers_mut();
        if self.vary_origin {
            add_vary(h, &ORIGIN_VARY);
        }
        for (name, value) in self.headers() {
            // Replace, never append: a browser rejects two `Access-Control-Allow-Origin`s.
            h.insert(name, value);
        }
        outcome
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
pub(super) fn join(parts: &[&str]) -> Option<HeaderValue> {
    if parts.is_empty() {
        return None;
    }
    HeaderValue::from_str(&parts.join(", ")).ok()
}
