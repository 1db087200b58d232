//! The OpenTelemetry exporter from outside: an app's invocations through `OtelExporter` into
//! the SDK's in-memory exporter, the `SpanData` read back and checked field by field.

// Tests fail by panicking, with a message; that is what these are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use lift::observability::otel::OtelExporter;
use lift::observability::xray::TraceHeader;
use lift::observability::{Exporter, LogFormat, Observability};
use lift::prelude::*;
use lift::testing::{invoke_with, TestRequest};
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceFlags, TraceId};
use opentelemetry::{Array, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData, SpanExporter};

const TRACE: &str = "5759e988bd862e3fe1be46a994272793";

fn app_with(otel: OtelExporter<InMemorySpanExporter>) -> App {
    App::new().observability(
        Observability::new()
            .service("orders")
            .log_format(LogFormat::Json)
            .export_to(otel),
    )
}

/// The exported spans, by name (each name appears once in these tests).
fn by_name(spans: Vec<SpanData>) -> BTreeMap<String, SpanData> {
    let n = spans.len();
    let map: BTreeMap<String, SpanData> =
        spans.into_iter().map(|s| (s.name.to_string(), s)).collect();
    assert_eq!(map.len(), n, "span names repeat: {:?}", map.keys());
    map
}

fn attrs(span: &SpanData) -> BTreeMap<String, Value> {
    span.attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect()
}

fn expect(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn check_times(s: &SpanData) {
    let start = s
        .start_time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(start > 1_700_000_000, "{s:?}");
    assert!(s.end_time >= s.start_time, "{s:?}");
}

#[tokio::test]
async fn in_lambda_the_spans_hang_from_lambdas_segment_with_their_fields() {
    let memory = InMemorySpanExporter::default();
    let otel = OtelExporter::new(memory.clone());
    let app = app_with(otel.clone())
        .get("/users/{id}", |ctx: Context| async move {
            ctx.set_tenant("acme");
            let mut load = ctx.tracer().span("load user");
            load.annotate("cache_hit", false);
            load.metadata("rows", 3);
            load.metadata("filter", serde_json::json!({"active": true}));
            let mut query = load.child("query");
            query.annotate("table", "users");
            query.end();
            load.end();

            let mut get = ctx.tracer().span("DynamoDB");
            get.set_namespace("aws");
            get.set_aws("operation", "GetItem");
            get.set_aws("region", "eu-west-1");
            get.set_aws("request_id", "REQ1");
            get.set_aws("table_name", "users");
            get.set_http_status(200);
            get.end();

            let mut request = http::Request::get("https://rates.example.com/v1/eur?key=secret-key")
                .body(())
                .unwrap();
            let mut call = ctx.tracer().http_call(&mut request);
            call.set_http_status(503);
            call.end();
            "ok"
        })
        .build()
        .unwrap();
    let req = common::caller_request("/users/7?token=secret-value");
    invoke_with(&app, req.v2(), common::traced_lambda("req-1"))
        .await
        .unwrap();

    let exported = memory.get_finished_spans().unwrap();
    assert!(!format!("{exported:?}").contains("secret"), "{exported:#?}");
    let spans = by_name(exported);
    assert_eq!(
        spans.keys().collect::<Vec<_>>(),
        [
            "## GET /users/:id",
            "DynamoDB",
            "load user",
            "query",
            "rates.example.com"
        ]
    );
    let trace = TraceId::from_hex(TRACE).unwrap();
    for s in spans.values() {
        assert_eq!(s.span_context.trace_id(), trace);
        assert_eq!(s.span_context.trace_flags(), TraceFlags::SAMPLED);
        assert!(!s.span_context.is_remote());
        assert_eq!(s.instrumentation_scope.name(), "lift");
        check_times(s);
    }

    let handler = &spans["## GET /users/:id"];
    let handler_id = handler.span_context.span_id();
    assert_eq!(
        handler.parent_span_id,
        SpanId::from_hex(common::TRACE_PARENT).unwrap()
    );
    assert!(handler.parent_span_is_remote);
    // Lambda's segment is the server side; the handler works inside it.
    assert_eq!(handler.span_kind, SpanKind::Internal);
    assert_eq!(handler.status, Status::Unset);
    assert_eq!(
        attrs(handler),
        expect(&[
            ("annotation.ColdStart", Value::Bool(true)),
            ("annotation.Service", "orders".into()),
            ("annotation.route", "/users/{id}".into()),
            ("annotation.tenant_id", "acme".into()),
            ("client.address", "198.51.100.4".into()),
            ("http.request.method", "GET".into()),
            ("http.response.status_code", Value::I64(200)),
            ("url.full", "https://api.example.com/users/7".into()),
            ("user_agent.original", "curl/8.0".into()),
        ])
    );

    let load = &spans["load user"];
    assert_eq!(load.parent_span_id, handler_id);
    assert!(!load.parent_span_is_remote);
    assert_eq!(load.span_kind, SpanKind::Internal);
    assert_eq!(
        attrs(load),
        expect(&[
            ("annotation.cache_hit", Value::Bool(false)),
            ("annotation.tenant_id", "acme".into()),
            ("metadata.filter", r#"{"active":true}"#.into()),
            ("metadata.rows", Value::I64(3)),
        ])
    );
    let query = &spans["query"];
    assert_eq!(query.parent_span_id, load.span_context.span_id());
    assert_eq!(
        attrs(query),
        expect(&[
            ("annotation.table", "users".into()),
            ("annotation.tenant_id", "acme".into()),
        ])
    );
    assert!(query.start_time >= load.start_time && query.end_time <= load.end_time);

    let dynamo = &spans["DynamoDB"];
    assert_eq!(dynamo.parent_span_id, handler_id);
    assert_eq!(dynamo.span_kind, SpanKind::Client);
    assert_eq!(dynamo.status, Status::Unset);
    assert_eq!(
        attrs(dynamo),
        expect(&[
            ("annotation.tenant_id", "acme".into()),
            (
                "aws.dynamodb.table_names",
                Value::Array(Array::String(vec!["users".into()]))
            ),
            ("aws.region", "eu-west-1".into()),
            ("aws.request_id", "REQ1".into()),
            ("http.response.status_code", Value::I64(200)),
            ("rpc.method", "GetItem".into()),
            ("rpc.service", "DynamoDB".into()),
            ("rpc.system", "aws-api".into()),
        ])
    );

    // A client's 5xx fails it, as the HTTP conventions say, with no description to add.
    let call = &spans["rates.example.com"];
    assert_eq!(call.span_kind, SpanKind::Client);
    assert_eq!(call.status, Status::error(""));
    assert_eq!(
        attrs(call),
        expect(&[
            ("annotation.tenant_id", "acme".into()),
            ("http.request.method", "GET".into()),
            ("http.response.status_code", Value::I64(503)),
            ("url.full", "https://rates.example.com/v1/eur".into()),
        ])
    );

    let stats = otel.stats();
    assert_eq!((stats.accepted, stats.written), (5, 5));
    assert_eq!(stats.dropped_total(), 0);
    assert_eq!(stats.last_error, None);
}

#[tokio::test]
async fn the_ids_are_the_trace_headers_and_traceparents() {
    let memory = InMemorySpanExporter::default();
    let app = app_with(OtelExporter::new(memory.clone()))
        .get("/", |ctx: Context| async move {
            ctx.tracer().trace_header().unwrap_or_default()
        })
        .build()
        .unwrap();
    let res = invoke_with(&app, TestRequest::get("/").v2(), common::traced_lambda("r"))
        .await
        .unwrap();
    // What the handler would send downstream names its span as the parent, so the
    // `traceparent` made from that header is the exported span's context.
    let downstream = TraceHeader::parse(&res.text()).unwrap();
    let spans = memory.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 1);
    let c = &spans[0].span_context;
    assert_eq!(
        downstream.to_traceparent().unwrap(),
        format!("00-{}-{}-01", c.trace_id(), c.span_id())
    );
    assert_eq!(c.trace_id().to_string(), TRACE);
}

#[tokio::test]
async fn errors_are_the_status_with_the_message_lift_shows() {
    let memory = InMemorySpanExporter::default();
    let app = common::failing_routes(app_with(OtelExporter::new(memory.clone())))
        .build()
        .unwrap();
    let mut seen = Vec::new();
    for path in ["/missing", "/busy", "/broken"] {
        invoke_with(
            &app,
            TestRequest::get(path).v2(),
            common::traced_lambda(path),
        )
        .await
        .unwrap();
        let spans = memory.get_finished_spans().unwrap();
        memory.reset();
        assert_eq!(spans.len(), 1, "{spans:#?}");
        let s = &spans[0];
        assert!(!format!("{s:?}").contains("hunter2"), "{s:?}");
        let status = attrs(s)["http.response.status_code"].clone();
        let exceptions: Vec<(String, BTreeMap<String, Value>)> = s
            .events
            .iter()
            .map(|e| {
                assert_eq!(e.timestamp, s.end_time);
                let a = e.attributes.iter();
                (
                    e.name.to_string(),
                    a.map(|kv| (kv.key.to_string(), kv.value.clone())).collect(),
                )
            })
            .collect();
        seen.push((s.name.to_string(), status, s.status.clone(), exceptions));
    }
    let exception = |message: &str| {
        vec![(
            "exception".to_owned(),
            expect(&[("exception.message", message.to_owned().into())]),
        )]
    };
    assert_eq!(
        seen,
        [
            (
                "## GET /missing".to_owned(),
                Value::I64(404),
                Status::error("not_found"),
                exception("not_found"),
            ),
            // A server's 4xx is the caller's doing: the span did not fail.
            (
                "## GET /busy".to_owned(),
                Value::I64(429),
                Status::Unset,
                vec![]
            ),
            (
                "## GET /broken".to_owned(),
                Value::I64(500),
                Status::error("internal"),
                exception("internal"),
            ),
        ]
    );
}

#[tokio::test]
async fn outside_lambda_the_handler_is_the_server_span_continuing_the_caller() {
    let memory = InMemorySpanExporter::default();
    let app = app_with(OtelExporter::new(memory.clone()))
        .get("/", |ctx: Context| async move {
            drop(ctx.tracer().span("work"));
            "ok"
        })
        .build()
        .unwrap();
    let req = TestRequest::get("/").header(
        "X-Amzn-Trace-Id",
        "Root=1-6b0fc34b-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1",
    );
    invoke_with(&app, req.v2(), common::lambda("local"))
        .await
        .unwrap();
    let spans = by_name(memory.get_finished_spans().unwrap());
    let handler = &spans["## GET /"];
    assert_eq!(handler.span_kind, SpanKind::Server);
    assert_eq!(
        handler.span_context.trace_id(),
        TraceId::from_hex("6b0fc34b0123456789abcdef01234567").unwrap()
    );
    assert_eq!(handler.parent_span_id, SpanId::from(0x1111111111111111));
    assert!(handler.parent_span_is_remote);
    let work = &spans["work"];
    assert_eq!(work.span_kind, SpanKind::Internal);
    assert_eq!(work.parent_span_id, handler.span_context.span_id());
    memory.reset();

    // Without a header: a trace of its own, the handler at its root.
    invoke_with(&app, TestRequest::get("/").v2(), common::lambda("local-2"))
        .await
        .unwrap();
    let spans = by_name(memory.get_finished_spans().unwrap());
    let handler = &spans["## GET /"];
    assert_eq!(handler.span_kind, SpanKind::Server);
    assert_eq!(handler.parent_span_id, SpanId::INVALID);
    assert!(!handler.parent_span_is_remote);
    assert!(handler.span_context.is_valid());
}

/// Refuses every batch, as an exporter whose collector is down does.
#[derive(Debug, Default)]
struct Refusing;

impl SpanExporter for Refusing {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure(
            "collector unreachable".into(),
        ))
    }
}

/// Counts what it is given, and how often it is shut down.
#[derive(Debug, Default, Clone)]
struct Counting(Arc<std::sync::Mutex<(usize, usize)>>);

impl SpanExporter for Counting {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().0 += batch.len();
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        self.0.lock().unwrap().1 += 1;
        Ok(())
    }
}

#[tokio::test]
async fn a_failed_export_is_counted_never_raised() {
    let otel = OtelExporter::new(Refusing);
    let app = App::new()
        .observability(Observability::new().export_to(otel.clone()))
        .get("/", |ctx: Context| async move {
            drop(ctx.tracer().span("work"));
            "ok"
        })
        .build()
        .unwrap();
    let res = invoke_with(&app, TestRequest::get("/").v2(), common::traced_lambda("r"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let stats = otel.stats();
    assert_eq!((stats.accepted, stats.written), (2, 0));
    assert_eq!(stats.dropped_for("export_failed"), 2);
    assert!(
        stats
            .last_error
            .as_deref()
            .unwrap()
            .contains("collector unreachable"),
        "{stats:?}"
    );
}

#[tokio::test]
async fn batches_without_a_trace_or_with_bad_ids_are_counted() {
    use lift::observability::{SpanBatch, SpanRecord};
    let counting = Counting::default();
    let otel = OtelExporter::new(counting.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);

    let untraced = SpanBatch::new(vec![SpanRecord::new("a", "1111111111111111", 1.0, 2.0)]);
    otel.spans(&untraced);

    let mut root = SpanRecord::new("root", "not-an-id", 1.0, 2.0);
    root.children
        .push(SpanRecord::new("child", "2222222222222222", 1.0, 1.5));
    let mut traced = SpanBatch::new(vec![root]);
    traced.trace_id = Some(common::TRACE_ID.into());
    otel.spans(&traced);
    otel.shutdown(deadline).await;

    let stats = otel.stats();
    assert_eq!((stats.accepted, stats.written), (3, 1));
    assert_eq!(stats.dropped_for("no_trace"), 1);
    assert_eq!(stats.dropped_for("invalid_id"), 1);
    // The child is still sent, at the top; and shutdown reached the wrapped exporter.
    assert_eq!(*counting.0.lock().unwrap(), (1, 1));
}

/// Never finishes an export, as one whose collector stopped answering.
#[derive(Debug, Default)]
struct Hanging;

impl SpanExporter for Hanging {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        std::future::pending().await
    }
}

#[tokio::test]
async fn an_export_cut_off_at_the_deadline_counts_its_spans_as_dropped() {
    use lift::observability::{SpanBatch, SpanRecord};
    let otel = OtelExporter::new(Hanging);
    let mut batch = SpanBatch::new(vec![SpanRecord::new("a", "1111111111111111", 1.0, 2.0)]);
    batch.trace_id = Some(common::TRACE_ID.into());
    otel.spans(&batch);
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(20);
    // What the pipeline does to an exporter that overruns its deadline: drop its future.
    let cut =
        tokio::time::timeout(std::time::Duration::from_millis(20), otel.flush(deadline)).await;
    assert!(cut.is_err());
    let stats = otel.stats();
    assert_eq!((stats.accepted, stats.written), (1, 0));
    assert_eq!(stats.dropped_for("export_failed"), 1);
    assert!(stats.last_error.unwrap().contains("cut off"));
}

/// The X-Ray document `opentelemetry-aws` writes from Lift's spans: the attribute names Lift
/// chose are the ones it reads back into annotations, metadata, `http`, `aws` and `cause`.
#[tokio::test]
async fn opentelemetry_aws_reads_the_attributes_into_the_documents_fields() {
    use opentelemetry_aws::xray_exporter::SegmentTranslator;
    use serde_json::json;

    let memory = InMemorySpanExporter::default();
    let app = app_with(OtelExporter::new(memory.clone()))
        .get("/users/{id}", |ctx: Context| async move {
            let mut load = ctx.tracer().span("load user");
            load.annotate("cache_hit", false);
            load.metadata("rows", 3);
            load.end();
            let mut get = ctx.tracer().span("DynamoDB");
            get.set_namespace("aws");
            get.set_aws("operation", "GetItem");
            get.set_aws("region", "eu-west-1");
            get.set_aws("request_id", "REQ1");
            get.set_http_status(400);
            get.set_error("service error");
            get.end();
            "ok"
        })
        .build()
        .unwrap();
    let req = common::caller_request("/users/7");
    invoke_with(&app, req.v2(), common::traced_lambda("req-1"))
        .await
        .unwrap();
    let spans = memory.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 3);
    // The fixed trace id is from 2016; the translator refuses ids older than 30 days.
    let translator = SegmentTranslator::new()
        .always_nest_subsegments()
        .skip_timestamp_validation();
    let docs: Vec<serde_json::Value> = translator
        .translate_spans(&spans)
        .iter()
        .map(|d| serde_json::from_str(&d.to_string()).unwrap())
        .collect();
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let doc = &docs[0];
    assert_eq!(doc["type"], "subsegment");
    assert_eq!(doc["trace_id"], common::TRACE_ID);
    assert_eq!(doc["parent_id"], common::TRACE_PARENT);
    assert_eq!(doc["name"], "## GET /users/:id");
    assert_eq!(
        doc["http"],
        json!({
            "request": {
                "method": "GET",
                "url": "https://api.example.com/users/7",
                "user_agent": "curl/8.0",
                "client_ip": "198.51.100.4"
            },
            "response": {"status": 200}
        })
    );
    assert_eq!(
        doc["annotations"],
        json!({"ColdStart": true, "Service": "orders", "route": "/users/{id}"})
    );
    let kids = doc["subsegments"].as_array().unwrap();
    let kid = |name: &str| kids.iter().find(|k| k["name"] == name).unwrap();
    let load = kid("load user");
    assert_eq!(load["annotations"], json!({"cache_hit": false}));
    assert_eq!(load["metadata"], json!({"rows": 3}));
    let get = kid("DynamoDB");
    assert_eq!(get["namespace"], "aws");
    assert_eq!(get["aws"]["operation"], "GetItem");
    assert_eq!(get["aws"]["region"], "eu-west-1");
    assert_eq!(get["aws"]["request_id"], "REQ1");
    assert_eq!(get["http"]["response"]["status"], 400);
    assert_eq!(get["error"], true);
    assert_eq!(get["cause"]["exceptions"][0]["message"], "service error");
}
