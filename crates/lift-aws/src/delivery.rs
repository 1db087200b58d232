//! What every exporter that calls an AWS API shares: bounded retries with exponential backoff
//! and full jitter, a circuit that opens after repeated failures or repeated slow flushes (the
//! exporter then falls back to stdout) and closes when the service answers again in time, and a
//! warning written at most once per interval.
//!
//! A slow answer counts against the circuit because the flush runs in the after-response
//! window: Lambda asks for the next event only once it ends, so a CloudWatch that answers every
//! call, but late, adds its latency to every invocation of the sandbox. A flush that made calls
//! and used [`DEFAULT_SLOW_FLUSH_PERCENT`] (25 %) or more of the time it was given is slow;
//! after as many slow flushes in a row as the circuit's failure threshold the circuit opens, the
//! telemetry goes to stdout (counted as fallen back), and after the cooldown one flush probes
//! again: fast, it closes the circuit; slow, it opens it for another cooldown.
//!
//! Nothing here sleeps between invocations or relies on a timer: Lambda freezes the sandbox, so
//! every decision is taken when a flush runs, from the time it reads then.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a failed call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included (default 3).
    pub max_attempts: u32,
    /// The backoff before the second call; it doubles for each further one (default 50 ms).
    pub base: Duration,
    /// The largest backoff (default 1 s).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt` (1 for the first retry): a random time up to
    /// `base × 2^(attempt − 1)`, capped at `max_backoff` ("full jitter").
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_backoff);
        let nanos = ceiling.as_nanos().min(u64::MAX as u128) as u64;
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// Whether a failure is worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Throttling, a 5xx, a timeout or the network: try again after a backoff.
    Yes,
    /// The request itself is wrong (or not allowed): another attempt would fail the same way.
    No,
}

/// Run `call` until it succeeds, fails for good, runs out of attempts, or the next backoff
/// would end after `deadline`. `retries` counts each attempt after the first.
pub async fn with_retries<T, E, F, Fut>(
    policy: &RetryPolicy,
    deadline: Instant,
    retries: &AtomicU64,
    mut call: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, (Retry, E)>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err((Retry::No, e)) => return Err(e),
            Err((Retry::Yes, e)) => {
                attempt += 1;
                if attempt >= policy.max_attempts {
                    return Err(e);
                }
                let wait = policy.backoff(attempt);
                if Instant::now() + wait >= deadline {
                    return Err(e);
                }
                retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Time kept back from the flush deadline, so an exporter settles every record itself (sent,
/// fallen back or dropped, and counted) before the pipeline cuts it off.
pub(crate) const DEADLINE_MARGIN: Duration = Duration::from_millis(20);

/// The deadline an exporter's own calls must end by: the flush's, less [`DEADLINE_MARGIN`].
pub(crate) fn settle_by(deadline: Instant) -> Instant {
    deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline)
}

/// `call`, or `None` once `deadline` has passed without an answer.
pub(crate) async fn before<F: std::future::Future>(
    deadline: Instant,
    call: F,
) -> Option<F::Output> {
    tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), call)
        .await
        .ok()
}

/// Opens after `threshold` failed flushes in a row, or `threshold` slow flushes in a row (see
/// [`flush_took`](Self::flush_took)). While open, [`allows`](Self::allows) says no until
/// `cooldown` has passed; then one flush is let through (half-open): its success closes the
/// circuit, its failure (or its slowness) opens it for another `cooldown`.
#[derive(Debug)]
pub struct Circuit {
    threshold: u32,
    cooldown: Duration,
    slow_percent: u32,
    failures: AtomicU32,
    /// Slow flushes in a row. A success does not reset it (a slow call succeeds), only a flush
    /// that ended in time does.
    slow_streak: AtomicU32,
    slow_flushes: AtomicU64,
    open_until: Mutex<Option<Instant>>,
}

/// Default: open after 3 failed (or slow) flushes in a row.
pub const DEFAULT_CIRCUIT_THRESHOLD: u32 = 3;
/// Default: try again 30 s after opening.
pub const DEFAULT_CIRCUIT_COOLDOWN: Duration = Duration::from_secs(30);
/// Default: a flush that used 25 % or more of its time is slow. With the default 1 s flush
/// timeout that is 250 ms: time added to every invocation's after-response window, which one
/// call to a healthy regional endpoint stays well below.
pub const DEFAULT_SLOW_FLUSH_PERCENT: u32 = 25;

/// How long a flush that made calls took, for [`Circuit::flush_took`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// It ended before its slow share of the time it was given.
    Fast,
    /// It was slow; the circuit was already open or the streak is short of the threshold.
    Slow,
    /// It was slow, and it opened the circuit.
    Opened,
}

impl Default for Circuit {
    fn default() -> Self {
        Circuit::new(DEFAULT_CIRCUIT_THRESHOLD, DEFAULT_CIRCUIT_COOLDOWN)
    }
}

impl Circuit {
    /// A closed circuit.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Circuit {
            threshold: threshold.max(1),
            cooldown,
            slow_percent: DEFAULT_SLOW_FLUSH_PERCENT,
            failures: AtomicU32::new(0),
            slow_streak: AtomicU32::new(0),
            slow_flushes: AtomicU64::new(0),
            open_until: Mutex::new(None),
        }
    }

    /// The same circuit, with a flush counted as slow once it uses `percent` % of its time
    /// (default [`DEFAULT_SLOW_FLUSH_PERCENT`]); `0` turns the latency rule off.
    pub fn slow_flush_percent(mut self, percent: u32) -> Self {
        self.slow_percent = percent;
        self
    }

    /// Failed (or slow) flushes in a row that open the circuit.
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// The share of its time from which a flush is slow, in percent (`0`: never).
    pub fn slow_percent(&self) -> u32 {
        self.slow_percent
    }

    /// Why the circuit opened after `operation`'s last flush took `took` of `budget`: the
    /// error both exporters report.
    pub fn slow_reason(&self, operation: &str, took: Duration, budget: Duration) -> String {
        format!(
            "{operation} was slow: {} flushes in a row used {} % or more of their time \
             (the last {} ms of {} ms)",
            self.threshold(),
            self.slow_percent(),
            took.as_millis(),
            budget.as_millis()
        )
    }

    /// Flushes counted as slow so far.
    pub fn slow_flushes(&self) -> u64 {
        self.slow_flushes.load(Ordering::Relaxed)
    }

    fn open_until(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.open_until.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a call may be made at `now`: the circuit is closed, or its cooldown is over.
    pub fn allows(&self, now: Instant) -> bool {
        self.open_until().is_none_or(|until| now >= until)
    }

    /// Whether the circuit is open (calls are not being made).
    pub fn is_open(&self) -> bool {
        self.open_until().is_some()
    }

    /// A flush succeeded: close the circuit. Returns whether it was open.
    pub fn success(&self) -> bool {
        self.failures.store(0, Ordering::Relaxed);
        self.open_until().take().is_some()
    }

    /// A flush failed at `now`. Returns whether this failure opened the circuit.
    pub fn failure(&self, now: Instant) -> bool {
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        self.open_if(now, failures)
    }

    /// A flush that made calls, given `budget` (from its start to its deadline), took `took`;
    /// called once its calls have been settled, at `now`. Slow ones count toward opening the
    /// circuit, whether their calls succeeded or not.
    pub fn flush_took(&self, now: Instant, took: Duration, budget: Duration) -> Pace {
        // `took / budget >= percent / 100`, in integers.
        let slow = self.slow_percent > 0
            && took.as_nanos().saturating_mul(100)
                >= budget
                    .as_nanos()
                    .saturating_mul(u128::from(self.slow_percent));
        if !slow {
            self.slow_streak.store(0, Ordering::Relaxed);
            return Pace::Fast;
        }
        self.slow_flushes.fetch_add(1, Ordering::Relaxed);
        let streak = self.slow_streak.fetch_add(1, Ordering::Relaxed) + 1;
        if self.open_if(now, streak) {
            Pace::Opened
        } else {
            Pace::Slow
        }
    }

    /// Open (or keep open, from `now`) the circuit when it is open already or `streak` reached
    /// the threshold. Returns whether this opened it.
    fn open_if(&self, now: Instant, streak: u32) -> bool {
        let mut open = self.open_until();
        let was_open = open.is_some();
        if was_open || streak >= self.threshold {
            *open = Some(now + self.cooldown);
        }
        !was_open && open.is_some()
    }
}

/// Lets a warning through at most once per interval.
#[derive(Debug)]
pub struct Warner {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

/// Default: one warning a minute.
pub const DEFAULT_WARN_INTERVAL: Duration = Duration::from_secs(60);

impl Default for Warner {
    fn default() -> Self {
        Warner::new(DEFAULT_WARN_INTERVAL)
    }
}

impl Warner {
    /// A warner letting one warning through per `interval`.
    pub fn new(interval: Duration) -> Self {
        Warner {
            interval,
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Run `warn` with the number of warnings suppressed since the last one, if the last one
    /// is at least an interval old at `now`; otherwise count this one as suppressed.
    pub fn warn(&self, now: Instant, warn: impl FnOnce(u64)) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < self.interval) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        *last = Some(now);
        drop(last);
        warn(self.suppressed.swap(0, Ordering::Relaxed));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            max_backoff: Duration::from_millis(250),
        };
        for _ in 0..200 {
            assert!(p.backoff(1) <= Duration::from_millis(100));
            assert!(p.backoff(2) <= Duration::from_millis(200));
            assert!(p.backoff(9) <= Duration::from_millis(250));
        }
    }

    #[test]
    fn the_circuit_opens_after_the_threshold_and_closes_on_success() {
        let c = Circuit::new(3, Duration::from_secs(30));
        let t0 = Instant::now();
        assert!(!c.failure(t0));
        assert!(!c.failure(t0));
        assert!(c.allows(t0));
        assert!(c.failure(t0));
        assert!(c.is_open());
        assert!(!c.allows(t0 + Duration::from_secs(29)));
        // Half-open after the cooldown; a failed probe opens it again.
        assert!(c.allows(t0 + Duration::from_secs(30)));
        assert!(!c.failure(t0 + Duration::from_secs(30)));
        assert!(!c.allows(t0 + Duration::from_secs(59)));
        assert!(c.allows(t0 + Duration::from_secs(60)));
        assert!(c.success());
        assert!(!c.is_open());
        assert!(!c.success());
    }

    #[test]
    fn slow_flushes_in_a_row_open_the_circuit_and_a_fast_one_resets_the_streak() {
        let c = Circuit::new(3, Duration::from_secs(30));
        let t0 = Instant::now();
        let budget = Duration::from_millis(1000);
        let ms = Duration::from_millis;
        assert_eq!(c.slow_percent(), 25);
        assert_eq!(c.flush_took(t0, ms(250), budget), Pace::Slow);
        assert_eq!(c.flush_took(t0, ms(900), budget), Pace::Slow);
        // A fast flush breaks the streak: two more slow ones do not open the circuit.
        assert_eq!(c.flush_took(t0, ms(249), budget), Pace::Fast);
        assert_eq!(c.flush_took(t0, ms(450), budget), Pace::Slow);
        // Successful calls do not break it either: a slow call is a successful one.
        assert!(!c.success());
        assert_eq!(c.flush_took(t0, ms(450), budget), Pace::Slow);
        assert!(c.allows(t0));
        assert_eq!(c.flush_took(t0, ms(450), budget), Pace::Opened);
        assert!(c.is_open());
        assert!(!c.allows(t0 + Duration::from_secs(29)));
        assert_eq!(c.slow_flushes(), 5);

        // Half-open: the probe's call succeeds (closing the circuit) but is slow, which opens
        // it again from then.
        let t1 = t0 + Duration::from_secs(30);
        assert!(c.allows(t1));
        assert!(c.success());
        assert_eq!(c.flush_took(t1, ms(450), budget), Pace::Opened);
        assert!(!c.allows(t1 + Duration::from_secs(29)));
        // A fast probe closes it for good.
        let t2 = t1 + Duration::from_secs(30);
        assert!(c.allows(t2));
        assert!(c.success());
        assert_eq!(c.flush_took(t2, ms(20), budget), Pace::Fast);
        assert!(!c.is_open());
        assert_eq!(c.slow_flushes(), 6);
    }

    #[test]
    fn slowness_and_failures_count_apart_and_zero_percent_turns_slowness_off() {
        let c = Circuit::new(2, Duration::from_secs(30));
        let t0 = Instant::now();
        let budget = Duration::from_millis(400);
        // One failure and one slow flush: neither streak reaches 2.
        assert!(!c.failure(t0));
        assert_eq!(c.flush_took(t0, budget, budget), Pace::Slow);
        assert!(!c.is_open());

        let off = Circuit::new(1, Duration::from_secs(30)).slow_flush_percent(0);
        assert_eq!(off.flush_took(t0, budget * 2, budget), Pace::Fast);
        assert!(!off.is_open());
        assert_eq!(off.slow_flushes(), 0);
        // A flush given no time at all is slow as soon as the rule is on.
        let on = Circuit::new(1, Duration::from_secs(30)).slow_flush_percent(50);
        assert_eq!(
            on.flush_took(t0, Duration::ZERO, Duration::ZERO),
            Pace::Opened
        );
    }

    #[test]
    fn the_warner_lets_one_warning_through_per_interval() {
        let w = Warner::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let mut seen = Vec::new();
        for s in [0, 1, 30, 59, 60, 61, 200] {
            w.warn(t0 + Duration::from_secs(s), |n| seen.push((s, n)));
        }
        assert_eq!(seen, [(0, 0), (60, 3), (200, 1)]);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_attempt_limit_and_on_fatal_errors() {
        let retries = AtomicU64::new(0);
        let policy = RetryPolicy::default();
        let far = Instant::now() + Duration::from_secs(60);
        let mut calls = 0;
        let r: Result<(), &str> = with_retries(&policy, far, &retries, || {
            calls += 1;
            async { Err((Retry::Yes, "throttled")) }
        })
        .await;
        assert_eq!(
            (r, calls, retries.load(Ordering::Relaxed)),
            (Err("throttled"), 3, 2)
        );

        let mut calls = 0;
        let r: Result<(), &str> = with_retries(&policy, far, &retries, || {
            calls += 1;
            async { Err((Retry::No, "invalid")) }
        })
        .await;
        assert_eq!((r, calls), (Err("invalid"), 1));

        let mut calls = 0;
        let r = with_retries(&policy, far, &retries, || {
            calls += 1;
            let n = calls;
            async move {
                if n < 2 {
                    Err((Retry::Yes, "5xx"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r, Ok(2));
    }
}
