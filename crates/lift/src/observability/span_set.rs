//! [`SpanSet`]: one invocation's finished spans, handed to the exporters as trees at its end.

use std::sync::Mutex;

use super::record::{span_trees, SpanBatch, SpanRecord};
use super::settings::Settings;
use super::trace::TraceState;
use super::xray::TraceHeader;

/// Finished spans of one invocation, in the order they ended.
#[derive(Default)]
pub(crate) struct SpanSet {
    done: Mutex<Vec<SpanRecord>>,
}

impl SpanSet {
    pub(crate) fn push(&self, span: SpanRecord) {
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(span);
    }

    pub(crate) fn flush(&self, settings: &Settings, trace: &TraceState) {
        let spans = std::mem::take(&mut *self.done.lock().unwrap_or_else(|p| p.into_inner()));
        if spans.is_empty() {
            return;
        }
        let mut batch = SpanBatch::new(span_trees(spans));
        batch.trace_id = trace.trace_id.clone();
        batch.trace_header = trace.raw.clone();
        batch.parent_id = trace
            .header
            .as_ref()
            .and_then(TraceHeader::parent)
            .map(str::to_owned);
        batch.in_lambda = trace.in_lambda;
        batch.service = settings.service.to_string();
        settings.pipeline.spans(&batch);
    }
}
