//! [`AppService`]: a built [`App`](crate::App), and what one invocation gives back — the
//! [`Reply`] (or the [`InvokeError`]) and the [`AfterResponse`] work. The corridor that turns an
//! event into these is in `corridor.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Extensions;
use serde::Serialize;

use crate::after_response::AfterResponse;
use crate::app::ShutdownHook;
use crate::events::batch::BatchResponse;
use crate::events::HttpReply;
use crate::middleware::{Endpoint, Pipeline};
use crate::observability::Observability;
use crate::routing::{EventRoutes, Router};

/// The frozen parts of a built app.
pub(crate) struct Parts {
    pub(crate) router: Router,
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) fallback: Option<Endpoint>,
    pub(crate) state: Arc<Extensions>,
    pub(crate) strip_prefix: Option<String>,
    pub(crate) shutdown: std::sync::Mutex<Vec<ShutdownHook>>,
    pub(crate) observability: Observability,
    pub(crate) events: EventRoutes,
    pub(crate) after_response_limit: Duration,
    /// The request body limit of routes without their own.
    pub(crate) body_limit: usize,
    /// The largest body any route accepts: what the dev server reads at most.
    pub(crate) max_body_limit: usize,
}

/// A built [`App`](crate::App): cheap to clone, shared by concurrent invocations.
#[derive(Clone)]
pub struct AppService {
    pub(crate) inner: Arc<Parts>,
}

impl fmt::Debug for AppService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppService").finish_non_exhaustive()
    }
}

impl AppService {
    /// The app's telemetry configuration, for its [`stats`](Observability::stats) and
    /// process-level logger and metrics.
    pub fn observability(&self) -> &Observability {
        &self.inner.observability
    }
}

/// Why an invocation could not be handled at all; reported to the Lambda runtime as an
/// invocation error (the HTTP client, if any, never sees it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeError {
    /// A stable error type, e.g. `Lift.UnsupportedEvent`.
    pub error_type: &'static str,
    /// What went wrong, without the event's contents.
    pub message: String,
}

impl fmt::Display for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for InvokeError {}

/// The response to one invocation, serialised in the shape its source expects.
#[derive(Debug)]
#[non_exhaustive]
pub enum Reply {
    /// An HTTP response (API Gateway v1/v2, ALB, Function URL, WebSocket).
    Http(HttpReply),
    /// The records to retry: `{"batchItemFailures":[{"itemIdentifier":"..."}]}`.
    Batch(BatchResponse),
    /// Nothing to say (`null`): the event was handled.
    Empty,
}

impl Serialize for Reply {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Reply::Http(r) => r.serialize(s),
            Reply::Batch(b) => b.serialize(s),
            Reply::Empty => s.serialize_unit(),
        }
    }
}

impl Reply {
    /// The reply as JSON bytes, as the runtime would post it.
    pub fn to_json(&self) -> Vec<u8> {
        // The reply holds only strings, numbers and maps with string keys.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// One handled invocation: the reply to post (or the error to report), and the work to run
/// once it has been posted. The work is there whether the invocation succeeded or failed.
pub struct Invocation {
    /// The reply to post, or the invocation error to report.
    pub reply: Result<Reply, InvokeError>,
    /// The telemetry flush and the work registered with
    /// [`Context::after_response`](crate::Context::after_response).
    pub after_response: AfterResponse,
}

impl fmt::Debug for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invocation")
            .field("reply", &self.reply)
            .field("after_response", &self.after_response)
            .finish()
    }
}

impl Invocation {
    /// Run the after-response work (the runtime does this once the reply is posted), then
    /// give back the reply.
    pub async fn finish(self) -> Result<Reply, InvokeError> {
        self.after_response.run().await;
        self.reply
    }
}
