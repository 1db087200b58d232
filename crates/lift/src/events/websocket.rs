//! API Gateway WebSocket APIs: `$connect`, `$disconnect`, `$default` and custom route keys, each
//! to its own handler. The message body is read like an HTTP body (`ctx.request().body()`,
//! `ctx.request().json()`, ...); the connection is described by [`WebSocket`]; the response is written in
//! the WebSocket integration shape (`statusCode`, `headers`, `body`).

use http::Method;
use serde::ser::SerializeMap;
use serde::Serializer;

use super::shape::{self, Joined};
use super::{Envelope, EventKind, Parsed};
use crate::extract::FromContext;
use crate::http::{Request, Response};
use crate::wire::json::Str;
use crate::{Context, Error};

#[derive(Debug, Default)]
pub(crate) struct Meta<'a> {
    pub connection_id: Str<'a>,
    pub route_key: Str<'a>,
    pub event_type: Option<Str<'a>>,
}

pub(crate) fn request(env: Envelope<'_>) -> (Request<'_>, Meta<'_>) {
    let rc = env.request_context.unwrap_or_default();
    let identity = rc.identity.unwrap_or_default();
    let meta = Meta {
        connection_id: rc.connection_id.unwrap_or_default(),
        route_key: rc.route_key.unwrap_or_default(),
        event_type: rc.event_type,
    };
    let headers = if env.multi_value_headers.0.is_empty() {
        env.headers.0
    } else {
        env.multi_value_headers.0
    };
    // `$connect` is the HTTP upgrade (a GET); messages have no method of their own.
    let method = env
        .http_method
        .as_deref()
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .unwrap_or(Method::POST);
    let req = Request {
        query: env.query_string_parameters.0,
        headers,
        body: env.body,
        base64: env.is_base64_encoded.unwrap_or(false),
        source_ip: identity.source_ip,
        user_agent: identity.user_agent,
        stage: rc.stage,
        domain_name: rc.domain_name,
        api_request_id: rc.request_id,
        authorizer: rc.authorizer,
        ..Request::base(EventKind::WebSocket, method, Str::from("/"))
    };
    (req, meta)
}

/// The WebSocket connection an event belongs to. Use `domain_name` and `stage` to post back to
/// the connection through the API Gateway Management API.
///
/// ```
/// use lift::events::WebSocket;
/// use lift::prelude::*;
///
/// async fn connect(ctx: Context, ws: WebSocket) -> StatusCode {
///     ctx.logger().info("connected", &[("connection_id", ws.connection_id.as_str().into())]);
///     StatusCode::OK
/// }
/// async fn message(ctx: Context, _ws: WebSocket) -> Result<String, Error> {
///     Ok(ctx.request().text()?.to_uppercase())
/// }
/// let app = App::new().on_websocket("$connect", connect).on_websocket("$default", message);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocket {
    /// `connectionId`.
    pub connection_id: String,
    /// `routeKey`: `$connect`, `$disconnect`, `$default` or a custom key.
    pub route_key: String,
    /// `eventType`: `CONNECT`, `DISCONNECT` or `MESSAGE`.
    pub event_type: Option<String>,
    /// The API's domain name.
    pub domain_name: Option<String>,
    /// The API's stage.
    pub stage: Option<String>,
}

impl FromContext for WebSocket {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let Parsed::WebSocket(req, meta) = super::parsed(ctx) else {
            return Err(Error::bad_request("not a WebSocket event"));
        };
        Ok(WebSocket {
            connection_id: meta.connection_id.to_string_owned(),
            route_key: meta.route_key.to_string_owned(),
            event_type: meta.event_type.as_ref().map(Str::to_string_owned),
            domain_name: req.domain_name().map(str::to_owned),
            stage: req.stage().map(str::to_owned),
        })
    }
}

/// `{"statusCode","headers","body","isBase64Encoded"}`: what a WebSocket route integration
/// returns (the body of a `$default` or custom route response goes back to the client when the
/// route has a response configured).
pub(crate) fn serialize_response<S: Serializer>(r: &Response, s: S) -> Result<S::Ok, S::Error> {
    let (body, base64) = shape::body(r);
    let mut map = s.serialize_map(None)?;
    map.serialize_entry("statusCode", &r.status().as_u16())?;
    map.serialize_entry(
        "headers",
        &Joined {
            headers: r.headers(),
            skip_cookies: false,
        },
    )?;
    map.serialize_entry("body", &body)?;
    map.serialize_entry("isBase64Encoded", &base64)?;
    map.end()
}
