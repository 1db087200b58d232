//! The lifecycle from outside, as a user runs it: the `lifecycle` test function
//! (src/bin/lifecycle.rs) under the cargo-lambda Runtime API emulator, in sequential mode and
//! with `AWS_LAMBDA_MAX_CONCURRENCY=4`.
//!
//! - An after-response task that panics, and one that hangs past the after-response limit,
//!   each cost one log line and nothing else: the next invocations are answered and flush their
//!   metrics, and the process keeps running.
//! - SIGTERM: the process-level metric an after-response task buffered is written as EMF by the
//!   shutdown flush, and the process exits with status 0. The shutdown extension that makes
//!   Lambda send SIGTERM is registered with the emulator's Extensions API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::thread;
use std::time::Duration;

use common::{assert_emf_document, now_ms, Emf, Emulator, LambdaHttp};
use serde_json::Value;

/// The test function's binary and Lambda function name.
const FUNCTION: &str = "lifecycle";

/// What its panicking after-response task panics with.
const PANIC_MESSAGE: &str = "lifecycle: the after-response task panics on purpose";

/// How long the function may take to exit after SIGTERM: a liveness bound (Lift's own bound is
/// 300 ms), not a performance assertion.
const EXIT_LIMIT: Duration = Duration::from_secs(5);

/// The function's environment in each mode: sequential (none) and concurrent.
const SEQUENTIAL: &[(&str, &str)] = &[];
const CONCURRENT: &[(&str, &str)] = &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")];

/// `hello-v2.json` retargeted at `GET <path>` (query string `query`, may be empty).
fn event(path: &str, query: &str) -> Vec<u8> {
    let mut e = common::fixture_json("hello-v2.json");
    e["rawPath"] = Value::from(path);
    e["requestContext"]["http"]["path"] = Value::from(path);
    e["rawQueryString"] = Value::from(query);
    let params: serde_json::Map<String, Value> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), Value::from(v)))
        .collect();
    if params.is_empty() {
        e.as_object_mut().unwrap().remove("queryStringParameters");
    } else {
        e["queryStringParameters"] = Value::Object(params);
    }
    serde_json::to_vec(&e).unwrap()
}

/// Invokes `GET <path>?<query>` through the emulator's Invoke API on `port` and returns the
/// function's HTTP response.
fn get(port: u16, path: &str, query: &str) -> LambdaHttp {
    let target = format!("/2015-03-31/functions/{FUNCTION}/invocations");
    let headers = [("Content-Type", "application/json")];
    let resp = common::http(port, "POST", &target, &headers, &event(path, query));
    assert_eq!(resp.status, 200, "Invoke API status for {path}: {resp:?}");
    LambdaHttp::parse(&resp.json())
}

/// Asserts `GET <path>?<query>` answers 200 with exactly `body`.
fn assert_get(port: u16, path: &str, query: &str, body: &str) {
    let resp = get(port, path, query);
    assert_eq!(resp.status, 200, "GET {path}?{query}: {resp:?}");
    assert_eq!(resp.body, body, "GET {path}?{query}: {resp:?}");
}

/// The stdout lines that are JSON objects.
fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(Value::is_object)
        .collect()
}

/// The EMF documents among the stdout lines (those with `_aws`), validated: written between
/// `earliest_ms` and now.
fn emf_documents(lines: &[String], earliest_ms: u64) -> Vec<Emf> {
    let latest_ms = now_ms();
    json_lines(lines)
        .iter()
        .filter(|v| v.get("_aws").is_some())
        .map(|v| assert_emf_document(v, earliest_ms, latest_ms))
        .collect()
}

/// The log lines (JSON lines without `_aws`) whose `message` is `message`.
fn log_lines(lines: &[String], message: &str) -> Vec<Value> {
    json_lines(lines)
        .into_iter()
        .filter(|v| v.get("_aws").is_none() && v["message"] == message)
        .collect()
}

/// The documents that define metric `name`.
fn documents_with<'a>(docs: &'a [Emf], name: &str) -> Vec<&'a Emf> {
    docs.iter()
        .filter(|d| d.metric_names().contains(&name))
        .collect()
}

/// Asserts `doc` is the test function's document for the one counter `name` and returns its
/// value: namespace `LiftE2E`, the dimension set `[service]` (`lifecycle`), one metric.
fn counter_value(doc: &Emf, name: &str) -> f64 {
    let d = doc.directive();
    assert_eq!(d.namespace, "LiftE2E", "namespace in {}", doc.raw);
    assert_eq!(
        d.dimensions,
        vec![vec!["service".to_owned()]],
        "{}",
        doc.raw
    );
    assert_eq!(doc.raw["service"], "lifecycle", "service in {}", doc.raw);
    let names: Vec<(&str, Option<&str>)> = d
        .metrics
        .iter()
        .map(|m| (m.name.as_str(), m.unit.as_deref()))
        .collect();
    assert_eq!(names, vec![(name, Some("Count"))], "metrics in {}", doc.raw);
    let values = doc.values(name);
    assert_eq!(values.len(), 1, "one value of {name} in {}", doc.raw);
    values[0]
}

/// Asserts the documents hold exactly one `Started` document, with the value 1: the process
/// metric the function records before `run()`, written by the first invocation's flush.
fn assert_started_once(docs: &[Emf]) {
    let started = documents_with(docs, "Started");
    assert_eq!(started.len(), 1, "one Started document in {docs:#?}");
    assert_eq!(counter_value(started[0], "Started"), 1.0);
}

/// Asserts the emulator's Extensions API saw exactly one registration (Lift's no-op shutdown
/// extension, which subscribes to no events) and the function did not warn that it failed.
fn assert_shutdown_extension_registered(emu: &Emulator) {
    let registrations: Vec<String> = emu
        .emulator_stdout()
        .into_iter()
        .filter(|l| l.contains("registering extension"))
        .collect();
    assert_eq!(
        registrations.len(),
        1,
        "{registrations:?}\n{}",
        emu.output()
    );
    assert!(
        registrations[0].contains("EventsRequest { events: [] }"),
        "the shutdown extension subscribes to no events: {registrations:?}"
    );
    let warned = emu
        .function_stderr()
        .iter()
        .any(|l| l.contains("could not register the shutdown extension"));
    assert!(!warned, "{}", emu.output());
}

/// A panicking and a hanging after-response task, then more invocations at once (queued in
/// sequential mode, served side by side in concurrent mode).
fn failed_after_response_tasks_leave_the_function_serving(env: &[(&str, &str)]) {
    let earliest_ms = now_ms();
    let mut emu = Emulator::start_function(FUNCTION, env);
    let port = emu.port();

    assert_get(port, "/panic", "", "panic scheduled");
    assert_get(port, "/hang", "", "hang scheduled");
    // Served by the next polls: in sequential mode once the hanging task has been cut off.
    thread::scope(|s| {
        let calls = [
            ("/metric/3", "", "served 3"),
            ("/metric/5", "", "served 5"),
            ("/metric/7", "", "served 7"),
            ("/hello", "name=Grace", r#"{"message":"Hello, Grace!"}"#),
        ];
        let handles: Vec<_> = calls
            .into_iter()
            .map(|(path, query, body)| s.spawn(move || assert_get(port, path, query, body)))
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });

    // The log lines and the metrics flush come after each response has been posted.
    let lines = emu.wait_for_function_stdout(
        "the panic and cut-off lines and the Started and three Served documents",
        |lines| {
            let docs = emf_documents(lines, earliest_ms);
            !log_lines(lines, "after-response task panicked").is_empty()
                && !log_lines(lines, "after-response task cut off at its time limit").is_empty()
                && documents_with(&docs, "Started").len() == 1
                && documents_with(&docs, "Served").len() == 3
        },
    );
    // Warm-up, /panic, /hang, then the four calls in any order.
    let ids = emu.wait_for_request_ids(7);
    assert_eq!(ids.len(), 7, "{ids:?}");

    let panicked = log_lines(&lines, "after-response task panicked");
    assert_eq!(panicked.len(), 1, "one panic line\n{}", emu.output());
    let p = &panicked[0];
    assert_eq!(p["level"], "ERROR", "{p}");
    assert_eq!(p["service"], "lifecycle", "{p}");
    assert_eq!(p["panic"], PANIC_MESSAGE, "{p}");
    let location = p["location"].as_str().unwrap_or_default();
    assert!(
        location.starts_with("tests/e2e/src/bin/lifecycle.rs:"),
        "the panic's location is in the task: {p}"
    );
    assert_eq!(
        p["function_request_id"],
        ids[1].as_str(),
        "the /panic invocation's id: {p}"
    );

    let cut_off = log_lines(&lines, "after-response task cut off at its time limit");
    assert_eq!(cut_off.len(), 1, "one cut-off line\n{}", emu.output());
    let w = &cut_off[0];
    assert_eq!(w["level"], "WARN", "{w}");
    assert_eq!(w["service"], "lifecycle", "{w}");
    assert_eq!(w["limit_ms"], 200, "{w}");
    assert_eq!(
        w["function_request_id"],
        ids[2].as_str(),
        "the /hang invocation's id: {w}"
    );

    let docs = emf_documents(&lines, earliest_ms);
    assert_eq!(
        docs.len(),
        4,
        "Started and three Served documents: {docs:#?}"
    );
    assert_started_once(&docs);
    let mut served: Vec<f64> = documents_with(&docs, "Served")
        .into_iter()
        .map(|d| counter_value(d, "Served"))
        .collect();
    served.sort_by(f64::total_cmp);
    assert_eq!(served, vec![3.0, 5.0, 7.0]);

    // Contained panics are logged once, as the line above, and never printed by the panic hook.
    assert_eq!(
        emu.function_stderr(),
        Vec::<String>::new(),
        "{}",
        emu.output()
    );
    assert_shutdown_extension_registered(&emu);
    emu.assert_running();
}

/// An after-response task buffers a process-level metric; SIGTERM writes it and exits 0.
fn sigterm_writes_the_buffered_process_metric_and_exits_0(env: &[(&str, &str)]) {
    let earliest_ms = now_ms();
    let mut emu = Emulator::start_function(FUNCTION, env);
    let port = emu.port();

    assert_get(port, "/buffer", "", "buffer scheduled");
    // The task logs once it has recorded the metric: from then on it waits in the buffer.
    let lines = emu.wait_for_function_stdout("the buffering task's log line", |lines| {
        !log_lines(lines, "buffered a process metric").is_empty()
    });
    let before = emf_documents(&lines, earliest_ms);
    assert!(
        documents_with(&before, "Buffered").is_empty(),
        "the process metric is written before shutdown: {before:#?}"
    );

    emu.function().signal("TERM");
    let status = emu.function().wait_exit(EXIT_LIMIT);
    assert_eq!(status.code(), Some(0), "exit status\n{}", emu.output());

    let lines = emu.function_stdout();
    let docs = emf_documents(&lines, earliest_ms);
    assert_eq!(docs.len(), 2, "Started and Buffered documents: {docs:#?}");
    assert_started_once(&docs);
    let buffered = documents_with(&docs, "Buffered");
    assert_eq!(buffered.len(), 1, "one Buffered document: {docs:#?}");
    assert_eq!(counter_value(buffered[0], "Buffered"), 1.0);
    // The shutdown flush is the last thing the process writes.
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(
        last,
        buffered[0].raw,
        "the last stdout line\n{}",
        emu.output()
    );
    assert_eq!(log_lines(&lines, "buffered a process metric").len(), 1);

    assert_eq!(
        emu.function_stderr(),
        Vec::<String>::new(),
        "{}",
        emu.output()
    );
    assert_shutdown_extension_registered(&emu);
}

#[test]
fn sequential_failed_after_response_tasks_leave_the_function_serving() {
    failed_after_response_tasks_leave_the_function_serving(SEQUENTIAL);
}

#[test]
fn concurrent_failed_after_response_tasks_leave_the_function_serving() {
    failed_after_response_tasks_leave_the_function_serving(CONCURRENT);
}

#[test]
fn sequential_sigterm_writes_the_buffered_process_metric_and_exits_0() {
    sigterm_writes_the_buffered_process_metric_and_exits_0(SEQUENTIAL);
}

#[test]
fn concurrent_sigterm_writes_the_buffered_process_metric_and_exits_0() {
    sigterm_writes_the_buffered_process_metric_and_exits_0(CONCURRENT);
}

/// What the `/crash` handler panics with.
const CRASH_SECRET: &str = "db password hunter2 at 10.0.0.7";

#[test]
fn a_panic_outside_recover_reaches_the_runtime_api_as_a_generic_error() {
    let mut emu = Emulator::start_function(FUNCTION, SEQUENTIAL);
    let port = emu.port();
    let target = format!("/2015-03-31/functions/{FUNCTION}/invocations");
    let headers = [("Content-Type", "application/json")];
    let resp = common::http(port, "POST", &target, &headers, &event("/crash", ""));
    assert_eq!(resp.status, 500, "{resp:?}");
    assert_eq!(
        resp.json(),
        serde_json::json!({
            "errorType": "Lift.Panic",
            "errorMessage": "the invocation panicked; the function's log has the details",
        })
    );
    assert!(!resp.text().contains("hunter2"), "{resp:?}");

    // The log has what happened; the function serves on.
    let lines = emu.wait_for_function_stdout("the panic's log line", |lines| {
        !log_lines(lines, "panic outside Recover").is_empty()
    });
    let logged = log_lines(&lines, "panic outside Recover");
    assert_eq!(logged.len(), 1, "{logged:#?}");
    assert_eq!(logged[0]["level"], "ERROR", "{}", logged[0]);
    assert_eq!(logged[0]["panic"], CRASH_SECRET, "{}", logged[0]);
    assert!(
        logged[0]["location"]
            .as_str()
            .is_some_and(|l| l.contains("lifecycle.rs")),
        "{}",
        logged[0]
    );
    assert_get(port, "/hello", "name=Ada", r#"{"message":"Hello, Ada!"}"#);
    // Not printed by the panic hook either.
    assert_eq!(
        emu.function_stderr(),
        Vec::<String>::new(),
        "{}",
        emu.output()
    );
    emu.assert_running();
}
