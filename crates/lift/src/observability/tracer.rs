//! A span API for tracing work inside an invocation.
//!
//! Spans are recorded in the invocation and handed to the exporters as one [`SpanBatch`] of
//! trees when the invocation ends (after the response): each [`SpanRecord`] has its `name`,
//! `id`, `parent_id`, `start_time` and `end_time` (epoch seconds), `annotations`, `metadata`,
//! `error` and its children. A span carries its request's or record's identity: `tenant_id` and
//! `user_id` annotations, when known. The stdout exporter does not take spans (stdout is for
//! logs and metrics), and then spans are not recorded at all;
//! [`MemoryExporter`](super::MemoryExporter) keeps them for tests. With tracing off
//! (`POWERTOOLS_TRACE_DISABLED`), or no exporter that takes spans, spans cost nothing and record
//! nothing. A span that ends after its invocation was flushed is counted as late.

use std::fmt;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::frame::Frame;
use super::record::{span_trees, SpanBatch, SpanRecord};
use super::{RecordKind, Settings};

/// Finished spans of one invocation, in the order they ended.
#[derive(Default)]
pub(crate) struct SpanSet {
    done: Mutex<Vec<SpanRecord>>,
}

impl SpanSet {
    fn push(&self, span: SpanRecord) {
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(span);
    }

    pub(crate) fn flush(
        &self,
        settings: &Settings,
        trace_header: Option<&str>,
        trace_id: Option<&str>,
    ) {
        let spans = std::mem::take(&mut *self.done.lock().unwrap_or_else(|p| p.into_inner()));
        if spans.is_empty() {
            return;
        }
        settings.pipeline.spans(&SpanBatch {
            trace_id: trace_id.map(str::to_owned),
            trace_header: trace_header.map(str::to_owned),
            roots: span_trees(spans),
        });
    }
}

fn epoch_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn new_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// Starts spans for one invocation. From [`Context::tracer`](crate::Context::tracer).
#[derive(Clone)]
pub struct Tracer {
    frame: Option<Frame>,
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracer")
            .field("enabled", &self.frame.is_some())
            .finish()
    }
}

impl Tracer {
    pub(crate) fn context(frame: Frame) -> Self {
        let settings = frame.settings();
        let enabled = settings.tracing_enabled && settings.pipeline.wants(RecordKind::Span);
        Tracer {
            frame: enabled.then_some(frame),
        }
    }

    /// Start a span; it ends when dropped or [`end`](Span::end)ed.
    pub fn span(&self, name: &str) -> Span {
        Span::start(self.frame.clone(), name, None)
    }
}

struct SpanData {
    name: String,
    id: String,
    parent: Option<String>,
    start: SystemTime,
    annotations: Map<String, Value>,
    metadata: Map<String, Value>,
    error: Option<String>,
}

/// A unit of traced work. Annotations are indexed (searchable) key-values; metadata is not.
pub struct Span {
    frame: Option<Frame>,
    data: Option<Box<SpanData>>,
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Span")
            .field("name", &self.data.as_ref().map(|d| d.name.as_str()))
            .finish()
    }
}

impl Span {
    fn start(frame: Option<Frame>, name: &str, parent: Option<String>) -> Span {
        let data = frame.as_ref().map(|_| {
            Box::new(SpanData {
                name: name.to_owned(),
                id: new_id(),
                parent,
                start: SystemTime::now(),
                annotations: Map::new(),
                metadata: Map::new(),
                error: None,
            })
        });
        Span { frame, data }
    }

    /// A span nested in this one.
    pub fn child(&self, name: &str) -> Span {
        Span::start(
            self.frame.clone(),
            name,
            self.data.as_ref().map(|d| d.id.clone()),
        )
    }

    /// Add an annotation (indexed by X-Ray).
    pub fn annotate(&mut self, key: &str, value: impl Into<Value>) {
        if let Some(d) = &mut self.data {
            d.annotations.insert(key.to_owned(), value.into());
        }
    }

    /// Add metadata (not indexed).
    pub fn metadata(&mut self, key: &str, value: impl Into<Value>) {
        if let Some(d) = &mut self.data {
            d.metadata.insert(key.to_owned(), value.into());
        }
    }

    /// Mark the span failed.
    pub fn set_error(&mut self, message: impl Into<String>) {
        if let Some(d) = &mut self.data {
            d.error = Some(message.into());
        }
    }

    /// End the span now.
    pub fn end(self) {}
}

impl Drop for Span {
    fn drop(&mut self) {
        let (Some(frame), Some(d)) = (&self.frame, self.data.take()) else {
            return;
        };
        let telemetry = &frame.scope().telemetry;
        if telemetry.late() {
            return;
        }
        let mut annotations = d.annotations;
        let ids = frame.ids();
        for (key, value) in [("tenant_id", &ids.tenant), ("user_id", &ids.user)] {
            if let Some(v) = value {
                annotations
                    .entry(key)
                    .or_insert_with(|| Value::String(v.to_string()));
            }
        }
        telemetry.spans.push(SpanRecord {
            name: d.name,
            id: d.id,
            parent_id: d.parent,
            start_time: epoch_seconds(d.start),
            end_time: epoch_seconds(SystemTime::now()),
            annotations,
            metadata: d.metadata,
            error: d.error,
            children: Vec::new(),
        });
    }
}
