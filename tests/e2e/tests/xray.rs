//! X-Ray from outside the process: `examples/observability` under `cargo lambda watch`, with
//! `AWS_XRAY_DAEMON_ADDRESS` pointing at a UDP socket here. A tap between the function and the
//! Runtime API records the trace header each event came with, so each subsegment is checked
//! against the trace id and the parent the runtime handed over. The documents are then
//! replayed into moto's `PutTraceSegments` and read back with `BatchGetTraces`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::thread;

use common::{http, moto, Emulator, XRayDaemon};
use serde_json::{json, Value};

/// A call to moto's X-Ray API (REST JSON; moto routes by the signing service and checks no
/// signature).
fn xray(moto_port: u16, path: &str, body: &Value) -> Value {
    let headers = [
        ("Content-Type", "application/json"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/xray/aws4_request, SignedHeaders=host, Signature=0",
        ),
    ];
    let resp = http(
        moto_port,
        "POST",
        path,
        &headers,
        body.to_string().as_bytes(),
    );
    assert_eq!(resp.status, 200, "{path}: {resp:?}");
    resp.json()
}

fn hello(name: &str) -> Vec<u8> {
    let mut e = common::fixture_json("hello-v2.json");
    e["rawQueryString"] = json!(format!("name={name}"));
    e["queryStringParameters"] = json!({ "name": name });
    serde_json::to_vec(&e).unwrap()
}

/// `Root=…;Parent=…;Sampled=…` → (root, parent).
fn root_and_parent(header: &str) -> (String, String) {
    let part = |key: &str| {
        header
            .split(';')
            .find_map(|p| p.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {header}"))
            .to_owned()
    };
    (part("Root="), part("Parent="))
}

#[test]
fn concurrent_invocations_send_subsegments_under_the_parent_the_runtime_handed_over() {
    let daemon = XRayDaemon::start();
    let address = daemon.address();
    let mut emu = Emulator::start_function_tapped(
        "observability",
        &[
            ("AWS_XRAY_DAEMON_ADDRESS", &address),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "4"),
            ("POWERTOOLS_SERVICE_NAME", "greeter"),
        ],
    );
    let port = emu.port();
    let target = format!("/2015-03-31/functions/{}/invocations", emu.function_name());
    thread::scope(|s| {
        for i in 0..8 {
            let target = &target;
            s.spawn(move || {
                let headers = [("Content-Type", "application/json")];
                let resp = http(port, "POST", target, &headers, &hello(&format!("c{i}")));
                assert_eq!(resp.json()["statusCode"], 200);
            });
        }
    });
    // The warm-up and the eight.
    let handed = emu.handed_over();
    assert_eq!(handed.len(), 9, "{handed:?}");
    let docs = daemon.documents(9);
    assert_eq!(docs.len(), 9, "{docs:#?}\n{}", emu.output());

    // The access-log lines are written after each response: wait for all nine.
    let request_lines = |lines: &[String]| -> Vec<Value> {
        lines
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|l: &Value| l["message"] == "request")
            .collect()
    };
    let lines = emu.wait_for_function_stdout("nine access-log lines", |lines| {
        request_lines(lines).len() >= 9
    });
    let logs = request_lines(&lines);
    let by_trace: BTreeMap<&str, &Value> = docs
        .iter()
        .map(|(_, d)| (d["trace_id"].as_str().unwrap(), d))
        .collect();
    assert_eq!(by_trace.len(), 9, "one tree per invocation");
    for (i, (request_id, header)) in handed.iter().enumerate() {
        let header = header.as_deref().expect("the runtime sent a trace header");
        let (root, parent) = root_and_parent(header);
        let doc = by_trace
            .get(root.as_str())
            .unwrap_or_else(|| panic!("no subsegment for {root}: {docs:#?}"));
        assert_eq!(doc["type"], "subsegment");
        assert_eq!(doc["parent_id"], parent, "{doc}");
        assert_eq!(doc["name"], "## GET /hello");
        assert_eq!(doc["annotations"]["Service"], "greeter");
        assert_eq!(doc["annotations"]["route"], "/hello");
        assert_eq!(doc["annotations"]["ColdStart"], i == 0, "{doc}");
        assert_eq!(doc["http"]["response"]["status"], 200);
        // The invocation's log line carries the same trace id, the id alone.
        let line = logs
            .iter()
            .find(|l| l["request_id"] == request_id.as_str())
            .unwrap_or_else(|| panic!("no request line for {request_id}"));
        assert_eq!(line["xray_trace_id"], root.as_str());
    }

    // The documents, replayed as the daemon would send them, are taken whole and read back.
    let (_moto, moto_port) = moto();
    let documents: Vec<String> = docs
        .iter()
        .map(|(raw, _)| String::from_utf8(raw.clone()).unwrap())
        .collect();
    let put = xray(
        moto_port,
        "/TraceSegments",
        &json!({ "TraceSegmentDocuments": documents }),
    );
    assert_eq!(put["UnprocessedTraceSegments"], json!([]), "{put}");
    let ids: Vec<&str> = by_trace.keys().copied().collect();
    let got = xray(moto_port, "/Traces", &json!({ "TraceIds": ids }));
    assert_eq!(got["UnprocessedTraceIds"], json!([]), "{got}");
    let traces = got["Traces"].as_array().unwrap();
    assert_eq!(traces.len(), 9);
    for t in traces {
        let id = t["Id"].as_str().unwrap();
        let segments = t["Segments"].as_array().unwrap();
        assert_eq!(segments.len(), 1, "{t}");
        let stored: Value =
            serde_json::from_str(segments[0]["Document"].as_str().unwrap()).unwrap();
        assert_eq!(&&stored, by_trace.get(id).unwrap());
    }
}
