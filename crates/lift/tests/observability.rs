//! Logs, EMF metrics, spans and tenant isolation, observed through the in-memory sink.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use lift::observability::{
    Field, Level, LogFormat, MemoryExporter, Observability, RecordKind, Unit,
};
use lift::prelude::*;
use lift::testing::{invoke, invoke_with, TestRequest};
use lift::LambdaContext;
use serde_json::{json, Value};

fn obs(mem: &MemoryExporter) -> Observability {
    Observability::new()
        .service("orders")
        .namespace("Lift/Test")
        .log_format(LogFormat::Json)
        .export_to(mem.clone())
}

fn lambda(id: &str) -> LambdaContext {
    let mut l = LambdaContext::local(id, Duration::from_secs(30));
    l.xray_trace_id =
        Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into());
    l
}

/// A log line without its timestamp, which is checked separately.
fn without_timestamp(mut line: Value) -> Value {
    let ts = line["timestamp"].as_str().expect("timestamp").to_owned();
    // RFC 3339 in UTC with milliseconds: 2026-11-29T22:07:00.123Z
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(
        ts.ends_with('Z') && ts.as_bytes()[10] == b'T' && ts.as_bytes()[19] == b'.',
        "{ts}"
    );
    line.as_object_mut().unwrap().remove("timestamp");
    line
}

fn without_emf_timestamp(mut doc: Value) -> Value {
    assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    doc["_aws"].as_object_mut().unwrap().remove("Timestamp");
    // Outside Lambda each invocation starts a trace of its own (the memory exporter takes
    // spans), whose id the document carries; `spans_are_recorded_with_the_invocation_trace`
    // checks it against the spans.
    let trace = doc.as_object_mut().unwrap().remove("xray_trace_id");
    if let Some(t) = trace {
        assert!(common_trace_id(t.as_str().unwrap()), "{t}");
    }
    doc
}

/// `1-` + 8 hex digits + `-` + 24 hex digits.
fn common_trace_id(t: &str) -> bool {
    let parts: Vec<&str> = t.split('-').collect();
    parts.len() == 3
        && parts[0] == "1"
        && parts[1].len() == 8
        && parts[2].len() == 24
        && t[2..].chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test]
async fn log_lines_have_the_powertools_keys_then_child_then_call_fields() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).correlation_header("x-correlation-id"))
        .get("/orders/{id}", |ctx: Context| async move {
            ctx.set_tenant("acme");
            ctx.set_user("user-7");
            let log = ctx.logger().child(&[("handler", "get_order".into())]);
            log.info(
                "order loaded",
                &[
                    (
                        "order_id",
                        ctx.route().param("id").unwrap_or_default().into(),
                    ),
                    ("items", 3.into()),
                    ("total", 12.5.into()),
                    ("paid", true.into()),
                    ("tags", Field::Json(&json!(["a", "b"]))),
                ],
            );
            "ok"
        })
        .build()
        .unwrap();
    let req = TestRequest::get("/orders/42").header("x-correlation-id", "corr-1");
    invoke_with(&app, req.v2(), lambda("req-1")).await.unwrap();
    let logs = mem.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let raw = &mem.raw(RecordKind::Log)[0];
    // Key order is part of the format.
    let keys: Vec<&str> = [
        "level",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "xray_trace_id",
        "request_id",
        "tenant_id",
        "user_id",
        "correlation_id",
        "handler",
        "order_id",
        "items",
        "total",
        "paid",
        "tags",
    ]
    .to_vec();
    let mut last = 0;
    for k in &keys {
        let at = raw
            .find(&format!("\"{k}\":"))
            .unwrap_or_else(|| panic!("{k} missing in {raw}"));
        assert!(at >= last, "{k} out of order in {raw}");
        last = at;
    }
    let cold = logs[0]["cold_start"].as_bool().unwrap();
    assert_eq!(
        without_timestamp(logs[0].clone()),
        json!({
            "level": "INFO",
            "message": "order loaded",
            "service": "orders",
            "cold_start": cold,
            "function_name": "local",
            "function_memory_size": 128,
            "function_arn": "arn:aws:lambda:us-east-1:000000000000:function:local",
            "function_request_id": "req-1",
            "xray_trace_id": "1-5759e988-bd862e3fe1be46a994272793",
            "request_id": "req-1",
            "tenant_id": "acme",
            "user_id": "user-7",
            "correlation_id": "corr-1",
            "handler": "get_order",
            "order_id": "42",
            "items": 3,
            "total": 12.5,
            "paid": true,
            "tags": ["a", "b"]
        })
    );
}

#[tokio::test]
async fn levels_filter_and_redaction_hides_configured_keys() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(
            obs(&mem)
                .log_level(Level::Warn)
                .redact(["password", "token"]),
        )
        .get("/", |ctx: Context| async move {
            let log = ctx.logger();
            log.info("not written", &[]);
            log.debug("not written either", &[]);
            log.warn(
                "written",
                &[
                    ("Password", "hunter2".into()),
                    ("nested", Field::Json(&json!({"token": "abc", "ok": 1}))),
                ],
            );
            "ok"
        })
        .build()
        .unwrap();
    invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    let logs = mem.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["message"], "written");
    assert_eq!(logs[0]["Password"], "[REDACTED]");
    assert_eq!(logs[0]["nested"], json!({"token": "[REDACTED]", "ok": 1}));
    assert!(!mem.raw(RecordKind::Log)[0].contains("hunter2"));
}

#[tokio::test]
async fn the_pretty_format_is_one_readable_line() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).log_format(LogFormat::Pretty))
        .get("/", |ctx: Context| async move {
            ctx.logger().info("hello there", &[("n", 1.into())]);
            "ok"
        })
        .build()
        .unwrap();
    invoke_with(&app, TestRequest::get("/").v2(), lambda("req-p"))
        .await
        .unwrap();
    let line = &mem.raw(RecordKind::Log)[0];
    let (ts, rest) = line.split_once(' ').unwrap();
    assert_eq!(ts.len(), 24);
    assert_eq!(
        rest,
        "INFO  hello there service=orders request_id=req-p n=1"
    );
}

#[tokio::test]
async fn the_pretty_format_escapes_control_characters_so_no_line_can_be_forged() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).log_format(LogFormat::Pretty))
        .get("/", |ctx: Context| async move {
            let forged = "ok\n2026-12-02T00:00:00.000Z ERROR forged";
            ctx.logger()
                .info(forged, &[("in\rkey", "a\nb\u{1b}[31m".into())]);
            "ok"
        })
        .build()
        .unwrap();
    invoke_with(&app, TestRequest::get("/").v2(), lambda("req-f"))
        .await
        .unwrap();
    let line = &mem.raw(RecordKind::Log)[0];
    assert!(!line.contains('\n') && !line.contains('\r') && !line.contains('\u{1b}'));
    let (_, rest) = line.split_once(' ').unwrap();
    assert_eq!(
        rest,
        r#"INFO  ok\n2026-12-02T00:00:00.000Z ERROR forged service=orders request_id=req-f in\rkey="a\nb\u001b[31m""#
    );
}

#[tokio::test]
async fn debug_lines_are_written_only_when_the_invocation_fails() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).debug_buffer(1024))
        .get("/ok", |ctx: Context| async move {
            ctx.logger().debug("step 1", &[]);
            ctx.logger().info("done", &[]);
            "ok"
        })
        .get("/fail", |ctx: Context| async move {
            ctx.logger().debug("step 1", &[]);
            ctx.logger().debug("step 2", &[]);
            Err::<&str, _>(Error::internal(std::io::Error::other("boom")))
        })
        .get("/logs-error", |ctx: Context| async move {
            ctx.logger().debug("before", &[]);
            ctx.logger().error("bad thing", &[]);
            "still ok"
        })
        .build()
        .unwrap();

    invoke(&app, TestRequest::get("/ok").v2()).await.unwrap();
    let messages = |mem: &MemoryExporter| -> Vec<String> {
        mem.logs()
            .iter()
            .map(|l| l["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(messages(&mem), vec!["done"]);

    mem.clear();
    let res = invoke(&app, TestRequest::get("/fail").v2()).await.unwrap();
    assert_eq!(res.status(), 500);
    // Logging the error writes the buffered debug lines first, so the log reads in order.
    assert_eq!(messages(&mem), vec!["step 1", "step 2", "request failed"]);
    assert_eq!(mem.logs()[0]["level"], "DEBUG");

    mem.clear();
    invoke(&app, TestRequest::get("/logs-error").v2())
        .await
        .unwrap();
    assert_eq!(messages(&mem), vec!["before", "bad thing"]);
}

#[tokio::test]
async fn the_debug_buffer_is_bounded_and_reports_evictions() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).debug_buffer(600))
        .get("/", |ctx: Context| async move {
            for i in 0..20 {
                ctx.logger().debug("filler line", &[("i", i.into())]);
            }
            ctx.logger().error("failure", &[]);
            "x"
        })
        .build()
        .unwrap();
    invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    let logs = mem.logs();
    assert_eq!(
        logs[0]["message"],
        "debug buffer overflowed; older debug lines were evicted"
    );
    let kept: Vec<i64> = logs[1..logs.len() - 1]
        .iter()
        .map(|l| l["i"].as_i64().unwrap())
        .collect();
    let evicted = logs[0]["evicted_lines"].as_u64().unwrap();
    assert_eq!(evicted as usize + kept.len(), 20);
    assert_eq!(*kept.last().unwrap(), 19, "the newest lines are kept");
    assert_eq!(logs.last().unwrap()["message"], "failure");
}

#[tokio::test]
async fn a_panicking_invocation_loses_no_log_line_or_metric() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).debug_buffer(4096))
        .get("/", |ctx: Context| async move {
            ctx.logger().info("before the panic", &[]);
            ctx.logger().debug("buffered", &[]);
            ctx.metrics().counter("Attempts").increment();
            if ctx.request().query("panic").is_some() {
                panic!("handler bug");
            }
            "ok"
        })
        .build()
        .unwrap();
    // Without a Recover middleware the corridor contains the panic: the invocation fails.
    let err = invoke(&app, TestRequest::get("/?panic=1").v2())
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lift.Panic");
    let messages: Vec<Value> = mem.logs().iter().map(|l| l["message"].clone()).collect();
    assert_eq!(
        messages,
        vec![
            json!("before the panic"),
            json!("buffered"),
            json!("panic outside Recover")
        ]
    );
    let docs = mem.metrics();
    assert_eq!(
        docs.iter().filter(|d| d.get("Attempts").is_some()).count(),
        1
    );
    // The app keeps serving.
    assert_eq!(
        invoke(&app, TestRequest::get("/").v2())
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn one_emf_document_per_invocation_with_service_and_tenant() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).default_dimension("stage", "prod"))
        .get("/hello", |ctx: Context| async move {
            ctx.set_tenant("acme");
            let m = ctx.metrics();
            m.counter("Greetings").increment();
            m.counter("Greetings").add(2.0);
            m.gauge("QueueDepth", Unit::Count).set(5.0);
            m.gauge("QueueDepth", Unit::Count).set(3.0);
            m.histogram("NameLength", Unit::Count).record(3.0);
            m.histogram("NameLength", Unit::Count).record(3.0);
            m.histogram("NameLength", Unit::Count).record(5.0);
            m.histogram("Latency", Unit::Milliseconds)
                .high_resolution()
                .record(1.5);
            "hi"
        })
        .build()
        .unwrap();
    // Warm the process's cold start so this test's documents are only the invocation's.
    invoke(&app, TestRequest::get("/hello").v2()).await.unwrap();
    mem.clear();
    invoke(&app, TestRequest::get("/hello").v2()).await.unwrap();
    let docs = mem.metrics();
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(
        without_emf_timestamp(docs[0].clone()),
        json!({
            "_aws": {
                "CloudWatchMetrics": [{
                    "Namespace": "Lift/Test",
                    "Dimensions": [["service", "stage", "tenant"]],
                    "Metrics": [
                        {"Name": "Greetings", "Unit": "Count"},
                        {"Name": "QueueDepth", "Unit": "Count"},
                        {"Name": "NameLength", "Unit": "Count"},
                        {"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1}
                    ]
                }]
            },
            "service": "orders",
            "stage": "prod",
            "tenant": "acme",
            "Greetings": 3.0,
            "QueueDepth": 3.0,
            "NameLength": {"Values": [3.0, 5.0], "Counts": [2, 1], "Max": 5.0, "Min": 3.0, "Count": 3, "Sum": 11.0},
            "Latency": {"Values": [1.5], "Counts": [1], "Max": 1.5, "Min": 1.5, "Count": 1, "Sum": 1.5}
        })
    );
}

#[tokio::test]
async fn the_first_invocation_writes_a_cold_start_document() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem))
        .get("/", |_ctx: Context| async { "ok" })
        .build()
        .unwrap();
    invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    let docs: Vec<Value> = mem
        .metrics()
        .into_iter()
        .map(without_emf_timestamp)
        .collect();
    assert_eq!(
        docs,
        vec![json!({
            "_aws": {"CloudWatchMetrics": [{
                "Namespace": "Lift/Test",
                "Dimensions": [["service", "function_name"]],
                "Metrics": [{"Name": "ColdStart", "Unit": "Count"}]
            }]},
            "service": "orders",
            "function_name": "local",
            "ColdStart": 1.0
        })]
    );
    assert_eq!(mem.logs().len(), 0);
}

#[tokio::test]
async fn an_empty_tenant_is_invalid_and_the_guard_folds_extra_tenants() {
    let mem = MemoryExporter::new();
    let o = obs(&mem).max_tenants(2);
    let app = App::new()
        .observability(o.clone())
        .get("/", |ctx: Context| async move {
            ctx.set_tenant(ctx.request().query("t").unwrap_or_default());
            ctx.metrics().counter("Hits").increment();
            "ok"
        })
        .build()
        .unwrap();
    for t in ["", "a", "b", "a", "c", "d"] {
        invoke(&app, TestRequest::get(&format!("/?t={t}")).v2())
            .await
            .unwrap();
    }
    let docs: Vec<Value> = mem
        .metrics()
        .into_iter()
        .filter(|d| d.get("Hits").is_some())
        .collect();
    let tenants: Vec<Value> = docs.iter().map(|d| d["tenant"].clone()).collect();
    assert_eq!(
        tenants,
        vec![
            json!("invalid"),
            json!("a"),
            json!("b"),
            json!("a"),
            json!("other"),
            json!("other")
        ]
    );
    assert_eq!(
        docs[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["service", "tenant"]])
    );
    // Folded invocations say so in their own document.
    assert_eq!(docs[4]["TenantOverflow"], 1.0);
    assert!(docs[3].get("TenantOverflow").is_none());
    // The invalid value took no place under the cap of 2.
    assert_eq!(
        (o.stats().folded_tenants, o.stats().invalid_tenants),
        (2, 1)
    );
}

#[tokio::test]
async fn tenants_named_like_the_guard_buckets_are_not_merged_with_them() {
    let mem = MemoryExporter::new();
    let o = obs(&mem).max_tenants(2).tenant_namespaces(true);
    let app = App::new()
        .observability(o.clone())
        .get("/", |ctx: Context| async move {
            ctx.set_tenant(ctx.request().query("t").unwrap_or_default());
            ctx.metrics().counter("Hits").increment();
            "ok"
        })
        .build()
        .unwrap();
    for t in ["other", "invalid", "other", "acme", ""] {
        invoke(&app, TestRequest::get(&format!("/?t={t}")).v2())
            .await
            .unwrap();
    }
    let docs: Vec<Value> = mem
        .metrics()
        .into_iter()
        .filter(|d| d.get("Hits").is_some())
        .collect();
    let seen: Vec<(Value, Value)> = docs
        .iter()
        .map(|d| {
            (
                d["tenant"].clone(),
                d["_aws"]["CloudWatchMetrics"][0]["Namespace"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (json!("#other"), json!("Lift/Test/#other")),
            (json!("#invalid"), json!("Lift/Test/#invalid")),
            (json!("#other"), json!("Lift/Test/#other")),
            (json!("other"), json!("Lift/Test/other")),
            (json!("invalid"), json!("Lift/Test/invalid")),
        ]
    );
    assert_eq!(
        (o.stats().folded_tenants, o.stats().invalid_tenants),
        (1, 1)
    );
}

#[tokio::test]
async fn per_tenant_namespaces() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).tenant_namespaces(true))
        .get("/", |ctx: Context| async move {
            ctx.set_tenant("acme");
            ctx.metrics().counter("Hits").increment();
            "ok"
        })
        .build()
        .unwrap();
    invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    let doc = mem
        .metrics()
        .into_iter()
        .find(|d| d.get("Hits").is_some())
        .unwrap();
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Lift/Test/acme"
    );
}

#[tokio::test]
async fn invalid_metrics_are_rejected_counted_and_reported() {
    let mem = MemoryExporter::new();
    let o = obs(&mem);
    let app = App::new()
        .observability(o.clone())
        .get("/", |ctx: Context| async move {
            let m = ctx.metrics();
            m.counter("").increment();
            m.counter("Bad").add(f64::INFINITY);
            m.counter("Good").increment();
            m.gauge("Good", Unit::Count).set(1.0);
            assert!(m.add_dimension("region", "").is_err());
            "ok"
        })
        .build()
        .unwrap();
    invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    assert_eq!(o.stats().rejected_metrics, 3);
    let warn = mem
        .logs()
        .into_iter()
        .find(|l| l["message"] == "metrics were rejected")
        .unwrap();
    assert_eq!(warn["level"], "WARN");
    assert_eq!(
        warn["reasons"],
        json!([
            "invalid metric or dimension name \"\"",
            "metric \"Bad\" got a value that is not a finite number",
            "metric \"Good\" was recorded as two kinds or with two units"
        ])
    );
    let doc = mem
        .metrics()
        .into_iter()
        .find(|d| d.get("Good").is_some())
        .unwrap();
    assert_eq!(doc["Good"], 1.0);
}

#[tokio::test]
async fn metrics_can_be_disabled() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).metrics_enabled(false))
        .get("/", |ctx: Context| async move {
            ctx.metrics().counter("Hits").increment();
            "ok"
        })
        .build()
        .unwrap();
    invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    assert!(mem.metrics().is_empty());
}

#[tokio::test]
async fn sink_failures_are_counted_not_fatal() {
    let mem = MemoryExporter::new();
    let o = obs(&mem);
    let app = App::new()
        .observability(o.clone())
        .get("/", |ctx: Context| async move {
            ctx.logger().info("lost", &[]);
            "ok"
        })
        .build()
        .unwrap();
    mem.set_failing(true);
    let res = invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    assert_eq!(res.status(), 200);
    // The log line, the cold-start document and the handler's span, counted by the exporter
    // with their reason.
    let stats = &o.stats().exporters[0].1;
    assert_eq!(stats.accepted, 3);
    assert_eq!(stats.written, 0);
    assert_eq!(stats.dropped, vec![("write_failed".to_owned(), 3)]);
    assert_eq!(
        stats.last_error.as_deref(),
        Some("memory exporter set to fail")
    );
    // The same, as the JSON a shutdown hook logs.
    assert_eq!(
        o.stats().to_json(),
        json!({
            "exporters": [{
                "name": "memory",
                "accepted": 3,
                "written": 0,
                "dropped": {"write_failed": 3},
                "fallen_back": 0,
                "last_error": "memory exporter set to fail",
            }],
            "rejected_metrics": 0,
            "folded_tenants": 0,
            "invalid_tenants": 0,
            "late_records": 0,
            "exporter_panics": 0,
            "flush_timeouts": 0,
            "after_response_panics": 0,
            "after_response_timeouts": 0,
        })
    );
}

#[tokio::test]
async fn spans_are_recorded_with_the_invocation_trace() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem))
        .get("/", |ctx: Context| async move {
            let mut outer = ctx.tracer().span("load");
            outer.annotate("table", "orders");
            {
                let mut inner = outer.child("query");
                inner.metadata("rows", 3);
                inner.set_error("timeout");
            }
            outer.end();
            "ok"
        })
        .build()
        .unwrap();
    invoke_with(&app, TestRequest::get("/").v2(), lambda("req-s"))
        .await
        .unwrap();
    let spans = mem.spans();
    assert_eq!(spans.len(), 3);
    // Parents before their children: the handler's span, then the handler's own.
    let (handler, load, query) = (&spans[0], &spans[1], &spans[2]);
    assert_eq!(handler["name"], "## GET /");
    assert_eq!(
        handler["annotations"],
        json!({"ColdStart": true, "Service": "orders", "route": "/"})
    );
    assert_eq!(handler["http"]["method"], "GET");
    assert_eq!(handler["http"]["status"], 200);
    assert_eq!(load["parent_id"], handler["id"]);
    assert_eq!(query["name"], "query");
    assert_eq!(query["parent_id"], load["id"]);
    assert_eq!(query["metadata"], json!({"rows": 3}));
    assert_eq!(query["error"], true);
    assert_eq!(query["cause"], "timeout");
    assert_eq!(load["annotations"], json!({"table": "orders"}));
    assert_eq!(load["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
    assert!(handler.get("parent_id").is_none());
    assert_eq!(load["id"].as_str().unwrap().len(), 16);
    // The batch says where the tree hangs: under Lambda's segment, the header's `Parent`.
    let batch = &mem.span_batches()[0];
    assert!(batch.in_lambda);
    assert_eq!(batch.parent_id.as_deref(), Some("53995c3f42cd8ad8"));
    assert_eq!(batch.service, "orders");
    assert!(load["end_time"].as_f64().unwrap() >= load["start_time"].as_f64().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_never_share_fields_or_metrics() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem))
        .get("/t/{tenant}", |ctx: Context| async move {
            let tenant = ctx.route().param("tenant").unwrap_or_default().to_owned();
            ctx.set_tenant(tenant.clone());
            ctx.logger()
                .info("start", &[("marker", tenant.as_str().into())]);
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
            let n: f64 = tenant.trim_start_matches('t').parse().unwrap();
            ctx.metrics().counter("Value").add(n);
            ctx.logger()
                .info("end", &[("marker", tenant.as_str().into())]);
            "ok"
        })
        .build()
        .unwrap();
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let req = TestRequest::get(&format!("/t/t{i}"));
            invoke_with(&app, req.v2(), lambda(&format!("req-{i}")))
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().status(), 200);
    }
    let logs = mem.logs();
    assert_eq!(logs.len(), 80);
    for l in &logs {
        let marker = l["marker"].as_str().unwrap();
        let i = marker.trim_start_matches('t');
        assert_eq!(l["tenant_id"], marker, "{l}");
        assert_eq!(l["request_id"], format!("req-{i}"), "{l}");
    }
    let docs: Vec<Value> = mem
        .metrics()
        .into_iter()
        .filter(|d| d.get("Value").is_some())
        .collect();
    assert_eq!(docs.len(), 40);
    for d in docs {
        let tenant = d["tenant"].as_str().unwrap();
        let n: f64 = tenant.trim_start_matches('t').parse().unwrap();
        assert_eq!(d["Value"], n, "{d}");
    }
}

#[tokio::test]
async fn a_line_never_has_a_key_twice() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem))
        .get("/", |ctx: Context| async move {
            ctx.set_user("user-7");
            let child = ctx
                .logger()
                .child(&[("handler", "a".into()), ("step", 1.into())]);
            child.info(
                "hi",
                &[
                    ("service", "other".into()),
                    ("user_id", "7".into()),
                    ("step", 2.into()),
                    ("region", "eu".into()),
                ],
            );
            "ok"
        })
        .build()
        .unwrap();
    invoke_with(&app, TestRequest::get("/").v2(), lambda("req-k"))
        .await
        .unwrap();
    let raw = &mem.raw(RecordKind::Log)[0];
    for key in [
        "\"service\":",
        "\"user_id\":",
        "\"step\":",
        "\"extra_service\":",
        "\"extra_user_id\":",
    ] {
        assert_eq!(raw.matches(key).count(), 1, "{key} in {raw}");
    }
    let line = &mem.logs()[0];
    assert_eq!(line["service"], "orders");
    assert_eq!(line["extra_service"], "other");
    assert_eq!(line["user_id"], "user-7");
    assert_eq!(line["extra_user_id"], "7");
    assert_eq!(line["step"], 2);
    assert_eq!(line["handler"], "a");
    assert_eq!(line["region"], "eu");
}

#[tokio::test]
async fn pretty_values_are_quoted_only_when_ambiguous() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).log_format(LogFormat::Pretty))
        .get("/", |ctx: Context| async move {
            ctx.logger().info(
                "hi",
                &[
                    ("name", "Ada Lovelace".into()),
                    ("route", "/hello".into()),
                    ("empty", "".into()),
                    ("json", Field::Json(&json!("plain"))),
                ],
            );
            "ok"
        })
        .build()
        .unwrap();
    invoke_with(&app, TestRequest::get("/").v2(), lambda("req-q"))
        .await
        .unwrap();
    let line = &mem.raw(RecordKind::Log)[0];
    assert!(
        line.ends_with(r#" INFO  hi service=orders request_id=req-q name="Ada Lovelace" route=/hello empty="" json=plain"#),
        "{line}"
    );
}

#[tokio::test]
async fn the_cold_start_metric_can_be_turned_off() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem).cold_start_metric(false))
        .get("/", |_ctx: Context| async { "ok" })
        .build()
        .unwrap();
    invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    assert!(mem.metrics().is_empty());
}

#[tokio::test]
async fn a_null_sink_makes_every_handle_a_no_op() {
    let o = Observability::new().export_to(lift::observability::NullExporter);
    let app = App::new()
        .observability(o.clone())
        .get("/", |ctx: Context| async move {
            ctx.logger().error("nowhere", &[]);
            ctx.metrics().counter("Hits").increment();
            ctx.tracer().span("work").end();
            "ok"
        })
        .build()
        .unwrap();
    assert_eq!(
        invoke(&app, TestRequest::get("/").v2())
            .await
            .unwrap()
            .status(),
        200
    );
    // Nothing was produced, so nothing was dropped or rejected either.
    let stats = o.stats();
    assert_eq!(
        (stats.exporters[0].1.accepted, stats.rejected_metrics),
        (0, 0)
    );
}
