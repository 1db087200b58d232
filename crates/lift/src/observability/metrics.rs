//! Metrics: counters (summed), gauges (last value) and histograms (every value, with counts),
//! aggregated per invocation and flushed as CloudWatch EMF after the response is posted.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Shared;
use crate::scope::Scope;

/// CloudWatch metric units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Unit {
    Seconds,
    Microseconds,
    Milliseconds,
    Bytes,
    Kilobytes,
    Megabytes,
    Gigabytes,
    Terabytes,
    Bits,
    Kilobits,
    Megabits,
    Gigabits,
    Terabits,
    Percent,
    Count,
    BytesPerSecond,
    KilobytesPerSecond,
    MegabytesPerSecond,
    GigabytesPerSecond,
    TerabytesPerSecond,
    BitsPerSecond,
    KilobitsPerSecond,
    MegabitsPerSecond,
    GigabitsPerSecond,
    TerabitsPerSecond,
    CountPerSecond,
    None,
}

impl Unit {
    /// The name CloudWatch uses, e.g. `Count/Second`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "Seconds",
            Unit::Microseconds => "Microseconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
            Unit::Kilobytes => "Kilobytes",
            Unit::Megabytes => "Megabytes",
            Unit::Gigabytes => "Gigabytes",
            Unit::Terabytes => "Terabytes",
            Unit::Bits => "Bits",
            Unit::Kilobits => "Kilobits",
            Unit::Megabits => "Megabits",
            Unit::Gigabits => "Gigabits",
            Unit::Terabits => "Terabits",
            Unit::Percent => "Percent",
            Unit::Count => "Count",
            Unit::BytesPerSecond => "Bytes/Second",
            Unit::KilobytesPerSecond => "Kilobytes/Second",
            Unit::MegabytesPerSecond => "Megabytes/Second",
            Unit::GigabytesPerSecond => "Gigabytes/Second",
            Unit::TerabytesPerSecond => "Terabytes/Second",
            Unit::BitsPerSecond => "Bits/Second",
            Unit::KilobitsPerSecond => "Kilobits/Second",
            Unit::MegabitsPerSecond => "Megabits/Second",
            Unit::GigabitsPerSecond => "Gigabits/Second",
            Unit::TerabitsPerSecond => "Terabits/Second",
            Unit::CountPerSecond => "Count/Second",
            Unit::None => "None",
        }
    }
}

/// Storage resolution: standard (60 s) or high (1 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Resolution {
    /// 60-second resolution (the default).
    #[default]
    Standard,
    /// 1-second resolution (`StorageResolution: 1`).
    High,
}

/// A metric that could not be recorded, or a dimension that could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsError {
    /// Names must be 1–255 characters without control characters (and not `_aws`).
    InvalidName(String),
    /// Values must be finite numbers.
    InvalidValue(String),
    /// Dimension values must not be empty (nor longer than 1024 characters).
    InvalidDimensionValue(String),
    /// At most 30 dimensions per metric, `service` and `tenant` included.
    TooManyDimensions,
    /// The same name was used as two kinds (counter and gauge, say) or with two units.
    Conflict(String),
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricsError::InvalidName(n) => write!(f, "invalid metric or dimension name {n:?}"),
            MetricsError::InvalidValue(n) => {
                write!(f, "metric {n:?} got a value that is not a finite number")
            }
            MetricsError::InvalidDimensionValue(n) => {
                write!(f, "dimension {n:?} has an empty or too long value")
            }
            MetricsError::TooManyDimensions => f.write_str("more than 30 dimensions"),
            MetricsError::Conflict(n) => write!(
                f,
                "metric {n:?} was recorded as two kinds or with two units"
            ),
        }
    }
}

impl std::error::Error for MetricsError {}

/// At most this many dimensions in a dimension set (CloudWatch's limit).
pub(crate) const MAX_DIMENSIONS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug, Clone)]
pub(crate) enum Data {
    Sum(f64),
    Last(f64),
    /// Distinct values with how often each was seen, in first-seen order.
    Dist(Vec<(f64, u64)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: Cow<'static, str>,
    pub(crate) unit: Unit,
    pub(crate) resolution: Resolution,
    pub(crate) data: Data,
}

impl Entry {
    fn kind(&self) -> Kind {
        match self.data {
            Data::Sum(_) => Kind::Counter,
            Data::Last(_) => Kind::Gauge,
            Data::Dist(_) => Kind::Histogram,
        }
    }
}

/// One invocation's (or the process's) aggregated metrics and extra dimensions.
#[derive(Debug, Default)]
pub(crate) struct MetricSet {
    pub(crate) entries: Vec<Entry>,
    pub(crate) dimensions: Vec<(String, String)>,
    pub(crate) rejected: Vec<MetricsError>,
    /// Metrics with a dimension set of their own (`Metrics::with_dimensions`), each written as
    /// its own directive: `service`, the defaults, then these.
    pub(crate) groups: Vec<Group>,
}

/// Metrics recorded under their own dimension set.
#[derive(Debug, Default)]
pub(crate) struct Group {
    pub(crate) dimensions: Vec<(String, String)>,
    pub(crate) entries: Vec<Entry>,
}

/// Keep the first few rejections for the warning; count them all.
const KEPT_REJECTIONS: usize = 10;

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 255
        && !name.chars().any(char::is_control)
        && name != "_aws"
}

impl MetricSet {
    fn reject(&mut self, shared: &Shared, e: MetricsError) {
        shared.rejected_metrics.fetch_add(1, Ordering::Relaxed);
        if self.rejected.len() < KEPT_REJECTIONS {
            self.rejected.push(e);
        }
    }

    fn record(&mut self, shared: &Shared, group: Option<usize>, spec: &Spec, value: f64) {
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

    fn group(&mut self, shared: &Shared, dims: &[(&str, &str)]) -> Result<usize, MetricsError> {
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
        self.groups.push(Group {
            dimensions: dims,
            entries: Vec::new(),
        });
        Ok(self.groups.len() - 1)
    }

    fn add_dimension(
        &mut self,
        shared: &Shared,
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
    if value.is_empty() || value.chars().count() > 1024 {
        return Err(MetricsError::InvalidDimensionValue(name.to_owned()));
    }
    Ok(())
}

/// Aggregate one value into its entry (created on first use).
fn record_into(entries: &mut Vec<Entry>, spec: &Spec, value: f64) -> Result<(), MetricsError> {
    if let Some(e) = entries.iter_mut().find(|e| e.name == spec.name) {
        if e.kind() != spec.kind || e.unit != spec.unit {
            return Err(MetricsError::Conflict(spec.name.to_string()));
        }
        match &mut e.data {
            Data::Sum(s) => *s += value,
            Data::Last(l) => *l = value,
            Data::Dist(d) => match d.iter_mut().find(|(v, _)| *v == value) {
                Some((_, n)) => *n += 1,
                None => d.push((value, 1)),
            },
        }
        if spec.resolution == Resolution::High {
            e.resolution = Resolution::High;
        }
        return Ok(());
    }
    let data = match spec.kind {
        Kind::Counter => Data::Sum(value),
        Kind::Gauge => Data::Last(value),
        Kind::Histogram => Data::Dist(vec![(value, 1)]),
    };
    entries.push(Entry {
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
    Invocation(Arc<Scope>),
    Process(Arc<Shared>),
}

/// A metrics collector. The one from [`Context::metrics`](crate::Context::metrics) records
/// into its invocation (flushed after the response); the one from
/// [`Observability::metrics`](super::Observability::metrics) records for the process (flushed
/// on shutdown).
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
    pub(crate) fn invocation(scope: Arc<Scope>) -> Self {
        Metrics {
            target: Target::Invocation(scope),
            group: None,
        }
    }

    pub(crate) fn process(shared: Arc<Shared>) -> Self {
        Metrics {
            target: Target::Process(shared),
            group: None,
        }
    }

    fn with_set<R>(&self, f: impl FnOnce(&Shared, &mut MetricSet) -> R) -> Option<R> {
        let (shared, set) = match &self.target {
            Target::Invocation(s) => (&*s.telemetry.shared, &s.telemetry.metrics),
            Target::Process(shared) => (&**shared, &shared.process_metrics),
        };
        if !shared.metrics_enabled {
            return None;
        }
        let mut set = set.lock().unwrap_or_else(|p| p.into_inner());
        Some(f(shared, &mut set))
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

    /// A histogram: every value is kept, written as EMF `Values` with their `Counts`.
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

    /// Add a dimension to every metric of this invocation (or of the process). Replaces a
    /// dimension of the same name. Empty values, invalid names and a 31st dimension are errors.
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

    fn shared() -> Shared {
        (*super::super::Observability::new().shared).clone()
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
        assert!(matches!(set.entries[0].data, Data::Sum(s) if s == 3.0));
        assert!(matches!(set.entries[1].data, Data::Last(l) if l == 7.0));
        assert!(matches!(&set.entries[2].data, Data::Dist(d) if *d == vec![(3.0, 2), (4.0, 1)]));
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
        assert_eq!(sh.rejected_metrics.load(Ordering::Relaxed), 3);
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
