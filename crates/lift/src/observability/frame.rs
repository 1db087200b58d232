//! One request's or one record's identity and metrics: the state behind its
//! [`Context`](crate::Context)'s telemetry handles.
//!
//! An HTTP request (or an event) has the invocation's main frame, whose state lives inline in
//! the invocation's telemetry, so it costs no allocation; every record of a batch has a frame of
//! its own. A frame's tenant, user and correlation id go on the log lines, metrics and spans
//! recorded through its handles and on no other's, so in a batch one record's `set_tenant` never
//! reaches the next record, even with records running concurrently. The invocation keeps a
//! reference to each record's state so that its flush finds every frame's metrics, whatever
//! became of the handles.

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

/// What a frame records: its ids, its metrics, and the span its handler runs in.
#[derive(Debug, Default)]
pub(crate) struct FrameState {
    pub(crate) ids: Ids,
    pub(crate) metrics: MetricSet,
    /// The span new spans nest under: the handler's, once it is open.
    pub(crate) span: Option<Arc<str>>,
}

/// A record's own frame state and id.
#[derive(Debug)]
pub(crate) struct RecordFrame {
    pub(crate) state: Mutex<FrameState>,
    record_id: Arc<str>,
}

/// A handle on one frame. Cheap to clone: one or two reference counts.
#[derive(Clone)]
pub(crate) struct Frame {
    scope: Arc<Scope>,
    /// `None` for the invocation's main frame.
    record: Option<Arc<RecordFrame>>,
}

impl Frame {
    /// The invocation's main frame (an HTTP request, a WebSocket message, an event), with the
    /// correlation id when known.
    pub(crate) fn main(scope: Arc<Scope>, correlation: Option<String>) -> Frame {
        if let Some(c) = correlation {
            scope.telemetry.main_state().ids.correlation = Some(Arc::from(c));
        }
        Frame {
            scope,
            record: None,
        }
    }

    /// A frame for one record of the batch in `scope`.
    pub(crate) fn record(scope: Arc<Scope>, record_id: &str) -> Frame {
        let record = Arc::new(RecordFrame {
            state: Mutex::new(FrameState::default()),
            record_id: Arc::from(record_id),
        });
        scope.telemetry.register(record.clone());
        Frame {
            scope,
            record: Some(record),
        }
    }

    pub(crate) fn scope(&self) -> &Arc<Scope> {
        &self.scope
    }

    pub(crate) fn settings(&self) -> &Arc<Settings> {
        &self.scope.telemetry.settings
    }

    pub(crate) fn record_id(&self) -> Option<&str> {
        self.record.as_ref().map(|r| &*r.record_id)
    }

    fn state(&self) -> MutexGuard<'_, FrameState> {
        match &self.record {
            Some(r) => r.state.lock().unwrap_or_else(|p| p.into_inner()),
            None => self.scope.telemetry.main_state(),
        }
    }

    /// The frame's ids now.
    pub(crate) fn ids(&self) -> Ids {
        self.state().ids.clone()
    }

    /// The id of the span new spans of this frame nest under.
    pub(crate) fn span_id(&self) -> Option<Arc<str>> {
        self.state().span.clone()
    }

    pub(crate) fn set_span_id(&self, id: Option<Arc<str>>) {
        self.state().span = id;
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
        if self.scope.telemetry.late() {
            return None;
        }
        Some(f(&mut self.state().metrics))
    }
}
