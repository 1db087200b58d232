//! One invocation's telemetry state: its log level and debug buffer, the frames (one per
//! request or record) whose metrics it flushes, its finished spans, its trace id, and how it
//! ended. The app-wide configuration is in `config.rs`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::frame::{FrameState, RecordFrame};
use super::logger::{Field, Level, Logger, Rendered};
use super::trace::TraceState;
use super::tracer::SpanSet;
use super::{RecordKind, Settings};
use crate::wire::LambdaContext;

/// One invocation's logging state: its effective level and its debug buffer.
pub(crate) struct LogState {
    pub(crate) level: Level,
    pub(crate) sampled: bool,
    buffer: Mutex<DebugBuffer>,
    pub(crate) error_logged: AtomicBool,
}

#[derive(Default)]
struct DebugBuffer {
    lines: VecDeque<Rendered>,
    bytes: usize,
    evicted: u64,
}

impl LogState {
    fn new(settings: &Settings) -> Self {
        let sampled = settings.sample_rate > 0.0 && fastrand::f64() < settings.sample_rate;
        LogState {
            level: if sampled {
                settings.level.min(Level::Debug)
            } else {
                settings.level
            },
            sampled,
            buffer: Mutex::new(DebugBuffer::default()),
            error_logged: AtomicBool::new(false),
        }
    }

    pub(crate) fn buffer(&self, line: Rendered, max: usize) {
        let mut b = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        b.bytes += line.line.len();
        b.lines.push_back(line);
        while b.bytes > max {
            match b.lines.pop_front() {
                Some(old) => {
                    b.bytes -= old.line.len();
                    b.evicted += 1;
                }
                None => break,
            }
        }
    }

    fn take_buffer(&self) -> DebugBuffer {
        let mut b = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *b)
    }

    /// Write the buffered debug lines (and a note of any evicted ones).
    pub(crate) fn flush_buffer(&self, logger: &Logger) {
        let b = self.take_buffer();
        if b.evicted > 0 {
            logger.emit(
                Level::Warn,
                "debug buffer overflowed; older debug lines were evicted",
                &[("evicted_lines", Field::U64(b.evicted))],
            );
        }
        for line in b.lines {
            logger.export(&line);
        }
    }

    /// End of the invocation: buffered lines are written if it failed or logged an error
    /// (lines buffered after that error included), discarded otherwise.
    fn finish(&self, logger: &Logger, failed: bool) {
        if failed || self.error_logged.load(Ordering::Relaxed) {
            self.flush_buffer(logger);
        } else {
            self.take_buffer();
        }
    }
}

/// One invocation's telemetry: its Lambda context and request id, its log state, its frames'
/// identities and metrics, its spans and its trace. Every frame of the invocation shares it.
pub(crate) struct Telemetry {
    lambda: LambdaContext,
    request_id: OnceLock<String>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) cold_start: bool,
    pub(crate) log: LogState,
    /// The main frame's state (the request's, or the event's), and each record's.
    main: Mutex<FrameState>,
    records: Mutex<Vec<Arc<RecordFrame>>>,
    pub(crate) spans: SpanSet,
    succeeded: AtomicBool,
    finished: AtomicBool,
    function_name: String,
    /// The trace the invocation belongs to, and whether its spans are recorded.
    pub(crate) trace: TraceState,
}

impl Telemetry {
    /// An invocation's telemetry; `incoming` is the request's `X-Amzn-Trace-Id`, if any.
    pub(crate) fn new(
        settings: Arc<Settings>,
        lambda: LambdaContext,
        incoming: Option<&str>,
    ) -> Self {
        let cold_start = settings.take_cold_start();
        let trace = TraceState::new(&settings, lambda.xray_trace_id.as_deref(), incoming);
        Telemetry {
            log: LogState::new(&settings),
            cold_start,
            main: Mutex::new(FrameState::default()),
            records: Mutex::new(Vec::new()),
            spans: SpanSet::default(),
            succeeded: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            function_name: if cold_start {
                lambda.function.function_name.clone()
            } else {
                String::new()
            },
            trace,
            settings,
            lambda,
            request_id: OnceLock::new(),
        }
    }

    /// What the Lambda runtime said about the invocation.
    pub(crate) fn lambda(&self) -> &LambdaContext {
        &self.lambda
    }

    /// The id set by middleware, else the Lambda request id.
    pub(crate) fn request_id(&self) -> &str {
        self.request_id.get().unwrap_or(&self.lambda.request_id)
    }

    /// Set the request id, once: `false` when it was already set.
    pub(crate) fn set_request_id(&self, id: String) -> bool {
        self.request_id.set(id).is_ok()
    }

    pub(crate) fn main_state(&self) -> std::sync::MutexGuard<'_, FrameState> {
        self.main.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep a record's frame, so the flush finds its metrics.
    pub(crate) fn register(&self, record: Arc<RecordFrame>) {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record);
    }

    /// Whether the invocation has been flushed: then whatever is recorded now is late, and is
    /// counted as such (the caller drops it).
    pub(crate) fn late(&self) -> bool {
        let late = self.finished.load(Ordering::Acquire);
        if late {
            self.settings
                .counters
                .late_records
                .fetch_add(1, Ordering::Relaxed);
        }
        late
    }

    /// Record how the invocation ended, for the flush that follows (or for `Drop`, if the
    /// invocation is abandoned or panics before the flush).
    pub(crate) fn set_outcome(&self, succeeded: bool) {
        self.succeeded.store(succeeded, Ordering::Relaxed);
    }

    /// End of the invocation: write or drop the debug buffer, and hand the metrics (one record
    /// per dimension-value set) and the spans to the exporters. Runs once; what is recorded
    /// after it is counted as late.
    pub(crate) fn finish(&self) {
        if self.finished.swap(true, Ordering::AcqRel) {
            return;
        }
        let settings = &self.settings;
        let failed = !self.succeeded.load(Ordering::Relaxed);
        self.log.finish(&Logger::process(settings.clone()), failed);
        let records = std::mem::take(&mut *self.records.lock().unwrap_or_else(|p| p.into_inner()));
        if settings.metrics_enabled && settings.pipeline.wants(RecordKind::Metrics) {
            let take = |f: &mut FrameState| (f.ids.tenant.clone(), std::mem::take(&mut f.metrics));
            let mut sets = Vec::with_capacity(1 + records.len());
            sets.push(take(&mut self.main_state()));
            for r in &records {
                sets.push(take(&mut r.state.lock().unwrap_or_else(|p| p.into_inner())));
            }
            let cold = self.cold_start && settings.cold_start_metric;
            super::flush::metrics(
                settings,
                sets,
                cold.then_some(self.function_name.as_str()),
                self.trace.trace_id.as_deref(),
            );
        }
        self.spans.flush(settings, &self.trace);
        settings.flush_process_metrics();
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // An invocation that panicked or was abandoned never reached its flush: nothing it
        // recorded is lost, and its debug lines are written as for a failure.
        self.finish();
    }
}
