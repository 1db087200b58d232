//! Kinesis: one handler call per record, in order; a failure reports its sequence number
//! (`batchItemFailures`) so Lambda retries from there.

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::Parsed;
use crate::extract::FromContext;
use crate::wire::json::Str;
use crate::{Context, Error};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KinesisWire<'a> {
    #[serde(rename = "eventID", borrow, default)]
    pub event_id: Str<'a>,
    #[serde(rename = "eventSourceARN", borrow, default)]
    pub event_source_arn: Str<'a>,
    #[serde(borrow)]
    pub kinesis: KinesisData<'a>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KinesisData<'a> {
    #[serde(borrow, default)]
    pub partition_key: Str<'a>,
    #[serde(borrow, default)]
    pub sequence_number: Str<'a>,
    #[serde(borrow, default)]
    pub data: Str<'a>,
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<f64>,
}

/// One Kinesis record; `data` is base64-decoded.
///
/// ```
/// use lift::events::KinesisRecord;
/// use lift::prelude::*;
///
/// async fn read(ctx: Context, r: KinesisRecord) -> Result<(), Error> {
///     let event: serde_json::Value = r.json()?;
///     ctx.logger().info("record", &[("partition", r.partition_key.as_str().into()), ("event", (&event).into())]);
///     Ok(())
/// }
/// let app = App::new().on_kinesis(read);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KinesisRecord {
    /// `eventID`.
    pub event_id: String,
    /// `sequenceNumber`.
    pub sequence_number: String,
    /// `partitionKey`.
    pub partition_key: String,
    /// The decoded `data`.
    pub data: Vec<u8>,
    /// `approximateArrivalTimestamp`, in seconds since the epoch.
    pub arrival_timestamp: Option<f64>,
    /// The stream's ARN.
    pub stream_arn: String,
}

impl KinesisRecord {
    /// The data parsed as JSON into `T` (400 when it is not).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.data).map_err(|e| super::mismatch("record data", &e))
    }
}

impl FromContext for KinesisRecord {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let Parsed::Kinesis(records) = super::parsed(ctx) else {
            return Err(Error::bad_request("not a Kinesis event"));
        };
        let r = super::current(ctx, records, "Kinesis record")?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(r.kinesis.data.as_bytes())
            .map_err(|_| Error::bad_request("record data is not valid base64"))?;
        Ok(KinesisRecord {
            event_id: r.event_id.to_string_owned(),
            sequence_number: r.kinesis.sequence_number.to_string_owned(),
            partition_key: r.kinesis.partition_key.to_string_owned(),
            data,
            arrival_timestamp: r.kinesis.approximate_arrival_timestamp,
            stream_arn: r.event_source_arn.to_string_owned(),
        })
    }
}
