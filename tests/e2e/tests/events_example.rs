//! The `events` example under the Lambda Runtime API (emulated by `cargo lambda watch`), invoked
//! with `cargo lambda invoke --data-file` for each event fixture in `tests/fixtures/events/`:
//! the exact replies (`batchItemFailures` ids for SQS, `null` for EventBridge, schedules and S3),
//! invocation errors for events it has no handler for, the log lines it prints on stdout, and
//! `GET /health` through the function URL, all served by the one binary.
//!
//! Attributing log lines to invocations: the example installs `RequestId`, so every log line of
//! an invocation carries the Runtime API's request id in `request_id`; the emulator logs the id
//! of every event it hands out (`Emulator::request_ids`), one per invocation, in order. The
//! function handles one invocation at a time and writes its log lines before posting the
//! response, so once a later invocation's line is on stdout, every line of the earlier ones is.

// Tests fail by panicking, with a message; that is what these are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_emf_document, now_ms, Emulator, Finished};
use serde_json::{json, Value};

const NAME: &str = "events";

/// `sqs-orders-mixed.json`: a good order, a negative amount, a body that is not JSON, a good one.
const MIXED: [&str; 4] = [
    "059f36b4-87a3-44ab-83d2-661975830a7d",
    "2e1424d4-f796-459a-8184-9c92662be6da",
    "5b3bd4a7-b2a1-4a3f-9d4e-6f7a8b9c0d1e",
    "8d0e3f1a-4c5b-4e6d-8f7a-9b0c1d2e3f4a",
];

/// `sqs-fifo-groups.json`: groups g1, g1, g2, g1; the second (g1) has a negative amount.
const FIFO: [&str; 4] = [
    "f1000000-0000-4000-8000-000000000001",
    "f1000000-0000-4000-8000-000000000002",
    "f1000000-0000-4000-8000-000000000003",
    "f1000000-0000-4000-8000-000000000004",
];

/// `{"batchItemFailures":[{"itemIdentifier": id}, ...]}`
fn failures(ids: &[&str]) -> Value {
    let items: Vec<Value> = ids.iter().map(|i| json!({ "itemIdentifier": i })).collect();
    json!({ "batchItemFailures": items })
}

/// The `events` function behind the emulator, and how many invocations it has had.
struct Function {
    emu: Emulator,
    invocations: usize,
}

impl Function {
    /// Starts it, warmed up with `GET /health` (it has no `GET /hello`).
    fn start() -> Function {
        let emu = Emulator::start_function_warmed_by(NAME, &[], &[], "events/health-v2.json");
        Function {
            emu,
            invocations: 1,
        }
    }

    /// The request id of the invocation just made (the `n`-th event the emulator handed out).
    fn last_request_id(&mut self) -> String {
        self.invocations += 1;
        let ids = self.emu.wait_for_request_ids(self.invocations);
        assert_eq!(
            ids.len(),
            self.invocations,
            "one event per invocation: {ids:?}"
        );
        ids[self.invocations - 1].clone()
    }

    /// `cargo lambda invoke` of a fixture that must succeed: its reply, and its request id.
    fn invoke(&mut self, fixture: &str) -> (Value, String) {
        let reply = self.emu.invoke_ok(&format!("events/{fixture}"));
        (reply, self.last_request_id())
    }

    /// A fixture the function must report as an invocation error: through the Invoke API (the
    /// exact error object, with a 500) and through `cargo lambda invoke` (which fails, naming the
    /// errorType).
    fn invoke_fails(&mut self, fixture: &str, error_type: &str, message: &str) {
        let payload = std::fs::read(common::fixture(&format!("events/{fixture}"))).unwrap();
        let resp = self.emu.invoke_raw(&payload);
        self.last_request_id();
        assert_eq!(resp.status, 500, "{fixture}: {resp:?}");
        let error = resp.json();
        assert_eq!(error["errorType"], error_type, "{fixture}: {error}");
        assert_eq!(error["errorMessage"], message, "{fixture}: {error}");

        let out = self.emu.invoke_file(&format!("events/{fixture}"));
        self.last_request_id();
        assert_invoke_fails(&out, fixture, error_type);
        self.emu.assert_running();
    }

    /// The log lines of invocation `request_id`, once one of them has `message`.
    fn logs_until(&mut self, request_id: &str, message: &str) -> Vec<Value> {
        let lines = self.emu.wait_for_function_stdout(
            &format!("a {message:?} line for invocation {request_id}"),
            |lines| {
                lines.iter().any(|l| {
                    serde_json::from_str::<Value>(l)
                        .is_ok_and(|v| v["request_id"] == request_id && v["message"] == message)
                })
            },
        );
        logs_of(&lines, request_id)
    }

    /// Every stdout line so far, parsed: the function prints only JSON under the Runtime API.
    fn stdout(&self) -> Vec<Value> {
        self.emu
            .function_stdout()
            .iter()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("a stdout line is not JSON ({e}): {l:?}"))
            })
            .collect()
    }
}

fn logs_of(lines: &[String], request_id: &str) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["request_id"] == request_id)
        .collect()
}

fn with_message<'a>(logs: &'a [Value], message: &str) -> Vec<&'a Value> {
    logs.iter().filter(|l| l["message"] == message).collect()
}

/// `cargo lambda invoke` failed and printed `Error: <errorType>` on stderr.
fn assert_invoke_fails(out: &Finished, what: &str, error_type: &str) {
    assert!(
        !out.status.success(),
        "invoking {what} should fail, but cargo lambda invoke succeeded:\n{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!("Error: {error_type}")),
        "cargo lambda invoke {what} did not report errorType {error_type}:\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// SQS
// ---------------------------------------------------------------------------------------------

#[test]
fn sqs_batches_report_exactly_the_messages_that_failed() {
    let started = now_ms();
    let mut f = Function::start();

    // A good order, a negative amount, a body that is not JSON, a good order.
    let (reply, mixed) = f.invoke("sqs-orders-mixed.json");
    assert_eq!(reply, failures(&[MIXED[1], MIXED[2]]));
    let logs = f.logs_until(&mixed, "order accepted");
    let accepted = with_message(&logs, "order accepted");
    assert_eq!(accepted.len(), 2, "{logs:#?}");
    assert_eq!(accepted[0]["record_id"], MIXED[0], "{}", accepted[0]);
    assert_eq!(accepted[0]["order_id"], "o-1", "{}", accepted[0]);
    assert_eq!(accepted[0]["amount"], 12.5, "{}", accepted[0]);
    assert_eq!(accepted[1]["record_id"], MIXED[3], "{}", accepted[1]);
    assert_eq!(accepted[1]["order_id"], "o-4", "{}", accepted[1]);
    let logs = f.logs_until(&mixed, "record failed");
    let failed = with_message(&logs, "record failed");
    let ids: Vec<&Value> = failed.iter().map(|l| &l["record_id"]).collect();
    assert_eq!(ids, [MIXED[1], MIXED[2]], "{failed:#?}");
    for line in &failed {
        assert_eq!(line["level"], "ERROR", "{line}");
        assert_eq!(line["code"], "bad_request", "{line}");
        assert_eq!(line["function_request_id"], mixed.as_str(), "{line}");
    }

    // All good: an empty failure list (partial batch responses are on in the example).
    let (reply, ok) = f.invoke("sqs-orders-ok.json");
    assert_eq!(reply, failures(&[]));
    let logs = f.logs_until(&ok, "order accepted");
    // The first invocation's EMF document is on stdout before this invocation's first line.
    let orders: Vec<&Value> = with_message(&logs, "order accepted");
    assert_eq!(orders[0]["order_id"], "o-10", "{logs:#?}");

    // FIFO: the second message of g1 fails; the later g1 message is reported too, g2 runs.
    let (reply, fifo) = f.invoke("sqs-fifo-groups.json");
    assert_eq!(reply, failures(&[FIFO[1], FIFO[3]]));
    let logs = f.logs_until(
        &fifo,
        "records not run after an earlier failure; they will be retried",
    );
    let accepted: Vec<&Value> = with_message(&logs, "order accepted")
        .into_iter()
        .map(|l| &l["order_id"])
        .collect();
    assert_eq!(accepted, ["f-1", "f-3"], "{logs:#?}");
    let failed: Vec<&Value> = with_message(&logs, "record failed")
        .into_iter()
        .map(|l| &l["record_id"])
        .collect();
    assert_eq!(failed, [FIFO[1]], "{logs:#?}");
    let skipped = with_message(
        &logs,
        "records not run after an earlier failure; they will be retried",
    );
    assert_eq!(skipped[0]["skipped"], 1, "{}", skipped[0]);

    // SAM's default SQS event: its body `Hello from SQS!` is not an order.
    let (reply, sam) = f.invoke("sqs-sam.json");
    assert_eq!(reply, failures(&["19dd0b57-b21e-4ac1-bd88-01bbb068cb78"]));
    let logs = f.logs_until(&sam, "record failed");
    assert_eq!(
        with_message(&logs, "record failed")[0]["record_id"],
        "19dd0b57-b21e-4ac1-bd88-01bbb068cb78"
    );

    // HTTP in the same binary, after the batches.
    let resp = f.emu.url("GET", "/health", &[], b"");
    f.last_request_id();
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.text(), r#"{"status":"ok"}"#);
    f.emu.assert_running();

    // The order amounts of a batch go into that invocation's one EMF document: the mixed batch
    // accepted 12.5 and 0, the next one 19.99 and 5.
    let finished = now_ms();
    let docs: Vec<Value> = f
        .stdout()
        .into_iter()
        .filter(|v| v.get("OrderAmount").is_some())
        .collect();
    let mut amounts: Vec<Vec<f64>> = docs
        .iter()
        .map(|d| {
            let mut v = assert_emf_document(d, started, finished).values("OrderAmount");
            v.sort_by(f64::total_cmp);
            v
        })
        .collect();
    amounts.truncate(2);
    assert_eq!(amounts, [vec![0.0, 12.5], vec![5.0, 19.99]], "{docs:#?}");
}

#[test]
fn each_order_carries_its_own_tenant_to_its_lines_and_metrics() {
    let started = now_ms();
    let mut f = Function::start();
    let (reply, rid) = f.invoke("sqs-orders-tenants.json");
    assert_eq!(reply, failures(&[]));
    let logs = f.logs_until(&rid, "order accepted");
    let accepted: Vec<(Value, Value)> = with_message(&logs, "order accepted")
        .into_iter()
        .map(|l| (l["order_id"].clone(), l["tenant_id"].clone()))
        .collect();
    assert_eq!(
        accepted,
        [
            (json!("t-1"), json!("acme")),
            (json!("t-2"), Value::Null),
            (json!("t-3"), json!("globex"))
        ],
        "{logs:#?}"
    );
    // One EMF document per tenant, each with that tenant's amounts only. The documents follow
    // the response: a later request makes sure they are out.
    f.emu.url("GET", "/health", &[], b"");
    f.last_request_id();
    let finished = now_ms();
    let mut per_tenant: Vec<(Value, Vec<f64>)> = f
        .stdout()
        .into_iter()
        .filter(|v| v.get("OrderAmount").is_some())
        .map(|d| {
            let values = assert_emf_document(&d, started, finished).values("OrderAmount");
            (d["tenant"].clone(), values)
        })
        .collect();
    per_tenant.sort_by_key(|(t, _)| t.to_string());
    assert_eq!(
        per_tenant,
        [
            (json!("acme"), vec![30.0]),
            (json!("globex"), vec![8.25]),
            (Value::Null, vec![4.5]),
        ]
    );
}

#[test]
fn an_empty_sqs_batch_succeeds() {
    let mut f = Function::start();
    let (reply, _) = f.invoke("sqs-empty.json");
    assert!(
        reply.is_null() || reply == failures(&[]),
        "an empty batch has nothing to retry: {reply}"
    );
}

// ---------------------------------------------------------------------------------------------
// EventBridge, schedules, S3, and the sources the example does not handle
// ---------------------------------------------------------------------------------------------

#[test]
fn eventbridge_schedules_and_s3_are_handled_and_logged() {
    let mut f = Function::start();

    // EventBridge `lift.example` / `Ping`: logs the detail.
    let (reply, ping) = f.invoke("eventbridge-ping.json");
    assert_eq!(reply, Value::Null);
    let logs = f.logs_until(&ping, "ping");
    let line = with_message(&logs, "ping")[0];
    assert_eq!(
        line["detail"],
        json!({"message": "hello", "count": 3}),
        "{line}"
    );
    assert_eq!(
        line["event_id"], "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "{line}"
    );
    assert_eq!(line["level"], "INFO", "{line}");

    // Another detail-type, or another source: no handler.
    f.invoke_fails(
        "eventbridge-unknown.json",
        "Lift.UnsupportedEvent",
        "no handler for this eventbridge event",
    );
    f.invoke_fails(
        "example-eventbridge-event-obj.json",
        "Lift.UnsupportedEvent",
        "no handler for this eventbridge event",
    );

    // The two schedules, each to its own handler. A constant input naming one is refused: the
    // example does not turn on App::constant_input_schedules.
    f.invoke_fails(
        "schedule-constant-input.json",
        "Lift.UnsupportedEvent",
        "a schedule named by a constant input, which this app does not accept \
         (App::constant_input_schedules)",
    );
    let (reply, nightly) = f.invoke("schedule-nightly.json");
    assert_eq!(reply, Value::Null);
    let logs = f.logs_until(&nightly, "nightly report");
    assert_eq!(
        with_message(&logs, "nightly report")[0]["schedule"],
        "nightly-report"
    );
    assert!(with_message(&logs, "hourly sync").is_empty(), "{logs:#?}");
    let (reply, hourly) = f.invoke("schedule-hourly.json");
    assert_eq!(reply, Value::Null);
    let logs = f.logs_until(&hourly, "hourly sync");
    assert_eq!(
        with_message(&logs, "hourly sync")[0]["schedule"],
        "hourly-sync"
    );
    assert!(
        with_message(&logs, "nightly report").is_empty(),
        "{logs:#?}"
    );
    // SAM's default scheduled event names the rule `ExampleRule`: no such schedule here.
    f.invoke_fails(
        "schedule-sam.json",
        "Lift.UnsupportedEvent",
        "no handler for this schedule event",
    );

    // S3: created objects are logged with bucket and decoded key.
    let (reply, put) = f.invoke("s3-put-sam.json");
    assert_eq!(reply, Value::Null);
    let logs = f.logs_until(&put, "object created");
    let line = with_message(&logs, "object created")[0];
    assert_eq!(line["bucket"], "lift-uploads", "{line}");
    assert_eq!(line["key"], "invoices/2024/inv-001.pdf", "{line}");
    assert_eq!(
        line["record_id"], "s3://lift-uploads/invoices/2024/inv-001.pdf",
        "{line}"
    );
    let (reply, spaces) = f.invoke("s3-put-spaces.json");
    assert_eq!(reply, Value::Null);
    let logs = f.logs_until(&spaces, "object created");
    assert_eq!(
        with_message(&logs, "object created")[0]["key"],
        "reports/2024 Q1/summary+final (v2) é.csv"
    );
    // A delete succeeds and logs nothing: the next invocation's line closes its output.
    let (reply, delete) = f.invoke("s3-delete-sam.json");
    assert_eq!(reply, Value::Null);
    let (_, after) = f.invoke("schedule-nightly.json");
    let lines = f
        .emu
        .wait_for_function_stdout("the nightly report after the delete", |lines| {
            lines.iter().any(|l| {
                serde_json::from_str::<Value>(l).is_ok_and(|v| {
                    v["request_id"] == after.as_str() && v["message"] == "nightly report"
                })
            })
        });
    assert_eq!(
        logs_of(&lines, &delete),
        Vec::<Value>::new(),
        "the delete logged something"
    );

    // Sources the example has no handler for.
    for (fixture, kind) in [
        ("sns-json.json", "sns"),
        ("dynamodb-sam.json", "dynamodb"),
        ("kinesis-sam.json", "kinesis"),
        ("websocket-message.json", "websocket"),
    ] {
        f.invoke_fails(
            fixture,
            "Lift.UnsupportedEvent",
            &format!("no handler for events of kind {kind}"),
        );
    }

    // Still serving HTTP.
    let resp = f.emu.url("GET", "/health", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json(), json!({"status": "ok"}));
    f.emu.assert_running();
}

#[test]
fn a_malformed_record_among_good_ones_fails_alone() {
    let mut f = Function::start();
    // `sqs-orders-mixed.json` with its good records kept and the third message's body turned
    // into a number: a record whose shape SQS never sends.
    let mut batch = common::fixture_json("events/sqs-orders-mixed.json");
    let records = batch["Records"].as_array_mut().unwrap();
    records.remove(1);
    records[1]["body"] = json!(42);
    let resp = f.emu.invoke_raw(&serde_json::to_vec(&batch).unwrap());
    let rid = f.last_request_id();
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json(), failures(&[MIXED[2]]));

    let logs = f.logs_until(&rid, "record failed");
    let failed = with_message(&logs, "record failed");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["record_id"], MIXED[2], "{}", failed[0]);
    assert_eq!(failed[0]["code"], "malformed_record", "{}", failed[0]);
    let error = failed[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with(
            "400 malformed_record: record 1 does not have the shape of sqs records: \
             invalid type: integer `42`, expected a string at line 1 column "
        ),
        "{error}"
    );
    let logs = f.logs_until(&rid, "order accepted");
    let accepted = with_message(&logs, "order accepted");
    let ids: Vec<&Value> = accepted.iter().map(|l| &l["record_id"]).collect();
    assert_eq!(ids, [MIXED[0], MIXED[3]], "{accepted:#?}");
    f.emu.assert_running();
}
