//! X-Ray tracing: the trace header, segment documents, and the UDP exporter.
//!
//! - [`TraceHeader`]: `Root=1-…;Parent=…;Sampled=…;Lineage=…`, parsed from the invocation
//!   (the trace id the runtime hands over) or an incoming `X-Amzn-Trace-Id`, and converted to
//!   and from W3C `traceparent`.
//! - [`document`]: an invocation's span trees as X-Ray segment documents, each fitting one
//!   datagram.
//! - [`XRayExporter`]: those documents to the daemon over UDP, after the response.
//!
//! # Native, not `opentelemetry-aws`
//!
//! `opentelemetry-aws` 0.21 ships an X-Ray exporter with a UDP daemon client. Lift writes its
//! documents itself, for what that exporter does not do here:
//! - it drops a top-level span that is not of kind `Server` (Lambda's handler subsegment is
//!   one), span names with characters X-Ray refuses instead of sanitising them (`{id}`), trace
//!   ids not starting with a recent timestamp, and attributes not configured one by one;
//! - it never splits a document over 64 KB (the send fails), and its first failed send
//!   abandons the rest of the batch;
//! - and it costs more: see the side-by-side benches in `docs/performance.md`
//!   (`cargo bench -p lift --features opentelemetry --bench xray`).
//!
//! For teams with an OpenTelemetry collector, the same span trees go out through an
//! OpenTelemetry `SpanExporter` instead: `otel::OtelExporter`, feature `opentelemetry` (see
//! `docs/tracing.md`).

pub mod document;
mod exporter;
pub mod header;

pub use document::without_query;
pub use exporter::{XRayExporter, XRayStats, DEFAULT_DAEMON_ADDRESS, ENV_DAEMON_ADDRESS};
pub use header::{new_id, Sampled, TraceHeader};
