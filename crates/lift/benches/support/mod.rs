//! What the benches share: an exporter that counts bytes and makes no system call, and a poll
//! that finishes what never waits. Each bench uses what it needs of them.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

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

/// Poll `f` once with a no-op waker: what the benches drive never waits (an invocation with
/// nothing to await, a verification with static keys).
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("nothing a bench drives waits"),
    }
}
