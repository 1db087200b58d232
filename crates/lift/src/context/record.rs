//! [`Record`]: which record of a batch a context is for.

use std::sync::Arc;

/// One record of a batch (SQS, SNS, S3, DynamoDB, Kinesis): its position and its id. Cheap to
/// clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub(crate) index: usize,
    pub(crate) id: Arc<str>,
}

impl Record {
    /// Its position in the batch, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Its id (SQS/SNS message id, Kinesis/DynamoDB event id, `s3://bucket/key`), as log lines
    /// carry it in `record_id`.
    pub fn id(&self) -> &str {
        &self.id
    }
}
