//! [`Settings`]: the app's telemetry configuration frozen when the app is built, with the
//! process-wide counters and the exporters — what every handle, frame and invocation shares.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::level::{Level, LogFormat};
use super::metric_set::MetricSet;
use super::pipeline::ExporterSet;
use super::tenant::TenantGuard;

/// The frozen configuration plus process-wide counters.
pub(crate) struct Settings {
    pub(crate) service: Arc<str>,
    pub(crate) namespace: Arc<str>,
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
    pub(crate) pipeline: ExporterSet,
    pub(crate) flush_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) cold_start: AtomicBool,
    pub(crate) counters: TelemetryCounters,
    pub(crate) process_metrics: std::sync::Mutex<MetricSet>,
}

/// Process-wide counts of telemetry that did not go where it was meant to.
#[derive(Debug, Default)]
pub(crate) struct TelemetryCounters {
    pub(crate) rejected_metrics: AtomicU64,
    pub(crate) invalid_tenants: AtomicU64,
    pub(crate) late_records: AtomicU64,
    pub(crate) after_response_panics: AtomicU64,
    pub(crate) after_response_timeouts: AtomicU64,
}

impl Clone for Settings {
    /// The configuration, with fresh process-wide counters; the exporters are the same ones,
    /// shared with their own stats.
    fn clone(&self) -> Settings {
        Settings {
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
            pipeline: self.pipeline.fresh(),
            flush_timeout: self.flush_timeout,
            shutdown_timeout: self.shutdown_timeout,
            cold_start: AtomicBool::new(self.cold_start.load(Ordering::Relaxed)),
            counters: TelemetryCounters::default(),
            process_metrics: std::sync::Mutex::new(MetricSet::default()),
        }
    }
}

impl Settings {
    /// The namespace metrics go to (the service when none was set).
    pub(crate) fn namespace(&self) -> &Arc<str> {
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
}
