//! Turning what an invocation (or the process) recorded into metrics records and handing them
//! to the exporters.
//!
//! Each request or record recorded its metrics under its own tenant and dimensions. Sets with
//! the same tenant and dimensions are merged; each distinct dimension-value set becomes one
//! [`MetricsRecord`]: `service`, the default dimensions, the set's own dimensions, then
//! `tenant` (validated, then capped: see `tenant.rs`). Metrics recorded with a dimension set of
//! their own (`Metrics::with_dimensions`, as the request-metrics middleware does) become records
//! of their own, in the same namespace and without the tenant dimension. The process's first
//! invocation also writes `ColdStart` with dimensions `service` and `function_name`, as
//! Powertools does.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::metric_set::{Aggregation, MetricSet, MetricValues};
use super::record::{MetricDatum, MetricValue, MetricsBatch, MetricsRecord};
use super::tenant::Resolved;
use super::unit::Resolution;
use super::{Field, Level, Logger, Settings, Unit};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn datum(e: &MetricValues) -> MetricDatum {
    MetricDatum {
        name: e.name.clone(),
        unit: e.unit,
        resolution: e.resolution,
        value: match &e.data {
            Aggregation::Sum(v) => MetricValue::Counter(*v),
            Aggregation::Last(v) => MetricValue::Gauge(*v),
            Aggregation::Dist(d) => MetricValue::Histogram(d.value()),
        },
    }
}

type Dimensions = Vec<(Cow<'static, str>, Arc<str>)>;

/// `service`, then the default dimensions, then `extra` (a later name replaces an earlier one).
fn dimension_set(settings: &Settings, extra: &[(String, String)]) -> Dimensions {
    let mut dims: Dimensions =
        Vec::with_capacity(2 + settings.default_dimensions.len() + extra.len());
    dims.push((Cow::Borrowed("service"), settings.service.clone()));
    for (k, v) in settings.default_dimensions.iter().chain(extra.iter()) {
        dims.retain(|(x, _)| x != k);
        dims.push((Cow::Owned(k.clone()), Arc::from(v.as_str())));
    }
    dims
}

/// Hand the metrics of `sets` (each with the tenant it was recorded under) to the exporters,
/// with the cold-start record when `cold_start_function` is the function's name. Rejected
/// records are reported in one WARN log line.
pub(crate) fn metrics(
    settings: &Arc<Settings>,
    sets: Vec<(Option<Arc<str>>, MetricSet)>,
    cold_start_function: Option<&str>,
    trace_id: Option<&str>,
) {
    // Merge the sets that share a tenant and dimensions (the records of one tenant in a batch).
    let buckets = if sets.len() == 1 {
        // One request: nothing to merge.
        sets
    } else {
        merge(settings, sets)
    };
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    let mut clashed = 0;
    for (tenant, set) in buckets.into_iter().filter(|(_, s)| !s.is_empty()) {
        clashed += bucket_records(settings, tenant.as_ref(), &set, &mut records);
        rejected.extend(set.rejected.iter().map(ToString::to_string));
    }
    let ts = now_ms();
    if !records.is_empty() {
        settings
            .pipeline
            .metrics(&MetricsBatch::new(ts, records).with_trace_id(trace_id.map(str::to_owned)));
    }
    if let Some(function) = cold_start_function {
        let record = MetricsRecord {
            namespace: settings.namespace().clone(),
            dimensions: vec![
                (Cow::Borrowed("service"), settings.service.clone()),
                (Cow::Borrowed("function_name"), Arc::from(function)),
            ],
            metrics: vec![MetricDatum {
                name: Cow::Borrowed("ColdStart"),
                unit: Unit::Count,
                resolution: Resolution::Standard,
                value: MetricValue::Counter(1.0),
            }],
        };
        settings.pipeline.metrics(
            &MetricsBatch::new(ts, vec![record]).with_trace_id(trace_id.map(str::to_owned)),
        );
    }
    if !rejected.is_empty() || clashed > 0 {
        Logger::process(settings.clone()).emit(
            Level::Warn,
            "metrics were rejected",
            &[
                ("reasons", Field::Json(&serde_json::json!(rejected))),
                ("name_clashes_with_dimension", (clashed as u64).into()),
            ],
        );
    }
}

/// The sets with the same tenant and dimensions merged, in first-recorded order.
fn merge(
    settings: &Settings,
    sets: Vec<(Option<Arc<str>>, MetricSet)>,
) -> Vec<(Option<Arc<str>>, MetricSet)> {
    let mut buckets: Vec<(Option<Arc<str>>, MetricSet)> = Vec::with_capacity(sets.len());
    for (tenant, set) in sets.into_iter().filter(|(_, s)| !s.is_empty()) {
        match buckets
            .iter_mut()
            .find(|(t, s)| *t == tenant && s.dimensions == set.dimensions)
        {
            Some((_, into)) => into.merge(settings, set),
            None => buckets.push((tenant, set)),
        }
    }
    buckets
}

/// The records of one tenant's set: its own metrics, then one per dimension group. Returns
/// how many metrics were left out because their name is also a dimension's.
fn bucket_records(
    settings: &Settings,
    tenant: Option<&Arc<str>>,
    set: &MetricSet,
    out: &mut Vec<MetricsRecord>,
) -> usize {
    let mut namespace = settings.namespace().clone();
    let mut dims = dimension_set(settings, &set.dimensions);
    let mut overflow = false;
    if let Some(t) = tenant {
        let ns = settings.tenant_namespace.then_some(&*namespace);
        let (value, how) = settings.tenant_guard.resolve(t, ns);
        let value: Arc<str> = match (how, value) {
            // The tenant as it is: the Context's own string, no copy.
            (Resolved::Kept, Cow::Borrowed(_)) => t.clone(),
            (Resolved::Kept, Cow::Owned(escaped)) => Arc::from(escaped),
            (Resolved::Folded, value) => {
                overflow = true;
                Arc::from(value)
            }
            (Resolved::Invalid, value) => {
                settings
                    .counters
                    .invalid_tenants
                    .fetch_add(1, Ordering::Relaxed);
                Arc::from(value)
            }
        };
        if settings.tenant_namespace {
            namespace = Arc::from(format!("{namespace}/{value}"));
        }
        dims.retain(|(x, _)| x != "tenant");
        dims.push((Cow::Borrowed("tenant"), value));
    }
    let mut metrics: Vec<MetricDatum> = set
        .entries
        .iter()
        .filter(|e| !dims.iter().any(|(d, _)| *d == e.name))
        .map(datum)
        .collect();
    let clashed = set.entries.len() - metrics.len();
    if overflow {
        metrics.push(MetricDatum {
            name: Cow::Borrowed("TenantOverflow"),
            unit: Unit::Count,
            resolution: Resolution::Standard,
            value: MetricValue::Counter(1.0),
        });
    }
    if !metrics.is_empty() {
        out.push(MetricsRecord {
            namespace: namespace.clone(),
            dimensions: dims,
            metrics,
        });
    }
    for group in &set.groups {
        let gdims = dimension_set(settings, &group.dimensions);
        let metrics: Vec<MetricDatum> = group
            .entries
            .iter()
            .filter(|e| !gdims.iter().any(|(d, _)| *d == e.name))
            .map(datum)
            .collect();
        if !metrics.is_empty() {
            out.push(MetricsRecord {
                namespace: namespace.clone(),
                dimensions: gdims,
                metrics,
            });
        }
    }
    clashed
}
