//! [`StdoutExporter`]: JSON log lines and EMF documents on stdout, the embedded default.
//!
//! In Lambda, stdout goes to CloudWatch Logs, which turns EMF documents into metrics without an
//! API call; locally a developer reads it in the terminal. Each line is written with one
//! `write_all` of the line and its newline, so concurrent invocations never interleave inside a
//! line. Spans are not taken: stdout is not a trace destination.

use std::io::{self, Write};

use super::exporter::{ExportCounters, Exporter, ExporterStats, RecordKind};
use super::record::{LogRecord, MetricsBatch};

/// Writes log lines (as they are logged) and EMF documents (after the response) to stdout, one
/// `write` of the line and its newline each, so concurrent invocations never interleave inside
/// a line. Takes no spans. The default when no exporter is added.
///
/// Next to an exporter that sends one kind elsewhere, keep the other kind on stdout with
/// [`logs_only`](Self::logs_only) or [`metrics_only`](Self::metrics_only):
///
/// ```
/// use lift::observability::{Observability, StdoutExporter};
/// # use lift::observability::NullExporter as CloudWatchMetrics;
/// let obs = Observability::new()
///     .export_to(StdoutExporter::logs_only())   // log lines on stdout
///     .export_to(CloudWatchMetrics);            // metrics through an API
/// # let _ = obs;
/// ```
#[derive(Debug)]
pub struct StdoutExporter {
    counters: ExportCounters,
    logs: bool,
    metrics: bool,
}

impl Default for StdoutExporter {
    fn default() -> Self {
        StdoutExporter {
            counters: ExportCounters::new(),
            logs: true,
            metrics: true,
        }
    }
}

impl StdoutExporter {
    /// Log lines and EMF documents.
    pub fn new() -> Self {
        Self::default()
    }

    /// Log lines only.
    pub fn logs_only() -> Self {
        StdoutExporter {
            metrics: false,
            ..Self::default()
        }
    }

    /// EMF documents only.
    pub fn metrics_only() -> Self {
        StdoutExporter {
            logs: false,
            ..Self::default()
        }
    }

    fn line(&self, line: &[u8]) {
        self.counters.accepted(1);
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        match io::stdout().lock().write_all(&buf) {
            Ok(()) => self.counters.written(1),
            Err(e) => {
                self.counters.dropped("write_failed", 1);
                self.counters.error(e.to_string());
            }
        }
    }
}

impl Exporter for StdoutExporter {
    fn name(&self) -> &str {
        "stdout"
    }

    fn accepts(&self, kind: RecordKind) -> bool {
        match kind {
            RecordKind::Log => self.logs,
            RecordKind::Metrics => self.metrics,
            RecordKind::Span => false,
        }
    }

    fn log(&self, record: &LogRecord<'_>) {
        self.line(record.line);
    }

    fn metrics(&self, batch: &MetricsBatch) {
        for doc in batch.emf_documents() {
            self.line(doc);
        }
    }

    fn stats(&self) -> ExporterStats {
        self.counters.snapshot()
    }
}
