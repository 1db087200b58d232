//! Any bytes as a Lambda event, through the whole corridor: detection and parsing, routing, the
//! typed extractors of every source (their fields read, logged and counted as a real handler
//! would), middleware, the reply in the source's shape, and the telemetry flush.
//!
//! Two apps take turns (by input length): one with the default batch handling and no
//! middleware, one with partial batch responses, concurrent SQS messages and the default
//! middleware except `Recover` (which would hide a panic). Neither may panic; an invocation
//! gives a reply or an `InvokeError`; a reply serialises to JSON in its source's shape, with an
//! HTTP status in 100–599.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lift::extract::FromContext;
use lift::events::{
    DynamoDbRecord, EventBridgeEvent, KinesisRecord, S3Record, Schedule, SnsMessage, SqsMessage,
    WebSocket,
};
use lift::http::Json;
use lift::middleware::{AccessLog, ErrorHandler, RequestId, RequestMetrics, SecurityHeaders};
use lift::observability::{MemoryExporter, Observability};
use lift::routing::{BatchOptions, Route};
use lift::testing::lambda_context;
use lift::{App, AppService, Context, Error, Reply};
use serde_json::{json, Value};

/// A record whose payload asks for it (`{"fail": true}`) fails, so failure reporting runs too.
fn asks_to_fail(v: &Value) -> bool {
    v.get("fail").and_then(Value::as_bool) == Some(true)
}

async fn item(ctx: Context) -> Result<Json<Value>, Error> {
    let req = ctx.request();
    let body = req.text().map(|t| t.len()).unwrap_or(0);
    let cookies: Vec<(&str, &str)> = req.cookie_pairs().collect();
    let query: Vec<(&str, &str)> = req.query_pairs().collect();
    ctx.logger().info(
        "item",
        &[
            ("id", ctx.route().param("id").unwrap_or("").into()),
            ("ua", ctx.request().user_agent().unwrap_or("").into()),
            ("ip", ctx.request().source_ip().unwrap_or("").into()),
        ],
    );
    ctx.metrics().counter("Items").increment();
    Ok(Json(json!({
        "id": ctx.route().param("id"),
        "kind": ctx.event_kind().as_str(),
        "method": ctx.request().method().as_str(),
        "path": ctx.path(),
        "query": query,
        "cookies": cookies,
        "body_len": body,
        "stage": req.stage(),
        "authorizer": req.authorizer(),
    })))
}

async fn create(ctx: Context, Json(v): Json<Value>) -> Result<Json<Value>, Error> {
    if asks_to_fail(&v) {
        return Err(Error::bad_request("asked to fail"));
    }
    if let Some(t) = v.get("tenant").and_then(Value::as_str) {
        ctx.set_tenant(t);
    }
    Ok(Json(json!({ "created": v })))
}

async fn sqs(ctx: Context, m: SqsMessage<Value>) -> Result<(), Error> {
    if let Some(t) = m.message_attributes.get("tenant") {
        ctx.set_tenant(t.as_str());
    }
    ctx.logger().info(
        "sqs",
        &[
            ("id", m.id.as_str().into()),
            ("queue", m.queue_arn.as_str().into()),
            ("group", m.group_id.as_deref().unwrap_or("").into()),
            ("receive_count", m.receive_count.into()),
            ("sent", m.sent_timestamp_ms.unwrap_or(0).into()),
            ("attributes", m.attributes.len().into()),
        ],
    );
    ctx.metrics().counter("Messages").increment();
    if asks_to_fail(&m.body) {
        return Err(Error::bad_request("asked to fail"));
    }
    Ok(())
}

async fn sns(ctx: Context, n: SnsMessage<Value>) -> Result<(), Error> {
    ctx.logger().info(
        "sns",
        &[
            ("id", n.id.as_str().into()),
            ("topic", n.topic_arn.as_str().into()),
            ("subject", n.subject.as_deref().unwrap_or("").into()),
            ("timestamp", n.timestamp.as_str().into()),
            ("attributes", n.attributes.len().into()),
        ],
    );
    if asks_to_fail(&n.message) {
        return Err(Error::bad_request("asked to fail"));
    }
    Ok(())
}

async fn s3(ctx: Context, r: S3Record) -> Result<(), Error> {
    ctx.logger().info(
        "s3",
        &[
            ("event", r.event_name.as_str().into()),
            ("time", r.event_time.as_str().into()),
            ("region", r.region.as_str().into()),
            ("bucket", r.bucket.as_str().into()),
            ("key", r.key.as_str().into()),
            ("size", r.size.unwrap_or(0).into()),
            ("etag", r.etag.as_deref().unwrap_or("").into()),
            ("version", r.version_id.as_deref().unwrap_or("").into()),
            ("created", r.is_created().into()),
            ("removed", r.is_removed().into()),
        ],
    );
    Ok(())
}

async fn dynamodb(ctx: Context, r: DynamoDbRecord) -> Result<(), Error> {
    ctx.logger().info(
        "dynamodb",
        &[
            ("id", r.event_id.as_str().into()),
            ("name", r.event_name.as_str().into()),
            ("sequence", r.sequence_number.as_str().into()),
            ("keys", (&r.keys).into()),
            ("created_at", r.created_at.unwrap_or(0.0).into()),
            ("stream", r.stream_arn.as_str().into()),
        ],
    );
    if r.new_image.as_ref().is_some_and(asks_to_fail) {
        return Err(Error::bad_request("asked to fail"));
    }
    let _ = r.old_image;
    Ok(())
}

async fn kinesis(ctx: Context, r: KinesisRecord) -> Result<(), Error> {
    ctx.logger().info(
        "kinesis",
        &[
            ("id", r.event_id.as_str().into()),
            ("sequence", r.sequence_number.as_str().into()),
            ("partition", r.partition_key.as_str().into()),
            ("bytes", r.data.len().into()),
            ("arrival", r.arrival_timestamp.unwrap_or(0.0).into()),
            ("stream", r.stream_arn.as_str().into()),
        ],
    );
    match r.json::<Value>() {
        Ok(v) if asks_to_fail(&v) => Err(Error::bad_request("asked to fail")),
        _ => Ok(()),
    }
}

async fn bridge(ctx: Context, e: EventBridgeEvent<Value>) -> Result<(), Error> {
    ctx.logger().info(
        "eventbridge",
        &[
            ("id", e.id.as_str().into()),
            ("source", e.source.as_str().into()),
            ("detail_type", e.detail_type.as_str().into()),
            ("time", e.time.as_str().into()),
            ("region", e.region.as_str().into()),
            ("account", e.account.as_str().into()),
            ("resources", e.resources.len().into()),
            ("detail", (&e.detail).into()),
        ],
    );
    if asks_to_fail(&e.detail) {
        return Err(Error::bad_request("asked to fail"));
    }
    Ok(())
}

async fn schedule(ctx: Context, s: Schedule) -> Result<(), Error> {
    ctx.logger().info(
        "schedule",
        &[
            ("name", s.name.as_str().into()),
            ("time", s.time.as_deref().unwrap_or("").into()),
            ("id", s.id.as_deref().unwrap_or("").into()),
        ],
    );
    Ok(())
}

async fn websocket(mut ctx: Context, ws: WebSocket) -> Result<Json<Value>, Error> {
    let again = WebSocket::from_context(&mut ctx).await.ok();
    let body = ctx.request().text().map(|t| t.into_owned()).unwrap_or_default();
    Ok(Json(json!({
        "connection": ws.connection_id,
        "route": ws.route_key,
        "event_type": ws.event_type,
        "domain": ws.domain_name,
        "stage": ws.stage,
        "same": again.as_ref() == Some(&ws),
        "body_len": body.len(),
    })))
}

fn app(partial: bool, mem: &MemoryExporter) -> AppService {
    let obs = Observability::new()
        .service("fuzz")
        .namespace("Fuzz")
        .correlation_header("x-correlation-id")
        .export_to(mem.clone());
    let mut app = App::new().observability(obs);
    if partial {
        app = app
            .middleware(RequestId::new())
            .middleware(AccessLog::new())
            .middleware(RequestMetrics::new())
            .middleware(SecurityHeaders::default())
            .middleware(ErrorHandler::new())
            .batch_options(
                BatchOptions::new()
                    .partial_batch_response(true)
                    .sqs_concurrency(4),
            );
    }
    app.route("/items/{id}", Route::new().get(item).post(create))
        .get("/hello", item)
        .post("/users", create)
        .get("/{*rest}", item)
        .on_sqs(sqs)
        .on_sns(sns)
        .on_s3(s3)
        .on_dynamodb(dynamodb)
        .on_kinesis(kinesis)
        .on_eventbridge("lift.example", "Ping", bridge)
        .on_eventbridge("aws.ec2", "EC2 Instance State-change Notification", bridge)
        .eventbridge_fallback(bridge)
        .on_schedule("nightly-report", schedule)
        .on_schedule("hourly-sync", schedule)
        .on_websocket("$connect", websocket)
        .on_websocket("$disconnect", websocket)
        .on_websocket("$default", websocket)
        .on_websocket("sendmessage", websocket)
        .build()
        .expect("the app builds")
}

struct World {
    runtime: tokio::runtime::Runtime,
    apps: [AppService; 2],
    /// Captures the apps' logs and metrics; emptied after every run so memory stays flat.
    mem: MemoryExporter,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let mem = MemoryExporter::new();
        World {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("runtime"),
            apps: [app(false, &mem), app(true, &mem)],
            mem,
        }
    })
}

/// The reply as the runtime would post it must be JSON in its source's shape.
fn check_reply(reply: &Reply) {
    let bytes = serde_json::to_vec(reply).expect("the reply serialises");
    let v: Value = serde_json::from_slice(&bytes).expect("the reply is JSON");
    match reply {
        Reply::Http(r) => {
            let status = r.response().status().as_u16();
            assert!((100..=599).contains(&status), "status {status}");
            assert_eq!(v["statusCode"].as_u64(), Some(u64::from(status)), "{v}");
            assert!(v["body"].is_string(), "{v}");
            assert!(v["isBase64Encoded"].is_boolean(), "{v}");
            assert!(
                v.get("headers").is_some_and(Value::is_object)
                    || v.get("multiValueHeaders").is_some_and(Value::is_object),
                "{v}"
            );
        }
        Reply::Batch(_) => {
            let failures = v["batchItemFailures"]
                .as_array()
                .expect("batchItemFailures");
            for f in failures {
                assert!(f["itemIdentifier"].is_string(), "{v}");
            }
        }
        Reply::Empty => assert!(v.is_null(), "{v}"),
        // A reply kind added later: it must still serialise, as checked above.
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let app = &w.apps[data.len() % 2];
    let reply = w.runtime.block_on(async {
        app.invoke(data.to_vec().into(), lambda_context())
            .await
            .finish()
            .await
    });
    match &reply {
        Ok(r) => check_reply(r),
        Err(e) => {
            assert!(e.error_type.starts_with("Lift."), "{e}");
            assert!(!e.message.is_empty(), "{e}");
            // What the runtime posts for an invocation error.
            let posted = json!({ "errorType": e.error_type, "errorMessage": e.message });
            serde_json::to_vec(&posted).expect("the error serialises");
        }
    }
    let stats = app.observability().stats();
    assert_eq!(stats.exporter_panics, 0, "an exporter panicked");
    assert_eq!(
        stats.after_response_panics, 0,
        "after-response work panicked"
    );
    for doc in w.mem.metrics() {
        assert!(doc["_aws"]["CloudWatchMetrics"].is_array(), "{doc}");
    }
    w.mem.clear();
});
