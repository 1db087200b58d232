//! Graceful degradation, from outside: `examples/observability` under `cargo lambda watch` with
//! every exporter on (CloudWatch Logs, CloudWatch Metrics, X-Ray, stdout), once against healthy
//! stand-ins (moto behind the CBOR proxy, a UDP socket for the daemon) and once with every AWS
//! endpoint refusing connections. In both runs every request is answered 200, every request line
//! and every metric document reaches CloudWatch or stdout, and the `telemetry stats` line the
//! function logs at SIGTERM counts what each exporter delivered, fell back and lost.
//!
//! The client-side latencies of both runs are printed (`--nocapture`), never asserted; requests
//! are 100 ms apart, so each one's latency is its own, not the previous flush's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{free_port, http, Emulator, XRayDaemon};
use serde_json::Value;

const REQUESTS: usize = 20;
const GROUP: &str = "/lift/examples/degraded";

/// What one run saw.
struct Run {
    latencies: Vec<Duration>,
    stdout: Vec<Value>,
    /// What moto's CloudWatch Logs holds in [`GROUP`], every stream.
    cloudwatch: Vec<Value>,
    /// Each exporter's stats from the `telemetry stats` line, by name.
    exporters: Vec<Value>,
    stats: Value,
    level: String,
}

impl Run {
    fn exporter(&self, name: &str) -> &Value {
        self.exporters
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.exporters))
    }

    fn median(&self) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l[l.len() / 2]
    }
}

/// The example with every exporter on, the SDK at `endpoint` and the daemon at `daemon`:
/// the warm-up and [`REQUESTS`] more `GET /hello`, one at a time, then SIGTERM.
/// With `moto_port`, the lines CloudWatch Logs received are read back from moto.
fn run(endpoint: &str, daemon: &str, moto_port: Option<u16>) -> Run {
    let sdk = common::sdk_env(endpoint);
    let mut env = vec![
        ("LIFT_CLOUDWATCH_LOG_GROUP", GROUP),
        ("LIFT_CLOUDWATCH_METRICS", "1"),
        ("AWS_XRAY_DAEMON_ADDRESS", daemon),
        ("POWERTOOLS_SERVICE_NAME", "greeter"),
        ("POWERTOOLS_METRICS_NAMESPACE", "Lift/Degraded"),
    ];
    env.extend(sdk.iter().map(|(k, v)| (*k, v.as_str())));
    let mut emu = Emulator::start_function("observability", &env);
    let target = format!("/2015-03-31/functions/{}/invocations", emu.function_name());
    let event = std::fs::read(common::fixture("hello-v2.json")).unwrap();
    let mut latencies = Vec::new();
    for _ in 0..REQUESTS {
        // Time for the previous invocation's after-response flush, so each latency is the
        // request's own (a flush delays the next invocation, never the response).
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        let resp = http(
            emu.port(),
            "POST",
            &target,
            &[("Content-Type", "application/json")],
            &event,
        );
        latencies.push(started.elapsed());
        assert_eq!(resp.status, 200, "{resp:?}");
        assert_eq!(resp.json()["statusCode"], 200, "{resp:?}");
        assert_eq!(resp.json()["body"], r#"{"message":"Hello, Ada!"}"#);
    }
    // The last invocation's flush runs after its response: let it end before SIGTERM.
    std::thread::sleep(Duration::from_millis(200));
    emu.function().signal("TERM");
    let status = emu.function().wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit status\n{}", emu.output());
    let stdout: Vec<Value> = emu
        .function_stdout()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let cloudwatch: Vec<Value> = moto_port
        .map(|port| {
            common::log_streams(port, GROUP)
                .into_iter()
                .flat_map(|(_, lines)| lines)
                .collect()
        })
        .unwrap_or_default();
    let line = stdout
        .iter()
        .chain(&cloudwatch)
        .find(|l| l["message"] == "telemetry stats")
        .unwrap_or_else(|| panic!("no telemetry stats line\n{}", emu.output()))
        .clone();
    Run {
        latencies,
        exporters: line["stats"]["exporters"].as_array().unwrap().clone(),
        stats: line["stats"].clone(),
        level: line["level"].as_str().unwrap().to_owned(),
        stdout,
        cloudwatch,
    }
}

fn count(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

fn dropped_total(v: &Value) -> u64 {
    v["dropped"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

fn healthy_run() -> Run {
    let (_moto, moto_port) = common::moto();
    let (_proxy, proxy_port) = common::aws_proxy(moto_port);
    let daemon = XRayDaemon::start();
    let run = run(
        &format!("http://127.0.0.1:{proxy_port}"),
        &daemon.address(),
        Some(moto_port),
    );
    // The warm-up and the twenty, each a handler subsegment.
    assert!(daemon.documents(REQUESTS + 1).len() > REQUESTS);
    run
}

fn refused_run() -> Run {
    // Nothing listens on either port: every CloudWatch call is refused at connect, and every
    // datagram to the daemon is answered by ICMP port unreachable.
    let dead_tcp = free_port();
    let dead_udp = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    run(
        &format!("http://127.0.0.1:{dead_tcp}"),
        &format!("127.0.0.1:{dead_udp}"),
        None,
    )
}

#[test]
fn every_request_is_answered_and_every_drop_counted_when_aws_refuses_connections() {
    let healthy = healthy_run();
    let refused = refused_run();
    eprintln!(
        "client latency, median of {REQUESTS}: healthy {:?}, every endpoint refusing {:?}",
        healthy.median(),
        refused.median()
    );
    eprintln!("healthy stats: {}", healthy.stats);
    eprintln!("refused stats: {}", refused.stats);

    // Healthy: everything delivered where it was sent, nothing lost, nothing fallen back. The
    // stats are read in the shutdown hook, before the exporters' last flush: what the process
    // recorded after the last invocation's flush is still held then.
    for name in ["cloudwatch-logs", "cloudwatch-metrics", "xray"] {
        let e = healthy.exporter(name);
        assert!(count(e, "written") > REQUESTS as u64, "{name}: {e}");
        assert!(count(e, "written") <= count(e, "accepted"), "{name}: {e}");
        assert_eq!(
            (dropped_total(e), count(e, "fallen_back")),
            (0, 0),
            "{name}: {e}"
        );
    }
    assert_eq!(healthy.level, "INFO");
    // Log lines and metrics went to CloudWatch, not stdout.
    let delivered = healthy
        .cloudwatch
        .iter()
        .filter(|l| l["message"] == "request")
        .count();
    assert_eq!(delivered, REQUESTS + 1);
    assert!(!healthy.stdout.iter().any(|l| l["message"] == "request"));
    assert!(!healthy.stdout.iter().any(|l| l.get("_aws").is_some()));

    // Refused: CloudWatch took nothing; every line and metric fell back to stdout instead.
    let logs = refused.exporter("cloudwatch-logs");
    let metrics = refused.exporter("cloudwatch-metrics");
    for e in [logs, metrics] {
        assert_eq!(count(e, "written"), 0, "{e}");
        assert_eq!(dropped_total(e), 0, "{e}");
        assert!(count(e, "fallen_back") > REQUESTS as u64, "{e}");
        assert!(count(e, "fallen_back") <= count(e, "accepted"), "{e}");
    }
    assert!(logs["last_error"]
        .as_str()
        .unwrap()
        .contains("Connection refused"));
    // Nothing was lost: each request line and each Greetings document is on stdout.
    let request_lines = refused
        .stdout
        .iter()
        .filter(|l| l["message"] == "request")
        .count();
    assert_eq!(request_lines, REQUESTS + 1);
    let greetings = refused
        .stdout
        .iter()
        .filter(|l| l.get("_aws").is_some())
        .map(|d| d["Greetings"].as_f64().unwrap_or(0.0))
        .sum::<f64>();
    assert_eq!(greetings, (REQUESTS + 1) as f64);
    // Spans have no fallback: each one is written (UDP cannot tell) or counted as dropped.
    let xray = refused.exporter("xray");
    assert_eq!(
        count(xray, "written") + dropped_total(xray),
        count(xray, "accepted"),
        "{xray}"
    );
    assert_eq!(
        count(xray, "accepted"),
        count(healthy.exporter("xray"), "accepted"),
        "the same spans were produced"
    );
    // The line is a warning exactly when something was lost: here, only spans can be.
    let lost = dropped_total(xray) > 0;
    assert_eq!(refused.level, if lost { "WARN" } else { "INFO" });
    // CloudWatch takes every kind stdout would, so stdout is only the fallback; no flush was
    // cut off, and no exporter panicked.
    let names: Vec<&str> = refused
        .exporters
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cloudwatch-logs", "cloudwatch-metrics", "xray"]);
    assert_eq!(refused.stats["flush_timeouts"], 0);
    assert_eq!(refused.stats["exporter_panics"], 0);
}
