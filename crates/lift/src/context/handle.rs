//! [`RequestHandle`]: the read-only views of one request or record — the HTTP request and its
//! route, the record, the Lambda invocation, the identity and the telemetry handles. A
//! [`Context`](super::Context) dereferences to its handle, so each view is written once and read
//! the same way from either; [`Context::handle`](super::Context::handle) clones it for work that
//! outlives `next.run(ctx)`.

use std::sync::Arc;

use super::identity::Identity;
use super::record::Record;
use super::route::{routed_path, RouteMatch};
use super::scope::Scope;
use crate::http::Request;
use crate::observability::{Frame, Logger, Metrics, Tracer};
use crate::wire::{EventKind, LambdaContext};

/// A cheap handle on a request (or a record of a batch): everything about it that can be read,
/// and kept across `next.run(ctx)` when the [`Context`](super::Context) itself has moved down the
/// chain. From [`Context::handle`](super::Context::handle).
///
/// ```
/// use lift::middleware::{from_fn, Next, OutcomeExt};
/// use lift::prelude::*;
///
/// let access = from_fn(|ctx: Context, next: Next| async move {
///     let req = ctx.handle();
///     let outcome = next.run(ctx).await;
///     req.logger().info("done", &[
///         ("route", req.route().template().unwrap_or("-").into()),
///         ("path", req.path().into()),
///         ("status", outcome.status().as_u16().into()),
///         ("ua", req.request().user_agent().unwrap_or("-").into()),
///     ]);
///     outcome
/// });
/// assert!(App::new().middleware(access).build().is_ok());
/// ```
#[derive(Clone)]
pub struct RequestHandle {
    pub(crate) scope: Arc<Scope>,
    pub(crate) frame: Frame,
    pub(crate) route: RouteMatch,
    pub(crate) record: Option<Record>,
}

impl std::fmt::Debug for RequestHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestHandle")
            .field("kind", &self.event_kind())
            .field("request_id", &self.request_id())
            .field("method", self.request().method())
            .field("path", &self.path())
            .field("route", &self.route.template())
            .finish_non_exhaustive()
    }
}

impl RequestHandle {
    /// The HTTP request. For events that are not HTTP requests this is an empty request (no
    /// headers, no body, an empty path).
    pub fn request(&self) -> &Request<'_> {
        self.scope.request()
    }

    /// The kind of event this invocation carries.
    pub fn event_kind(&self) -> EventKind {
        self.scope.kind()
    }

    /// The raw event bytes as the runtime delivered them.
    pub fn raw_event(&self) -> &[u8] {
        self.scope.event().raw()
    }

    /// The path the router matched on: the raw path without the API Gateway stage prefix or a
    /// configured base path (see [`App::strip_prefix`](crate::App::strip_prefix)).
    /// As the source sent it: percent-encoded, except behind an HTTP API, which decodes the
    /// path itself. Path parameters are decoded once either way.
    pub fn path(&self) -> &str {
        routed_path(self.request().raw_path(), self.route.path_start)
    }

    /// The route that matched: its template and path parameters.
    pub fn route(&self) -> &RouteMatch {
        &self.route
    }

    /// For a record of a batch (SQS, SNS, S3, DynamoDB, Kinesis): which one.
    pub fn record(&self) -> Option<&Record> {
        self.record.as_ref()
    }

    /// The Lambda invocation: request id, deadline, function ARN, X-Ray trace header, tenant.
    pub fn lambda(&self) -> &LambdaContext {
        self.scope.lambda()
    }

    /// The request id: the one middleware set with
    /// [`set_request_id`](super::Context::set_request_id), else the Lambda request id. Error
    /// bodies carry it.
    pub fn request_id(&self) -> &str {
        self.scope.request_id()
    }

    /// Who this request or record is for: tenant, user, principal, correlation id.
    pub fn identity(&self) -> Identity {
        Identity::new(self.frame.clone())
    }

    /// This request's (or record's) logger: every line carries its request id, its tenant,
    /// user and correlation id, the record id for a record of a batch, and the Lambda context.
    pub fn logger(&self) -> Logger {
        Logger::context(self.frame.clone())
    }

    /// This request's (or record's) metrics, recorded under its tenant and handed to the
    /// exporters after the response is posted.
    pub fn metrics(&self) -> Metrics {
        Metrics::context(self.frame.clone())
    }

    /// This request's (or record's) tracer.
    pub fn tracer(&self) -> Tracer {
        Tracer::context(self.frame.clone())
    }
}
