//! Lift's EMF histograms beside what AWS's own EMF libraries write for the same values.
//!
//! `aws-embedded-metrics` (Python, installed in the test venv by scripts/setup.sh) writes raw
//! values, at most 100 per document, and has no histogram type; `aws-embedded-metrics-java`'s
//! `Histogram` writes `{"Values","Counts","Max","Min","Count","Sum"}` with log-scale bins. The
//! script `py/aws_emf_histogram.py` gives both for a list of values: the Python library's
//! documents, and the Java library's bins computed with Python's `math`. For each list, Lift's
//! one document must be valid EMF, its `Max`, `Min`, `Count` and `Sum` must equal the statistics
//! of every value the Python library wrote (over all its documents), and its `Values`/`Counts`
//! must be those exact values (at most 100 distinct) or the Java library's bins (101 and 1,000
//! distinct values).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{assert_emf_document, now_ms, run_bounded, venv_python, workspace_root};
use lift::observability::{MemoryExporter, Observability, Unit};
use lift::prelude::*;
use lift::testing::{invoke, TestRequest};
use serde_json::{json, Value};

/// What the reference script prints for `values`.
fn reference(values: &[f64]) -> Value {
    let script = workspace_root().join("tests/e2e/py/aws_emf_histogram.py");
    let mut cmd = Command::new(venv_python());
    cmd.arg(&script)
        .arg(json!({ "values": values }).to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("AWS_EMF_ENVIRONMENT", "Local");
    let out = run_bounded("aws_emf_histogram.py", cmd);
    assert!(
        out.status.success(),
        "the reference script failed ({}). Is aws-embedded-metrics installed in the venv? Run \
         scripts/setup.sh.\nstdout: {}\nstderr: {}",
        out.status,
        out.stdout,
        out.stderr
    );
    serde_json::from_str(out.stdout.trim()).unwrap()
}

/// Lift's EMF documents for `values` recorded into one histogram in one invocation.
async fn lift_documents(values: &[f64]) -> Vec<Value> {
    let mem = MemoryExporter::new();
    let recorded = values.to_vec();
    let app = App::new()
        .observability(
            Observability::new()
                .service("svc")
                .namespace("NS")
                .cold_start_metric(false)
                .export_to(mem.clone()),
        )
        .get("/", move |ctx: Context| {
            let recorded = recorded.clone();
            async move {
                let h = ctx.metrics().histogram("Latency", Unit::Milliseconds);
                for v in recorded {
                    h.record(v);
                }
                "ok"
            }
        })
        .build()
        .unwrap();
    invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    mem.metrics()
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

async fn compare(values: Vec<f64>, distinct: usize) {
    let started = now_ms();
    let reference = reference(&values);
    let docs = lift_documents(&values).await;
    // One histogram is never split across documents.
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let doc = &docs[0];
    assert_emf_document(doc, started, now_ms());
    let h = &doc["Latency"];

    // Every value the Python library wrote, over all its documents (100 per document).
    let written: Vec<f64> = reference["documents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| match &d["Latency"] {
            Value::Array(_) => nums(&d["Latency"]),
            one => vec![one.as_f64().unwrap()],
        })
        .collect();
    assert_eq!(
        reference["documents"].as_array().unwrap().len(),
        values.len().div_ceil(100)
    );
    assert_eq!(written.len(), values.len());
    let max = written.iter().copied().fold(f64::MIN, f64::max);
    let min = written.iter().copied().fold(f64::MAX, f64::min);
    let sum: f64 = written.iter().sum();
    assert_eq!(h["Count"], json!(written.len()));
    assert_eq!(h["Max"].as_f64().unwrap(), max);
    assert_eq!(h["Min"].as_f64().unwrap(), min);
    assert!(
        (h["Sum"].as_f64().unwrap() - sum).abs() <= sum.abs() * 1e-12,
        "{h}"
    );

    let (lift_values, lift_counts) = (nums(&h["Values"]), nums(&h["Counts"]));
    if distinct <= 100 {
        // Exact: the distinct values written, with how often each was.
        let mut want: Vec<(f64, f64)> = Vec::new();
        let mut sorted = written.clone();
        sorted.sort_by(f64::total_cmp);
        for v in sorted {
            match want.last_mut() {
                Some((x, n)) if *x == v => *n += 1.0,
                _ => want.push((v, 1.0)),
            }
        }
        let got: Vec<(f64, f64)> = lift_values.into_iter().zip(lift_counts).collect();
        assert_eq!(got, want);
    } else {
        // The Java library's bins, to the last digit or two (`exp` may round differently).
        let bins = reference["java_bins"].as_array().unwrap();
        assert!(bins.len() <= 100);
        assert_eq!(lift_values.len(), bins.len(), "{h}");
        for ((v, n), bin) in lift_values.iter().zip(&lift_counts).zip(bins) {
            let (bv, bn) = (bin[0].as_f64().unwrap(), bin[1].as_f64().unwrap());
            assert!(((v - bv) / bv).abs() < 1e-12, "bin {v} vs {bv}");
            assert_eq!(*n, bn, "count of bin {bv}");
        }
    }
}

#[tokio::test]
async fn up_to_100_distinct_values_are_exact() {
    // 100 distinct values, some repeated: 150 observations.
    let values: Vec<f64> = (0..150).map(|i| f64::from(i % 100) * 0.5 + 1.0).collect();
    compare(values, 100).await;
}

#[tokio::test]
async fn with_101_distinct_values_the_java_bins_are_written() {
    let values: Vec<f64> = (1..=101).map(f64::from).collect();
    compare(values, 101).await;
}

#[tokio::test]
async fn with_1000_distinct_values_the_java_bins_are_written() {
    let values: Vec<f64> = (1..=1000).map(|i| f64::from(i) * 0.37).collect();
    compare(values, 1000).await;
}
