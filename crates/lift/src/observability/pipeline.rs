//! The exporters of an app and their lifecycle: records are handed to every exporter that takes
//! their kind, each call contained so a panicking exporter is counted and skipped, never fatal;
//! flush and shutdown run every exporter concurrently under one deadline, and an exporter that
//! overruns it is cut off and counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::exporter::{Exporter, ExporterStats, RecordKind};
use super::record::{LogRecord, MetricsBatch, SpanBatch};
use crate::catch_panic::{catch, contained, Contained};

/// How long the after-response flush may take, by default.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the shutdown flush may take, by default (Lambda allows 500 ms after SIGTERM).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(300);

/// Counters of what went wrong around the exporters themselves.
#[derive(Debug, Default)]
pub(crate) struct PipelineCounters {
    pub(crate) exporter_panics: AtomicU64,
    pub(crate) flush_timeouts: AtomicU64,
}

#[derive(Clone)]
pub(crate) struct Exporters {
    exporters: Vec<Arc<dyn Exporter>>,
    logs: bool,
    metrics: bool,
    spans: bool,
    pub(crate) counters: Arc<PipelineCounters>,
}

impl Exporters {
    pub(crate) fn new(exporters: Vec<Arc<dyn Exporter>>) -> Self {
        let any = |kind| exporters.iter().any(|e| e.accepts(kind));
        Exporters {
            logs: any(RecordKind::Log),
            metrics: any(RecordKind::Metrics),
            spans: any(RecordKind::Span),
            exporters,
            counters: Arc::default(),
        }
    }

    pub(crate) fn wants(&self, kind: RecordKind) -> bool {
        match kind {
            RecordKind::Log => self.logs,
            RecordKind::Metrics => self.metrics,
            RecordKind::Span => self.spans,
        }
    }

    pub(crate) fn needs_shutdown(&self) -> bool {
        self.exporters.iter().any(|e| e.needs_shutdown())
    }

    fn each(&self, kind: RecordKind, f: impl Fn(&dyn Exporter)) {
        for e in &self.exporters {
            if e.accepts(kind) && catch(|| f(&**e)).is_err() {
                self.counters
                    .exporter_panics
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn log(&self, record: &LogRecord<'_>) {
        self.each(RecordKind::Log, |e| e.log(record));
    }

    pub(crate) fn metrics(&self, batch: &MetricsBatch) {
        self.each(RecordKind::Metrics, |e| e.metrics(batch));
    }

    pub(crate) fn spans(&self, batch: &SpanBatch) {
        self.each(RecordKind::Span, |e| e.spans(batch));
    }

    /// Flush every exporter, concurrently, until `deadline`.
    pub(crate) async fn flush(&self, timeout: Duration) {
        self.run(timeout, |e, deadline| e.flush(deadline)).await;
    }

    /// Shut every exporter down, concurrently, until `deadline`.
    pub(crate) async fn shutdown(&self, timeout: Duration) {
        self.run(timeout, |e, deadline| e.shutdown(deadline)).await;
    }

    async fn run<'a>(
        &'a self,
        timeout: Duration,
        step: impl Fn(&'a dyn Exporter, Instant) -> super::ExportFuture<'a>,
    ) {
        if self.exporters.is_empty() {
            return;
        }
        let deadline = Instant::now() + timeout;
        let tokio_deadline = tokio::time::Instant::from_std(deadline);
        let futures = self.exporters.iter().map(|e| {
            let counters = &self.counters;
            let started = catch(|| step(&**e, deadline));
            async move {
                let Ok(fut) = started else {
                    counters.exporter_panics.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                match contained(fut, tokio_deadline).await {
                    Contained::Done(()) => {}
                    Contained::Panicked(_) => {
                        counters.exporter_panics.fetch_add(1, Ordering::Relaxed);
                    }
                    Contained::TimedOut => {
                        counters.flush_timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        if self.exporters.len() == 1 {
            // The common case: no join machinery for one exporter.
            for f in futures {
                f.await;
            }
        } else {
            futures_util::future::join_all(futures).await;
        }
    }

    pub(crate) fn stats(&self) -> Vec<(String, ExporterStats)> {
        self.exporters
            .iter()
            .map(|e| {
                let stats = catch(|| e.stats()).unwrap_or_default();
                (e.name().to_owned(), stats)
            })
            .collect()
    }
}
