//! Allowed origins: exact origins, sub-domain patterns (`https://*.example.org`) and any
//! origin (`*`); how a configured origin is parsed and how a request's `Origin` is matched.

use http::HeaderValue;

use super::CorsError;

#[derive(Debug)]
pub(super) enum Origins {
    Any,
    /// Exact origins (with their header value, to echo without re-validating) and patterns.
    List {
        exact: Vec<(Box<str>, HeaderValue)>,
        patterns: Vec<Pattern>,
    },
}

/// `scheme://*.suffix[:port]`.
#[derive(Debug)]
pub(super) struct Pattern {
    /// `https://`
    scheme: Box<str>,
    /// `.example.org`, with its leading dot.
    suffix: Box<str>,
    /// `:8443`, or empty for no port.
    port: Box<str>,
}

pub(super) enum OriginRule {
    Exact(String),
    Pattern(Pattern),
}

/// Parse and normalise a configured origin the way a browser serialises one.
pub(super) fn parse_origin(raw: &str) -> Result<OriginRule, CorsError> {
    let invalid = |reason| CorsError::InvalidOrigin {
        origin: raw.to_owned(),
        reason,
    };
    let lower = raw.to_ascii_lowercase();
    let Some((scheme, rest)) = lower.split_once("://") else {
        return Err(invalid(
            "expected scheme://host[:port], e.g. https://app.example.com (the opaque origin \
             `null` is shared by every sandboxed page and cannot be allowed)",
        ));
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    if !scheme_ok {
        return Err(invalid("the scheme is not valid"));
    }
    if rest.contains(['/', '?', '#', '@']) {
        return Err(invalid(
            "an origin has no path, query or user info (and no trailing `/`)",
        ));
    }
    let (host, port) = split_port(rest).ok_or_else(|| invalid("the port is not a number"))?;
    let port = match (scheme, port) {
        // Browsers leave the default port out of the origin they send.
        ("https", Some("443")) | ("http", Some("80")) => None,
        (_, p) => p,
    };
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    if let Some(suffix) = host.strip_prefix("*.") {
        if !is_hostname(suffix) {
            return Err(invalid(
                "a wildcard must be the whole leftmost label of a host name: https://*.example.org",
            ));
        }
        if !suffix.contains('.') {
            return Err(invalid(
                "a wildcard needs a domain of at least two labels (`*.com` would allow every .com site)",
            ));
        }
        return Ok(OriginRule::Pattern(Pattern {
            scheme: format!("{scheme}://").into_boxed_str(),
            suffix: format!(".{suffix}").into_boxed_str(),
            port: port.into_boxed_str(),
        }));
    }
    if host.contains('*') {
        return Err(invalid(
            "a wildcard must be the whole leftmost label of a host name: https://*.example.org",
        ));
    }
    let ipv6 = host.len() > 2
        && host.starts_with('[')
        && host.ends_with(']')
        && host[1..host.len() - 1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    if !ipv6 && !is_hostname(host) {
        return Err(invalid("the host is not a valid host name"));
    }
    Ok(OriginRule::Exact(format!("{scheme}://{host}{port}")))
}

/// Split `host[:port]` (host possibly a bracketed IPv6 address); `None` when the port is not
/// a number.
fn split_port(s: &str) -> Option<(&str, Option<&str>)> {
    let colon = if s.starts_with('[') {
        s.find(']').and_then(|i| s[i..].find(':').map(|j| i + j))
    } else {
        s.rfind(':')
    };
    let Some(i) = colon else {
        return Some((s, None));
    };
    let port = &s[i + 1..];
    let numeric = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    (numeric && port.parse::<u16>().is_ok()).then_some((&s[..i], Some(port)))
}

/// Dot-separated non-empty labels of lowercase letters, digits, `-` and `_`.
fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

impl Pattern {
    /// Whether a request's `Origin` is `scheme://<labels><suffix><port>` exactly: one or more
    /// whole labels before the suffix, and the same port (or none).
    pub(super) fn matches(&self, origin: &str) -> bool {
        let Some(rest) = origin.strip_prefix(&*self.scheme) else {
            return false;
        };
        let Some(host) = rest.strip_suffix(&*self.port) else {
            return false;
        };
        let Some(labels) = host.strip_suffix(&*self.suffix) else {
            return false;
        };
        // `is_hostname` rejects `:`, so a port the pattern does not name cannot hide in `labels`.
        is_hostname(labels)
    }
}
