//! **Step 8 of the corridor, the last:** after the reply is posted.
//!
//! The after-response window: what runs once the response has been posted (in Lambda, before
//! the runtime asks for the next event; elsewhere, right after the reply).
//!
//! The telemetry flush runs first, never queued behind user tasks: the invocation's metrics and
//! spans are handed to the exporters and every exporter flushes, bounded by
//! [`Observability::flush_timeout`](crate::observability::Observability::flush_timeout). Then
//! each task registered with [`Context::after_response`](crate::Context::after_response) runs in
//! turn, isolated: a panic is caught, logged and counted; a task still running after
//! [`App::after_response_limit`](crate::App::after_response_limit) is cut off, logged and
//! counted. Either way the function goes on serving. The work runs whether the invocation
//! succeeded or failed.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::context::scope::Scope;
use crate::observability::{Field, Logger};
use crate::wire::catch_panic::{contained, Contained};
use crate::BoxFuture;

/// An invocation's after-response work: the telemetry flush first, then each task registered
/// with [`Context::after_response`](crate::Context::after_response), isolated (a panic is caught
/// and counted, a task past [`App::after_response_limit`](crate::App::after_response_limit) is
/// cut off and counted). It runs whether the invocation succeeded or failed.
#[derive(Default)]
pub struct AfterResponse {
    flush: Option<Arc<Scope>>,
    tasks: Vec<BoxFuture<()>>,
    limit: Duration,
}

impl fmt::Debug for AfterResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterResponse")
            .field("telemetry_flush", &self.flush.is_some())
            .field("tasks", &self.tasks.len())
            .finish()
    }
}

impl AfterResponse {
    pub(crate) fn new(scope: Arc<Scope>, limit: Duration) -> Self {
        let tasks = scope.take_after_response();
        AfterResponse {
            flush: Some(scope),
            tasks,
            limit,
        }
    }

    /// The number of user tasks (the telemetry flush not counted).
    pub fn tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Whether there is nothing to run at all.
    pub fn is_empty(&self) -> bool {
        self.flush.is_none() && self.tasks.is_empty()
    }

    /// Run it: the telemetry flush, then each task, isolated and bounded.
    pub async fn run(self) {
        let Some(scope) = self.flush else {
            return;
        };
        let settings = scope.telemetry().settings.clone();
        scope.telemetry().finish();
        settings.pipeline.flush(settings.flush_timeout).await;
        let logger = Logger::process(settings.clone());
        for task in self.tasks {
            let deadline = tokio::time::Instant::now() + self.limit;
            match contained(task, deadline).await {
                Contained::Done(()) => {}
                Contained::Panicked(caught) => {
                    settings
                        .counters
                        .after_response_panics
                        .fetch_add(1, Ordering::Relaxed);
                    logger.error(
                        "after-response task panicked",
                        &[
                            (
                                "function_request_id",
                                Field::Str(&scope.lambda().request_id),
                            ),
                            ("panic", Field::Str(&caught.message)),
                            (
                                "location",
                                Field::Str(caught.location.as_deref().unwrap_or("unknown")),
                            ),
                        ],
                    );
                }
                Contained::TimedOut => {
                    settings
                        .counters
                        .after_response_timeouts
                        .fetch_add(1, Ordering::Relaxed);
                    logger.warn(
                        "after-response task cut off at its time limit",
                        &[
                            (
                                "function_request_id",
                                Field::Str(&scope.lambda().request_id),
                            ),
                            ("limit_ms", Field::U64(self.limit.as_millis() as u64)),
                        ],
                    );
                }
            }
        }
    }
}
