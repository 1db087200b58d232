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

use super::frame_state::{set_id, FrameState, IdSource, Ids, RecordFrame};
use super::invocation::Telemetry;
use super::metric_set::MetricSet;
use super::settings::Settings;

/// A handle on one frame. Cheap to clone: one or two reference counts.
#[derive(Clone)]
pub(crate) struct Frame {
    telemetry: Arc<Telemetry>,
    /// `None` for the invocation's main frame.
    record: Option<Arc<RecordFrame>>,
}

impl Frame {
    /// The invocation's main frame (an HTTP request, a WebSocket message, an event), with the
    /// correlation id when known.
    pub(crate) fn main(telemetry: Arc<Telemetry>, correlation: Option<String>) -> Frame {
        if let Some(c) = correlation {
            telemetry.main_state().ids.correlation = Some(Arc::from(c));
        }
        Frame {
            telemetry,
            record: None,
        }
    }

    /// A frame for one record of the invocation's batch.
    pub(crate) fn record(telemetry: Arc<Telemetry>, record_id: &str) -> Frame {
        let state = FrameState::for_tenant(telemetry.lambda().tenant_id.as_deref());
        let record = Arc::new(RecordFrame {
            state: Mutex::new(state),
            record_id: Arc::from(record_id),
        });
        telemetry.register(record.clone());
        Frame {
            telemetry,
            record: Some(record),
        }
    }

    /// The invocation's telemetry (and through it its Lambda context and request id).
    pub(crate) fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    pub(crate) fn settings(&self) -> &Arc<Settings> {
        &self.telemetry.settings
    }

    pub(crate) fn record_id(&self) -> Option<&str> {
        self.record.as_ref().map(|r| &*r.record_id)
    }

    fn state(&self) -> MutexGuard<'_, FrameState> {
        match &self.record {
            Some(r) => r.state.lock().unwrap_or_else(|p| p.into_inner()),
            None => self.telemetry.main_state(),
        }
    }

    /// The frame's ids now.
    pub(crate) fn ids(&self) -> Ids {
        self.state().ids.clone()
    }

    /// Read the frame's ids now, without cloning them all.
    pub(crate) fn with_ids<R>(&self, f: impl FnOnce(&Ids) -> R) -> R {
        f(&self.state().ids)
    }

    /// The id of the span new spans of this frame nest under.
    pub(crate) fn span_id(&self) -> Option<Arc<str>> {
        self.state().span.clone()
    }

    pub(crate) fn set_span_id(&self, id: Option<Arc<str>>) {
        self.state().span = id;
    }

    /// Set the tenant `from` a source, unless a stronger source set it already: whether it did.
    pub(crate) fn set_tenant(&self, tenant: &str, from: IdSource) -> bool {
        let ids = &mut self.state().ids;
        set_id(&mut ids.tenant, &mut ids.tenant_from, tenant, from)
    }

    /// Set the user `from` a source, unless a stronger source set it already: whether it did.
    pub(crate) fn set_user(&self, user: &str, from: IdSource) -> bool {
        let ids = &mut self.state().ids;
        set_id(&mut ids.user, &mut ids.user_from, user, from)
    }

    /// The principal, as the context layer stored it.
    pub(crate) fn principal(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        self.state().principal.clone()
    }

    pub(crate) fn set_principal(&self, principal: Arc<dyn std::any::Any + Send + Sync>) {
        self.state().principal = Some(principal);
    }

    /// Record into the frame's metrics, unless its invocation has already been flushed: then
    /// the record is counted as late and dropped.
    pub(crate) fn with_metrics<R>(&self, f: impl FnOnce(&mut MetricSet) -> R) -> Option<R> {
        if self.telemetry.late() {
            return None;
        }
        Some(f(&mut self.state().metrics))
    }
}
