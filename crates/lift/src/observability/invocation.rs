//! One invocation's telemetry state: its log level and debug buffer, the frames (one per
//! request or record) whose metrics it flushes, its finished spans, its trace id, and how it
//! ended. The app-wide configuration is in `config.rs`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use super::frame_state::{FrameState, Ids, RecordFrame};
use super::level::Level;
use super::settings::Settings;
use super::span_set::SpanSet;
use super::trace::TraceState;
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

    /// Take the buffered lines, and how many were evicted to make room.
    pub(crate) fn take_buffer(&self) -> (VecDeque<Rendered>, u64) {
        let b = self.take();
        (b.lines, b.evicted)
    }

    fn take(&self) -> DebugBuffer {
        let mut b = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *b)
    }
}

/// A rendered line with what its [`LogRecord`](super::LogRecord) needs, kept as such in the debug buffer.
pub(crate) struct Rendered {
    pub(crate) level: Level,
    pub(crate) timestamp: SystemTime,
    pub(crate) ids: Ids,
    pub(crate) line: Vec<u8>,
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
    pub(crate) main: Mutex<FrameState>,
    pub(crate) records: Mutex<Vec<Arc<RecordFrame>>>,
    pub(crate) spans: SpanSet,
    pub(crate) succeeded: AtomicBool,
    pub(crate) finished: AtomicBool,
    pub(crate) function_name: String,
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
            main: Mutex::new(FrameState::for_tenant(lambda.tenant_id.as_deref())),
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
}
