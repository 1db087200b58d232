//! A span API for tracing work inside an invocation.
//!
//! Spans are recorded in the invocation and written to the sink as [`RecordKind::Span`]
//! lines when the invocation ends (after the response), in the shape of X-Ray subsegments:
//! `name`, `id`, `parent_id`, `trace_id`, `start_time` and `end_time` (epoch seconds),
//! `annotations`, `metadata`, `error`. The stdout sink does not take them (stdout is for logs
//! and metrics), and then spans are not recorded at all; [`MemorySink`](super::MemorySink)
//! keeps them for tests. With tracing off (`POWERTOOLS_TRACE_DISABLED`), or no sink that takes
//! spans, spans cost nothing and record nothing.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::{RecordKind, Shared};
use crate::scope::Scope;

/// Finished spans of one invocation.
#[derive(Default)]
pub(crate) struct SpanSet {
    done: Mutex<Vec<Value>>,
}

impl SpanSet {
    fn push(&self, span: Value) {
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(span);
    }

    pub(crate) fn flush(&self, shared: &Shared, trace_header: Option<&str>) {
        let spans = std::mem::take(&mut *self.done.lock().unwrap_or_else(|p| p.into_inner()));
        let trace_id = trace_header.and_then(root_of);
        for mut span in spans {
            if let (Some(t), Value::Object(m)) = (trace_id, &mut span) {
                m.insert("trace_id".into(), Value::String(t.to_owned()));
            }
            if let Ok(line) = serde_json::to_vec(&span) {
                shared.write(RecordKind::Span, &line);
            }
        }
    }
}

/// `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=...;Sampled=1` → the root id.
fn root_of(header: &str) -> Option<&str> {
    header
        .split(';')
        .find_map(|p| p.trim().strip_prefix("Root="))
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
    scope: Option<Arc<Scope>>,
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracer")
            .field("enabled", &self.scope.is_some())
            .finish()
    }
}

impl Tracer {
    pub(crate) fn invocation(scope: Arc<Scope>) -> Self {
        let shared = &scope.telemetry.shared;
        let enabled = shared.tracing_enabled && shared.sink.accepts(RecordKind::Span);
        Tracer {
            scope: enabled.then_some(scope),
        }
    }

    /// Start a span; it ends when dropped or [`end`](Span::end)ed.
    pub fn span(&self, name: &str) -> Span {
        Span::start(self.scope.clone(), name, None)
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
    scope: Option<Arc<Scope>>,
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
    fn start(scope: Option<Arc<Scope>>, name: &str, parent: Option<String>) -> Span {
        let data = scope.as_ref().map(|_| {
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
        Span { scope, data }
    }

    /// A span nested in this one.
    pub fn child(&self, name: &str) -> Span {
        Span::start(
            self.scope.clone(),
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
        let (Some(scope), Some(d)) = (&self.scope, self.data.take()) else {
            return;
        };
        let mut m = Map::new();
        m.insert("name".into(), Value::String(d.name));
        m.insert("id".into(), Value::String(d.id));
        if let Some(p) = d.parent {
            m.insert("parent_id".into(), Value::String(p));
        }
        m.insert("start_time".into(), Value::from(epoch_seconds(d.start)));
        m.insert(
            "end_time".into(),
            Value::from(epoch_seconds(SystemTime::now())),
        );
        if !d.annotations.is_empty() {
            m.insert("annotations".into(), Value::Object(d.annotations));
        }
        if !d.metadata.is_empty() {
            m.insert("metadata".into(), Value::Object(d.metadata));
        }
        if let Some(e) = d.error {
            m.insert("error".into(), Value::Bool(true));
            m.insert("cause".into(), Value::String(e));
        }
        scope.telemetry.spans.push(Value::Object(m));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn trace_root_is_read_from_the_header() {
        assert_eq!(
            super::root_of(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            ),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(super::root_of("Parent=1"), None);
    }
}
