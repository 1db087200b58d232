//! Every example emits structured logs, metrics and traces with no code of its own for them:
//! each runs under `cargo lambda watch` with `AWS_XRAY_DAEMON_ADDRESS` pointing at a UDP socket
//! here, as Lambda's active tracing sets it. For each invocation the function's stdout holds a
//! JSON log line and an EMF document, and the daemon gets the handler's subsegment, all three
//! under the trace id the Runtime API handed over.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Emulator, XRayDaemon};
use serde_json::Value;

/// One example and what its first request must produce.
struct Case {
    example: &'static str,
    warm_up: &'static str,
    env: &'static [(&'static str, &'static str)],
    /// The handler subsegment's name.
    subsegment: &'static str,
    /// A metric the invocation's EMF document must hold.
    metric: &'static str,
}

const JWT_ENV: &[(&str, &str)] = &[
    ("JWT_SECRET", "multi-tenant-example-secret-0123456789abcdef"),
    ("JWT_ISSUER", "https://auth.example.com"),
    ("JWT_AUDIENCE", "orders-api"),
];

const CASES: [Case; 5] = [
    Case {
        example: "hello-world",
        warm_up: "hello-v2.json",
        env: &[],
        subsegment: "## GET /hello",
        metric: "Requests",
    },
    Case {
        example: "middleware-showcase",
        warm_up: "hello-v2.json",
        env: &[],
        subsegment: "## GET /hello",
        metric: "Requests",
    },
    Case {
        example: "observability",
        warm_up: "hello-v2.json",
        env: &[],
        subsegment: "## GET /hello",
        metric: "Greetings",
    },
    Case {
        example: "events",
        warm_up: "events/health-v2.json",
        env: &[],
        subsegment: "## GET /health",
        metric: "Requests",
    },
    Case {
        example: "multi-tenant-api",
        warm_up: "events/health-v2.json",
        env: JWT_ENV,
        subsegment: "## GET /health",
        metric: "Requests",
    },
];

fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

fn is_emf(v: &Value) -> bool {
    v.get("_aws").is_some()
}

fn emf_metric_names(doc: &Value) -> BTreeSet<String> {
    doc["_aws"]["CloudWatchMetrics"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["Metrics"].as_array().cloned().unwrap_or_default())
        .map(|m| m["Name"].as_str().unwrap().to_owned())
        .collect()
}

/// The example's first invocation: its log lines, EMF document and subsegment share the trace
/// id of the runtime's header.
fn check(case: &Case) {
    let daemon = XRayDaemon::start();
    let address = daemon.address();
    let mut env: Vec<(&str, &str)> = vec![("AWS_XRAY_DAEMON_ADDRESS", &address)];
    env.extend_from_slice(case.env);
    let mut emu = Emulator::start_function_tapped_warmed_by(case.example, &env, case.warm_up);
    let handed = emu.handed_over();
    assert_eq!(handed.len(), 1, "{}: {handed:?}", case.example);
    let (request_id, header) = &handed[0];
    let header = header.as_deref().expect("the runtime sent a trace header");
    let root = header
        .split(';')
        .find_map(|p| p.strip_prefix("Root="))
        .unwrap()
        .to_owned();

    let docs = daemon.documents(1);
    let handler: Vec<&Value> = docs
        .iter()
        .map(|(_, d)| d)
        .filter(|d| d["name"] == case.subsegment)
        .collect();
    assert_eq!(
        handler.len(),
        1,
        "{}: one handler subsegment in {docs:#?}",
        case.example
    );
    assert_eq!(handler[0]["type"], "subsegment", "{}", case.example);
    assert_eq!(handler[0]["trace_id"], root.as_str(), "{}", case.example);
    assert_eq!(handler[0]["annotations"]["ColdStart"], true);

    let lines = emu.wait_for_function_stdout("a log line and an EMF document", |lines| {
        let values = json_lines(lines);
        values.iter().any(is_emf) && values.iter().any(|v| !is_emf(v))
    });
    let values = json_lines(&lines);
    let logs: Vec<&Value> = values
        .iter()
        .filter(|v| !is_emf(v) && v["request_id"] == request_id.as_str())
        .collect();
    assert!(
        !logs.is_empty(),
        "{}: no log line in {lines:#?}",
        case.example
    );
    for line in &logs {
        assert_eq!(
            line["xray_trace_id"],
            root.as_str(),
            "{}: {line}",
            case.example
        );
        assert!(
            line["level"].is_string() && line["message"].is_string(),
            "{line}"
        );
        assert!(line["timestamp"].is_string(), "{line}");
    }
    let emf: Vec<&Value> = values
        .iter()
        .filter(|v| is_emf(v) && v["xray_trace_id"] == root.as_str())
        .collect();
    assert!(
        emf.iter()
            .any(|d| emf_metric_names(d).contains(case.metric)),
        "{}: no EMF document with {} under {root} in {lines:#?}",
        case.example,
        case.metric
    );
}

#[test]
fn hello_world_emits_logs_metrics_and_traces() {
    check(&CASES[0]);
}

#[test]
fn middleware_showcase_emits_logs_metrics_and_traces() {
    check(&CASES[1]);
}

#[test]
fn observability_emits_logs_metrics_and_traces() {
    check(&CASES[2]);
}

#[test]
fn events_emits_logs_metrics_and_traces() {
    check(&CASES[3]);
}

#[test]
fn multi_tenant_api_emits_logs_metrics_and_traces() {
    check(&CASES[4]);
}

#[test]
fn every_example_is_checked() {
    let examples: BTreeSet<String> = std::fs::read_dir(common::workspace_root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let checked: BTreeSet<String> = CASES.iter().map(|c| c.example.to_owned()).collect();
    assert_eq!(checked, examples);
}
