//! Metrics: counters (summed), gauges (last value) and histograms (values with counts),
//! aggregated per request or record (its [`Context`](crate::Context)) and handed to the
//! exporters after the response is posted, one record per dimension-value set.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::frame::Frame;
use super::histogram::Dist;
use super::metric_set::{
    valid_name, Aggregation, DimensionGroup, Kind, MetricSet, MetricValues, KEPT_REJECTIONS,
    MAX_DIMENSIONS,
};
use super::unit::{MetricsError, Resolution, Unit};
use super::{RecordKind, Settings};

impl MetricSet {
    fn reject(&mut self, shared: &Settings, e: MetricsError) {
        shared
            .counters
            .rejected_metrics
            .fetch_add(1, Ordering::Relaxed);
        if self.rejected.len() < KEPT_REJECTIONS {
            self.rejected.push(e);
        }
    }

    fn record(&mut self, shared: &Settings, group: Option<usize>, spec: &Spec, value: f64) {
        if !valid_name(&spec.name) {
            return self.reject(shared, MetricsError::InvalidName(spec.name.to_string()));
        }
        if !value.is_finite() {
            return self.reject(shared, MetricsError::InvalidValue(spec.name.to_string()));
        }
        let entries = match group.and_then(|g| self.groups.get_mut(g)) {
            Some(g) => &mut g.entries,
            None => &mut self.entries,
        };
        if let Err(e) = record_into(entries, spec, value) {
            self.reject(shared, e);
        }
    }

    fn group(&mut self, shared: &Settings, dims: &[(&str, &str)]) -> Result<usize, MetricsError> {
        if 1 + shared.default_dimensions.len() + dims.len() > MAX_DIMENSIONS {
            return Err(MetricsError::TooManyDimensions);
        }
        for (k, v) in dims {
            check_dimension(k, v)?;
        }
        let dims: Vec<(String, String)> = dims
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if let Some(i) = self.groups.iter().position(|g| g.dimensions == dims) {
            return Ok(i);
        }
        self.groups.push(DimensionGroup {
            dimensions: dims,
            entries: Vec::new(),
        });
        Ok(self.groups.len() - 1)
    }

    fn add_dimension(
        &mut self,
        shared: &Settings,
        name: &str,
        value: &str,
    ) -> Result<(), MetricsError> {
        check_dimension(name, value)?;
        if let Some(d) = self.dimensions.iter_mut().find(|(n, _)| n == name) {
            d.1 = value.to_owned();
            return Ok(());
        }
        // `service`, the defaults, these plus the new one, and a slot kept for `tenant`.
        if 1 + shared.default_dimensions.len() + self.dimensions.len() + 1 + 1 > MAX_DIMENSIONS {
            return Err(MetricsError::TooManyDimensions);
        }
        self.dimensions.push((name.to_owned(), value.to_owned()));
        Ok(())
    }
}

fn check_dimension(name: &str, value: &str) -> Result<(), MetricsError> {
    if !valid_name(name) || name.starts_with(':') {
        return Err(MetricsError::InvalidName(name.to_owned()));
    }
    if !super::tenant::valid_dimension_value(value) {
        return Err(MetricsError::InvalidDimensionValue(name.to_owned()));
    }
    Ok(())
}

/// Fold `from` into `into`: counters add, gauges take the later value, histograms merge. A
/// metric recorded as two kinds or units is rejected.
fn merge_entries(
    shared: &Settings,
    into: &mut Vec<MetricValues>,
    from: Vec<MetricValues>,
    rejected: &mut Vec<MetricsError>,
) {
    for e in from {
        match into.iter_mut().find(|x| x.name == e.name) {
            None => into.push(e),
            Some(x) if x.kind() != e.kind() || x.unit != e.unit => {
                shared
                    .counters
                    .rejected_metrics
                    .fetch_add(1, Ordering::Relaxed);
                if rejected.len() < KEPT_REJECTIONS {
                    rejected.push(MetricsError::Conflict(e.name.to_string()));
                }
            }
            Some(x) => {
                match (&mut x.data, &e.data) {
                    (Aggregation::Sum(a), Aggregation::Sum(b)) => *a += b,
                    (Aggregation::Last(a), Aggregation::Last(b)) => *a = *b,
                    (Aggregation::Dist(a), Aggregation::Dist(b)) => a.merge(b),
                    // Kinds were compared above.
                    _ => {}
                }
                if e.resolution == Resolution::High {
                    x.resolution = Resolution::High;
                }
            }
        }
    }
}

impl MetricSet {
    /// Whether nothing was recorded (nor rejected).
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.groups.is_empty() && self.rejected.is_empty()
    }

    /// Fold another request's or record's metrics, with the same dimensions, into this set.
    pub(crate) fn merge(&mut self, shared: &Settings, other: MetricSet) {
        merge_entries(shared, &mut self.entries, other.entries, &mut self.rejected);
        for g in other.groups {
            match self
                .groups
                .iter_mut()
                .find(|x| x.dimensions == g.dimensions)
            {
                Some(x) => merge_entries(shared, &mut x.entries, g.entries, &mut self.rejected),
                None => self.groups.push(g),
            }
        }
        for r in other.rejected {
            if self.rejected.len() < KEPT_REJECTIONS {
                self.rejected.push(r);
            }
        }
    }
}

/// Fold one value into its aggregate (created on first use).
fn record_into(
    entries: &mut Vec<MetricValues>,
    spec: &Spec,
    value: f64,
) -> Result<(), MetricsError> {
    if let Some(e) = entries.iter_mut().find(|e| e.name == spec.name) {
        if e.kind() != spec.kind || e.unit != spec.unit {
            return Err(MetricsError::Conflict(spec.name.to_string()));
        }
        match &mut e.data {
            Aggregation::Sum(s) => *s += value,
            Aggregation::Last(l) => *l = value,
            Aggregation::Dist(d) => d.record(value, 1),
        }
        if spec.resolution == Resolution::High {
            e.resolution = Resolution::High;
        }
        return Ok(());
    }
    let data = match spec.kind {
        Kind::Counter => Aggregation::Sum(value),
        Kind::Gauge => Aggregation::Last(value),
        Kind::Histogram => Aggregation::Dist(Dist::new(value)),
    };
    entries.push(MetricValues {
        name: spec.name.clone(),
        unit: spec.unit,
        resolution: spec.resolution,
        data,
    });
    Ok(())
}

/// Where a [`Metrics`] handle records.
#[derive(Clone)]
enum Target {
    /// A request's or record's own set (its Context's frame).
    Context(Frame),
    Process(Arc<Settings>),
}

/// A metrics collector. The one from [`Context::metrics`](crate::RequestHandle::metrics) records
/// for its request or record, under that Context's tenant and dimensions (handed to the
/// exporters after the response); the one from
/// [`Observability::metrics`](super::Observability::metrics) records for the process (flushed
/// after the next invocation and at shutdown).
#[derive(Clone)]
pub struct Metrics {
    target: Target,
    group: Option<usize>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct Spec {
    name: Cow<'static, str>,
    kind: Kind,
    unit: Unit,
    resolution: Resolution,
}

impl Metrics {
    pub(crate) fn context(frame: Frame) -> Self {
        Metrics {
            target: Target::Context(frame),
            group: None,
        }
    }

    pub(crate) fn process(shared: Arc<Settings>) -> Self {
        Metrics {
            target: Target::Process(shared),
            group: None,
        }
    }

    fn with_set<R>(&self, f: impl FnOnce(&Settings, &mut MetricSet) -> R) -> Option<R> {
        match &self.target {
            Target::Context(frame) => {
                let settings = frame.settings();
                // Metrics no exporter takes are not even aggregated.
                if !settings.metrics_enabled || !settings.pipeline.wants(RecordKind::Metrics) {
                    return None;
                }
                frame.with_metrics(|set| f(settings, set))
            }
            Target::Process(settings) => {
                if !settings.metrics_enabled || !settings.pipeline.wants(RecordKind::Metrics) {
                    return None;
                }
                let mut set = settings
                    .process_metrics
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                Some(f(settings, &mut set))
            }
        }
    }

    fn record(&self, spec: &Spec, value: f64) {
        self.with_set(|shared, set| set.record(shared, self.group, spec, value));
    }

    fn handle(
        &self,
        name: impl Into<Cow<'static, str>>,
        kind: Kind,
        unit: Unit,
    ) -> (Metrics, Spec) {
        (
            self.clone(),
            Spec {
                name: name.into(),
                kind,
                unit,
                resolution: Resolution::Standard,
            },
        )
    }

    /// A counter (unit `Count`): values added in one invocation are summed.
    pub fn counter(&self, name: impl Into<Cow<'static, str>>) -> Counter {
        let (metrics, spec) = self.handle(name, Kind::Counter, Unit::Count);
        Counter { metrics, spec }
    }

    /// A histogram: values with their counts, exact up to 100 distinct values and binned past
    /// that, written as EMF `{"Values","Counts","Max","Min","Count","Sum"}`.
    pub fn histogram(&self, name: impl Into<Cow<'static, str>>, unit: Unit) -> Histogram {
        let (metrics, spec) = self.handle(name, Kind::Histogram, unit);
        Histogram { metrics, spec }
    }

    /// A gauge: the last value set in the invocation is written.
    pub fn gauge(&self, name: impl Into<Cow<'static, str>>, unit: Unit) -> Gauge {
        let (metrics, spec) = self.handle(name, Kind::Gauge, unit);
        Gauge { metrics, spec }
    }

    /// A collector whose metrics get a dimension set of their own — `service`, the default
    /// dimensions, then `dimensions` — written as a second directive of the invocation's EMF document. The request-metrics
    /// middleware uses it for `route`, `method` and `status_class`, so those dimensions never
    /// multiply the handler's own metrics.
    pub fn with_dimensions(&self, dimensions: &[(&str, &str)]) -> Result<Metrics, MetricsError> {
        let group = self
            .with_set(|shared, set| set.group(shared, dimensions))
            .transpose()?;
        Ok(Metrics {
            target: self.target.clone(),
            group,
        })
    }

    /// Add a dimension to every metric of this request or record (or of the process), its
    /// metrics recorded before the call included. Replaces a dimension of the same name. Invalid
    /// names or values (see CloudWatch's rules) and a 31st dimension are errors.
    pub fn add_dimension(&self, name: &str, value: &str) -> Result<(), MetricsError> {
        self.with_set(|shared, set| set.add_dimension(shared, name, value))
            .unwrap_or(Ok(()))
    }
}

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            metrics: Metrics,
            spec: Spec,
        }

        impl $name {
            /// Use a unit other than the default.
            pub fn with_unit(mut self, unit: Unit) -> Self {
                self.spec.unit = unit;
                self
            }

            /// Store at 1-second resolution.
            pub fn high_resolution(mut self) -> Self {
                self.spec.resolution = Resolution::High;
                self
            }
        }
    };
}

handle!(
    /// Adds up values within an invocation. From [`Metrics::counter`].
    Counter
);
handle!(
    /// Keeps every value of an invocation. From [`Metrics::histogram`].
    Histogram
);
handle!(
    /// Keeps the last value of an invocation. From [`Metrics::gauge`].
    Gauge
);

impl Counter {
    /// Add `value`.
    pub fn add(&self, value: f64) {
        self.metrics.record(&self.spec, value);
    }

    /// Add 1.
    pub fn increment(&self) {
        self.add(1.0);
    }
}

impl Histogram {
    /// Record one observation.
    pub fn record(&self, value: f64) {
        self.metrics.record(&self.spec, value);
    }
}

impl Gauge {
    /// Set the value.
    pub fn set(&self, value: f64) {
        self.metrics.record(&self.spec, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Settings {
        (*super::super::Observability::new().settings).clone()
    }

    #[test]
    fn counters_sum_gauges_keep_the_last_histograms_count_values() {
        let sh = shared();
        let mut set = MetricSet::default();
        let spec = |name: &'static str, kind| Spec {
            name: name.into(),
            kind,
            unit: Unit::Count,
            resolution: Resolution::Standard,
        };
        set.record(&sh, None, &spec("c", Kind::Counter), 1.0);
        set.record(&sh, None, &spec("c", Kind::Counter), 2.0);
        set.record(&sh, None, &spec("g", Kind::Gauge), 5.0);
        set.record(&sh, None, &spec("g", Kind::Gauge), 7.0);
        set.record(&sh, None, &spec("h", Kind::Histogram), 3.0);
        set.record(&sh, None, &spec("h", Kind::Histogram), 3.0);
        set.record(&sh, None, &spec("h", Kind::Histogram), 4.0);
        assert!(matches!(set.entries[0].data, Aggregation::Sum(s) if s == 3.0));
        assert!(matches!(set.entries[1].data, Aggregation::Last(l) if l == 7.0));
        assert!(
            matches!(&set.entries[2].data, Aggregation::Dist(d) if d.value().values == vec![3.0, 4.0] && d.value().counts == vec![2, 1])
        );
        set.record(&sh, None, &spec("c", Kind::Gauge), 1.0);
        set.record(&sh, None, &spec("", Kind::Counter), 1.0);
        set.record(&sh, None, &spec("n", Kind::Counter), f64::NAN);
        assert_eq!(
            set.rejected,
            vec![
                MetricsError::Conflict("c".into()),
                MetricsError::InvalidName(String::new()),
                MetricsError::InvalidValue("n".into())
            ]
        );
        assert_eq!(sh.counters.rejected_metrics.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn dimensions_are_checked() {
        let sh = shared();
        let mut set = MetricSet::default();
        assert_eq!(
            set.add_dimension(&sh, "region", ""),
            Err(MetricsError::InvalidDimensionValue("region".into()))
        );
        assert_eq!(
            set.add_dimension(&sh, "", "x"),
            Err(MetricsError::InvalidName(String::new()))
        );
        // service + 28 more + the tenant slot = 30.
        for i in 0..28 {
            set.add_dimension(&sh, &format!("d{i}"), "v").unwrap();
        }
        assert_eq!(
            set.add_dimension(&sh, "one_too_many", "v"),
            Err(MetricsError::TooManyDimensions)
        );
        assert_eq!(set.add_dimension(&sh, "d0", "replaced"), Ok(()));
    }
}
