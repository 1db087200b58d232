//! X-Ray from outside the exporter: a UDP socket on 127.0.0.1 stands where the daemon listens,
//! and the datagrams an app sends there are read back and checked field by field.

// Tests fail by panicking, with a message; that is what these are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::net::UdpSocket;
use std::time::Duration;

use lift::events::SqsMessage;
use lift::observability::xray::XRayExporter;
use lift::observability::{LogFormat, Observability, TracingBridge};
use lift::prelude::*;
use lift::testing::{invoke_with, TestRequest};
use lift::LambdaContext;
use serde_json::{json, Value};
use tracing::Instrument;
use tracing_subscriber::prelude::*;

const HEADER: &[u8] = b"{\"format\":\"json\",\"version\":1}\n";

/// Where the daemon would listen: a thread reads every datagram as it comes, as the daemon
/// does, so a burst does not overflow the socket's buffer.
struct Daemon {
    address: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl Daemon {
    fn start() -> Daemon {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = socket.local_addr().unwrap().to_string();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = received.clone();
        // Ends with the test process.
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 70 * 1024];
            while let Ok(n) = socket.recv(&mut buf) {
                sink.lock().unwrap().push(buf[..n].to_vec());
            }
        });
        Daemon { address, received }
    }

    fn address(&self) -> String {
        self.address.clone()
    }

    /// The datagrams received so far, once none has come for 200 ms, each checked to start
    /// with the daemon's header line and to fit in 64 KiB, as documents.
    fn documents(&self) -> Vec<Value> {
        let mut seen = usize::MAX;
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let n = self.received.lock().unwrap().len();
            if n == seen {
                break;
            }
            seen = n;
        }
        std::mem::take(&mut *self.received.lock().unwrap())
            .into_iter()
            .map(|d| {
                assert!(d.len() <= 64 * 1024, "a datagram of {} bytes", d.len());
                let body = d.strip_prefix(HEADER).expect("the daemon's header line");
                serde_json::from_slice(body).expect("one JSON document")
            })
            .collect()
    }
}

fn obs(daemon: &Daemon) -> Observability {
    Observability::new()
        .service("orders")
        .log_format(LogFormat::Json)
        .export_to(XRayExporter::with_address(&daemon.address()))
}

fn lambda_traced(id: &str, header: &str) -> LambdaContext {
    let mut l = common::lambda(id);
    l.xray_trace_id = Some(header.to_owned());
    l
}

/// The document's fields that carry no time, for exact comparison; times are checked apart.
fn timeless(mut doc: Value) -> Value {
    fn strip(v: &mut Value) {
        let o = v.as_object_mut().unwrap();
        let (s, e) = (o.remove("start_time"), o.remove("end_time"));
        let (s, e) = (s.unwrap().as_f64().unwrap(), e.unwrap().as_f64().unwrap());
        assert!(s > 1_700_000_000.0 && e >= s, "times {s} {e}");
        assert_eq!(o["id"].as_str().unwrap().len(), 16);
        if let Some(Value::Array(kids)) = o.get_mut("subsegments") {
            for k in kids {
                strip(k);
            }
        }
    }
    strip(&mut doc);
    doc
}

#[tokio::test]
async fn in_lambda_the_handler_is_one_subsegment_under_lambdas_segment() {
    let daemon = Daemon::start();
    let obs = obs(&daemon);
    let subscriber = tracing_subscriber::registry().with(TracingBridge::new(&obs));
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = App::new()
        .observability(obs)
        .get("/users/{id}", |ctx: Context| async move {
            ctx.set_tenant("acme");
            // `tracing` spans nest as they are opened, under the handler's span.
            async {
                async { tokio::task::yield_now().await }
                    .instrument(tracing::info_span!(
                        "cache",
                        annotation.hit = false,
                        shard = 3
                    ))
                    .await
            }
            .instrument(tracing::info_span!("fetch"))
            .await;
            let mut load = ctx.tracer().span("load user");
            load.metadata("table", "users");
            load.end();
            "ok"
        })
        .build()
        .unwrap();
    let req = common::caller_request("/users/7?token=secret-value");
    invoke_with(&app, req.v2(), common::traced_lambda("req-1"))
        .await
        .unwrap();
    let docs = daemon.documents();
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let doc = &docs[0];
    assert!(!doc.to_string().contains("secret-value"));
    let handler_id = doc["id"].clone();
    let fetch = &doc["subsegments"][0];
    let load_id = doc["subsegments"][1]["id"].clone();
    assert_eq!(
        timeless(doc.clone()),
        json!({
            "type": "subsegment",
            "trace_id": common::TRACE_ID,
            "parent_id": common::TRACE_PARENT,
            "name": "## GET /users/:id",
            "id": handler_id,
            "http": {
                "request": {
                    "method": "GET",
                    "url": "https://api.example.com/users/7",
                    "user_agent": "curl/8.0",
                    "client_ip": "198.51.100.4"
                },
                "response": {"status": 200}
            },
            "annotations": {
                "ColdStart": true, "Service": "orders", "route": "/users/{id}", "tenant_id": "acme"
            },
            "subsegments": [{
                "name": "fetch",
                "id": fetch["id"],
                "annotations": {"tenant_id": "acme"},
                "subsegments": [{
                    "name": "cache",
                    "id": fetch["subsegments"][0]["id"],
                    "annotations": {"hit": false, "tenant_id": "acme"},
                    "metadata": {"default": {"shard": 3}}
                }]
            }, {
                "name": "load user",
                "id": load_id,
                "annotations": {"tenant_id": "acme"},
                "metadata": {"default": {"table": "users"}}
            }]
        })
    );
}

#[tokio::test]
async fn the_status_sets_error_throttle_or_fault_and_the_error_is_captured_once() {
    let daemon = Daemon::start();
    let app = common::failing_routes(App::new().observability(obs(&daemon)))
        .build()
        .unwrap();
    let mut flags = HashMap::new();
    for path in ["/missing", "/busy", "/broken"] {
        invoke_with(
            &app,
            TestRequest::get(path).v2(),
            common::traced_lambda(path),
        )
        .await
        .unwrap();
        let docs = daemon.documents();
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert!(!d.to_string().contains("hunter2"), "{d}");
        flags.insert(
            path,
            (
                d["http"]["response"]["status"].clone(),
                d.get("error").cloned(),
                d.get("throttle").cloned(),
                d.get("fault").cloned(),
                d["cause"]["exceptions"]
                    .as_array()
                    .map(|e| e.iter().map(|x| x["message"].clone()).collect::<Vec<_>>()),
            ),
        );
    }
    let t = Some(json!(true));
    assert_eq!(
        flags["/missing"],
        (
            json!(404),
            t.clone(),
            None,
            None,
            Some(vec![json!("not_found")])
        )
    );
    assert_eq!(
        flags["/busy"],
        (json!(429), t.clone(), t.clone(), None, None)
    );
    assert_eq!(
        flags["/broken"],
        (json!(500), None, None, t, Some(vec![json!("internal")]))
    );
}

#[tokio::test]
async fn unsampled_or_disabled_sends_nothing() {
    let daemon = Daemon::start();
    let app = |obs: Observability| {
        App::new()
            .observability(obs)
            .get("/", |ctx: Context| async move {
                drop(ctx.tracer().span("work"));
                "ok"
            })
            .build()
            .unwrap()
    };
    let unsampled = common::TRACE_HEADER.replace("Sampled=1", "Sampled=0");
    invoke_with(
        &app(obs(&daemon)),
        TestRequest::get("/").v2(),
        lambda_traced("r1", &unsampled),
    )
    .await
    .unwrap();
    invoke_with(
        &app(obs(&daemon).tracing_enabled(false)),
        TestRequest::get("/").v2(),
        common::traced_lambda("r2"),
    )
    .await
    .unwrap();
    // A header that does not parse is ignored: in Lambda that means no trace.
    invoke_with(
        &app(obs(&daemon)),
        TestRequest::get("/").v2(),
        lambda_traced("r3", "Root=1-zz;Parent=1"),
    )
    .await
    .unwrap();
    assert_eq!(daemon.documents(), Vec::<Value>::new());
}

#[derive(serde::Deserialize)]
struct Order {
    tenant: String,
    fail: bool,
}

#[tokio::test]
async fn a_batch_is_one_subsegment_holding_one_per_record() {
    let daemon = Daemon::start();
    let app = App::new()
        .observability(obs(&daemon))
        .on_sqs(|ctx: Context, msg: SqsMessage<Order>| async move {
            ctx.set_tenant(msg.body.tenant);
            if msg.body.fail {
                return Err(Error::internal(std::io::Error::other("boom")));
            }
            Ok(())
        })
        .build()
        .unwrap();
    let template = common::fixture_json("events/sqs-orders-ok.json")["Records"][0].clone();
    let records: Vec<Value> = [("acme", false), ("globex", true)]
        .iter()
        .enumerate()
        .map(|(i, (tenant, fail))| {
            let mut r = template.clone();
            r["messageId"] = json!(format!("m{i}"));
            r["body"] = json!(json!({"tenant": tenant, "fail": fail}).to_string());
            r
        })
        .collect();
    let event = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    let failed = invoke_with(&app, event, common::traced_lambda("batch")).await;
    assert_eq!(failed.unwrap_err().error_type, "Lift.BatchFailed");
    let docs = daemon.documents();
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let d = &docs[0];
    assert_eq!(d["name"], "## sqs");
    assert_eq!(d["parent_id"], common::TRACE_PARENT);
    assert_eq!(d["annotations"]["ColdStart"], true);
    assert_eq!(
        d["metadata"]["default"],
        json!({"records": 2, "failed_records": 1})
    );
    let kids = d["subsegments"].as_array().unwrap();
    let summary: Vec<(Value, Value, Value)> = kids
        .iter()
        .map(|k| {
            (
                k["annotations"]["record_id"].clone(),
                k["annotations"]["tenant_id"].clone(),
                k.get("fault").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    let mut summary = summary;
    summary.sort_by_key(|s| s.0.to_string());
    assert_eq!(
        summary,
        vec![
            (json!("m0"), json!("acme"), Value::Null),
            (json!("m1"), json!("globex"), json!(true)),
        ]
    );
    assert!(kids.iter().all(|k| k["name"] == "sqs record"));
}

#[tokio::test]
async fn outside_lambda_a_segment_continues_the_callers_trace() {
    let daemon = Daemon::start();
    let app = App::new()
        .observability(obs(&daemon))
        .get("/", |_ctx: Context| async { "ok" })
        .build()
        .unwrap();
    let req = TestRequest::get("/").header(
        "X-Amzn-Trace-Id",
        "Root=1-6b0fc34b-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1",
    );
    invoke_with(&app, req.v2(), common::lambda("local"))
        .await
        .unwrap();
    let docs = daemon.documents();
    assert_eq!(docs.len(), 2, "{docs:#?}");
    let (segment, handler) = (&docs[0], &docs[1]);
    assert_eq!(segment["name"], "orders");
    assert_eq!(segment["trace_id"], "1-6b0fc34b-0123456789abcdef01234567");
    assert_eq!(segment["parent_id"], "1111111111111111");
    assert!(segment.get("type").is_none());
    assert_eq!(handler["type"], "subsegment");
    assert_eq!(handler["parent_id"], segment["id"]);
    assert_eq!(handler["name"], "## GET /");

    // Without a header, a trace of its own.
    invoke_with(&app, TestRequest::get("/").v2(), common::lambda("local-2"))
        .await
        .unwrap();
    let docs = daemon.documents();
    assert_eq!(docs.len(), 2);
    assert!(docs[0].get("parent_id").is_none());
    assert_eq!(docs[0]["trace_id"].as_str().unwrap().len(), 35);
    assert_eq!(docs[1]["trace_id"], docs[0]["trace_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_invocations_send_separate_correctly_parented_trees() {
    let daemon = Daemon::start();
    let app = App::new()
        .observability(obs(&daemon))
        .get("/t/{tenant}", |ctx: Context| async move {
            let tenant = ctx.route().param("tenant").unwrap().to_owned();
            ctx.set_tenant(tenant.clone());
            let mut s = ctx.tracer().span("work");
            tokio::time::sleep(Duration::from_millis(2)).await;
            s.annotate("marker", tenant);
            "ok"
        })
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16u32 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let header = format!(
                "Root=1-6b0fc34b-{i:024x};Parent={:016x};Sampled=1",
                0xa000 + i
            );
            invoke_with(
                &app,
                TestRequest::get(&format!("/t/t{i}")).v2(),
                lambda_traced(&format!("r{i}"), &header),
            )
            .await
            .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let docs = daemon.documents();
    assert_eq!(docs.len(), 16);
    for d in &docs {
        let tenant = d["annotations"]["tenant_id"].as_str().unwrap();
        let i: u32 = tenant[1..].parse().unwrap();
        assert_eq!(d["trace_id"], format!("1-6b0fc34b-{i:024x}"));
        assert_eq!(d["parent_id"], format!("{:016x}", 0xa000 + i));
        let work = &d["subsegments"][0];
        assert_eq!(work["annotations"]["marker"], tenant);
        assert_eq!(work["annotations"]["tenant_id"], tenant);
    }
}

#[tokio::test]
async fn a_large_trace_is_split_into_documents_that_fit() {
    let daemon = Daemon::start();
    let xray = XRayExporter::with_address(&daemon.address());
    let app = App::new()
        .observability(Observability::new().export_to(xray.clone()))
        .get("/", |ctx: Context| async move {
            for i in 0..40 {
                let mut s = ctx.tracer().span("step");
                s.metadata("blob", "x".repeat(3_000));
                s.annotate("i", i);
            }
            "ok"
        })
        .build()
        .unwrap();
    invoke_with(
        &app,
        TestRequest::get("/").v2(),
        common::traced_lambda("big"),
    )
    .await
    .unwrap();
    let docs = daemon.documents();
    assert_eq!(docs.len(), 41);
    let handler = &docs[0];
    assert!(handler.get("subsegments").is_none());
    let mut seen: Vec<i64> = docs[1..]
        .iter()
        .map(|d| {
            assert_eq!(d["type"], "subsegment");
            assert_eq!(d["trace_id"], common::TRACE_ID);
            assert_eq!(d["parent_id"], handler["id"]);
            d["annotations"]["i"].as_i64().unwrap()
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..40).collect::<Vec<_>>());
    let stats = xray.stats_detail();
    assert_eq!(stats.exporter.accepted, 41);
    assert_eq!(stats.exporter.written, 41);
    assert_eq!(stats.datagrams, 41);
}

#[tokio::test]
async fn a_panic_is_one_fault_with_one_exception_and_no_panic_text() {
    let daemon = Daemon::start();
    let app = App::new()
        .observability(obs(&daemon))
        .middleware(lift::middleware::Recover)
        .get("/panic", |ctx: Context| async move {
            let _inner = ctx.tracer().span("inner");
            if ctx.path() == "/panic" {
                panic!("card 4111-1111-1111-1111 declined");
            }
            "unreachable"
        })
        .build()
        .unwrap();
    let res = invoke_with(
        &app,
        TestRequest::get("/panic").v2(),
        common::traced_lambda("p"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 500);
    let docs = daemon.documents();
    assert_eq!(docs.len(), 1);
    let text = docs[0].to_string();
    assert!(!text.contains("4111"), "{text}");
    // Captured once: on the handler's subsegment, not on the span the panic unwound through.
    assert_eq!(docs[0]["fault"], true);
    assert_eq!(
        docs[0]["cause"]["exceptions"].as_array().unwrap().len(),
        1,
        "{text}"
    );
    assert_eq!(docs[0]["cause"]["exceptions"][0]["message"], "internal");
    let inner = &docs[0]["subsegments"][0];
    assert_eq!(inner["name"], "inner");
    assert!(
        inner.get("cause").is_none() && inner.get("fault").is_none(),
        "{inner}"
    );
}
