//! [`InvokeError`]: an invocation that could not be handled at all, reported to the Lambda
//! runtime as an invocation error. Sources raise it (a batch that is not one), the corridor
//! reports it.

use std::fmt;

/// Why an invocation could not be handled at all; reported to the Lambda runtime as an
/// invocation error (the HTTP client, if any, never sees it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeError {
    /// A stable error type, e.g. `Lift.UnsupportedEvent`.
    pub error_type: &'static str,
    /// What went wrong, without the event's contents.
    pub message: String,
}

impl fmt::Display for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for InvokeError {}
