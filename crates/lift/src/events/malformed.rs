//! A record of a batch whose shape did not parse: it fails alone, under the id it carries when
//! that id can still be read.
//!
//! The rest of the batch is parsed and run as usual. The malformed record's own handler call
//! is never made; its failure is logged with the parser's message (which key, which type, where),
//! and it is reported in `batchItemFailures` by its message id or sequence number. A record
//! whose id cannot be read either cannot be reported alone: the invocation then fails, so that
//! Lambda retries the batch rather than lose the record.

use serde_json::value::RawValue;
use serde_json::Value;

use super::EventKind;

/// What could be read of a record that did not parse.
#[derive(Debug, Clone)]
pub(crate) struct Malformed {
    /// The id logs name it by: its own id, or its position when that cannot be read.
    pub log_id: String,
    /// Its identifier for `batchItemFailures` (message id or sequence number), if readable.
    pub item: Option<String>,
    /// Its FIFO message group, if readable.
    pub group: Option<String>,
    /// Why it did not parse: the parser's message, with its line and column in the record.
    pub error: String,
}

impl Malformed {
    /// Read what can be read of record `index` of a `kind` batch, which failed with `e`.
    pub(crate) fn read(
        kind: EventKind,
        index: usize,
        raw: &RawValue,
        e: &serde_json::Error,
    ) -> Self {
        // The record is valid JSON (the envelope took it as a raw value); only its shape is
        // wrong, so a generic parse succeeds and the ids are looked for where AWS puts them.
        let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        let text = |path: &[&str]| -> Option<String> {
            let mut v = &value;
            for key in path {
                v = v.get(key)?;
            }
            v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
        };
        let (log_id, item, group) = match kind {
            EventKind::Sqs => {
                let id = text(&["messageId"]);
                (id.clone(), id, text(&["attributes", "MessageGroupId"]))
            }
            EventKind::Sns => {
                let id = text(&["Sns", "MessageId"]);
                (id.clone(), id, None)
            }
            EventKind::DynamoDb => (
                text(&["eventID"]),
                text(&["dynamodb", "SequenceNumber"]),
                None,
            ),
            EventKind::Kinesis => (
                text(&["eventID"]),
                text(&["kinesis", "sequenceNumber"]),
                None,
            ),
            // S3 batches have no partial response, and their keys are not ids.
            _ => (None, None, None),
        };
        Malformed {
            log_id: log_id
                .or_else(|| item.clone())
                .unwrap_or_else(|| format!("record {index}")),
            item,
            group,
            error: format!("record {index} does not have the shape of {kind} records: {e}"),
        }
    }
}

/// Parse each raw record of a `kind` batch into its source's record type; a record that does
/// not parse is kept as [`Malformed`], in its place.
pub(crate) fn records<'a, T: serde::Deserialize<'a>>(
    kind: EventKind,
    raw: Option<Vec<&'a RawValue>>,
) -> Vec<Result<T, Malformed>> {
    raw.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, r)| serde_json::from_str(r.get()).map_err(|e| Malformed::read(kind, i, r, &e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::kinesis::KinesisWire;
    use crate::events::sqs::SqsWire;

    fn batch(records: &str) -> Vec<&RawValue> {
        serde_json::from_str(records).unwrap()
    }

    #[test]
    fn a_malformed_record_keeps_its_place_and_its_id() {
        let raw = batch(
            r#"[{"messageId":"m1","body":"a"},
                {"messageId":"m2","body":7,"attributes":{"MessageGroupId":"g"}},
                {"body":"no id"}]"#,
        );
        let parsed: Vec<Result<SqsWire<'_>, Malformed>> = records(EventKind::Sqs, Some(raw));
        assert_eq!(parsed.len(), 3);
        assert_eq!(&*parsed[0].as_ref().unwrap().message_id, "m1");

        let bad = parsed[1].as_ref().unwrap_err();
        assert_eq!(bad.log_id, "m2");
        assert_eq!(bad.item.as_deref(), Some("m2"));
        assert_eq!(bad.group.as_deref(), Some("g"));
        assert_eq!(
            bad.error,
            "record 1 does not have the shape of sqs records: \
             invalid type: integer `7`, expected a string at line 1 column 26"
        );

        let anonymous = parsed[2].as_ref().unwrap_err();
        assert_eq!(anonymous.log_id, "record 2");
        assert_eq!(anonymous.item, None);
        assert_eq!(
            anonymous.error,
            "record 2 does not have the shape of sqs records: \
             missing field `messageId` at line 1 column 16"
        );
    }

    #[test]
    fn stream_records_are_reported_by_sequence_number() {
        let raw = batch(r#"[{"eventID":"e1","kinesis":{"sequenceNumber":"49590","data":5}}]"#);
        let parsed: Vec<Result<KinesisWire<'_>, Malformed>> =
            records(EventKind::Kinesis, Some(raw));
        let bad = parsed[0].as_ref().unwrap_err();
        assert_eq!(
            (bad.log_id.as_str(), bad.item.as_deref()),
            ("e1", Some("49590"))
        );
    }
}
