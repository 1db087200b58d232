//! From Lift's metric records to PutMetricData calls, without the SDK: what one flush sends.
//!
//! - **Aggregation.** Within a flush, values of one metric (namespace, name, dimensions, unit,
//!   resolution) are merged. Counters become a statistic set (`SampleCount`, `Sum`, `Minimum`,
//!   `Maximum` over the counters' sums); gauges keep the last value; histograms merge their
//!   `Values`/`Counts`.
//! - **Limits.** A datum has at most [`MAX_DIMENSIONS`] dimensions and [`MAX_VALUES`] distinct
//!   values (a larger histogram becomes several datums). A call has at most [`MAX_DATUMS`] datums
//!   and about [`MAX_CALL_BYTES`] of payload. NaN and infinities are refused and counted, and so
//!   are namespaces CloudWatch refuses (`AWS/...`).
//! - **Accounting.** Each datum carries how many of Lift's values it stands for (`sources`), so
//!   the exporter's stats count values: accepted = written + dropped + fallen back.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use lift::observability::{
    valid_namespace, HistogramValue, MetricDatum, MetricValue, MetricsBatch, MetricsRecord,
    Resolution, Unit,
};

/// Most dimensions on one datum.
pub const MAX_DIMENSIONS: usize = 30;
/// Most distinct values (with their counts) in one datum.
pub const MAX_VALUES: usize = 150;
/// Most datums in one call.
pub const MAX_DATUMS: usize = 1_000;
/// The payload one call is kept under, below PutMetricData's 1 MB.
pub const MAX_CALL_BYTES: usize = 1_000_000;

/// What a metric's value became.
#[derive(Debug, Clone, PartialEq)]
pub enum Aggregate {
    /// Counters: the statistics of their sums.
    Counter {
        /// How many counters.
        count: u64,
        /// Their total.
        sum: f64,
        /// The smallest.
        min: f64,
        /// The largest.
        max: f64,
    },
    /// A gauge: the last value.
    Gauge(f64),
    /// A histogram: merged values and counts, and exact statistics.
    Histogram(HistogramValue),
}

/// Which metric a value belongs to. Dimensions are sorted by name: CloudWatch treats them as a
/// set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The namespace.
    pub namespace: Arc<str>,
    /// The metric's name.
    pub name: String,
    /// `(name, value)` pairs, sorted.
    pub dimensions: Vec<(String, String)>,
    /// The unit, as CloudWatch spells it.
    pub unit: &'static str,
    /// High resolution (`StorageResolution: 1`).
    pub high_resolution: bool,
    kind: u8,
}

/// One metric of a flush, merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The value.
    pub value: Aggregate,
    /// How many of Lift's values it stands for.
    pub sources: u64,
    /// The latest timestamp of those values, in ms since the epoch.
    pub timestamp_ms: u64,
    unit: Unit,
    resolution: Resolution,
}

/// Why values were refused before any call.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refused {
    /// NaN or an infinity.
    pub non_finite: u64,
    /// A namespace CloudWatch refuses.
    pub invalid_namespace: u64,
    /// More than [`MAX_DIMENSIONS`] dimensions.
    pub too_many_dimensions: u64,
}

/// The metrics of a flush, merged by [`Key`].
#[derive(Debug, Default)]
pub struct Aggregator {
    pending: BTreeMap<Key, Pending>,
    /// What was refused so far.
    pub refused: Refused,
    /// Values taken in (refused ones included).
    pub accepted: u64,
}

fn finite(v: &MetricValue) -> bool {
    match v {
        MetricValue::Counter(x) | MetricValue::Gauge(x) => x.is_finite(),
        MetricValue::Histogram(h) => {
            h.values.iter().all(|x| x.is_finite())
                && h.sum.is_finite()
                && h.min.is_finite()
                && h.max.is_finite()
        }
        _ => false,
    }
}

impl Aggregator {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Take in every value of `batch`.
    pub fn add(&mut self, batch: &MetricsBatch) {
        for record in batch.records() {
            self.add_record(record, batch.timestamp_ms());
        }
    }

    fn add_record(&mut self, record: &MetricsRecord, timestamp_ms: u64) {
        let n = record.metrics.len() as u64;
        self.accepted += n;
        if !valid_namespace(&record.namespace) {
            self.refused.invalid_namespace += n;
            return;
        }
        if record.dimensions.len() > MAX_DIMENSIONS {
            self.refused.too_many_dimensions += n;
            return;
        }
        let mut dimensions: Vec<(String, String)> = record
            .dimensions
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        dimensions.sort();
        for m in &record.metrics {
            if !finite(&m.value) {
                self.refused.non_finite += 1;
                continue;
            }
            let (kind, value) = match &m.value {
                MetricValue::Counter(x) => (
                    0,
                    Aggregate::Counter {
                        count: 1,
                        sum: *x,
                        min: *x,
                        max: *x,
                    },
                ),
                MetricValue::Gauge(x) => (1, Aggregate::Gauge(*x)),
                MetricValue::Histogram(h) => (2, Aggregate::Histogram(h.clone())),
                _ => continue,
            };
            let key = Key {
                namespace: record.namespace.clone(),
                name: m.name.to_string(),
                dimensions: dimensions.clone(),
                unit: m.unit.as_str(),
                high_resolution: m.resolution == Resolution::High,
                kind,
            };
            match self.pending.get_mut(&key) {
                Some(p) => {
                    merge(&mut p.value, value);
                    p.sources += 1;
                    p.timestamp_ms = p.timestamp_ms.max(timestamp_ms);
                }
                None => {
                    self.pending.insert(
                        key,
                        Pending {
                            value,
                            sources: 1,
                            timestamp_ms,
                            unit: m.unit,
                            resolution: m.resolution,
                        },
                    );
                }
            }
        }
    }

    /// Everything waiting, in calls of at most [`MAX_DATUMS`] datums and about
    /// [`MAX_CALL_BYTES`], one namespace per call.
    pub fn take_calls(&mut self) -> Vec<Call> {
        let mut calls: Vec<Call> = Vec::new();
        for (key, pending) in std::mem::take(&mut self.pending) {
            let datums = datums(&key, &pending);
            let bytes: usize = datums.iter().map(Datum::size).sum();
            let fits = calls.last().is_some_and(|c| {
                c.namespace == key.namespace
                    && c.datums.len() + datums.len() <= MAX_DATUMS
                    && c.bytes + bytes <= MAX_CALL_BYTES
            });
            if !fits {
                calls.push(Call {
                    namespace: key.namespace.clone(),
                    datums: Vec::new(),
                    bytes: 0,
                    metrics: Vec::new(),
                });
            }
            if let Some(call) = calls.last_mut() {
                call.bytes += bytes;
                call.datums.extend(datums);
                call.metrics.push((key, pending));
            }
        }
        calls
    }
}

fn merge(into: &mut Aggregate, value: Aggregate) {
    match (into, value) {
        (
            Aggregate::Counter {
                count,
                sum,
                min,
                max,
            },
            Aggregate::Counter { sum: s, .. },
        ) => {
            *count += 1;
            *sum += s;
            *min = min.min(s);
            *max = max.max(s);
        }
        (Aggregate::Gauge(v), Aggregate::Gauge(x)) => *v = x,
        (Aggregate::Histogram(h), Aggregate::Histogram(o)) => {
            for (v, c) in o.values.iter().zip(&o.counts) {
                match h.values.iter().position(|x| x == v) {
                    Some(i) => h.counts[i] += c,
                    None => {
                        h.values.push(*v);
                        h.counts.push(*c);
                    }
                }
            }
            h.max = h.max.max(o.max);
            h.min = h.min.min(o.min);
            h.count += o.count;
            h.sum += o.sum;
        }
        // The key's kind keeps apart what cannot merge.
        _ => {}
    }
}

/// One datum as PutMetricData takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    /// The metric's name.
    pub name: String,
    /// Its dimensions.
    pub dimensions: Vec<(String, String)>,
    /// When, in ms since the epoch.
    pub timestamp_ms: u64,
    /// The unit.
    pub unit: &'static str,
    /// `StorageResolution: 1`.
    pub high_resolution: bool,
    /// The value.
    pub value: DatumValue,
}

/// A datum's value: one value, a statistic set, or values with counts.
#[derive(Debug, Clone, PartialEq)]
pub enum DatumValue {
    /// `Value`.
    Value(f64),
    /// `StatisticValues`.
    Statistics {
        /// `SampleCount`.
        count: f64,
        /// `Sum`.
        sum: f64,
        /// `Minimum`.
        min: f64,
        /// `Maximum`.
        max: f64,
    },
    /// `Values` and `Counts`, at most [`MAX_VALUES`] each.
    Values(Vec<f64>, Vec<f64>),
}

impl Datum {
    /// A bound on this datum's share of a request (the CBOR or query encoding of its name,
    /// dimensions, values and fixed fields).
    pub fn size(&self) -> usize {
        let values = match &self.value {
            DatumValue::Value(_) => 16,
            DatumValue::Statistics { .. } => 96,
            DatumValue::Values(v, c) => 24 + 18 * (v.len() + c.len()),
        };
        let dims: usize = self
            .dimensions
            .iter()
            .map(|(k, v)| k.len() + v.len() + 24)
            .sum();
        self.name.len() + dims + values + 96
    }
}

fn datums(key: &Key, p: &Pending) -> Vec<Datum> {
    let datum = |value| Datum {
        name: key.name.clone(),
        dimensions: key.dimensions.clone(),
        timestamp_ms: p.timestamp_ms,
        unit: key.unit,
        high_resolution: key.high_resolution,
        value,
    };
    match &p.value {
        Aggregate::Counter {
            count,
            sum,
            min,
            max,
        } => vec![datum(DatumValue::Statistics {
            count: *count as f64,
            sum: *sum,
            min: *min,
            max: *max,
        })],
        Aggregate::Gauge(v) => vec![datum(DatumValue::Value(*v))],
        Aggregate::Histogram(h) => h
            .values
            .chunks(MAX_VALUES)
            .zip(h.counts.chunks(MAX_VALUES))
            .map(|(v, c)| {
                datum(DatumValue::Values(
                    v.to_vec(),
                    c.iter().map(|n| *n as f64).collect(),
                ))
            })
            .collect(),
    }
}

/// One PutMetricData call: a namespace and its datums, and the merged metrics they came from
/// (for the stats, and for the EMF fallback when the call cannot be made).
#[derive(Debug)]
pub struct Call {
    /// The namespace.
    pub namespace: Arc<str>,
    /// The datums to send.
    pub datums: Vec<Datum>,
    /// Their estimated size.
    pub bytes: usize,
    metrics: Vec<(Key, Pending)>,
}

impl Call {
    /// How many of Lift's values the call stands for.
    pub fn sources(&self) -> u64 {
        self.metrics.iter().map(|(_, p)| p.sources).sum()
    }

    /// The call's metrics as Lift's records, for the EMF fallback on stdout: one record per
    /// dimension-value set, as the EMF writer gets them from an invocation. A counter's
    /// statistic set becomes its sum, which is what an EMF counter is.
    pub fn to_batch(&self) -> MetricsBatch {
        let timestamp = self
            .metrics
            .iter()
            .map(|(_, p)| p.timestamp_ms)
            .max()
            .unwrap_or(0);
        let mut records: Vec<MetricsRecord> = Vec::new();
        for (key, p) in &self.metrics {
            let value = match &p.value {
                Aggregate::Counter { sum, .. } => MetricValue::Counter(*sum),
                Aggregate::Gauge(v) => MetricValue::Gauge(*v),
                Aggregate::Histogram(h) => MetricValue::Histogram(h.clone()),
            };
            let metric = MetricDatum::new(key.name.clone(), p.unit, p.resolution, value);
            let same_set = |r: &&mut MetricsRecord| {
                r.namespace == key.namespace
                    && r.dimensions.len() == key.dimensions.len()
                    && key
                        .dimensions
                        .iter()
                        .all(|(k, v)| r.dimension(k) == Some(v.as_str()))
            };
            match records.iter_mut().find(same_set) {
                Some(r) => r.metrics.push(metric),
                None => records.push(MetricsRecord::new(
                    key.namespace.clone(),
                    key.dimensions
                        .iter()
                        .map(|(k, v)| (Cow::Owned(k.clone()), Arc::from(v.as_str())))
                        .collect(),
                    vec![metric],
                )),
            }
        }
        MetricsBatch::new(timestamp, records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ns: &str, tenant: &str, metrics: Vec<MetricDatum>) -> MetricsRecord {
        MetricsRecord::new(
            Arc::from(ns),
            vec![
                (Cow::Borrowed("service"), Arc::from("orders")),
                (Cow::Borrowed("tenant"), Arc::from(tenant)),
            ],
            metrics,
        )
    }

    fn metric(name: &'static str, value: MetricValue) -> MetricDatum {
        MetricDatum::new(name, Unit::Count, Resolution::Standard, value)
    }

    #[test]
    fn counters_of_a_flush_become_one_statistic_set() {
        let mut a = Aggregator::new();
        for (ts, v) in [(1000, 1.0), (2000, 4.0), (1500, 2.0)] {
            a.add(&MetricsBatch::new(
                ts,
                vec![record(
                    "Shop",
                    "acme",
                    vec![metric("Orders", MetricValue::Counter(v))],
                )],
            ));
        }
        let calls = a.take_calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].sources(), 3);
        assert_eq!(
            calls[0].datums,
            [Datum {
                name: "Orders".into(),
                dimensions: vec![
                    ("service".into(), "orders".into()),
                    ("tenant".into(), "acme".into())
                ],
                timestamp_ms: 2000,
                unit: "Count",
                high_resolution: false,
                value: DatumValue::Statistics {
                    count: 3.0,
                    sum: 7.0,
                    min: 1.0,
                    max: 4.0
                },
            }]
        );
        assert!(a.is_empty());
    }

    #[test]
    fn non_finite_values_and_bad_namespaces_are_refused_and_counted() {
        let mut a = Aggregator::new();
        a.add(&MetricsBatch::new(
            1,
            vec![
                record(
                    "Shop",
                    "acme",
                    vec![
                        metric("A", MetricValue::Gauge(f64::NAN)),
                        metric("B", MetricValue::Counter(f64::INFINITY)),
                        metric("C", MetricValue::Gauge(2.0)),
                    ],
                ),
                record(
                    "AWS/Lambda",
                    "acme",
                    vec![metric("D", MetricValue::Gauge(1.0))],
                ),
            ],
        ));
        assert_eq!(a.accepted, 4);
        assert_eq!(
            a.refused,
            Refused {
                non_finite: 2,
                invalid_namespace: 1,
                too_many_dimensions: 0
            }
        );
        let calls = a.take_calls();
        assert_eq!(calls.iter().map(Call::sources).sum::<u64>(), 1);
    }

    #[test]
    fn histograms_split_at_150_values_and_calls_at_1000_datums() {
        let values: Vec<f64> = (0..400).map(f64::from).collect();
        let h = HistogramValue {
            counts: vec![1; 400],
            max: 399.0,
            min: 0.0,
            count: 400,
            sum: values.iter().sum(),
            values,
        };
        let mut a = Aggregator::new();
        a.add(&MetricsBatch::new(
            1,
            vec![record(
                "Shop",
                "acme",
                vec![metric("Latency", MetricValue::Histogram(h))],
            )],
        ));
        let calls = a.take_calls();
        let sizes: Vec<usize> = calls[0]
            .datums
            .iter()
            .map(|d| match &d.value {
                DatumValue::Values(v, c) => {
                    assert_eq!(v.len(), c.len());
                    v.len()
                }
                _ => 0,
            })
            .collect();
        assert_eq!(sizes, [150, 150, 100]);

        let mut a = Aggregator::new();
        let records: Vec<MetricsRecord> = (0..2_500)
            .map(|i| {
                record(
                    "Shop",
                    &format!("t{i}"),
                    vec![metric("N", MetricValue::Gauge(1.0))],
                )
            })
            .collect();
        a.add(&MetricsBatch::new(1, records));
        let calls = a.take_calls();
        let counts: Vec<usize> = calls.iter().map(|c| c.datums.len()).collect();
        assert_eq!(counts, [1_000, 1_000, 500]);
        assert!(calls.iter().all(|c| c.bytes <= MAX_CALL_BYTES));
    }

    #[test]
    fn the_fallback_batch_keeps_each_metric() {
        let mut a = Aggregator::new();
        for v in [1.0, 2.0] {
            a.add(&MetricsBatch::new(
                5,
                vec![record(
                    "Shop",
                    "acme",
                    vec![metric("Orders", MetricValue::Counter(v))],
                )],
            ));
        }
        let batch = a.take_calls()[0].to_batch();
        assert_eq!(batch.timestamp_ms(), 5);
        assert_eq!(batch.records().len(), 1);
        assert_eq!(
            batch.records()[0].metrics[0].value,
            MetricValue::Counter(3.0)
        );
        assert_eq!(batch.records()[0].dimension("tenant"), Some("acme"));
    }
}
