//! What a frame records — its ids (tenant, user, correlation id, and where each came from), its
//! metrics, its span and its principal — kept apart from the [`Frame`](super::Frame) handle so
//! that the invocation can hold every frame's state without knowing the handle.

use std::sync::{Arc, Mutex};

use super::metric_set::MetricSet;

/// The ids a frame's log lines, metrics and spans carry once known. Cheap to clone.
#[derive(Debug, Default, Clone)]
pub(crate) struct Ids {
    pub(crate) tenant: Option<Arc<str>>,
    pub(crate) user: Option<Arc<str>>,
    pub(crate) correlation: Option<Arc<str>>,
    /// Where `tenant` came from, for the precedence [`Frame::set_tenant`] keeps.
    pub(crate) tenant_from: Option<IdSource>,
    /// Where `user` came from.
    pub(crate) user_from: Option<IdSource>,
}

/// Who said what a frame's tenant or user is, strongest first: an id from a stronger source is
/// never replaced by one from a weaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum IdSource {
    /// The authenticated principal.
    Principal,
    /// Lambda's tenant isolation mode (the invocation's tenant id).
    Lambda,
    /// The app, through the context's setter.
    App,
}

/// What a frame records: its ids, its metrics, and the span its handler runs in.
#[derive(Debug, Default)]
pub(crate) struct FrameState {
    pub(crate) ids: Ids,
    pub(crate) metrics: MetricSet,
    /// The span new spans nest under: the handler's, once it is open.
    pub(crate) span: Option<Arc<str>>,
    /// The authenticated principal, kept opaque here: the context layer owns its type.
    pub(crate) principal: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

/// A record's own frame state and id.
#[derive(Debug)]
pub(crate) struct RecordFrame {
    pub(crate) state: Mutex<FrameState>,
    pub(crate) record_id: Arc<str>,
}

pub(crate) fn set_id(
    id: &mut Option<Arc<str>>,
    source: &mut Option<IdSource>,
    value: &str,
    from: IdSource,
) -> bool {
    if source.is_some_and(|s| s < from) {
        return false;
    }
    *id = Some(Arc::from(value));
    *source = Some(from);
    true
}

impl FrameState {
    /// A new frame's state: its tenant is the invocation's, in Lambda's tenant isolation mode.
    pub(crate) fn for_tenant(lambda_tenant: Option<&str>) -> Self {
        let mut state = FrameState::default();
        if let Some(t) = lambda_tenant {
            set_id(
                &mut state.ids.tenant,
                &mut state.ids.tenant_from,
                t,
                IdSource::Lambda,
            );
        }
        state
    }
}
