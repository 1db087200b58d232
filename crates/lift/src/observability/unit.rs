//! [`Unit`], [`Resolution`] and [`MetricsError`]: the values every metric carries, and why one
//! was refused. Shared by the metrics handles, the records and the EMF writer.

use std::fmt;

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
