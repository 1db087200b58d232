//! CloudWatch Embedded Metric Format documents.
//!
//! One invocation's metrics become one document, or several when the limits require: at most
//! 100 metrics per document and 100 values per metric (further values go into further
//! documents). The invocation's own metrics share one dimension set: `service`, the default
//! dimensions, the invocation's own, and `tenant` when known (after the cardinality guard).
//! Metrics recorded with a dimension set of their own (`Metrics::with_dimensions`, as the
//! request-metrics middleware does) are a second `CloudWatchMetrics` directive in the same
//! document, unless a dimension or metric name would mean two things there. The first invocation
//! of a process also writes a `ColdStart` document with dimensions `service` and
//! `function_name`, as Powertools does.
//!
//! Written by hand rather than through `serde_json::Value`: the document is built straight into
//! one buffer, with no intermediate tree.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use super::json_out::write_str as json_str;
use super::metrics::{Data, Entry, MetricSet, Resolution};
use std::sync::Arc;

use super::{Level, Logger, RecordKind, Shared};

/// At most this many metrics in one document.
pub(crate) const MAX_METRICS: usize = 100;
/// At most this many values of one metric in one document.
pub(crate) const MAX_VALUES: usize = 100;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn json_f64(buf: &mut Vec<u8>, v: f64) {
    let _ = serde_json::to_writer(&mut *buf, &v);
}

/// One metric's share of one document: a whole counter or gauge, or a slice of a histogram.
struct Part<'a> {
    entry: &'a Entry,
    values: Option<&'a [(f64, u64)]>,
}

/// Write the invocation's metrics, and the cold-start document when `cold_start_function` is
/// the function's name. Rejected records are reported in one WARN log line.
pub(crate) fn flush(
    shared: &Arc<Shared>,
    set: MetricSet,
    tenant: Option<&str>,
    cold_start_function: Option<&str>,
) {
    let ts = now_ms();
    let mut namespace = shared.namespace().to_owned();
    let mut dims = dimension_set(shared, &set.dimensions);
    let mut overflow = false;
    let resolved;
    if let Some(t) = tenant.filter(|t| !t.is_empty()) {
        let (value, folded) = shared.tenant_guard.resolve(t);
        overflow = folded;
        resolved = value;
        dims.retain(|(x, _)| *x != "tenant");
        dims.push(("tenant", &resolved));
        if shared.tenant_namespace {
            namespace = format!("{namespace}/{resolved}");
        }
    }
    let overflow_entry = Entry {
        name: "TenantOverflow".into(),
        unit: super::Unit::Count,
        resolution: Resolution::Standard,
        data: Data::Sum(1.0),
    };
    let mut entries: Vec<&Entry> = set
        .entries
        .iter()
        .filter(|e| !dims.iter().any(|(d, _)| *d == e.name))
        .collect();
    if overflow {
        entries.push(&overflow_entry);
    }
    let clashed = set.entries.len() + usize::from(overflow) - entries.len();
    let mut directives = vec![Directive { dims, entries }];
    for group in &set.groups {
        let gdims = dimension_set(shared, &group.dimensions);
        let entries: Vec<&Entry> = group
            .entries
            .iter()
            .filter(|e| !gdims.iter().any(|(d, _)| *d == e.name))
            .collect();
        // Same namespace as the invocation's own metrics (per tenant when so configured);
        // no tenant dimension, which would multiply the group's own dimensions.
        directives.push(Directive {
            dims: gdims,
            entries,
        });
    }
    directives.retain(|d| !d.entries.is_empty());
    for doc in documents(&namespace, &directives, ts) {
        shared.write(RecordKind::Metrics, &doc);
    }
    if let Some(function) = cold_start_function {
        shared.write(RecordKind::Metrics, &cold_start(shared, function, ts));
    }
    if !set.rejected.is_empty() || clashed > 0 {
        let reasons: Vec<String> = set.rejected.iter().map(ToString::to_string).collect();
        Logger::process(shared.clone()).emit(
            Level::Warn,
            "metrics were rejected",
            &[
                ("reasons", super::Field::Json(&serde_json::json!(reasons))),
                ("name_clashes_with_dimension", (clashed as u64).into()),
            ],
        );
    }
}

/// `service`, then the default dimensions, then `extra` (a later name replaces an earlier one).
fn dimension_set<'s>(shared: &'s Shared, extra: &'s [(String, String)]) -> Vec<(&'s str, &'s str)> {
    let mut dims: Vec<(&str, &str)> =
        Vec::with_capacity(2 + shared.default_dimensions.len() + extra.len());
    dims.push(("service", &shared.service));
    for (k, v) in shared.default_dimensions.iter().chain(extra.iter()) {
        dims.retain(|(x, _)| x != k);
        dims.push((k, v));
    }
    dims
}

/// One dimension set and its metrics: one `CloudWatchMetrics` directive.
struct Directive<'a> {
    dims: Vec<(&'a str, &'a str)>,
    entries: Vec<&'a Entry>,
}

/// Whether the directives can share documents: a dimension that two of them name has the same
/// value in both, and no root member (dimension or metric name) means two things.
fn compatible(directives: &[Directive<'_>]) -> bool {
    // A handful of directives with a handful of names: pairwise checks, no allocation.
    directives.iter().enumerate().all(|(i, a)| {
        directives[i + 1..].iter().all(|b| {
            let dims_agree = a
                .dims
                .iter()
                .all(|(k, v)| b.dims.iter().all(|(k2, v2)| k != k2 || v == v2));
            let names_apart = a.entries.iter().all(|e| {
                !b.entries.iter().any(|f| f.name == e.name)
                    && !b.dims.iter().any(|(k, _)| *k == e.name)
            }) && b
                .entries
                .iter()
                .all(|f| !a.dims.iter().any(|(k, _)| *k == f.name));
            dims_agree && names_apart
        })
    })
}

/// Split directives into documents that respect the per-document limits: at most 100 metrics
/// (across the directives a document holds) and 100 values per metric.
fn documents(namespace: &str, directives: &[Directive<'_>], ts: u64) -> Vec<Vec<u8>> {
    if directives.len() > 1 && !compatible(directives) {
        return directives
            .iter()
            .flat_map(|d| documents(namespace, std::slice::from_ref(d), ts))
            .collect();
    }
    let mut docs = Vec::new();
    let mut round = 0;
    loop {
        let parts: Vec<(usize, Part<'_>)> = directives
            .iter()
            .enumerate()
            .flat_map(|(i, d)| d.entries.iter().map(move |e| (i, *e)))
            .filter_map(|(i, e)| match &e.data {
                Data::Dist(values) => {
                    let start = round * MAX_VALUES;
                    (start < values.len()).then(|| {
                        let part = Part {
                            entry: e,
                            values: Some(&values[start..values.len().min(start + MAX_VALUES)]),
                        };
                        (i, part)
                    })
                }
                _ => (round == 0).then_some((
                    i,
                    Part {
                        entry: e,
                        values: None,
                    },
                )),
            })
            .collect();
        if parts.is_empty() {
            break;
        }
        for chunk in parts.chunks(MAX_METRICS) {
            docs.push(document(namespace, directives, chunk, ts));
        }
        round += 1;
    }
    docs
}

fn document(
    namespace: &str,
    directives: &[Directive<'_>],
    parts: &[(usize, Part<'_>)],
    ts: u64,
) -> Vec<u8> {
    let mut b = Vec::with_capacity(256 + 64 * parts.len());
    let _ = write!(b, "{{\"_aws\":{{\"Timestamp\":{ts},\"CloudWatchMetrics\":[");
    let mut root_dims: Vec<(&str, &str)> = Vec::new();
    let mut first_directive = true;
    for (i, d) in directives.iter().enumerate() {
        if !parts.iter().any(|(p, _)| *p == i) {
            continue;
        }
        if !first_directive {
            b.push(b',');
        }
        first_directive = false;
        b.extend_from_slice(b"{\"Namespace\":");
        json_str(&mut b, namespace);
        b.extend_from_slice(b",\"Dimensions\":[[");
        for (j, (k, v)) in d.dims.iter().enumerate() {
            if j > 0 {
                b.push(b',');
            }
            json_str(&mut b, k);
            if !root_dims.iter().any(|(x, _)| x == k) {
                root_dims.push((k, v));
            }
        }
        b.extend_from_slice(b"]],\"Metrics\":[");
        for (j, (_, p)) in parts.iter().filter(|(p, _)| *p == i).enumerate() {
            if j > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"Name\":");
            json_str(&mut b, &p.entry.name);
            b.extend_from_slice(b",\"Unit\":");
            json_str(&mut b, p.entry.unit.as_str());
            if p.entry.resolution == Resolution::High {
                b.extend_from_slice(b",\"StorageResolution\":1");
            }
            b.push(b'}');
        }
        b.extend_from_slice(b"]}");
    }
    b.extend_from_slice(b"]}");
    for (k, v) in &root_dims {
        b.push(b',');
        json_str(&mut b, k);
        b.push(b':');
        json_str(&mut b, v);
    }
    for (_, p) in parts {
        b.push(b',');
        json_str(&mut b, &p.entry.name);
        b.push(b':');
        match (&p.entry.data, p.values) {
            (Data::Sum(v) | Data::Last(v), _) => json_f64(&mut b, *v),
            (Data::Dist(_), Some(values)) => {
                b.extend_from_slice(b"{\"Values\":[");
                for (i, (v, _)) in values.iter().enumerate() {
                    if i > 0 {
                        b.push(b',');
                    }
                    json_f64(&mut b, *v);
                }
                b.extend_from_slice(b"],\"Counts\":[");
                for (i, (_, n)) in values.iter().enumerate() {
                    if i > 0 {
                        b.push(b',');
                    }
                    let _ = write!(b, "{n}");
                }
                b.extend_from_slice(b"]}");
            }
            (Data::Dist(_), None) => b.extend_from_slice(b"null"),
        }
    }
    b.push(b'}');
    b
}

fn cold_start(shared: &Shared, function: &str, ts: u64) -> Vec<u8> {
    let entry = Entry {
        name: "ColdStart".into(),
        unit: super::Unit::Count,
        resolution: Resolution::Standard,
        data: Data::Sum(1.0),
    };
    let directive = Directive {
        dims: vec![
            ("service", shared.service.as_str()),
            ("function_name", function),
        ],
        entries: vec![&entry],
    };
    let part = Part {
        entry: &entry,
        values: None,
    };
    document(
        shared.namespace(),
        std::slice::from_ref(&directive),
        &[(0, part)],
        ts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::Unit;

    fn entry(name: &str, data: Data) -> Entry {
        Entry {
            name: name.to_owned().into(),
            unit: Unit::Count,
            resolution: Resolution::Standard,
            data,
        }
    }

    fn single(ns: &str, dims: &[(&str, &str)], entries: &[&Entry], ts: u64) -> Vec<Vec<u8>> {
        documents(
            ns,
            &[Directive {
                dims: dims.to_vec(),
                entries: entries.to_vec(),
            }],
            ts,
        )
    }

    #[test]
    fn one_document_exact() {
        let c = entry("Requests", Data::Sum(2.0));
        let mut h = entry("Latency", Data::Dist(vec![(1.5, 2), (3.0, 1)]));
        h.unit = Unit::Milliseconds;
        h.resolution = Resolution::High;
        let docs = single(
            "NS",
            &[("service", "svc"), ("tenant", "t1")],
            &[&c, &h],
            1700000000000,
        );
        assert_eq!(docs.len(), 1);
        assert_eq!(
            String::from_utf8(docs[0].clone()).unwrap(),
            r#"{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"NS","Dimensions":[["service","tenant"]],"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds","StorageResolution":1}]}]},"service":"svc","tenant":"t1","Requests":2.0,"Latency":{"Values":[1.5,3.0],"Counts":[2,1]}}"#
        );
    }

    #[test]
    fn splits_at_100_metrics_and_100_values() {
        let many: Vec<Entry> = (0..150)
            .map(|i| entry(&format!("m{i}"), Data::Sum(1.0)))
            .collect();
        let refs: Vec<&Entry> = many.iter().collect();
        let docs = single("NS", &[("service", "s")], &refs, 1);
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

        let values: Vec<(f64, u64)> = (0..250).map(|i| (f64::from(i), 1)).collect();
        let h = entry("H", Data::Dist(values));
        let c = entry("C", Data::Sum(1.0));
        let docs = single("NS", &[("service", "s")], &[&h, &c], 1);
        let docs: Vec<serde_json::Value> = docs
            .iter()
            .map(|d| serde_json::from_slice(d).unwrap())
            .collect();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0]["H"]["Values"].as_array().unwrap().len(), 100);
        assert_eq!(docs[0]["C"], 1.0);
        assert_eq!(docs[1]["H"]["Values"][0], 100.0);
        assert!(docs[1].get("C").is_none());
        assert_eq!(docs[2]["H"]["Values"].as_array().unwrap().len(), 50);
        assert_eq!(docs[2]["H"]["Counts"].as_array().unwrap().len(), 50);
    }

    #[test]
    fn directives_share_a_document_unless_a_name_would_mean_two_things() {
        let a = entry("Hits", Data::Sum(1.0));
        let b = entry("Requests", Data::Sum(1.0));
        let main = Directive {
            dims: vec![("service", "s")],
            entries: vec![&a],
        };
        let route = Directive {
            dims: vec![("service", "s"), ("route", "/x")],
            entries: vec![&b],
        };
        let docs = documents("NS", &[main, route], 1);
        assert_eq!(docs.len(), 1);
        assert_eq!(
            String::from_utf8(docs[0].clone()).unwrap(),
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"NS","Dimensions":[["service"]],"Metrics":[{"Name":"Hits","Unit":"Count"}]},{"Namespace":"NS","Dimensions":[["service","route"]],"Metrics":[{"Name":"Requests","Unit":"Count"}]}]},"service":"s","route":"/x","Hits":1.0,"Requests":1.0}"#
        );
        // The same metric name in both: two documents.
        let main = Directive {
            dims: vec![("service", "s")],
            entries: vec![&b],
        };
        let route = Directive {
            dims: vec![("service", "s"), ("route", "/x")],
            entries: vec![&b],
        };
        assert_eq!(documents("NS", &[main, route], 1).len(), 2);
        // A dimension with two values: two documents.
        let main = Directive {
            dims: vec![("route", "a")],
            entries: vec![&a],
        };
        let route = Directive {
            dims: vec![("route", "b")],
            entries: vec![&b],
        };
        assert_eq!(documents("NS", &[main, route], 1).len(), 2);
    }
}
