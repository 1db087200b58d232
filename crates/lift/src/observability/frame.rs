//! One request's or one record's identity and metrics: the state behind its
//! [`Context`](crate::Context)'s telemetry handles.
//!
//! An HTTP request has one frame; every record of a batch has its own. A frame's tenant, user
//! and correlation id go on the log lines, metrics and spans recorded through its handles and
//! on no other's, so in a batch one record's `set_tenant` never reaches the next record, even
//! with records running concurrently. The invocation keeps a reference to each frame's state so
//! that its flush finds every frame's metrics, whatever became of the handles.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use super::metrics::MetricSet;
use super::Settings;
use crate::scope::Scope;

/// The ids a frame's log lines, metrics and spans carry once known. Cheap to clone.
#[derive(Debug, Default, Clone)]
pub(crate) struct Ids {
    pub(crate) tenant: Option<Arc<str>>,
    pub(crate) user: Option<Arc<str>>,
    pub(crate) correlation: Option<Arc<str>>,
}

/// What a frame records: its ids and its metrics.
#[derive(Debug, Default)]
pub(crate) struct FrameState {
    pub(crate) ids: Ids,
    pub(crate) metrics: MetricSet,
}

pub(crate) struct Frame {
    scope: Arc<Scope>,
    state: Arc<Mutex<FrameState>>,
    /// For a record of a batch: its id, on every log line as `record_id`.
    record_id: Option<Arc<str>>,
}

impl Frame {
    /// A frame for one request or record of the invocation in `scope`.
    pub(crate) fn new(
        scope: Arc<Scope>,
        correlation: Option<String>,
        record_id: Option<&str>,
    ) -> Arc<Frame> {
        let state = Arc::new(Mutex::new(FrameState {
            ids: Ids {
                correlation: correlation.map(Arc::from),
                ..Ids::default()
            },
            metrics: MetricSet::default(),
        }));
        scope.telemetry.register(state.clone());
        Arc::new(Frame {
            scope,
            state,
            record_id: record_id.map(Arc::from),
        })
    }

    pub(crate) fn scope(&self) -> &Arc<Scope> {
        &self.scope
    }

    pub(crate) fn settings(&self) -> &Arc<Settings> {
        &self.scope.telemetry.settings
    }

    pub(crate) fn record_id(&self) -> Option<&str> {
        self.record_id.as_deref()
    }

    fn state(&self) -> MutexGuard<'_, FrameState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The frame's ids now.
    pub(crate) fn ids(&self) -> Ids {
        self.state().ids.clone()
    }

    pub(crate) fn set_tenant(&self, tenant: String) {
        self.state().ids.tenant = Some(Arc::from(tenant));
    }

    pub(crate) fn set_user(&self, user: String) {
        self.state().ids.user = Some(Arc::from(user));
    }

    /// Record into the frame's metrics, unless its invocation has already been flushed: then
    /// the record is counted as late and dropped.
    pub(crate) fn with_metrics<R>(&self, f: impl FnOnce(&mut MetricSet) -> R) -> Option<R> {
        let telemetry = &self.scope.telemetry;
        if telemetry.is_finished() {
            telemetry
                .settings
                .counters
                .late_records
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(f(&mut self.state().metrics))
    }
}
