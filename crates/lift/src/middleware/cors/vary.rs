//! The `Vary` header: which request headers a CORS answer depends on, merged into a
//! response's or an error's existing `Vary` without repeating a name.

use http::header::VARY;
use http::{HeaderMap, HeaderValue};

/// The `Vary` name of any other response that depends on the origin.
pub(super) const ORIGIN_VARY: [&str; 1] = ["Origin"];

/// The `Vary` names among `names` that `existing` values do not already cover; none when one
/// of them is `*` (the response varies on everything).
fn missing_vary<'a, 'v>(
    existing: impl Iterator<Item = &'v HeaderValue>,
    names: &[&'a str],
) -> (Vec<&'a str>, Vec<String>) {
    let mut present: Vec<String> = Vec::new();
    for v in existing {
        if let Ok(s) = v.to_str() {
            present.extend(
                s.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    if present.iter().any(|t| t == "*") {
        return (Vec::new(), present);
    }
    let missing = names
        .iter()
        .copied()
        .filter(|n| !present.iter().any(|t| t.eq_ignore_ascii_case(n)))
        .collect();
    (missing, present)
}

/// Add `names` to the response's `Vary`, keeping what is there, as one comma-joined value.
pub(super) fn add_vary(h: &mut HeaderMap, names: &[&str]) {
    let (missing, present) = missing_vary(h.get_all(VARY).iter(), names);
    if missing.is_empty() {
        return;
    }
    let all: Vec<&str> = present.iter().map(String::as_str).chain(missing).collect();
    if let Some(v) = join(&all) {
        h.insert(VARY, v);
    }
}

/// `a, b, c` as a header value, or `None` for an empty list. The parts are method or header
/// names, always valid header-value bytes.
pub(super) fn join(parts: &[&str]) -> Option<HeaderValue> {
    if parts.is_empty() {
        return None;
    }
    HeaderValue::from_str(&parts.join(", ")).ok()
}
