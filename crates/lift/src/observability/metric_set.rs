//! [`MetricSet`]: what a request, a record or the process recorded — each metric's aggregated
//! values, under the frame's dimensions or a dimension set of their own — until the flush turns
//! it into records. The recording itself (which needs the settings) is in `metrics.rs`.

use std::borrow::Cow;

use super::histogram::Dist;
use super::unit::{MetricsError, Resolution, Unit};

/// At most this many dimensions in a dimension set (CloudWatch's limit).
pub(crate) const MAX_DIMENSIONS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// How a metric's values are aggregated: by kind.
#[derive(Debug, Clone)]
pub(crate) enum Aggregation {
    Sum(f64),
    Last(f64),
    /// Values with how often each was seen (binned past 100 distinct values).
    Dist(Dist),
}

/// One metric's name, unit, resolution and aggregated values.
#[derive(Debug, Clone)]
pub(crate) struct MetricValues {
    pub(crate) name: Cow<'static, str>,
    pub(crate) unit: Unit,
    pub(crate) resolution: Resolution,
    pub(crate) data: Aggregation,
}

impl MetricValues {
    pub(crate) fn kind(&self) -> Kind {
        match self.data {
            Aggregation::Sum(_) => Kind::Counter,
            Aggregation::Last(_) => Kind::Gauge,
            Aggregation::Dist(_) => Kind::Histogram,
        }
    }
}

/// One invocation's (or the process's) aggregated metrics and extra dimensions.
#[derive(Debug, Default)]
pub(crate) struct MetricSet {
    pub(crate) entries: Vec<MetricValues>,
    pub(crate) dimensions: Vec<(String, String)>,
    pub(crate) rejected: Vec<MetricsError>,
    /// Metrics with a dimension set of their own (`Metrics::with_dimensions`), each written as
    /// its own directive: `service`, the defaults, then these.
    pub(crate) groups: Vec<DimensionGroup>,
}

/// Metrics recorded under their own dimension set.
#[derive(Debug, Default)]
pub(crate) struct DimensionGroup {
    pub(crate) dimensions: Vec<(String, String)>,
    pub(crate) entries: Vec<MetricValues>,
}

/// Keep the first few rejections for the warning; count them all.
pub(crate) const KEPT_REJECTIONS: usize = 10;

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 255
        && !name.chars().any(char::is_control)
        && !RESERVED.contains(&name)
}

/// The names Lift itself writes at an EMF document's root, which a metric or dimension of the
/// same name would repeat: the metadata, the trace id, and the tenant-overflow count.
const RESERVED: [&str; 3] = ["_aws", "xray_trace_id", "TenantOverflow"];
