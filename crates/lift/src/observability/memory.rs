//! [`MemoryExporter`]: captures every log line, EMF document, metrics record and span, for tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::exporter::{ExportCounters, Exporter, ExporterStats, RecordKind};
use super::record::{LogRecord, MetricsBatch, MetricsRecord, SpanBatch};

#[derive(Default)]
struct Captured {
    lines: Vec<(RecordKind, Vec<u8>)>,
    records: Vec<MetricsRecord>,
    batches: Vec<SpanBatch>,
}

/// Captures telemetry for assertions. Clone it, give one clone to
/// [`Observability::export_to`](super::Observability::export_to), read from the other.
///
/// ```
/// use lift::observability::{MemoryExporter, Observability};
/// use lift::testing::{invoke, TestRequest};
/// use lift::prelude::*;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let mem = MemoryExporter::new();
/// let app = App::new()
///     .observability(Observability::new().service("svc").namespace("NS").export_to(mem.clone()))
///     .get("/", |ctx: Context| async move {
///         ctx.logger().info("hi", &[("n", 1.into())]);
///         ctx.metrics().counter("Hits").increment();
///         "ok"
///     })
///     .build()
///     .unwrap();
/// invoke(&app, TestRequest::get("/").v2()).await.unwrap();
/// assert_eq!(mem.logs()[0]["message"], "hi");
/// assert_eq!(mem.metrics()[0]["Hits"], 1.0);
/// # });
/// ```
#[derive(Clone, Default)]
pub struct MemoryExporter {
    captured: Arc<Mutex<Captured>>,
    failing: Arc<AtomicBool>,
    counters: Arc<ExportCounters>,
}

impl std::fmt::Debug for MemoryExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryExporter").finish_non_exhaustive()
    }
}

impl MemoryExporter {
    /// An empty exporter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Make every later record fail to be kept (counted as dropped, `write_failed`), to test
    /// what happens when an exporter fails; or keep them again.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::Relaxed);
    }

    fn captured(&self) -> std::sync::MutexGuard<'_, Captured> {
        self.captured.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn keep(&self, n: u64, f: impl FnOnce(&mut Captured)) {
        self.counters.accepted(n);
        if self.failing.load(Ordering::Relaxed) {
            self.counters.dropped("write_failed", n);
            self.counters.error("memory exporter set to fail");
            return;
        }
        f(&mut self.captured());
        self.counters.written(n);
    }

    fn of(&self, kind: RecordKind) -> Vec<Value> {
        self.raw(kind)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or(Value::String(l.clone())))
            .collect()
    }

    /// The raw lines of one kind, in order: log lines, EMF documents, or spans as JSON.
    pub fn raw(&self, kind: RecordKind) -> Vec<String> {
        self.captured()
            .lines
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, l)| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    /// Log lines, parsed (a line that is not JSON, e.g. the pretty format, is a string).
    pub fn logs(&self) -> Vec<Value> {
        self.of(RecordKind::Log)
    }

    /// EMF documents, parsed.
    pub fn metrics(&self) -> Vec<Value> {
        self.of(RecordKind::Metrics)
    }

    /// The structured metrics records, one per dimension-value set, in order.
    pub fn metric_records(&self) -> Vec<MetricsRecord> {
        self.captured().records.clone()
    }

    /// Finished spans, each as a JSON object (see
    /// [`SpanRecord::to_json`](super::SpanRecord::to_json)), parents before children.
    pub fn spans(&self) -> Vec<Value> {
        self.of(RecordKind::Span)
    }

    /// The span batches, one per invocation, as trees.
    pub fn span_batches(&self) -> Vec<SpanBatch> {
        self.captured().batches.clone()
    }

    /// Forget everything captured so far.
    pub fn clear(&self) {
        *self.captured() = Captured::default();
    }
}

impl Exporter for MemoryExporter {
    fn name(&self) -> &str {
        "memory"
    }

    fn log(&self, record: &LogRecord<'_>) {
        self.keep(1, |c| c.lines.push((RecordKind::Log, record.line.to_vec())));
    }

    fn metrics(&self, batch: &MetricsBatch) {
        let docs = batch.emf_documents();
        self.keep(docs.len() as u64, |c| {
            for d in docs {
                c.lines.push((RecordKind::Metrics, d.clone()));
            }
            c.records.extend(batch.records().iter().cloned());
        });
    }

    fn spans(&self, batch: &SpanBatch) {
        let spans = batch.spans();
        self.keep(spans.len() as u64, |c| {
            for s in spans {
                let line =
                    serde_json::to_vec(&s.to_json(batch.trace_id.as_deref())).unwrap_or_default();
                c.lines.push((RecordKind::Span, line));
            }
            c.batches.push(batch.clone());
        });
    }

    fn stats(&self) -> ExporterStats {
        self.counters.snapshot()
    }
}
