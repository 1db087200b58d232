//! API Gateway WebSocket events: `$connect`, `$disconnect` and messages on a route key.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::defaults;
use crate::events::encode;

/// An API Gateway WebSocket event, in the shape of the Lambda proxy integration.
///
/// `$connect` and `$disconnect` carry the upgrade request's headers (and `$connect` its query
/// parameters); a message carries its body and no headers. Defaults: API `1234567890` in
/// `us-east-1` (domain `<api>.execute-api.<region>.amazonaws.com`), stage `prod`, connection
/// `AAAAAAAAAAAAAAA=`, request `AAAAAAAAAAAAAAE=`, message `AAAAAAAAAAAAAAI=`, source IP
/// `203.0.113.7`, at 2024-05-01T12:00:00Z on a connection made then, no headers; a disconnect
/// has close code 1005 (`Client-side close frame status not set`).
#[derive(Debug, Clone)]
pub struct TestWebSocket {
    route_key: String,
    event_type: EventType,
    body: Option<Vec<u8>>,
    connection_id: String,
    request_id: String,
    extended_request_id: Option<String>,
    message_id: String,
    api_id: String,
    region: String,
    stage: String,
    request_time: u64,
    connected_at: Option<u64>,
    source_ip: String,
    api_key: Option<(String, String)>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    authorizer: Option<Value>,
    disconnect: (u16, String),
}

/// `eventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventType {
    Connect,
    Disconnect,
    Message,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Connect => "CONNECT",
            EventType::Disconnect => "DISCONNECT",
            EventType::Message => "MESSAGE",
        }
    }
}

impl TestWebSocket {
    fn new(route_key: &str, event_type: EventType, body: Option<Vec<u8>>) -> Self {
        TestWebSocket {
            route_key: route_key.to_owned(),
            event_type,
            body,
            connection_id: "AAAAAAAAAAAAAAA=".to_owned(),
            request_id: "AAAAAAAAAAAAAAE=".to_owned(),
            extended_request_id: None,
            message_id: "AAAAAAAAAAAAAAI=".to_owned(),
            api_id: "1234567890".to_owned(),
            region: defaults::REGION.to_owned(),
            stage: "prod".to_owned(),
            request_time: defaults::EPOCH_MS,
            connected_at: None,
            source_ip: defaults::SOURCE_IP.to_owned(),
            api_key: None,
            headers: Vec::new(),
            query: Vec::new(),
            authorizer: None,
            disconnect: (1005, "Client-side close frame status not set".to_owned()),
        }
    }

    /// A client connecting (`$connect`, `CONNECT`).
    pub fn connect() -> Self {
        Self::new("$connect", EventType::Connect, None)
    }

    /// A client gone (`$disconnect`, `DISCONNECT`).
    pub fn disconnect() -> Self {
        Self::new("$disconnect", EventType::Disconnect, None)
    }

    /// A message the route selection sent to `route_key` (`$default` or a custom key);
    /// a body that is not UTF-8 is sent base64-encoded.
    pub fn message(route_key: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::new(route_key, EventType::Message, Some(body.into()))
    }

    /// A message whose body is `value` as JSON.
    pub fn json_message<T: Serialize + ?Sized>(route_key: &str, value: &T) -> Self {
        Self::message(route_key, defaults::json_text(value))
    }

    /// `connectionId`.
    pub fn connection_id(mut self, id: &str) -> Self {
        self.connection_id = id.to_owned();
        self
    }

    /// `requestId` (also the `extendedRequestId`, unless that is set).
    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = id.to_owned();
        self
    }

    /// `extendedRequestId`.
    pub fn extended_request_id(mut self, id: &str) -> Self {
        self.extended_request_id = Some(id.to_owned());
        self
    }

    /// `messageId` (messages only).
    pub fn message_id(mut self, id: &str) -> Self {
        self.message_id = id.to_owned();
        self
    }

    /// `apiId` (also the first label of the domain name).
    pub fn api_id(mut self, id: &str) -> Self {
        self.api_id = id.to_owned();
        self
    }

    /// The API's region (in the domain name).
    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_owned();
        self
    }

    /// `stage`.
    pub fn stage(mut self, stage: &str) -> Self {
        self.stage = stage.to_owned();
        self
    }

    /// When API Gateway received the event, in milliseconds since the epoch
    /// (`requestTimeEpoch`, and `requestTime` in the common log format).
    pub fn request_time(mut self, epoch_ms: u64) -> Self {
        self.request_time = epoch_ms;
        self
    }

    /// `connectedAt`, in milliseconds since the epoch (default: the request time).
    pub fn connected_at(mut self, epoch_ms: u64) -> Self {
        self.connected_at = Some(epoch_ms);
        self
    }

    /// `identity.sourceIp`: the client's address.
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.to_owned();
        self
    }

    /// `identity.apiKey` and `identity.apiKeyId`, when the route requires an API key.
    pub fn api_key(mut self, key: &str, key_id: &str) -> Self {
        self.api_key = Some((key.to_owned(), key_id.to_owned()));
        self
    }

    /// Add a header of the upgrade request (`$connect` and `$disconnect`; messages have none).
    /// Repeat to send several values.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Add a query parameter of the upgrade request, decoded (`$connect` only).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `requestContext.authorizer`: what the `$connect` route's authorizer returned.
    pub fn authorizer<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.authorizer = Some(defaults::to_json(value));
        self
    }

    /// `disconnectStatusCode` and `disconnectReason` (`$disconnect` only).
    pub fn disconnect_status(mut self, code: u16, reason: &str) -> Self {
        self.disconnect = (code, reason.to_owned());
        self
    }

    /// The event's JSON bytes, for [`invoke`](super::invoke).
    pub fn event(&self) -> Vec<u8> {
        let message = self.event_type == EventType::Message;
        let mut identity = Map::new();
        if let Some((key, id)) = &self.api_key {
            identity.insert("apiKey".into(), json!(key));
            identity.insert("apiKeyId".into(), json!(id));
        }
        identity.insert("sourceIp".into(), json!(self.source_ip));

        let mut rc = Map::new();
        rc.insert("routeKey".into(), json!(self.route_key));
        if message {
            rc.insert("messageId".into(), json!(self.message_id));
        }
        if self.event_type == EventType::Disconnect {
            rc.insert("disconnectStatusCode".into(), json!(self.disconnect.0));
            rc.insert("disconnectReason".into(), json!(self.disconnect.1));
        }
        rc.insert("eventType".into(), json!(self.event_type.as_str()));
        rc.insert(
            "extendedRequestId".into(),
            json!(self
                .extended_request_id
                .as_ref()
                .unwrap_or(&self.request_id)),
        );
        rc.insert(
            "requestTime".into(),
            json!(defaults::clf_time(self.request_time)),
        );
        rc.insert("messageDirection".into(), json!("IN"));
        rc.insert("stage".into(), json!(self.stage));
        rc.insert(
            "connectedAt".into(),
            json!(self.connected_at.unwrap_or(self.request_time)),
        );
        rc.insert("requestTimeEpoch".into(), json!(self.request_time));
        rc.insert("identity".into(), Value::Object(identity));
        rc.insert("requestId".into(), json!(self.request_id));
        rc.insert(
            "domainName".into(),
            json!(format!(
                "{}.execute-api.{}.amazonaws.com",
                self.api_id, self.region
            )),
        );
        rc.insert("connectionId".into(), json!(self.connection_id));
        rc.insert("apiId".into(), json!(self.api_id));
        if let Some(a) = &self.authorizer {
            rc.insert("authorizer".into(), a.clone());
        }

        let mut event = Map::new();
        if !message {
            event.insert("headers".into(), encode::single(&self.headers));
            event.insert("multiValueHeaders".into(), encode::multi(&self.headers));
        }
        if self.event_type == EventType::Connect && !self.query.is_empty() {
            event.insert("queryStringParameters".into(), encode::single(&self.query));
            event.insert(
                "multiValueQueryStringParameters".into(),
                encode::multi(&self.query),
            );
        }
        event.insert("requestContext".into(), Value::Object(rc));
        let mut base64 = false;
        if let Some(b) = &self.body {
            let (body, b64) = encode::body_text(b);
            event.insert("body".into(), json!(body));
            base64 = b64;
        }
        event.insert("isBase64Encoded".into(), json!(base64));
        defaults::bytes(Value::Object(event))
    }
}
