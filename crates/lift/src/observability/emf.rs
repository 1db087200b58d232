//! CloudWatch Embedded Metric Format documents, rendered from metrics records.
//!
//! One EMF document can hold only one value per dimension name, so each dimension-value set
//! ([`MetricsRecord`]) is one `CloudWatchMetrics` directive, and records share a document only
//! when they agree: the same namespace, the same value for every dimension name they both have,
//! and no root member (dimension or metric name) meaning two things. A document holds at most
//! 100 metrics; a record with more is split over several documents. A histogram has at most 100
//! values by construction (see `histogram.rs`), so one histogram is never split.
//!
//! Written by hand rather than through `serde_json::Value`: each document is built straight into
//! one buffer, with no intermediate tree.

use std::io::Write;

use super::json_out::write_str as json_str;
use super::record::{MetricDatum, MetricValue, MetricsRecord};
use super::unit::Resolution;

/// At most this many metrics in one document.
pub(crate) const MAX_METRICS: usize = 100;

fn json_f64(buf: &mut Vec<u8>, v: f64) {
    // A sum of finite values can overflow to infinity, which JSON cannot hold (it would be
    // written `null`): it saturates at the largest finite value instead.
    let v = if v.is_infinite() {
        f64::MAX.copysign(v)
    } else {
        v
    };
    let _ = serde_json::to_writer(&mut *buf, &v);
}

/// A record's share of a document: its dimensions and some of its metrics.
struct Part<'a> {
    record: &'a MetricsRecord,
    metrics: &'a [MetricDatum],
}

/// Whether two parts can share a document.
fn compatible(a: &Part<'_>, b: &Part<'_>) -> bool {
    let (ra, rb) = (a.record, b.record);
    let dims_agree = ra
        .dimensions
        .iter()
        .all(|(k, v)| rb.dimensions.iter().all(|(k2, v2)| k != k2 || v == v2));
    let names_apart = a.metrics.iter().all(|m| {
        !b.metrics.iter().any(|n| n.name == m.name)
            && !rb.dimensions.iter().any(|(k, _)| *k == m.name)
    }) && b
        .metrics
        .iter()
        .all(|n| !ra.dimensions.iter().any(|(k, _)| *k == n.name));
    ra.namespace == rb.namespace && dims_agree && names_apart
}

/// The documents for `records`, in order.
pub(crate) fn documents(
    ts: u64,
    records: &[MetricsRecord],
    trace_id: Option<&str>,
) -> Vec<Vec<u8>> {
    let parts = records.iter().flat_map(|r| {
        r.metrics.chunks(MAX_METRICS).map(move |m| Part {
            record: r,
            metrics: m,
        })
    });
    let mut docs: Vec<Vec<Part<'_>>> = Vec::new();
    for part in parts {
        let fits = docs.last().is_some_and(|doc: &Vec<Part<'_>>| {
            doc.iter().map(|p| p.metrics.len()).sum::<usize>() + part.metrics.len() <= MAX_METRICS
                && doc.iter().all(|p| compatible(p, &part))
        });
        match docs.last_mut() {
            Some(doc) if fits => doc.push(part),
            _ => docs.push(vec![part]),
        }
    }
    docs.iter().map(|d| document(ts, d, trace_id)).collect()
}

fn document(ts: u64, parts: &[Part<'_>], trace_id: Option<&str>) -> Vec<u8> {
    let mut b = Vec::with_capacity(256 + 64 * parts.iter().map(|p| p.metrics.len()).sum::<usize>());
    let _ = write!(b, "{{\"_aws\":{{\"Timestamp\":{ts},\"CloudWatchMetrics\":[");
    let mut root: Vec<(&str, &str)> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(b"{\"Namespace\":");
        json_str(&mut b, &p.record.namespace);
        b.extend_from_slice(b",\"Dimensions\":[[");
        for (j, (k, v)) in p.record.dimensions.iter().enumerate() {
            if j > 0 {
                b.push(b',');
            }
            json_str(&mut b, k);
            if !root.iter().any(|(x, _)| x == k) {
                root.push((k, v));
            }
        }
        b.extend_from_slice(b"]],\"Metrics\":[");
        for (j, m) in p.metrics.iter().enumerate() {
            if j > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"Name\":");
            json_str(&mut b, &m.name);
            b.extend_from_slice(b",\"Unit\":");
            json_str(&mut b, m.unit.as_str());
            if m.resolution == Resolution::High {
                b.extend_from_slice(b",\"StorageResolution\":1");
            }
            b.push(b'}');
        }
        b.extend_from_slice(b"]}");
    }
    b.extend_from_slice(b"]}");
    for (k, v) in &root {
        b.push(b',');
        json_str(&mut b, k);
        b.push(b':');
        json_str(&mut b, v);
    }
    for p in parts {
        for m in p.metrics {
            b.push(b',');
            json_str(&mut b, &m.name);
            b.push(b':');
            value(&mut b, &m.value);
        }
    }
    if let Some(t) = trace_id {
        // A property, not a dimension: it links the document to its trace.
        b.extend_from_slice(b",\"xray_trace_id\":");
        json_str(&mut b, t);
    }
    b.push(b'}');
    b
}

fn value(b: &mut Vec<u8>, v: &MetricValue) {
    match v {
        MetricValue::Counter(v) | MetricValue::Gauge(v) => json_f64(b, *v),
        MetricValue::Histogram(h) => {
            b.extend_from_slice(b"{\"Values\":[");
            for (i, v) in h.values.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                json_f64(b, *v);
            }
            b.extend_from_slice(b"],\"Counts\":[");
            for (i, n) in h.counts.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                b.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
            }
            b.extend_from_slice(b"],\"Max\":");
            json_f64(b, h.max);
            b.extend_from_slice(b",\"Min\":");
            json_f64(b, h.min);
            b.extend_from_slice(b",\"Count\":");
            b.extend_from_slice(itoa::Buffer::new().format(h.count).as_bytes());
            b.extend_from_slice(b",\"Sum\":");
            json_f64(b, h.sum);
            b.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::{HistogramValue, Unit};

    fn datum(name: &str, value: MetricValue) -> MetricDatum {
        MetricDatum {
            name: name.to_owned().into(),
            unit: Unit::Count,
            resolution: Resolution::Standard,
            value,
        }
    }

    fn record(dims: &[(&str, &str)], metrics: Vec<MetricDatum>) -> MetricsRecord {
        MetricsRecord {
            namespace: "NS".into(),
            dimensions: dims
                .iter()
                .map(|(k, v)| ((*k).to_owned().into(), (*v).into()))
                .collect(),
            metrics,
        }
    }

    #[test]
    fn one_document_exact() {
        let c = datum("Requests", MetricValue::Counter(2.0));
        let mut h = datum(
            "Latency",
            MetricValue::Histogram(HistogramValue {
                values: vec![1.5, 3.0],
                counts: vec![2, 1],
                max: 3.0,
                min: 1.5,
                count: 3,
                sum: 6.0,
            }),
        );
        h.unit = Unit::Milliseconds;
        h.resolution = Resolution::High;
        let docs = documents(
            1700000000000,
            &[record(&[("service", "svc"), ("tenant", "t1")], vec![c, h])],
            Some("1-5759e988-bd862e3fe1be46a994272793"),
        );
        assert_eq!(docs.len(), 1);
        assert_eq!(
            String::from_utf8(docs[0].clone()).unwrap(),
            r#"{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"NS","Dimensions":[["service","tenant"]],"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds","StorageResolution":1}]}]},"service":"svc","tenant":"t1","Requests":2.0,"Latency":{"Values":[1.5,3.0],"Counts":[2,1],"Max":3.0,"Min":1.5,"Count":3,"Sum":6.0},"xray_trace_id":"1-5759e988-bd862e3fe1be46a994272793"}"#
        );
    }

    #[test]
    fn splits_at_100_metrics() {
        let many: Vec<MetricDatum> = (0..150)
            .map(|i| datum(&format!("m{i}"), MetricValue::Counter(1.0)))
            .collect();
        let docs = documents(1, &[record(&[("service", "s")], many)], None);
        let counts: Vec<usize> = docs
            .iter()
            .map(|d| {
                serde_json::from_slice::<serde_json::Value>(d).unwrap()["_aws"]["CloudWatchMetrics"]
                    [0]["Metrics"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .collect();
        assert_eq!(counts, vec![100, 50]);
    }

    #[test]
    fn records_share_a_document_unless_a_name_would_mean_two_things() {
        let main = record(
            &[("service", "s")],
            vec![datum("Hits", MetricValue::Counter(1.0))],
        );
        let route = record(
            &[("service", "s"), ("route", "/x")],
            vec![datum("Requests", MetricValue::Counter(1.0))],
        );
        let docs = documents(1, &[main.clone(), route.clone()], None);
        assert_eq!(docs.len(), 1);
        assert_eq!(
            String::from_utf8(docs[0].clone()).unwrap(),
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"NS","Dimensions":[["service"]],"Metrics":[{"Name":"Hits","Unit":"Count"}]},{"Namespace":"NS","Dimensions":[["service","route"]],"Metrics":[{"Name":"Requests","Unit":"Count"}]}]},"service":"s","route":"/x","Hits":1.0,"Requests":1.0}"#
        );
        // The same metric name in both: two documents.
        let same = record(
            &[("service", "s")],
            vec![datum("Requests", MetricValue::Counter(1.0))],
        );
        assert_eq!(documents(1, &[same, route], None).len(), 2);
        // A dimension with two values (two tenants): two documents.
        let a = record(
            &[("tenant", "a")],
            vec![datum("Hits", MetricValue::Counter(1.0))],
        );
        let b = record(
            &[("tenant", "b")],
            vec![datum("Hits2", MetricValue::Counter(1.0))],
        );
        assert_eq!(documents(1, &[a, b], None).len(), 2);
    }
}
