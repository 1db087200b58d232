//! SQS batches as Lambda's event source mapping delivers them, from standard and FIFO queues.

use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::defaults::{self, Md5Hex};

/// The first `SequenceNumber` of a FIFO batch, counted up by one per message (the number in
/// the FIFO example of the Lambda developer guide).
const FIRST_SEQUENCE: u128 = 18_849_496_460_467_696_128;

/// A batch of SQS messages: `{"Records": [...]}` as the event source mapping sends it.
///
/// Defaults: queue `test-queue` in `us-east-1`, account `123456789012`. A queue whose name
/// ends in `.fifo` is a FIFO queue: every message then carries `MessageGroupId`,
/// `MessageDeduplicationId` and `SequenceNumber`.
///
/// ```
/// use lift::testing::{TestSqs, TestSqsMessage};
///
/// let event = TestSqs::new()
///     .queue("orders.fifo")
///     .message(TestSqsMessage::new(r#"{"id":"o-1"}"#).group("customer-1"))
///     .message(TestSqsMessage::json(&serde_json::json!({"id": "o-2"})).group("customer-2"))
///     .event();
/// let v: serde_json::Value = serde_json::from_slice(&event).unwrap();
/// assert_eq!(v["Records"][1]["messageId"], "00000000-0000-4000-8000-000000000002");
/// assert_eq!(v["Records"][1]["attributes"]["MessageGroupId"], "customer-2");
/// ```
#[derive(Debug, Clone)]
pub struct TestSqs {
    queue: String,
    region: String,
    account: String,
    messages: Vec<TestSqsMessage>,
}

impl Default for TestSqs {
    fn default() -> Self {
        Self::new()
    }
}

impl TestSqs {
    /// An empty batch on `test-queue`.
    pub fn new() -> Self {
        TestSqs {
            queue: "test-queue".to_owned(),
            region: defaults::REGION.to_owned(),
            account: defaults::ACCOUNT.to_owned(),
            messages: Vec::new(),
        }
    }

    /// The queue's name; a name ending in `.fifo` makes it a FIFO queue.
    pub fn queue(mut self, name: &str) -> Self {
        self.queue = name.to_owned();
        self
    }

    /// The queue's region (`awsRegion` and the ARN).
    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_owned();
        self
    }

    /// The queue's account (the ARN; also the default `SenderId`).
    pub fn account(mut self, account: &str) -> Self {
        self.account = account.to_owned();
        self
    }

    /// Add a message: a body (`.message("hello")`) or a [`TestSqsMessage`].
    pub fn message(mut self, message: impl Into<TestSqsMessage>) -> Self {
        self.messages.push(message.into());
        self
    }

    /// The event's JSON bytes, for [`invoke`](super::invoke).
    pub fn event(&self) -> Vec<u8> {
        let arn = format!(
            "arn:aws:sqs:{}:{}:{}",
            self.region, self.account, self.queue
        );
        let fifo = self.queue.ends_with(".fifo");
        let records: Vec<Value> = self
            .messages
            .iter()
            .zip(1u64..)
            .map(|(m, n)| m.record(n, fifo, &arn, self))
            .collect();
        defaults::bytes(json!({ "Records": records }))
    }
}

/// A message attribute's value: text (`String` and `Number` types) or bytes (`Binary` types).
#[derive(Debug, Clone)]
enum AttributeValue {
    Text(String),
    /// As the event carries it: base64.
    Binary(String),
}

/// One message of a [`TestSqs`] batch.
///
/// Defaults, for the `n`th message of its batch: `messageId`
/// `00000000-0000-4000-8000-00000000000n`, `receiptHandle` `receipt-<messageId>`, received once,
/// sent at 2024-05-01T12:00:00Z and first received a millisecond later, sent by the queue's
/// account, no message attributes. On a FIFO queue: group `default`, the message id as
/// deduplication id, and sequence numbers counting up from `18849496460467696128`.
/// `md5OfBody` (and `md5OfMessageAttributes`, when there are attributes) are computed as SQS
/// computes them.
#[derive(Debug, Clone)]
pub struct TestSqsMessage {
    body: String,
    id: Option<String>,
    receipt_handle: Option<String>,
    receive_count: u32,
    sent_at: u64,
    first_received_at: Option<u64>,
    sender_id: Option<String>,
    group: Option<String>,
    deduplication_id: Option<String>,
    sequence_number: Option<String>,
    attributes: Vec<(String, String, AttributeValue)>,
}

impl From<&str> for TestSqsMessage {
    fn from(body: &str) -> Self {
        TestSqsMessage::new(body)
    }
}

impl From<String> for TestSqsMessage {
    fn from(body: String) -> Self {
        TestSqsMessage::new(body)
    }
}

impl TestSqsMessage {
    /// A message with this body.
    pub fn new(body: impl Into<String>) -> Self {
        TestSqsMessage {
            body: body.into(),
            id: None,
            receipt_handle: None,
            receive_count: 1,
            sent_at: defaults::EPOCH_MS,
            first_received_at: None,
            sender_id: None,
            group: None,
            deduplication_id: None,
            sequence_number: None,
            attributes: Vec::new(),
        }
    }

    /// A message whose body is `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::new(defaults::json_text(value))
    }

    /// `messageId`.
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.to_owned());
        self
    }

    /// `receiptHandle`.
    pub fn receipt_handle(mut self, handle: &str) -> Self {
        self.receipt_handle = Some(handle.to_owned());
        self
    }

    /// `ApproximateReceiveCount`: more than 1 for a redelivery.
    pub fn receive_count(mut self, count: u32) -> Self {
        self.receive_count = count;
        self
    }

    /// `SentTimestamp`, in milliseconds since the epoch.
    pub fn sent_at(mut self, epoch_ms: u64) -> Self {
        self.sent_at = epoch_ms;
        self
    }

    /// `ApproximateFirstReceiveTimestamp`, in milliseconds since the epoch (default: a
    /// millisecond after [`sent_at`](Self::sent_at)).
    pub fn first_received_at(mut self, epoch_ms: u64) -> Self {
        self.first_received_at = Some(epoch_ms);
        self
    }

    /// `SenderId`: the sender's account, or the IAM user or role id it sent as.
    pub fn sender_id(mut self, sender: &str) -> Self {
        self.sender_id = Some(sender.to_owned());
        self
    }

    /// `MessageGroupId`: the FIFO message group (also sent for a standard queue when set).
    pub fn group(mut self, group: &str) -> Self {
        self.group = Some(group.to_owned());
        self
    }

    /// `MessageDeduplicationId` (FIFO).
    pub fn deduplication_id(mut self, id: &str) -> Self {
        self.deduplication_id = Some(id.to_owned());
        self
    }

    /// `SequenceNumber` (FIFO).
    pub fn sequence_number(mut self, number: &str) -> Self {
        self.sequence_number = Some(number.to_owned());
        self
    }

    /// A `String` message attribute.
    pub fn attribute(self, name: &str, value: &str) -> Self {
        self.typed_attribute(name, "String", value)
    }

    /// A `Binary` message attribute (base64-encoded in the event).
    pub fn binary_attribute(mut self, name: &str, value: &[u8]) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD.encode(value);
        self.attributes.push((
            name.to_owned(),
            "Binary".to_owned(),
            AttributeValue::Binary(b64),
        ));
        self
    }

    /// A message attribute of any data type (`Number`, `Number.int`, `String.uuid`,
    /// `Binary.png`...), its value as the event carries it: text, or base64 for a `Binary`
    /// type.
    pub fn typed_attribute(mut self, name: &str, data_type: &str, value: &str) -> Self {
        let value = if data_type.starts_with("Binary") {
            AttributeValue::Binary(value.to_owned())
        } else {
            AttributeValue::Text(value.to_owned())
        };
        self.attributes
            .push((name.to_owned(), data_type.to_owned(), value));
        self
    }

    fn record(&self, n: u64, fifo: bool, arn: &str, batch: &TestSqs) -> Value {
        let id = self.id.clone().unwrap_or_else(|| defaults::uuid(n));
        let mut attributes = Map::new();
        let mut attr = |k: &str, v: String| {
            attributes.insert(k.to_owned(), Value::String(v));
        };
        attr("ApproximateReceiveCount", self.receive_count.to_string());
        attr("SentTimestamp", self.sent_at.to_string());
        attr(
            "SenderId",
            self.sender_id
                .clone()
                .unwrap_or_else(|| batch.account.clone()),
        );
        attr(
            "ApproximateFirstReceiveTimestamp",
            self.first_received_at
                .unwrap_or(self.sent_at + 1)
                .to_string(),
        );
        let group = self
            .group
            .clone()
            .or_else(|| fifo.then(|| "default".into()));
        if let Some(g) = group {
            attr("MessageGroupId", g);
        }
        let dedup = self
            .deduplication_id
            .clone()
            .or_else(|| fifo.then(|| id.clone()));
        if let Some(d) = dedup {
            attr("MessageDeduplicationId", d);
        }
        let sequence = self
            .sequence_number
            .clone()
            .or_else(|| fifo.then(|| (FIRST_SEQUENCE + u128::from(n - 1)).to_string()));
        if let Some(s) = sequence {
            attr("SequenceNumber", s);
        }

        let mut record = Map::new();
        record.insert("messageId".into(), json!(id));
        record.insert(
            "receiptHandle".into(),
            json!(self
                .receipt_handle
                .clone()
                .unwrap_or_else(|| format!("receipt-{id}"))),
        );
        record.insert("body".into(), json!(self.body));
        record.insert("attributes".into(), Value::Object(attributes));
        record.insert("messageAttributes".into(), self.message_attributes());
        record.insert(
            "md5OfBody".into(),
            json!(defaults::md5_hex(self.body.as_bytes())),
        );
        if !self.attributes.is_empty() {
            record.insert(
                "md5OfMessageAttributes".into(),
                json!(self.md5_of_attributes()),
            );
        }
        record.insert("eventSource".into(), json!("aws:sqs"));
        record.insert("eventSourceARN".into(), json!(arn));
        record.insert("awsRegion".into(), json!(batch.region));
        Value::Object(record)
    }

    fn message_attributes(&self) -> Value {
        let mut m = Map::new();
        for (name, data_type, value) in &self.attributes {
            let (key, v) = match value {
                AttributeValue::Text(s) => ("stringValue", s),
                AttributeValue::Binary(b) => ("binaryValue", b),
            };
            m.insert(
                name.clone(),
                json!({
                    key: v,
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": data_type,
                }),
            );
        }
        Value::Object(m)
    }

    /// The digest SQS computes over the attributes (in name order): each of name, data type
    /// and value as a 4-byte big-endian length and the bytes, the value preceded by its
    /// transport type (1 text, 2 binary; binary values decoded from base64).
    fn md5_of_attributes(&self) -> String {
        fn field(md5: &mut Md5Hex, bytes: &[u8]) {
            // Attribute parts are bounded far below 4 GiB by SQS's 256 KiB message size.
            md5.update(&(bytes.len() as u32).to_be_bytes());
            md5.update(bytes);
        }
        let mut sorted: Vec<_> = self.attributes.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut md5 = Md5Hex::new();
        for (name, data_type, value) in sorted {
            field(&mut md5, name.as_bytes());
            field(&mut md5, data_type.as_bytes());
            match value {
                AttributeValue::Text(s) => {
                    md5.update(&[1]);
                    field(&mut md5, s.as_bytes());
                }
                AttributeValue::Binary(b) => {
                    md5.update(&[2]);
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .unwrap_or_else(|_| b.as_bytes().to_vec());
                    field(&mut md5, &raw);
                }
            }
        }
        md5.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_attribute_digests_are_the_ones_sqs_computes() {
        // The digests moto's SQS gives for the same attributes.
        let m = TestSqsMessage::new("x").typed_attribute("timestamp", "Number", "1493147359900");
        assert_eq!(m.md5_of_attributes(), "235c5c510d26fb653d073faed50ae77c");
        let m = TestSqsMessage::new("x")
            .attribute("tenant", "acme")
            .binary_attribute("blob", &[0, 1, 2]);
        assert_eq!(m.md5_of_attributes(), "d7c21c33e7aec2d22d0e86e8f5eaf02b");
    }
}
