//! The handlers for events that are not HTTP requests, by kind.

use std::sync::Arc;

use crate::middleware::{Endpoint, Pipeline};
use crate::wire::EventKind;

/// How record batches (SQS, Kinesis, DynamoDB streams) report failures and run.
///
/// ```
/// use lift::routing::BatchOptions;
/// use lift::prelude::*;
///
/// let app = App::new().batch_options(BatchOptions::new().partial_batch_response(true).sqs_concurrency(4));
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    pub(crate) partial: bool,
    pub(crate) sqs_concurrency: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchOptions {
    /// Partial batch responses off, records one at a time.
    pub fn new() -> Self {
        BatchOptions {
            partial: false,
            sqs_concurrency: 1,
        }
    }

    /// Report failed records in `batchItemFailures` instead of failing the whole invocation.
    /// Only turn this on when the event source mapping has `ReportBatchItemFailures` (SAM:
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`): otherwise Lambda ignores the
    /// response and the failed records are deleted as if they had succeeded.
    pub fn partial_batch_response(mut self, on: bool) -> Self {
        self.partial = on;
        self
    }

    /// Run up to `n` messages of a standard SQS queue at once (FIFO queues always run in
    /// order).
    pub fn sqs_concurrency(mut self, n: usize) -> Self {
        self.sqs_concurrency = n.max(1);
        self
    }
}

/// Handlers for non-HTTP events.
#[derive(Default)]
pub(crate) struct EventRoutes {
    pub(crate) records: Vec<(EventKind, Arc<Pipeline>)>,
    pub(crate) eventbridge: Vec<(String, String, Arc<Pipeline>)>,
    pub(crate) eventbridge_fallback: Option<Arc<Pipeline>>,
    pub(crate) schedules: Vec<(String, Arc<Pipeline>)>,
    pub(crate) websocket: Vec<(String, Arc<Pipeline>)>,
    /// Whether a schedule named by a constant input alone (`{"schedule": ...}`, no `source`
    /// of AWS's) runs: anyone allowed to invoke the function can send one.
    pub(crate) constant_input_schedules: bool,
    pub(crate) options: BatchOptions,
}

pub(crate) fn pipeline(endpoint: Endpoint) -> Arc<Pipeline> {
    Pipeline::new(Vec::new(), endpoint)
}

impl EventRoutes {
    pub(crate) fn records(&self, kind: EventKind) -> Option<&Arc<Pipeline>> {
        self.records
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, p)| p)
    }

    pub(crate) fn eventbridge(&self, source: &str, detail_type: &str) -> Option<&Arc<Pipeline>> {
        self.eventbridge
            .iter()
            .find(|(s, d, _)| s == source && d == detail_type)
            .map(|(_, _, p)| p)
            .or(self.eventbridge_fallback.as_ref())
    }

    pub(crate) fn schedule(&self, name: &str) -> Option<&Arc<Pipeline>> {
        self.schedules
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }

    pub(crate) fn websocket(&self, route_key: &str) -> Option<&Arc<Pipeline>> {
        let find = |key: &str| {
            self.websocket
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, p)| p)
        };
        find(route_key).or_else(|| find("$default"))
    }
}
