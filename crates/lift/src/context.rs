//! [`Context`]: everything one invocation knows, handed from middleware to handler by value.
//!
//! Per-invocation state lives here and nowhere else (no globals, thread-locals or environment
//! variables), so concurrent invocations in one process never see each other's data.

use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Extensions, Method};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::events::{EventKind, Parsed};
use crate::http::Request;
use crate::observability::{Frame, Logger, Metrics, Tracer};
use crate::routing::Dispatch;
use crate::scope::Scope;

/// The function's static configuration (name, memory, version, log group and stream), as the
/// Lambda runtime reads it from the environment at start.
pub type FunctionConfig = lambda_runtime::Config;

/// What the Lambda runtime says about one invocation.
#[derive(Debug, Clone)]
pub struct LambdaContext {
    /// The Lambda request id (`aws_request_id`).
    pub request_id: String,
    /// When the invocation times out, in milliseconds since the Unix epoch.
    pub deadline_ms: u64,
    /// The ARN the function was invoked with (may carry a version or alias).
    pub invoked_function_arn: String,
    /// The X-Ray trace header of this invocation (`Root=...;Parent=...;Sampled=...`).
    pub xray_trace_id: Option<String>,
    /// Lambda's tenant id, for functions with tenant isolation mode.
    pub tenant_id: Option<String>,
    /// The function's configuration.
    pub function: Arc<FunctionConfig>,
}

impl LambdaContext {
    /// A context for running outside Lambda (dev server, tests): the given request id, a
    /// deadline `timeout` from now, and the function name `local`.
    pub fn local(request_id: impl Into<String>, timeout: Duration) -> Self {
        let deadline = SystemTime::now() + timeout;
        LambdaContext {
            request_id: request_id.into(),
            deadline_ms: deadline
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:local".into(),
            xray_trace_id: None,
            tenant_id: None,
            function: local_config(),
        }
    }
}

fn local_config() -> Arc<FunctionConfig> {
    static LOCAL: OnceLock<Arc<FunctionConfig>> = OnceLock::new();
    LOCAL
        .get_or_init(|| {
            Arc::new(FunctionConfig {
                function_name: "local".into(),
                memory: 128,
                version: "$LATEST".into(),
                log_stream: String::new(),
                log_group: String::new(),
            })
        })
        .clone()
}

/// The longest Lambda timeout, 15 minutes, in milliseconds. Lambda always sends the deadline
/// as an epoch time in the future; some local emulators (`cargo lambda watch` sends `600000`)
/// send the function's timeout instead. A value no longer than this is plainly such a duration,
/// and is read as one so that deadline-based middleware works locally; anything else is taken
/// as the epoch time it claims to be (one in 1970 is simply past).
const MAX_TIMEOUT_MS: u64 = 15 * 60 * 1000;

/// The first deadline read as a duration, for its one warning: 0 until one is, that deadline
/// plus one until the warning is taken, [`WARNED`] after.
static DURATION_DEADLINE: AtomicU64 = AtomicU64::new(0);
const WARNED: u64 = u64::MAX;

fn deadline_ms(sent: u64) -> u64 {
    if sent > MAX_TIMEOUT_MS {
        return sent;
    }
    // Only the first one is kept (a zero deadline is kept as 1).
    let _ = DURATION_DEADLINE.compare_exchange(0, sent + 1, Ordering::Relaxed, Ordering::Relaxed);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    now.saturating_add(sent)
}

/// The deadline, in milliseconds, that was read as a duration, the first time one was: for
/// the one warning the corridor logs inside that invocation. `None` ever after.
pub(crate) fn duration_deadline_warning() -> Option<u64> {
    let seen = DURATION_DEADLINE.load(Ordering::Relaxed);
    if seen == 0 || seen == WARNED {
        return None;
    }
    DURATION_DEADLINE
        .compare_exchange(seen, WARNED, Ordering::Relaxed, Ordering::Relaxed)
        .ok()
        .map(|_| seen - 1)
}

impl From<lambda_runtime::Context> for LambdaContext {
    fn from(c: lambda_runtime::Context) -> Self {
        LambdaContext {
            request_id: c.request_id,
            deadline_ms: deadline_ms(c.deadline),
            invoked_function_arn: c.invoked_function_arn,
            xray_trace_id: c.xray_trace_id,
            tenant_id: c.tenant_id,
            function: c.env_config,
        }
    }
}

/// The path the router matched: the part of the raw path routing saw, and what it found.
#[derive(Default)]
pub(crate) struct RouteInfo {
    pub(crate) path_start: usize,
    pub(crate) template: Option<Arc<str>>,
    pub(crate) params: Vec<(Arc<str>, String)>,
    pub(crate) dispatch: Option<Dispatch>,
    /// For a record of a batch: its index (its id is on its telemetry frame).
    pub(crate) record: Option<usize>,
}

pub(crate) struct Inner {
    pub(crate) state: Arc<Extensions>,
    /// This request's or record's telemetry frame (its identity), and through it the
    /// invocation's scope.
    pub(crate) frame: Frame,
    pub(crate) route: RouteInfo,
    pub(crate) extensions: Extensions,
}

/// One invocation's state: the request, the Lambda context, path parameters, shared
/// application state and typed values set by middleware.
///
/// A `Context` is passed by value: middleware receives it, may add values with
/// [`insert`](Self::insert), and hands it on with `next.run(ctx)`; the handler gets it last.
pub struct Context {
    pub(crate) inner: Box<Inner>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("kind", &self.event_kind())
            .field("request_id", &self.request_id())
            .field("method", self.method())
            .field("path", &self.path())
            .field("route", &self.route())
            .finish()
    }
}

impl Context {
    pub(crate) fn new(frame: Frame, state: Arc<Extensions>, route: RouteInfo) -> Self {
        Context {
            inner: Box::new(Inner {
                state,
                frame,
                route,
                extensions: Extensions::new(),
            }),
        }
    }

    pub(crate) fn scope(&self) -> &Arc<Scope> {
        self.inner.frame.scope()
    }

    pub(crate) fn event(&self) -> &Parsed<'_> {
        self.scope().event()
    }

    /// For a record of a batch (SQS, SNS, S3, DynamoDB, Kinesis): its position in the batch.
    pub fn record_index(&self) -> Option<usize> {
        self.inner.route.record
    }

    /// For a record of a batch: its id (SQS/SNS message id, Kinesis/DynamoDB event id,
    /// `s3://bucket/key`), as log lines carry it in `record_id`.
    pub fn record_id(&self) -> Option<&str> {
        self.inner.frame.record_id()
    }

    /// For a WebSocket event: the connection (id, route key, event type, domain and stage).
    pub fn websocket(&self) -> Option<crate::events::WebSocket> {
        use crate::http::FromContext;
        crate::events::WebSocket::from_context(self).ok()
    }

    /// A handle on this request that outlives `next.run(ctx)`: what built-in middleware such as
    /// the access log reads once the handler has answered.
    pub fn handle(&self) -> RequestHandle {
        RequestHandle {
            frame: self.inner.frame.clone(),
            path_start: self.inner.route.path_start,
            template: self.inner.route.template.clone(),
        }
    }

    /// The kind of event this invocation carries.
    pub fn event_kind(&self) -> EventKind {
        self.scope().event().kind()
    }

    /// The HTTP request. For events that are not HTTP requests this is an empty request (no
    /// headers, no body, an empty path).
    pub fn request(&self) -> &Request<'_> {
        self.scope().request()
    }

    /// The raw event bytes as the runtime delivered them.
    pub fn raw_event(&self) -> &[u8] {
        self.scope().raw_event()
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        self.request().method()
    }

    /// The path the router matched on: the raw path without the API Gateway stage prefix or a
    /// configured base path (see [`App::strip_prefix`](crate::App::strip_prefix)).
    /// As the source sent it: percent-encoded, except behind an HTTP API, which decodes the
    /// path itself. Path parameters are decoded once either way.
    pub fn path(&self) -> &str {
        routed_path(self.request().raw_path(), self.inner.route.path_start)
    }

    /// The route template that matched, e.g. `/users/{id}`; `None` when no route matched.
    pub fn route(&self) -> Option<&str> {
        self.inner.route.template.as_deref()
    }

    /// A path parameter, percent-decoded: `ctx.param("id")` for `/users/{id}`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner
            .route
            .params
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All path parameters, in template order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner
            .route
            .params
            .iter()
            .map(|(k, v)| (&**k, v.as_str()))
    }

    /// The first value of a query parameter. See [`Request::query_all`] for repeats.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.request().query(name)
    }

    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request().header(name)
    }

    /// A cookie's value.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.request().cookie(name)
    }

    /// The body's bytes (base64-decoded when needed; invalid base64 is a 400).
    pub fn body(&self) -> Result<Cow<'_, [u8]>, Error> {
        self.request().body()
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<Cow<'_, str>, Error> {
        self.request().text()
    }

    /// The body as JSON (415 for a non-JSON content type, 400 for malformed JSON).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.request().json()
    }

    /// The client's IP address.
    pub fn source_ip(&self) -> Option<&str> {
        self.request().source_ip()
    }

    /// The client's `User-Agent`.
    pub fn user_agent(&self) -> Option<&str> {
        self.request().user_agent()
    }

    /// The request id: the one middleware set with [`set_request_id`](Self::set_request_id),
    /// else the Lambda request id. Error bodies carry it.
    pub fn request_id(&self) -> &str {
        self.scope().request_id()
    }

    /// Replace the request id for this invocation (once; later calls are ignored and return
    /// `false`).
    pub fn set_request_id(&mut self, id: impl Into<String>) -> bool {
        self.scope().set_request_id(id.into())
    }

    /// The Lambda context: request id, deadline, function ARN, X-Ray trace header, tenant.
    pub fn lambda(&self) -> &LambdaContext {
        self.scope().lambda()
    }

    /// When the invocation times out.
    pub fn deadline(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.scope().lambda().deadline_ms)
    }

    /// Time left before the invocation times out (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline()
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }

    /// The X-Ray trace header of this invocation, read from the invocation (never from the
    /// process environment, which concurrent invocations share).
    pub fn xray_trace_id(&self) -> Option<&str> {
        self.scope().lambda().xray_trace_id.as_deref()
    }

    /// This request's (or record's) logger: every line carries its request id, its tenant,
    /// user and correlation id, the record id for a record of a batch, and the Lambda context.
    pub fn logger(&self) -> Logger {
        Logger::context(self.inner.frame.clone())
    }

    /// This request's (or record's) metrics, recorded under its tenant and handed to the
    /// exporters after the response is posted.
    pub fn metrics(&self) -> Metrics {
        Metrics::context(self.inner.frame.clone())
    }

    /// This request's (or record's) tracer.
    pub fn tracer(&self) -> Tracer {
        Tracer::context(self.inner.frame.clone())
    }

    /// Set the tenant of this request, or of this record of a batch (never of another): it
    /// goes on its log lines (`tenant_id`), its spans, and, validated and through the
    /// cardinality guard, becomes the `tenant` dimension of its metrics.
    pub fn set_tenant(&self, tenant: impl Into<String>) {
        self.inner.frame.set_tenant(tenant.into());
    }

    /// The tenant of this request or record, when known.
    pub fn tenant(&self) -> Option<String> {
        self.inner.frame.ids().tenant.map(|t| t.to_string())
    }

    /// Set the user of this request or record: it goes on its log lines (`user_id`).
    pub fn set_user(&self, user: impl Into<String>) {
        self.inner.frame.set_user(user.into());
    }

    /// The user, when known.
    pub fn user(&self) -> Option<String> {
        self.inner.frame.ids().user.map(|u| u.to_string())
    }

    /// The correlation id, from the header configured with
    /// [`Observability::correlation_header`](crate::observability::Observability::correlation_header).
    pub fn correlation_id(&self) -> Option<String> {
        self.inner.frame.ids().correlation.map(|c| c.to_string())
    }

    /// Shared application state given to [`App::state`](crate::App::state).
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.state.get::<T>()
    }

    /// Set a typed per-invocation value (replacing one of the same type).
    pub fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.inner.extensions.insert(value)
    }

    /// A typed per-invocation value set by middleware.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.extensions.get::<T>()
    }

    /// A typed per-invocation value, to change.
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.inner.extensions.get_mut::<T>()
    }

    /// Remove a typed per-invocation value.
    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        self.inner.extensions.remove::<T>()
    }

    /// Run `work` after the response has been sent (in Lambda: after the runtime has posted
    /// it), so it never delays the client. Telemetry flushes go here.
    pub fn after_response(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.scope().push_after_response(Box::pin(work));
    }
}

/// A cheap handle on a request (or record) that middleware keeps across `next.run(ctx)`, when
/// the [`Context`] itself has moved down the chain: the request, its id, the matched route and
/// path, and the telemetry handles carrying its identity. From [`Context::handle`].
///
/// ```
/// use lift::middleware::{from_fn, Next, OutcomeExt};
/// use lift::prelude::*;
///
/// let access = from_fn(|ctx: Context, next: Next| async move {
///     let req = ctx.handle();
///     let outcome = next.run(ctx).await;
///     req.logger().info("done", &[
///         ("route", req.route().unwrap_or("-").into()),
///         ("path", req.path().into()),
///         ("status", outcome.status().as_u16().into()),
///         ("ua", req.request().user_agent().unwrap_or("-").into()),
///     ]);
///     outcome
/// });
/// assert!(App::new().middleware(access).build().is_ok());
/// ```
#[derive(Clone)]
pub struct RequestHandle {
    frame: Frame,
    path_start: usize,
    template: Option<Arc<str>>,
}

impl std::fmt::Debug for RequestHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestHandle")
            .field("request_id", &self.request_id())
            .field("route", &self.route())
            .finish_non_exhaustive()
    }
}

impl RequestHandle {
    /// The HTTP request (an empty one for other events).
    pub fn request(&self) -> &Request<'_> {
        self.frame.scope().request()
    }

    /// The kind of event.
    pub fn event_kind(&self) -> EventKind {
        self.frame.scope().event().kind()
    }

    /// The request id, as it is now (middleware may have set it after the handle was taken).
    pub fn request_id(&self) -> &str {
        self.frame.scope().request_id()
    }

    /// The route template that matched, as [`Context::route`].
    pub fn route(&self) -> Option<&str> {
        self.template.as_deref()
    }

    /// The routed path, as [`Context::path`].
    pub fn path(&self) -> &str {
        routed_path(self.request().raw_path(), self.path_start)
    }

    /// The request's logger, as [`Context::logger`].
    pub fn logger(&self) -> Logger {
        Logger::context(self.frame.clone())
    }

    /// The request's metrics, as [`Context::metrics`].
    pub fn metrics(&self) -> Metrics {
        Metrics::context(self.frame.clone())
    }

    /// The tenant, as it is now, as [`Context::tenant`].
    pub fn tenant(&self) -> Option<String> {
        self.frame.ids().tenant.map(|t| t.to_string())
    }

    /// The user, as it is now, as [`Context::user`].
    pub fn user(&self) -> Option<String> {
        self.frame.ids().user.map(|u| u.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_durations_become_deadlines_and_epoch_times_stay() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = deadline_ms(600_000);
        assert!(d >= now + 600_000 && d < now + 700_000, "{d}");
        assert_eq!(deadline_ms(1_795_990_557_762), 1_795_990_557_762);
        // Not plainly a duration (over 15 minutes): an epoch time, long past.
        assert_eq!(deadline_ms(900_001), 900_001);
        assert!(deadline_ms(0) >= now);
    }
}
