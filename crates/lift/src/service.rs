//! [`AppService`]: the built app, which walks each invocation down the corridor:
//!
//! ```text
//! bytes ─► detect & parse once ─► route (HTTP) or pick the event handler
//!       ─► Context (one per record for batches) ─► app middleware ─► route middleware
//!       ─► handler ─► error → JSON body ─► reply in the source's shape ─► after-response work
//! ```

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use http::Extensions;
use serde::Serialize;
use tracing::Instrument;

use crate::app::ShutdownHook;
use crate::context::{Context, LambdaContext, RouteInfo};
use crate::error::Error;
use crate::events::batch::{self, BatchResponse, Fate, Order};
use crate::events::{EventCell, EventKind, HttpReply, Parsed};
use crate::http::Response;
use crate::middleware::{Endpoint, Outcome, Pipeline};
use crate::observability::{invocation_span, Field, Logger, Observability, Telemetry};
use crate::routing::{Dispatch, EventRoutes, Match, Router};
use crate::scope::Scope;
use crate::BoxFuture;

pub(crate) struct Shared {
    pub(crate) router: Router,
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) fallback: Option<Endpoint>,
    pub(crate) state: Arc<Extensions>,
    pub(crate) strip_prefix: Option<String>,
    pub(crate) shutdown: std::sync::Mutex<Vec<ShutdownHook>>,
    pub(crate) observability: Observability,
    pub(crate) events: EventRoutes,
}

/// A built [`App`](crate::App): cheap to clone, shared by concurrent invocations.
#[derive(Clone)]
pub struct AppService {
    pub(crate) inner: Arc<Shared>,
}

impl fmt::Debug for AppService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppService").finish_non_exhaustive()
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

/// One handled invocation: the reply, and the work to run after it has been sent.
pub struct Invocation {
    /// The reply to post.
    pub reply: Reply,
    /// Work registered with [`Context::after_response`].
    pub after_response: Vec<BoxFuture<()>>,
}

impl fmt::Debug for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invocation")
            .field("reply", &self.reply)
            .field("after_response", &self.after_response.len())
            .finish()
    }
}

impl Invocation {
    /// Run the after-response work (the runtime does this once the reply is posted).
    pub async fn finish(self) -> Reply {
        for task in self.after_response {
            task.await;
        }
        self.reply
    }
}

pub(crate) fn dispatch(mut ctx: Context) -> BoxFuture<Outcome> {
    match ctx.inner.route.dispatch.take() {
        Some(Dispatch::Route(p)) => p.run(ctx),
        Some(Dispatch::Fallback(e)) => e(ctx),
        Some(Dispatch::MethodNotAllowed(allow)) => Box::pin(std::future::ready(Err(
            Error::method_not_allowed().with_header(ALLOW, allow),
        ))),
        Some(Dispatch::NotFound) | None => Box::pin(std::future::ready(Err(Error::not_found(
            "no route matches this path",
        )))),
    }
}

impl AppService {
    /// Handle one invocation: the raw event bytes and the Lambda context in, the reply (and the
    /// after-response work) out. This is the whole corridor; the runtime, the dev server and
    /// [`testing`](crate::testing) all call it.
    pub async fn invoke(
        &self,
        event: Bytes,
        lambda: LambdaContext,
    ) -> Result<Invocation, InvokeError> {
        let cell = EventCell::parse(event).map_err(|e| invalid_event(&e))?;
        let kind = cell.borrow_dependent().kind();
        match kind {
            EventKind::ApiGatewayV1
            | EventKind::ApiGatewayV2
            | EventKind::FunctionUrl
            | EventKind::Alb => self.invoke_http(cell, lambda).await,
            EventKind::WebSocket => self.invoke_websocket(cell, lambda).await,
            EventKind::Sqs
            | EventKind::Sns
            | EventKind::S3
            | EventKind::DynamoDb
            | EventKind::Kinesis => self.invoke_batch(cell, lambda, kind).await,
            EventKind::EventBridge | EventKind::Schedule => self.invoke_event(cell, lambda).await,
            // An empty batch (`{"Records": []}`) is nothing to do, whoever sent it.
            EventKind::Records if matches!(cell.borrow_dependent(), Parsed::EmptyBatch) => {
                let scope = self.scope(cell, lambda, None);
                Ok(self.finish(&scope, Reply::Empty, false))
            }
            EventKind::Records | EventKind::Unknown => Err(unsupported(kind.as_str())),
        }
    }

    fn scope(
        &self,
        cell: EventCell,
        lambda: LambdaContext,
        correlation: Option<String>,
    ) -> Arc<Scope> {
        let telemetry = Telemetry::new(
            self.inner.observability.shared.clone(),
            &lambda,
            correlation,
        );
        Arc::new(Scope::new(cell, lambda, telemetry))
    }

    /// Run one context through the app pipeline, inside the invocation's `tracing` span.
    async fn run(&self, ctx: Context, scope: &Arc<Scope>) -> Outcome {
        self.inner
            .pipeline
            .run(ctx)
            .instrument(invocation_span(scope))
            .await
    }

    /// Record the outcome and queue the telemetry flush behind the response.
    fn finish(&self, scope: &Arc<Scope>, reply: Reply, failed: bool) -> Invocation {
        scope.telemetry.set_outcome(!failed);
        let flush = scope.clone();
        scope.push_after_response(Box::pin(async move { flush.telemetry.finish() }));
        Invocation {
            reply,
            after_response: scope.take_after_response(),
        }
    }

    async fn invoke_http(
        &self,
        cell: EventCell,
        lambda: LambdaContext,
    ) -> Result<Invocation, InvokeError> {
        let shared = &*self.inner;
        let Parsed::Http(req) = cell.borrow_dependent() else {
            return Err(unsupported("http"));
        };
        let kind = req.kind();
        let multi_value = req.multi_value;
        // A HEAD response never has a body, whoever answered it (GET handler, any, an error).
        let strip_body = req.method() == http::Method::HEAD;
        let route = self.route(req);
        let correlation = shared
            .observability
            .shared
            .correlation_header
            .as_deref()
            .and_then(|h| req.header(h))
            .map(str::to_owned);
        let scope = self.scope(cell, lambda, correlation);
        let ctx = Context::new(scope.clone(), shared.state.clone(), route);
        let (mut response, failed) = respond(self.run(ctx, &scope).await, &scope);
        if strip_body {
            response.set_body(Bytes::new());
        }
        let reply = Reply::Http(HttpReply {
            kind,
            multi_value,
            response,
        });
        Ok(self.finish(&scope, reply, failed))
    }

    /// Match an HTTP request to its route.
    fn route(&self, req: &crate::http::Request<'_>) -> RouteInfo {
        let shared = &*self.inner;
        let path_start = route_start(req, shared.strip_prefix.as_deref());
        let path = req.raw_path().get(path_start..).unwrap_or("/");
        let path = if path.is_empty() { "/" } else { path };
        let mut route = RouteInfo {
            path_start,
            ..RouteInfo::default()
        };
        let dispatch = match shared.router.lookup(req.method(), path) {
            Match::Found {
                pipeline,
                template,
                params,
            } => {
                route.template = Some(template.clone());
                route.params = params;
                Dispatch::Route(pipeline.clone())
            }
            Match::NotFound => match &shared.fallback {
                Some(f) => Dispatch::Fallback(f.clone()),
                None => Dispatch::NotFound,
            },
            Match::MethodNotAllowed { allow, template } => {
                // The path exists: access logs and metrics file the 405 under its route.
                route.template = Some(template.clone());
                Dispatch::MethodNotAllowed(allow.clone())
            }
        };
        route.dispatch = Some(dispatch);
        route
    }

    async fn invoke_websocket(
        &self,
        cell: EventCell,
        lambda: LambdaContext,
    ) -> Result<Invocation, InvokeError> {
        let Parsed::WebSocket(_, meta) = cell.borrow_dependent() else {
            return Err(unsupported("websocket"));
        };
        let pipeline = self
            .inner
            .events
            .websocket(&meta.route_key)
            .ok_or_else(|| unsupported("websocket"))?
            .clone();
        let template: Arc<str> = Arc::from(&*meta.route_key);
        let scope = self.scope(cell, lambda, None);
        let route = RouteInfo {
            template: Some(template),
            dispatch: Some(Dispatch::Route(pipeline)),
            ..RouteInfo::default()
        };
        let ctx = Context::new(scope.clone(), self.inner.state.clone(), route);
        let (response, failed) = respond(self.run(ctx, &scope).await, &scope);
        let reply = Reply::Http(HttpReply {
            kind: EventKind::WebSocket,
            multi_value: false,
            response,
        });
        Ok(self.finish(&scope, reply, failed))
    }

    /// A single EventBridge event or schedule: one handler call; a failure fails the
    /// invocation so Lambda retries the event.
    async fn invoke_event(
        &self,
        cell: EventCell,
        lambda: LambdaContext,
    ) -> Result<Invocation, InvokeError> {
        let Parsed::EventBridge(ev) = cell.borrow_dependent() else {
            return Err(unsupported("eventbridge"));
        };
        let events = &self.inner.events;
        let kind = ev.kind;
        let (pipeline, name) = match kind {
            EventKind::Schedule => {
                let name = ev.schedule_name().unwrap_or_default().to_owned();
                (events.schedule(&name).cloned(), name)
            }
            _ => {
                let (source, detail_type) = (
                    ev.source.as_deref().unwrap_or(""),
                    ev.detail_type.as_deref().unwrap_or(""),
                );
                (
                    events.eventbridge(source, detail_type).cloned(),
                    format!("{source}/{detail_type}"),
                )
            }
        };
        let Some(pipeline) = pipeline else {
            return Err(InvokeError {
                error_type: "Lift.UnsupportedEvent",
                message: format!("no handler for {} events named {name}", kind),
            });
        };
        let scope = self.scope(cell, lambda, None);
        let route = RouteInfo {
            template: Some(Arc::from(name.as_str())),
            dispatch: Some(Dispatch::Route(pipeline)),
            ..RouteInfo::default()
        };
        let ctx = Context::new(scope.clone(), self.inner.state.clone(), route);
        match self.run(ctx, &scope).await.and_then(event_outcome) {
            Ok(()) => Ok(self.finish(&scope, Reply::Empty, false)),
            Err(e) => {
                log_failure(&scope, &name, &e);
                let _ = self.finish(&scope, Reply::Empty, true);
                Err(InvokeError {
                    error_type: "Lift.HandlerFailed",
                    message: format!("the {} handler for {name} failed: {}", kind, e.code()),
                })
            }
        }
    }

    /// A batch of records: one handler call per record, in the order the source needs.
    async fn invoke_batch(
        &self,
        cell: EventCell,
        lambda: LambdaContext,
        kind: EventKind,
    ) -> Result<Invocation, InvokeError> {
        let events = &self.inner.events;
        let pipeline = events
            .records(kind)
            .ok_or_else(|| unsupported(kind.as_str()))?
            .clone();
        let ids = batch::ids(cell.borrow_dependent());
        let fifo = matches!(cell.borrow_dependent(), Parsed::Sqs(r) if r.first().is_some_and(|m| m.is_fifo()));
        let order = match kind {
            EventKind::Sqs if fifo => Order::FifoGroups,
            EventKind::Sqs => Order::Concurrent(events.options.sqs_concurrency),
            EventKind::DynamoDb | EventKind::Kinesis => Order::Stream,
            _ => Order::Sequential,
        };
        let scope = self.scope(cell, lambda, None);
        let state = self.inner.state.clone();
        let fates = batch::run(&ids, order, |i| {
            let route = RouteInfo {
                record: Some(i),
                record_id: Some(ids[i].log_id.clone()),
                dispatch: Some(Dispatch::Route(pipeline.clone())),
                ..RouteInfo::default()
            };
            let ctx = Context::new(scope.clone(), state.clone(), route);
            // Each record is traced as its own span, marked failed when it fails.
            let mut span = ctx.tracer().span(kind.as_str());
            span.annotate("record_id", ids[i].log_id.as_str());
            let me = self.clone();
            let scope = scope.clone();
            Box::pin(async move {
                let result = me.run(ctx, &scope).await.and_then(event_outcome);
                if let Err(e) = &result {
                    span.set_error(e.code().to_owned());
                }
                span.end();
                result
            })
        })
        .await;

        let mut retry: Vec<String> = Vec::new();
        let mut failed = 0;
        let mut skipped = 0;
        for (id, fate) in ids.iter().zip(fates) {
            match fate {
                Fate::Done => {}
                Fate::Failed(e) => {
                    failed += 1;
                    log_failure(&scope, &id.log_id, &e);
                    retry.push(id.item.clone());
                }
                Fate::SkippedGroup => {
                    skipped += 1;
                    retry.push(id.item.clone());
                }
                // Lambda retries the stream from the failed record: nothing to report.
                Fate::SkippedStream => skipped += 1,
            }
        }
        if skipped > 0 {
            Logger::invocation(scope.clone()).warn(
                "records not run after an earlier failure; they will be retried",
                &[("skipped", Field::U64(skipped))],
            );
        }
        let partial = events.options.partial
            && matches!(
                kind,
                EventKind::Sqs | EventKind::DynamoDb | EventKind::Kinesis
            );
        if retry.is_empty() {
            let reply = if partial {
                Reply::Batch(BatchResponse {
                    failures: Vec::new(),
                })
            } else {
                Reply::Empty
            };
            return Ok(self.finish(&scope, reply, false));
        }
        if partial {
            return Ok(self.finish(
                &scope,
                Reply::Batch(BatchResponse { failures: retry }),
                true,
            ));
        }
        let _ = self.finish(&scope, Reply::Empty, true);
        Err(InvokeError {
            error_type: "Lift.BatchFailed",
            message: format!(
                "{failed} of {} {kind} records failed ({skipped} not run): {}",
                ids.len(),
                retry.join(", ")
            ),
        })
    }

    pub(crate) fn has_shutdown_hooks(&self) -> bool {
        self.inner
            .shutdown
            .lock()
            .map(|h| !h.is_empty())
            .unwrap_or(true)
    }

    /// Run the shutdown hooks (once; later calls do nothing).
    pub async fn shutdown(&self) {
        let hooks = match self.inner.shutdown.lock() {
            Ok(mut h) => std::mem::take(&mut *h),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        for hook in hooks {
            hook().await;
        }
    }
}

/// Why an event could not be parsed, without quoting any of it: serde's messages for data
/// errors include the offending string values.
fn invalid_event(e: &serde_json::Error) -> InvokeError {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    match e.classify() {
        // Valid JSON that is not an object of any known kind's shape.
        Category::Data => InvokeError {
            error_type: "Lift.UnsupportedEvent",
            message: format!("no handler for events of kind {}", EventKind::Unknown),
        },
        Category::Eof => InvokeError {
            error_type: "Lift.InvalidEvent",
            message: format!(
                "the event is not valid JSON: it ends early (line {line}, column {column})"
            ),
        },
        Category::Syntax | Category::Io => InvokeError {
            error_type: "Lift.InvalidEvent",
            message: format!(
                "the event is not valid JSON: syntax error at line {line}, column {column}"
            ),
        },
    }
}

/// Where routing starts in the raw path: after an HTTP API stage prefix (`/dev/...` on a
/// named stage) and after the configured base path.
fn route_start(req: &crate::http::Request<'_>, strip: Option<&str>) -> usize {
    let raw = req.raw_path();
    let mut start = 0;
    if matches!(req.kind(), EventKind::ApiGatewayV2) {
        if let Some(stage) = req.stage().filter(|s| *s != "$default" && !s.is_empty()) {
            start = prefix_len(raw, stage).unwrap_or(0);
        }
    }
    if let Some(prefix) = strip {
        let rest = &raw[start..];
        start += prefix_len(rest, prefix.trim_start_matches('/')).unwrap_or(0);
    }
    start
}

/// The length of `/{segment}` at the start of `path` when it is a whole segment.
fn prefix_len(path: &str, segment: &str) -> Option<usize> {
    let rest = path.strip_prefix('/')?.strip_prefix(segment)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(segment.len() + 1)
}

/// For events, a handler's response means success unless it is a 5xx: a record answered with
/// a server error must be retried, not deleted.
fn event_outcome(r: Response) -> Result<(), Error> {
    if r.status().is_server_error() {
        return Err(Error::new(
            r.status(),
            "handler_failed",
            "the handler answered with a server error",
        ));
    }
    Ok(())
}

fn unsupported(kind: &str) -> InvokeError {
    InvokeError {
        error_type: "Lift.UnsupportedEvent",
        message: format!("no handler for events of kind {kind}"),
    }
}

/// The response for an outcome, and whether the invocation failed (a 5xx).
fn respond(outcome: Outcome, scope: &Arc<Scope>) -> (Response, bool) {
    match outcome {
        Ok(r) => {
            let failed = r.status().is_server_error();
            (r, failed)
        }
        Err(e) => (error_response(&e, scope), e.is_server_error()),
    }
}

/// A failed record or event, logged with its id (its error body goes nowhere else).
fn log_failure(scope: &Arc<Scope>, id: &str, e: &Error) {
    Logger::invocation(scope.clone()).error(
        "record failed",
        &[
            ("record_id", Field::Str(id)),
            ("code", e.code().into()),
            ("error", Field::Str(&e.to_string())),
        ],
    );
}

/// Render an error as the one JSON error body; internal causes go to the log only.
pub(crate) fn error_response(e: &Error, scope: &Arc<Scope>) -> Response {
    if e.is_server_error() {
        log_error(e, scope);
    }
    let mut r = Response::new(e.status()).with_body(e.to_body(scope.request_id()));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in e.headers() {
        r.headers_mut().append(name.clone(), value.clone());
    }
    r
}

fn log_error(e: &Error, scope: &Arc<Scope>) {
    Logger::invocation(scope.clone()).error(
        "request failed",
        &[
            ("status", e.status().as_u16().into()),
            ("code", e.code().into()),
            ("error", Field::Str(&e.to_string())),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_can_move_between_threads() {
        fn is_send<T: Send>(_: &T) {}
        let app = crate::App::new().build().unwrap();
        let fut = app.invoke(
            Bytes::new(),
            LambdaContext::local("r", std::time::Duration::ZERO),
        );
        is_send(&fut);
    }

    #[test]
    fn stage_and_base_path_are_whole_segments() {
        assert_eq!(prefix_len("/dev/users", "dev"), Some(4));
        assert_eq!(prefix_len("/dev", "dev"), Some(4));
        assert_eq!(prefix_len("/devices", "dev"), None);
        assert_eq!(prefix_len("/users", "dev"), None);
    }
}
