//! [`Reply`]: what the function answers one invocation, in the shape its source expects.

use serde::Serialize;

use super::batch::BatchResponse;
use super::HttpReply;

/// The response to one invocation, serialised in the shape its source expects.
#[derive(Debug)]
#[non_exhaustive]
pub enum Reply {
    /// An HTTP response (API Gateway v1/v2, ALB, Function URL, WebSocket).
    Http(HttpReply),
    /// The records to retry: `{"batchItemFailures":[{"itemIdentifier":"..."}]}`.
    Batch(BatchResponse),
    /// Nothing to say (`null`): the event was handled.
    Empty,
}

impl Serialize for Reply {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Reply::Http(r) => r.serialize(s),
            Reply::Batch(b) => b.serialize(s),
            Reply::Empty => s.serialize_unit(),
        }
    }
}

impl Reply {
    /// The reply as JSON bytes, as the runtime would post it.
    pub fn to_json(&self) -> Vec<u8> {
        // The reply holds only strings, numbers and maps with string keys.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
