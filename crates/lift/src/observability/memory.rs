//! An in-memory sink for tests: captures every log line, EMF document and span.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{RecordKind, Sink};

type Lines = Vec<(RecordKind, Vec<u8>)>;

/// Captures telemetry for assertions. Clone it, give one clone to
/// [`Observability::sink`](super::Observability::sink), read from the other.
///
/// ```
/// use lift::observability::{MemorySink, Observability};
/// use lift::testing::{invoke, TestRequest};
/// use lift::prelude::*;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mem = MemorySink::new();
/// let app = App::new()
///     .observability(Observability::new().service("svc").namespace("NS").sink(mem.clone()))
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
pub struct MemorySink {
    lines: Arc<Mutex<Lines>>,
    failing: Arc<AtomicBool>,
}

impl std::fmt::Debug for MemorySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySink").finish_non_exhaustive()
    }
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Make every later write fail (to test that failures are counted), or succeed again.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::Relaxed);
    }

    fn of(&self, kind: RecordKind) -> Vec<Value> {
        self.raw(kind)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or(Value::String(l.clone())))
            .collect()
    }

    /// The raw lines of one kind, in order.
    pub fn raw(&self, kind: RecordKind) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
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

    /// Finished spans, parsed.
    pub fn spans(&self) -> Vec<Value> {
        self.of(RecordKind::Span)
    }

    /// Forget everything captured so far.
    pub fn clear(&self) {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl Sink for MemorySink {
    fn write(&self, kind: RecordKind, line: &[u8]) -> io::Result<()> {
        if self.failing.load(Ordering::Relaxed) {
            return Err(io::Error::other("memory sink set to fail"));
        }
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((kind, line.to_vec()));
        Ok(())
    }
}
