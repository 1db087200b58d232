//! [`Observability`]: the app-wide telemetry configuration, frozen into [`Settings`] when the
//! app is built, plus the process-wide counters behind [`TelemetryStats`]. Each invocation's own
//! state lives in `invocation.rs`; each request's or record's identity in `frame.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::time::Duration;

use super::exporter::{Exporter, ExporterStats};
use super::level::{Level, LogFormat};
use super::logger::Logger;
use super::metric_set::MetricSet;
use super::metrics::Metrics;
use super::pipeline::{ExporterSet, DEFAULT_FLUSH_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT};
use super::settings::{Settings, TelemetryCounters};
use super::tenant::TenantGuard;

/// App-wide observability settings. Build one with [`Observability::from_env`] (the
/// Powertools environment variables) or [`Observability::new`], adjust it with the builder
/// methods, and give it to [`App::observability`](crate::App::observability).
#[derive(Clone)]
pub struct Observability {
    pub(crate) settings: Arc<Settings>,
}

/// What the telemetry pipeline did so far in this process: each exporter's own stats, and the
/// records that never reached an exporter, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TelemetryStats {
    /// Each exporter's name and stats, in the order they were added.
    pub exporters: Vec<(String, ExporterStats)>,
    /// Metric records rejected (invalid name or value, kind or unit conflict).
    pub rejected_metrics: u64,
    /// Tenants folded into `other` by the cardinality guard.
    pub folded_tenants: u64,
    /// Tenant values that were not valid as a dimension value or namespace, written as
    /// `invalid`.
    pub invalid_tenants: u64,
    /// Metrics and spans recorded after their invocation had been flushed, dropped.
    pub late_records: u64,
    /// Exporter calls that panicked (contained).
    pub exporter_panics: u64,
    /// Exporter flushes or shutdowns cut off at their deadline.
    pub flush_timeouts: u64,
    /// After-response tasks that panicked (contained).
    pub after_response_panics: u64,
    /// After-response tasks cut off at their time limit.
    pub after_response_timeouts: u64,
}

impl TelemetryStats {
    /// The stats as JSON, to log (say, from an [`App::on_shutdown`](crate::App::on_shutdown)
    /// hook: one line per sandbox) or to serve: `{"exporters": [{"name", "accepted",
    /// "written", "dropped": {reason: n}, "fallen_back", "last_error"}, …]`, then each counter
    /// of this struct under its field name.
    pub fn to_json(&self) -> serde_json::Value {
        let exporters: Vec<serde_json::Value> = self
            .exporters
            .iter()
            .map(|(name, stats)| {
                let mut v = stats.to_json();
                if let Some(o) = v.as_object_mut() {
                    o.insert("name".into(), name.as_str().into());
                }
                v
            })
            .collect();
        serde_json::json!({
            "exporters": exporters,
            "rejected_metrics": self.rejected_metrics,
            "folded_tenants": self.folded_tenants,
            "invalid_tenants": self.invalid_tenants,
            "late_records": self.late_records,
            "exporter_panics": self.exporter_panics,
            "flush_timeouts": self.flush_timeouts,
            "after_response_panics": self.after_response_panics,
            "after_response_timeouts": self.after_response_timeouts,
        })
    }
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
            settings: Arc::new(Settings {
                service: "service_undefined".into(),
                namespace: Arc::from(""),
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
                pipeline: ExporterSet::stdout(),
                flush_timeout: DEFAULT_FLUSH_TIMEOUT,
                shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
                cold_start: AtomicBool::new(true),
                counters: TelemetryCounters::default(),
                process_metrics: std::sync::Mutex::new(MetricSet::default()),
            }),
        }
    }

    /// Defaults read from the environment, as Powertools reads them:
    /// `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_METRICS_NAMESPACE`, the log level from
    /// `AWS_LAMBDA_LOG_LEVEL`, else `POWERTOOLS_LOG_LEVEL`, `POWERTOOLS_LOGGER_SAMPLE_RATE`,
    /// `POWERTOOLS_METRICS_DISABLED`, `POWERTOOLS_TRACE_DISABLED`. Logs are JSON in Lambda
    /// (`AWS_LAMBDA_FUNCTION_NAME` set) and human-readable elsewhere; `LIFT_LOG_FORMAT=json` or
    /// `pretty` overrides. With `AWS_XRAY_DAEMON_ADDRESS` set (Lambda sets it under active
    /// tracing) the default exporters are stdout and
    /// [`XRayExporter::from_env`](super::xray::XRayExporter::from_env), so traces need no code.
    pub fn from_env() -> Self {
        let mut o = Self::new();
        let s = o.settings_mut();
        if let Some(v) = env("POWERTOOLS_SERVICE_NAME") {
            s.service = v.into();
        }
        if let Some(v) = env("POWERTOOLS_METRICS_NAMESPACE") {
            s.namespace = v.into();
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
        // Lambda sets the daemon's address only under active tracing: trace by default there.
        if s.tracing_enabled && env(super::xray::ENV_DAEMON_ADDRESS).is_some() {
            s.pipeline = ExporterSet::stdout_and(Arc::new(super::xray::XRayExporter::from_env()));
        }
        o
    }

    fn settings_mut(&mut self) -> &mut Settings {
        // Builders run before the configuration is shared with any invocation; copying keeps
        // this correct even if a clone was taken along the way.
        Arc::make_mut(&mut self.settings)
    }

    /// The `service` written on every log line and as the default metric dimension.
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.settings_mut().service = Arc::from(name.into());
        self
    }

    /// The CloudWatch namespace for metrics (required for EMF; defaults to the service).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.settings_mut().namespace = Arc::from(namespace.into());
        self
    }

    /// The default log level. `AWS_LAMBDA_LOG_LEVEL` and then `POWERTOOLS_LOG_LEVEL` win over
    /// it when set.
    pub fn log_level(mut self, level: Level) -> Self {
        self.settings_mut().level = env_level().unwrap_or(level);
        self
    }

    /// JSON lines or the human-readable format.
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.settings_mut().format = format;
        self
    }

    /// The share of invocations (0.0–1.0) logged at DEBUG whatever the level.
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.settings_mut().sample_rate = rate.clamp(0.0, 1.0);
        self
    }

    /// Hold DEBUG and TRACE lines per invocation (up to `max_bytes`, oldest evicted first) and
    /// write them only if the invocation logs an error or fails.
    pub fn debug_buffer(mut self, max_bytes: usize) -> Self {
        self.settings_mut().debug_buffer = Some(max_bytes);
        self
    }

    /// Replace the values of these field names (any case, at any depth) with `"[REDACTED]"`.
    pub fn redact<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.settings_mut().redact = keys
            .into_iter()
            .map(|k| k.as_ref().to_ascii_lowercase())
            .collect();
        self
    }

    /// Take each request's `correlation_id` from this header (e.g. `x-correlation-id`).
    pub fn correlation_header(mut self, header: impl Into<String>) -> Self {
        self.settings_mut().correlation_header = Some(header.into());
        self
    }

    /// Turn metrics on or off (`POWERTOOLS_METRICS_DISABLED` turns them off).
    pub fn metrics_enabled(mut self, on: bool) -> Self {
        self.settings_mut().metrics_enabled = on;
        self
    }

    /// Add a dimension to every metric (after `service`).
    pub fn default_dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings_mut()
            .default_dimensions
            .push((name.into(), value.into()));
        self
    }

    /// Cap the distinct tenant values used as a metric dimension in this process; tenants
    /// beyond the cap are reported as `other` and counted (`TenantOverflow`).
    pub fn max_tenants(mut self, max: usize) -> Self {
        self.settings_mut().tenant_guard = TenantGuard::new(max);
        self
    }

    /// Send each tenant's metrics to its own namespace, `<namespace>/<tenant>`.
    pub fn tenant_namespaces(mut self, on: bool) -> Self {
        self.settings_mut().tenant_namespace = on;
        self
    }

    /// Turn span recording on or off (`POWERTOOLS_TRACE_DISABLED` turns it off).
    pub fn tracing_enabled(mut self, on: bool) -> Self {
        self.settings_mut().tracing_enabled = on;
        self
    }

    /// Write the `ColdStart` metric document on a process's first invocation (on by default).
    pub fn cold_start_metric(mut self, on: bool) -> Self {
        self.settings_mut().cold_start_metric = on;
        self
    }

    /// Export telemetry to `exporter`, and to every other exporter named with `export_to`:
    /// logs, metrics and spans go to each that takes them. The exporters named replace the
    /// defaults: without any, telemetry goes to [`StdoutExporter`](super::StdoutExporter) (and
    /// X-Ray, under active tracing: see [`from_env`](Self::from_env)); once one is named, only
    /// to those named (name `StdoutExporter` too to keep stdout).
    pub fn export_to(mut self, exporter: impl Exporter) -> Self {
        let s = self.settings_mut();
        s.pipeline = s.pipeline.with(Arc::new(exporter));
        self
    }

    /// How long the flush after each response may take before the exporters still flushing
    /// are cut off (default 1 s). It runs after the response has been posted, so it delays the
    /// next invocation, never the client.
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.settings_mut().flush_timeout = timeout;
        self
    }

    /// How long the shutdown flush at SIGTERM may take (default 300 ms; Lambda allows 500 ms).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.settings_mut().shutdown_timeout = timeout;
        self
    }

    /// A logger outside any invocation (start-up, shutdown): the service fields only.
    pub fn logger(&self) -> Logger {
        Logger::process(self.settings.clone())
    }

    /// Metrics for the process rather than one invocation (start-up work, background tasks).
    /// They are written after the next invocation's response, and by
    /// [`flush_metrics`](Self::flush_metrics).
    pub fn metrics(&self) -> Metrics {
        Metrics::process(self.settings.clone())
    }

    /// Hand the process-level metrics to the exporters now (the app also does this after each
    /// invocation and at shutdown). Exporters that buffer send them at their next flush.
    pub fn flush_metrics(&self) {
        self.settings.flush_process_metrics();
    }

    /// What the pipeline did so far in this process.
    pub fn stats(&self) -> TelemetryStats {
        let s = &self.settings;
        let c = &s.counters;
        let p = &s.pipeline.counters;
        TelemetryStats {
            exporters: s.pipeline.stats(),
            rejected_metrics: c.rejected_metrics.load(Ordering::Relaxed),
            folded_tenants: s.tenant_guard.folded(),
            invalid_tenants: c.invalid_tenants.load(Ordering::Relaxed),
            late_records: c.late_records.load(Ordering::Relaxed),
            exporter_panics: p.exporter_panics.load(Ordering::Relaxed),
            flush_timeouts: p.flush_timeouts.load(Ordering::Relaxed),
            after_response_panics: c.after_response_panics.load(Ordering::Relaxed),
            after_response_timeouts: c.after_response_timeouts.load(Ordering::Relaxed),
        }
    }
}

fn env_level() -> Option<Level> {
    env("AWS_LAMBDA_LOG_LEVEL")
        .and_then(|v| v.parse().ok())
        .or_else(|| env("POWERTOOLS_LOG_LEVEL").and_then(|v| v.parse().ok()))
}
