//! The `observability` example's telemetry on stdout, read from outside the process.
//!
//! Under the Runtime API (emulated by `cargo lambda watch`) the function must print only JSON:
//! one access-log line per request carrying the Lambda request id the Runtime API handed out,
//! one EMF document per invocation that recorded metrics, one `ColdStart` document on the first
//! invocation only, `tracing` events as Lift log lines, and no buffered DEBUG line for an
//! invocation that succeeded. As the local dev server it prints human-readable lines.
//!
//! Attributing lines to invocations: the function handles one invocation at a time (no
//! `AWS_LAMBDA_MAX_CONCURRENCY`), writes its logs while handling it and its EMF documents right
//! after posting the response, before it asks the Runtime API for the next event. So its stdout
//! is a sequence of per-invocation runs, each starting with that invocation's first log line;
//! the EMF documents in a run belong to it. A last, sentinel invocation closes the run before it.

// Tests fail by panicking, with a message; that is what these are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{
    assert_emf_document, example_bin_named, fixture, free_port, http, now_ms, Emulator, LambdaHttp,
    Proc,
};
use serde_json::{json, Value};

const NAME: &str = "observability";
const SERVICE: &str = "greeter";
const NAMESPACE: &str = "Lift/Examples";

/// The example's EMF document for one `GET /hello?name=Ada`, timestamp left out.
fn greetings_document() -> Value {
    json!({
        "_aws": {
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["service"]],
                "Metrics": [
                    {"Name": "Greetings", "Unit": "Count"},
                    {"Name": "NameLength", "Unit": "Count"}
                ]
            }]
        },
        "service": SERVICE,
        "Greetings": 1.0,
        "NameLength": {"Values": [3.0], "Counts": [1], "Max": 3.0, "Min": 3.0, "Count": 1, "Sum": 3.0}
    })
}

/// The cold-start document, timestamp left out.
fn cold_start_document(function_name: &str) -> Value {
    json!({
        "_aws": {
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["function_name", "service"]],
                "Metrics": [{"Name": "ColdStart", "Unit": "Count"}]
            }]
        },
        "service": SERVICE,
        "function_name": function_name,
        "ColdStart": 1.0
    })
}

/// An EMF document with its timestamp removed and the names in each dimension set sorted (their
/// order does not matter to CloudWatch), for exact comparison with the documents above.
fn normalised(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let aws = doc["_aws"].as_object_mut().unwrap();
    aws.remove("Timestamp");
    for directive in aws["CloudWatchMetrics"].as_array_mut().unwrap() {
        for set in directive["Dimensions"].as_array_mut().unwrap() {
            set.as_array_mut()
                .unwrap()
                .sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    }
    doc
}

fn is_emf(line: &Value) -> bool {
    line.get("_aws").is_some()
}

fn is_log(line: &Value) -> bool {
    line.get("level").is_some()
}

/// The stdout lines of one invocation: its log lines and its EMF documents, in order.
struct Run {
    request_id: String,
    logs: Vec<Value>,
    emf: Vec<Value>,
}

impl Run {
    fn messages(&self) -> Vec<&str> {
        self.logs
            .iter()
            .map(|l| l["message"].as_str().unwrap_or_default())
            .collect()
    }

    /// The one log line with `message`.
    fn only(&self, message: &str) -> &Value {
        let found: Vec<&Value> = self
            .logs
            .iter()
            .filter(|l| l["message"] == message)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "exactly one {message:?} line for invocation {}: {:#?}",
            self.request_id,
            self.logs
        );
        found[0]
    }

    /// The EMF documents, normalised, once each is checked to carry the trace id of the
    /// invocation's log lines (the one the runtime handed over).
    fn documents(&self) -> Vec<Value> {
        let trace = &self.logs[0]["xray_trace_id"];
        assert!(trace.is_string(), "no xray_trace_id: {:?}", self.logs[0]);
        self.emf
            .iter()
            .map(|doc| {
                assert_eq!(&doc["xray_trace_id"], trace, "{doc}");
                let mut doc = normalised(doc);
                doc.as_object_mut().unwrap().remove("xray_trace_id");
                doc
            })
            .collect()
    }
}

/// Splits the function's stdout into one run per request id (in invocation order). Every line
/// must be a JSON object, every log line must carry its run's `request_id`, and the first line
/// must belong to the first invocation.
/// The warning Lift logs, once, in the first invocation that gets its deadline as a duration
/// (as `cargo lambda watch` sends it).
const DURATION_WARNING: &str =
    "the Runtime API sent the deadline as a duration, as local emulators do, not as an epoch time: it is read as a duration";

fn split_runs(lines: &[String], ids: &[String]) -> Vec<Run> {
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("a stdout line is not JSON ({e}): {l:?}"));
            assert!(v.is_object(), "a stdout line is not a JSON object: {l}");
            assert!(
                is_emf(&v) != is_log(&v),
                "a stdout line is neither a log line (`level`) nor an EMF document (`_aws`): {l}"
            );
            v
        })
        .collect();
    let starts: Vec<usize> = ids
        .iter()
        .map(|id| {
            parsed
                .iter()
                .position(|v| v["request_id"] == id.as_str())
                .unwrap_or_else(|| {
                    panic!("no log line carries request_id {id}\n{}", lines.join("\n"))
                })
        })
        .collect();
    assert_eq!(
        starts[0],
        0,
        "the first stdout line must be the first invocation's\n{}",
        lines.join("\n")
    );
    assert!(
        starts.windows(2).all(|w| w[0] < w[1]),
        "the invocations' lines are not in invocation order: first lines at {starts:?}\n{}",
        lines.join("\n")
    );
    let mut runs = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(parsed.len());
        let mut run = Run {
            request_id: id.clone(),
            logs: Vec::new(),
            emf: Vec::new(),
        };
        for v in &parsed[starts[i]..end] {
            if is_emf(v) {
                run.emf.push(v.clone());
            } else {
                assert_eq!(
                    v["request_id"],
                    id.as_str(),
                    "a log line inside invocation {id}'s output carries another request_id: {v}"
                );
                // The request id Lift logs is the Runtime API's (no `set_request_id` here).
                assert_eq!(v["function_request_id"], id.as_str(), "{v}");
                run.logs.push(v.clone());
            }
        }
        runs.push(run);
    }
    runs
}

/// The fields every log line of an invocation carries in Lambda.
fn assert_lambda_fields(line: &Value, cold_start: bool) {
    assert_eq!(line["service"], SERVICE, "{line}");
    assert_eq!(line["function_name"], NAME, "{line}");
    assert_eq!(line["function_memory_size"], 4096, "{line}");
    assert_eq!(line["cold_start"], cold_start, "{line}");
    let ts = line["timestamp"].as_str().unwrap_or_default();
    assert!(
        is_rfc3339_millis(ts),
        "timestamp {ts:?} is not RFC 3339 UTC with milliseconds: {line}"
    );
    assert!(
        !matches!(line["level"].as_str(), Some("DEBUG" | "TRACE")),
        "a successful invocation wrote a buffered debug line: {line}"
    );
}

/// `2026-11-29T22:18:04.572Z`.
fn is_rfc3339_millis(ts: &str) -> bool {
    let b = ts.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn assert_access_log(run: &Run, route: &str, path: &str, cold_start: bool) {
    let line = run.only("request");
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["route"], route, "{line}");
    assert_eq!(line["path"], path, "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["request_id"], run.request_id.as_str(), "{line}");
    let latency = line["latency_ms"].as_f64();
    assert!(
        latency.is_some_and(|l| l >= 0.0),
        "latency_ms is not a non-negative number: {line}"
    );
    for l in &run.logs {
        assert_lambda_fields(l, cold_start);
        // The id alone (`1-…-…`), the same on every line of the invocation.
        assert_eq!(l["xray_trace_id"], run.logs[0]["xray_trace_id"], "{l}");
        let id = l["xray_trace_id"].as_str().unwrap_or_default();
        assert!(id.starts_with("1-") && id.len() == 35, "{l}");
    }
}

#[test]
fn lambda_logs_and_metrics_per_invocation() {
    let started = now_ms();
    let mut emu = Emulator::start_function(
        NAME,
        &[
            ("POWERTOOLS_SERVICE_NAME", SERVICE),
            ("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE),
        ],
    );

    // 1. The warm-up `Emulator::start_function` sent: hello-v2.json, GET /hello?name=Ada, cold.
    let ids = emu.wait_for_request_ids(1);
    assert_eq!(ids.len(), 1, "one event handed out so far: {ids:?}");

    // 2. GET /users/7 through the function URL.
    let resp = emu.url("GET", "/users/7", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json(), json!({"id": "7"}));

    // 3. hello-v2.json again, warm, through the Invoke API.
    let event = std::fs::read(fixture("hello-v2.json")).unwrap();
    let resp = emu.invoke_raw(&event);
    assert_eq!(resp.status, 200, "{resp:?}");
    let reply = resp.json();
    assert_eq!(reply["statusCode"], 200, "{reply}");
    assert_eq!(reply["body"], r#"{"message":"Hello, Ada!"}"#, "{reply}");

    // 4. The sentinel: its first line closes invocation 3's output.
    let resp = emu.url("GET", "/users/sentinel", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");

    let ids = emu.wait_for_request_ids(4);
    assert_eq!(ids.len(), 4, "one event per invocation: {ids:?}");
    let sentinel = ids[3].clone();
    let lines = emu.wait_for_function_stdout("the sentinel's access-log line", |lines| {
        lines.iter().any(|l| {
            serde_json::from_str::<Value>(l)
                .is_ok_and(|v| v["request_id"] == sentinel.as_str() && v["message"] == "request")
        })
    });
    let finished = now_ms();
    let output = emu.output();

    let runs = split_runs(&lines, &ids);
    let (cold_hello, user, warm_hello) = (&runs[0], &runs[1], &runs[2]);

    // Invocation 1: the cold GET /hello. The emulator sends the deadline as a duration, which
    // Lift reads as one and says so, once, inside the first invocation.
    assert_eq!(
        cold_hello.messages(),
        [DURATION_WARNING, "request"],
        "{output}"
    );
    let warning = cold_hello.only(DURATION_WARNING);
    assert_eq!(warning["level"], "WARN", "{warning}");
    assert_eq!(warning["deadline_ms"], 600000, "{warning}");
    assert_eq!(warm_hello.messages(), ["request"], "{output}");
    assert_access_log(cold_hello, "/hello", "/hello", true);
    for doc in &cold_hello.emf {
        assert_emf_document(doc, started, finished);
    }
    assert_eq!(
        cold_hello.documents(),
        [greetings_document(), cold_start_document(NAME)],
        "the cold invocation writes its metrics, then one ColdStart document\n{output}"
    );

    // Invocation 2: GET /users/7 logs through `tracing`, records no metric.
    assert_eq!(
        user.messages(),
        ["looking up user", "request"],
        "the tracing bridge's line comes from inside the handler, before the access log\n{output}"
    );
    let traced = user.only("looking up user");
    assert_eq!(traced["level"], "INFO", "{traced}");
    assert_eq!(traced["target"], NAME, "{traced}");
    assert_eq!(traced["user_id"], "7", "{traced}");
    assert_access_log(user, "/users/{id}", "/users/7", false);
    assert!(
        user.emf.is_empty(),
        "an invocation without metrics writes no EMF document (and a warm one no ColdStart): {:?}",
        user.emf
    );

    // Invocation 3: the warm GET /hello: its metrics, no ColdStart.
    assert_eq!(warm_hello.messages(), ["request"], "{output}");
    assert_access_log(warm_hello, "/hello", "/hello", false);
    for doc in &warm_hello.emf {
        assert_emf_document(doc, started, finished);
    }
    assert_eq!(
        warm_hello.documents(),
        [greetings_document()],
        "a warm invocation writes exactly its own metrics document\n{output}"
    );

    // Nothing at DEBUG anywhere: every invocation succeeded, so the buffer was dropped.
    assert!(
        !lines.iter().any(|l| l.contains(r#""level":"DEBUG""#)),
        "debug lines were written for successful invocations\n{output}"
    );
}

/// A pretty log line: `<RFC 3339 ms> <LEVEL padded to 5> <message> key=value ...`.
struct Pretty<'a> {
    level: &'a str,
    message: &'a str,
    fields: &'a str,
}

fn parse_pretty(line: &str) -> Option<Pretty<'_>> {
    let ts = line.get(..24)?;
    if !is_rfc3339_millis(ts) || line.get(24..25)? != " " || line.get(30..31)? != " " {
        return None;
    }
    let level = line.get(25..30)?.trim_end();
    if !matches!(
        level,
        "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "FATAL"
    ) {
        return None;
    }
    // Every line starts its fields with `service=`.
    let rest = line.get(31..)?;
    let at = rest.find(" service=")?;
    Some(Pretty {
        level,
        message: &rest[..at],
        fields: &rest[at..],
    })
}

#[test]
fn dev_server_logs_are_human_readable() {
    let started = now_ms();
    let port = free_port();
    let mut cmd = Command::new(example_bin_named(NAME));
    // Outside Lambda: no Runtime API and no function name, whatever the caller's shell has.
    cmd.env("LIFT_PORT", port.to_string())
        .env("POWERTOOLS_SERVICE_NAME", SERVICE)
        .env("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE);
    for var in [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "LIFT_LOG_FORMAT",
        "AWS_LAMBDA_LOG_LEVEL",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_LOGGER_SAMPLE_RATE",
        "POWERTOOLS_METRICS_DISABLED",
    ] {
        cmd.env_remove(var);
    }
    let mut proc = Proc::spawn("observability (dev server)", cmd);
    let url = format!("http://127.0.0.1:{port}");
    proc.wait_for_stdout(&format!("a line containing {url}"), |l| l.contains(&url));
    proc.wait_for_port(port);

    let resp = http(port, "GET", "/hello?name=Ada", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.text(), r#"{"message":"Hello, Ada!"}"#);
    let resp = http(port, "GET", "/users/7", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json(), json!({"id": "7"}));

    // The dev server flushes metrics in a task spawned after the response, so /hello's two
    // documents may come after /users/7's lines: wait for both. No other document can come
    // (/users/7 records no metric), so the exact count below cannot race.
    let lines = proc.wait_for_stdout_lines(
        "the /users/7 access-log line and two EMF documents",
        |lines| {
            let users = lines.iter().any(|l| {
                parse_pretty(l)
                    .is_some_and(|p| p.message == "request" && p.fields.contains(" path=/users/7"))
            });
            users && lines.iter().filter(|l| l.starts_with(r#"{"_aws""#)).count() >= 2
        },
    );
    let finished = now_ms();
    let output = proc.output();

    assert_eq!(
        lines[0],
        format!("lift: serving on {url} (Ctrl-C to stop)"),
        "{output}"
    );
    let mut pretty = Vec::new();
    let mut emf = Vec::new();
    for line in &lines[1..] {
        if let Some(p) = parse_pretty(line) {
            pretty.push((line.as_str(), p));
            continue;
        }
        // The only JSON on stdout in dev mode are the EMF documents (see the report in the
        // assertion below); a JSON log line would fail here.
        let doc: Value = serde_json::from_str(line).unwrap_or_else(|e| {
            panic!("a dev-server stdout line is neither a pretty log line nor JSON ({e}): {line:?}\n{output}")
        });
        assert!(
            is_emf(&doc) && !is_log(&doc),
            "a dev-server stdout line is JSON but not an EMF document: {line}\n{output}"
        );
        emf.push(doc);
    }

    let messages: Vec<&str> = pretty.iter().map(|(_, p)| p.message).collect();
    assert_eq!(
        messages,
        ["request", "looking up user", "request"],
        "{output}"
    );
    for (line, p) in &pretty {
        assert_eq!(p.level, "INFO", "{line}");
        assert!(p.fields.starts_with(" service=greeter "), "{line}");
        assert!(p.fields.contains(" request_id="), "{line}");
        // The Lambda context keys are for CloudWatch; in a terminal they are left out.
        for key in [
            "function_arn=",
            "function_memory_size=",
            "function_request_id=",
        ] {
            assert!(
                !p.fields.contains(key),
                "a pretty line carries the Lambda key {key}: {line}"
            );
        }
    }
    let (hello, traced, user) = (&pretty[0].1, &pretty[1].1, &pretty[2].1);
    for needle in [
        " method=GET",
        " route=/hello ",
        " path=/hello ",
        " status=200 ",
    ] {
        assert!(
            hello.fields.contains(needle),
            "{needle:?} in {}",
            pretty[0].0
        );
    }
    for needle in [" route=/users/{id} ", " path=/users/7 ", " status=200 "] {
        assert!(
            user.fields.contains(needle),
            "{needle:?} in {}",
            pretty[2].0
        );
    }
    assert!(
        traced.fields.contains(" target=observability"),
        "{}",
        pretty[1].0
    );

    // Metrics still go to stdout as EMF in dev mode: the /hello invocation's document and the
    // process's ColdStart document (function name `local` outside Lambda).
    for doc in &emf {
        assert_emf_document(doc, started, finished);
    }
    let docs: Vec<Value> = emf.iter().map(normalised).collect();
    assert_eq!(
        docs,
        [greetings_document(), cold_start_document("local")],
        "{output}"
    );
}

/// The example on the dev server with `LIFT_CLOUDWATCH_METRICS=1` and the SDK pointed at
/// `endpoint`: JSON log lines, test credentials.
fn with_cloudwatch_metrics(endpoint: &str) -> (Proc, u16) {
    with_cloudwatch(endpoint, &[("LIFT_CLOUDWATCH_METRICS", "1")])
}

/// The example on the dev server with the SDK pointed at `endpoint`, `env` added.
fn with_cloudwatch(endpoint: &str, env: &[(&str, &str)]) -> (Proc, u16) {
    let port = free_port();
    let mut cmd = Command::new(example_bin_named(NAME));
    cmd.env("LIFT_PORT", port.to_string())
        .env("LIFT_LOG_FORMAT", "json")
        .env("POWERTOOLS_SERVICE_NAME", SERVICE)
        .env("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
        .envs(env.iter().copied())
        .envs(common::sdk_env(endpoint))
        .env("AWS_MAX_ATTEMPTS", "1");
    for var in [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_PROFILE",
    ] {
        cmd.env_remove(var);
    }
    let mut proc = Proc::spawn("observability (CloudWatch exporters)", cmd);
    proc.wait_for_port(port);
    (proc, port)
}

#[test]
fn cloudwatch_metrics_fall_back_to_emf_on_stdout_when_unreachable() {
    // Nothing listens there: every PutMetricData call fails to connect.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let started = now_ms();
    let (mut proc, port) = with_cloudwatch_metrics(&dead);
    let resp = http(port, "GET", "/hello?name=Ada", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
    let lines = proc.wait_for_stdout_lines("the Greetings document on stdout", |lines| {
        lines.iter().any(|l| l.contains(r#""Greetings""#))
    });
    let doc: Value = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l.get("Greetings").is_some())
        .unwrap();
    // The same metrics the EMF writer would have written, in a valid document: the one
    // flush's metrics (the cold start too) share it, one directive per dimension set.
    assert_emf_document(&doc, started, now_ms());
    let expected = greetings_document();
    assert_eq!(doc["Greetings"], expected["Greetings"]);
    assert_eq!(doc["NameLength"], expected["NameLength"]);
    let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert!(
        directives.contains(&expected["_aws"]["CloudWatchMetrics"][0]),
        "{directives:?}"
    );
    assert!(lines.iter().any(|l| l.contains(r#""message":"request""#)));
    proc.assert_running();
}

#[test]
fn cloudwatch_metrics_reach_cloudwatch_and_leave_stdout() {
    let (_moto, moto_port) = common::moto();
    let (_proxy, proxy_port) = common::aws_proxy(moto_port);

    let (mut proc, port) = with_cloudwatch_metrics(&format!("http://127.0.0.1:{proxy_port}"));
    let resp = http(port, "GET", "/hello?name=Ada", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
    let target = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("X-Amz-Target", "GraniteServiceVersion20100801.ListMetrics"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0",
        ),
    ];
    let mut names = Vec::new();
    for _ in 0..200 {
        let listed = http(
            moto_port,
            "POST",
            "/",
            &target,
            br#"{"Namespace":"Lift/Examples"}"#,
        )
        .json();
        names = listed["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["MetricName"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        if names.len() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(names, ["ColdStart", "Greetings", "NameLength"]);
    // Log lines stay on stdout; no EMF document does.
    proc.assert_running();
    let out = proc.stdout_lines();
    assert!(
        out.iter().any(|l| l.contains(r#""message":"request""#)),
        "{out:?}"
    );
    assert!(out.iter().all(|l| !l.starts_with(r#"{"_aws""#)), "{out:?}");
}

#[test]
fn cloudwatch_logs_receive_the_log_lines_and_emf_stays_on_stdout() {
    let (_moto, moto_port) = common::moto();
    let (mut proc, port) = with_cloudwatch(
        &format!("http://127.0.0.1:{moto_port}"),
        &[("LIFT_CLOUDWATCH_LOG_GROUP", "/lift/examples/observability")],
    );
    let resp = http(port, "GET", "/hello?name=Ada", &[], b"");
    assert_eq!(resp.status, 200, "{resp:?}");
    let target = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "Logs_20140328.FilterLogEvents"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0",
        ),
    ];
    let mut messages: Vec<Value> = Vec::new();
    for _ in 0..200 {
        let found = http(
            moto_port,
            "POST",
            "/",
            &target,
            br#"{"logGroupName":"/lift/examples/observability"}"#,
        );
        if found.status == 200 {
            messages = found.json()["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| serde_json::from_str(e["message"].as_str().unwrap()).unwrap())
                .collect();
            if messages.iter().any(|m| m["message"] == "request") {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let request = messages
        .iter()
        .find(|m| m["message"] == "request")
        .unwrap_or_else(|| panic!("no request line in CloudWatch Logs: {messages:?}"));
    assert_eq!(request["path"], "/hello");
    assert_eq!(request["status"], 200);
    // The log lines went to CloudWatch Logs only; the EMF documents stayed on stdout.
    let lines = proc.wait_for_stdout_lines("the Greetings document", |lines| {
        lines.iter().any(|l| l.contains(r#""Greetings""#))
    });
    assert!(
        lines.iter().all(|l| !l.contains(r#""message":"request""#)),
        "{lines:?}"
    );
    proc.assert_running();
}

/// The `request` lines moto holds in `group`.
fn request_lines(moto_port: u16, group: &str) -> Vec<Value> {
    let target = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "Logs_20140328.FilterLogEvents"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0",
        ),
    ];
    let body = json!({ "logGroupName": group }).to_string();
    let found = http(moto_port, "POST", "/", &target, body.as_bytes());
    if found.status != 200 {
        return Vec::new();
    }
    found.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e["message"].as_str()?).ok())
        .filter(|m| m["message"] == "request")
        .collect()
}

#[test]
fn lines_held_across_invocations_are_delivered_at_sigterm() {
    let (_moto, moto_port) = common::moto();
    let group = "/lift/examples/held";
    let sdk = common::sdk_env(&format!("http://127.0.0.1:{moto_port}"));
    let mut env = vec![
        ("LIFT_CLOUDWATCH_LOG_GROUP", group),
        ("LIFT_CLOUDWATCH_LOGS_BATCH", "1"),
        ("POWERTOOLS_SERVICE_NAME", SERVICE),
        ("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE),
    ];
    env.extend(sdk.iter().map(|(k, v)| (*k, v.as_str())));
    // The warm-up invocation is the first `GET /hello?name=Ada`.
    let mut emu = Emulator::start_function(NAME, &env);
    for _ in 0..3 {
        let reply = emu.invoke_ok("hello-v2.json");
        assert_eq!(LambdaHttp::parse(&reply).status, 200);
    }
    // Under the thresholds (1,000 lines, 256 KiB, 10 s), nothing has been sent yet.
    assert_eq!(request_lines(moto_port, group).len(), 0);

    emu.function().signal("TERM");
    let status = emu.function().wait_exit(std::time::Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit status\n{}", emu.output());
    let lines = request_lines(moto_port, group);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines.iter().all(|l| l["path"] == "/hello"), "{lines:?}");
}

/// `authorizer-jwt-v2.json` (`GET /me` behind an HTTP API JWT authorizer) for another caller.
fn me_event(tenant: &str, user: &str) -> Vec<u8> {
    let mut event = common::fixture_json("authorizer-jwt-v2.json");
    let claims = &mut event["requestContext"]["authorizer"]["jwt"]["claims"];
    claims["tenant_id"] = json!(tenant);
    claims["sub"] = json!(user);
    event.to_string().into_bytes()
}

#[test]
fn tenant_streams_keep_each_tenants_lines_apart() {
    let (_moto, moto_port) = common::moto();
    let group = "/lift/examples/tenants";
    let sdk = common::sdk_env(&format!("http://127.0.0.1:{moto_port}"));
    let mut env = vec![
        ("LIFT_CLOUDWATCH_LOG_GROUP", group),
        ("LIFT_CLOUDWATCH_TENANT_STREAMS", "1"),
        ("POWERTOOLS_SERVICE_NAME", SERVICE),
        ("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE),
    ];
    env.extend(sdk.iter().map(|(k, v)| (*k, v.as_str())));
    // The warm-up is `GET /hello?name=Ada`, with no tenant.
    let mut emu = Emulator::start_function(NAME, &env);
    let callers = [
        ("initech", "user-7"),
        ("acme", "user-9"),
        ("initech", "user-8"),
    ];
    for (tenant, user) in callers {
        let reply = emu.invoke_raw(&me_event(tenant, user));
        let reply = LambdaHttp::parse(&reply.json());
        assert_eq!(reply.status, 200, "{reply:?}\n{}", emu.output());
        assert_eq!(reply.json(), json!({ "user": user, "tenant": tenant }));
    }

    let mut found = Vec::new();
    for _ in 0..200 {
        found = common::log_streams(moto_port, group);
        let lines: usize = found.iter().map(|(_, m)| m.len()).sum();
        if found.len() == 3 && lines >= 8 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(found.len(), 3, "{found:#?}\n{}", emu.output());
    // `<date>/observability/<instance>`, and the same with `/<tenant>` after it.
    let base = found[0].0.clone();
    assert_eq!(found[1].0, format!("{base}/acme"));
    assert_eq!(found[2].0, format!("{base}/initech"));
    let summary = |messages: &[Value]| -> Vec<(String, Value, Value)> {
        messages
            .iter()
            .map(|m| {
                (
                    m["message"].as_str().unwrap().to_owned(),
                    m["tenant_id"].clone(),
                    m["user_id"].clone(),
                )
            })
            .collect()
    };
    let request = |path: &str| json!(path);
    assert_eq!(
        summary(&found[0].1),
        [
            (DURATION_WARNING.to_owned(), Value::Null, Value::Null),
            ("request".to_owned(), Value::Null, Value::Null)
        ],
        "{:#?}",
        found[0].1
    );
    assert_eq!(found[0].1[1]["path"], request("/hello"));
    let line =
        |message: &str, tenant: &str, user: &str| (message.to_owned(), json!(tenant), json!(user));
    assert_eq!(
        summary(&found[1].1),
        [
            line("caller", "acme", "user-9"),
            line("request", "acme", "user-9")
        ]
    );
    assert_eq!(
        summary(&found[2].1),
        [
            line("caller", "initech", "user-7"),
            line("request", "initech", "user-7"),
            line("caller", "initech", "user-8"),
            line("request", "initech", "user-8"),
        ]
    );
    emu.assert_running();
}
