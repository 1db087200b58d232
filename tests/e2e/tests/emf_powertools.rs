//! Lift's EMF documents against those of Powertools for AWS Lambda (Python), the reference
//! implementation, for the same metrics.
//!
//! `tests/e2e/py/powertools_emf.py` records, with `aws_lambda_powertools.Metrics`, in one
//! invocation: dimension `tenant=acme`, `Requests` (Count) 1 then 2, `Latency` (Milliseconds)
//! 1.5, 1.5, 3.0, `Bytes` (Bytes) 10 and the high-resolution `QueueWait` (Milliseconds) 0.25,
//! and prints what Powertools flushes: a `ColdStart` document and the metrics document. The same
//! metrics go through a Lift app in-process (`lift::testing::invoke`, a `MemoryExporter`).
//!
//! Both sides' documents must be valid EMF (see `common::assert_emf_document`), and must agree
//! on what CloudWatch extracts from them: the namespace, the dimension sets (as sets of names),
//! the dimension values, each metric's Name, Unit and StorageResolution, and the root members.
//! Values are compared by the metric's kind in Lift:
//!
//! - counters (`Requests`): by SUM. Lift adds a counter's values within an invocation and writes
//!   one number (3); Powertools keeps every value (`[1.0, 2.0]`). CloudWatch's Sum, Minimum and
//!   Maximum of the pair agree on Sum only, and SampleCount is 1 against 2: that is the
//!   documented meaning of a Lift counter, not a mismatch.
//! - histograms and gauges (`Latency`, `QueueWait`, `Bytes`) and `ColdStart`: by the multiset of
//!   values, expanding Lift's histograms (`{"Values": [...], "Counts": [...], ...}`) and Powertools' arrays, so
//!   every CloudWatch statistic agrees.

// Tests fail by panicking, with a message; that is what these are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use common::{
    assert_emf_document, now_ms, run_bounded, venv_python, workspace_root, Emf, EmfMetric,
};
use lift::observability::{MemoryExporter, Observability, Unit};
use lift::prelude::*;
use lift::testing::{invoke, TestRequest};
use serde_json::{json, Value};

/// The Powertools version scripts/setup.sh pins.
const POWERTOOLS_VERSION: &str = "3.37.0";

/// How each metric's values are compared (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// A Lift counter: compare the sums.
    Sum,
    /// Compare the multisets of values.
    Multiset,
}

fn rule(metric: &str) -> Rule {
    match metric {
        "Requests" => Rule::Sum,
        "Latency" | "QueueWait" | "Bytes" | "ColdStart" => Rule::Multiset,
        other => panic!("metric {other:?} has no comparison rule: add it to rule()"),
    }
}

/// Runs the Powertools script; returns its documents.
fn powertools_documents() -> Vec<Value> {
    let python = venv_python();
    let script = workspace_root().join("tests/e2e/py/powertools_emf.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8");
    // Powertools reads these; the script must see none of the caller's.
    for var in [
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_METRICS_FUNCTION_NAME",
        "POWERTOOLS_METRICS_DISABLED",
        "POWERTOOLS_DEV",
    ] {
        cmd.env_remove(var);
    }
    let out = run_bounded("powertools_emf.py", cmd);
    assert!(
        out.status.success(),
        "{} {} failed ({}). Is aws-lambda-powertools=={POWERTOOLS_VERSION} installed in the venv? \
         Run scripts/setup.sh.\nstdout: {}\nstderr: {}",
        python.display(),
        script.display(),
        out.status,
        out.stdout,
        out.stderr
    );
    let printed: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "powertools_emf.py printed no JSON ({e})\nstdout: {}\nstderr: {}",
            out.stdout, out.stderr
        )
    });
    assert_eq!(
        printed["powertools_version"], POWERTOOLS_VERSION,
        "the venv holds another aws-lambda-powertools than scripts/setup.sh pins: rerun it"
    );
    printed["documents"]
        .as_array()
        .unwrap_or_else(|| panic!("no `documents` array in {printed}"))
        .clone()
}

async fn record(ctx: Context) -> &'static str {
    let m = ctx.metrics();
    m.add_dimension("tenant", "acme").unwrap();
    let requests = m.counter("Requests");
    requests.add(1.0);
    requests.add(2.0);
    let latency = m.histogram("Latency", Unit::Milliseconds);
    for v in [1.5, 1.5, 3.0] {
        latency.record(v);
    }
    m.gauge("Bytes", Unit::Bytes).set(10.0);
    m.histogram("QueueWait", Unit::Milliseconds)
        .high_resolution()
        .record(0.25);
    "ok"
}

/// One invocation of a Lift app recording the same metrics; returns its EMF documents.
async fn lift_documents() -> Vec<Value> {
    let mem = MemoryExporter::new();
    let obs = Observability::new()
        .service("svc")
        .namespace("Lift/Compare")
        .export_to(mem.clone());
    let app = App::new()
        .observability(obs)
        .get("/compare", record)
        .build()
        .unwrap();
    let res = invoke(&app, TestRequest::get("/compare").v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.raw());
    assert_eq!(res.text(), "ok");
    // Nothing rejected: Lift would have logged a `metrics were rejected` warning.
    assert!(
        mem.logs().is_empty(),
        "unexpected log lines: {:?}",
        mem.logs()
    );
    mem.metrics()
}

/// The document among `docs` that defines `metric`; exactly one must.
fn with_metric<'a>(who: &str, docs: &'a [Emf], metric: &str) -> &'a Emf {
    let found: Vec<&Emf> = docs
        .iter()
        .filter(|d| d.metric_names().contains(&metric))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{who}: exactly one document must define {metric:?}: {:#?}",
        docs.iter().map(|d| &d.raw).collect::<Vec<_>>()
    );
    found[0]
}

/// The metric definitions by name.
fn definitions(doc: &Emf) -> BTreeMap<String, EmfMetric> {
    doc.directive()
        .metrics
        .iter()
        .map(|m| (m.name.clone(), m.clone()))
        .collect()
}

/// Asserts the two documents tell CloudWatch the same thing (see the module docs).
fn assert_same_metrics(what: &str, lift: &Emf, pt: &Emf) {
    let context = format!("{what}\nLift:       {}\nPowertools: {}", lift.raw, pt.raw);
    let (ld, pd) = (lift.directive(), pt.directive());
    assert_eq!(ld.namespace, pd.namespace, "Namespace\n{context}");
    assert_eq!(
        ld.dimension_sets(),
        pd.dimension_sets(),
        "dimension sets\n{context}"
    );
    for name in ld.dimension_sets().iter().flatten() {
        assert_eq!(
            lift.raw[name], pt.raw[name],
            "value of dimension {name:?}\n{context}"
        );
    }
    assert_eq!(
        definitions(lift),
        definitions(pt),
        "metric definitions (Name, Unit, StorageResolution)\n{context}"
    );
    let root = |doc: &Emf| -> BTreeSet<String> {
        doc.raw
            .as_object()
            .unwrap()
            .keys()
            // `xray_trace_id` links Lift's document to its trace; Powertools writes no such
            // property unless asked.
            .filter(|k| *k != "_aws" && *k != "xray_trace_id")
            .cloned()
            .collect()
    };
    assert_eq!(
        root(lift),
        root(pt),
        "root members (dimensions and metrics)\n{context}"
    );
    for name in definitions(lift).keys() {
        let (mut lv, mut pv) = (lift.values(name), pt.values(name));
        match rule(name) {
            Rule::Sum => {
                let (ls, ps): (f64, f64) = (lv.iter().sum(), pv.iter().sum());
                assert!(
                    (ls - ps).abs() < 1e-9,
                    "sum of counter {name:?}: Lift {ls} ({lv:?}), Powertools {ps} ({pv:?})\n{context}"
                );
            }
            Rule::Multiset => {
                lv.sort_by(f64::total_cmp);
                pv.sort_by(f64::total_cmp);
                assert_eq!(lv, pv, "values of {name:?}\n{context}");
            }
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn lift_emf_matches_powertools() {
    let started = now_ms();
    let pt_raw = powertools_documents();
    let lift_raw = lift_documents().await;
    let finished = now_ms();

    let pt: Vec<Emf> = pt_raw
        .iter()
        .map(|d| assert_emf_document(d, started, finished))
        .collect();
    let lift: Vec<Emf> = lift_raw
        .iter()
        .map(|d| assert_emf_document(d, started, finished))
        .collect();
    assert_eq!(
        pt.len(),
        2,
        "Powertools: ColdStart and metrics: {pt_raw:#?}"
    );
    assert_eq!(lift.len(), 2, "Lift: metrics and ColdStart: {lift_raw:#?}");

    assert_same_metrics(
        "the invocation's metrics",
        with_metric("Lift", &lift, "Requests"),
        with_metric("Powertools", &pt, "Requests"),
    );
    assert_same_metrics(
        "the cold-start metric",
        with_metric("Lift", &lift, "ColdStart"),
        with_metric("Powertools", &pt, "ColdStart"),
    );

    // The shapes differ where the kinds differ, and only there (pinned Powertools version):
    // Powertools writes every metric as an array of values; Lift writes a counter or a gauge as
    // one number and a histogram as Values/Counts.
    let lift_doc = &with_metric("Lift", &lift, "Requests").raw;
    let pt_doc = &with_metric("Powertools", &pt, "Requests").raw;
    assert_eq!(lift_doc["Requests"], json!(3.0), "{lift_doc}");
    assert_eq!(pt_doc["Requests"], json!([1.0, 2.0]), "{pt_doc}");
    assert_eq!(
        lift_doc["Latency"],
        json!({"Values": [1.5, 3.0], "Counts": [2, 1], "Max": 3.0, "Min": 1.5, "Count": 3, "Sum": 6.0}),
        "{lift_doc}"
    );
    assert_eq!(pt_doc["Latency"], json!([1.5, 1.5, 3.0]), "{pt_doc}");
    assert_eq!(lift_doc["Bytes"], json!(10.0), "{lift_doc}");
    assert_eq!(pt_doc["Bytes"], json!([10.0]), "{pt_doc}");
    assert_eq!(
        lift_doc["QueueWait"],
        json!({"Values": [0.25], "Counts": [1], "Max": 0.25, "Min": 0.25, "Count": 1, "Sum": 0.25}),
        "{lift_doc}"
    );
    assert_eq!(pt_doc["QueueWait"], json!([0.25]), "{pt_doc}");
}

/// A change made to a document to check that a difference is caught.
type Mutation = fn(&mut Value);

/// The comparison itself can fail: a document differing in one unit, one dimension, one value
/// or one storage resolution is caught.
#[test]
fn the_comparison_catches_differences() {
    let base = json!({
        "_aws": {"Timestamp": 5, "CloudWatchMetrics": [{
            "Namespace": "NS", "Dimensions": [["service", "tenant"]],
            "Metrics": [{"Name": "Requests", "Unit": "Count"},
                        {"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1}]}]},
        "service": "svc", "tenant": "acme",
        "Requests": 3.0, "Latency": {"Values": [1.5, 3.0], "Counts": [2, 1], "Max": 3.0, "Min": 1.5, "Count": 3, "Sum": 6.0}
    });
    let same = json!({
        "_aws": {"Timestamp": 6, "CloudWatchMetrics": [{
            "Namespace": "NS", "Dimensions": [["tenant", "service"]],
            "Metrics": [{"Name": "Requests", "Unit": "Count"},
                        {"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1}]}]},
        "tenant": "acme", "service": "svc",
        "Requests": [1.0, 2.0], "Latency": [3.0, 1.5, 1.5]
    });
    let emf = |v: &Value| assert_emf_document(v, 0, 10);
    assert_same_metrics("equivalent", &emf(&base), &emf(&same));

    let mutations: [(&str, Mutation); 6] = [
        ("unit", |v| {
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("None")
        }),
        ("resolution", |v| {
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]
                .as_object_mut()
                .unwrap()
                .remove("StorageResolution");
        }),
        ("dimension value", |v| v["tenant"] = json!("other")),
        ("dimension set", |v| {
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([["service"]])
        }),
        ("sum", |v| v["Requests"] = json!([1.0, 1.0])),
        ("multiset", |v| v["Latency"] = json!([1.5, 3.0, 3.0])),
    ];
    for (what, mutate) in mutations {
        let mut other = same.clone();
        mutate(&mut other);
        let (a, b) = (emf(&base), emf(&other));
        let caught = std::panic::catch_unwind(move || assert_same_metrics(what, &a, &b));
        assert!(caught.is_err(), "a different {what} went unnoticed");
    }

    // And the validator rejects what the EMF specification forbids.
    let invalid: [(&str, Mutation); 5] = [
        ("float timestamp", |v| v["_aws"]["Timestamp"] = json!(5.5)),
        ("missing dimension member", |v| {
            v.as_object_mut().unwrap().remove("tenant");
        }),
        ("missing metric member", |v| {
            v.as_object_mut().unwrap().remove("Requests");
        }),
        ("unknown unit", |v| {
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Requests")
        }),
        ("31 dimensions", |v| {
            let names: Vec<String> = (0..31).map(|i| format!("d{i}")).collect();
            for n in &names {
                v[n] = json!("x");
            }
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([names]);
        }),
    ];
    for (what, mutate) in invalid {
        let mut doc = base.clone();
        mutate(&mut doc);
        let caught = std::panic::catch_unwind(move || assert_emf_document(&doc, 0, 10));
        assert!(caught.is_err(), "the validator accepted a {what}");
    }
}
