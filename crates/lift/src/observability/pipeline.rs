//! The exporters of an app and their lifecycle: records are handed to every exporter that takes
//! their kind, each call contained so a panicking exporter is counted and skipped, never fatal;
//! flush and shutdown run every exporter concurrently under one deadline, and an exporter that
//! overruns it is cut off and counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::exporter::{Exporter, ExporterStats, RecordKind};
use super::record::{LogRecord, MetricsBatch, SpanBatch};
use super::stdout::StdoutExporter;
use crate::wire::catch_panic::{catch, contained, Contained};

/// How long the after-response flush may take, by default.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the shutdown flush may take, by default (Lambda allows 500 ms after SIGTERM).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(300);

/// TelemetryCounters of what went wrong around the exporters themselves.
#[derive(Debug, Default)]
pub(crate) struct PipelineCounters {
    pub(crate) exporter_panics: AtomicU64,
    pub(crate) flush_timeouts: AtomicU64,
}

/// What an exporter takes, asked once when it is added: `[logs, metrics, spans]`.
type Kinds = [bool; 3];

fn index(kind: RecordKind) -> usize {
    match kind {
        RecordKind::Log => 0,
        RecordKind::Metrics => 1,
        RecordKind::Span => 2,
    }
}

pub(crate) struct ExporterSet {
    exporters: Vec<(Arc<dyn Exporter>, Kinds)>,
    /// Whether the exporters are the ones the user added, not the defaults.
    added: bool,
    /// What at least one exporter takes.
    wanted: Kinds,
    pub(crate) counters: Arc<PipelineCounters>,
}

impl ExporterSet {
    fn new(exporters: Vec<Arc<dyn Exporter>>, added: bool) -> Self {
        let exporters: Vec<(Arc<dyn Exporter>, Kinds)> = exporters
            .into_iter()
            .map(|e| {
                let kinds =
                    [RecordKind::Log, RecordKind::Metrics, RecordKind::Span].map(|k| e.accepts(k));
                (e, kinds)
            })
            .collect();
        let wanted = [0, 1, 2].map(|i| exporters.iter().any(|(_, k)| k[i]));
        ExporterSet {
            exporters,
            added,
            wanted,
            counters: Arc::default(),
        }
    }

    /// The default: stdout alone.
    pub(crate) fn stdout() -> Self {
        Self::new(vec![Arc::new(StdoutExporter::new())], false)
    }

    /// The defaults under Lambda's active tracing: stdout and X-Ray, which the first exporter
    /// added replaces, as it replaces stdout.
    pub(crate) fn stdout_and(exporter: Arc<dyn Exporter>) -> Self {
        Self::new(vec![Arc::new(StdoutExporter::new()), exporter], false)
    }

    /// These exporters plus `exporter` (which replaces the defaults).
    pub(crate) fn with(&self, exporter: Arc<dyn Exporter>) -> Self {
        let mut all: Vec<Arc<dyn Exporter>> = if self.added {
            self.exporters.iter().map(|(e, _)| e.clone()).collect()
        } else {
            Vec::new()
        };
        all.push(exporter);
        Self::new(all, true)
    }

    /// The same exporters (shared, with their own stats) and fresh pipeline counters.
    pub(crate) fn fresh(&self) -> Self {
        Self::new(
            self.exporters.iter().map(|(e, _)| e.clone()).collect(),
            self.added,
        )
    }

    pub(crate) fn wants(&self, kind: RecordKind) -> bool {
        self.wanted[index(kind)]
    }

    pub(crate) fn needs_shutdown(&self) -> bool {
        self.exporters.iter().any(|(e, _)| e.needs_shutdown())
    }

    fn each(&self, kind: RecordKind, f: impl Fn(&dyn Exporter)) {
        let i = index(kind);
        for (e, kinds) in &self.exporters {
            if kinds[i] && catch(|| f(&**e)).is_err() {
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
        let deadline = Instant::now() + timeout;
        let tokio_deadline = tokio::time::Instant::from_std(deadline);
        let futures = self.exporters.iter().map(|(e, _)| {
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
            .map(|(e, _)| {
                let stats = catch(|| e.stats()).unwrap_or_default();
                (e.name().to_owned(), stats)
            })
            .collect()
    }
}
