//! [`CloudWatchLogsExporter`]: log lines to CloudWatch Logs through PutLogEvents, to a group and
//! stream of your choosing, optionally one stream (or group) per tenant.
//!
//! In Lambda, stdout already reaches CloudWatch Logs, in the function's own group. Use this
//! exporter when lines must go elsewhere: a group per tenant, a group with its own retention,
//! or a shared group for several functions. It takes log lines only.
//!
//! # Tenants
//!
//! A per-tenant stream or group is an isolation boundary, so two tenants never share one: the
//! tenant is escaped into the name, not replaced ([`tenant_streams`] and [`tenant_groups`] say
//! how), and a name cut to [`MAX_TENANT_LEN`] bytes ends with a hash of the whole tenant. At
//! most [`max_tenant_destinations`] tenants (100 by default) get a destination of their own per
//! exporter, that is per sandbox; later tenants' lines go to the `other` destination
//! ([`OTHER_TENANT_DESTINATION`]) and lines of the empty tenant to `invalid`
//! ([`INVALID_TENANT_DESTINATION`]), each counted in [`CloudWatchLogsStats`]. A tenant named
//! `other` or `invalid` has a destination of its own (`%6Fther`, `%69nvalid`).
//!
//! [`tenant_streams`]: CloudWatchLogsBuilder::tenant_streams
//! [`tenant_groups`]: CloudWatchLogsBuilder::tenant_groups
//! [`max_tenant_destinations`]: CloudWatchLogsBuilder::max_tenant_destinations
//!
//! # How a line travels
//!
//! - **Accept** ([`Exporter::log`], on the request path): the line, its timestamp and its
//!   tenant are copied into the calling thread's own shard of the queue, so concurrent
//!   requests on different threads share no lock and no counter, and no allocation is made per
//!   line. A byte budget bounds what is held
//!   ([`max_buffer_bytes`](CloudWatchLogsBuilder::max_buffer_bytes), 4 MiB by default; each
//!   thread reports to it every 16 KiB, so it can be passed by that much per thread). When
//!   the buffer is full the **new** line is dropped (`buffer_full`): lines already held are
//!   older, and an operator reading a gap wants to see where it began.
//! - **Flush** (after each response, never on the request path): the queue is drained, lines
//!   are grouped by destination, split and batched by the rules of [`batch`], and sent.
//! - **Shutdown** (SIGTERM): everything left is sent.
//!
//! # Per invocation or across invocations
//!
//! By default every invocation that logged is flushed after its response, so its lines appear
//! within about a second, as they do on stdout; the price is one PutLogEvents call (per
//! destination) per invocation. With
//! [`batch_across_invocations`](CloudWatchLogsBuilder::batch_across_invocations), a flush sends
//! only once a [`Thresholds`] limit is reached (lines, bytes, the oldest line's age, or half the
//! buffer), checked when the flush runs: no timer is relied on, since Lambda freezes the sandbox
//! between invocations. That makes far fewer calls, but lines wait — possibly until the next
//! invocation or SIGTERM — and lines still held when a sandbox dies without SIGTERM are lost.
//! In that mode [`needs_shutdown`](Exporter::needs_shutdown) is true, so Lift registers the
//! extension that makes Lambda send SIGTERM.
//!
//! # When CloudWatch fails
//!
//! Throttling, 5xx answers, timeouts and network errors are retried with backoff
//! ([`delivery::with_retries`](crate::delivery::with_retries)) within the flush deadline. A
//! missing group or stream is created (with its retention) and the batch sent again. Lines the
//! service rejects (`rejectedLogEventsInfo`) are dropped as `too_new`, `too_old` or `expired`;
//! a request it refuses (`InvalidParameterException`, …) is dropped as `invalid`. When a batch
//! fails for good, or the [`Circuit`] is open after repeated failed
//! flushes, the lines are written to stdout instead (`fallen_back`) and a WARN line says so, at
//! most once a minute. Once the cooldown has passed one flush probes CloudWatch again; its
//! success closes the circuit. Every accepted line ends up exactly once as written, dropped (by
//! reason) or fallen back.
//!
//! A CloudWatch that answers, but slowly, counts against the circuit too: the flush runs
//! between the response and the next invocation, so its time is added to every invocation. A
//! flush that made calls and used a quarter or more of its time
//! ([`slow_flush_percent`](CloudWatchLogsBuilder::slow_flush_percent)) is slow, and as many slow
//! flushes in a row as failed ones open the circuit.
//!
//! A call abandoned at the flush deadline may still have reached CloudWatch; its lines are
//! then written to stdout too (delivery is at least once, never silently lost).
//!
//! # Written here
//!
//! No well-kept crate batches PutLogEvents for Lambda's lifecycle (flush after the response,
//! bounded by a deadline, no background timer), so the batching, the accounting and the
//! fallback are written here, on the SDK's client.

pub mod batch;
mod names;
mod queue;
mod send;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;
use lift::observability::{
    ExportCounters, ExportFuture, Exporter, ExporterStats, Field, LogRecord, Logger, Observability,
    RecordKind,
};

use crate::delivery::{Circuit, Pace, RetryPolicy, Warner, DEFAULT_CIRCUIT_COOLDOWN};
use crate::delivery::{
    DEFAULT_CIRCUIT_THRESHOLD, DEFAULT_SLOW_FLUSH_PERCENT, DEFAULT_WARN_INTERVAL,
};
use batch::{EntryFate, Limits};
use names::{Charset, Routed, TenantDestinations};
pub use names::{
    DEFAULT_MAX_TENANT_DESTINATIONS, DEFAULT_STREAM_PATTERN, INVALID_TENANT_DESTINATION,
    MAX_TENANT_LEN, OTHER_TENANT_DESTINATION,
};
use queue::Queue;
use send::{Failure, Sender};

/// The most bytes of lines held before new ones are dropped, by default: 4 MiB.
pub const DEFAULT_MAX_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// The environment variable naming the log group for [`CloudWatchLogsExporter::from_env`].
pub const ENV_LOG_GROUP: &str = "LIFT_CLOUDWATCH_LOG_GROUP";
/// The environment variable that, set to `1`, gives each tenant its own stream in
/// [`CloudWatchLogsExporter::from_env`].
pub const ENV_TENANT_STREAMS: &str = "LIFT_CLOUDWATCH_TENANT_STREAMS";
/// Set to `1` to batch across invocations with the default [`Thresholds`] (read by
/// [`CloudWatchLogsExporter::from_env`]).
pub const ENV_BATCH: &str = "LIFT_CLOUDWATCH_LOGS_BATCH";

/// When a flush sends, in [`batch_across_invocations`](CloudWatchLogsBuilder::batch_across_invocations)
/// mode: as soon as any limit is reached when a flush runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Lines held (default 1,000).
    pub max_events: usize,
    /// Bytes held, 26 per line included as the service counts them (default 256 KiB).
    pub max_bytes: usize,
    /// Age of the oldest line held (default 10 s).
    pub max_age: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_events: 1_000,
            max_bytes: 256 * 1024,
            max_age: Duration::from_secs(10),
        }
    }
}

/// Where lines with a tenant go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TenantRouting {
    /// With everything else.
    Shared,
    /// To `<stream>/<tenant>` in the group.
    Streams,
    /// To the stream in `<group>/<tenant>`.
    Groups,
}

/// Builds a [`CloudWatchLogsExporter`]; see [`CloudWatchLogsExporter::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct CloudWatchLogsBuilder {
    group: String,
    stream_pattern: String,
    tenants: TenantRouting,
    retention_days: Option<i32>,
    thresholds: Option<Thresholds>,
    max_buffer_bytes: usize,
    retry: RetryPolicy,
    circuit: (u32, Duration),
    slow_flush_percent: u32,
    max_tenant_destinations: usize,
    warn_interval: Duration,
}

impl CloudWatchLogsBuilder {
    /// The stream name pattern (default [`DEFAULT_STREAM_PATTERN`],
    /// `{date}/{function}/{instance}`): `{date}` is the UTC date of the flush as `YYYY/MM/DD`,
    /// `{function}` `AWS_LAMBDA_FUNCTION_NAME` (or `local`), `{instance}` a random 16-hex-digit
    /// id made once per process. `:` and `*` become `_`.
    pub fn stream_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.stream_pattern = pattern.into();
        self
    }

    /// Lines of a tenant go to the stream `<stream>/<tenant>`; lines without one to the
    /// stream. Each UTF-8 byte of `:`, `*`, `%` and control characters in the tenant is written
    /// `%XX` (`a:b` → `a%3Ab`), and so is the first letter of a tenant named `other` or
    /// `invalid`; a name longer than [`MAX_TENANT_LEN`] bytes is cut and ends with `%-` and 24
    /// hex digits of the tenant's SHA-256. Two tenants never share a stream.
    pub fn tenant_streams(mut self) -> Self {
        self.tenants = TenantRouting::Streams;
        self
    }

    /// Lines of a tenant go to the group `<group>/<tenant>`; lines without one to the group.
    /// Each UTF-8 byte of a character outside `[.\-_/A-Za-z0-9]` in the tenant is written
    /// `#XX` (`a b` → `a#20b`), and so is the first letter of a tenant named `other` or
    /// `invalid`; a name longer than [`MAX_TENANT_LEN`] bytes is cut and ends with `#-` and 24
    /// hex digits of the tenant's SHA-256. Two tenants never share a group.
    pub fn tenant_groups(mut self) -> Self {
        self.tenants = TenantRouting::Groups;
        self
    }

    /// At most `max` tenants get a stream or group of their own (default
    /// [`DEFAULT_MAX_TENANT_DESTINATIONS`], 100), counted per exporter, that is per sandbox:
    /// each is a CloudWatch resource. Lines of later tenants go to the
    /// [`OTHER_TENANT_DESTINATION`] (`<stream>/other` or `<group>/other`) and are counted
    /// ([`CloudWatchLogsStats::folded_tenant_lines`]).
    pub fn max_tenant_destinations(mut self, max: usize) -> Self {
        self.max_tenant_destinations = max;
        self
    }

    /// The retention set (PutRetentionPolicy) on each group the exporter creates. Groups that
    /// exist already are left as they are.
    pub fn retention_days(mut self, days: i32) -> Self {
        self.retention_days = Some(days);
        self
    }

    /// Send only once one of `thresholds` is reached, rather than after every invocation; see
    /// the module doc for the trade-off.
    pub fn batch_across_invocations(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = Some(thresholds);
        self
    }

    /// The most bytes of lines held (default [`DEFAULT_MAX_BUFFER_BYTES`]); past it new lines
    /// are dropped as `buffer_full`. Each thread that logs reports its bytes to this budget
    /// every 16 KiB, so the buffer can pass it by up to 16 KiB per thread.
    pub fn max_buffer_bytes(mut self, bytes: usize) -> Self {
        self.max_buffer_bytes = bytes;
        self
    }

    /// How failed calls are retried (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The circuit: open after `threshold` failed (or slow) flushes in a row, probe again after
    /// `cooldown` (default 3 and 30 s).
    pub fn circuit(mut self, threshold: u32, cooldown: Duration) -> Self {
        self.circuit = (threshold, cooldown);
        self
    }

    /// A flush that makes calls and uses `percent` % or more of its time (from its start to
    /// its deadline) is slow, and slow flushes in a row open the circuit as failed ones do
    /// (default [`DEFAULT_SLOW_FLUSH_PERCENT`],
    /// 25; `0` turns this off).
    pub fn slow_flush_percent(mut self, percent: u32) -> Self {
        self.slow_flush_percent = percent;
        self
    }

    /// At most one WARN line per `interval` about lines falling back (default 60 s).
    pub fn warn_interval(mut self, interval: Duration) -> Self {
        self.warn_interval = interval;
        self
    }

    /// The exporter, with its own client made from `config`.
    pub fn build(self, config: &SdkConfig) -> CloudWatchLogsExporter {
        // The exporter's own client, never shared with the app's: if the app's SDK calls are
        // traced, the exporter's calls (made after the response) must not produce telemetry of
        // their own, which would feed back into the exporter. The SDK's own retries are off:
        // the exporter retries within the flush deadline, which the SDK does not know.
        let config = aws_sdk_cloudwatchlogs::config::Builder::from(config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        self.build_with_client(Client::from_conf(config))
    }

    /// The exporter, on `client` (keep it for the exporter alone; see [`build`](Self::build)).
    pub fn build_with_client(self, client: Client) -> CloudWatchLogsExporter {
        let (threshold, cooldown) = self.circuit;
        let charset = match self.tenants {
            TenantRouting::Groups => Charset::Group,
            TenantRouting::Shared | TenantRouting::Streams => Charset::Stream,
        };
        CloudWatchLogsExporter {
            inner: Arc::new(LogsInner {
                client,
                group: self.group,
                stream_pattern: self.stream_pattern,
                tenants: self.tenants,
                retention_days: self.retention_days,
                thresholds: self.thresholds,
                max_buffer_bytes: self.max_buffer_bytes,
                queue: Queue::new(self.max_buffer_bytes),
                retry: self.retry,
                circuit: Circuit::new(threshold, cooldown)
                    .slow_flush_percent(self.slow_flush_percent),
                warner: Warner::new(self.warn_interval),
                function: names::function_name(),
                state: tokio::sync::Mutex::new(State {
                    pending: Vec::new(),
                    pending_bytes: 0,
                    oldest_ms: None,
                    tenants: TenantDestinations::new(self.max_tenant_destinations, charset),
                }),
                counters: ExportCounters::new(),
                retries: AtomicU64::new(0),
                batches: AtomicU64::new(0),
                last_flush_micros: AtomicU64::new(u64::MAX),
                tenant_destinations: AtomicU64::new(0),
                folded_tenant_lines: AtomicU64::new(0),
                invalid_tenant_lines: AtomicU64::new(0),
                logger: Observability::new().logger(),
            }),
        }
    }
}

/// Sends log lines to CloudWatch Logs with PutLogEvents after each response (or across
/// invocations), falling back to stdout when CloudWatch fails. See the [module](self) doc.
///
/// Cloning is cheap and shares the buffer and the stats: keep a clone to read
/// [`stats_detail`](Self::stats_detail) after handing one to
/// [`Observability::export_to`].
#[derive(Clone)]
pub struct CloudWatchLogsExporter {
    inner: Arc<LogsInner>,
}

impl std::fmt::Debug for CloudWatchLogsExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchLogsExporter")
            .field("group", &self.inner.group)
            .field("stream_pattern", &self.inner.stream_pattern)
            .finish_non_exhaustive()
    }
}

/// What a [`CloudWatchLogsExporter`] did so far, beyond [`ExporterStats`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloudWatchLogsStats {
    /// Accepted, written, dropped by reason, fallen back, the last error.
    pub exporter: ExporterStats,
    /// Calls retried after throttling, a 5xx, a timeout or a network error.
    pub retries: u64,
    /// PutLogEvents batches the service answered.
    pub batches: u64,
    /// How long the last flush that had lines to settle took.
    pub last_flush_latency: Option<Duration>,
    /// Bytes of lines held now.
    pub buffered_bytes: usize,
    /// Whether the circuit is open (lines are going to stdout).
    pub circuit_open: bool,
    /// Flushes that made calls and used their slow share of the flush time or more.
    pub slow_flushes: u64,
    /// Tenants with a stream or group of their own.
    pub tenant_destinations: u64,
    /// Lines sent to the `other` destination because their tenant came past
    /// [`max_tenant_destinations`](CloudWatchLogsBuilder::max_tenant_destinations).
    pub folded_tenant_lines: u64,
    /// Lines sent to the `invalid` destination because their tenant was empty.
    pub invalid_tenant_lines: u64,
}

struct LogsInner {
    client: Client,
    group: String,
    stream_pattern: String,
    tenants: TenantRouting,
    retention_days: Option<i32>,
    thresholds: Option<Thresholds>,
    max_buffer_bytes: usize,
    retry: RetryPolicy,
    circuit: Circuit,
    warner: Warner,
    function: String,
    /// Where the request path puts lines: a shard per thread, no lock shared between threads.
    queue: Queue,
    /// Only flushes take this (after the response), one at a time.
    state: tokio::sync::Mutex<State>,
    counters: ExportCounters,
    retries: AtomicU64,
    batches: AtomicU64,
    /// `u64::MAX` until a flush has settled lines.
    last_flush_micros: AtomicU64,
    /// Kept beside the flush's state so the stats never wait for a flush.
    tenant_destinations: AtomicU64,
    folded_tenant_lines: AtomicU64,
    invalid_tenant_lines: AtomicU64,
    /// Writes the exporter's own warnings to stdout.
    logger: Logger,
}

/// One accepted line.
struct Entry {
    /// The tenant as it goes into the name (see [`names::tenant_name`]); `None` for the base
    /// destination.
    tenant: Option<Arc<str>>,
    timestamp_ms: i64,
    message: String,
    /// The bytes it holds in the buffer's budget.
    queued: usize,
}

struct State {
    /// Lines drained from the queue, waiting for a threshold (across-invocations mode).
    pending: Vec<Entry>,
    /// The size of `pending` as the service counts it, and its oldest line's time: kept as
    /// lines arrive, so a flush that only checks the thresholds costs nothing per held line.
    pending_bytes: usize,
    oldest_ms: Option<i64>,
    tenants: TenantDestinations,
}

impl CloudWatchLogsExporter {
    /// A builder for an exporter writing to `log_group` (created when missing).
    pub fn builder(log_group: impl Into<String>) -> CloudWatchLogsBuilder {
        CloudWatchLogsBuilder {
            group: log_group.into(),
            stream_pattern: DEFAULT_STREAM_PATTERN.to_owned(),
            tenants: TenantRouting::Shared,
            retention_days: None,
            thresholds: None,
            max_buffer_bytes: DEFAULT_MAX_BUFFER_BYTES,
            retry: RetryPolicy::default(),
            circuit: (DEFAULT_CIRCUIT_THRESHOLD, DEFAULT_CIRCUIT_COOLDOWN),
            slow_flush_percent: DEFAULT_SLOW_FLUSH_PERCENT,
            max_tenant_destinations: DEFAULT_MAX_TENANT_DESTINATIONS,
            warn_interval: DEFAULT_WARN_INTERVAL,
        }
    }

    /// An exporter configured from the environment: the group from `LIFT_CLOUDWATCH_LOG_GROUP`
    /// (`None` when it is unset or empty), a stream per tenant when
    /// `LIFT_CLOUDWATCH_TENANT_STREAMS=1`, batching across invocations with the default
    /// [`Thresholds`] when `LIFT_CLOUDWATCH_LOGS_BATCH=1`. The SDK reads its own variables from `config`
    /// (`AWS_ENDPOINT_URL` points it at a stand-in).
    pub fn from_env(config: &SdkConfig) -> Option<CloudWatchLogsExporter> {
        let group = std::env::var(ENV_LOG_GROUP)
            .ok()
            .filter(|g| !g.is_empty())?;
        let mut builder = Self::builder(group);
        let on = |name: &str| std::env::var(name).is_ok_and(|v| v == "1" || v == "true");
        if on(ENV_TENANT_STREAMS) {
            builder = builder.tenant_streams();
        }
        if on(ENV_BATCH) {
            builder = builder.batch_across_invocations(Thresholds::default());
        }
        Some(builder.build(config))
    }

    /// The stats, with retries, batches, the last flush's latency and the circuit's state.
    pub fn stats_detail(&self) -> CloudWatchLogsStats {
        let i = &self.inner;
        let micros = i.last_flush_micros.load(Ordering::Relaxed);
        CloudWatchLogsStats {
            exporter: i.counters.snapshot(),
            retries: i.retries.load(Ordering::Relaxed),
            batches: i.batches.load(Ordering::Relaxed),
            last_flush_latency: (micros != u64::MAX).then(|| Duration::from_micros(micros)),
            buffered_bytes: i.queue.buffered(),
            circuit_open: i.circuit.is_open(),
            slow_flushes: i.circuit.slow_flushes(),
            tenant_destinations: i.tenant_destinations.load(Ordering::Relaxed),
            folded_tenant_lines: i.folded_tenant_lines.load(Ordering::Relaxed),
            invalid_tenant_lines: i.invalid_tenant_lines.load(Ordering::Relaxed),
        }
    }
}

impl Exporter for CloudWatchLogsExporter {
    fn name(&self) -> &str {
        "cloudwatch-logs"
    }

    fn accepts(&self, kind: RecordKind) -> bool {
        kind == RecordKind::Log
    }

    fn log(&self, record: &LogRecord<'_>) {
        self.inner.accept(record);
    }

    fn flush(&self, deadline: Instant) -> ExportFuture<'_> {
        Box::pin(self.inner.flush(deadline, false))
    }

    fn shutdown(&self, deadline: Instant) -> ExportFuture<'_> {
        Box::pin(self.inner.flush(deadline, true))
    }

    fn needs_shutdown(&self) -> bool {
        self.inner.thresholds.is_some()
    }

    fn stats(&self) -> ExporterStats {
        self.inner.counters.snapshot()
    }
}

impl LogsInner {
    /// The request path: a copy of the line into this thread's shard of the queue. A queued
    /// line is counted as accepted by the flush that takes it off the queue (one shared counter
    /// fewer here); a refused one is counted at once.
    fn accept(&self, record: &LogRecord<'_>) {
        if record.line.is_empty() {
            // The service takes no empty message.
            self.counters.accepted(1);
            self.counters.dropped("empty", 1);
            return;
        }
        let tenant = match self.tenants {
            TenantRouting::Shared => None,
            TenantRouting::Streams | TenantRouting::Groups => record.tenant_id,
        };
        let timestamp_ms = record
            .timestamp
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        if !self.queue.push(tenant, timestamp_ms, record.line) {
            self.counters.accepted(1);
            self.counters.dropped("buffer_full", 1);
        }
    }

    /// Whether the held lines reach a threshold (or half the buffer).
    fn due(&self, state: &State, t: &Thresholds) -> bool {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let oldest = state.oldest_ms.unwrap_or(now_ms);
        let age = Duration::from_millis(u64::try_from(now_ms - oldest).unwrap_or(0));
        state.pending.len() >= t.max_events
            || state.pending_bytes >= t.max_bytes
            || age >= t.max_age
            || self.queue.buffered() >= self.max_buffer_bytes / 2
    }

    /// The group and stream a line goes to.
    fn destination(&self, tenant: Option<&str>, stream: &str) -> (String, String) {
        match (self.tenants, tenant) {
            (TenantRouting::Streams, Some(t)) => (self.group.clone(), names::join(stream, t)),
            (TenantRouting::Groups, Some(t)) => (names::join(&self.group, t), stream.to_owned()),
            _ => (self.group.clone(), stream.to_owned()),
        }
    }

    async fn flush(&self, deadline: Instant, everything: bool) {
        let started = Instant::now();
        let lock =
            tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), self.state.lock());
        // Another flush held the state until the deadline: the lines stay queued for the next.
        let Ok(mut state) = lock.await else { return };
        let state = &mut *state;
        let held = state.pending.len();
        let (mut folded, mut invalid) = (0, 0);
        self.queue.drain(|line| {
            let entry = Entry {
                tenant: line.tenant.map(|t| {
                    let (name, routed) = state.tenants.resolve(t);
                    match routed {
                        Routed::Own => {}
                        Routed::Folded => folded += 1,
                        Routed::Invalid => invalid += 1,
                    }
                    name
                }),
                timestamp_ms: line.timestamp_ms,
                // `from_utf8` validates far faster than `from_utf8_lossy`, which walks the
                // line in chunks: the lossy copy is only for a line that is not UTF-8.
                message: String::from_utf8(line.message.to_vec())
                    .unwrap_or_else(|_| String::from_utf8_lossy(line.message).into_owned()),
                queued: line.held,
            };
            state.pending_bytes += entry.message.len() + batch::EVENT_OVERHEAD;
            state.oldest_ms = Some(
                state
                    .oldest_ms
                    .map_or(entry.timestamp_ms, |o| o.min(entry.timestamp_ms)),
            );
            state.pending.push(entry);
        });
        self.counters.accepted((state.pending.len() - held) as u64);
        self.folded_tenant_lines
            .fetch_add(folded, Ordering::Relaxed);
        self.invalid_tenant_lines
            .fetch_add(invalid, Ordering::Relaxed);
        self.tenant_destinations
            .store(state.tenants.len() as u64, Ordering::Relaxed);
        if state.pending.is_empty() {
            return;
        }
        if let (false, Some(t)) = (everything, &self.thresholds) {
            if !self.due(state, t) {
                return;
            }
        }
        state.pending_bytes = 0;
        state.oldest_ms = None;
        let mut ledger = Ledger::new(self, std::mem::take(&mut state.pending));
        // Boxed: the sending future is large, and a flush that only drains the queue (most of
        // them, when batching across invocations) should not build and move it.
        Box::pin(self.send(&mut ledger, deadline)).await;
        ledger.finish();
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX - 1);
        self.last_flush_micros.store(micros, Ordering::Relaxed);
    }

    /// Send the ledger's lines; whatever is not settled here falls back when the ledger ends.
    async fn send(&self, ledger: &mut Ledger<'_>, deadline: Instant) {
        let started = Instant::now();
        let now = started;
        if !self.circuit.allows(now) {
            self.warn_fallback(now, ledger.entries.len(), "the circuit is open");
            return;
        }
        let stream = names::render_stream(&self.stream_pattern, SystemTime::now(), &self.function);
        let mut by_destination: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        for (i, e) in ledger.entries.iter().enumerate() {
            by_destination
                .entry(self.destination(e.tenant.as_deref(), &stream))
                .or_default()
                .push(i);
        }
        let sender = Sender {
            client: &self.client,
            policy: &self.retry,
            retries: &self.retries,
            retention_days: self.retention_days,
            counters: &self.counters,
            deadline: crate::delivery::settle_by(deadline),
        };
        let mut failure: Option<String> = None;
        let mut answered = false;
        for ((group, stream), indices) in by_destination {
            let events = batch::events(indices.iter().map(|&i| {
                let e = &ledger.entries[i];
                (i, e.timestamp_ms, e.message.as_str())
            }));
            for event in &events {
                ledger.parts[event.entry] += 1;
            }
            for b in batch::batches(events, &Limits::default()) {
                // After a batch failed for good, the rest go straight to stdout: retrying them
                // would spend the deadline on a service that is not answering.
                if failure.is_some() {
                    continue;
                }
                match sender.put(&group, &stream, &b).await {
                    Ok(rejected) => {
                        answered = true;
                        self.batches.fetch_add(1, Ordering::Relaxed);
                        let reasons = rejected.apply(b.events.len());
                        for (event, reason) in b.events.iter().zip(reasons) {
                            let outcome = reason.map_or(EntryFate::Written, EntryFate::Dropped);
                            ledger.settle(event.entry, outcome);
                        }
                    }
                    Err(Failure::Invalid(message)) => {
                        answered = true;
                        self.counters.error(message);
                        for event in &b.events {
                            ledger.settle(event.entry, EntryFate::Dropped("invalid"));
                        }
                    }
                    Err(Failure::NotFound(m) | Failure::Unavailable(m)) => failure = Some(m),
                    Err(Failure::Exists) => {
                        failure = Some("PutLogEvents: unexpected answer".to_owned())
                    }
                }
            }
        }
        let now = Instant::now();
        let called = answered || failure.is_some();
        match failure {
            Some(message) => {
                self.counters.error(message.clone());
                self.circuit.failure(now);
                let unsettled = ledger.unsettled();
                self.warn_fallback(now, unsettled, &message);
            }
            None if answered => {
                self.circuit.success();
            }
            None => {}
        }
        let (took, budget) = (now - started, deadline.saturating_duration_since(started));
        // The lines of this flush are settled already; from the next one on they go to stdout,
        // and its warning says the circuit is open. The error says why it opened.
        if called && self.circuit.flush_took(now, took, budget) == Pace::Opened {
            self.counters
                .error(self.circuit.slow_reason("PutLogEvents", took, budget));
        }
    }

    fn warn_fallback(&self, now: Instant, lines: usize, why: &str) {
        self.warner.warn(now, |suppressed| {
            self.logger.warn(
                "cloudwatch-logs: delivery failed, lines written to stdout instead",
                &[
                    ("exporter", Field::Str("cloudwatch-logs")),
                    ("lines", Field::U64(lines as u64)),
                    ("reason", Field::Str(why)),
                    ("suppressed_warnings", Field::U64(suppressed)),
                    ("circuit_open", Field::Bool(self.circuit.is_open())),
                ],
            );
        });
    }
}

/// The lines of one flush and how each ended. Whatever is not settled when it ends — a batch
/// that failed, a destination never reached, or the flush future dropped at the pipeline's
/// deadline — is written to stdout, so every line is counted exactly once.
struct Ledger<'a> {
    inner: &'a LogsInner,
    entries: Vec<Entry>,
    /// Events of each entry not yet settled (a split line has several).
    parts: Vec<u32>,
    outcomes: Vec<Option<EntryFate>>,
    finished: bool,
}

impl<'a> Ledger<'a> {
    fn new(inner: &'a LogsInner, entries: Vec<Entry>) -> Self {
        let n = entries.len();
        Ledger {
            inner,
            entries,
            parts: vec![0; n],
            outcomes: vec![None; n],
            finished: false,
        }
    }

    fn settle(&mut self, entry: usize, outcome: EntryFate) {
        if let (Some(p), Some(o)) = (self.parts.get_mut(entry), self.outcomes.get_mut(entry)) {
            *p = p.saturating_sub(1);
            *o = Some(o.map_or(outcome, |prev| prev.merge(outcome)));
        }
    }

    fn unsettled(&self) -> usize {
        (0..self.entries.len())
            .filter(|&i| self.parts[i] > 0 || self.outcomes[i].is_none())
            .count()
    }

    fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let c = &self.inner.counters;
        let (mut written, mut fallen_back, mut fallback_failed) = (0, 0, 0);
        // Stdout's lock is shared with the request path's stdout lines: taken only when a line
        // falls back.
        let mut out: Option<std::io::StdoutLock<'static>> = None;
        let mut bytes = 0;
        for (i, e) in self.entries.iter().enumerate() {
            bytes += e.queued;
            let outcome = match self.outcomes[i] {
                Some(o) if self.parts[i] == 0 => o,
                _ => EntryFate::FellBack,
            };
            match outcome {
                EntryFate::Written => written += 1,
                EntryFate::Dropped(reason) => c.dropped(reason, 1),
                EntryFate::FellBack => {
                    let mut line = Vec::with_capacity(e.message.len() + 1);
                    line.extend_from_slice(e.message.as_bytes());
                    line.push(b'\n');
                    let out = out.get_or_insert_with(|| std::io::stdout().lock());
                    match out.write_all(&line) {
                        Ok(()) => fallen_back += 1,
                        Err(err) => {
                            fallback_failed += 1;
                            c.error(format!("stdout fallback: {err}"));
                        }
                    }
                }
            }
        }
        if let Some(mut out) = out {
            // A failed flush of stdout shows in the next write's error; nothing to undo here.
            let _ = out.flush();
        }
        c.written(written);
        c.fallen_back(fallen_back);
        if fallback_failed > 0 {
            c.dropped("fallback_failed", fallback_failed);
        }
        self.inner.queue.release(bytes);
    }
}

impl Drop for Ledger<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}
