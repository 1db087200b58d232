//! DynamoDB stream records as the event source mapping delivers them.

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::defaults;

/// The first `SequenceNumber` of a batch, less one; counted up by one per record.
const SEQUENCE_BASE: u128 = 4_421_584_500_000_000_017_450_439_090;

/// DynamoDB stream records: `{"Records": [...]}`.
///
/// Defaults: table `test-table` in `us-east-1`, account `123456789012`, stream label
/// `2024-05-01T00:00:00.000`, view type `NEW_AND_OLD_IMAGES`.
#[derive(Debug, Clone)]
pub struct TestDynamoDb {
    table: String,
    stream_label: String,
    region: String,
    account: String,
    view_type: String,
    records: Vec<TestDynamoDbRecord>,
}

impl Default for TestDynamoDb {
    fn default() -> Self {
        Self::new()
    }
}

impl TestDynamoDb {
    /// No records yet, from `test-table`'s stream.
    pub fn new() -> Self {
        TestDynamoDb {
            table: "test-table".to_owned(),
            stream_label: "2024-05-01T00:00:00.000".to_owned(),
            region: defaults::REGION.to_owned(),
            account: defaults::ACCOUNT.to_owned(),
            view_type: "NEW_AND_OLD_IMAGES".to_owned(),
            records: Vec::new(),
        }
    }

    /// The table's name.
    pub fn table(mut self, name: &str) -> Self {
        self.table = name.to_owned();
        self
    }

    /// The stream's label: the last part of its ARN (a timestamp).
    pub fn stream_label(mut self, label: &str) -> Self {
        self.stream_label = label.to_owned();
        self
    }

    /// The table's region.
    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_owned();
        self
    }

    /// The table's account.
    pub fn account(mut self, account: &str) -> Self {
        self.account = account.to_owned();
        self
    }

    /// `StreamViewType`: `NEW_AND_OLD_IMAGES`, `NEW_IMAGE`, `OLD_IMAGE` or `KEYS_ONLY`. The
    /// records carry only the images the stream's view type includes.
    pub fn stream_view_type(mut self, view_type: &str) -> Self {
        self.view_type = view_type.to_owned();
        self
    }

    /// Add a record.
    pub fn record(mut self, record: TestDynamoDbRecord) -> Self {
        self.records.push(record);
        self
    }

    /// The event's JSON bytes, for [`invoke`](super::invoke).
    pub fn event(&self) -> Vec<u8> {
        let arn = format!(
            "arn:aws:dynamodb:{}:{}:table/{}/stream/{}",
            self.region, self.account, self.table, self.stream_label
        );
        let records: Vec<Value> = self
            .records
            .iter()
            .zip(1u64..)
            .map(|(r, n)| r.record(n, &arn, self))
            .collect();
        defaults::bytes(json!({ "Records": records }))
    }
}

/// One DynamoDB stream record. Keys and images are given in DynamoDB's attribute-value JSON
/// (`{"Id": {"N": "101"}}`), as the stream carries them.
///
/// Defaults, for the `n`th record of its batch: `eventID` the MD5 of `n` in hex (32 hex
/// digits, like the ids DynamoDB sends), `SequenceNumber` `44215845000000000174504390` followed
/// by `90 + n`, created at 2024-05-01T12:00:00Z, and `SizeBytes` computed from the keys and
/// images by DynamoDB's item-size rules (attribute names and string and binary values by their
/// length, numbers by their significant digits, 3 bytes and 1 a member for lists and maps).
#[derive(Debug, Clone)]
pub struct TestDynamoDbRecord {
    event_name: &'static str,
    keys: Value,
    new_image: Option<Value>,
    old_image: Option<Value>,
    event_id: Option<String>,
    sequence_number: Option<String>,
    created_at: u64,
    size_bytes: Option<u64>,
    ttl: bool,
}

impl TestDynamoDbRecord {
    fn new(
        event_name: &'static str,
        keys: Value,
        old_image: Option<Value>,
        new_image: Option<Value>,
    ) -> Self {
        TestDynamoDbRecord {
            event_name,
            keys,
            new_image,
            old_image,
            event_id: None,
            sequence_number: None,
            created_at: defaults::EPOCH_SECS,
            size_bytes: None,
            ttl: false,
        }
    }

    /// `INSERT`: an item with these keys was put as `new_image`.
    pub fn insert(keys: Value, new_image: Value) -> Self {
        Self::new("INSERT", keys, None, Some(new_image))
    }

    /// `MODIFY`: the item with these keys changed from `old_image` to `new_image`.
    pub fn modify(keys: Value, old_image: Value, new_image: Value) -> Self {
        Self::new("MODIFY", keys, Some(old_image), Some(new_image))
    }

    /// `REMOVE`: the item with these keys, last `old_image`, was deleted.
    pub fn remove(keys: Value, old_image: Value) -> Self {
        Self::new("REMOVE", keys, Some(old_image), None)
    }

    /// `eventID`.
    pub fn event_id(mut self, id: &str) -> Self {
        self.event_id = Some(id.to_owned());
        self
    }

    /// `SequenceNumber`.
    pub fn sequence_number(mut self, number: &str) -> Self {
        self.sequence_number = Some(number.to_owned());
        self
    }

    /// `ApproximateCreationDateTime`, in seconds since the epoch.
    pub fn created_at(mut self, epoch_secs: u64) -> Self {
        self.created_at = epoch_secs;
        self
    }

    /// `SizeBytes`, instead of the computed size.
    pub fn size_bytes(mut self, size: u64) -> Self {
        self.size_bytes = Some(size);
        self
    }

    /// A deletion by Time to Live: the record names the DynamoDB service as who removed the
    /// item (`userIdentity`).
    pub fn expired_by_ttl(mut self) -> Self {
        self.ttl = true;
        self
    }

    fn record(&self, n: u64, arn: &str, batch: &TestDynamoDb) -> Value {
        let view = batch.view_type.as_str();
        let new_image = self
            .new_image
            .as_ref()
            .filter(|_| matches!(view, "NEW_AND_OLD_IMAGES" | "NEW_IMAGE"));
        let old_image = self
            .old_image
            .as_ref()
            .filter(|_| matches!(view, "NEW_AND_OLD_IMAGES" | "OLD_IMAGE"));
        let size = self.size_bytes.unwrap_or_else(|| {
            [Some(&self.keys), new_image, old_image]
                .into_iter()
                .flatten()
                .map(item_size)
                .sum()
        });
        let mut change = Map::new();
        change.insert("Keys".into(), self.keys.clone());
        if let Some(image) = new_image {
            change.insert("NewImage".into(), image.clone());
        }
        if let Some(image) = old_image {
            change.insert("OldImage".into(), image.clone());
        }
        change.insert("ApproximateCreationDateTime".into(), json!(self.created_at));
        change.insert(
            "SequenceNumber".into(),
            json!(self
                .sequence_number
                .clone()
                .unwrap_or_else(|| (SEQUENCE_BASE + u128::from(n)).to_string())),
        );
        change.insert("SizeBytes".into(), json!(size));
        change.insert("StreamViewType".into(), json!(view));

        let mut record = Map::new();
        record.insert(
            "eventID".into(),
            json!(self
                .event_id
                .clone()
                .unwrap_or_else(|| defaults::md5_hex(n.to_string().as_bytes()))),
        );
        record.insert("eventName".into(), json!(self.event_name));
        record.insert("eventVersion".into(), json!("1.1"));
        record.insert("eventSource".into(), json!("aws:dynamodb"));
        record.insert("awsRegion".into(), json!(batch.region));
        record.insert("dynamodb".into(), Value::Object(change));
        record.insert("eventSourceARN".into(), json!(arn));
        if self.ttl {
            record.insert(
                "userIdentity".into(),
                json!({ "type": "Service", "principalId": "dynamodb.amazonaws.com" }),
            );
        }
        Value::Object(record)
    }
}

/// The size of an item (or of keys) in attribute-value JSON: each attribute's name and value.
fn item_size(item: &Value) -> u64 {
    item.as_object()
        .into_iter()
        .flatten()
        .map(|(name, v)| name.len() as u64 + value_size(v))
        .sum()
}

/// The size of one attribute value (`{"S": "..."}`, `{"N": "..."}`, ...).
fn value_size(v: &Value) -> u64 {
    let Some((kind, inner)) = v.as_object().and_then(|m| m.iter().next()) else {
        return 0;
    };
    let text = |v: &Value| v.as_str().map_or(0, |s| s.len() as u64);
    match kind.as_str() {
        "S" => text(inner),
        "N" => inner.as_str().map_or(0, number_size),
        "B" => inner.as_str().map_or(0, binary_size),
        "BOOL" | "NULL" => 1,
        "SS" => members(inner).iter().map(text).sum(),
        "NS" => members(inner)
            .iter()
            .map(|n| n.as_str().map_or(0, number_size))
            .sum(),
        "BS" => members(inner)
            .iter()
            .map(|b| b.as_str().map_or(0, binary_size))
            .sum(),
        "L" => {
            3 + members(inner)
                .iter()
                .map(|m| 1 + value_size(m))
                .sum::<u64>()
        }
        "M" => {
            3 + inner
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, m)| 1 + name.len() as u64 + value_size(m))
                .sum::<u64>()
        }
        _ => 0,
    }
}

fn members(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// A number takes a byte per two significant digits, and one more.
fn number_size(n: &str) -> u64 {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len() as u64;
    significant.div_ceil(2) + 1
}

/// A binary value takes its decoded length.
fn binary_size(b64: &str) -> u64 {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_or(b64.len() as u64, |b| b.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_item_size_rules() {
        assert_eq!(number_size("101"), 3);
        assert_eq!(number_size("-12.50"), 3);
        assert_eq!(number_size("0"), 1);
        assert_eq!(
            item_size(&json!({"Message": {"S": "New item!"}, "Id": {"N": "101"}})),
            21
        );
        assert_eq!(
            item_size(&json!({"B": {"B": "AAEC"}, "T": {"BOOL": true}})),
            6
        );
        assert_eq!(
            item_size(&json!({"L": {"L": [{"S": "ab"}, {"N": "1"}]}})),
            1 + 3 + (1 + 2) + (1 + 2)
        );
    }
}
