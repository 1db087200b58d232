//! Where routing starts in the raw path: after an HTTP API stage prefix (`/dev/...` on a named
//! stage) and after the base path given to [`App::strip_prefix`](crate::App::strip_prefix).

use crate::http::Request;
use crate::wire::EventKind;

/// The byte offset in the raw path where the routed path starts.
pub(crate) fn route_start(req: &Request<'_>, strip: Option<&str>) -> usize {
    let raw = req.raw_path();
    let mut start = 0;
    if matches!(req.kind(), EventKind::ApiGatewayV2) {
        if let Some(stage) = req.stage().filter(|s| *s != "$default" && !s.is_empty()) {
            start = prefix_len(raw, stage).unwrap_or(0);
        }
    }
    if let Some(prefix) = strip {
        let rest = &raw[start..];
        start += prefix_len(rest, prefix.trim_start_matches('/')).unwrap_or(0);
    }
    start
}

/// The length of `/{segment}` at the start of `path` when it is a whole segment.
fn prefix_len(path: &str, segment: &str) -> Option<usize> {
    let rest = path.strip_prefix('/')?.strip_prefix(segment)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(segment.len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_and_base_path_are_whole_segments() {
        assert_eq!(prefix_len("/dev/users", "dev"), Some(4));
        assert_eq!(prefix_len("/dev", "dev"), Some(4));
        assert_eq!(prefix_len("/devices", "dev"), None);
        assert_eq!(prefix_len("/users", "dev"), None);
    }
}
