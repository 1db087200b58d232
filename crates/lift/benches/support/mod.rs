//! What the benches share: an exporter that counts bytes and makes no system call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lift::observability::{Exporter, LogRecord, MetricsBatch, SpanBatch};

/// Counts the bytes of log lines and EMF documents, and the spans, as stdout would get them
/// (no system call).
#[derive(Clone, Default)]
pub struct Counting(pub Arc<AtomicU64>);

impl Exporter for Counting {
    fn name(&self) -> &str {
        "counting"
    }

    fn log(&self, record: &LogRecord<'_>) {
        self.0
            .fetch_add(record.line.len() as u64, Ordering::Relaxed);
    }

    fn metrics(&self, batch: &MetricsBatch) {
        for doc in batch.emf_documents() {
            self.0.fetch_add(doc.len() as u64, Ordering::Relaxed);
        }
    }

    fn spans(&self, batch: &SpanBatch) {
        self.0
            .fetch_add(batch.spans().len() as u64, Ordering::Relaxed);
    }
}
