//! Running a batch of records through the app — in order, concurrently, by FIFO group, or as a
//! stream — and writing the partial-failure response.
//!
//! Every record walks the whole app middleware chain with a `Context` of its own (sharing the
//! invocation's scope: one EMF document, the same request id), so `Recover` and `Timeout` act
//! per record and a failure stays with its record.

use std::collections::HashSet;

use futures_util::stream::{self, StreamExt};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::Serialize;

use super::{EventKind, Malformed, Parsed};
use crate::{BoxFuture, Error};

/// How the records of a batch are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// One after another, every record run.
    Sequential,
    /// Up to `n` at a time (standard SQS queues, when asked for).
    Concurrent(usize),
    /// One after another; after a failure, the rest of that message group is not run and is
    /// reported failed, so the queue redelivers the group in order (FIFO queues).
    FifoGroups,
    /// One after another; the first failure stops the batch: Lambda retries from that record's
    /// sequence number, so later records are not run (DynamoDB and Kinesis streams).
    Stream,
}

/// What became of one record.
#[derive(Debug)]
pub(crate) enum Fate {
    Done,
    Failed(Error),
    /// Not run because an earlier record of its FIFO group failed.
    SkippedGroup,
    /// Not run because an earlier record of the stream failed; Lambda retries it.
    SkippedStream,
}

/// A record's id for logs, its identifier for `batchItemFailures`, its FIFO group, and, for a
/// record whose shape did not parse, why.
#[derive(Debug, Clone)]
pub(crate) struct RecordIds {
    pub log_id: String,
    /// `None` only for a malformed record whose id could not be read.
    pub item: Option<String>,
    pub group: Option<String>,
    pub malformed: Option<String>,
}

pub(crate) fn ids(event: &Parsed<'_>) -> Vec<RecordIds> {
    fn each<T>(records: &[Result<T, Malformed>], ids: impl Fn(&T) -> RecordIds) -> Vec<RecordIds> {
        records
            .iter()
            .map(|r| match r {
                Ok(record) => ids(record),
                Err(m) => RecordIds {
                    log_id: m.log_id.clone(),
                    item: m.item.clone(),
                    group: m.group.clone(),
                    malformed: Some(m.error.clone()),
                },
            })
            .collect()
    }
    let ids = |log_id: &str, item: &str, group: Option<&str>| RecordIds {
        log_id: log_id.to_owned(),
        item: Some(item.to_owned()),
        group: group.map(str::to_owned),
        malformed: None,
    };
    match event {
        Parsed::Sqs(r) => each(r, |m| ids(&m.message_id, &m.message_id, m.group_id())),
        Parsed::Sns(r) => each(r, |n| ids(&n.sns.message_id, &n.sns.message_id, None)),
        Parsed::S3(r) => each(r, |o| {
            let id = format!("s3://{}/{}", &*o.s3.bucket.name, o.key());
            ids(&id, &id, None)
        }),
        Parsed::DynamoDb(r) => each(r, |d| ids(&d.event_id, &d.dynamodb.sequence_number, None)),
        Parsed::Kinesis(r) => each(r, |k| ids(&k.event_id, &k.kinesis.sequence_number, None)),
        _ => Vec::new(),
    }
}

/// Run every record with `run_one(index)` in the given order; the fates come back in record
/// order.
pub(crate) async fn run<F>(ids: &[RecordIds], order: Order, run_one: F) -> Vec<Fate>
where
    F: Fn(usize) -> BoxFuture<Result<(), Error>>,
{
    match order {
        Order::Concurrent(n) if n > 1 => {
            let mut fates: Vec<(usize, Fate)> = stream::iter(0..ids.len())
                .map(|i| {
                    let fut = run_one(i);
                    async move { (i, fate(fut.await)) }
                })
                .buffer_unordered(n)
                .collect()
                .await;
            fates.sort_by_key(|(i, _)| *i);
            fates.into_iter().map(|(_, f)| f).collect()
        }
        Order::Concurrent(_) | Order::Sequential => {
            let mut fates = Vec::with_capacity(ids.len());
            for i in 0..ids.len() {
                fates.push(fate(run_one(i).await));
            }
            fates
        }
        Order::FifoGroups => {
            let mut failed_groups: HashSet<&str> = HashSet::new();
            let mut fates = Vec::with_capacity(ids.len());
            for (i, id) in ids.iter().enumerate() {
                let group = id.group.as_deref().unwrap_or("");
                if failed_groups.contains(group) {
                    fates.push(Fate::SkippedGroup);
                    continue;
                }
                let f = fate(run_one(i).await);
                if matches!(f, Fate::Failed(_)) {
                    failed_groups.insert(group);
                }
                fates.push(f);
            }
            fates
        }
        Order::Stream => {
            let mut fates = Vec::with_capacity(ids.len());
            let mut failed = false;
            for i in 0..ids.len() {
                if failed {
                    fates.push(Fate::SkippedStream);
                    continue;
                }
                let f = fate(run_one(i).await);
                failed = matches!(f, Fate::Failed(_));
                fates.push(f);
            }
            fates
        }
    }
}

fn fate(r: Result<(), Error>) -> Fate {
    match r {
        Ok(()) => Fate::Done,
        Err(e) => Fate::Failed(e),
    }
}

/// At most this many record ids in an invocation error's message.
const IDS_IN_MESSAGE: usize = 5;

/// What a batch's fates mean for its invocation: the records to retry, and how many failed,
/// were not run, or cannot be named in a partial response.
pub(crate) struct BatchVerdict {
    pub(crate) retry: Vec<String>,
    pub(crate) failed: usize,
    pub(crate) skipped: u64,
    /// Records to retry whose identifier could not be read (malformed ones).
    pub(crate) unnamed: usize,
}

/// Sum up the fates; `on_failure` is told about each failed record (to log it).
pub(crate) fn verdict(
    ids: &[RecordIds],
    fates: Vec<Fate>,
    on_failure: impl Fn(usize, &RecordIds, &Error),
) -> BatchVerdict {
    let mut o = BatchVerdict {
        retry: Vec::new(),
        failed: 0,
        skipped: 0,
        unnamed: 0,
    };
    for (i, (id, fate)) in ids.iter().zip(fates).enumerate() {
        let retry = match fate {
            Fate::Done => false,
            Fate::Failed(e) => {
                o.failed += 1;
                on_failure(i, id, &e);
                true
            }
            Fate::SkippedGroup => {
                o.skipped += 1;
                true
            }
            // Lambda retries the stream from the failed record: nothing to report.
            Fate::SkippedStream => {
                o.skipped += 1;
                false
            }
        };
        if retry {
            match &id.item {
                Some(item) => o.retry.push(item.clone()),
                None => o.unnamed += 1,
            }
        }
    }
    o
}

impl BatchVerdict {
    /// The reply with partial batch responses on (`batchItemFailures`), or the invocation
    /// error without them when a record is to be retried. A record to retry that cannot be
    /// named fails the invocation either way, so the whole batch comes back.
    ///
    /// The error's message is bounded: the counts and at most a few ids, and never an S3
    /// record's id (it holds the object key).
    pub(crate) fn reply(
        self,
        kind: EventKind,
        total: usize,
        partial: bool,
    ) -> Result<super::Reply, crate::wire::InvokeError> {
        if partial && self.unnamed == 0 {
            return Ok(super::Reply::Batch(BatchResponse {
                failures: self.retry,
            }));
        }
        if self.retry.is_empty() && self.unnamed == 0 {
            return Ok(super::Reply::Empty);
        }
        let mut message = format!(
            "{} of {total} {kind} records failed ({} not run",
            self.failed, self.skipped
        );
        if self.unnamed > 0 {
            message.push_str(&format!(
                ", {} without a readable id: the batch is retried whole",
                self.unnamed
            ));
        }
        message.push(')');
        if kind != EventKind::S3 && !self.retry.is_empty() {
            message.push_str(": ");
            message.push_str(&self.retry[..self.retry.len().min(IDS_IN_MESSAGE)].join(", "));
            if self.retry.len() > IDS_IN_MESSAGE {
                message.push_str(&format!(" and {} more", self.retry.len() - IDS_IN_MESSAGE));
            }
        }
        Err(crate::wire::InvokeError {
            error_type: "Lift.BatchFailed",
            message,
        })
    }
}

/// `{"batchItemFailures":[{"itemIdentifier":"..."}]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchResponse {
    /// The identifiers (message ids or sequence numbers) of the records to retry.
    pub failures: Vec<String>,
}

impl Serialize for BatchResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Items<'a>(&'a [String]);
        impl Serialize for Items<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for id in self.0 {
                    let mut one = std::collections::BTreeMap::new();
                    one.insert("itemIdentifier", id);
                    seq.serialize_element(&one)?;
                }
                seq.end()
            }
        }
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("batchItemFailures", &Items(&self.failures))?;
        map.end()
    }
}
