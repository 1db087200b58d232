//! **Steps 3–5 of the corridor:** detect and parse, build the scope, frames and contexts, run
//! the middleware and the handler, and shape the reply.
//!
//! The corridor every invocation walks, top to bottom:
//!
//! ```text
//! bytes ─► detect & parse once (EventCell) ─► the invocation's Scope (event, Lambda context, telemetry)
//!       ─► for the request, or for each record of a batch: a Frame (its identity) and a Context
//!       ─► app middleware ─► route or event handler          (run_one: the same path for every kind)
//!       ─► outcome → response, error body, or record fate
//!       ─► reply in the source's shape  +  AfterResponse (telemetry flush first, then user tasks)
//! ```
//!
//! Routing helpers live in `routing/` (the stage and base path in `routing/base_path.rs`),
//! error rendering in `respond.rs`, batch ordering and results in `events/batch.rs`, the
//! after-response window in `after_response.rs` and shutdown in `shutdown.rs`.

use std::sync::Arc;

use bytes::Bytes;
use tracing::Instrument;

use super::after_response::AfterResponse;
use super::respond::{event_outcome, log_failure, respond};
use super::service::{AppService, Invocation};
use crate::context::scope::Scope;
use crate::context::{Context, Record, RouteMatch};
use crate::events::batch::{self, Order};
use crate::events::{parsed_in, EventCell, HttpReply, Parsed, Reply};
use crate::http::Error;
use crate::middleware::{Dispatch, Outcome};
use crate::observability::{
    invocation_span, within, Field, Frame, Logger, Span, Telemetry, Tracer,
};
use crate::routing::{route_start, Match};
use crate::wire::{EventKind, InvokeError, LambdaContext};
use crate::BoxFuture;

/// One invocation, top to bottom: what [`AppService::invoke`] runs.
pub(super) async fn invoke(app: &AppService, event: Bytes, lambda: LambdaContext) -> Invocation {
    let cell = match EventCell::parse(event) {
        Ok(cell) => cell,
        Err(e) => {
            return Invocation {
                reply: Err(invalid_event(&e)),
                after_response: AfterResponse::default(),
            }
        }
    };
    let kind = cell.borrow_dependent().kind();
    let scope = scope(app, cell, lambda);
    if let Some(sent) = crate::wire::duration_deadline_warning() {
        Logger::context(Frame::main(scope.telemetry().clone(), None)).warn(
            "the Runtime API sent the deadline as a duration, as local emulators do, not as \
             an epoch time: it is read as a duration",
            &[("deadline_ms", Field::U64(sent))],
        );
    }
    let outcome = {
        let run = std::pin::pin!(dispatch_kind(app, &scope, kind));
        crate::wire::catch_panic::caught(run).await
    };
    let (reply, failed) = match outcome {
        Ok(done) => done,
        // A panic no `Recover` contained: the log has what happened, the runtime only
        // that it did, since a panic's text can hold anything the code had at hand.
        Err(caught) => {
            Logger::context(Frame::main(scope.telemetry().clone(), None)).error(
                "panic outside Recover",
                &[
                    ("panic", Field::Str(&caught.message)),
                    ("location", caught.location.as_deref().unwrap_or("").into()),
                ],
            );
            let e = InvokeError {
                error_type: "Lift.Panic",
                message: "the invocation panicked; the function's log has the details".to_owned(),
            };
            (Err(e), true)
        }
    };
    scope.telemetry().set_outcome(!failed);
    Invocation {
        reply,
        after_response: AfterResponse::new(scope, app.inner.after_response_limit),
    }
}

/// The invocation by its kind: HTTP, WebSocket, a batch, or one EventBridge event.
async fn dispatch_kind(
    app: &AppService,
    scope: &Arc<Scope>,
    kind: EventKind,
) -> (Result<Reply, InvokeError>, bool) {
    match kind {
        EventKind::ApiGatewayV1
        | EventKind::ApiGatewayV2
        | EventKind::FunctionUrl
        | EventKind::Alb => http(app, scope).await,
        EventKind::WebSocket => websocket(app, scope).await,
        EventKind::Sqs
        | EventKind::Sns
        | EventKind::S3
        | EventKind::DynamoDb
        | EventKind::Kinesis => batch(app, scope, kind).await,
        EventKind::EventBridge | EventKind::Schedule => event(app, scope).await,
        // An empty batch (`{"Records": []}`) is nothing to do, whoever sent it.
        EventKind::Records if matches!(parsed_in(scope), Parsed::EmptyBatch) => {
            (Ok(Reply::Empty), false)
        }
        EventKind::Records | EventKind::Unknown => (Err(unsupported(kind.as_str())), true),
    }
}

fn scope(app: &AppService, cell: EventCell, lambda: LambdaContext) -> Arc<Scope> {
    let incoming = match cell.borrow_dependent() {
        Parsed::Http(req) => req.header("x-amzn-trace-id"),
        _ => None,
    };
    let settings = app.inner.observability.settings.clone();
    let telemetry = Telemetry::new(settings, lambda, incoming);
    Scope::new(cell, telemetry)
}

/// The one path every request and record takes: a Context on its frame, through the app
/// middleware to the handler, inside the handler's span (`name`) and the `tracing` span
/// that carries its logger.
/// The name is made only when the span is recorded.
async fn run_one(
    app: &AppService,
    scope: &Arc<Scope>,
    frame: &Frame,
    route: RouteMatch,
    record: Option<Record>,
    dispatch: Dispatch,
    name: impl FnOnce() -> String,
) -> Outcome {
    let tracer = Tracer::context(frame.clone());
    let mut span = if tracer.is_recording() {
        tracer.span(&name())
    } else {
        tracer.span("")
    };
    if span.is_recording() {
        open_handler_span(&mut span, scope, frame, &route);
        frame.set_span_id(span.shared_id());
    }
    let ctx = Context::new(
        scope.clone(),
        frame.clone(),
        app.inner.state.clone(),
        route,
        record,
    );
    let run = app
        .inner
        .pipeline
        .run_to(ctx, dispatch)
        .instrument(invocation_span(frame));
    // Only a recorded trace needs `Tracer::current` to find the frame.
    let outcome = if span.is_recording() {
        within(frame.clone(), run).await
    } else {
        run.await
    };
    if span.is_recording() {
        let status = match &outcome {
            Ok(r) => r.status(),
            Err(e) => {
                span.set_error(e.code().to_owned());
                e.status()
            }
        };
        if matches!(parsed_in(scope), Parsed::Http(_)) {
            span.set_http_status(status.as_u16());
        }
    }
    outcome
}

/// An HTTP request (API Gateway v1/v2, ALB, Function URL): routed, answered in its shape.
async fn http(app: &AppService, scope: &Arc<Scope>) -> (Result<Reply, InvokeError>, bool) {
    let Parsed::Http(req) = parsed_in(scope) else {
        return (Err(unsupported("http")), true);
    };
    let (kind, multi_value) = (req.kind(), req.multi_value);
    // A HEAD response never has a body, whoever answered it (GET handler, any, an error).
    let strip_body = req.method() == http::Method::HEAD;
    let (route, dispatch) = route(app, req);
    let correlation = app
        .inner
        .observability
        .settings
        .correlation_header
        .as_deref()
        .and_then(|h| req.header(h))
        // Bounded like the request id: a value that is not 1–128 visible ASCII characters
        // would let a caller forge or flood log lines.
        .filter(|id| crate::middleware::request_id::well_formed(id))
        .map(str::to_owned);
    let frame = Frame::main(scope.telemetry().clone(), correlation);
    let template = route.template.clone();
    let name = || handler_span_name(req.method().as_str(), template.as_deref());
    let outcome = run_one(app, scope, &frame, route, None, dispatch, name).await;
    let (mut response, failed) = respond(outcome, &frame);
    if strip_body {
        response.set_body(Bytes::new());
    }
    if kind == EventKind::Alb && !multi_value {
        warn_dropped_cookies(&response, &frame);
    }
    let reply = Reply::Http(HttpReply {
        kind,
        multi_value,
        response,
    });
    (Ok(reply), failed)
}

/// Match an HTTP request to its route.
fn route(app: &AppService, req: &crate::http::Request<'_>) -> (RouteMatch, Dispatch) {
    let parts = &*app.inner;
    let path_start = route_start(req, parts.strip_prefix.as_deref());
    let path = req.raw_path().get(path_start..).unwrap_or("/");
    let path = if path.is_empty() { "/" } else { path };
    let mut route = RouteMatch {
        path_start,
        ..RouteMatch::default()
    };
    let mut limit = parts.body_limit;
    let dispatch = match parts.router.lookup(req.method(), path, !req.path_decoded) {
        Match::Found {
            pipeline,
            body_limit,
            template,
            params,
        } => {
            route.template = Some(template.clone());
            route.params = (!params.is_empty()).then(|| Arc::from(params));
            limit = body_limit.unwrap_or(limit);
            Dispatch::Route(pipeline.clone())
        }
        Match::NotFound => match &parts.fallback {
            Some(f) => Dispatch::Fallback(f.clone()),
            None => Dispatch::NotFound,
        },
        Match::MethodNotAllowed { allow, template } => {
            // The path exists: access logs and metrics file the 405 under its route.
            route.template = Some(template.clone());
            Dispatch::MethodNotAllowed(Box::new(allow.clone()))
        }
    };
    // From here on no one reads a body over the limit: not middleware, not the handler.
    req.body_limit.set(limit);
    let too_large =
        matches!(dispatch, Dispatch::Route(_) | Dispatch::Fallback(_)) && req.body_len() > limit;
    let dispatch = if too_large {
        Dispatch::TooLarge(limit)
    } else {
        dispatch
    };
    (route, dispatch)
}

/// A WebSocket event: the handler for its route key, answered as an HTTP response.
async fn websocket(app: &AppService, scope: &Arc<Scope>) -> (Result<Reply, InvokeError>, bool) {
    let Parsed::WebSocket(_, meta) = parsed_in(scope) else {
        return (Err(unsupported("websocket")), true);
    };
    let Some(pipeline) = app.inner.events.websocket(&meta.route_key).cloned() else {
        return (Err(unsupported("websocket")), true);
    };
    let route = RouteMatch {
        template: Some(Arc::from(&*meta.route_key)),
        ..RouteMatch::default()
    };
    let frame = Frame::main(scope.telemetry().clone(), None);
    let name = || format!("## websocket {}", &*meta.route_key);
    let dispatch = Dispatch::Route(pipeline);
    let outcome = run_one(app, scope, &frame, route, None, dispatch, name).await;
    let (response, failed) = respond(outcome, &frame);
    let reply = Reply::Http(HttpReply {
        kind: EventKind::WebSocket,
        multi_value: false,
        response,
    });
    (Ok(reply), failed)
}

/// A single EventBridge event or schedule: one handler call; a failure fails the
/// invocation so Lambda retries the event.
async fn event(app: &AppService, scope: &Arc<Scope>) -> (Result<Reply, InvokeError>, bool) {
    let Parsed::EventBridge(ev) = parsed_in(scope) else {
        return (Err(unsupported("eventbridge")), true);
    };
    let events = &app.inner.events;
    let kind = ev.kind;
    let (pipeline, name) = match kind {
        EventKind::Schedule if !ev.sent_by_aws() && !events.constant_input_schedules => {
            let e = InvokeError {
                error_type: "Lift.UnsupportedEvent",
                message: "a schedule named by a constant input, which this app does not \
                          accept (App::constant_input_schedules)"
                    .to_owned(),
            };
            return (Err(e), true);
        }
        EventKind::Schedule => {
            let name = ev.schedule_name().unwrap_or_default().to_owned();
            // A scheduled event is an EventBridge event too: without a handler of its own
            // it goes to the fallback. A constant input is not, and does not.
            let fallback = ev
                .sent_by_aws()
                .then_some(events.eventbridge_fallback.as_ref())
                .flatten();
            (events.schedule(&name).or(fallback).cloned(), name)
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
    // The messages quote nothing of the event: an invoker may have made it up.
    let Some(pipeline) = pipeline else {
        let e = InvokeError {
            error_type: "Lift.UnsupportedEvent",
            message: format!("no handler for this {kind} event"),
        };
        return (Err(e), true);
    };
    let route = RouteMatch {
        template: Some(Arc::from(name.as_str())),
        ..RouteMatch::default()
    };
    let frame = Frame::main(scope.telemetry().clone(), None);
    let span_name = || format!("## {kind} {name}");
    let dispatch = Dispatch::Route(pipeline);
    match run_one(app, scope, &frame, route, None, dispatch, span_name)
        .await
        .and_then(event_outcome)
    {
        Ok(()) => (Ok(Reply::Empty), false),
        Err(e) => {
            log_failure(&frame, &name, &e);
            let e = InvokeError {
                error_type: "Lift.HandlerFailed",
                message: format!("the {kind} handler failed: {}", e.code()),
            };
            (Err(e), true)
        }
    }
}

/// A batch of records: one frame and one handler call per record, in the order the source
/// needs; each record's failure is its own.
async fn batch(
    app: &AppService,
    scope: &Arc<Scope>,
    kind: EventKind,
) -> (Result<Reply, InvokeError>, bool) {
    let events = &app.inner.events;
    let Some(pipeline) = events.records(kind).cloned() else {
        return (Err(unsupported(kind.as_str())), true);
    };
    let ids = batch::ids(parsed_in(scope));
    let fifo =
        matches!(parsed_in(scope), Parsed::Sqs(r) if r.iter().flatten().any(|m| m.is_fifo()));
    let order = match kind {
        EventKind::Sqs if fifo => Order::FifoGroups,
        EventKind::Sqs => Order::Concurrent(events.options.sqs_concurrency),
        EventKind::DynamoDb | EventKind::Kinesis => Order::Stream,
        _ => Order::Sequential,
    };
    // The invocation's span, and one per record inside it.
    let main = Frame::main(scope.telemetry().clone(), None);
    let tracer = Tracer::context(main.clone());
    let mut span = if tracer.is_recording() {
        tracer.span(&format!("## {kind}"))
    } else {
        tracer.span("")
    };
    if span.is_recording() {
        invocation_annotations(&mut span, &main);
        span.metadata("records", ids.len());
    }
    let frames: Vec<Frame> = ids
        .iter()
        .map(|id| {
            let frame = Frame::record(scope.telemetry().clone(), &id.log_id);
            frame.set_span_id(span.shared_id());
            frame
        })
        .collect();
    let record_span: Arc<str> = Arc::from(format!("{kind} record"));
    let fates = batch::run(&ids, order, |i| -> BoxFuture<Result<(), Error>> {
        // A record whose shape did not parse fails alone, without a handler call.
        if let Some(why) = &ids[i].malformed {
            let e = Error::new(
                http::StatusCode::BAD_REQUEST,
                "malformed_record",
                why.clone(),
            );
            return Box::pin(std::future::ready(Err(e)));
        }
        let record = Record {
            index: i,
            id: Arc::from(ids[i].log_id.as_str()),
        };
        let dispatch = Dispatch::Route(pipeline.clone());
        let frame = frames[i].clone();
        let scope = scope.clone();
        let app = app.clone();
        let name = record_span.clone();
        Box::pin(async move {
            run_one(
                &app,
                &scope,
                &frame,
                RouteMatch::default(),
                Some(record),
                dispatch,
                || name.to_string(),
            )
            .await
            .and_then(event_outcome)
        })
    })
    .await;
    let outcome = batch::verdict(&ids, fates, |i, id, e| {
        log_failure(&frames[i], &id.log_id, e);
    });
    if outcome.skipped > 0 {
        Logger::context(Frame::main(scope.telemetry().clone(), None)).warn(
            "records not run after an earlier failure; they will be retried",
            &[("skipped", Field::U64(outcome.skipped))],
        );
    }
    let partial = events.options.partial
        && matches!(
            kind,
            EventKind::Sqs | EventKind::DynamoDb | EventKind::Kinesis
        );
    let failed = !outcome.retry.is_empty();
    if failed {
        span.metadata("failed_records", outcome.retry.len());
    }
    (outcome.reply(kind, ids.len(), partial), failed)
}

/// `## GET /users/:id`: the method and the route template, its `{params}` written `:params`
/// (X-Ray names take no braces).
fn handler_span_name(method: &str, template: Option<&str>) -> String {
    let route = template.unwrap_or("unmatched");
    let mut name = String::with_capacity(4 + method.len() + route.len());
    name.push_str("## ");
    name.push_str(method);
    name.push(' ');
    for c in route.chars() {
        match c {
            '{' => name.push(':'),
            '}' => {}
            c => name.push(c),
        }
    }
    name
}

/// `ColdStart` and `Service`: on the invocation's top span only.
fn invocation_annotations(span: &mut Span, frame: &Frame) {
    let telemetry = frame.telemetry();
    span.annotate("ColdStart", telemetry.cold_start);
    span.annotate("Service", &*telemetry.settings.service);
}

/// The handler span's annotations and, for HTTP, its request block (no query string).
fn open_handler_span(span: &mut Span, scope: &Scope, frame: &Frame, route: &RouteMatch) {
    if frame.record_id().is_none() {
        invocation_annotations(span, frame);
    } else if let Some(id) = frame.record_id() {
        span.annotate("record_id", id);
    }
    if let Some(t) = route.template.as_deref() {
        span.annotate("route", t);
    }
    if let Parsed::Http(req) = parsed_in(scope) {
        let scheme = req.header("x-forwarded-proto").unwrap_or("https");
        let host = req.header("host").unwrap_or("localhost");
        let path = crate::observability::xray::without_query(req.raw_path());
        let url = format!("{scheme}://{host}{path}");
        span.set_http_request(req.method().as_str(), &url);
        if let Some(h) = span.http() {
            h.user_agent = req.user_agent().map(str::to_owned);
            h.client_ip = req.source_ip().map(str::to_owned);
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

fn unsupported(kind: &str) -> InvokeError {
    InvokeError {
        error_type: "Lift.UnsupportedEvent",
        message: format!("no handler for events of kind {kind}"),
    }
}

/// A single-value ALB response carries one `Set-Cookie`; the others are lost, and the log of
/// the request says which (by name), each time, so that a missing login cookie can be traced
/// to the target group setting.
fn warn_dropped_cookies(response: &crate::http::Response, frame: &Frame) {
    let Some((sent, dropped)) = crate::events::alb::dropped_cookies(response) else {
        return;
    };
    let dropped = serde_json::Value::from(dropped);
    Logger::context(frame.clone()).warn(
        "set-cookie dropped: an ALB target group without multi-value headers carries one \
         Set-Cookie per response; turn multi-value headers on",
        &[
            ("sent_cookie", Field::Str(sent)),
            ("dropped_cookies", Field::Json(&dropped)),
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
}
