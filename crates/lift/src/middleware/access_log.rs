//! `AccessLog`: one structured line per request, written when it completes.
//!
//! The line carries `method`, `route` (the template, e.g. `/users/{id}` — low-cardinality, unlike
//! the path), `path`, `status`, `latency_ms`, `source_ip`, `user_agent` and `query`, plus
//! everything the invocation's logger adds: `request_id`, and `tenant_id`/`user_id` once an inner
//! middleware (JWT auth) has set them. It is written at the configured level (INFO by default)
//! and at ERROR for 5xx responses. Paths can be skipped (health checks). It is for HTTP requests
//! only: other events pass straight through.
//!
//! Secrets never reach it:
//! - the `authorization`, `cookie`, `set-cookie`, `proxy-authorization`, `x-api-key` and
//!   `x-amz-security-token` headers, and any configured sensitive header, are left out (headers
//!   are only logged at all with [`log_headers`](AccessLog::log_headers));
//! - the values of sensitive query keys are written `[redacted]`: by default (matched in any
//!   case) [`DEFAULT_SENSITIVE_QUERY`] — `token`, `access_token`, `id_token`, `refresh_token`,
//!   `code`, `password`, `secret`, `api_key`, `apikey`, `signature`, `sig` and the SigV4 keys
//!   `X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token` — plus any configured with
//!   [`sensitive_query`](AccessLog::sensitive_query), minus any given back with
//!   [`reveal_query`](AccessLog::reveal_query).
//!
//! ```
//! use lift::middleware::AccessLog;
//! use lift::prelude::*;
//!
//! let app = App::new()
//!     .middleware(AccessLog::new().skip_path("/health").sensitive_query("token"))
//!     .get("/health", |_ctx: Context| async { "ok" });
//! assert!(app.build().is_ok());
//! ```

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use super::{Middleware, Next, Outcome, OutcomeExt};
use crate::http::Request;
use crate::observability::{Field, Level};
use crate::{BoxFuture, Context, RequestHandle};

/// Headers never logged, whatever the configuration.
const ALWAYS_SENSITIVE: [&str; 6] = [
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
    "x-api-key",
    "x-amz-security-token",
];

/// The query keys whose values are redacted by default, matched in any case: tokens, codes,
/// passwords and secrets, API keys, signatures, and the SigV4 presigned-URL keys.
pub const DEFAULT_SENSITIVE_QUERY: [&str; 14] = [
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "code",
    "password",
    "secret",
    "api_key",
    "apikey",
    "signature",
    "sig",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
];

/// What a sensitive query value is written as.
const REDACTED: &str = "[redacted]";

/// Writes one line per request. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct AccessLog {
    config: Arc<Config>,
}

#[derive(Debug, Clone)]
struct Config {
    level: Level,
    skip: Vec<String>,
    sensitive_headers: Vec<String>,
    sensitive_query: Vec<String>,
    log_headers: bool,
}

impl Default for AccessLog {
    fn default() -> Self {
        Self::new()
    }
}

impl AccessLog {
    /// INFO lines, query logged (sensitive values redacted), headers not logged.
    pub fn new() -> Self {
        AccessLog {
            config: Arc::new(Config {
                level: Level::Info,
                skip: Vec::new(),
                sensitive_headers: Vec::new(),
                sensitive_query: DEFAULT_SENSITIVE_QUERY.map(str::to_owned).to_vec(),
                log_headers: false,
            }),
        }
    }

    fn config(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// The level of the lines for requests that did not fail with a 5xx.
    pub fn level(mut self, level: Level) -> Self {
        self.config().level = level;
        self
    }

    /// Write nothing for this exact path (e.g. `/health`).
    pub fn skip_path(mut self, path: impl Into<String>) -> Self {
        self.config().skip.push(path.into());
        self
    }

    /// Never log this header (in addition to the built-in list).
    pub fn sensitive_header(mut self, name: impl Into<String>) -> Self {
        self.config()
            .sensitive_headers
            .push(name.into().to_ascii_lowercase());
        self
    }

    /// Redact this query parameter too (matched in any case).
    pub fn sensitive_query(mut self, name: impl Into<String>) -> Self {
        self.config().sensitive_query.push(name.into());
        self
    }

    /// Log this query parameter after all, although it is in [`DEFAULT_SENSITIVE_QUERY`]
    /// (e.g. a `code` that is a product code, not an OAuth one).
    pub fn reveal_query(mut self, name: &str) -> Self {
        self.config()
            .sensitive_query
            .retain(|s| !s.eq_ignore_ascii_case(name));
        self
    }

    /// Also log the request headers (sensitive ones left out).
    pub fn log_headers(mut self, on: bool) -> Self {
        self.config().log_headers = on;
        self
    }
}

impl Config {
    fn header_allowed(&self, name: &str) -> bool {
        !ALWAYS_SENSITIVE
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name))
            && !self
                .sensitive_headers
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
    }

    /// The query (first value of each key), sensitive values redacted, when there is one.
    fn query(&self, req: &Request<'_>) -> Option<Value> {
        let mut query = Map::new();
        for (k, v) in req.query_pairs() {
            let sensitive = self
                .sensitive_query
                .iter()
                .any(|s| s.eq_ignore_ascii_case(k));
            query
                .entry(k.to_owned())
                .or_insert_with(|| Value::String(if sensitive { REDACTED } else { v }.to_owned()));
        }
        (!query.is_empty()).then_some(Value::Object(query))
    }

    fn headers(&self, req: &Request<'_>) -> Value {
        let mut headers = Map::new();
        for (k, v) in req.headers() {
            if self.header_allowed(k) {
                headers
                    .entry(k.to_ascii_lowercase())
                    .or_insert_with(|| Value::String(v.to_owned()));
            }
        }
        Value::Object(headers)
    }

    /// Write the line, reading the request through its handle (no copies).
    fn write(&self, req: &RequestHandle, outcome: &Outcome, latency_ms: f64) {
        let status = outcome.status();
        let request = req.request();
        let query = self.query(request);
        let headers = self.log_headers.then(|| self.headers(request));
        let mut fields: Vec<(&str, Field<'_>)> = Vec::with_capacity(10);
        fields.push(("method", Field::Str(request.method().as_str())));
        fields.push((
            "route",
            req.route().map_or(Field::Json(&Value::Null), Field::Str),
        ));
        fields.push(("path", Field::Str(req.path())));
        fields.push(("status", Field::U64(u64::from(status.as_u16()))));
        fields.push((
            "latency_ms",
            Field::F64((latency_ms * 1000.0).round() / 1000.0),
        ));
        if let Some(ip) = request.source_ip() {
            fields.push(("source_ip", Field::Str(ip)));
        }
        if let Some(ua) = request.user_agent() {
            fields.push(("user_agent", Field::Str(ua)));
        }
        if let Some(q) = &query {
            fields.push(("query", Field::Json(q)));
        }
        if let Some(h) = &headers {
            fields.push(("headers", Field::Json(h)));
        }
        let level = if status.is_server_error() {
            Level::Error
        } else {
            self.level
        };
        req.logger().log(level, "request", &fields);
    }
}

impl Middleware for AccessLog {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        let config = &self.config;
        if config.skip.iter().any(|p| p == ctx.path()) {
            return next.run(ctx);
        }
        let config = config.clone();
        let req = ctx.handle();
        let started = Instant::now();
        Box::pin(async move {
            let outcome = next.run(ctx).await;
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            config.write(&req, &outcome, latency_ms);
            outcome
        })
    }

    fn http_only(&self) -> bool {
        true
    }
}
