//! DynamoDB Streams: one handler call per record, in order; a failure reports its sequence
//! number (`batchItemFailures`) so Lambda retries from there.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::Parsed;
use crate::extract::FromContext;
use crate::wire::json::Str;
use crate::{Context, Error};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DynamoDbWire<'a> {
    #[serde(rename = "eventID", borrow, default)]
    pub event_id: Str<'a>,
    #[serde(borrow, default)]
    pub event_name: Str<'a>,
    #[serde(rename = "eventSourceARN", borrow, default)]
    pub event_source_arn: Str<'a>,
    #[serde(borrow)]
    pub dynamodb: Change<'a>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Change<'a> {
    #[serde(borrow, default)]
    pub keys: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub new_image: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub old_image: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub sequence_number: Str<'a>,
    #[serde(default)]
    pub approximate_creation_date_time: Option<f64>,
}

/// One DynamoDB stream record. Keys and images are in DynamoDB's attribute-value JSON
/// (`{"Id": {"N": "101"}}`).
///
/// ```
/// use lift::events::DynamoDbRecord;
/// use lift::prelude::*;
///
/// async fn changed(ctx: Context, r: DynamoDbRecord) -> Result<(), Error> {
///     ctx.logger().info("change", &[("event", r.event_name.as_str().into()), ("keys", (&r.keys).into())]);
///     Ok(())
/// }
/// let app = App::new().on_dynamodb(changed);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DynamoDbRecord {
    /// `eventID`.
    pub event_id: String,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub event_name: String,
    /// `SequenceNumber`.
    pub sequence_number: String,
    /// `Keys`.
    pub keys: Value,
    /// `NewImage`, when the stream carries it.
    pub new_image: Option<Value>,
    /// `OldImage`, when the stream carries it.
    pub old_image: Option<Value>,
    /// `ApproximateCreationDateTime`, in seconds since the epoch.
    pub created_at: Option<f64>,
    /// The stream's ARN.
    pub stream_arn: String,
}

fn value(raw: Option<&RawValue>) -> Result<Option<Value>, Error> {
    raw.map(|r| super::decode_json(r.get(), "image"))
        .transpose()
}

impl FromContext for DynamoDbRecord {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let Parsed::DynamoDb(records) = super::parsed(ctx) else {
            return Err(Error::bad_request("not a DynamoDB stream event"));
        };
        let r = super::current(ctx, records, "DynamoDB record")?;
        Ok(DynamoDbRecord {
            event_id: r.event_id.to_string_owned(),
            event_name: r.event_name.to_string_owned(),
            sequence_number: r.dynamodb.sequence_number.to_string_owned(),
            keys: value(r.dynamodb.keys)?.unwrap_or(Value::Null),
            new_image: value(r.dynamodb.new_image)?,
            old_image: value(r.dynamodb.old_image)?,
            created_at: r.dynamodb.approximate_creation_date_time,
            stream_arn: r.event_source_arn.to_string_owned(),
        })
    }
}
