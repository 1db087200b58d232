//! One invocation's shared state: what every [`Context`](super::Context) of the invocation (the
//! request's, or each record's) reads, and what the corridor collects once they are done — the
//! event, the invocation's telemetry and the after-response work.
//!
//! The event is held behind [`EventData`], which the event sources (the layer above) implement:
//! the context knows an event's kind, its HTTP request and its bytes, and no source by name.

use std::any::Any;
use std::sync::{Arc, Mutex};

use crate::http::request::EMPTY;
use crate::http::Request;
use crate::observability::Telemetry;
use crate::wire::{EventKind, LambdaContext};
use crate::BoxFuture;

/// An invocation's event, parsed once, as the context sees it.
pub(crate) trait EventData: Send + Sync + 'static {
    /// The source it came from.
    fn kind(&self) -> EventKind;
    /// The HTTP request, for an HTTP or WebSocket event.
    fn request(&self) -> Option<&Request<'_>>;
    /// The bytes as the runtime delivered them.
    fn raw(&self) -> &[u8];
    /// The source's own parsed form, for its extractors.
    fn as_any(&self) -> &dyn Any;
}

/// One invocation's state. The event is the last field, so an `Arc<Scope<Cell>>` becomes an
/// `Arc<Scope>` with no second allocation.
pub(crate) struct Scope<E: ?Sized + EventData = dyn EventData> {
    /// The event's kind, read once.
    kind: EventKind,
    after_response: Mutex<Vec<BoxFuture<()>>>,
    telemetry: Arc<Telemetry>,
    event: E,
}

impl<E: EventData> Scope<E> {
    pub(crate) fn new(event: E, telemetry: Telemetry) -> Arc<Scope> {
        Arc::new(Scope {
            kind: event.kind(),
            after_response: Mutex::new(Vec::new()),
            telemetry: Arc::new(telemetry),
            event,
        })
    }
}

impl Scope {
    /// The event parsed once; every context of the invocation reads it from here.
    pub(crate) fn event(&self) -> &dyn EventData {
        &self.event
    }

    /// The event's kind.
    pub(crate) fn kind(&self) -> EventKind {
        self.kind
    }

    /// The HTTP request (an empty one for events that are not HTTP requests).
    pub(crate) fn request(&self) -> &Request<'_> {
        self.event.request().unwrap_or(&EMPTY)
    }

    pub(crate) fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    pub(crate) fn lambda(&self) -> &LambdaContext {
        self.telemetry.lambda()
    }

    /// The id set by middleware, else the Lambda request id.
    pub(crate) fn request_id(&self) -> &str {
        self.telemetry.request_id()
    }

    pub(crate) fn push_after_response(&self, work: BoxFuture<()>) {
        self.after_response
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(work);
    }

    pub(crate) fn take_after_response(&self) -> Vec<BoxFuture<()>> {
        std::mem::take(
            &mut *self
                .after_response
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }
}
