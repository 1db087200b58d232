//! Observability: structured logs, CloudWatch metrics and traces, scoped to one invocation.
//!
//! [`Observability`] is the app-wide configuration: service name, namespace, log level and
//! format, sampling, debug buffering, redaction, default dimensions, the tenant cardinality
//! guard, and the [`Exporter`]s everything goes to. Each request, and each record of a batch,
//! gets its own [`Logger`], [`Metrics`] and [`Tracer`] from its [`Context`](crate::Context):
//! cheap handles that carry that context's identity (tenant, user, correlation id), so
//! concurrent invocations and the records of one batch never mix fields or metrics.
//!
//! ```text
//! handler / middleware ─► Logger · Metrics · Tracer   (identity per Context)
//!     ─► records: LogRecord (line rendered once) · MetricsRecord per dimension-value set · SpanBatch
//!     ─► exporters: stdout (JSON + EMF) │ memory │ your own   (accept: no I/O)
//!     ─► flush(deadline) after the response is posted · shutdown(deadline) at SIGTERM · stats
//! ```
//!
//! In Lambda the default exporter is stdout: one JSON log line per call, written as it is
//! logged, and CloudWatch Embedded Metric Format (EMF) documents after the response is posted,
//! which CloudWatch turns into metrics without an API call. Under active tracing
//! (`AWS_XRAY_DAEMON_ADDRESS` set) the defaults add [`xray::XRayExporter`] for the spans.
//!
//! ```
//! use lift::observability::{Level, Observability, Unit};
//! use lift::prelude::*;
//!
//! async fn hello(ctx: Context) -> String {
//!     let log = ctx.logger().child(&[("handler", "hello".into())]);
//!     let name = ctx.request().query("name").unwrap_or("World");
//!     log.info("greeting", &[("name", name.into())]);
//!     ctx.metrics().counter("Greetings").increment();
//!     ctx.metrics().histogram("NameLength", Unit::Count).record(name.len() as f64);
//!     format!("Hello, {name}!")
//! }
//!
//! let app = App::new()
//!     .observability(Observability::from_env().service("greeter").namespace("Lift/Examples").log_level(Level::Info))
//!     .get("/hello", hello);
//! assert!(app.build().is_ok());
//! ```

mod bridge;
mod config;
mod emf;
mod exporter;
mod finish;
mod flush;
mod frame;
mod frame_state;
mod histogram;
mod invocation;
mod json_out;
mod level;
mod logger;
mod memory;
mod metric_set;
mod metrics;
#[cfg(feature = "opentelemetry")]
pub mod otel;
mod pipeline;
mod record;
mod settings;
mod span_set;
mod stdout;
mod tenant;
mod timestamp;
mod trace;
mod tracer;
mod unit;
pub mod xray;

pub(crate) use bridge::invocation_span;
pub use bridge::{install_tracing_bridge, TracingBridge};
pub use config::{Observability, TelemetryStats, DEFAULT_DEBUG_BUFFER_BYTES, DEFAULT_MAX_TENANTS};
pub use exporter::{
    ExportCounters, ExportFuture, Exporter, ExporterStats, NullExporter, RecordKind,
};
pub use level::{Level, LogFormat};
pub use logger::{Field, Logger};
pub use memory::MemoryExporter;
pub use metrics::{Counter, Gauge, Histogram, Metrics};
pub use pipeline::{DEFAULT_FLUSH_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT};
pub use record::{
    HistogramValue, LogRecord, MetricDatum, MetricValue, MetricsBatch, MetricsRecord, SpanBatch,
    SpanHttp, SpanRecord,
};
pub use stdout::StdoutExporter;
pub use tenant::{valid_dimension_value, valid_namespace, INVALID_TENANT, OTHER_TENANT};
pub(crate) use tracer::within;
pub use tracer::{Span, Tracer};
pub use unit::{MetricsError, Resolution, Unit};

pub(crate) use frame::Frame;
pub(crate) use frame_state::IdSource;
pub(crate) use invocation::Telemetry;
pub(crate) use settings::Settings;
