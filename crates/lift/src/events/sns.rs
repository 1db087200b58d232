//! SNS: one handler call per notification; the message decoded into the handler's type.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::Parsed;
use crate::extract::FromContext;
use crate::wire::json::Str;
use crate::{Context, Error};

#[derive(Deserialize, Debug)]
pub(crate) struct SnsWire<'a> {
    #[serde(rename = "Sns", borrow)]
    pub sns: Notification<'a>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Notification<'a> {
    #[serde(borrow)]
    pub message_id: Str<'a>,
    #[serde(borrow, default)]
    pub topic_arn: Str<'a>,
    #[serde(borrow, default)]
    pub subject: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub message: Str<'a>,
    #[serde(borrow, default)]
    pub timestamp: Str<'a>,
    #[serde(borrow, default)]
    pub message_attributes: Option<HashMap<Str<'a>, SnsAttribute<'a>>>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SnsAttribute<'a> {
    #[serde(borrow)]
    pub value: Option<Str<'a>>,
}

/// One SNS notification, its message decoded as `T` (JSON).
///
/// ```
/// use lift::events::SnsMessage;
/// use lift::prelude::*;
///
/// async fn notified(ctx: Context, n: SnsMessage<serde_json::Value>) -> Result<(), Error> {
///     ctx.logger().info("notified", &[("topic", n.topic_arn.as_str().into())]);
///     Ok(())
/// }
/// let app = App::new().on_sns(notified);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct SnsMessage<T = serde_json::Value> {
    /// `MessageId`.
    pub id: String,
    /// The topic's ARN.
    pub topic_arn: String,
    /// `Subject`, when set.
    pub subject: Option<String>,
    /// The decoded `Message`.
    pub message: T,
    /// `Timestamp` (RFC 3339).
    pub timestamp: String,
    /// The message attributes' values.
    pub attributes: HashMap<String, String>,
}

impl<T: DeserializeOwned + Send + 'static> FromContext for SnsMessage<T> {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let Parsed::Sns(records) = super::parsed(ctx) else {
            return Err(Error::bad_request("not an SNS event"));
        };
        let n = &super::current(ctx, records, "SNS notification")?.sns;
        Ok(SnsMessage {
            id: n.message_id.to_string_owned(),
            topic_arn: n.topic_arn.to_string_owned(),
            subject: n.subject.as_ref().map(Str::to_string_owned),
            message: super::decode_json(&n.message, "message")?,
            timestamp: n.timestamp.to_string_owned(),
            attributes: n
                .message_attributes
                .iter()
                .flatten()
                .filter_map(|(k, a)| {
                    Some((k.to_string_owned(), a.value.as_ref()?.to_string_owned()))
                })
                .collect(),
        })
    }
}
