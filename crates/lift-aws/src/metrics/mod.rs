//! [`CloudWatchMetricsExporter`]: Lift's metrics through the PutMetricData API instead of EMF
//! on stdout.
//!
//! It takes the same structured records as the EMF writer ([`MetricsBatch`]; it never parses
//! EMF text), so switching is configuration: the tenant dimension and its cardinality guard are
//! applied before either sees a record. What one flush sends is built by [`aggregate`]:
//! counters as statistic sets, histograms as `Values`/`Counts` (at most 150 per datum), at most
//! 1,000 datums and about 1 MB per call, NaN, infinities and `AWS/` namespaces refused and
//! counted.
//!
//! - **When.** Metrics are sent in the after-response flush of the invocation that recorded
//!   them, and at shutdown; nothing waits for a timer (Lambda freezes the sandbox).
//! - **Failures.** Throttling, 5xx, timeouts and network errors are retried with backoff and
//!   jitter within the flush's deadline ([`delivery`](crate::delivery)). A call that still fails,
//!   a call refused for the caller's identity (401, 403, `AccessDenied`, `ExpiredToken`, …: not
//!   retried, the same call would be refused again), or a call not made because the circuit is
//!   open, falls back to EMF on stdout, where CloudWatch extracts the same metrics from the
//!   function's log: nothing vanishes. Only a call CloudWatch refuses as invalid is dropped and
//!   counted (`invalid`). The client [`CloudWatchMetricsExporter::new`] makes has the SDK's
//!   retries off, and each call ends 20 ms before the flush deadline, so the fallback is written
//!   in time; if the flush is cut off all the same, what it left unsent is counted (`cut_off`).
//! - **Slowness.** A flush that made calls and used a quarter or more of its time is slow
//!   ([`CloudWatchMetricsExporter::slow_flush_percent`]); slow flushes count toward the circuit
//!   as failed calls do, because each one lengthens the invocation's after-response window, even
//!   when every call succeeds.
//! - **Stats.** [`Exporter::stats`] counts Lift's metric values: accepted, written, dropped by
//!   reason (`non_finite`, `invalid_namespace`, `too_many_dimensions`, `invalid`, `cut_off`),
//!   fallen back; [`CloudWatchMetricsExporter::detail`] adds retries, slow flushes, circuit
//!   state and the last flush's latency.
//!
//! The exporter's own calls use a client of its own, which request tracing leaves alone.

pub mod aggregate;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet};
use aws_sdk_cloudwatch::Client;
use lift::observability::{
    ExportCounters, ExportFuture, Exporter, ExporterStats, MetricsBatch, RecordKind, StdoutExporter,
};

use crate::aws_error::{DENIED, THROTTLING};
use crate::delivery::{before, settle_by, with_retries, Circuit, Pace, Retry, RetryPolicy, Warner};
use aggregate::{Aggregator, Call, Datum, DatumValue};

/// Sends metrics with PutMetricData. Cloning is cheap; clones share the buffer and stats.
#[derive(Clone)]
pub struct CloudWatchMetricsExporter {
    inner: Arc<MetricsInner>,
}

struct MetricsInner {
    client: Client,
    pending: Mutex<Aggregator>,
    retry: RetryPolicy,
    circuit: Circuit,
    warner: Warner,
    fallback: StdoutExporter,
    counters: ExportCounters,
    retries: AtomicU64,
    calls: AtomicU64,
    last_flush_us: AtomicU64,
}

/// More of what the exporter did than [`ExporterStats`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsDetail {
    /// The common counts.
    pub stats: ExporterStats,
    /// PutMetricData calls that succeeded.
    pub calls: u64,
    /// Attempts after a first one failed.
    pub retries: u64,
    /// Flushes that made calls and used their slow share of the flush time or more.
    pub slow_flushes: u64,
    /// Whether the circuit is open (metrics go to EMF on stdout).
    pub circuit_open: bool,
    /// How long the last flush took.
    pub last_flush: Duration,
}

impl CloudWatchMetricsExporter {
    /// An exporter with a client made from `config` (its region, credentials and endpoint:
    /// `AWS_ENDPOINT_URL` points it at a stand-in).
    pub fn new(config: &SdkConfig) -> Self {
        // The SDK's own retries are off: the exporter retries within the flush deadline, which
        // the SDK does not know (its backoff alone can outlast the flush and lose the metrics).
        let config = aws_sdk_cloudwatch::config::Builder::from(config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        Self::from_client(Client::from_conf(config))
    }

    /// An exporter over `client`. Its SDK retries, if it has any, run inside each of the
    /// exporter's attempts; the flush deadline bounds them all the same. Build it with
    /// `RetryConfig::disabled()`, as [`new`](Self::new) does, to leave retrying to the exporter.
    pub fn from_client(client: Client) -> Self {
        CloudWatchMetricsExporter {
            inner: Arc::new(MetricsInner {
                client,
                pending: Mutex::new(Aggregator::new()),
                retry: RetryPolicy::default(),
                circuit: Circuit::default(),
                warner: Warner::default(),
                fallback: StdoutExporter::new(),
                counters: ExportCounters::new(),
                retries: AtomicU64::new(0),
                calls: AtomicU64::new(0),
                last_flush_us: AtomicU64::new(0),
            }),
        }
    }

    /// The exporter when `LIFT_CLOUDWATCH_METRICS=1` (or `true`), else `None`.
    pub fn from_env(config: &SdkConfig) -> Option<Self> {
        let on = std::env::var("LIFT_CLOUDWATCH_METRICS")
            .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        on.then(|| Self::new(config))
    }

    fn inner_mut(&mut self) -> Option<&mut MetricsInner> {
        Arc::get_mut(&mut self.inner)
    }

    /// How failed calls are retried (default: 3 attempts, 50 ms doubling to 1 s). Set before
    /// the exporter is cloned.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        if let Some(i) = self.inner_mut() {
            i.retry = policy;
        }
        self
    }

    /// Open the circuit after `threshold` failed calls (or slow flushes) in a row, and try
    /// again after `cooldown` (default 3 and 30 s). Set before the exporter is cloned.
    pub fn circuit(mut self, threshold: u32, cooldown: Duration) -> Self {
        if let Some(i) = self.inner_mut() {
            let percent = i.circuit.slow_percent();
            i.circuit = Circuit::new(threshold, cooldown).slow_flush_percent(percent);
        }
        self
    }

    /// A flush that makes calls and uses `percent` % or more of its time (from its start to its
    /// deadline) is slow, and slow flushes in a row open the circuit as failed calls do
    /// (default [`DEFAULT_SLOW_FLUSH_PERCENT`](crate::delivery::DEFAULT_SLOW_FLUSH_PERCENT),
    /// 25; `0` turns this off). Set before the exporter is cloned.
    pub fn slow_flush_percent(mut self, percent: u32) -> Self {
        if let Some(i) = self.inner_mut() {
            let circuit = std::mem::take(&mut i.circuit);
            i.circuit = circuit.slow_flush_percent(percent);
        }
        self
    }

    /// Write the "CloudWatch unreachable" warning at most once per `interval` (default 60 s).
    /// Set before the exporter is cloned.
    pub fn warn_interval(mut self, interval: Duration) -> Self {
        if let Some(i) = self.inner_mut() {
            i.warner = Warner::new(interval);
        }
        self
    }

    /// Stats, retries, the circuit and the last flush's latency.
    pub fn detail(&self) -> MetricsDetail {
        let i = &self.inner;
        MetricsDetail {
            stats: i.counters.snapshot(),
            calls: i.calls.load(Ordering::Relaxed),
            retries: i.retries.load(Ordering::Relaxed),
            slow_flushes: i.circuit.slow_flushes(),
            circuit_open: i.circuit.is_open(),
            last_flush: Duration::from_micros(i.last_flush_us.load(Ordering::Relaxed)),
        }
    }

    async fn flush_pending(&self, deadline: Instant) {
        let i = &*self.inner;
        let started = Instant::now();
        let (calls, refused, accepted) = {
            let mut pending = i.pending.lock().unwrap_or_else(|p| p.into_inner());
            (
                pending.take_calls(),
                std::mem::take(&mut pending.refused),
                std::mem::take(&mut pending.accepted),
            )
        };
        if accepted == 0 && calls.is_empty() {
            return;
        }
        i.counters.accepted(accepted);
        for (reason, n) in [
            ("non_finite", refused.non_finite),
            ("invalid_namespace", refused.invalid_namespace),
            ("too_many_dimensions", refused.too_many_dimensions),
        ] {
            if n > 0 {
                i.counters.dropped(reason, n);
            }
        }
        // What a flush cut off at its deadline leaves unsent is counted, never lost unseen.
        let mut unsettled = Unsettled {
            counters: &i.counters,
            sources: calls.iter().map(Call::sources).sum(),
        };
        let budget = deadline.saturating_duration_since(started);
        let settle = settle_by(deadline);
        let mut called = false;
        for call in calls {
            let sources = call.sources();
            called |= self.send(call, settle).await;
            unsettled.sources -= sources;
        }
        let took = started.elapsed();
        i.last_flush_us.store(
            took.as_micros().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
        if called && i.circuit.flush_took(Instant::now(), took, budget) == Pace::Opened {
            let message = i.circuit.slow_reason("PutMetricData", took, budget);
            self.warn(&message);
            i.counters.error(message);
        }
    }

    /// Send `call`, or write it as EMF when the circuit is open. Returns whether a call was
    /// made.
    async fn send(&self, call: Call, deadline: Instant) -> bool {
        let i = &*self.inner;
        if !i.circuit.allows(Instant::now()) {
            self.fall_back(&call);
            return false;
        }
        let datums: Vec<MetricDatum> = call.datums.iter().map(to_sdk).collect();
        let sent = with_retries(&i.retry, deadline, &i.retries, || {
            let request = i
                .client
                .put_metric_data()
                .namespace(call.namespace.as_ref())
                .set_metric_data(Some(datums.clone()));
            async move {
                match before(deadline, request.send()).await {
                    Some(answer) => answer.map(|_| ()).map_err(classify),
                    None => Err((
                        Retry::No,
                        Failed::Unavailable(
                            "PutMetricData did not answer before the flush deadline".into(),
                        ),
                    )),
                }
            }
        })
        .await;
        match sent {
            Ok(()) => {
                i.circuit.success();
                i.calls.fetch_add(1, Ordering::Relaxed);
                i.counters.written(call.sources());
            }
            Err(Failed::Invalid(message)) => {
                // The service answered: the circuit stays as it is, the call is not retried.
                i.circuit.success();
                i.counters.dropped("invalid", call.sources());
                i.counters.error(message);
            }
            Err(Failed::Unavailable(message)) => {
                i.circuit.failure(Instant::now());
                self.warn(&message);
                i.counters.error(message);
                self.fall_back(&call);
            }
        }
        true
    }

    fn fall_back(&self, call: &Call) {
        let i = &*self.inner;
        i.fallback.metrics(&call.to_batch());
        i.counters.fallen_back(call.sources());
    }

    fn warn(&self, message: &str) {
        self.inner.warner.warn(Instant::now(), |suppressed| {
            let logger = lift::observability::Observability::new().logger();
            logger.warn(
                "cloudwatch metrics unreachable: metrics go to EMF on stdout",
                &[
                    ("exporter", "cloudwatch-metrics".into()),
                    ("error", message.into()),
                    ("suppressed_warnings", suppressed.into()),
                ],
            );
        });
    }
}

/// The metric values of a flush not yet sent, fallen back or dropped: if the flush ends early
/// (its future dropped at the pipeline's deadline, or a panic while sending), they are counted
/// as `cut_off`.
struct Unsettled<'a> {
    counters: &'a ExportCounters,
    sources: u64,
}

impl Drop for Unsettled<'_> {
    fn drop(&mut self) {
        if self.sources > 0 {
            self.counters.dropped("cut_off", self.sources);
        }
    }
}

/// Why a call failed, once retries are spent.
#[derive(Debug, PartialEq, Eq)]
enum Failed {
    /// CloudWatch refused the request itself.
    Invalid(String),
    /// CloudWatch could not be reached, or throttled, or failed, or refused the caller.
    Unavailable(String),
}

fn classify<E>(err: SdkError<E>) -> (Retry, Failed)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or("no error code");
            let message = format!(
                "PutMetricData: {} ({code}, HTTP {status})",
                service.err().message().unwrap_or("no message")
            );
            classify_answer(code, status, message)
        }
        SdkError::ConstructionFailure(_) => (
            Retry::No,
            Failed::Invalid(format!("PutMetricData: {}", DisplayErrorContext(&err))),
        ),
        _ => (
            Retry::Yes,
            Failed::Unavailable(format!("PutMetricData: {}", DisplayErrorContext(&err))),
        ),
    }
}

/// What a service error means for the call, from its code and status.
fn classify_answer(code: &str, status: u16, message: String) -> (Retry, Failed) {
    if THROTTLING.contains(&code) || status == 429 || status >= 500 {
        (Retry::Yes, Failed::Unavailable(message))
    } else if DENIED.contains(&code) || status == 401 || status == 403 {
        // The metrics are not at fault: a role without the permission, or credentials that
        // expired, refuses every call alike. Dropping them would lose the metrics of every
        // invocation until someone noticed; on stdout CloudWatch still extracts them, and the
        // failures open the circuit so the calls stop.
        (Retry::No, Failed::Unavailable(message))
    } else {
        (Retry::No, Failed::Invalid(message))
    }
}

fn to_sdk(d: &Datum) -> MetricDatum {
    let mut b = MetricDatum::builder()
        .metric_name(d.name.as_str())
        .set_dimensions(Some(
            d.dimensions
                .iter()
                .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                .collect(),
        ))
        .timestamp(DateTime::from_millis(d.timestamp_ms as i64))
        .unit(StandardUnit::from(d.unit));
    if d.high_resolution {
        b = b.storage_resolution(1);
    }
    match &d.value {
        DatumValue::Value(v) => b = b.value(*v),
        DatumValue::Statistics {
            count,
            sum,
            min,
            max,
        } => {
            b = b.statistic_values(
                StatisticSet::builder()
                    .sample_count(*count)
                    .sum(*sum)
                    .minimum(*min)
                    .maximum(*max)
                    .build(),
            )
        }
        DatumValue::Values(values, counts) => {
            b = b
                .set_values(Some(values.clone()))
                .set_counts(Some(counts.clone()))
        }
    }
    b.build()
}

impl Exporter for CloudWatchMetricsExporter {
    fn name(&self) -> &str {
        "cloudwatch-metrics"
    }

    fn accepts(&self, kind: RecordKind) -> bool {
        kind == RecordKind::Metrics
    }

    fn metrics(&self, batch: &MetricsBatch) {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(batch);
    }

    fn flush(&self, deadline: Instant) -> ExportFuture<'_> {
        Box::pin(self.flush_pending(deadline))
    }

    fn stats(&self) -> ExporterStats {
        self.inner.counters.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(code: &str, status: u16) -> (Retry, &'static str) {
        match classify_answer(code, status, String::new()) {
            (retry, Failed::Unavailable(_)) => (retry, "unavailable"),
            (retry, Failed::Invalid(_)) => (retry, "invalid"),
        }
    }

    #[test]
    fn denied_and_expired_credentials_fall_back_instead_of_dropping() {
        for (code, status) in [
            ("no error code", 401),
            ("no error code", 403),
            ("AccessDenied", 400),
            ("AccessDeniedException", 400),
            ("ExpiredToken", 400),
            ("ExpiredTokenException", 400),
            ("InvalidClientTokenId", 403),
        ] {
            assert_eq!(
                kind(code, status),
                (Retry::No, "unavailable"),
                "{code} {status}"
            );
        }
    }

    #[test]
    fn throttling_and_server_errors_are_retried_and_bad_requests_dropped() {
        assert_eq!(kind("Throttling", 400), (Retry::Yes, "unavailable"));
        assert_eq!(kind("no error code", 429), (Retry::Yes, "unavailable"));
        assert_eq!(kind("InternalFailure", 500), (Retry::Yes, "unavailable"));
        assert_eq!(kind("InvalidParameterValue", 400), (Retry::No, "invalid"));
        assert_eq!(kind("no error code", 400), (Retry::No, "invalid"));
    }
}
