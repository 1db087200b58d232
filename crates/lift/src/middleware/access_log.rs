//! `AccessLog`: one structured line per request, written when it completes.
//!
//! The line carries `method`, `route` (the template, e.g. `/users/{id}` — low-cardinality, unlike
//! the path), `path`, `status`, `latency_ms`, `source_ip`, `user_agent` and `query`, plus
//! everything the invocation's logger adds: `request_id`, and `tenant_id`/`user_id` once an inner
//! middleware (JWT auth) has set them. It is written at the configured level (INFO by default)
//! and at ERROR for 5xx responses. Paths can be skipped (health checks). It is for HTTP requests
//! only: other events pass straight through.
//!
//! Secrets never reach it. A query key or header name is taken for a secret when it holds, in
//! any case and anywhere in it, one of the [`SENSITIVE_WORDS`]: `token`, `secret`, `key`, `sig`,
//! `pass`, `pwd`, `auth`, `session`, `code`, `credential` or `jwt`. So `id_token`, `accessToken`,
//! `api_key`, `apikey`, `client_secret`, `signature`, `X-Amz-Credential`, `password`, `passwd`
//! and `jwt` are all caught without a list of every spelling. Then:
//! - the values of such query keys, and of any key configured with
//!   [`sensitive_query`](AccessLog::sensitive_query), are written `[redacted]`;
//! - such headers are left out, as are `cookie`, `set-cookie`, every `x-amzn-oidc-*` header (the
//!   access token, signed claims and subject an ALB with OIDC authentication adds) and any
//!   configured with [`sensitive_header`](AccessLog::sensitive_header). Headers are only logged
//!   at all with [`log_headers`](AccessLog::log_headers).
//!
//! Erring this way redacts a harmless key that holds such a word (`keyword`, `design`,
//! `zipcode`) too; [`reveal_query`](AccessLog::reveal_query) gives such a key back. Matching
//! compares bytes in place, without lower-cased copies: a request with nothing to redact costs a
//! few comparisons per key and no allocation for it.
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

/// The words that mark a query key or a header name as holding a secret, matched in any case
/// anywhere in it (see the [module docs](self)). `jwt` is here because it names a token without
/// saying so; `pwd` because it is the other common spelling of a password.
pub const SENSITIVE_WORDS: [&str; 11] = [
    "token",
    "secret",
    "key",
    "sig",
    "pass",
    "pwd",
    "auth",
    "session",
    "code",
    "credential",
    "jwt",
];

/// Headers never logged although their names hold none of the [`SENSITIVE_WORDS`].
const ALWAYS_SENSITIVE_HEADERS: [&str; 2] = ["cookie", "set-cookie"];

/// ALB's OIDC authentication adds the access token (`x-amzn-oidc-accesstoken`), the signed
/// claims (`x-amzn-oidc-data`) and the subject (`x-amzn-oidc-identity`): none is to be logged.
const OIDC_HEADER_PREFIX: &str = "x-amzn-oidc-";

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
    /// Keys redacted although they hold none of the [`SENSITIVE_WORDS`].
    sensitive_query: Vec<String>,
    /// Keys written as they are although they hold one of the [`SENSITIVE_WORDS`].
    revealed_query: Vec<String>,
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
                sensitive_query: Vec::new(),
                revealed_query: Vec::new(),
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

    /// Redact this query parameter too, although its key holds none of the
    /// [`SENSITIVE_WORDS`] (the whole key, matched in any case).
    pub fn sensitive_query(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        let config = self.config();
        config
            .revealed_query
            .retain(|s| !s.eq_ignore_ascii_case(&name));
        config.sensitive_query.push(name);
        self
    }

    /// Log this query parameter after all, although its key holds one of the
    /// [`SENSITIVE_WORDS`] (the whole key, matched in any case): e.g. a `code` that is a
    /// product code, not an OAuth one, or a `keyword`.
    pub fn reveal_query(mut self, name: &str) -> Self {
        let config = self.config();
        config
            .sensitive_query
            .retain(|s| !s.eq_ignore_ascii_case(name));
        config.revealed_query.push(name.to_owned());
        self
    }

    /// Also log the request headers (sensitive ones left out).
    pub fn log_headers(mut self, on: bool) -> Self {
        self.config().log_headers = on;
        self
    }
}

/// Whether `name` holds one of the [`SENSITIVE_WORDS`], in any case.
fn marks_secret(name: &str) -> bool {
    let name = name.as_bytes();
    SENSITIVE_WORDS.iter().any(|word| {
        name.windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    })
}

fn is_oidc_header(name: &str) -> bool {
    name.get(..OIDC_HEADER_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(OIDC_HEADER_PREFIX))
}

impl Config {
    fn header_allowed(&self, name: &str) -> bool {
        !(marks_secret(name)
            || is_oidc_header(name)
            || ALWAYS_SENSITIVE_HEADERS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
            || self
                .sensitive_headers
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name)))
    }

    fn query_key_sensitive(&self, key: &str) -> bool {
        (marks_secret(key)
            || self
                .sensitive_query
                .iter()
                .any(|s| s.eq_ignore_ascii_case(key)))
            && !self
                .revealed_query
                .iter()
                .any(|s| s.eq_ignore_ascii_case(key))
    }

    /// The query (first value of each key), sensitive values redacted, when there is one.
    fn query(&self, req: &Request<'_>) -> Option<Value> {
        let mut query = Map::new();
        for (k, v) in req.query_pairs() {
            if query.contains_key(k) {
                continue;
            }
            let v = if self.query_key_sensitive(k) {
                REDACTED
            } else {
                v
            };
            query.insert(k.to_owned(), Value::String(v.to_owned()));
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
            req.route()
                .template()
                .map_or(Field::Json(&Value::Null), Field::Str),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_holding_a_secret_word_in_any_case_is_a_secret() {
        for name in [
            "jwt",
            "JWT",
            "id_token",
            "AccessToken",
            "api_key",
            "apikey",
            "x-api-key",
            "X-Amz-Signature",
            "sig",
            "password",
            "passwd",
            "pwd",
            "client_secret",
            "auth",
            "x-auth-token",
            "authorization",
            "session",
            "sessionId",
            "code",
            "X-Amz-Credential",
        ] {
            assert!(marks_secret(name), "{name}");
        }
        for name in [
            "",
            "page",
            "q",
            "sort",
            "limit",
            "name",
            "x-forwarded-for",
            "accept-encoding",
        ] {
            assert!(!marks_secret(name), "{name}");
        }
    }

    #[test]
    fn oidc_headers_are_matched_by_prefix_in_any_case() {
        assert!(is_oidc_header("X-Amzn-Oidc-Data"));
        assert!(is_oidc_header("x-amzn-oidc-identity"));
        assert!(!is_oidc_header("x-amzn-oidc"));
        assert!(!is_oidc_header("x-amzn-trace-id"));
        // A multi-byte character where the prefix would end is not a panic.
        assert!(!is_oidc_header("x-amzn-oid\u{e9}"));
    }

    #[test]
    fn the_last_of_sensitive_query_and_reveal_query_for_a_key_wins() {
        let log = AccessLog::new()
            .sensitive_query("Plan")
            .reveal_query("CODE")
            .reveal_query("plan")
            .sensitive_query("code");
        assert!(log.config.query_key_sensitive("code"));
        assert!(!log.config.query_key_sensitive("PLAN"));
        assert!(log.config.query_key_sensitive("promo_code"));
        assert!(!log.config.query_key_sensitive("page"));
    }
}
