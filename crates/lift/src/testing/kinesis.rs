//! Kinesis stream records as the event source mapping delivers them.

use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};

use super::defaults;

/// The first 54 digits of a default sequence number; the record's number in its batch, in two
/// digits or more, makes the rest.
const SEQUENCE_PREFIX: &str = "495903382714902566085596925383615710959215759891365888";

/// Kinesis records: `{"Records": [...]}`.
///
/// Defaults: stream `test-stream` in `us-east-1`, account `123456789012`, shard
/// `shardId-000000000000`, invoked as the role `arn:aws:iam::<account>:role/lambda-role`.
#[derive(Debug, Clone)]
pub struct TestKinesis {
    stream: String,
    stream_arn: Option<String>,
    shard_id: String,
    region: String,
    account: String,
    invoke_identity_arn: Option<String>,
    records: Vec<TestKinesisRecord>,
}

impl Default for TestKinesis {
    fn default() -> Self {
        Self::new()
    }
}

impl TestKinesis {
    /// No records yet, from `test-stream`.
    pub fn new() -> Self {
        TestKinesis {
            stream: "test-stream".to_owned(),
            stream_arn: None,
            shard_id: "shardId-000000000000".to_owned(),
            region: defaults::REGION.to_owned(),
            account: defaults::ACCOUNT.to_owned(),
            invoke_identity_arn: None,
            records: Vec::new(),
        }
    }

    /// The stream's name.
    pub fn stream(mut self, name: &str) -> Self {
        self.stream = name.to_owned();
        self
    }

    /// `eventSourceARN` as given, instead of the one made of the stream, region and account.
    pub fn stream_arn(mut self, arn: &str) -> Self {
        self.stream_arn = Some(arn.to_owned());
        self
    }

    /// The shard the records come from (the first part of each `eventID`).
    pub fn shard_id(mut self, shard: &str) -> Self {
        self.shard_id = shard.to_owned();
        self
    }

    /// The stream's region.
    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_owned();
        self
    }

    /// The stream's account.
    pub fn account(mut self, account: &str) -> Self {
        self.account = account.to_owned();
        self
    }

    /// `invokeIdentityArn`: the function's execution role.
    pub fn invoke_identity_arn(mut self, arn: &str) -> Self {
        self.invoke_identity_arn = Some(arn.to_owned());
        self
    }

    /// Add a record: its data (`.record("text")`, `.record(bytes)`) or a
    /// [`TestKinesisRecord`].
    pub fn record(mut self, record: impl Into<TestKinesisRecord>) -> Self {
        self.records.push(record.into());
        self
    }

    /// The event's JSON bytes, for [`invoke`](super::invoke).
    pub fn event(&self) -> Vec<u8> {
        let arn = self.stream_arn.clone().unwrap_or_else(|| {
            format!(
                "arn:aws:kinesis:{}:{}:stream/{}",
                self.region, self.account, self.stream
            )
        });
        let role = self
            .invoke_identity_arn
            .clone()
            .unwrap_or_else(|| format!("arn:aws:iam::{}:role/lambda-role", self.account));
        let records: Vec<Value> = self
            .records
            .iter()
            .zip(1u64..)
            .map(|(r, n)| {
                let sequence = r
                    .sequence_number
                    .clone()
                    .unwrap_or_else(|| format!("{SEQUENCE_PREFIX}{n:02}"));
                json!({
                    "kinesis": {
                        "partitionKey": r.partition_key,
                        "kinesisSchemaVersion": "1.0",
                        "data": base64::engine::general_purpose::STANDARD.encode(&r.data),
                        "sequenceNumber": sequence,
                        "approximateArrivalTimestamp": r.arrival_timestamp,
                    },
                    "eventSource": "aws:kinesis",
                    "eventID": r
                        .event_id
                        .clone()
                        .unwrap_or_else(|| format!("{}:{sequence}", self.shard_id)),
                    "invokeIdentityArn": role,
                    "eventVersion": "1.0",
                    "eventName": "aws:kinesis:record",
                    "eventSourceARN": arn,
                    "awsRegion": self.region,
                })
            })
            .collect();
        defaults::bytes(json!({ "Records": records }))
    }
}

/// One Kinesis record; its data is base64-encoded in the event.
///
/// Defaults, for the `n`th record of its batch: partition key `partition-key`, a 56-digit
/// sequence number ending in `n` (`4959…365888` then `01` for the first), `eventID`
/// `<shard>:<sequence number>`, arrival at 2024-05-01T12:00:00Z.
#[derive(Debug, Clone)]
pub struct TestKinesisRecord {
    data: Vec<u8>,
    partition_key: String,
    sequence_number: Option<String>,
    event_id: Option<String>,
    arrival_timestamp: f64,
}

impl From<&str> for TestKinesisRecord {
    fn from(data: &str) -> Self {
        TestKinesisRecord::new(data)
    }
}

impl From<String> for TestKinesisRecord {
    fn from(data: String) -> Self {
        TestKinesisRecord::new(data)
    }
}

impl From<Vec<u8>> for TestKinesisRecord {
    fn from(data: Vec<u8>) -> Self {
        TestKinesisRecord::new(data)
    }
}

impl TestKinesisRecord {
    /// A record carrying `data`.
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        TestKinesisRecord {
            data: data.into(),
            partition_key: "partition-key".to_owned(),
            sequence_number: None,
            event_id: None,
            arrival_timestamp: defaults::EPOCH_SECS as f64,
        }
    }

    /// A record whose data is `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::new(defaults::json_text(value))
    }

    /// `partitionKey`.
    pub fn partition_key(mut self, key: &str) -> Self {
        self.partition_key = key.to_owned();
        self
    }

    /// `sequenceNumber` (also the end of the default `eventID`).
    pub fn sequence_number(mut self, number: &str) -> Self {
        self.sequence_number = Some(number.to_owned());
        self
    }

    /// `eventID`.
    pub fn event_id(mut self, id: &str) -> Self {
        self.event_id = Some(id.to_owned());
        self
    }

    /// `approximateArrivalTimestamp`, in seconds since the epoch (with a fraction, as Kinesis
    /// writes it).
    pub fn arrival_timestamp(mut self, epoch_secs: f64) -> Self {
        self.arrival_timestamp = epoch_secs;
        self
    }
}
