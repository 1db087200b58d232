//! [`RefreshGate`]: how a key source limits its fetches.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// How a key source limits its fetches: one at a time, its outcome shared with the callers that
/// waited for it, and at least a minimum interval apart, so a flood of tokens that each ask for
/// a refresh (an unknown `kid`, a bad signature) costs the key store one request per interval.
/// [`Jwks`](super::Jwks) and [`HmacSecret`](super::HmacSecret) refresh through one; a
/// [`KeySource`](super::KeySource) of your own can too.
///
/// ```
/// use std::time::Duration;
/// use lift::security::RefreshGate;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let gate = RefreshGate::new(Duration::from_secs(30));
/// assert_eq!(gate.run(async { "fetched" }).await, Some("fetched"));
/// assert_eq!(gate.run(async { "fetched" }).await, None, "within the interval");
/// assert_eq!(gate.rate_limited(), 1);
/// # });
/// ```
pub struct RefreshGate {
    /// When the last fetch began; held while fetching, so concurrent refreshes wait for it.
    last: tokio::sync::Mutex<Option<Instant>>,
    /// Fetches finished: a caller that waited sees it move and takes that fetch's outcome.
    generation: AtomicU64,
    min_interval: Duration,
    rate_limited: AtomicU64,
}

impl RefreshGate {
    /// A gate letting a fetch through at most once per `min_interval`.
    pub fn new(min_interval: Duration) -> Self {
        RefreshGate {
            last: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            min_interval,
            rate_limited: AtomicU64::new(0),
        }
    }

    /// Change the interval (before the gate is shared).
    pub fn set_min_interval(&mut self, interval: Duration) {
        self.min_interval = interval;
    }

    /// Run `fetch`, unless another caller finished a fetch while this one waited for its turn,
    /// or the last fetch began less than the minimum interval ago (counted as rate-limited):
    /// then `None`, and the caller serves what it holds.
    pub async fn run<T>(&self, fetch: impl Future<Output = T>) -> Option<T> {
        let seen = self.generation.load(Ordering::Acquire);
        let mut last = self.last.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            return None;
        }
        if last.is_some_and(|t| t.elapsed() < self.min_interval) {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(Instant::now());
        let out = fetch.await;
        self.generation.fetch_add(1, Ordering::Release);
        Some(out)
    }

    /// Refreshes refused because the last fetch was too recent.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn fetches_once_per_interval_and_shares_a_fetch_in_flight() {
        let gate = Arc::new(RefreshGate::new(Duration::from_secs(30)));
        let fetches = Arc::new(AtomicU32::new(0));
        let fetch = || {
            let fetches = fetches.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                fetches.fetch_add(1, Ordering::Relaxed)
            }
        };
        let (a, b) = tokio::join!(gate.run(fetch()), gate.run(fetch()));
        assert_eq!(
            (a, b),
            (Some(0), None),
            "the second waited and took the first's"
        );
        assert_eq!(gate.run(fetch()).await, None, "too soon");
        assert_eq!(gate.rate_limited(), 1);
        assert_eq!(fetches.load(Ordering::Relaxed), 1);
    }
}
