//! The tenant cardinality guard: at most `max` distinct tenant values become metric dimension
//! values in one process; the rest are folded into `other` and counted, so one noisy
//! multi-tenant function cannot create unbounded CloudWatch metrics.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub(crate) const OTHER: &str = "other";

pub(crate) struct TenantGuard {
    max: usize,
    seen: Mutex<HashSet<String>>,
    folded: AtomicU64,
}

impl TenantGuard {
    pub(crate) fn new(max: usize) -> Self {
        TenantGuard {
            max,
            seen: Mutex::new(HashSet::new()),
            folded: AtomicU64::new(0),
        }
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    pub(crate) fn folded(&self) -> u64 {
        self.folded.load(Ordering::Relaxed)
    }

    /// The dimension value for `tenant`, and whether it was folded into `other`.
    pub(crate) fn resolve<'t>(&self, tenant: &'t str) -> (Cow<'t, str>, bool) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(tenant) {
            return (Cow::Borrowed(tenant), false);
        }
        if seen.len() < self.max {
            seen.insert(tenant.to_owned());
            return (Cow::Borrowed(tenant), false);
        }
        self.folded.fetch_add(1, Ordering::Relaxed);
        (Cow::Borrowed(OTHER), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_past_the_cap_fold_into_other_and_are_counted() {
        let g = TenantGuard::new(2);
        assert_eq!(g.resolve("a"), (Cow::Borrowed("a"), false));
        assert_eq!(g.resolve("b"), (Cow::Borrowed("b"), false));
        assert_eq!(g.resolve("a"), (Cow::Borrowed("a"), false));
        assert_eq!(g.resolve("c"), (Cow::Borrowed("other"), true));
        assert_eq!(g.resolve("d"), (Cow::Borrowed("other"), true));
        assert_eq!(g.folded(), 2);
    }
}
