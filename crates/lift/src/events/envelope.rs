//! The union of the top-level keys Lift's event sources use, read in one borrowed pass.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::EventKind;
use crate::wire::json::{MultiPairs, Pairs, Str};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope<'a> {
    // HTTP (API Gateway v1/v2, ALB, Function URL) and WebSocket.
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
    // Record batches: each record is kept raw and parsed by its source's module.
    #[serde(rename = "Records", borrow)]
    pub records: Option<Vec<&'a RawValue>>,
    // EventBridge (and scheduled events).
    #[serde(rename = "detail-type", borrow)]
    pub detail_type: Option<Str<'a>>,
    #[serde(borrow)]
    pub source: Option<Str<'a>>,
    #[serde(borrow)]
    pub id: Option<Str<'a>>,
    #[serde(borrow)]
    pub time: Option<Str<'a>>,
    #[serde(borrow)]
    pub region: Option<Str<'a>>,
    #[serde(borrow)]
    pub account: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub resources: Option<Vec<Str<'a>>>,
    #[serde(borrow)]
    pub detail: Option<&'a RawValue>,
    /// A schedule named by a constant input: `{"schedule": "nightly-report"}`.
    #[serde(borrow)]
    pub schedule: Option<Str<'a>>,
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
    pub identity: Option<SourceIdentity<'a>>,
    #[serde(borrow)]
    pub connection_id: Option<Str<'a>>,
    #[serde(borrow)]
    pub route_key: Option<Str<'a>>,
    #[serde(borrow)]
    pub event_type: Option<Str<'a>>,
    /// What API Gateway's authorizer vouched for, kept raw: read only by `AuthorizerClaims`.
    #[serde(borrow)]
    pub authorizer: Option<&'a RawValue>,
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
pub(crate) struct SourceIdentity<'a> {
    #[serde(borrow)]
    pub source_ip: Option<Str<'a>>,
    #[serde(borrow)]
    pub user_agent: Option<Str<'a>>,
}

/// Just enough of a record to tell its source.
#[derive(Deserialize)]
struct SourceProbe<'a> {
    #[serde(rename = "eventSource", borrow)]
    lower: Option<Str<'a>>,
    #[serde(rename = "EventSource", borrow)]
    upper: Option<Str<'a>>,
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
        if let Some(records) = &self.records {
            return batch_kind(records);
        }
        if self.detail_type.is_some() {
            let scheduled = matches!(self.source.as_deref(), Some("aws.events" | "aws.scheduler"))
                && self.detail_type.as_deref() == Some("Scheduled Event");
            return if scheduled {
                EventKind::Schedule
            } else {
                EventKind::EventBridge
            };
        }
        if self.schedule.is_some() {
            return EventKind::Schedule;
        }
        EventKind::Unknown
    }
}

/// The source of a batch: the one source its records name (`eventSource`, `EventSource` for
/// SNS), whichever record comes first. Records that name none (malformed ones, most likely) do
/// not count; a batch whose records name two different sources, a source Lift does not know,
/// or none at all, is of no kind Lift handles.
fn batch_kind(records: &[&RawValue]) -> EventKind {
    let mut kind = None;
    for record in records {
        match record_kind(record) {
            Some(k) if kind.is_some_and(|seen| seen != k) => return EventKind::Records,
            Some(k) => kind = Some(k),
            None => {}
        }
    }
    kind.unwrap_or(EventKind::Records)
}

/// The source one record names (`Records` for a source Lift does not know), if it names one.
fn record_kind(record: &RawValue) -> Option<EventKind> {
    let probe = serde_json::from_str::<SourceProbe<'_>>(record.get()).ok()?;
    match probe.lower.or(probe.upper).as_deref()? {
        "aws:sqs" => Some(EventKind::Sqs),
        "aws:sns" => Some(EventKind::Sns),
        "aws:s3" => Some(EventKind::S3),
        "aws:dynamodb" => Some(EventKind::DynamoDb),
        "aws:kinesis" => Some(EventKind::Kinesis),
        _ => Some(EventKind::Records),
    }
}
