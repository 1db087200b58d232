//! The checked CORS [`Policy`] a [`CorsBuilder`](super::CorsBuilder) builds: how a preflight is
//! answered and an actual request's response decorated.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, VARY,
};
use http::{HeaderName, HeaderValue, StatusCode};

use super::origin::Origins;
use super::vary::{add_vary, ORIGIN_VARY};
use crate::http::Response;
use crate::middleware::{Outcome, OutcomeExt};

/// One checked CORS configuration, with its header values computed once.
#[derive(Debug)]
pub(super) struct Policy {
    pub(super) origins: Origins,
    pub(super) credentials: bool,
    pub(super) methods: Option<HeaderValue>,
    pub(super) headers: AllowHeaders,
    pub(super) expose: Option<HeaderValue>,
    pub(super) max_age: Option<HeaderValue>,
}

#[derive(Debug)]
pub(super) enum AllowHeaders {
    List(Option<HeaderValue>),
    Mirror,
}

impl Policy {
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
