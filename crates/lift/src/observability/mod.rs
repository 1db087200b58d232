//! Observability: structured logs, CloudWatch metrics and traces, scoped to one invocation.
//!
//! [`Observability`] is the app-wide configuration: service name, namespace, log level and
//! format, sampling, debug buffering, redaction, default dimensions, the tenant cardinality
//! guard, and the [`Sink`] everything is written to. Each invocation gets its own
//! [`Logger`], [`Metrics`] and [`Tracer`] from the [`Context`](crate::Context) — cheap handles
//! to that invocation's state, so concurrent invocations never mix fields or metrics.
//!
//! In Lambda the default sink is stdout: one JSON log line per call and one CloudWatch
//! Embedded Metric Format (EMF) document per invocation, which CloudWatch turns into logs and
//! metrics without an API call. Metrics are flushed after the response is posted.
//!
//! ```
//! use lift::observability::{Level, Observability, Unit};
//! use lift::prelude::*;
//!
//! async fn hello(ctx: Context) -> String {
//!     let log = ctx.logger().child(&[("handler", "hello".into())]);
//!     let name = ctx.query("name").unwrap_or("World");
//!     log.info("greeting", &[("name", name.into())]);
//!     ctx.metrics().counter("Greetings").increment();
//!     ctx.metrics().histogram("NameLength", Unit::Count).record(name.len() as f64);
//!     format!("Hello, {name}!")
//! }
//!
//! let app = App::new()
//!     .observability(Observability::from_env().service("greeter").namespace("Lift/Examples").log_level(Level::Info))
//!     .get("/hello", hello);
//! assert!(app.build().is_ok());
//! ```

mod bridge;
mod emf;
mod json_out;
mod logger;
mod memory;
mod metrics;
mod sink;
mod tenant;
mod timestamp;
mod tracer;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

pub(crate) use bridge::invocation_span;
pub use bridge::{install_tracing_bridge, TracingBridge};
pub use logger::{Field, Level, LogFormat, Logger};
pub use memory::MemorySink;
pub use metrics::{Counter, Gauge, Histogram, Metrics, MetricsError, Resolution, Unit};
pub use sink::{NullSink, RecordKind, Sink, StdoutSink};
pub use tracer::{Span, Tracer};

pub(crate) use logger::LogState;
pub(crate) use metrics::MetricSet;
pub(crate) use tracer::SpanSet;

use tenant::TenantGuard;

/// App-wide observability settings. Build one with [`Observability::from_env`] (the
/// Powertools environment variables) or [`Observability::new`], adjust it with the builder
/// methods, and give it to [`App::observability`](crate::App::observability).
#[derive(Clone)]
pub struct Observability {
    pub(crate) shared: Arc<Shared>,
}

/// The frozen configuration plus process-wide counters.
pub(crate) struct Shared {
    pub(crate) service: String,
    pub(crate) namespace: String,
    pub(crate) level: Level,
    pub(crate) format: LogFormat,
    pub(crate) sample_rate: f64,
    pub(crate) debug_buffer: Option<usize>,
    pub(crate) redact: Vec<String>,
    pub(crate) correlation_header: Option<String>,
    pub(crate) metrics_enabled: bool,
    pub(crate) default_dimensions: Vec<(String, String)>,
    pub(crate) tenant_guard: TenantGuard,
    pub(crate) tenant_namespace: bool,
    pub(crate) tracing_enabled: bool,
    pub(crate) cold_start_metric: bool,
    pub(crate) sink: Arc<dyn Sink>,
    /// Whether the sink takes log lines at all (read once, on the hot path).
    pub(crate) logs_wanted: bool,
    pub(crate) cold_start: AtomicBool,
    pub(crate) dropped_lines: AtomicU64,
    pub(crate) rejected_metrics: AtomicU64,
    pub(crate) process_metrics: std::sync::Mutex<MetricSet>,
}

/// The debug buffer's default size, as Powertools uses.
pub const DEFAULT_DEBUG_BUFFER_BYTES: usize = 20 * 1024;
/// The default cap on distinct tenant values per process.
pub const DEFAULT_MAX_TENANTS: usize = 100;

impl Default for Observability {
    fn default() -> Self {
        Self::from_env()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_true(name: &str) -> bool {
    env(name)
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

impl Observability {
    /// Defaults without reading the environment: service `service_undefined`, level INFO, JSON
    /// logs, stdout, metrics and tracing on.
    pub fn new() -> Self {
        Observability {
            shared: Arc::new(Shared {
                service: "service_undefined".into(),
                namespace: String::new(),
                level: Level::Info,
                format: LogFormat::Json,
                sample_rate: 0.0,
                debug_buffer: None,
                redact: Vec::new(),
                correlation_header: None,
                metrics_enabled: true,
                default_dimensions: Vec::new(),
                tenant_guard: TenantGuard::new(DEFAULT_MAX_TENANTS),
                tenant_namespace: false,
                tracing_enabled: true,
                cold_start_metric: true,
                sink: Arc::new(StdoutSink),
                logs_wanted: true,
                cold_start: AtomicBool::new(true),
                dropped_lines: AtomicU64::new(0),
                rejected_metrics: AtomicU64::new(0),
                process_metrics: std::sync::Mutex::new(MetricSet::default()),
            }),
        }
    }

    /// Defaults read from the environment, as Powertools reads them:
    /// `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_METRICS_NAMESPACE`, the log level from
    /// `AWS_LAMBDA_LOG_LEVEL`, else `POWERTOOLS_LOG_LEVEL`, `POWERTOOLS_LOGGER_SAMPLE_RATE`,
    /// `POWERTOOLS_METRICS_DISABLED`, `POWERTOOLS_TRACE_DISABLED`. Logs are JSON in Lambda
    /// (`AWS_LAMBDA_FUNCTION_NAME` set) and human-readable elsewhere; `LIFT_LOG_FORMAT=json` or
    /// `pretty` overrides.
    pub fn from_env() -> Self {
        let mut o = Self::new();
        let s = o.shared_mut();
        if let Some(v) = env("POWERTOOLS_SERVICE_NAME") {
            s.service = v;
        }
        if let Some(v) = env("POWERTOOLS_METRICS_NAMESPACE") {
            s.namespace = v;
        }
        if let Some(l) = env_level() {
            s.level = l;
        }
        if let Some(r) =
            env("POWERTOOLS_LOGGER_SAMPLE_RATE").and_then(|v| v.trim().parse::<f64>().ok())
        {
            s.sample_rate = r.clamp(0.0, 1.0);
        }
        s.metrics_enabled = !env_true("POWERTOOLS_METRICS_DISABLED");
        s.tracing_enabled = !env_true("POWERTOOLS_TRACE_DISABLED");
        s.format = match env("LIFT_LOG_FORMAT").map(|v| v.to_ascii_lowercase()) {
            Some(f) if f == "pretty" => LogFormat::Pretty,
            Some(f) if f == "json" => LogFormat::Json,
            _ if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() => LogFormat::Json,
            _ => LogFormat::Pretty,
        };
        o
    }

    fn shared_mut(&mut self) -> &mut Shared {
        // Builders run before the configuration is shared with any invocation; copying keeps
        // this correct even if a clone was taken along the way.
        Arc::make_mut(&mut self.shared)
    }

    /// The `service` written on every log line and as the default metric dimension.
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.shared_mut().service = name.into();
        self
    }

    /// The CloudWatch namespace for metrics (required for EMF; defaults to the service).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.shared_mut().namespace = namespace.into();
        self
    }

    /// The default log level. `AWS_LAMBDA_LOG_LEVEL` and then `POWERTOOLS_LOG_LEVEL` win over
    /// it when set.
    pub fn log_level(mut self, level: Level) -> Self {
        self.shared_mut().level = env_level().unwrap_or(level);
        self
    }

    /// JSON lines or the human-readable format.
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.shared_mut().format = format;
        self
    }

    /// The share of invocations (0.0–1.0) logged at DEBUG whatever the level.
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.shared_mut().sample_rate = rate.clamp(0.0, 1.0);
        self
    }

    /// Hold DEBUG and TRACE lines per invocation (up to `max_bytes`, oldest evicted first) and
    /// write them only if the invocation logs an error or fails.
    pub fn debug_buffer(mut self, max_bytes: usize) -> Self {
        self.shared_mut().debug_buffer = Some(max_bytes);
        self
    }

    /// Replace the values of these field names (any case, at any depth) with `"[REDACTED]"`.
    pub fn redact<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.shared_mut().redact = keys
            .into_iter()
            .map(|k| k.as_ref().to_ascii_lowercase())
            .collect();
        self
    }

    /// Take each request's `correlation_id` from this header (e.g. `x-correlation-id`).
    pub fn correlation_header(mut self, header: impl Into<String>) -> Self {
        self.shared_mut().correlation_header = Some(header.into());
        self
    }

    /// Turn metrics on or off (`POWERTOOLS_METRICS_DISABLED` turns them off).
    pub fn metrics_enabled(mut self, on: bool) -> Self {
        self.shared_mut().metrics_enabled = on;
        self
    }

    /// Add a dimension to every metric (after `service`).
    pub fn default_dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.shared_mut()
            .default_dimensions
            .push((name.into(), value.into()));
        self
    }

    /// Cap the distinct tenant values used as a metric dimension in this process; tenants
    /// beyond the cap are reported as `other` and counted (`TenantOverflow`).
    pub fn max_tenants(mut self, max: usize) -> Self {
        self.shared_mut().tenant_guard = TenantGuard::new(max);
        self
    }

    /// Send each tenant's metrics to its own namespace, `<namespace>/<tenant>`.
    pub fn tenant_namespaces(mut self, on: bool) -> Self {
        self.shared_mut().tenant_namespace = on;
        self
    }

    /// Turn span recording on or off (`POWERTOOLS_TRACE_DISABLED` turns it off).
    pub fn tracing_enabled(mut self, on: bool) -> Self {
        self.shared_mut().tracing_enabled = on;
        self
    }

    /// Write the `ColdStart` metric document on a process's first invocation (on by default).
    pub fn cold_start_metric(mut self, on: bool) -> Self {
        self.shared_mut().cold_start_metric = on;
        self
    }

    /// Where logs, EMF documents and spans are written (stdout by default).
    pub fn sink(mut self, sink: impl Sink) -> Self {
        let shared = self.shared_mut();
        shared.logs_wanted = sink.accepts(RecordKind::Log);
        shared.sink = Arc::new(sink);
        self
    }

    /// A logger outside any invocation (start-up, shutdown): the service fields only.
    pub fn logger(&self) -> Logger {
        Logger::process(self.shared.clone())
    }

    /// Metrics for the process rather than one invocation (start-up work, background tasks).
    /// They are written after the next invocation's response, and by
    /// [`flush_metrics`](Self::flush_metrics).
    pub fn metrics(&self) -> Metrics {
        Metrics::process(self.shared.clone())
    }

    /// Write the process-level metrics now (the app also does this on shutdown).
    pub fn flush_metrics(&self) {
        self.shared.flush_process_metrics();
    }

    /// Log lines the sink could not take, in this process so far.
    pub fn dropped_lines(&self) -> u64 {
        self.shared.dropped_lines.load(Ordering::Relaxed)
    }

    /// Metric records rejected (invalid name or value, kind conflict), in this process so far.
    pub fn rejected_metrics(&self) -> u64 {
        self.shared.rejected_metrics.load(Ordering::Relaxed)
    }

    /// Tenants folded into `other` by the cardinality guard, in this process so far.
    pub fn folded_tenants(&self) -> u64 {
        self.shared.tenant_guard.folded()
    }
}

impl Clone for Shared {
    /// The configuration, with fresh process-wide counters.
    fn clone(&self) -> Shared {
        Shared {
            service: self.service.clone(),
            namespace: self.namespace.clone(),
            level: self.level,
            format: self.format,
            sample_rate: self.sample_rate,
            debug_buffer: self.debug_buffer,
            redact: self.redact.clone(),
            correlation_header: self.correlation_header.clone(),
            metrics_enabled: self.metrics_enabled,
            default_dimensions: self.default_dimensions.clone(),
            tenant_guard: TenantGuard::new(self.tenant_guard.max()),
            tenant_namespace: self.tenant_namespace,
            tracing_enabled: self.tracing_enabled,
            cold_start_metric: self.cold_start_metric,
            sink: self.sink.clone(),
            logs_wanted: self.logs_wanted,
            cold_start: AtomicBool::new(self.cold_start.load(Ordering::Relaxed)),
            dropped_lines: AtomicU64::new(0),
            rejected_metrics: AtomicU64::new(0),
            process_metrics: std::sync::Mutex::new(MetricSet::default()),
        }
    }
}

impl Shared {
    /// The namespace metrics go to (the service when none was set).
    pub(crate) fn namespace(&self) -> &str {
        if self.namespace.is_empty() {
            &self.service
        } else {
            &self.namespace
        }
    }

    /// Whether this is the process's first invocation (true exactly once).
    pub(crate) fn take_cold_start(&self) -> bool {
        self.cold_start.swap(false, Ordering::Relaxed)
    }

    pub(crate) fn flush_process_metrics(self: &Arc<Self>) {
        if !self.metrics_enabled {
            return;
        }
        let set = std::mem::take(
            &mut *self
                .process_metrics
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        if !set.entries.is_empty() || !set.rejected.is_empty() || !set.groups.is_empty() {
            emf::flush(self, set, None, None);
        }
    }

    pub(crate) fn write(&self, kind: RecordKind, line: &[u8]) {
        if self.sink.write(kind, line).is_err() {
            self.dropped_lines.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn env_level() -> Option<Level> {
    env("AWS_LAMBDA_LOG_LEVEL")
        .and_then(|v| v.parse().ok())
        .or_else(|| env("POWERTOOLS_LOG_LEVEL").and_then(|v| v.parse().ok()))
}

/// The ids every log line and metric of an invocation carries once known.
#[derive(Debug, Default, Clone)]
pub(crate) struct Ids {
    pub(crate) tenant: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) correlation: Option<String>,
}

/// One invocation's telemetry state, inside its [`Scope`](crate::scope::Scope).
pub(crate) struct Telemetry {
    pub(crate) shared: Arc<Shared>,
    pub(crate) cold_start: bool,
    ids: std::sync::Mutex<Ids>,
    pub(crate) log: LogState,
    pub(crate) metrics: std::sync::Mutex<MetricSet>,
    pub(crate) spans: SpanSet,
    succeeded: AtomicBool,
    finished: AtomicBool,
    function_name: String,
    trace_id: Option<String>,
}

impl Telemetry {
    pub(crate) fn new(
        shared: Arc<Shared>,
        lambda: &crate::LambdaContext,
        correlation: Option<String>,
    ) -> Self {
        let cold_start = shared.take_cold_start();
        Telemetry {
            log: LogState::new(&shared),
            cold_start,
            ids: std::sync::Mutex::new(Ids {
                correlation,
                ..Ids::default()
            }),
            metrics: std::sync::Mutex::new(MetricSet::default()),
            spans: SpanSet::default(),
            succeeded: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            function_name: if cold_start {
                lambda.function.function_name.clone()
            } else {
                String::new()
            },
            trace_id: lambda.xray_trace_id.clone(),
            shared,
        }
    }

    pub(crate) fn ids(&self) -> std::sync::MutexGuard<'_, Ids> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_tenant(&self, tenant: String) {
        self.ids().tenant = Some(tenant);
    }

    pub(crate) fn set_user(&self, user: String) {
        self.ids().user = Some(user);
    }

    /// Record how the invocation ended, for the flush that follows (or for `Drop`, if the
    /// invocation is abandoned or panics before the flush).
    pub(crate) fn set_outcome(&self, succeeded: bool) {
        self.succeeded.store(succeeded, Ordering::Relaxed);
    }

    /// End of the invocation: write or drop the debug buffer, write the EMF documents and the
    /// spans. Runs once.
    pub(crate) fn finish(&self) {
        if self.finished.swap(true, Ordering::AcqRel) {
            return;
        }
        let failed = !self.succeeded.load(Ordering::Relaxed);
        self.log
            .finish(&self.shared, &Logger::process(self.shared.clone()), failed);
        if self.shared.metrics_enabled && self.shared.sink.accepts(RecordKind::Metrics) {
            let set = std::mem::take(&mut *self.metrics.lock().unwrap_or_else(|p| p.into_inner()));
            let tenant = self.ids().tenant.clone();
            let cold = self.cold_start && self.shared.cold_start_metric;
            emf::flush(
                &self.shared,
                set,
                tenant.as_deref(),
                cold.then_some(self.function_name.as_str()),
            );
        }
        self.spans.flush(&self.shared, self.trace_id.as_deref());
        self.shared.flush_process_metrics();
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // An invocation that panicked or was abandoned never reached its flush: nothing it
        // recorded is lost, and its debug lines are written as for a failure.
        self.finish();
    }
}
