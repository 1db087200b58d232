//! The [`Exporter`] trait, the counters exporters keep their stats in, and the no-op exporter.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::record::{LogRecord, MetricsBatch, SpanBatch};

/// The kinds of telemetry an exporter may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// Log lines.
    Log,
    /// Metrics.
    Metrics,
    /// Finished spans.
    Span,
}

/// The future an exporter's flush or shutdown returns.
pub type ExportFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A future that is ready at once. Zero-sized, so boxing it allocates nothing: the default
/// flush of an exporter that writes as it accepts costs no allocation.
struct Done;

impl Future for Done {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Ready(())
    }
}

/// A destination for telemetry, with a lifecycle and stats.
///
/// An exporter receives structured records ([`LogRecord`], [`MetricsBatch`], [`SpanBatch`]).
/// Receiving is the *accept* step: it runs on the request path for log lines, so it must do no
/// network I/O and take no lock shared between concurrent requests beyond a short local one
/// (stdout's). Network exporters buffer what they accept and send it in
/// [`flush`](Exporter::flush), which runs after the response has been posted, and in
/// [`shutdown`](Exporter::shutdown), which runs at SIGTERM. Both get a deadline; the pipeline
/// cuts off an exporter that overruns it, and contains one that panics. [`stats`](Exporter::stats)
/// says what was accepted, written and dropped (by reason).
///
/// A custom exporter needs only this trait:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use lift::observability::{ExportCounters, Exporter, ExporterStats, LogRecord, Observability, RecordKind};
///
/// /// Keeps the messages of ERROR lines.
/// #[derive(Clone, Default)]
/// struct Errors { lines: Arc<Mutex<Vec<String>>>, counters: Arc<ExportCounters> }
///
/// impl Exporter for Errors {
///     fn name(&self) -> &str { "errors" }
///     fn accepts(&self, kind: RecordKind) -> bool { kind == RecordKind::Log }
///     fn log(&self, record: &LogRecord<'_>) {
///         self.counters.accepted(1);
///         if record.level >= lift::observability::Level::Error {
///             self.lines.lock().unwrap().push(String::from_utf8_lossy(record.line).into_owned());
///             self.counters.written(1);
///         } else {
///             self.counters.dropped("below_error", 1);
///         }
///     }
///     fn stats(&self) -> ExporterStats { self.counters.snapshot() }
/// }
///
/// let obs = Observability::new().export_to(Errors::default());
/// # let _ = obs;
/// ```
pub trait Exporter: Send + Sync + 'static {
    /// A short name for stats and warnings (`stdout`, `cloudwatch-logs`, …).
    fn name(&self) -> &str;

    /// Whether this exporter takes records of `kind`. Telemetry of a kind no exporter takes is
    /// never produced (no line is rendered, no span recorded), so it costs nothing.
    fn accepts(&self, kind: RecordKind) -> bool {
        let _ = kind;
        true
    }

    /// Accept one log line, as it is logged. No network I/O here.
    fn log(&self, record: &LogRecord<'_>) {
        let _ = record;
    }

    /// Accept an invocation's (or the process's) metrics, after the response.
    fn metrics(&self, batch: &MetricsBatch) {
        let _ = batch;
    }

    /// Accept an invocation's finished spans, after the response.
    fn spans(&self, batch: &SpanBatch) {
        let _ = batch;
    }

    /// Send what is buffered, before `deadline`. Runs after each response has been posted.
    fn flush(&self, deadline: Instant) -> ExportFuture<'_> {
        let _ = deadline;
        Box::pin(Done)
    }

    /// Send everything and release resources, before `deadline`. Runs once, at SIGTERM.
    fn shutdown(&self, deadline: Instant) -> ExportFuture<'_> {
        self.flush(deadline)
    }

    /// Whether this exporter holds records that only a shutdown flush would deliver. When any
    /// exporter says so, Lift registers the no-op extension that makes Lambda send SIGTERM.
    fn needs_shutdown(&self) -> bool {
        false
    }

    /// What this exporter did so far.
    fn stats(&self) -> ExporterStats {
        ExporterStats::default()
    }
}

/// What an exporter did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExporterStats {
    /// Records handed to it.
    pub accepted: u64,
    /// Records it delivered.
    pub written: u64,
    /// Records it could not deliver, by reason (`write_failed`, `buffer_full`, …).
    pub dropped: Vec<(String, u64)>,
    /// Records it sent to a fallback (stdout) instead.
    pub fallen_back: u64,
    /// The last error it saw.
    pub last_error: Option<String>,
}

impl ExporterStats {
    /// The total dropped, over every reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|(_, n)| n).sum()
    }

    /// How many were dropped for `reason`.
    pub fn dropped_for(&self, reason: &str) -> u64 {
        self.dropped
            .iter()
            .filter(|(r, _)| r == reason)
            .map(|(_, n)| n)
            .sum()
    }

    /// The stats as JSON, to log or serve: `{"accepted", "written", "dropped": {reason: n},
    /// "fallen_back", "last_error"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let dropped: serde_json::Map<String, serde_json::Value> = self
            .dropped
            .iter()
            .map(|(reason, n)| (reason.clone(), (*n).into()))
            .collect();
        serde_json::json!({
            "accepted": self.accepted,
            "written": self.written,
            "dropped": dropped,
            "fallen_back": self.fallen_back,
            "last_error": self.last_error,
        })
    }
}

/// TelemetryCounters an exporter can keep its [`ExporterStats`] in: lock-free for the common counts, a
/// short lock only for drops and errors.
#[derive(Debug, Default)]
pub struct ExportCounters {
    accepted: AtomicU64,
    written: AtomicU64,
    fallen_back: AtomicU64,
    dropped: Mutex<Vec<(&'static str, u64)>>,
    last_error: Mutex<Option<String>>,
}

impl ExportCounters {
    /// New counters, all zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Count `n` records accepted.
    pub fn accepted(&self, n: u64) {
        self.accepted.fetch_add(n, Ordering::Relaxed);
    }

    /// Count `n` records delivered.
    pub fn written(&self, n: u64) {
        self.written.fetch_add(n, Ordering::Relaxed);
    }

    /// Count `n` records sent to the fallback instead.
    pub fn fallen_back(&self, n: u64) {
        self.fallen_back.fetch_add(n, Ordering::Relaxed);
    }

    /// Count `n` records dropped for `reason`.
    pub fn dropped(&self, reason: &'static str, n: u64) {
        let mut d = self.dropped.lock().unwrap_or_else(|p| p.into_inner());
        match d.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, c)) => *c += n,
            None => d.push((reason, n)),
        }
    }

    /// Remember the last error.
    pub fn error(&self, message: impl Into<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(message.into());
    }

    /// The counts so far.
    pub fn snapshot(&self) -> ExporterStats {
        ExporterStats {
            accepted: self.accepted.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            dropped: self
                .dropped
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|(r, n)| ((*r).to_owned(), *n))
                .collect(),
            fallen_back: self.fallen_back.load(Ordering::Relaxed),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// Takes nothing: with only this exporter, loggers, metrics and tracers are no-ops that do no
/// formatting at all.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullExporter;

impl Exporter for NullExporter {
    fn name(&self) -> &str {
        "null"
    }

    fn accepts(&self, _kind: RecordKind) -> bool {
        false
    }
}
