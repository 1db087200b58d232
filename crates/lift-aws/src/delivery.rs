//! What every exporter that calls an AWS API shares: bounded retries with exponential backoff
//! and full jitter, a circuit that opens after repeated failures (the exporter then falls back
//! to stdout) and closes when the service answers again, and a warning written at most once per
//! interval.
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

/// Opens after `threshold` failed flushes in a row. While open, [`allows`](Self::allows) says
/// no until `cooldown` has passed; then one flush is let through (half-open): its success
/// closes the circuit, its failure opens it for another `cooldown`.
#[derive(Debug)]
pub struct Circuit {
    threshold: u32,
    cooldown: Duration,
    failures: AtomicU32,
    open_until: Mutex<Option<Instant>>,
}

/// Default: open after 3 failed flushes in a row.
pub const DEFAULT_CIRCUIT_THRESHOLD: u32 = 3;
/// Default: try again 30 s after opening.
pub const DEFAULT_CIRCUIT_COOLDOWN: Duration = Duration::from_secs(30);

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
            failures: AtomicU32::new(0),
            open_until: Mutex::new(None),
        }
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
        let mut open = self.open_until();
        let was_open = open.is_some();
        if was_open || failures >= self.threshold {
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
