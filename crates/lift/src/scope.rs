//! One invocation's shared state: what the middleware chain, the telemetry handles and the
//! corridor all see, after the [`Context`](crate::Context) itself has been moved down the chain.

use std::sync::{Mutex, OnceLock};

use crate::context::LambdaContext;
use crate::events::{EventCell, Parsed};
use crate::http::request::EMPTY;
use crate::http::Request;
use crate::observability::Telemetry;
use crate::BoxFuture;

pub(crate) struct Scope {
    event: EventCell,
    lambda: LambdaContext,
    request_id: OnceLock<String>,
    after_response: Mutex<Vec<BoxFuture<()>>>,
    pub(crate) telemetry: Telemetry,
}

impl Scope {
    pub(crate) fn new(event: EventCell, lambda: LambdaContext, telemetry: Telemetry) -> Self {
        Scope {
            event,
            lambda,
            request_id: OnceLock::new(),
            after_response: Mutex::new(Vec::new()),
            telemetry,
        }
    }

    /// The event parsed once; every context of the invocation reads it from here.
    pub(crate) fn event(&self) -> &Parsed<'_> {
        self.event.borrow_dependent()
    }

    /// The HTTP request (an empty one for events that are not HTTP requests).
    pub(crate) fn request(&self) -> &Request<'_> {
        match self.event() {
            Parsed::Http(r) | Parsed::WebSocket(r, _) => r,
            _ => &EMPTY,
        }
    }

    pub(crate) fn raw_event(&self) -> &[u8] {
        self.event.borrow_owner()
    }

    pub(crate) fn lambda(&self) -> &LambdaContext {
        &self.lambda
    }

    /// The id set by middleware, else the Lambda request id.
    pub(crate) fn request_id(&self) -> &str {
        self.request_id.get().unwrap_or(&self.lambda.request_id)
    }

    pub(crate) fn set_request_id(&self, id: String) -> bool {
        self.request_id.set(id).is_ok()
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
