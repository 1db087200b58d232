//! **Step 6 of the corridor:** a handler's outcome becomes the reply's response, or a record's
//! fate.
//!
//! Turning outcomes into responses: an error becomes the one JSON error body (its internal
//! cause goes to the log only), and for events a handler's answer becomes success or failure.

use crate::http::Error;
use crate::http::Response;
use crate::middleware::Outcome;
use crate::observability::{Field, Frame, Logger};

/// The response for an outcome, and whether the invocation failed (a 5xx).
pub(crate) fn respond(outcome: Outcome, frame: &Frame) -> (Response, bool) {
    match outcome {
        Ok(r) => {
            let failed = r.status().is_server_error();
            (r, failed)
        }
        Err(e) => {
            if e.is_server_error() {
                e.log(&Logger::context(frame.clone()));
            }
            let failed = e.is_server_error();
            (e.to_response(frame.telemetry().request_id()), failed)
        }
    }
}

/// For events, a handler's response means success unless it is a 5xx: a record answered with
/// a server error must be retried, not deleted.
pub(crate) fn event_outcome(r: Response) -> Result<(), Error> {
    if r.status().is_server_error() {
        return Err(Error::new(
            r.status(),
            "handler_failed",
            "the handler answered with a server error",
        ));
    }
    Ok(())
}

/// A failed record or event, logged with its id (its error body goes nowhere else).
pub(crate) fn log_failure(frame: &Frame, id: &str, e: &Error) {
    Logger::context(frame.clone()).error(
        "record failed",
        &[
            ("record_id", Field::Str(id)),
            ("code", e.code().into()),
            ("error", Field::Str(&e.to_string())),
        ],
    );
}
