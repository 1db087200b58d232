//! [`CorsError`]: a CORS configuration that cannot be built.

use std::fmt;

/// Why a [`CorsBuilder`](super::CorsBuilder) could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorsError {
    /// Any origin (`*`) together with credentials: the Fetch standard forbids the pair, and
    /// echoing every origin instead would let any site make requests with the user's cookies.
    AnyOriginWithCredentials,
    /// `*` as an allowed or exposed header name together with credentials: browsers then read
    /// it as a header literally named `*`, not as "every header".
    WildcardHeaderWithCredentials,
    /// An allowed origin that is not `scheme://host[:port]` or `scheme://*.domain[:port]`.
    InvalidOrigin {
        /// The origin as configured.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An allowed or exposed header that is not a valid header name.
    InvalidHeaderName(String),
    /// A per-route template the router syntax rejects, or one given twice.
    InvalidRoute {
        /// The template as configured.
        template: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for CorsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorsError::AnyOriginWithCredentials => f.write_str(
                "invalid CORS configuration: any origin (`*`) cannot be combined with credentials; \
                 list the allowed origins instead",
            ),
            CorsError::WildcardHeaderWithCredentials => f.write_str(
                "invalid CORS configuration: `*` as a header name is read literally when \
                 credentials are allowed; list the header names instead",
            ),
            CorsError::InvalidOrigin { origin, reason } => {
                write!(f, "invalid CORS origin `{origin}`: {reason}")
            }
            CorsError::InvalidHeaderName(name) => {
                write!(f, "invalid CORS configuration: `{name}` is not a header name")
            }
            CorsError::InvalidRoute { template, reason } => {
                write!(f, "invalid CORS route `{template}`: {reason}")
            }
        }
    }
}

impl std::error::Error for CorsError {}
