//! SQS: one handler call per message; the message body decoded into the handler's type.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::Parsed;
use crate::extract::FromContext;
use crate::wire::json::{Pairs, Str};
use crate::{Context, Error};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SqsWire<'a> {
    #[serde(borrow)]
    pub message_id: Str<'a>,
    #[serde(borrow, default)]
    pub body: Str<'a>,
    #[serde(borrow, default)]
    pub attributes: Pairs<'a>,
    #[serde(borrow, default)]
    pub message_attributes: Option<HashMap<Str<'a>, SqsAttribute<'a>>>,
    #[serde(rename = "eventSourceARN", borrow, default)]
    pub event_source_arn: Str<'a>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SqsAttribute<'a> {
    #[serde(borrow)]
    pub string_value: Option<Str<'a>>,
}

impl SqsWire<'_> {
    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .0
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| &**v)
    }

    /// The FIFO message group, when the queue is FIFO.
    pub(crate) fn group_id(&self) -> Option<&str> {
        self.attribute("MessageGroupId")
    }

    pub(crate) fn is_fifo(&self) -> bool {
        self.event_source_arn.ends_with(".fifo")
    }
}

/// One SQS message, its body decoded as `T` (JSON). A body that does not decode fails this
/// message alone.
///
/// ```
/// use lift::events::SqsMessage;
/// use lift::prelude::*;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Order { id: String, amount: f64 }
///
/// async fn process(_ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
///     if msg.body.amount < 0.0 {
///         return Err(Error::bad_request("negative amount"));   // this message fails
///     }
///     Ok(())
/// }
/// let app = App::new().on_sqs(process);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct SqsMessage<T = serde_json::Value> {
    /// `messageId`.
    pub id: String,
    /// The decoded body.
    pub body: T,
    /// `ApproximateReceiveCount` (1 on the first delivery).
    pub receive_count: u32,
    /// `SentTimestamp`, in milliseconds since the epoch.
    pub sent_timestamp_ms: Option<u64>,
    /// `MessageGroupId`, for FIFO queues.
    pub group_id: Option<String>,
    /// The queue's ARN.
    pub queue_arn: String,
    /// The system attributes (`ApproximateReceiveCount`, `SentTimestamp`, ...).
    pub attributes: HashMap<String, String>,
    /// The message attributes that have string values.
    pub message_attributes: HashMap<String, String>,
}

impl<T: DeserializeOwned + Send + 'static> FromContext for SqsMessage<T> {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let Parsed::Sqs(records) = super::parsed(ctx) else {
            return Err(Error::bad_request("not an SQS event"));
        };
        let r = super::current(ctx, records, "SQS message")?;
        let body = super::decode_json(&r.body, "message body")?;
        Ok(SqsMessage {
            id: r.message_id.to_string_owned(),
            body,
            receive_count: r
                .attribute("ApproximateReceiveCount")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
            sent_timestamp_ms: r.attribute("SentTimestamp").and_then(|v| v.parse().ok()),
            group_id: r.group_id().map(str::to_owned),
            queue_arn: r.event_source_arn.to_string_owned(),
            attributes: r
                .attributes
                .0
                .iter()
                .map(|(k, v)| (k.to_string_owned(), v.to_string_owned()))
                .collect(),
            message_attributes: r
                .message_attributes
                .iter()
                .flatten()
                .filter_map(|(k, a)| {
                    Some((
                        k.to_string_owned(),
                        a.string_value.as_ref()?.to_string_owned(),
                    ))
                })
                .collect(),
        })
    }
}
