//! Event sources: detect the kind of an incoming event from a few keys, parse it once, and
//! write the response back in that source's shape.
//!
//! Detection and parsing are one pass: the bytes are deserialised into an envelope that holds
//! the union of the keys the sources use, borrowing strings from the input. The kind is then
//! read off which keys were present (`requestContext.http` → HTTP API v2 or Function URL,
//! `httpMethod` → REST API v1, `requestContext.elb` → ALB, `requestContext.connectionId` →
//! WebSocket, `Records[0].eventSource` → SQS, SNS, S3, DynamoDB or Kinesis, `detail-type` →
//! EventBridge or a schedule). HTTP events are normalised into the one [`Request`] view the
//! router and handlers read; record batches keep each record raw until its source's module
//! parses it, still borrowing.
//!
//! The HTTP sources also encode: each builds its event from a plain description of an HTTP
//! request (`encode.rs`), for the dev server and [`testing`](crate::testing).
//!
//! The public types here are the typed views handlers take as extractors:
//! [`SqsMessage`], [`SnsMessage`], [`S3Record`], [`EventBridgeEvent`], [`Schedule`],
//! [`DynamoDbRecord`], [`KinesisRecord`] and [`WebSocket`].

pub(crate) mod alb;
pub(crate) mod apigw_v1;
pub(crate) mod apigw_v2;
pub(crate) mod batch;
pub(crate) mod dynamodb;
pub(crate) mod encode;
mod envelope;
pub(crate) mod eventbridge;
pub(crate) mod kinesis;
mod malformed;
mod reply;
pub(crate) mod s3;
mod shape;
pub(crate) mod sns;
pub(crate) mod sqs;
pub(crate) mod websocket;

pub use dynamodb::DynamoDbRecord;
pub use eventbridge::{EventBridgeEvent, Schedule};
pub use kinesis::KinesisRecord;
pub use reply::Reply;
pub use s3::S3Record;
pub use sns::SnsMessage;
pub use sqs::SqsMessage;
pub use websocket::WebSocket;

use std::fmt;

use bytes::Bytes;
use serde::Serialize;

use std::any::Any;

use crate::context::scope::{EventData, Scope};
use crate::http::{Request, Response};
pub use crate::wire::EventKind;
pub(crate) use envelope::Envelope;
pub(crate) use malformed::Malformed;

/// An event parsed once: its kind and, for HTTP sources, the normalised request.
// The size gap is intended: the HTTP request is the common case, the enum lives inside the
// event cell's one allocation, and boxing the request would add a second.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Parsed<'a> {
    Http(Request<'a>),
    WebSocket(Request<'a>, websocket::Meta<'a>),
    Sqs(Vec<Result<sqs::SqsWire<'a>, Malformed>>),
    Sns(Vec<Result<sns::SnsWire<'a>, Malformed>>),
    S3(Vec<Result<s3::S3Wire<'a>, Malformed>>),
    DynamoDb(Vec<Result<dynamodb::DynamoDbWire<'a>, Malformed>>),
    Kinesis(Vec<Result<kinesis::KinesisWire<'a>, Malformed>>),
    EventBridge(eventbridge::Event<'a>),
    /// `{"Records": []}`: a batch of nothing.
    EmptyBatch,
    Other(EventKind),
}

impl<'a> Parsed<'a> {
    /// Detect and parse in one pass over `bytes`.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, serde_json::Error> {
        // One UTF-8 check over the whole event (a fast, vectorised pass) instead of one per
        // string inside the parser. Bytes that are not UTF-8 go to the byte parser, only for
        // its precise error.
        let mut env: Envelope<'a> = match std::str::from_utf8(bytes) {
            Ok(text) => serde_json::from_str(text)?,
            Err(_) => serde_json::from_slice(bytes)?,
        };
        Ok(match env.kind() {
            EventKind::ApiGatewayV1 => Parsed::Http(apigw_v1::request(env)),
            k @ (EventKind::ApiGatewayV2 | EventKind::FunctionUrl) => {
                Parsed::Http(apigw_v2::request(env, k))
            }
            EventKind::Alb => Parsed::Http(alb::request(env)),
            EventKind::WebSocket => {
                let (req, meta) = websocket::request(env);
                Parsed::WebSocket(req, meta)
            }
            EventKind::Sqs => Parsed::Sqs(malformed::records(EventKind::Sqs, env.records.take())),
            EventKind::Sns => Parsed::Sns(malformed::records(EventKind::Sns, env.records.take())),
            EventKind::S3 => Parsed::S3(malformed::records(EventKind::S3, env.records.take())),
            EventKind::DynamoDb => {
                Parsed::DynamoDb(malformed::records(EventKind::DynamoDb, env.records.take()))
            }
            EventKind::Kinesis => {
                Parsed::Kinesis(malformed::records(EventKind::Kinesis, env.records.take()))
            }
            k @ (EventKind::EventBridge | EventKind::Schedule) => {
                Parsed::EventBridge(eventbridge::event(env, k))
            }
            EventKind::Records if env.records.as_ref().is_some_and(Vec::is_empty) => {
                Parsed::EmptyBatch
            }
            other => Parsed::Other(other),
        })
    }

    pub(crate) fn kind(&self) -> EventKind {
        match self {
            Parsed::Http(r) => r.kind(),
            Parsed::WebSocket(..) => EventKind::WebSocket,
            Parsed::Sqs(_) => EventKind::Sqs,
            Parsed::Sns(_) => EventKind::Sns,
            Parsed::S3(_) => EventKind::S3,
            Parsed::DynamoDb(_) => EventKind::DynamoDb,
            Parsed::Kinesis(_) => EventKind::Kinesis,
            Parsed::EventBridge(e) => e.kind,
            Parsed::EmptyBatch => EventKind::Records,
            Parsed::Other(k) => *k,
        }
    }
}

/// The record of `records` the context is for, or a 400 naming what was expected.
pub(crate) fn current<'r, T>(
    ctx: &crate::Context,
    records: &'r [Result<T, Malformed>],
    what: &'static str,
) -> Result<&'r T, crate::Error> {
    ctx.record()
        .and_then(|r| records.get(r.index()))
        .and_then(|r| r.as_ref().ok())
        .ok_or_else(|| crate::Error::bad_request(format!("no {what} in this context")))
}

/// Decode a payload carried as a string (a message body, a detail) as JSON into `T`. A payload
/// that is not JSON of that type is then offered to `T` as a plain string, so `String` takes any
/// body as it is (text, CSV, XML). A payload that fits neither is a 400 for its record; the error
/// says where decoding stopped, never what the payload was (it goes to the logs).
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(
    s: &str,
    what: &'static str,
) -> Result<T, crate::Error> {
    use serde::de::value::{Error as PlainError, StrDeserializer};
    serde_json::from_str(s)
        .or_else(|e| T::deserialize(StrDeserializer::<PlainError>::new(s)).map_err(|_| e))
        .map_err(|e| mismatch(what, &e))
}

/// A 400 for a payload that did not decode, located but not quoted.
pub(crate) fn mismatch(what: &str, e: &serde_json::Error) -> crate::Error {
    crate::Error::bad_request(format!(
        "{what} does not match the expected type (line {}, column {})",
        e.line(),
        e.column()
    ))
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

impl EventData for EventCell {
    fn kind(&self) -> EventKind {
        self.borrow_dependent().kind()
    }

    fn request(&self) -> Option<&Request<'_>> {
        match self.borrow_dependent() {
            Parsed::Http(r) | Parsed::WebSocket(r, _) => Some(r),
            _ => None,
        }
    }

    fn raw(&self) -> &[u8] {
        self.borrow_owner()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The event of `ctx` as the built-in sources parsed it.
pub(crate) fn parsed(ctx: &crate::Context) -> &Parsed<'_> {
    parsed_in(ctx.scope())
}

/// The event of an invocation's scope as the built-in sources parsed it.
pub(crate) fn parsed_in(scope: &Scope) -> &Parsed<'_> {
    static NONE: Parsed<'static> = Parsed::Other(EventKind::Unknown);
    match scope.event().as_any().downcast_ref::<EventCell>() {
        Some(cell) => cell.borrow_dependent(),
        None => &NONE,
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
            EventKind::WebSocket => websocket::serialize_response(&self.response, s),
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
