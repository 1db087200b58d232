//! OpenTelemetry interop: an invocation's span trees to any `opentelemetry_sdk`
//! [`SpanExporter`] (OTLP to a collector, `opentelemetry-aws`'s X-Ray exporter, an in-memory
//! one in tests), through [`OtelExporter`].
//!
//! Lift keeps its own span API ([`Tracer`](super::Tracer), [`Span`](super::Span)) and needs no
//! OpenTelemetry tracer provider: when an invocation's spans arrive, after the response, each
//! [`SpanRecord`] becomes one [`SpanData`], and the flush that follows hands them to the
//! exporter as one batch.
//!
//! | Lift | OpenTelemetry |
//! |------|---------------|
//! | trace id `1-5759e988-bd862e3fe1be46a994272793` | trace id `5759e988bd862e3fe1be46a994272793` (the 8 + 24 hex digits) |
//! | span id, parent span id | the same 16 hex digits |
//! | a top-level span's parent: [`SpanBatch::parent_id`] (Lambda's function segment, or the caller's) | `parent_span_id`, with `parent_span_is_remote` |
//! | a top-level span outside Lambda | kind `Server` (in Lambda, Lambda's segment is the server side: `Internal`) |
//! | namespace `aws` or `remote` | kind `Client` |
//! | other spans | kind `Internal` |
//! | annotations | attributes `annotation.<key>` |
//! | metadata | attributes `metadata.<key>` |
//! | `http` | `http.request.method`, `url.full` (without its query string), `user_agent.original`, `client.address`, `http.response.status_code`, `http.response.body.size` |
//! | `aws` | `rpc.system = "aws-api"` and `rpc.service` (the span's name) for namespace `aws`; `operation` → `rpc.method`, `region` → `aws.region`, `request_id` → `aws.request_id`, `queue_url` → `aws.sqs.queue.url`, `table_name` → `aws.dynamodb.table_names`, `account_id` → `cloud.account.id`, any other key → `aws.<key>` |
//! | `error` | status `Error` with the message as its description, and an `exception` event with it as `exception.message` (what `opentelemetry`'s `Span::record_error` writes, and what `opentelemetry-aws` turns into the segment's `cause`) |
//! | no `error`, HTTP status 5xx (4xx too for a `Client` span) | status `Error` without a description, as the HTTP conventions say |
//!
//! Attribute values keep their type when it is a string, a bool or a number; other JSON values
//! (arrays, objects, null) are written as their JSON text. The `annotation.` and `metadata.`
//! prefixes are what `opentelemetry-aws`'s X-Ray exporter reads to route attributes into a
//! segment's annotations and metadata; the `aws` and `http` names are the ones it maps into the
//! `aws` and `http` blocks. Spans are always sampled (`TraceFlags::SAMPLED`): an unsampled
//! invocation records none.
//!
//! The exporter's resource (`service.name` and the like) is the exporter's own: set it with
//! [`SpanExporter::set_resource`] before wrapping it.
//!
//! Names go as they are, for collectors take any. `opentelemetry-aws` does not: it drops,
//! without a word, a span whose name has a character X-Ray refuses (`{`, `?`, `,`, `(` …),
//! which Lift's own [`XRayExporter`](super::xray::XRayExporter) writes as `_`, and every span
//! of a trace whose id is more than 30 days old unless its translator skips that check.
//!
//! # W3C `traceparent`
//!
//! The conversions between an X-Ray header and a `traceparent` are
//! [`TraceHeader::to_traceparent`](super::xray::TraceHeader::to_traceparent) and
//! [`TraceHeader::from_traceparent`](super::xray::TraceHeader::from_traceparent): the same bits,
//! so a trace continues across both kinds of caller.
//!
//! # Example
//!
//! ```
//! use lift::observability::{otel::OtelExporter, Exporter, Observability};
//! use lift::prelude::*;
//! use lift::testing::{invoke_with, lambda_context, TestRequest};
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanExporter};
//! use opentelemetry_sdk::Resource;
//!
//! // Any `SpanExporter`: OTLP to a collector in production; here, one that keeps them.
//! let mut spans = InMemorySpanExporter::default();
//! spans.set_resource(&Resource::builder().with_service_name("orders").build());
//! let otel = OtelExporter::new(spans.clone());
//! let app = App::new()
//!     .observability(Observability::from_env().service("orders").export_to(otel.clone()))
//!     .get("/", |ctx: Context| async move {
//!         ctx.tracer().span("load").end();
//!         "ok"
//!     })
//!     .build()
//!     .unwrap();
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let mut lambda = lambda_context();
//! lambda.xray_trace_id =
//!     Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into());
//! invoke_with(&app, TestRequest::get("/").v2(), lambda).await.unwrap();
//! # });
//! let exported = spans.get_finished_spans().unwrap();
//! let names: Vec<&str> = exported.iter().map(|s| &*s.name).collect();
//! assert_eq!(names, ["## GET /", "load"]);
//! assert_eq!(exported[0].span_context.trace_id().to_string(), "5759e988bd862e3fe1be46a994272793");
//! assert_eq!(otel.stats().written, 2);
//! ```

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value as OtelValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use serde_json::Value;

use super::xray::without_query;
use super::{ExportCounters, ExportFuture, Exporter, ExporterStats, RecordKind};
use super::{SpanBatch, SpanHttp, SpanRecord};

/// Hands each invocation's spans to an OpenTelemetry [`SpanExporter`], after the response.
///
/// Spans are converted when they arrive and exported, all of an invocation's in one call, in
/// the flush that follows (and at shutdown, which then shuts the wrapped exporter down too).
/// Exports never overlap, as the SDK's contract asks: concurrent invocations' flushes take
/// turns. Stats count spans: accepted, written (exported), and dropped by reason:
/// `export_failed` (the exporter returned an error, or the flush's deadline cut it off; the
/// last error says which), `no_trace` (a batch without a valid trace id) and `invalid_id` (a
/// span id that is not 16 hex digits).
///
/// Cloning it is cheap and shares everything: keep a clone to read its stats.
pub struct OtelExporter<E: SpanExporter> {
    inner: Arc<OtelInner<E>>,
}

impl<E: SpanExporter> Clone for OtelExporter<E> {
    fn clone(&self) -> Self {
        OtelExporter {
            inner: self.inner.clone(),
        }
    }
}

impl<E: SpanExporter> std::fmt::Debug for OtelExporter<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelExporter")
            .field("stats", &self.inner.counters.snapshot())
            .finish_non_exhaustive()
    }
}

struct OtelInner<E> {
    /// Behind an async lock: the SDK never calls `export` again before the last call returned,
    /// and exporters are written to rely on it.
    exporter: tokio::sync::Mutex<E>,
    /// Converted spans waiting for the flush (filled after the response, so no request waits
    /// on this lock).
    queue: Mutex<Vec<SpanData>>,
    scope: InstrumentationScope,
    counters: ExportCounters,
}

impl<E: SpanExporter> OtelExporter<E> {
    /// Wrap `exporter`. Its spans carry the instrumentation scope `lift`, with Lift's version.
    pub fn new(exporter: E) -> Self {
        OtelExporter {
            inner: Arc::new(OtelInner {
                exporter: tokio::sync::Mutex::new(exporter),
                queue: Mutex::new(Vec::new()),
                scope: InstrumentationScope::builder("lift")
                    .with_version(env!("CARGO_PKG_VERSION"))
                    .build(),
                counters: ExportCounters::new(),
            }),
        }
    }
}

impl<E: SpanExporter + 'static> Exporter for OtelExporter<E> {
    fn name(&self) -> &str {
        "opentelemetry"
    }

    fn accepts(&self, kind: RecordKind) -> bool {
        kind == RecordKind::Span
    }

    fn spans(&self, batch: &SpanBatch) {
        let i = &self.inner;
        let total: u64 = batch.roots.iter().map(count).sum();
        i.counters.accepted(total);
        let Some(trace_id) = batch.trace_id.as_deref().and_then(trace_id) else {
            i.counters.dropped("no_trace", total);
            return;
        };
        let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        let mut invalid = 0;
        for root in &batch.roots {
            let place = match &root.parent_id {
                // Its parent ended in another batch, or not at all: still its parent.
                Some(p) => SpanPlace {
                    trace_id,
                    parent: span_id(p).unwrap_or(SpanId::INVALID),
                    remote: false,
                    kind: SpanKind::Internal,
                },
                // The invocation's own top level: the server side, unless Lambda's segment is.
                None => {
                    let parent = batch.parent_id.as_deref().and_then(span_id);
                    SpanPlace {
                        trace_id,
                        parent: parent.unwrap_or(SpanId::INVALID),
                        remote: parent.is_some(),
                        kind: if batch.in_lambda {
                            SpanKind::Internal
                        } else {
                            SpanKind::Server
                        },
                    }
                }
            };
            convert(root, &place, &i.scope, &mut out, &mut invalid);
        }
        if invalid > 0 {
            i.counters.dropped("invalid_id", invalid);
        }
        i.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(out);
    }

    fn flush(&self, deadline: Instant) -> ExportFuture<'_> {
        Box::pin(self.inner.send(deadline, false))
    }

    fn shutdown(&self, deadline: Instant) -> ExportFuture<'_> {
        Box::pin(self.inner.send(deadline, true))
    }

    fn stats(&self) -> ExporterStats {
        self.inner.counters.snapshot()
    }
}

impl<E: SpanExporter> OtelInner<E> {
    async fn send(&self, deadline: Instant, shutdown: bool) {
        // Waiting for another flush's export: what is queued stays queued if the deadline
        // cuts this one off here, for the next flush to send.
        let exporter = self.exporter.lock().await;
        let batch = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
        if !batch.is_empty() {
            let mut export = InFlight {
                counters: &self.counters,
                spans: batch.len() as u64,
                settled: false,
            };
            let result = exporter.export(batch).await;
            export.settled = true;
            match result {
                Ok(()) => self.counters.written(export.spans),
                Err(e) => {
                    self.counters.dropped("export_failed", export.spans);
                    self.counters.error(format!("exporting spans: {e}"));
                }
            }
        }
        if shutdown {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Err(e) = exporter.shutdown_with_timeout(left) {
                self.counters
                    .error(format!("shutting the span exporter down: {e}"));
            }
        }
    }
}

/// An export under way: when its future is dropped before it settles (the flush's deadline
/// passed, or the exporter panicked), its spans are counted as dropped.
struct InFlight<'a> {
    counters: &'a ExportCounters,
    spans: u64,
    settled: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.counters.dropped("export_failed", self.spans);
            self.counters
                .error("exporting spans: cut off before it finished");
        }
    }
}

fn count(span: &SpanRecord) -> u64 {
    1 + span.children.iter().map(count).sum::<u64>()
}

/// Where a span hangs, and its kind unless its namespace says otherwise.
struct SpanPlace {
    trace_id: TraceId,
    parent: SpanId,
    remote: bool,
    kind: SpanKind,
}

/// `span` and its children into `out`, parents first.
fn convert(
    span: &SpanRecord,
    place: &SpanPlace,
    scope: &InstrumentationScope,
    out: &mut Vec<SpanData>,
    invalid: &mut u64,
) {
    let id = span_id(&span.id);
    if let Some(id) = id {
        out.push(span_data(span, id, place, scope));
    } else {
        *invalid += 1;
    }
    // Children hang from this span whatever their own `parent_id` says: the tree is the truth
    // (and a span with a bad id leaves its children at the top).
    let below = SpanPlace {
        trace_id: place.trace_id,
        parent: id.unwrap_or(SpanId::INVALID),
        remote: false,
        kind: SpanKind::Internal,
    };
    for child in &span.children {
        convert(child, &below, scope, out, invalid);
    }
}

fn span_data(
    span: &SpanRecord,
    id: SpanId,
    place: &SpanPlace,
    scope: &InstrumentationScope,
) -> SpanData {
    let kind = match span.namespace.as_deref() {
        Some("aws" | "remote") => SpanKind::Client,
        _ => place.kind.clone(),
    };
    let status = status(span, &kind);
    let start = system_time(span.start_time);
    // A clock that went backwards gives an empty span rather than a negative one.
    let end = system_time(span.end_time).max(start);
    let mut events = SpanEvents::default();
    if let Some(message) = &span.error {
        events.events.push(Event::new(
            "exception",
            end,
            vec![KeyValue::new("exception.message", message.clone())],
            0,
        ));
    }
    SpanData {
        span_context: SpanContext::new(
            place.trace_id,
            id,
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: place.parent,
        parent_span_is_remote: place.remote,
        span_kind: kind,
        name: Cow::Owned(span.name.clone()),
        start_time: start,
        end_time: end,
        attributes: attributes(span),
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope.clone(),
    }
}

fn status(span: &SpanRecord, kind: &SpanKind) -> Status {
    if let Some(message) = &span.error {
        return Status::error(message.clone());
    }
    // The HTTP conventions: a server's 4xx is the caller's mistake, a client's is its own.
    let failing = match span.http.as_ref().and_then(|h| h.status) {
        Some(s) if s >= 500 => true,
        Some(s) if s >= 400 => *kind == SpanKind::Client,
        _ => false,
    };
    if failing {
        Status::error("")
    } else {
        Status::Unset
    }
}

fn attributes(span: &SpanRecord) -> Vec<KeyValue> {
    let mut a =
        Vec::with_capacity(span.annotations.len() + span.metadata.len() + span.aws.len() + 6);
    for (k, v) in &span.annotations {
        a.push(KeyValue::new(format!("annotation.{k}"), value(v)));
    }
    for (k, v) in &span.metadata {
        a.push(KeyValue::new(format!("metadata.{k}"), value(v)));
    }
    if let Some(h) = &span.http {
        http(h, &mut a);
    }
    if span.namespace.as_deref() == Some("aws") {
        a.push(KeyValue::new("rpc.system", "aws-api"));
        // Lift names an AWS call's span after the service (`DynamoDB`).
        a.push(KeyValue::new("rpc.service", span.name.clone()));
    }
    for (k, v) in &span.aws {
        a.push(aws(k, v));
    }
    a
}

fn http(h: &SpanHttp, a: &mut Vec<KeyValue>) {
    if let Some(m) = &h.method {
        a.push(KeyValue::new("http.request.method", m.clone()));
    }
    if let Some(u) = &h.url {
        // Queries carry tokens and signatures: a collector gets no more than X-Ray does.
        a.push(KeyValue::new("url.full", without_query(u).to_owned()));
    }
    if let Some(ua) = &h.user_agent {
        a.push(KeyValue::new("user_agent.original", ua.clone()));
    }
    if let Some(ip) = &h.client_ip {
        a.push(KeyValue::new("client.address", ip.clone()));
    }
    if let Some(s) = h.status {
        a.push(KeyValue::new("http.response.status_code", i64::from(s)));
    }
    if let Some(n) = h.content_length {
        a.push(KeyValue::new(
            "http.response.body.size",
            i64::try_from(n).unwrap_or(i64::MAX),
        ));
    }
}

/// An `aws` block field under the name the AWS conventions (and `opentelemetry-aws`) use.
fn aws(key: &str, v: &Value) -> KeyValue {
    let name = match key {
        "operation" => "rpc.method",
        "region" => "aws.region",
        "request_id" => "aws.request_id",
        "queue_url" => "aws.sqs.queue.url",
        "account_id" => "cloud.account.id",
        "table_name" => {
            let table = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            return KeyValue::new(
                "aws.dynamodb.table_names",
                OtelValue::Array(Array::String(vec![StringValue::from(table)])),
            );
        }
        other => return KeyValue::new(format!("aws.{other}"), value(v)),
    };
    KeyValue::new(name, value(v))
}

/// Strings, bools and numbers keep their type; anything else is its JSON text.
fn value(v: &Value) -> OtelValue {
    match v {
        Value::String(s) => OtelValue::from(s.clone()),
        Value::Bool(b) => OtelValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => OtelValue::I64(i),
            (None, Some(f)) => OtelValue::F64(f),
            (None, None) => OtelValue::from(n.to_string()),
        },
        other => OtelValue::from(other.to_string()),
    }
}

/// `1-5759e988-bd862e3fe1be46a994272793` → `5759e988bd862e3fe1be46a994272793`; `None` unless
/// it is that shape and not all zeros.
fn trace_id(xray: &str) -> Option<TraceId> {
    let rest = xray.strip_prefix("1-")?;
    let (time, random) = rest.split_once('-')?;
    if time.len() != 8 || random.len() != 24 {
        return None;
    }
    let hex = |s: &str| s.bytes().all(|c| c.is_ascii_hexdigit());
    if !hex(time) || !hex(random) {
        return None;
    }
    let id = TraceId::from_hex(&format!("{time}{random}")).ok()?;
    (id != TraceId::INVALID).then_some(id)
}

/// 16 hex digits, not all zeros.
fn span_id(id: &str) -> Option<SpanId> {
    if id.len() != 16 || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let id = SpanId::from_hex(id).ok()?;
    (id != SpanId::INVALID).then_some(id)
}

/// Epoch seconds to a time; one before the epoch, or not a number, reads as the epoch.
fn system_time(epoch_seconds: f64) -> SystemTime {
    Duration::try_from_secs_f64(epoch_seconds)
        .ok()
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_convert_bit_for_bit_and_bad_ones_are_refused() {
        assert_eq!(
            trace_id("1-5759e988-bd862e3fe1be46a994272793").unwrap(),
            TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap()
        );
        for bad in [
            "",
            "5759e988bd862e3fe1be46a994272793",
            "1-5759e988-bd862e3fe1be46a99427279",
            "1-5759e98-8bd862e3fe1be46a994272793",
            "1-5759e988-bd862e3fe1be46a99427279x",
            "1-+759e988-bd862e3fe1be46a994272793",
            "1-00000000-000000000000000000000000",
        ] {
            assert_eq!(trace_id(bad), None, "{bad:?}");
        }
        assert_eq!(
            span_id("53995c3f42cd8ad8"),
            Some(SpanId::from(0x53995c3f42cd8ad8))
        );
        for bad in [
            "",
            "53995c3f42cd8ad",
            "+3995c3f42cd8ad8",
            "0000000000000000",
        ] {
            assert_eq!(span_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn values_keep_scalar_types() {
        assert_eq!(value(&json!("a")), OtelValue::from("a"));
        assert_eq!(value(&json!(true)), OtelValue::Bool(true));
        assert_eq!(value(&json!(-3)), OtelValue::I64(-3));
        assert_eq!(value(&json!(u64::MAX)), OtelValue::F64(u64::MAX as f64));
        assert_eq!(value(&json!(0.5)), OtelValue::F64(0.5));
        assert_eq!(value(&json!([1, "x"])), OtelValue::from("[1,\"x\"]"));
        assert_eq!(value(&json!({"a": 1})), OtelValue::from("{\"a\":1}"));
        assert_eq!(value(&Value::Null), OtelValue::from("null"));
    }

    #[test]
    fn times_never_panic() {
        assert_eq!(system_time(-1.0), UNIX_EPOCH);
        assert_eq!(system_time(f64::NAN), UNIX_EPOCH);
        assert_eq!(system_time(f64::INFINITY), UNIX_EPOCH);
        assert_eq!(
            system_time(1_764_650_000.5),
            UNIX_EPOCH + Duration::from_millis(1_764_650_000_500)
        );
    }

    #[test]
    fn http_status_sets_the_status_as_the_conventions_say() {
        let with = |code: u16, namespace: Option<&str>, error: Option<&str>| {
            let mut s = SpanRecord::new("s", "1111111111111111", 1.0, 2.0);
            s.http = Some(SpanHttp {
                status: Some(code),
                ..SpanHttp::default()
            });
            s.namespace = namespace.map(str::to_owned);
            s.error = error.map(str::to_owned);
            let kind = match namespace {
                Some(_) => SpanKind::Client,
                None => SpanKind::Server,
            };
            status(&s, &kind)
        };
        assert_eq!(with(200, None, None), Status::Unset);
        assert_eq!(with(404, None, None), Status::Unset);
        assert_eq!(with(404, Some("remote"), None), Status::error(""));
        assert_eq!(with(503, None, None), Status::error(""));
        assert_eq!(
            with(404, None, Some("not_found")),
            Status::error("not_found")
        );
    }

    #[test]
    fn aws_fields_take_the_conventions_names() {
        assert_eq!(
            aws("operation", &json!("GetItem")),
            KeyValue::new("rpc.method", "GetItem")
        );
        assert_eq!(
            aws("table_name", &json!("users")),
            KeyValue::new(
                "aws.dynamodb.table_names",
                OtelValue::Array(Array::String(vec!["users".into()]))
            )
        );
        assert_eq!(
            aws("retries", &json!(2)),
            KeyValue::new("aws.retries", 2_i64)
        );
    }
}
