//! Identity per Context: in a batch, each record's tenant and user reach its own log lines,
//! metrics and spans and no other's, one after another and with records running concurrently;
//! a later invocation carries none of it. Tenant values CloudWatch would refuse still give valid
//! documents. A custom exporter written against the public API only sees the same records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lift::events::SqsMessage;
use lift::observability::{
    ExportCounters, Exporter, ExporterStats, LogFormat, LogRecord, MemoryExporter, MetricValue,
    MetricsBatch, MetricsRecord, Observability, RecordKind, SpanBatch, Unit,
};
use lift::prelude::*;
use lift::routing::BatchOptions;
use lift::testing::{invoke_with, TestRequest};
use lift::AppService;
use serde::Deserialize;
use serde_json::{json, Value};

/// Service `shop`, namespace `Lift/Test`, JSON lines, no cold-start document; add exporters.
fn shop() -> Observability {
    Observability::new()
        .service("shop")
        .namespace("Lift/Test")
        .log_format(LogFormat::Json)
        .cold_start_metric(false)
}

#[derive(Deserialize)]
struct Order {
    n: u64,
    tenant: Option<String>,
    user: Option<String>,
}

async fn order(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
    let order = msg.body;
    if let Some(t) = order.tenant {
        ctx.set_tenant(t);
    }
    if let Some(u) = order.user {
        ctx.set_user(u);
    }
    // Let the other records of the batch run in between (with concurrency on).
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    ctx.logger().info("order", &[("n", order.n.into())]);
    ctx.metrics().counter("Orders").increment();
    ctx.metrics()
        .histogram("Amount", Unit::None)
        .record(order.n as f64);
    let mut span = ctx.tracer().span("charge");
    span.annotate("n", order.n);
    Ok(())
}

async fn who(ctx: Context) -> String {
    ctx.logger().info("who", &[]);
    ctx.metrics().counter("Who").increment();
    ctx.identity()
        .tenant()
        .map_or_else(|| "nobody".to_owned(), |t| t.to_string())
}

fn app(mem: &MemoryExporter, concurrency: usize) -> AppService {
    App::new()
        .observability(shop().export_to(mem.clone()))
        .batch_options(BatchOptions::new().sqs_concurrency(concurrency))
        .on_sqs(order)
        .get("/who", who)
        .build()
        .unwrap()
}

/// Records m0 (acme, ada), m1 (globex, bob), m2 (no tenant), m3 (acme, cy).
fn batch() -> Vec<u8> {
    let template = common::fixture_json("events/sqs-orders-ok.json")["Records"][0].clone();
    let bodies = [
        json!({"n": 0, "tenant": "acme", "user": "ada"}),
        json!({"n": 1, "tenant": "globex", "user": "bob"}),
        json!({"n": 2}),
        json!({"n": 3, "tenant": "acme", "user": "cy"}),
    ];
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut r = template.clone();
            r["messageId"] = json!(format!("m{i}"));
            r["body"] = json!(b.to_string());
            r
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

/// A log line with its timestamp checked and removed.
fn without_timestamp(mut line: Value) -> Value {
    let ts = line.as_object_mut().unwrap().remove("timestamp").unwrap();
    assert!(ts.as_str().unwrap().ends_with('Z'), "{ts}");
    without_trace(line)
}

fn order_line(request_id: &str, i: u64, tenant: Option<&str>, user: Option<&str>) -> Value {
    let mut line = json!({
        "level": "INFO",
        "message": "order",
        "service": "shop",
        "cold_start": true,
        "function_name": "local",
        "function_memory_size": 128,
        "function_arn": "arn:aws:lambda:us-east-1:000000000000:function:local",
        "function_request_id": request_id,
        "request_id": request_id,
    });
    let m = line.as_object_mut().unwrap();
    if let Some(t) = tenant {
        m.insert("tenant_id".into(), json!(t));
    }
    if let Some(u) = user {
        m.insert("user_id".into(), json!(u));
    }
    m.insert("record_id".into(), json!(format!("m{i}")));
    m.insert("n".into(), json!(i));
    line
}

/// An EMF document with its timestamp checked and removed.
fn emf_without_timestamp(mut doc: Value) -> Value {
    let aws = doc["_aws"].as_object_mut().unwrap();
    assert!(aws.remove("Timestamp").unwrap().as_u64().unwrap() > 1_700_000_000_000);
    without_trace(doc)
}

/// A line or document without its trace id, which must be the invocation's.
fn without_trace(mut v: Value) -> Value {
    let trace = v.as_object_mut().unwrap().remove("xray_trace_id");
    assert_eq!(
        trace.as_ref().and_then(Value::as_str),
        Some(common::TRACE_ID),
        "{v}"
    );
    v
}

fn orders_doc(tenant: Option<&str>, orders: f64, amounts: &[(f64, u64)]) -> Value {
    let dims = if tenant.is_some() {
        json!([["service", "tenant"]])
    } else {
        json!([["service"]])
    };
    let count: u64 = amounts.iter().map(|(_, c)| c).sum();
    let sum: f64 = amounts.iter().map(|(v, c)| v * *c as f64).sum();
    let mut doc = json!({
        "_aws": {"CloudWatchMetrics": [{
            "Namespace": "Lift/Test",
            "Dimensions": dims,
            "Metrics": [{"Name": "Orders", "Unit": "Count"}, {"Name": "Amount", "Unit": "None"}]
        }]},
        "service": "shop",
    });
    let m = doc.as_object_mut().unwrap();
    if let Some(t) = tenant {
        m.insert("tenant".into(), json!(t));
    }
    m.insert("Orders".into(), json!(orders));
    m.insert(
        "Amount".into(),
        json!({
            "Values": amounts.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
            "Counts": amounts.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            "Max": amounts.last().unwrap().0,
            "Min": amounts[0].0,
            "Count": count,
            "Sum": sum,
        }),
    );
    doc
}

async fn records_carry_their_own_identity(concurrency: usize) {
    let mem = MemoryExporter::new();
    let app = app(&mem, concurrency);
    invoke_with(&app, batch(), common::traced_lambda("req-batch"))
        .await
        .unwrap();

    // Each record's line carries its own tenant and user, or none.
    let mut lines: Vec<Value> = mem.logs().into_iter().map(without_timestamp).collect();
    lines.sort_by_key(|l| l["n"].as_u64());
    assert_eq!(
        lines,
        vec![
            order_line("req-batch", 0, Some("acme"), Some("ada")),
            order_line("req-batch", 1, Some("globex"), Some("bob")),
            order_line("req-batch", 2, None, None),
            order_line("req-batch", 3, Some("acme"), Some("cy")),
        ]
    );

    // One document per tenant (the records of one tenant merged), in first-recorded order.
    let mut docs: Vec<Value> = mem
        .metrics()
        .into_iter()
        .map(emf_without_timestamp)
        .collect();
    docs.sort_by_key(|d| d["tenant"].as_str().unwrap_or("").to_owned());
    assert_eq!(
        docs,
        vec![
            orders_doc(None, 1.0, &[(2.0, 1)]),
            orders_doc(Some("acme"), 2.0, &[(0.0, 1), (3.0, 1)]),
            orders_doc(Some("globex"), 1.0, &[(1.0, 1)]),
        ]
    );

    // Each record's span carries its tenant; the record's own span and the handler's.
    let spans = mem.spans();
    for s in spans.iter().filter(|s| s["name"] == "charge") {
        let n = s["annotations"]["n"].as_u64().unwrap();
        let want = ["acme", "globex", "", "acme"][n as usize];
        assert_eq!(
            s["annotations"]["tenant_id"].as_str().unwrap_or(""),
            want,
            "{s}"
        );
    }
    assert_eq!(spans.iter().filter(|s| s["name"] == "charge").count(), 4);
    // The invocation's span holds one span per record, each holding its handler's spans.
    let batch: Vec<&Value> = spans.iter().filter(|s| s["name"] == "## sqs").collect();
    assert_eq!(batch.len(), 1);
    let records: Vec<&Value> = spans.iter().filter(|s| s["name"] == "sqs record").collect();
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r["parent_id"], batch[0]["id"]);
    }
    for c in spans.iter().filter(|s| s["name"] == "charge") {
        let parent = records.iter().find(|r| r["id"] == c["parent_id"]).unwrap();
        assert_eq!(
            parent["annotations"]["tenant_id"],
            c["annotations"]["tenant_id"]
        );
    }

    // A later invocation carries none of it.
    mem.clear();
    let res = invoke_with(
        &app,
        TestRequest::get("/who").v2(),
        common::traced_lambda("req-later"),
    )
    .await
    .unwrap();
    assert_eq!(res.text(), "nobody");
    let line = without_timestamp(mem.logs().remove(0));
    assert!(
        line.get("tenant_id").is_none() && line.get("user_id").is_none(),
        "{line}"
    );
    let doc = emf_without_timestamp(mem.metrics().remove(0));
    assert_eq!(
        doc,
        json!({
            "_aws": {"CloudWatchMetrics": [{"Namespace": "Lift/Test", "Dimensions": [["service"]],
                "Metrics": [{"Name": "Who", "Unit": "Count"}]}]},
            "service": "shop", "Who": 1.0
        })
    );
}

#[tokio::test]
async fn records_carry_their_own_identity_one_after_another() {
    records_carry_their_own_identity(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_carry_their_own_identity_when_run_concurrently() {
    records_carry_their_own_identity(4).await;
}

/// Checks what CloudWatch requires of a document's namespaces and dimension values.
fn assert_cloudwatch_accepts(doc: &Value) {
    for d in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
        let ns = d["Namespace"].as_str().unwrap();
        assert!(
            (1..=255).contains(&ns.len())
                && ns
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-_/#: ".contains(&b))
                && !ns.starts_with("AWS/"),
            "namespace {ns:?}"
        );
        for set in d["Dimensions"].as_array().unwrap() {
            for name in set.as_array().unwrap() {
                let v = doc[name.as_str().unwrap()].as_str().unwrap();
                assert!(
                    (1..=1024).contains(&v.len())
                        && v.bytes().all(|b| b.is_ascii() && !b.is_ascii_control())
                        && !v.trim().is_empty(),
                    "dimension value {v:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn tenant_values_cloudwatch_would_refuse_still_give_valid_documents() {
    let mem = MemoryExporter::new();
    let obs = shop().tenant_namespaces(true).export_to(mem.clone());
    let app = App::new()
        .observability(obs.clone())
        .post("/t", |ctx: Context| async move {
            let t: String = ctx.request().json().unwrap();
            ctx.set_tenant(t);
            ctx.metrics().counter("Hits").increment();
            ctx.logger().info("hit", &[]);
            "ok"
        })
        .build()
        .unwrap();
    let long = "t".repeat(2000);
    let values = [long.as_str(), "", "   ", "é", "a@b", "acme"];
    for t in values {
        let req = TestRequest::post("/t").json(&t);
        invoke_with(&app, req.v2(), common::traced_lambda("r"))
            .await
            .unwrap();
    }
    let docs = mem.metrics();
    assert_eq!(docs.len(), values.len());
    for d in &docs {
        assert_cloudwatch_accepts(d);
    }
    let tenants: Vec<&str> = docs.iter().map(|d| d["tenant"].as_str().unwrap()).collect();
    assert_eq!(
        tenants,
        ["invalid", "invalid", "invalid", "invalid", "invalid", "acme"]
    );
    assert_eq!(
        docs[4]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Lift/Test/invalid"
    );
    assert_eq!(
        docs[5]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Lift/Test/acme"
    );
    // Counted, and no place taken under the cardinality cap.
    let stats = obs.stats();
    assert_eq!((stats.invalid_tenants, stats.folded_tenants), (5, 0));
    // Log lines carry the value as it was set.
    let logged: Vec<Value> = mem.logs().iter().map(|l| l["tenant_id"].clone()).collect();
    assert_eq!(logged, values.iter().map(|v| json!(v)).collect::<Vec<_>>());
}

/// Each log line's message and tenant.
type Lines = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// An exporter written only against the public API: it keeps what it is handed.
#[derive(Clone, Default)]
struct Keep {
    lines: Lines,
    records: Arc<Mutex<Vec<MetricsRecord>>>,
    spans: Arc<Mutex<Vec<String>>>,
    counters: Arc<ExportCounters>,
}

impl Exporter for Keep {
    fn name(&self) -> &str {
        "keep"
    }

    fn log(&self, record: &LogRecord<'_>) {
        self.counters.accepted(1);
        let line: Value = serde_json::from_slice(record.line).unwrap();
        self.lines.lock().unwrap().push((
            line["message"].as_str().unwrap().to_owned(),
            record.tenant_id.map(str::to_owned),
        ));
        self.counters.written(1);
    }

    fn metrics(&self, batch: &MetricsBatch) {
        self.counters.accepted(batch.records().len() as u64);
        self.records
            .lock()
            .unwrap()
            .extend(batch.records().iter().cloned());
        self.counters.written(batch.records().len() as u64);
    }

    fn spans(&self, batch: &SpanBatch) {
        let mut spans = self.spans.lock().unwrap();
        for s in batch.spans() {
            spans.push(format!("{}<{}>", s.name, s.children.len()));
        }
    }

    fn stats(&self) -> ExporterStats {
        self.counters.snapshot()
    }
}

#[tokio::test]
async fn a_custom_exporter_gets_structured_records_beside_the_others() {
    let keep = Keep::default();
    let mem = MemoryExporter::new();
    let obs = shop().export_to(mem.clone()).export_to(keep.clone());
    let app = App::new()
        .observability(obs.clone())
        .get("/buy", |ctx: Context| async move {
            ctx.set_tenant("acme");
            ctx.logger().info("bought", &[]);
            ctx.metrics().counter("Orders").add(2.0);
            let outer = ctx.tracer().span("buy");
            drop(outer.child("charge"));
            "ok"
        })
        .build()
        .unwrap();
    invoke_with(
        &app,
        TestRequest::get("/buy").v2(),
        common::traced_lambda("r1"),
    )
    .await
    .unwrap();
    assert_eq!(
        *keep.lines.lock().unwrap(),
        vec![("bought".to_owned(), Some("acme".to_owned()))]
    );
    let records = keep.records.lock().unwrap().clone();
    assert_eq!(records.len(), 1);
    assert_eq!(&*records[0].namespace, "Lift/Test");
    let dims: Vec<(&str, &str)> = records[0]
        .dimensions
        .iter()
        .map(|(k, v)| (&**k, &**v))
        .collect();
    assert_eq!(dims, [("service", "shop"), ("tenant", "acme")]);
    assert_eq!(records[0].dimension("tenant"), Some("acme"));
    assert_eq!(records[0].metrics[0].name, "Orders");
    assert_eq!(records[0].metrics[0].value, MetricValue::Counter(2.0));
    // The spans as a tree, the parent first holding its child, under the handler's span.
    assert_eq!(
        *keep.spans.lock().unwrap(),
        vec!["## GET /buy<1>", "buy<1>", "charge<0>"]
    );
    // Both exporters got the same line, rendered once.
    assert_eq!(mem.logs().len(), 1);
    let stats = obs.stats();
    assert_eq!(stats.exporters.len(), 2);
    assert_eq!(stats.exporters[1].0, "keep");
    assert_eq!(
        (stats.exporters[1].1.accepted, stats.exporters[1].1.written),
        (2, 2)
    );
}

/// An exporter that panics on every call.
struct Panics;

impl Exporter for Panics {
    fn name(&self) -> &str {
        "panics"
    }
    fn accepts(&self, kind: RecordKind) -> bool {
        kind != RecordKind::Span
    }
    fn log(&self, _record: &LogRecord<'_>) {
        panic!("exporter bug");
    }
    fn metrics(&self, _batch: &MetricsBatch) {
        panic!("exporter bug");
    }
}

#[tokio::test]
async fn a_panicking_exporter_is_contained_and_counted() {
    let mem = MemoryExporter::new();
    let obs = shop().export_to(Panics).export_to(mem.clone());
    let app = App::new()
        .observability(obs.clone())
        .get("/", |ctx: Context| async move {
            ctx.logger().info("hi", &[]);
            ctx.metrics().counter("Hits").increment();
            "ok"
        })
        .build()
        .unwrap();
    for _ in 0..2 {
        let res = invoke_with(&app, TestRequest::get("/").v2(), common::traced_lambda("r"))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // The other exporter got everything; each panic (a line and a batch, twice) was counted.
    assert_eq!((mem.logs().len(), mem.metrics().len()), (2, 2));
    assert_eq!(obs.stats().exporter_panics, 4);
}

#[tokio::test]
async fn metrics_recorded_after_the_flush_are_counted_as_late() {
    let mem = MemoryExporter::new();
    let obs = shop().export_to(mem.clone());
    let app = App::new()
        .observability(obs.clone())
        .get("/", |ctx: Context| async move {
            let metrics = ctx.metrics();
            ctx.after_response(async move {
                // The invocation's flush ran first: this one is late.
                metrics.counter("Late").increment();
            });
            ctx.metrics().counter("OnTime").increment();
            "ok"
        })
        .build()
        .unwrap();
    invoke_with(&app, TestRequest::get("/").v2(), common::traced_lambda("r"))
        .await
        .unwrap();
    let docs = mem.metrics();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["OnTime"], 1.0);
    assert!(docs[0].get("Late").is_none());
    assert_eq!(obs.stats().late_records, 1);
}

#[tokio::test(start_paused = true)]
async fn after_response_tasks_that_panic_or_hang_are_contained() {
    let mem = MemoryExporter::new();
    let obs = shop().export_to(mem.clone());
    let app = App::new()
        .observability(obs.clone())
        .after_response_limit(Duration::from_millis(50))
        .get("/panic", |ctx: Context| async move {
            ctx.after_response(async { panic!("task bug") });
            "ok"
        })
        .get("/hang", |ctx: Context| async move {
            ctx.after_response(std::future::pending());
            "ok"
        })
        .get("/fine", |ctx: Context| async move {
            ctx.metrics().counter("Fine").increment();
            "fine"
        })
        .build()
        .unwrap();
    for path in ["/panic", "/hang", "/fine"] {
        let res = invoke_with(
            &app,
            TestRequest::get(path).v2(),
            common::traced_lambda("r"),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 200);
    }
    let stats = obs.stats();
    assert_eq!(
        (stats.after_response_panics, stats.after_response_timeouts),
        (1, 1)
    );
    let messages: Vec<Value> = mem.logs().iter().map(|l| l["message"].clone()).collect();
    assert_eq!(
        messages,
        vec![
            json!("after-response task panicked"),
            json!("after-response task cut off at its time limit")
        ]
    );
    assert_eq!(mem.logs()[0]["panic"], "task bug");
    assert_eq!(mem.metrics()[0]["Fine"], 1.0);
}

#[tokio::test]
async fn after_response_work_runs_when_the_invocation_failed() {
    let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mem = MemoryExporter::new();
    let seen = ran.clone();
    let app = App::new()
        .observability(shop().export_to(mem.clone()))
        .on_sqs(move |ctx: Context, _m: SqsMessage<Value>| {
            let seen = seen.clone();
            async move {
                ctx.metrics().counter("Tried").increment();
                ctx.after_response(async move {
                    seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                });
                Err::<(), _>(Error::internal("down"))
            }
        })
        .build()
        .unwrap();
    // Without partial batch responses a failed record fails the invocation.
    let err = invoke_with(&app, batch(), common::traced_lambda("r"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lift.BatchFailed");
    // Every record's task ran, and the metrics of the failed invocation were written.
    assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 4);
    let tried: f64 = mem
        .metrics()
        .iter()
        .map(|d| d["Tried"].as_f64().unwrap())
        .sum();
    assert_eq!(tried, 4.0);
}
