//! Every non-HTTP event source (SQS standard and FIFO, SNS, S3, EventBridge, schedules,
//! DynamoDB Streams, Kinesis, WebSocket) driven in-process with the committed fixtures in
//! `tests/fixtures/events/` (SAM-generated, `aws_lambda_events`' own, and edits of those): the
//! typed views handlers receive, the partial-batch responses Lambda reads, the invocation errors,
//! the failure and per-record log lines, app-wide middleware per record, and HTTP on the same
//! `App`.
//!
//! Tests marked `#[ignore = "BUG: ..."]` state the behaviour a production Lambda framework needs
//! and that Lift does not have yet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lift::events::{
    DynamoDbRecord, EventBridgeEvent, KinesisRecord, S3Record, Schedule, SnsMessage, SqsMessage,
    WebSocket,
};
use lift::extract::FromContext;
use lift::middleware::{Recover, RequestId, Timeout};
use lift::observability::{LogFormat, MemoryExporter, Observability};
use lift::prelude::*;
use lift::routing::BatchOptions;
use lift::testing::{invoke_with, lambda_context, TestRequest};
use lift::{AppService, InvokeError};
use serde::Deserialize;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Fixture ids
// ---------------------------------------------------------------------------------------------

/// `sqs-orders-mixed.json`: a good order, a negative amount, a body that is not JSON, a good
/// order (amount 0).
const MIXED: [&str; 4] = [
    "059f36b4-87a3-44ab-83d2-661975830a7d",
    "2e1424d4-f796-459a-8184-9c92662be6da",
    "5b3bd4a7-b2a1-4a3f-9d4e-6f7a8b9c0d1e",
    "8d0e3f1a-4c5b-4e6d-8f7a-9b0c1d2e3f4a",
];
const ORDERS_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:orders";

/// `sqs-fifo-groups.json`: groups g1, g1, g2, g1; the second message (g1) has a negative amount.
const FIFO: [&str; 4] = [
    "f1000000-0000-4000-8000-000000000001",
    "f1000000-0000-4000-8000-000000000002",
    "f1000000-0000-4000-8000-000000000003",
    "f1000000-0000-4000-8000-000000000004",
];

/// `dynamodb-mixed.json` / `dynamodb-sam.json` sequence numbers (the same in both).
const DDB_SEQ: [&str; 3] = [
    "4421584500000000017450439091",
    "4421584500000000017450439092",
    "4421584500000000017450439093",
];

/// `kinesis-mixed.json`: JSON, not JSON, JSON.
const KINESIS_SEQ: [&str; 3] = [
    "49590338271490256608559692538361571095921575989136588801",
    "49590338271490256608559692538361571095921575989136588802",
    "49590338271490256608559692538361571095921575989136588803",
];

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

fn event(name: &str) -> Vec<u8> {
    common::fixture(&format!("events/{name}"))
}

fn event_json(name: &str) -> Value {
    common::fixture_json(&format!("events/{name}"))
}

fn build(app: App, mem: &MemoryExporter) -> AppService {
    app.observability(
        Observability::new()
            .service("events-test")
            .namespace("Lift/Test")
            .log_format(LogFormat::Json)
            .export_to(mem.clone()),
    )
    .build()
    .unwrap()
}

/// Invoke with raw event bytes; the reply exactly as the runtime would post it.
async fn invoke_bytes(app: &AppService, bytes: Vec<u8>) -> Result<Value, InvokeError> {
    invoke_with(app, bytes, lambda_context())
        .await
        .map(|r| r.raw().clone())
}

/// Invoke with a fixture from `tests/fixtures/events/`.
async fn invoke(app: &AppService, name: &str) -> Result<Value, InvokeError> {
    invoke_bytes(app, event(name)).await
}

/// `{"batchItemFailures":[{"itemIdentifier": id}, ...]}`
fn failures(ids: &[&str]) -> Value {
    let items: Vec<Value> = ids.iter().map(|i| json!({ "itemIdentifier": i })).collect();
    json!({ "batchItemFailures": items })
}

/// The log lines with this message.
fn logged(mem: &MemoryExporter, message: &str) -> Vec<Value> {
    mem.logs()
        .into_iter()
        .filter(|l| l["message"] == message)
        .collect()
}

fn record_ids(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["record_id"].as_str().unwrap_or("<none>").to_owned())
        .collect()
}

/// What the handlers saw, in call order (shared through app state).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Value>>>);

impl Seen {
    fn push(ctx: &Context, v: Value) {
        ctx.state::<Seen>()
            .expect("Seen is in the app state")
            .0
            .lock()
            .unwrap()
            .push(v);
    }

    fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

#[derive(Deserialize)]
struct Order {
    id: String,
    amount: f64,
}

/// The `events` example's order handler: a negative amount fails the message.
async fn order(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
    Seen::push(&ctx, json!(msg.body.id));
    if msg.body.amount < 0.0 {
        return Err(Error::bad_request("order amount must not be negative"));
    }
    ctx.logger().info(
        "order accepted",
        &[
            ("order_id", msg.body.id.as_str().into()),
            ("amount", msg.body.amount.into()),
        ],
    );
    Ok(())
}

fn orders_app(seen: &Seen, options: BatchOptions) -> App {
    App::new()
        .state(seen.clone())
        .batch_options(options)
        .on_sqs(order)
}

fn partial() -> BatchOptions {
    BatchOptions::new().partial_batch_response(true)
}

/// An SQS batch of `n` good orders (ids `m0`..), built from `sqs-orders-ok.json`'s first record.
fn sqs_batch(n: usize, amount_of: impl Fn(usize) -> f64) -> Vec<u8> {
    let template = event_json("sqs-orders-ok.json")["Records"][0].clone();
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let mut r = template.clone();
            r["messageId"] = json!(format!("m{i}"));
            r["body"] = json!(json!({"id": format!("o-{i}"), "amount": amount_of(i)}).to_string());
            r
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

// ---------------------------------------------------------------------------------------------
// SQS
// ---------------------------------------------------------------------------------------------

async fn sqs_view(ctx: Context, m: SqsMessage<Value>) -> Result<(), Error> {
    Seen::push(
        &ctx,
        json!({
            "id": m.id,
            "body": m.body,
            "receive_count": m.receive_count,
            "sent_timestamp_ms": m.sent_timestamp_ms,
            "group_id": m.group_id,
            "queue_arn": m.queue_arn,
            "attributes": m.attributes,
            "message_attributes": m.message_attributes,
            "record_index": ctx.record().map(|r| r.index()),
            "record_id": ctx.record().map(|r| r.id()),
            "kind": ctx.event_kind().as_str(),
        }),
    );
    Ok(())
}

#[tokio::test]
async fn sqs_message_carries_the_fixture_values() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .batch_options(partial())
            .on_sqs(sqs_view),
        &mem,
    );
    let reply = invoke(&app, "sqs-orders-mixed.json").await.unwrap();
    // The third body is not JSON: `SqsMessage<Value>` holds it as a JSON string.
    assert_eq!(reply, failures(&[]));
    let seen = seen.all();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    let system = |count: &str| {
        json!({
            "ApproximateReceiveCount": count,
            "SentTimestamp": "1523232000000",
            "SenderId": "123456789012",
            "ApproximateFirstReceiveTimestamp": "1523232000001"
        })
    };
    assert_eq!(
        seen[0],
        json!({
            "id": MIXED[0],
            "body": {"id": "o-1", "amount": 12.5},
            "receive_count": 1,
            "sent_timestamp_ms": 1_523_232_000_000u64,
            "group_id": null,
            "queue_arn": ORDERS_ARN,
            "attributes": system("1"),
            // The binary attribute has no string value and is left out.
            "message_attributes": {"tenant": "acme"},
            "record_index": 0,
            "record_id": MIXED[0],
            "kind": "sqs",
        })
    );
    assert_eq!(seen[1]["id"], MIXED[1]);
    assert_eq!(seen[1]["body"], json!({"id": "o-2", "amount": -3}));
    assert_eq!(seen[1]["receive_count"], 3);
    assert_eq!(seen[1]["attributes"], system("3"));
    assert_eq!(seen[1]["message_attributes"], json!({}));
    assert_eq!(seen[1]["record_index"], 1);
    assert!(seen[2]["body"].is_string(), "{}", seen[2]);
    assert_eq!(seen[3]["id"], MIXED[3]);
    assert_eq!(seen[3]["record_index"], 3);
}

#[tokio::test]
async fn sqs_mixed_batch_reports_exactly_the_failed_message_ids() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, partial()), &mem);
    let reply = invoke(&app, "sqs-orders-mixed.json").await.unwrap();
    assert_eq!(reply, failures(&[MIXED[1], MIXED[2]]));
    // The exact bytes Lambda reads.
    assert_eq!(
        serde_json::to_string(&reply).unwrap(),
        format!(
            r#"{{"batchItemFailures":[{{"itemIdentifier":"{}"}},{{"itemIdentifier":"{}"}}]}}"#,
            MIXED[1], MIXED[2]
        )
    );
    // Every decodable message reached the handler, in order; the non-JSON one did not.
    assert_eq!(seen.all(), vec![json!("o-1"), json!("o-2"), json!("o-4")]);
}

#[tokio::test]
async fn sqs_all_succeeded_with_partial_responses_is_an_empty_failure_list() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, partial()), &mem);
    let reply = invoke(&app, "sqs-orders-ok.json").await.unwrap();
    assert_eq!(
        serde_json::to_string(&reply).unwrap(),
        r#"{"batchItemFailures":[]}"#
    );
    assert_eq!(seen.all(), vec![json!("o-10"), json!("o-11")]);
    assert!(logged(&mem, "record failed").is_empty());
}

#[tokio::test]
async fn sqs_all_succeeded_without_partial_responses_is_null() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, BatchOptions::new()), &mem);
    assert_eq!(
        invoke(&app, "sqs-orders-ok.json").await.unwrap(),
        Value::Null
    );
}

#[tokio::test]
async fn sqs_failure_without_partial_responses_fails_the_invocation() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, BatchOptions::new()), &mem);
    let err = invoke(&app, "sqs-orders-mixed.json").await.unwrap_err();
    assert_eq!(err.error_type, "Lift.BatchFailed", "{err}");
    assert!(
        err.message.contains(MIXED[1]) && err.message.contains(MIXED[2]),
        "the message names the failed records: {err}"
    );
    assert!(
        !err.message.contains(MIXED[0]) && !err.message.contains(MIXED[3]),
        "{err}"
    );
    // Every record was still run, and every failure logged.
    assert_eq!(seen.all(), vec![json!("o-1"), json!("o-2"), json!("o-4")]);
    assert_eq!(
        record_ids(&logged(&mem, "record failed")),
        vec![MIXED[1], MIXED[2]]
    );
}

#[tokio::test]
async fn every_failed_record_is_logged_with_its_record_id_and_error_code() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, partial()), &mem);
    let l = lambda_context();
    let request_id = l.request_id.clone();
    invoke_with(&app, event("sqs-orders-mixed.json"), l)
        .await
        .unwrap();
    let failed = logged(&mem, "record failed");
    assert_eq!(record_ids(&failed), vec![MIXED[1], MIXED[2]], "{failed:#?}");
    for line in &failed {
        assert_eq!(line["level"], "ERROR", "{line}");
        assert_eq!(line["code"], "bad_request", "{line}");
        assert_eq!(line["request_id"], request_id.as_str(), "{line}");
    }
    let negative = failed[0]["error"].as_str().unwrap();
    assert!(
        negative.contains("order amount must not be negative"),
        "{negative}"
    );
    let not_json = failed[1]["error"].as_str().unwrap();
    assert!(
        not_json.contains("message body does not match the expected type"),
        "{not_json}"
    );
}

#[tokio::test]
async fn per_record_log_lines_carry_the_record_id() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, partial()), &mem);
    let l = lambda_context();
    let request_id = l.request_id.clone();
    invoke_with(&app, event("sqs-orders-mixed.json"), l)
        .await
        .unwrap();
    let accepted = logged(&mem, "order accepted");
    assert_eq!(record_ids(&accepted), vec![MIXED[0], MIXED[3]]);
    assert_eq!(accepted[0]["order_id"], "o-1");
    assert_eq!(accepted[0]["amount"], 12.5);
    assert_eq!(accepted[1]["order_id"], "o-4");
    for line in &accepted {
        // All records share the invocation's request id.
        assert_eq!(line["request_id"], request_id.as_str(), "{line}");
        assert_eq!(line["service"], "events-test", "{line}");
    }
}

#[tokio::test]
async fn a_plain_text_body_is_a_string_for_an_untyped_message() {
    // SAM's default SQS event carries the body `Hello from SQS!`, which is not JSON: a body that
    // is not JSON is given to the handler's type as a string.
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .batch_options(partial())
            .on_sqs(sqs_view),
        &mem,
    );
    let reply = invoke(&app, "sqs-sam.json").await.unwrap();
    assert_eq!(reply, failures(&[]));
    assert_eq!(seen.all()[0]["body"], "Hello from SQS!");
}

#[tokio::test]
async fn a_plain_text_body_can_be_read_as_a_string() {
    async fn text(ctx: Context, m: SqsMessage<String>) -> Result<(), Error> {
        Seen::push(&ctx, json!(m.body));
        Ok(())
    }
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .batch_options(partial())
            .on_sqs(text),
        &mem,
    );
    let reply = invoke(&app, "sqs-sam.json").await.unwrap();
    assert_eq!(reply, failures(&[]));
    assert_eq!(seen.all(), vec![json!("Hello from SQS!")]);
}

#[tokio::test]
async fn a_failed_record_log_line_does_not_quote_the_payload() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, partial()), &mem);
    let mut batch: Value = serde_json::from_slice(&sqs_batch(1, |_| 1.0)).unwrap();
    batch["Records"][0]["body"] = json!(r#"{"id":"o-9","amount":"4111-1111-1111-1111"}"#);
    let reply = invoke_bytes(&app, serde_json::to_vec(&batch).unwrap())
        .await
        .unwrap();
    assert_eq!(reply, failures(&["m0"]));
    let failed = logged(&mem, "record failed");
    assert_eq!(failed.len(), 1);
    let text = failed[0].to_string();
    assert!(
        !text.contains("4111-1111-1111-1111"),
        "the log line quotes the message body: {text}"
    );
}

#[tokio::test]
async fn a_record_handler_error_of_any_status_fails_its_record() {
    async fn internal(_ctx: Context, m: SqsMessage<Order>) -> Result<(), Error> {
        if m.body.amount < 0.0 {
            return Err(Error::internal(std::io::Error::other("database down")));
        }
        Ok(())
    }
    let mem = MemoryExporter::new();
    let app = build(App::new().batch_options(partial()).on_sqs(internal), &mem);
    let reply = invoke(&app, "sqs-orders-mixed.json").await.unwrap();
    assert_eq!(reply, failures(&[MIXED[1], MIXED[2]]));
    let failed = logged(&mem, "record failed");
    assert_eq!(failed[0]["code"], "internal");
    // The internal cause is in the log (there is no client to hide it from).
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("database down"),
        "{}",
        failed[0]
    );
}

#[tokio::test]
async fn a_record_handler_answering_5xx_fails_its_record() {
    async fn status(_ctx: Context, m: SqsMessage<Order>) -> StatusCode {
        if m.body.amount < 0.0 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    }
    let mem = MemoryExporter::new();
    let app = build(App::new().batch_options(partial()).on_sqs(status), &mem);
    let reply = invoke(&app, "sqs-orders-mixed.json").await.unwrap();
    assert_eq!(reply, failures(&[MIXED[1], MIXED[2]]));
}

#[tokio::test]
async fn an_empty_batch_is_a_successful_no_op() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, partial()), &mem);
    let reply = invoke(&app, "sqs-empty.json").await.unwrap();
    assert!(
        reply.is_null() || reply == failures(&[]),
        "an empty batch has nothing to retry: {reply}"
    );
    assert!(seen.all().is_empty());
}

// ---------------------------------------------------------------------------------------------
// SQS FIFO
// ---------------------------------------------------------------------------------------------

async fn fifo_order(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
    Seen::push(
        &ctx,
        json!({"id": msg.body.id, "group": msg.group_id, "queue": msg.queue_arn}),
    );
    if msg.body.amount < 0.0 {
        return Err(Error::bad_request("order amount must not be negative"));
    }
    Ok(())
}

#[tokio::test]
async fn fifo_failure_reports_the_rest_of_its_group_and_runs_other_groups() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .batch_options(partial())
            .on_sqs(fifo_order),
        &mem,
    );
    let reply = invoke(&app, "sqs-fifo-groups.json").await.unwrap();
    // f-2 (g1) failed, so f-4 (g1, later) is not run and reported too; f-3 (g2) runs.
    assert_eq!(reply, failures(&[FIFO[1], FIFO[3]]));
    let arn = "arn:aws:sqs:us-east-1:123456789012:orders.fifo";
    assert_eq!(
        seen.all(),
        vec![
            json!({"id": "f-1", "group": "g1", "queue": arn}),
            json!({"id": "f-2", "group": "g1", "queue": arn}),
            json!({"id": "f-3", "group": "g2", "queue": arn}),
        ]
    );
    // Only the record that ran and failed is a `record failed` line; the skipped one is counted.
    assert_eq!(record_ids(&logged(&mem, "record failed")), vec![FIFO[1]]);
    let skipped = logged(
        &mem,
        "records not run after an earlier failure; they will be retried",
    );
    assert_eq!(skipped.len(), 1, "{:#?}", mem.logs());
    assert_eq!(skipped[0]["skipped"], 1);
}

#[tokio::test]
async fn fifo_failure_without_partial_responses_fails_the_invocation() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(App::new().state(seen.clone()).on_sqs(fifo_order), &mem);
    let err = invoke(&app, "sqs-fifo-groups.json").await.unwrap_err();
    assert_eq!(err.error_type, "Lift.BatchFailed", "{err}");
}

#[tokio::test]
async fn fifo_queues_run_in_order_whatever_the_concurrency_option() {
    #[derive(Clone, Default)]
    struct InFlight(Arc<AtomicUsize>, Arc<AtomicUsize>);
    async fn slow(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
        let f = ctx.state::<InFlight>().unwrap().clone();
        let now = f.0.fetch_add(1, Ordering::SeqCst) + 1;
        f.1.fetch_max(now, Ordering::SeqCst);
        Seen::push(&ctx, json!(msg.body.id));
        tokio::time::sleep(Duration::from_millis(20)).await;
        f.0.fetch_sub(1, Ordering::SeqCst);
        if msg.body.amount < 0.0 {
            return Err(Error::bad_request("negative"));
        }
        Ok(())
    }
    let seen = Seen::default();
    let in_flight = InFlight::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .state(in_flight.clone())
            .batch_options(partial().sqs_concurrency(4))
            .on_sqs(slow),
        &mem,
    );
    let reply = invoke(&app, "sqs-fifo-groups.json").await.unwrap();
    assert_eq!(reply, failures(&[FIFO[1], FIFO[3]]));
    assert_eq!(seen.all(), vec![json!("f-1"), json!("f-2"), json!("f-3")]);
    assert_eq!(
        in_flight.1.load(Ordering::SeqCst),
        1,
        "one message at a time"
    );
}

// ---------------------------------------------------------------------------------------------
// SQS concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sqs_concurrency_runs_messages_at_once_and_reports_failures_in_record_order() {
    #[derive(Clone)]
    struct Gate(Arc<tokio::sync::Barrier>);
    async fn gated(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
        // The three decodable messages wait for each other: this only passes if they run at once.
        ctx.state::<Gate>().unwrap().0.wait().await;
        // Later records finish first.
        let index = ctx.record().map(|r| r.index()).unwrap() as u64;
        tokio::time::sleep(Duration::from_millis(10 * (4 - index))).await;
        Seen::push(&ctx, json!(msg.body.id));
        if msg.body.amount < 0.0 {
            return Err(Error::bad_request("order amount must not be negative"));
        }
        Ok(())
    }
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .state(Gate(Arc::new(tokio::sync::Barrier::new(3))))
            .batch_options(partial().sqs_concurrency(4))
            .on_sqs(gated),
        &mem,
    );
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        invoke(&app, "sqs-orders-mixed.json"),
    )
    .await
    .expect("the messages did not run concurrently (the barrier never opened)")
    .unwrap();
    assert_eq!(reply, failures(&[MIXED[1], MIXED[2]]));
    // All processed (the later ones finish first, timers permitting: the order is not the
    // point). The undecodable third message fails at once, before the second fails; the
    // response still lists them in record order.
    let mut done: Vec<String> = seen
        .all()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    done.sort();
    assert_eq!(done, ["o-1", "o-2", "o-4"]);
    assert_eq!(
        record_ids(&logged(&mem, "record failed")),
        vec![MIXED[1], MIXED[2]]
    );
}

#[tokio::test]
async fn sqs_concurrency_is_a_bound() {
    #[derive(Clone, Default)]
    struct InFlight(Arc<AtomicUsize>, Arc<AtomicUsize>);
    async fn slow(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
        let f = ctx.state::<InFlight>().unwrap().clone();
        let now = f.0.fetch_add(1, Ordering::SeqCst) + 1;
        f.1.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        f.0.fetch_sub(1, Ordering::SeqCst);
        Seen::push(&ctx, json!(msg.body.id));
        if msg.body.amount < 0.0 {
            return Err(Error::bad_request("negative"));
        }
        Ok(())
    }
    let seen = Seen::default();
    let in_flight = InFlight::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .state(in_flight.clone())
            .batch_options(partial().sqs_concurrency(2))
            .on_sqs(slow),
        &mem,
    );
    let batch = sqs_batch(6, |i| if i == 1 || i == 4 { -1.0 } else { 1.0 });
    let reply = invoke_bytes(&app, batch).await.unwrap();
    assert_eq!(reply, failures(&["m1", "m4"]));
    assert_eq!(seen.all().len(), 6);
    assert_eq!(
        in_flight.1.load(Ordering::SeqCst),
        2,
        "at most (and up to) 2 at once"
    );
}

#[tokio::test]
async fn sqs_runs_one_message_at_a_time_by_default() {
    #[derive(Clone, Default)]
    struct InFlight(Arc<AtomicUsize>, Arc<AtomicUsize>);
    async fn slow(ctx: Context, _msg: SqsMessage<Order>) -> Result<(), Error> {
        let f = ctx.state::<InFlight>().unwrap().clone();
        let now = f.0.fetch_add(1, Ordering::SeqCst) + 1;
        f.1.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5)).await;
        f.0.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
    let in_flight = InFlight::default();
    let mem = MemoryExporter::new();
    let app = build(App::new().state(in_flight.clone()).on_sqs(slow), &mem);
    assert_eq!(
        invoke_bytes(&app, sqs_batch(4, |_| 1.0)).await.unwrap(),
        Value::Null
    );
    assert_eq!(in_flight.1.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------------
// Middleware, panics and timeouts per record
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn app_wide_middleware_runs_for_every_record_and_event() {
    #[derive(Clone, Default)]
    struct Calls(Arc<Mutex<Vec<String>>>);
    let calls = Calls::default();
    let counter = calls.clone();
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        orders_app(&seen, partial())
            .middleware(from_fn(move |ctx: Context, next: Next| {
                let calls = counter.clone();
                async move {
                    let what = format!(
                        "{}:{}",
                        ctx.event_kind().as_str(),
                        ctx.record()
                            .map(|r| r.id())
                            .or(ctx.route().template())
                            .unwrap_or("-")
                    );
                    calls.0.lock().unwrap().push(what);
                    next.run(ctx).await
                }
            }))
            .on_eventbridge("lift.example", "Ping", |_ctx: Context| async {
                Ok::<_, Error>(())
            })
            .get("/health", |_ctx: Context| async { "ok" }),
        &mem,
    );
    invoke(&app, "sqs-orders-mixed.json").await.unwrap();
    invoke(&app, "eventbridge-ping.json").await.unwrap();
    let health = invoke_with(&app, TestRequest::get("/health").v2(), lambda_context())
        .await
        .unwrap();
    assert_eq!(health.text(), "ok");
    let calls = calls.0.lock().unwrap().clone();
    assert_eq!(
        calls,
        vec![
            format!("sqs:{}", MIXED[0]),
            format!("sqs:{}", MIXED[1]),
            // The middleware runs even for the record whose body will not decode.
            format!("sqs:{}", MIXED[2]),
            format!("sqs:{}", MIXED[3]),
            "eventbridge:lift.example/Ping".to_owned(),
            "apigw-v2:/health".to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_panic_under_recover_fails_only_its_record() {
    async fn panicky(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
        if msg.body.amount < 0.0 {
            panic!("boom on {}", msg.body.id);
        }
        Seen::push(&ctx, json!(msg.body.id));
        Ok(())
    }
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .middleware(RequestId::new())
            .middleware(Recover::new())
            .state(seen.clone())
            .batch_options(partial())
            .on_sqs(panicky),
        &mem,
    );
    let reply = invoke(&app, "sqs-orders-mixed.json").await.unwrap();
    assert_eq!(reply, failures(&[MIXED[1], MIXED[2]]));
    assert_eq!(seen.all(), vec![json!("o-1"), json!("o-4")]);
    let panics = logged(&mem, "panic recovered");
    assert_eq!(record_ids(&panics), vec![MIXED[1]], "{panics:#?}");
    assert_eq!(panics[0]["panic"], "boom on o-2");
    let failed = logged(&mem, "record failed");
    assert_eq!(record_ids(&failed), vec![MIXED[1], MIXED[2]]);
    assert_eq!(failed[0]["code"], "internal");

    // The same app keeps serving.
    let reply = invoke(&app, "sqs-orders-ok.json").await.unwrap();
    assert_eq!(reply, failures(&[]));
}

#[tokio::test]
async fn a_panic_under_recover_with_concurrency_fails_only_its_record() {
    async fn panicky(_ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if msg.body.amount < 0.0 {
            panic!("boom");
        }
        Ok(())
    }
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .middleware(Recover::new())
            .batch_options(partial().sqs_concurrency(4))
            .on_sqs(panicky),
        &mem,
    );
    let reply = invoke(&app, "sqs-orders-mixed.json").await.unwrap();
    assert_eq!(reply, failures(&[MIXED[1], MIXED[2]]));
}

#[tokio::test]
async fn a_record_that_times_out_fails_alone() {
    async fn slow(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
        if msg.body.id == "o-2" {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Seen::push(&ctx, json!(msg.body.id));
        Ok(())
    }
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .middleware(Timeout::new(Duration::from_millis(100)))
            .state(seen.clone())
            .batch_options(partial())
            .on_sqs(slow),
        &mem,
    );
    let reply = invoke(&app, "sqs-orders-mixed.json").await.unwrap();
    assert_eq!(reply, failures(&[MIXED[1], MIXED[2]]));
    assert_eq!(seen.all(), vec![json!("o-1"), json!("o-4")]);
    let failed = logged(&mem, "record failed");
    assert_eq!(failed[0]["record_id"], MIXED[1]);
    assert_eq!(failed[0]["code"], "timeout");
}

// ---------------------------------------------------------------------------------------------
// SNS
// ---------------------------------------------------------------------------------------------

async fn sns_view(ctx: Context, n: SnsMessage<Value>) -> Result<(), Error> {
    Seen::push(
        &ctx,
        json!({
            "id": n.id,
            "topic_arn": n.topic_arn,
            "subject": n.subject,
            "message": n.message,
            "timestamp": n.timestamp,
            "attributes": n.attributes,
            "record_id": ctx.record().map(|r| r.id()),
        }),
    );
    if n.message["status"] == "lost" {
        return Err(Error::bad_request("lost order"));
    }
    Ok(())
}

fn sns_app(seen: &Seen) -> App {
    App::new()
        .state(seen.clone())
        .batch_options(partial())
        .on_sns(sns_view)
}

#[tokio::test]
async fn sns_message_carries_the_fixture_values() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(sns_app(&seen), &mem);
    // SNS has no partial batch response: success is `null` even with the option on.
    assert_eq!(invoke(&app, "sns-json.json").await.unwrap(), Value::Null);
    assert_eq!(
        seen.all(),
        vec![json!({
            "id": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "topic_arn": "arn:aws:sns:us-east-1:123456789012:order-events",
            "subject": "order shipped",
            "message": {"order_id": "o-1", "status": "shipped"},
            "timestamp": "1970-01-01T00:00:00.000Z",
            "attributes": {"Test": "TestString", "TestBinary": "TestBinary"},
            "record_id": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        })]
    );
}

#[tokio::test]
async fn sns_failure_fails_the_invocation_even_with_partial_responses_on() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(sns_app(&seen), &mem);
    let mut ev = event_json("sns-json.json");
    ev["Records"][0]["Sns"]["Message"] = json!(r#"{"order_id":"o-1","status":"lost"}"#);
    let err = invoke_bytes(&app, serde_json::to_vec(&ev).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lift.BatchFailed", "{err}");
    assert_eq!(
        record_ids(&logged(&mem, "record failed")),
        vec!["95df01b4-ee98-5cb9-9903-4c221d41eb5e"]
    );
}

// ---------------------------------------------------------------------------------------------
// S3
// ---------------------------------------------------------------------------------------------

async fn s3_view(ctx: Context, r: S3Record) -> Result<(), Error> {
    Seen::push(
        &ctx,
        json!({
            "event_name": r.event_name,
            "event_time": r.event_time,
            "region": r.region,
            "bucket": r.bucket,
            "key": r.key,
            "size": r.size,
            "etag": r.etag,
            "version_id": r.version_id,
            "created": r.is_created(),
            "removed": r.is_removed(),
            "record_id": ctx.record().map(|r| r.id()),
        }),
    );
    if r.key.ends_with(".pdf") && r.is_removed() {
        return Err(Error::conflict("invoices are never deleted"));
    }
    Ok(())
}

fn s3_app(seen: &Seen) -> App {
    App::new()
        .state(seen.clone())
        .batch_options(partial())
        .on_s3(s3_view)
}

#[tokio::test]
async fn s3_put_record_carries_the_fixture_values() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(s3_app(&seen), &mem);
    assert_eq!(invoke(&app, "s3-put-sam.json").await.unwrap(), Value::Null);
    assert_eq!(
        seen.all(),
        vec![json!({
            "event_name": "ObjectCreated:Put",
            "event_time": "1970-01-01T00:00:00.000Z",
            "region": "us-east-1",
            "bucket": "lift-uploads",
            "key": "invoices/2024/inv-001.pdf",
            "size": 1024,
            "etag": "0123456789abcdef0123456789abcdef",
            "version_id": null,
            "created": true,
            "removed": false,
            "record_id": "s3://lift-uploads/invoices/2024/inv-001.pdf",
        })]
    );
}

#[tokio::test]
async fn s3_key_is_url_decoded() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(s3_app(&seen), &mem);
    assert_eq!(
        invoke(&app, "s3-put-spaces.json").await.unwrap(),
        Value::Null
    );
    let seen = seen.all();
    // `+` is a space, `%2B` a literal plus, `%28`/`%29` parentheses, `%C3%A9` an é.
    let key = "reports/2024 Q1/summary+final (v2) é.csv";
    assert_eq!(seen[0]["key"], key);
    assert_eq!(seen[0]["size"], 2048);
    assert_eq!(seen[0]["etag"], "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(seen[0]["version_id"], "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd");
    assert_eq!(seen[0]["record_id"], format!("s3://lift-uploads/{key}"));
}

#[tokio::test]
async fn s3_delete_has_no_size_or_etag_and_a_failure_fails_the_invocation() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(s3_app(&seen), &mem);
    let err = invoke(&app, "s3-delete-sam.json").await.unwrap_err();
    // S3 has no partial batch response.
    assert_eq!(err.error_type, "Lift.BatchFailed", "{err}");
    assert_eq!(
        seen.all(),
        vec![json!({
            "event_name": "ObjectRemoved:Delete",
            "event_time": "1970-01-01T00:00:00.000Z",
            "region": "us-east-1",
            "bucket": "lift-uploads",
            "key": "invoices/2024/inv-001.pdf",
            "size": null,
            "etag": null,
            "version_id": null,
            "created": false,
            "removed": true,
            "record_id": "s3://lift-uploads/invoices/2024/inv-001.pdf",
        })]
    );
    let failed = logged(&mem, "record failed");
    assert_eq!(
        record_ids(&failed),
        vec!["s3://lift-uploads/invoices/2024/inv-001.pdf"]
    );
    assert_eq!(failed[0]["code"], "conflict");
}

// ---------------------------------------------------------------------------------------------
// EventBridge
// ---------------------------------------------------------------------------------------------

async fn bridge_view(ctx: Context, e: EventBridgeEvent<Value>) -> Result<(), Error> {
    Seen::push(
        &ctx,
        json!({
            "id": e.id,
            "source": e.source,
            "detail_type": e.detail_type,
            "time": e.time,
            "region": e.region,
            "account": e.account,
            "resources": e.resources,
            "detail": e.detail,
            "route": ctx.route().template(),
            "kind": ctx.event_kind().as_str(),
        }),
    );
    if e.detail["fail"] == true {
        return Err(Error::bad_request("asked to fail"));
    }
    ctx.logger().info("ping", &[("detail", (&e.detail).into())]);
    Ok(())
}

#[tokio::test]
async fn eventbridge_event_is_matched_by_source_and_detail_type() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .on_eventbridge("lift.example", "Ping", bridge_view),
        &mem,
    );
    assert_eq!(
        invoke(&app, "eventbridge-ping.json").await.unwrap(),
        Value::Null
    );
    assert_eq!(
        seen.all(),
        vec![json!({
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "source": "lift.example",
            "detail_type": "Ping",
            "time": "2024-05-01T12:00:00Z",
            "region": "us-east-1",
            "account": "123456789012",
            "resources": [],
            "detail": {"message": "hello", "count": 3},
            "route": "lift.example/Ping",
            "kind": "eventbridge",
        })]
    );
    let ping = logged(&mem, "ping");
    assert_eq!(ping.len(), 1);
    assert_eq!(ping[0]["detail"], json!({"message": "hello", "count": 3}));
}

#[tokio::test]
async fn eventbridge_detail_decodes_into_a_type() {
    #[derive(Deserialize)]
    struct Ping {
        message: String,
        count: u32,
    }
    async fn typed(ctx: Context, e: EventBridgeEvent<Ping>) -> Result<(), Error> {
        Seen::push(&ctx, json!([e.detail.message, e.detail.count]));
        Ok(())
    }
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .on_eventbridge("lift.example", "Ping", typed),
        &mem,
    );
    invoke(&app, "eventbridge-ping.json").await.unwrap();
    assert_eq!(seen.all(), vec![json!(["hello", 3])]);
}

#[tokio::test]
async fn eventbridge_unknown_detail_type_is_an_unsupported_event() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .on_eventbridge("lift.example", "Ping", bridge_view),
        &mem,
    );
    let err = invoke(&app, "eventbridge-unknown.json").await.unwrap_err();
    assert_eq!(err.error_type, "Lift.UnsupportedEvent", "{err}");
    assert_eq!(
        err.message, "no handler for this eventbridge event",
        "quotes nothing"
    );
    // Same detail-type, another source: not a match either.
    let err = invoke(&app, "example-eventbridge-event-obj.json")
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lift.UnsupportedEvent", "{err}");
    assert!(seen.all().is_empty());
}

#[tokio::test]
async fn eventbridge_fallback_takes_what_no_handler_matches() {
    async fn fallback(ctx: Context, e: EventBridgeEvent<Value>) -> Result<(), Error> {
        Seen::push(
            &ctx,
            json!({"fallback": [e.source, e.detail_type, e.detail]}),
        );
        Ok(())
    }
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .on_eventbridge("lift.example", "Ping", bridge_view)
            .eventbridge_fallback(fallback),
        &mem,
    );
    invoke(&app, "eventbridge-ping.json").await.unwrap();
    invoke(&app, "eventbridge-unknown.json").await.unwrap();
    invoke(&app, "example-eventbridge-event-obj.json")
        .await
        .unwrap();
    let seen = seen.all();
    assert_eq!(seen[0]["detail_type"], "Ping");
    assert_eq!(
        seen[1],
        json!({"fallback": ["lift.example", "Pong", {"message": "hello", "count": 3}]})
    );
    assert_eq!(
        seen[2],
        json!({"fallback": [
            "aws.ec2",
            "EC2 Instance State-change Notification",
            {"instance-id": "i-abcd1111", "state": "pending"}
        ]})
    );
}

#[tokio::test]
async fn eventbridge_handler_failure_fails_the_invocation_and_is_logged() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .on_eventbridge("lift.example", "Ping", bridge_view),
        &mem,
    );
    let mut ev = event_json("eventbridge-ping.json");
    ev["detail"]["fail"] = json!(true);
    let err = invoke_bytes(&app, serde_json::to_vec(&ev).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lift.HandlerFailed", "{err}");
    let failed = logged(&mem, "record failed");
    assert_eq!(record_ids(&failed), vec!["lift.example/Ping"]);
    assert_eq!(failed[0]["code"], "bad_request");
}

// ---------------------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------------------

fn schedules_app(seen: &Seen) -> App {
    async fn nightly(ctx: Context, s: Schedule) -> Result<(), Error> {
        Seen::push(
            &ctx,
            json!({"handler": "nightly", "name": s.name, "time": s.time, "id": s.id, "kind": ctx.event_kind().as_str()}),
        );
        ctx.logger()
            .info("nightly report", &[("schedule", s.name.as_str().into())]);
        Ok(())
    }
    async fn hourly(ctx: Context, s: Schedule) -> Result<(), Error> {
        Seen::push(
            &ctx,
            json!({"handler": "hourly", "name": s.name, "time": s.time, "id": s.id, "kind": ctx.event_kind().as_str()}),
        );
        Ok(())
    }
    App::new()
        .state(seen.clone())
        .on_schedule("nightly-report", nightly)
        .on_schedule("hourly-sync", hourly)
}

#[tokio::test]
async fn schedules_are_told_apart_by_rule_name() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(schedules_app(&seen), &mem);
    assert_eq!(
        invoke(&app, "schedule-nightly.json").await.unwrap(),
        Value::Null
    );
    assert_eq!(
        invoke(&app, "schedule-hourly.json").await.unwrap(),
        Value::Null
    );
    assert_eq!(
        seen.all(),
        vec![
            json!({
                "handler": "nightly",
                "name": "nightly-report",
                "time": "2024-05-01T02:00:00Z",
                "id": "9a8b7c6d-1111-4e2f-8a9b-0c1d2e3f4a5b",
                "kind": "schedule",
            }),
            json!({
                "handler": "hourly",
                "name": "hourly-sync",
                "time": "2024-05-01T13:00:00Z",
                "id": "9a8b7c6d-2222-4e2f-8a9b-0c1d2e3f4a5b",
                "kind": "schedule",
            }),
        ]
    );
    let lines = logged(&mem, "nightly report");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["schedule"], "nightly-report");
}

#[tokio::test]
async fn a_constant_input_names_its_schedule_once_the_app_accepts_them() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(schedules_app(&seen).constant_input_schedules(), &mem);
    assert_eq!(
        invoke(&app, "schedule-constant-input.json").await.unwrap(),
        Value::Null
    );
    assert_eq!(
        seen.all(),
        vec![
            json!({"handler": "hourly", "name": "hourly-sync", "time": null, "id": null, "kind": "schedule"})
        ]
    );
}

#[tokio::test]
async fn an_unknown_schedule_is_an_unsupported_event() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(schedules_app(&seen), &mem);
    for name in [
        "schedule-sam.json",                 // rule/ExampleRule
        "example-eventbridge-schedule.json", // rule/my-scheduled-rule
    ] {
        let err = invoke(&app, name).await.unwrap_err();
        assert_eq!(err.error_type, "Lift.UnsupportedEvent", "{name}: {err}");
    }
    let err = invoke(&app, "schedule-sam.json").await.unwrap_err();
    assert_eq!(
        err.message, "no handler for this schedule event",
        "quotes nothing"
    );
    assert!(seen.all().is_empty());
}

#[tokio::test]
async fn a_constant_input_is_refused_unless_the_app_accepts_them() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(schedules_app(&seen), &mem);
    // A direct invocation naming a schedule runs nothing by default.
    let err = invoke(&app, "schedule-constant-input.json")
        .await
        .unwrap_err();
    assert_eq!(
        (err.error_type, err.message.as_str()),
        (
            "Lift.UnsupportedEvent",
            "a schedule named by a constant input, which this app does not accept \
             (App::constant_input_schedules)"
        )
    );
    // Neither does a made-up EventBridge envelope from another source.
    let forged = serde_json::to_vec(&json!({
        "source": "my.app", "detail-type": "Scheduled Event", "id": "1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/hourly-sync"], "detail": {}
    }))
    .unwrap();
    let err = invoke_bytes(&app, forged).await.unwrap_err();
    assert_eq!(
        (err.error_type, err.message.as_str()),
        (
            "Lift.UnsupportedEvent",
            "no handler for this eventbridge event"
        )
    );
    // EventBridge Scheduler's events are schedules.
    let scheduler = serde_json::to_vec(&json!({
        "source": "aws.scheduler", "detail-type": "Scheduled Event", "id": "2",
        "time": "2024-05-01T13:00:00Z",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/hourly-sync"],
        "detail": "{}"
    }))
    .unwrap();
    assert_eq!(invoke_bytes(&app, scheduler).await.unwrap(), Value::Null);
    assert_eq!(
        seen.all(),
        vec![
            json!({"handler": "hourly", "name": "hourly-sync", "time": "2024-05-01T13:00:00Z", "id": "2", "kind": "schedule"})
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// DynamoDB Streams
// ---------------------------------------------------------------------------------------------

async fn ddb_view(ctx: Context, r: DynamoDbRecord) -> Result<(), Error> {
    Seen::push(
        &ctx,
        json!({
            "event_id": r.event_id,
            "event_name": r.event_name,
            "sequence_number": r.sequence_number,
            "keys": r.keys,
            "new_image": r.new_image,
            "old_image": r.old_image,
            "created_at": r.created_at,
            "stream_arn": r.stream_arn,
            "record_id": ctx.record().map(|r| r.id()),
        }),
    );
    if r.new_image.as_ref().map(|i| &i["Message"]["S"]) == Some(&json!("poison")) {
        return Err(Error::bad_request("poison item"));
    }
    Ok(())
}

fn ddb_app(seen: &Seen, options: BatchOptions) -> App {
    App::new()
        .state(seen.clone())
        .batch_options(options)
        .on_dynamodb(ddb_view)
}

#[tokio::test]
async fn dynamodb_records_carry_the_fixture_values() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(ddb_app(&seen, partial()), &mem);
    assert_eq!(
        invoke(&app, "dynamodb-sam.json").await.unwrap(),
        failures(&[])
    );
    let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2015-06-27T00:48:05.899";
    let seen = seen.all();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0],
        json!({
            "event_id": "c4ca4238a0b923820dcc509a6f75849b",
            "event_name": "INSERT",
            "sequence_number": DDB_SEQ[0],
            "keys": {"Id": {"N": "101"}},
            "new_image": {"Message": {"S": "New item!"}, "Id": {"N": "101"}},
            "old_image": null,
            "created_at": 1428537600.0,
            "stream_arn": arn,
            // Log lines name a stream record by its event id.
            "record_id": "c4ca4238a0b923820dcc509a6f75849b",
        })
    );
    assert_eq!(seen[1]["event_name"], "MODIFY");
    assert_eq!(
        seen[1]["old_image"],
        json!({"Message": {"S": "New item!"}, "Id": {"N": "101"}})
    );
    assert_eq!(seen[2]["event_name"], "REMOVE");
    assert_eq!(seen[2]["new_image"], Value::Null);
    assert_eq!(seen[2]["sequence_number"], DDB_SEQ[2]);
}

#[tokio::test]
async fn dynamodb_stops_at_the_first_failure_and_reports_its_sequence_number() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(ddb_app(&seen, partial()), &mem);
    let reply = invoke(&app, "dynamodb-mixed.json").await.unwrap();
    assert_eq!(reply, failures(&[DDB_SEQ[1]]));
    let keys: Vec<Value> = seen.all().iter().map(|r| r["keys"].clone()).collect();
    assert_eq!(
        keys,
        vec![json!({"Id": {"N": "101"}}), json!({"Id": {"N": "102"}})],
        "the record after the failure is not run"
    );
    assert_eq!(
        record_ids(&logged(&mem, "record failed")),
        vec!["c81e728d9d4c2f636f067f89cc14862c"]
    );
}

#[tokio::test]
async fn dynamodb_failure_without_partial_responses_fails_the_invocation() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(ddb_app(&seen, BatchOptions::new()), &mem);
    let err = invoke(&app, "dynamodb-mixed.json").await.unwrap_err();
    assert_eq!(err.error_type, "Lift.BatchFailed", "{err}");
    assert_eq!(seen.all().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Kinesis
// ---------------------------------------------------------------------------------------------

async fn kinesis_view(ctx: Context, r: KinesisRecord) -> Result<(), Error> {
    Seen::push(
        &ctx,
        json!({
            "event_id": r.event_id,
            "sequence_number": r.sequence_number,
            "partition_key": r.partition_key,
            "data": String::from_utf8_lossy(&r.data),
            "arrival_timestamp": r.arrival_timestamp,
            "stream_arn": r.stream_arn,
        }),
    );
    let event: Value = r.json()?;
    ctx.logger().info("click", &[("event", (&event).into())]);
    Ok(())
}

fn kinesis_app(seen: &Seen, options: BatchOptions) -> App {
    App::new()
        .state(seen.clone())
        .batch_options(options)
        .on_kinesis(kinesis_view)
}

#[tokio::test]
async fn kinesis_record_data_is_base64_decoded() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(kinesis_app(&seen, BatchOptions::new()), &mem);
    assert_eq!(invoke(&app, "kinesis-sam.json").await.unwrap(), Value::Null);
    let seq = "49545115243490985018280067714973144582180062593244200961";
    assert_eq!(
        seen.all(),
        vec![json!({
            "event_id": format!("shardId-000000000000:{seq}"),
            "sequence_number": seq,
            "partition_key": "user-1",
            "data": r#"{"event":"click","user":"u-1"}"#,
            "arrival_timestamp": 1428537600.0,
            "stream_arn": "arn:aws:kinesis:EXAMPLE",
        })]
    );
    let clicks = logged(&mem, "click");
    assert_eq!(clicks[0]["event"], json!({"event": "click", "user": "u-1"}));
    assert_eq!(
        clicks[0]["record_id"],
        format!("shardId-000000000000:{seq}")
    );
}

#[tokio::test]
async fn kinesis_stops_at_the_first_failure_and_reports_its_sequence_number() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(kinesis_app(&seen, partial()), &mem);
    let reply = invoke(&app, "kinesis-mixed.json").await.unwrap();
    assert_eq!(reply, failures(&[KINESIS_SEQ[1]]));
    let data: Vec<Value> = seen.all().iter().map(|r| r["data"].clone()).collect();
    assert_eq!(
        data,
        vec![
            json!(r#"{"event":"click","user":"u-1"}"#),
            json!("not json at all")
        ]
    );
    let failed = logged(&mem, "record failed");
    assert_eq!(
        record_ids(&failed),
        vec![format!("shardId-000000000000:{}", KINESIS_SEQ[1])]
    );
    assert_eq!(failed[0]["code"], "bad_request");
    assert_eq!(
        logged(
            &mem,
            "records not run after an earlier failure; they will be retried"
        )[0]["skipped"],
        1
    );

    // Without partial responses the whole batch is retried.
    let app = build(kinesis_app(&Seen::default(), BatchOptions::new()), &mem);
    let err = invoke(&app, "kinesis-mixed.json").await.unwrap_err();
    assert_eq!(err.error_type, "Lift.BatchFailed", "{err}");
}

// ---------------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------------

fn ws_app(seen: &Seen) -> App {
    async fn connect(ctx: Context, ws: WebSocket) -> Response {
        Seen::push(
            &ctx,
            json!({
                "handler": "connect",
                "connection_id": ws.connection_id,
                "route_key": ws.route_key,
                "event_type": ws.event_type,
                "domain_name": ws.domain_name,
                "stage": ws.stage,
                "kind": ctx.event_kind().as_str(),
                "route": ctx.route().template(),
            }),
        );
        Response::text("connected")
    }
    async fn disconnect(mut ctx: Context) -> StatusCode {
        // The connection can be extracted from the Context inside the handler too.
        let ws = WebSocket::from_context(&mut ctx)
            .await
            .expect("a WebSocket event");
        Seen::push(
            &ctx,
            json!({"handler": "disconnect", "connection_id": ws.connection_id, "event_type": ws.event_type}),
        );
        StatusCode::OK
    }
    async fn default(ctx: Context, ws: WebSocket) -> Result<String, Error> {
        let text = ctx.request().text()?.into_owned();
        Seen::push(
            &ctx,
            json!({"handler": "default", "route_key": ws.route_key, "text": text}),
        );
        if text.contains("fail") {
            return Err(Error::bad_request("cannot handle this message"));
        }
        Ok(text.to_uppercase())
    }
    App::new()
        .state(seen.clone())
        .on_websocket("$connect", connect)
        .on_websocket("$disconnect", disconnect)
        .on_websocket("$default", default)
}

#[tokio::test]
async fn websocket_connect_sees_the_connection_and_answers_in_the_integration_shape() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(ws_app(&seen), &mem);
    let reply = invoke(&app, "example-apigw-websocket-request.json")
        .await
        .unwrap();
    assert_eq!(
        reply,
        json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": "connected",
            "isBase64Encoded": false
        })
    );
    assert_eq!(
        seen.all(),
        vec![json!({
            "handler": "connect",
            "connection_id": "TWegAcC4EowCHnA=",
            "route_key": "$connect",
            "event_type": "CONNECT",
            "domain_name": "*.execute-api.eu-central-1.amazonaws.com",
            "stage": "testStage",
            "kind": "websocket",
            "route": "$connect",
        })]
    );
    // The other $connect fixture, with no httpMethod.
    invoke(&app, "example-apigw-websocket-request-without-method.json")
        .await
        .unwrap();
    assert_eq!(seen.all()[1]["connection_id"], "asdfasdf=");
    assert_eq!(seen.all()[1]["stage"], "dev");
}

#[tokio::test]
async fn websocket_disconnect_goes_to_its_own_handler() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(ws_app(&seen), &mem);
    let reply = invoke(
        &app,
        "example-apigw-websocket-request-disconnect-route.json",
    )
    .await
    .unwrap();
    assert_eq!(
        reply,
        json!({"statusCode": 200, "headers": {}, "body": "", "isBase64Encoded": false})
    );
    assert_eq!(
        seen.all(),
        vec![
            json!({"handler": "disconnect", "connection_id": "AAAA1234=", "event_type": "DISCONNECT"})
        ]
    );
}

#[tokio::test]
async fn websocket_custom_route_without_a_handler_goes_to_default() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(ws_app(&seen), &mem);
    let reply = invoke(&app, "websocket-message.json").await.unwrap();
    let body = r#"{"action":"sendmessage","text":"hi there"}"#;
    assert_eq!(
        reply,
        json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": body.to_uppercase(),
            "isBase64Encoded": false
        })
    );
    assert_eq!(
        seen.all(),
        vec![json!({"handler": "default", "route_key": "sendmessage", "text": body})]
    );
}

#[tokio::test]
async fn websocket_handler_error_is_the_json_error_body() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(ws_app(&seen), &mem);
    let mut ev = event_json("websocket-message.json");
    ev["body"] = json!("please fail");
    let l = lambda_context();
    let request_id = l.request_id.clone();
    let res = invoke_with(&app, serde_json::to_vec(&ev).unwrap(), l)
        .await
        .unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 400,
            "headers": {"content-type": "application/json"},
            "body": common::error_body("bad_request", "cannot handle this message", &request_id),
            "isBase64Encoded": false
        })
    );
}

#[tokio::test]
async fn websocket_route_without_handler_or_default_is_an_unsupported_event() {
    let mem = MemoryExporter::new();
    let app = build(
        App::new().on_websocket("$connect", |_ctx: Context| async { StatusCode::OK }),
        &mem,
    );
    let err = invoke(&app, "websocket-message.json").await.unwrap_err();
    assert_eq!(err.error_type, "Lift.UnsupportedEvent", "{err}");
}

#[tokio::test]
async fn websocket_message_body_is_read_with_ctx_json() {
    #[derive(Deserialize)]
    struct Message {
        action: String,
        text: String,
    }
    async fn message(ctx: Context, _ws: WebSocket) -> Result<String, Error> {
        let m: Message = ctx.request().json()?;
        Ok(format!("{}: {}", m.action, m.text))
    }
    let mem = MemoryExporter::new();
    let app = build(App::new().on_websocket("$default", message), &mem);
    let reply = invoke(&app, "websocket-message.json").await.unwrap();
    assert_eq!(reply["statusCode"], 200, "{reply}");
    assert_eq!(reply["body"], "sendmessage: hi there");
}

// ---------------------------------------------------------------------------------------------
// One App: events and HTTP together
// ---------------------------------------------------------------------------------------------

/// The `events` example's shape: SQS orders, a Ping, two schedules, S3, and `GET /health`.
fn example_like(seen: &Seen) -> App {
    async fn health(_ctx: Context) -> Json<Value> {
        Json(json!({ "status": "ok" }))
    }
    schedules_app(seen)
        .middleware(RequestId::new())
        .middleware(Recover::new())
        .batch_options(partial())
        .on_sqs(order)
        .on_eventbridge("lift.example", "Ping", bridge_view)
        .on_s3(s3_view)
        .get("/health", health)
}

#[tokio::test]
async fn http_health_is_served_by_the_same_app() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(example_like(&seen), &mem);
    for event in [
        TestRequest::get("/health").v2(),
        TestRequest::get("/health").function_url(),
        TestRequest::get("/health").v1(),
    ] {
        let res = invoke_with(&app, event, lambda_context()).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text(), r#"{"status":"ok"}"#);
    }
    // And the events, in between.
    assert_eq!(
        invoke(&app, "sqs-orders-mixed.json").await.unwrap(),
        failures(&[MIXED[1], MIXED[2]])
    );
    assert_eq!(
        invoke(&app, "schedule-nightly.json").await.unwrap(),
        Value::Null
    );
    assert_eq!(
        invoke(&app, "s3-put-spaces.json").await.unwrap(),
        Value::Null
    );
    let res = invoke_with(&app, TestRequest::get("/health").v2(), lambda_context())
        .await
        .unwrap();
    assert_eq!(res.text(), r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn a_source_without_a_handler_is_an_unsupported_event() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(example_like(&seen), &mem);
    for (name, kind) in [
        ("sns-json.json", "sns"),
        ("dynamodb-sam.json", "dynamodb"),
        ("kinesis-sam.json", "kinesis"),
        ("websocket-message.json", "websocket"),
    ] {
        let err = invoke(&app, name).await.unwrap_err();
        assert_eq!(
            err,
            InvokeError {
                error_type: "Lift.UnsupportedEvent",
                message: format!("no handler for events of kind {kind}"),
            },
            "{name}"
        );
    }
    assert!(seen.all().is_empty());
}

#[tokio::test]
async fn record_metrics_go_into_the_invocation_emf_document() {
    async fn metered(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
        if msg.body.amount < 0.0 {
            return Err(Error::bad_request("negative"));
        }
        ctx.metrics()
            .histogram("OrderAmount", lift::observability::Unit::None)
            .record(msg.body.amount);
        Ok(())
    }
    let mem = MemoryExporter::new();
    let app = build(App::new().batch_options(partial()).on_sqs(metered), &mem);
    invoke(&app, "sqs-orders-mixed.json").await.unwrap();
    let docs: Vec<Value> = mem
        .metrics()
        .into_iter()
        .filter(|d| d.get("OrderAmount").is_some())
        .collect();
    assert_eq!(docs.len(), 1, "one EMF document per invocation: {docs:#?}");
    let mut values: HashMap<String, u64> = HashMap::new();
    let v = &docs[0]["OrderAmount"];
    for (value, count) in v["Values"]
        .as_array()
        .unwrap()
        .iter()
        .zip(v["Counts"].as_array().unwrap())
    {
        values.insert(value.to_string(), count.as_u64().unwrap());
    }
    assert_eq!(
        values,
        HashMap::from([("12.5".to_owned(), 1), ("0.0".to_owned(), 1)]),
        "{v}"
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed records
// ---------------------------------------------------------------------------------------------

/// `sqs_batch(n)` with record `i` replaced by `f(record)`.
fn sqs_batch_with(n: usize, i: usize, f: impl Fn(&mut Value)) -> Vec<u8> {
    let mut batch: Value = serde_json::from_slice(&sqs_batch(n, |_| 1.0)).unwrap();
    f(&mut batch["Records"][i]);
    serde_json::to_vec(&batch).unwrap()
}

#[tokio::test]
async fn a_record_of_the_wrong_shape_fails_alone_under_its_id() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, partial()), &mem);
    // The body is a number, not the string SQS always sends.
    let batch = sqs_batch_with(4, 1, |r| r["body"] = json!(42));
    let reply = invoke_bytes(&app, batch).await.unwrap();
    assert_eq!(reply, failures(&["m1"]));
    assert_eq!(seen.all(), vec![json!("o-0"), json!("o-2"), json!("o-3")]);

    let failed = logged(&mem, "record failed");
    assert_eq!(record_ids(&failed), vec!["m1"]);
    assert_eq!(failed[0]["code"], "malformed_record");
    assert_eq!(
        failed[0]["error"],
        "400 malformed_record: record 1 does not have the shape of sqs records: \
         invalid type: integer `42`, expected a string at line 1 column 188"
    );
}

#[tokio::test]
async fn a_malformed_first_record_does_not_decide_the_kind() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, partial()), &mem);
    // No eventSource and no body: only its id is left to report it by.
    let batch = sqs_batch_with(3, 0, |r| *r = json!({"messageId": "m0", "body": ["x"]}));
    let reply = invoke_bytes(&app, batch).await.unwrap();
    assert_eq!(reply, failures(&["m0"]));
    assert_eq!(seen.all(), vec![json!("o-1"), json!("o-2")]);
}

#[tokio::test]
async fn a_malformed_record_without_a_readable_id_fails_the_invocation_with_a_bounded_message() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, partial()), &mem);
    let batch = sqs_batch_with(3, 2, |r| r["messageId"] = json!(7));
    let err = invoke_bytes(&app, batch).await.unwrap_err();
    assert_eq!(err.error_type, "Lift.BatchFailed");
    assert_eq!(
        err.message,
        "1 of 3 sqs records failed (0 not run, 1 without a readable id: the batch is retried whole)"
    );
    // The good records still ran; the malformed one is logged by its position.
    assert_eq!(seen.all(), vec![json!("o-0"), json!("o-1")]);
    assert_eq!(record_ids(&logged(&mem, "record failed")), vec!["record 2"]);
}

#[tokio::test]
async fn a_malformed_fifo_record_holds_back_the_rest_of_its_group_only() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        App::new()
            .state(seen.clone())
            .batch_options(partial())
            .on_sqs(fifo_order),
        &mem,
    );
    // Groups g1, g1, g2, g1; the first g1 message loses its body's string type.
    let mut batch = event_json("sqs-fifo-groups.json");
    batch["Records"][0]["body"] = json!({"id": "a"});
    let reply = invoke_bytes(&app, serde_json::to_vec(&batch).unwrap())
        .await
        .unwrap();
    assert_eq!(reply, failures(&[FIFO[0], FIFO[1], FIFO[3]]));
    assert_eq!(seen.all().len(), 1, "only the g2 message runs");
}

#[tokio::test]
async fn a_malformed_stream_record_stops_the_stream_at_its_sequence_number() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(kinesis_app(&seen, partial()), &mem);
    let mut batch = event_json("kinesis-sam.json");
    let good = batch["Records"][0].clone();
    let mut bad = good.clone();
    bad["kinesis"]["sequenceNumber"] = json!(KINESIS_SEQ[1]);
    bad["kinesis"]["data"] = json!(12);
    let mut last = good.clone();
    last["kinesis"]["sequenceNumber"] = json!(KINESIS_SEQ[2]);
    let mut first = good;
    first["kinesis"]["sequenceNumber"] = json!(KINESIS_SEQ[0]);
    batch["Records"] = json!([first, bad, last]);
    let reply = invoke_bytes(&app, serde_json::to_vec(&batch).unwrap())
        .await
        .unwrap();
    assert_eq!(reply, failures(&[KINESIS_SEQ[1]]));
    assert_eq!(
        seen.all().len(),
        1,
        "records after the malformed one are not run"
    );
}

#[tokio::test]
async fn records_naming_two_sources_are_no_kind_lift_handles() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, partial()), &mem);
    let batch = sqs_batch_with(2, 1, |r| r["eventSource"] = json!("aws:sns"));
    let err = invoke_bytes(&app, batch).await.unwrap_err();
    assert_eq!(err.error_type, "Lift.UnsupportedEvent");
    assert_eq!(err.message, "no handler for events of kind records");
    assert!(seen.all().is_empty());
}

#[tokio::test]
async fn batch_failure_messages_are_bounded_and_never_name_an_s3_key() {
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(orders_app(&seen, BatchOptions::new()), &mem);
    let err = invoke_bytes(&app, sqs_batch(9, |_| -1.0))
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "9 of 9 sqs records failed (0 not run): m0, m1, m2, m3, m4 and 4 more"
    );

    let app = build(s3_app(&seen), &mem);
    let err = invoke(&app, "s3-delete-sam.json").await.unwrap_err();
    assert_eq!(err.message, "1 of 1 s3 records failed (0 not run)");
}

#[tokio::test]
async fn a_schedule_without_its_own_handler_goes_to_the_eventbridge_fallback() {
    async fn fallback(ctx: Context, ev: EventBridgeEvent<Value>) -> Result<(), Error> {
        Seen::push(
            &ctx,
            json!({"handler": "fallback", "source": ev.source, "detail_type": ev.detail_type,
                   "kind": ctx.event_kind().as_str()}),
        );
        Ok(())
    }
    let seen = Seen::default();
    let mem = MemoryExporter::new();
    let app = build(
        schedules_app(&seen)
            .eventbridge_fallback(fallback)
            .constant_input_schedules(),
        &mem,
    );
    // SAM's scheduled event names the rule `ExampleRule`, which has no handler of its own.
    assert_eq!(
        invoke(&app, "schedule-sam.json").await.unwrap(),
        Value::Null
    );
    // A rule with its own handler still gets it.
    assert_eq!(
        invoke(&app, "schedule-nightly.json").await.unwrap(),
        Value::Null
    );
    // A constant input naming no known schedule is not an EventBridge event: no fallback.
    let unknown = serde_json::to_vec(&json!({"schedule": "weekly"})).unwrap();
    let err = invoke_bytes(&app, unknown).await.unwrap_err();
    assert_eq!(
        (err.error_type, err.message.as_str()),
        (
            "Lift.UnsupportedEvent",
            "no handler for this schedule event"
        )
    );
    let handlers: Vec<Value> = seen.all().iter().map(|s| s["handler"].clone()).collect();
    assert_eq!(handlers, [json!("fallback"), json!("nightly")]);
    assert_eq!(
        seen.all()[0],
        json!({"handler": "fallback", "source": "aws.events", "detail_type": "Scheduled Event",
               "kind": "schedule"})
    );
}
