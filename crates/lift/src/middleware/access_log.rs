//! `AccessLog`: one structured line per request, written when it completes.
//!
//! The line carries `method`, `route` (the template, e.g. `/users/{id}` — low-cardinality, unlike
//! the path), `path`, `status`, `latency_ms`, `source_ip`, `user_agent` and `query`, plus
//! everything the invocation's logger adds: `request_id`, and `tenant_id`/`user_id` once an inner
//! middleware (JWT auth) has set them. It is written at the configured level (INFO by default)
//! and at ERROR for 5xx responses. Paths can be skipped (health checks).
//!
//! Secrets never reach it: `authorization`, `cookie`, `set-cookie`, `proxy-authorization` and
//! `x-api-key` headers, and any configured sensitive header or query key, are left out (headers
//! are only logged at all with [`log_headers`](AccessLog::log_headers)).
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

use std::time::Instant;

use serde_json::{Map, Value};

use super::{Middleware, Next, Outcome};
use crate::observability::{Field, Level};
use crate::{BoxFuture, Context};

/// Headers never logged, whatever the configuration.
const ALWAYS_SENSITIVE: [&str; 5] = [
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
    "x-api-key",
];

/// Writes one line per request. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct AccessLog {
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
    /// INFO lines, query logged (minus sensitive keys), headers not logged.
    pub fn new() -> Self {
        AccessLog {
            level: Level::Info,
            skip: Vec::new(),
            sensitive_headers: Vec::new(),
            sensitive_query: Vec::new(),
            log_headers: false,
        }
    }

    /// The level of the lines for requests that did not fail with a 5xx.
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Write nothing for this exact path (e.g. `/health`).
    pub fn skip_path(mut self, path: impl Into<String>) -> Self {
        self.skip.push(path.into());
        self
    }

    /// Never log this header (in addition to the built-in list).
    pub fn sensitive_header(mut self, name: impl Into<String>) -> Self {
        self.sensitive_headers
            .push(name.into().to_ascii_lowercase());
        self
    }

    /// Never log this query parameter.
    pub fn sensitive_query(mut self, name: impl Into<String>) -> Self {
        self.sensitive_query.push(name.into());
        self
    }

    /// Also log the request headers (sensitive ones left out).
    pub fn log_headers(mut self, on: bool) -> Self {
        self.log_headers = on;
        self
    }

    fn header_allowed(&self, name: &str) -> bool {
        !ALWAYS_SENSITIVE
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name))
            && !self
                .sensitive_headers
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
    }

    /// The request's facts, copied before the context moves down the chain.
    fn request_fields(&self, ctx: &Context) -> Vec<(&'static str, Value)> {
        let req = ctx.request();
        let mut fields = vec![
            ("method", Value::String(ctx.method().to_string())),
            (
                "route",
                ctx.route()
                    .map_or(Value::Null, |r| Value::String(r.to_owned())),
            ),
            ("path", Value::String(ctx.path().to_owned())),
        ];
        if let Some(ip) = ctx.source_ip() {
            fields.push(("source_ip", Value::String(ip.to_owned())));
        }
        if let Some(ua) = ctx.user_agent() {
            fields.push(("user_agent", Value::String(ua.to_owned())));
        }
        let mut query = Map::new();
        for (k, v) in req.query_pairs() {
            if !self.sensitive_query.iter().any(|s| s == k) {
                query
                    .entry(k.to_owned())
                    .or_insert_with(|| Value::String(v.to_owned()));
            }
        }
        if !query.is_empty() {
            fields.push(("query", Value::Object(query)));
        }
        if self.log_headers {
            let mut headers = Map::new();
            for (k, v) in req.headers() {
                if self.header_allowed(k) {
                    headers
                        .entry(k.to_ascii_lowercase())
                        .or_insert_with(|| Value::String(v.to_owned()));
                }
            }
            fields.push(("headers", Value::Object(headers)));
        }
        fields
    }
}

impl Middleware for AccessLog {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        if !ctx.event_kind().is_http() || self.skip.iter().any(|p| p == ctx.path()) {
            return next.run(ctx);
        }
        let logger = ctx.logger();
        let fields = self.request_fields(&ctx);
        let level = self.level;
        let started = Instant::now();
        Box::pin(async move {
            let outcome = next.run(ctx).await;
            let status = match &outcome {
                Ok(r) => r.status(),
                Err(e) => e.status(),
            };
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let mut all: Vec<(&str, Field<'_>)> =
                fields.iter().map(|(k, v)| (*k, Field::Json(v))).collect();
            all.insert(3, ("status", Field::U64(u64::from(status.as_u16()))));
            all.insert(
                4,
                (
                    "latency_ms",
                    Field::F64((latency_ms * 1000.0).round() / 1000.0),
                ),
            );
            let level = if status.is_server_error() {
                Level::Error
            } else {
                level
            };
            logger.log(level, "request", &all);
            outcome
        })
    }
}
