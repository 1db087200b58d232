//! Event sources: detect the kind of an incoming event from a few keys, parse it once, and
//! write the response back in that source's shape.
//!
//! Detection and parsing are one pass: the bytes are deserialised into an [`Envelope`] that
//! holds the union of the keys the sources use, borrowing strings from the input. The kind is
//! then read off which keys were present (`requestContext.http` → HTTP API v2 or Function URL,
//! `httpMethod` → REST API v1, `requestContext.elb` → ALB), and the envelope is normalised into
//! the one [`Request`](crate::http::Request) view the router and handlers read.

pub(crate) mod alb;
pub(crate) mod apigw_v1;
pub(crate) mod apigw_v2;
mod envelope;
pub(crate) mod json;
mod shape;

use std::fmt;

use bytes::Bytes;
use serde::Serialize;

use crate::http::{Request, Response};
pub(crate) use envelope::Envelope;

/// The kind of event an invocation carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// API Gateway REST API (payload format 1.0).
    ApiGatewayV1,
    /// API Gateway HTTP API (payload format 2.0).
    ApiGatewayV2,
    /// A Lambda Function URL (payload format 2.0 on a `lambda-url` domain).
    FunctionUrl,
    /// An Application Load Balancer target group request.
    Alb,
    /// An API Gateway WebSocket event.
    WebSocket,
    /// A batch of records (SQS, SNS, S3, DynamoDB, Kinesis, ...).
    Records,
    /// An EventBridge event or schedule.
    EventBridge,
    /// A JSON object of no kind Lift recognises.
    Unknown,
}

impl EventKind {
    /// Whether this kind is an HTTP request.
    pub fn is_http(self) -> bool {
        matches!(
            self,
            EventKind::ApiGatewayV1
                | EventKind::ApiGatewayV2
                | EventKind::FunctionUrl
                | EventKind::Alb
        )
    }

    /// A short stable name, used in logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ApiGatewayV1 => "apigw-v1",
            EventKind::ApiGatewayV2 => "apigw-v2",
            EventKind::FunctionUrl => "function-url",
            EventKind::Alb => "alb",
            EventKind::WebSocket => "websocket",
            EventKind::Records => "records",
            EventKind::EventBridge => "eventbridge",
            EventKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event parsed once: its kind and, for HTTP sources, the normalised request.
// The size gap is intended: the HTTP request is the common case, the enum lives inside the
// event cell's one allocation, and boxing the request would add a second.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Parsed<'a> {
    Http(Request<'a>),
    Other(EventKind),
}

impl<'a> Parsed<'a> {
    /// Detect and parse in one pass over `bytes`.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, serde_json::Error> {
        let env: Envelope<'a> = serde_json::from_slice(bytes)?;
        Ok(match env.kind() {
            EventKind::ApiGatewayV1 => Parsed::Http(apigw_v1::request(env)),
            k @ (EventKind::ApiGatewayV2 | EventKind::FunctionUrl) => {
                Parsed::Http(apigw_v2::request(env, k))
            }
            EventKind::Alb => Parsed::Http(alb::request(env)),
            other => Parsed::Other(other),
        })
    }

    pub(crate) fn kind(&self) -> EventKind {
        match self {
            Parsed::Http(r) => r.kind(),
            Parsed::Other(k) => *k,
        }
    }
}

self_cell::self_cell!(
    /// The raw event bytes and the borrowed view parsed from them, kept together so the view
    /// can live as long as the invocation without copying the strings it points at.
    pub(crate) struct EventCell {
        owner: Bytes,
        #[covariant]
        dependent: Parsed,
    }
    impl {Debug}
);

impl EventCell {
    pub(crate) fn parse(bytes: Bytes) -> Result<Self, serde_json::Error> {
        EventCell::try_new(bytes, |b| Parsed::parse(b))
    }
}

/// A response ready to be serialised in the shape of the source the request came from.
pub struct HttpReply {
    pub(crate) kind: EventKind,
    pub(crate) multi_value: bool,
    pub(crate) response: Response,
}

impl HttpReply {
    /// The response before it is put into the source's shape.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// The source whose shape this reply is written in.
    pub fn kind(&self) -> EventKind {
        self.kind
    }
}

impl Serialize for HttpReply {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.kind {
            EventKind::ApiGatewayV1 => apigw_v1::serialize_response(&self.response, s),
            EventKind::Alb => alb::serialize_response(&self.response, self.multi_value, s),
            _ => apigw_v2::serialize_response(&self.response, s),
        }
    }
}

impl fmt::Debug for HttpReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpReply")
            .field("kind", &self.kind)
            .field("status", &self.response.status())
            .finish()
    }
}
