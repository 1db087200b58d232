//! Tenant values as metric dimensions and namespaces: validated, then capped.
//!
//! A tenant comes from a token or a message, so it can be anything. Before it becomes the
//! `tenant` dimension value (or part of a per-tenant namespace) it must satisfy CloudWatch's
//! rules, or CloudWatch drops the whole document:
//!
//! - a dimension value is 1–1024 ASCII characters, no control characters, not all whitespace;
//! - a namespace is at most 255 characters of `0-9A-Za-z . - _ / # :` and space, not all
//!   whitespace, and must not start with `AWS/` (`<namespace>/<tenant>` with per-tenant
//!   namespaces).
//!
//! A value that breaks a rule is written as [`INVALID_TENANT`] and counted
//! ([`TelemetryStats::invalid_tenants`](super::TelemetryStats::invalid_tenants)); log lines still
//! carry the value as it was set, JSON-escaped. Then the cardinality guard: at most `max`
//! distinct valid values per process; the rest fold into [`OTHER_TENANT`] and are counted, so
//! one noisy multi-tenant function cannot create unbounded CloudWatch metrics. Invalid values
//! never take a place under the cap.
//!
//! Those two buckets must hold only what the guard put there, or a tenant could read (or
//! pollute) another's figures: a tenant named `other` or `invalid` is written with a `#` in
//! front (`#other`), and so is one that is already `#`s followed by either (`#other` becomes
//! `##other`), which keeps every tenant's value distinct. Other values are written as they are.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The dimension value for tenants past the cardinality cap.
pub const OTHER_TENANT: &str = "other";
/// The dimension value for tenant values CloudWatch would refuse.
pub const INVALID_TENANT: &str = "invalid";

/// Whether `v` is a valid CloudWatch dimension value: 1–1024 ASCII characters, no control
/// characters, not all whitespace. The EMF writer and the PutMetricData exporter share it.
pub fn valid_dimension_value(v: &str) -> bool {
    (1..=1024).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii() && !b.is_ascii_control())
        && v.bytes().any(|b| !b.is_ascii_whitespace())
}

/// Whether `ns` is a valid CloudWatch namespace: at most 255 characters of
/// `0-9A-Za-z . - _ / # :` and space, not all spaces, not starting with `AWS/`. The EMF writer
/// and the PutMetricData exporter share it.
pub fn valid_namespace(ns: &str) -> bool {
    (1..=255).contains(&ns.len())
        && ns
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_/#: ".contains(&b))
        && ns.bytes().any(|b| b != b' ')
        && !ns.starts_with("AWS/")
}

/// The character put in front of a tenant value that would otherwise read as a bucket.
const ESCAPE: char = '#';

/// `tenant` as a dimension value: a `#` in front when it is `#`s then `other` or `invalid`, so
/// no tenant's value is [`OTHER_TENANT`] or [`INVALID_TENANT`] and no two tenants share one.
fn escaped(tenant: &str) -> Cow<'_, str> {
    let bare = tenant.trim_start_matches(ESCAPE);
    if bare == OTHER_TENANT || bare == INVALID_TENANT {
        Cow::Owned(format!("{ESCAPE}{tenant}"))
    } else {
        Cow::Borrowed(tenant)
    }
}

/// How a tenant value became a dimension value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// Used as it is, or with the `#` that sets it apart from a bucket.
    Kept,
    /// Past the cap: `other`.
    Folded,
    /// Not valid: `invalid`.
    Invalid,
}

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

    /// The dimension value for `tenant`. With `namespace` set (per-tenant namespaces), the
    /// value must also make `<namespace>/<value>` a valid namespace.
    pub(crate) fn resolve<'t>(
        &self,
        tenant: &'t str,
        namespace: Option<&str>,
    ) -> (Cow<'t, str>, Resolved) {
        let value = escaped(tenant);
        let valid = valid_dimension_value(&value)
            && namespace.is_none_or(|ns| valid_namespace(&format!("{ns}/{value}")));
        if !valid {
            return (Cow::Borrowed(INVALID_TENANT), Resolved::Invalid);
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(tenant) {
            return (value, Resolved::Kept);
        }
        if seen.len() < self.max {
            seen.insert(tenant.to_owned());
            return (value, Resolved::Kept);
        }
        self.folded.fetch_add(1, Ordering::Relaxed);
        (Cow::Borrowed(OTHER_TENANT), Resolved::Folded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_past_the_cap_fold_into_other_and_are_counted() {
        let g = TenantGuard::new(2);
        assert_eq!(g.resolve("a", None), (Cow::Borrowed("a"), Resolved::Kept));
        assert_eq!(g.resolve("b", None), (Cow::Borrowed("b"), Resolved::Kept));
        assert_eq!(g.resolve("a", None), (Cow::Borrowed("a"), Resolved::Kept));
        assert_eq!(
            g.resolve("c", None),
            (Cow::Borrowed("other"), Resolved::Folded)
        );
        assert_eq!(
            g.resolve("d", None),
            (Cow::Borrowed("other"), Resolved::Folded)
        );
        assert_eq!(g.folded(), 2);
    }

    #[test]
    fn invalid_values_fold_into_invalid_and_take_no_place_under_the_cap() {
        let g = TenantGuard::new(1);
        let long = "x".repeat(2000);
        for bad in ["", "   ", "é", "tab\there", long.as_str()] {
            assert_eq!(
                g.resolve(bad, None),
                (Cow::Borrowed("invalid"), Resolved::Invalid),
                "{bad:?}"
            );
        }
        // Valid as a dimension value, not inside a namespace.
        assert_eq!(g.resolve("a@b", None).1, Resolved::Kept);
        let g = TenantGuard::new(1);
        assert_eq!(g.resolve("a@b", Some("Shop")).1, Resolved::Invalid);
        assert_eq!(
            g.resolve(&"y".repeat(251), Some("Shop")).1,
            Resolved::Invalid
        );
        assert_eq!(g.resolve(&"y".repeat(250), Some("Shop")).1, Resolved::Kept);
        assert_eq!(g.folded(), 0);
    }

    #[test]
    fn tenants_named_like_a_bucket_keep_their_own_value() {
        let g = TenantGuard::new(10);
        for (tenant, value) in [
            ("other", "#other"),
            ("invalid", "#invalid"),
            ("#other", "##other"),
            ("##invalid", "###invalid"),
            ("#acme", "#acme"),
            ("others", "others"),
            ("Other", "Other"),
        ] {
            assert_eq!(
                g.resolve(tenant, None),
                (Cow::Borrowed(value), Resolved::Kept)
            );
        }
        assert_eq!(
            g.resolve("other", Some("Shop")),
            (Cow::Borrowed("#other"), Resolved::Kept)
        );
        // The bucket values themselves come only from the guard.
        let g = TenantGuard::new(1);
        assert_eq!(g.resolve("other", None).0, "#other");
        assert_eq!(
            g.resolve("invalid", None),
            (Cow::Borrowed("other"), Resolved::Folded)
        );
        assert_eq!(
            g.resolve("", None),
            (Cow::Borrowed("invalid"), Resolved::Invalid)
        );
        // The `#` counts toward the length limit.
        let long = format!("{}other", "#".repeat(1019));
        assert_eq!(g.resolve(&long, None).1, Resolved::Invalid);
    }

    #[test]
    fn namespaces_follow_cloudwatch() {
        assert!(valid_namespace("Lift/Shop-1_a.b#c:d e"));
        assert!(!valid_namespace("AWS/Lambda"));
        assert!(!valid_namespace(" "));
        assert!(!valid_namespace(&"n".repeat(256)));
        assert!(!valid_namespace("naïve"));
    }
}
