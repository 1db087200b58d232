//! `w1-lift sample`, checked the way the anchors' driver checks every implementation
//! (`../shared/bench/anchors/driver.py`, `check_sample`), with exact values: the 200 reply's body
//! and headers, the one log line and its fields, the one EMF document, the six 401 cases, the
//! 404, the caller's request id carried through, and the foreign origin refused. Run for each
//! mode of the binary: the plain app, `--stack` and `--traced`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::{json, Value};

const ALLOWED_ORIGIN: &str = "https://app.example.com";

fn sample(flags: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_w1-lift"))
        .args(flags)
        .arg("sample")
        .output()
        .expect("w1-lift runs");
    assert!(out.status.success(), "w1-lift {flags:?} sample: {out:?}");
    serde_json::from_slice(&out.stdout).expect("sample output is JSON")
}

fn parse(raw: &Value) -> Value {
    serde_json::from_str(raw.as_str().expect("a JSON string")).expect("JSON inside")
}

fn assert_sample(flags: &[&str]) {
    let s = sample(flags);
    let rid = s["request_id"].as_str().unwrap().to_owned();

    // The reply.
    let r = parse(&s["response"]);
    assert_eq!(r["statusCode"], 200, "{r}");
    assert_eq!(r["isBase64Encoded"], false, "{r}");
    assert_eq!(
        parse(&r["body"]),
        json!({"id": "42", "tenant": "tenant-a", "user": "user-7"})
    );
    let h = &r["headers"];
    assert_eq!(h["content-type"], "application/json", "{r}");
    assert_eq!(h["access-control-allow-origin"], ALLOWED_ORIGIN, "{r}");
    assert_eq!(h["x-request-id"], rid.as_str(), "{r}");

    // Exactly one log line and one EMF document.
    let lines: Vec<Value> = s["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l.as_str().unwrap()).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let logs: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    let emfs: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    assert_eq!((logs.len(), emfs.len()), (1, 1), "{lines:#?}");

    let log = logs[0];
    assert_eq!(log["level"], "INFO");
    assert_eq!(log["request_id"], rid.as_str());
    assert_eq!(log["tenant_id"], "tenant-a");
    assert_eq!(log["user_id"], "user-7");
    assert_eq!(log["path"], "/users/42");
    assert_eq!(log["route"], "/users/{id}");
    assert_eq!(log["method"], "GET");
    assert_eq!(log["status"], 200);
    assert_eq!(log["service"], "lift-bench");
    assert!(
        log["latency_ms"].as_f64().is_some_and(|l| l >= 0.0),
        "{log}"
    );
    assert!(
        log["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{log}"
    );

    let emf = emfs[0];
    let directive = &emf["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "LiftBench");
    assert_eq!(directive["Dimensions"], json!([["service", "tenant"]]));
    assert_eq!(
        directive["Metrics"],
        json!([
            {"Name": "Requests", "Unit": "Count"},
            {"Name": "Latency", "Unit": "Milliseconds"}
        ])
    );
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"].as_array().unwrap().len(),
        1
    );
    assert!(emf["_aws"]["Timestamp"].as_u64().is_some(), "{emf}");
    assert_eq!(emf["service"], "lift-bench");
    assert_eq!(emf["tenant"], "tenant-a");
    assert_eq!(emf["Requests"], 1.0);
    assert!(emf["Latency"].as_f64().is_some_and(|l| l >= 0.0), "{emf}");
    // The log line and the document name the same trace.
    assert_eq!(emf["xray_trace_id"], log["xray_trace_id"]);

    // The negative and edge cases.
    let cases = &s["cases"];
    let want = [
        ("bad_signature", 401),
        ("wrong_secret", 401),
        ("bad_audience", 401),
        ("bad_issuer", 401),
        ("expired", 401),
        ("missing_token", 401),
        ("not_found", 404),
        ("client_request_id", 200),
        ("other_origin", 200),
    ];
    assert_eq!(cases.as_object().unwrap().len(), want.len(), "{cases}");
    for (name, status) in want {
        let c = parse(&cases[name]);
        assert_eq!(c["statusCode"], status, "{name}: {c}");
        let ch = &c["headers"];
        match name {
            "client_request_id" => assert_eq!(ch["x-request-id"], "client-supplied-id", "{c}"),
            // A foreign origin gets no CORS grant at all.
            "other_origin" => assert_eq!(ch.get("access-control-allow-origin"), None, "{c}"),
            _ if status == 401 => {
                assert_eq!(
                    ch["www-authenticate"],
                    if name == "missing_token" {
                        "Bearer"
                    } else {
                        "Bearer error=\"invalid_token\""
                    },
                    "{name}: {c}"
                );
                let body = parse(&c["body"]);
                assert_eq!(body["error"]["code"], "unauthorized", "{name}: {body}");
            }
            _ => {
                let body = parse(&c["body"]);
                assert_eq!(body["error"]["code"], "not_found", "{name}: {body}");
            }
        }
    }
}

#[test]
fn the_sample_passes_the_drivers_checks() {
    assert_sample(&[]);
}

#[test]
fn the_sample_passes_the_drivers_checks_with_the_default_stack() {
    assert_sample(&["--stack"]);
}

#[test]
fn the_sample_passes_the_drivers_checks_with_tracing() {
    assert_sample(&["--traced"]);
}
