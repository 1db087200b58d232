//! S3 object notifications as a bucket's event notification delivers them.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use super::defaults;

/// What S3 leaves as it is in a key: letters, digits, `*-._` (form encoding) and `/`. A space
/// becomes `+` after encoding, so it is left for that step.
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'/')
    .remove(b' ');

/// A key as S3 writes it in a notification: form-encoded (`+` for a space, `%2B` for a plus,
/// UTF-8 percent-encoded), with `/` kept.
fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY).to_string().replace(' ', "+")
}

/// S3 notifications: `{"Records": [...]}`.
///
/// Defaults: region `us-east-1`.
#[derive(Debug, Clone)]
pub struct TestS3 {
    region: String,
    records: Vec<TestS3Record>,
}

impl Default for TestS3 {
    fn default() -> Self {
        Self::new()
    }
}

impl TestS3 {
    /// No records yet.
    pub fn new() -> Self {
        TestS3 {
            region: defaults::REGION.to_owned(),
            records: Vec::new(),
        }
    }

    /// The buckets' region (`awsRegion`).
    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_owned();
        self
    }

    /// Add a record.
    pub fn record(mut self, record: TestS3Record) -> Self {
        self.records.push(record);
        self
    }

    /// The event's JSON bytes, for [`invoke`](super::invoke).
    pub fn event(&self) -> Vec<u8> {
        let records: Vec<Value> = self.records.iter().map(|r| r.record(self)).collect();
        defaults::bytes(json!({ "Records": records }))
    }
}

/// One S3 notification record.
///
/// The key is given as stored (`reports/2024 Q1/a.csv`) and written URL-encoded, as S3 sends
/// it (`reports/2024+Q1/a.csv`). Defaults: `eventVersion` `2.1`, `eventTime`
/// `2024-05-01T12:00:00.000Z`, and the request ids, principals and sequencer of the S3
/// developer guide's example; [`put`](Self::put) stores an empty object (size 0 and the MD5 of
/// nothing as its ETag) until [`content`](Self::content) or [`size`](Self::size) and
/// [`etag`](Self::etag) say otherwise.
#[derive(Debug, Clone)]
pub struct TestS3Record {
    event_name: String,
    bucket: String,
    key: String,
    size: Option<u64>,
    etag: Option<String>,
    version_id: Option<String>,
    sequencer: String,
    event_time: String,
    event_version: String,
    principal_id: String,
    owner_id: String,
    source_ip: String,
    request_id: String,
    host_id: String,
    configuration_id: String,
}

impl TestS3Record {
    /// A record of event `event_name` (`ObjectCreated:Copy`, `ObjectRestore:Completed`...) for
    /// `key` in `bucket`; it has no size or ETag until they are set.
    pub fn new(event_name: &str, bucket: &str, key: &str) -> Self {
        TestS3Record {
            event_name: event_name.to_owned(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size: None,
            etag: None,
            version_id: None,
            sequencer: "0055AED6DCD90281E5".to_owned(),
            event_time: defaults::TIME_MS.to_owned(),
            event_version: "2.1".to_owned(),
            principal_id: "AWS:AIDAINPONIXQXHT3IKHL2".to_owned(),
            owner_id: "A3I5XTEXAMAI3E".to_owned(),
            source_ip: defaults::SOURCE_IP.to_owned(),
            request_id: "C3D13FE58DE4C810".to_owned(),
            host_id: "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD".to_owned(),
            configuration_id: "testConfigRule".to_owned(),
        }
    }

    /// `ObjectCreated:Put` of `key` into `bucket`.
    pub fn put(bucket: &str, key: &str) -> Self {
        Self::new("ObjectCreated:Put", bucket, key).content(b"")
    }

    /// `ObjectRemoved:Delete` of `key` from `bucket` (no size or ETag, as S3 sends it).
    pub fn delete(bucket: &str, key: &str) -> Self {
        Self::new("ObjectRemoved:Delete", bucket, key)
    }

    /// The object's content: sets `size` and `eTag` (the MD5 of the content, as for a
    /// single-part upload).
    pub fn content(mut self, content: &[u8]) -> Self {
        self.size = Some(content.len() as u64);
        self.etag = Some(defaults::md5_hex(content));
        self
    }

    /// `size`, in bytes.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// `eTag`.
    pub fn etag(mut self, etag: &str) -> Self {
        self.etag = Some(etag.to_owned());
        self
    }

    /// `versionId`, on a versioned bucket.
    pub fn version_id(mut self, version: &str) -> Self {
        self.version_id = Some(version.to_owned());
        self
    }

    /// `sequencer`: orders the events of one key.
    pub fn sequencer(mut self, sequencer: &str) -> Self {
        self.sequencer = sequencer.to_owned();
        self
    }

    /// `eventTime` (RFC 3339, with milliseconds as S3 writes it).
    pub fn event_time(mut self, time: &str) -> Self {
        self.event_time = time.to_owned();
        self
    }

    /// `eventVersion` (`2.1` for most events; `2.0`, `2.2` and `2.3` occur).
    pub fn event_version(mut self, version: &str) -> Self {
        self.event_version = version.to_owned();
        self
    }

    /// `userIdentity.principalId`: who made the request.
    pub fn principal_id(mut self, principal: &str) -> Self {
        self.principal_id = principal.to_owned();
        self
    }

    /// `s3.bucket.ownerIdentity.principalId`: the bucket owner.
    pub fn owner_id(mut self, owner: &str) -> Self {
        self.owner_id = owner.to_owned();
        self
    }

    /// `requestParameters.sourceIPAddress`.
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.to_owned();
        self
    }

    /// `responseElements.x-amz-request-id`.
    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = id.to_owned();
        self
    }

    /// `responseElements.x-amz-id-2`: the S3 host that served the request.
    pub fn host_id(mut self, id: &str) -> Self {
        self.host_id = id.to_owned();
        self
    }

    /// `s3.configurationId`: the bucket notification's id.
    pub fn configuration_id(mut self, id: &str) -> Self {
        self.configuration_id = id.to_owned();
        self
    }

    fn record(&self, batch: &TestS3) -> Value {
        let mut object = Map::new();
        object.insert("key".into(), json!(encode_key(&self.key)));
        if let Some(size) = self.size {
            object.insert("size".into(), json!(size));
        }
        if let Some(etag) = &self.etag {
            object.insert("eTag".into(), json!(etag));
        }
        if let Some(version) = &self.version_id {
            object.insert("versionId".into(), json!(version));
        }
        object.insert("sequencer".into(), json!(self.sequencer));
        json!({
            "eventVersion": self.event_version,
            "eventSource": "aws:s3",
            "awsRegion": batch.region,
            "eventTime": self.event_time,
            "eventName": self.event_name,
            "userIdentity": { "principalId": self.principal_id },
            "requestParameters": { "sourceIPAddress": self.source_ip },
            "responseElements": {
                "x-amz-request-id": self.request_id,
                "x-amz-id-2": self.host_id,
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": self.configuration_id,
                "bucket": {
                    "name": self.bucket,
                    "ownerIdentity": { "principalId": self.owner_id },
                    "arn": format!("arn:aws:s3:::{}", self.bucket),
                },
                "object": object,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_form_encoded_with_slashes_kept() {
        assert_eq!(
            encode_key("reports/2024 Q1/summary+final (v2) é.csv"),
            "reports/2024+Q1/summary%2Bfinal+%28v2%29+%C3%A9.csv"
        );
        assert_eq!(encode_key("a=b:c*d~e"), "a%3Db%3Ac*d%7Ee");
    }
}
