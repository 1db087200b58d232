//! The union of the top-level keys Lift's event sources use, read in one borrowed pass.

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::json::{MultiPairs, Pairs, Str};
use super::EventKind;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope<'a> {
    #[serde(borrow)]
    pub http_method: Option<Str<'a>>,
    #[serde(borrow)]
    pub path: Option<Str<'a>>,
    #[serde(borrow)]
    pub raw_path: Option<Str<'a>>,
    #[serde(borrow)]
    pub raw_query_string: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub headers: Pairs<'a>,
    #[serde(borrow, default)]
    pub multi_value_headers: MultiPairs<'a>,
    #[serde(borrow, default)]
    pub query_string_parameters: Pairs<'a>,
    #[serde(borrow, default)]
    pub multi_value_query_string_parameters: MultiPairs<'a>,
    #[serde(borrow, default)]
    pub cookies: Option<Vec<Str<'a>>>,
    #[serde(borrow)]
    pub body: Option<Str<'a>>,
    #[serde(default)]
    pub is_base64_encoded: Option<bool>,
    #[serde(borrow)]
    pub request_context: Option<RequestContext<'a>>,
    #[serde(rename = "Records")]
    pub records: Option<IgnoredAny>,
    #[serde(rename = "detail-type")]
    pub detail_type: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestContext<'a> {
    #[serde(borrow)]
    pub http: Option<HttpContext<'a>>,
    pub elb: Option<IgnoredAny>,
    #[serde(borrow)]
    pub stage: Option<Str<'a>>,
    #[serde(borrow)]
    pub request_id: Option<Str<'a>>,
    #[serde(borrow)]
    pub domain_name: Option<Str<'a>>,
    #[serde(borrow)]
    pub identity: Option<Identity<'a>>,
    pub connection_id: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HttpContext<'a> {
    #[serde(borrow)]
    pub method: Option<Str<'a>>,
    #[serde(borrow)]
    pub source_ip: Option<Str<'a>>,
    #[serde(borrow)]
    pub user_agent: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Identity<'a> {
    #[serde(borrow)]
    pub source_ip: Option<Str<'a>>,
    #[serde(borrow)]
    pub user_agent: Option<Str<'a>>,
}

impl Envelope<'_> {
    /// Read the kind off the keys that were present.
    pub(crate) fn kind(&self) -> EventKind {
        if let Some(rc) = &self.request_context {
            if rc.elb.is_some() {
                return EventKind::Alb;
            }
            if rc.http.is_some() {
                let url = rc
                    .domain_name
                    .as_deref()
                    .is_some_and(|d| d.contains(".lambda-url."));
                return if url {
                    EventKind::FunctionUrl
                } else {
                    EventKind::ApiGatewayV2
                };
            }
            if rc.connection_id.is_some() {
                return EventKind::WebSocket;
            }
            if self.http_method.is_some() {
                return EventKind::ApiGatewayV1;
            }
        }
        if self.records.is_some() {
            return EventKind::Records;
        }
        if self.detail_type.is_some() {
            return EventKind::EventBridge;
        }
        EventKind::Unknown
    }
}
