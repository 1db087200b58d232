//! The SDK calls: PutLogEvents, and creating the group (with its retention) and the stream
//! when the service says they are missing. Errors are read by their code, because the Rust SDK
//! does not model throttling for these operations.

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_cloudwatchlogs::Client;

use lift::observability::ExportCounters;

use super::batch::{Batch, Rejected};
use crate::aws_error::{DENIED, THROTTLING};
use crate::delivery::{before, with_retries, Retry, RetryPolicy};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The group or the stream does not exist.
    NotFound(String),
    /// The group or stream exists already (when creating it).
    Exists,
    /// The service could not be reached or did not take the call (throttling, 5xx, timeout,
    /// network, credentials): the lines fall back to stdout.
    Unavailable(String),
    /// The request itself is wrong (`InvalidParameterException`, …): the lines are dropped.
    Invalid(String),
}

fn classify<E>(operation: &str, target: &str, err: &SdkError<E>) -> (Retry, Failure)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or("no error code");
            let said = service.err().message().unwrap_or("no message");
            let message = format!("{operation} for `{target}`: {said} ({code}, HTTP {status})");
            match code {
                "ResourceNotFoundException" => (Retry::No, Failure::NotFound(message)),
                "ResourceAlreadyExistsException" => (Retry::No, Failure::Exists),
                c if THROTTLING.contains(&c) => (Retry::Yes, Failure::Unavailable(message)),
                _ if status == 429 || status >= 500 => (Retry::Yes, Failure::Unavailable(message)),
                c if DENIED.contains(&c) || status == 401 || status == 403 => {
                    (Retry::No, Failure::Unavailable(message))
                }
                _ => (Retry::No, Failure::Invalid(message)),
            }
        }
        SdkError::ConstructionFailure(_) => (
            Retry::No,
            Failure::Invalid(format!(
                "{operation} for `{target}` could not be built: {}",
                DisplayErrorContext(err)
            )),
        ),
        SdkError::DispatchFailure(f) if f.is_user() => (
            Retry::No,
            Failure::Invalid(format!(
                "{operation} for `{target}` could not be sent: {}",
                DisplayErrorContext(err)
            )),
        ),
        // Timeouts, the network, a response that could not be read, and variants added later.
        _ => (
            Retry::Yes,
            Failure::Unavailable(format!(
                "{operation} for `{target}` got no usable response: {}",
                DisplayErrorContext(err)
            )),
        ),
    }
}

/// `call` bounded by `deadline`: past it, the call is abandoned as unavailable (no retry, there
/// is no time left for one).
async fn bounded<T, E, F>(
    operation: &str,
    target: &str,
    deadline: Instant,
    call: F,
) -> Result<T, (Retry, Failure)>
where
    F: std::future::Future<Output = Result<T, SdkError<E>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match before(deadline, call).await {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(classify(operation, target, &e)),
        None => Err((
            Retry::No,
            Failure::Unavailable(format!(
                "{operation} for `{target}` did not answer before the flush deadline"
            )),
        )),
    }
}

/// The client and the policy the calls share.
pub(crate) struct Sender<'a> {
    pub(crate) client: &'a Client,
    pub(crate) policy: &'a RetryPolicy,
    pub(crate) retries: &'a AtomicU64,
    pub(crate) retention_days: Option<i32>,
    pub(crate) counters: &'a ExportCounters,
    pub(crate) deadline: Instant,
}

impl Sender<'_> {
    /// Send `batch` to `group`/`stream`, creating them once when the service says one is
    /// missing. Returns what the service rejected.
    pub(crate) async fn put(
        &self,
        group: &str,
        stream: &str,
        batch: &Batch,
    ) -> Result<Rejected, Failure> {
        let events = batch
            .events
            .iter()
            .map(|e| {
                InputLogEvent::builder()
                    .timestamp(e.timestamp_ms)
                    .message(e.message.clone())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::Invalid(format!("a log event could not be built: {e}")))?;
        let target = format!("{group}:{stream}");
        let mut created = false;
        loop {
            let result = with_retries(self.policy, self.deadline, self.retries, || {
                let call = self
                    .client
                    .put_log_events()
                    .log_group_name(group)
                    .log_stream_name(stream)
                    .set_log_events(Some(events.clone()))
                    .send();
                bounded("PutLogEvents", &target, self.deadline, call)
            })
            .await;
            match result {
                Ok(out) => {
                    let info = out.rejected_log_events_info();
                    return Ok(Rejected {
                        too_new_start: info.and_then(|i| i.too_new_log_event_start_index()),
                        too_old_end: info.and_then(|i| i.too_old_log_event_end_index()),
                        expired_end: info.and_then(|i| i.expired_log_event_end_index()),
                    });
                }
                Err(Failure::NotFound(_)) if !created => {
                    self.create(group, stream).await?;
                    created = true;
                }
                Err(Failure::NotFound(message)) => return Err(Failure::Unavailable(message)),
                Err(other) => return Err(other),
            }
        }
    }

    /// Create the group (setting its retention when this call created it) and the stream;
    /// either existing already is success.
    async fn create(&self, group: &str, stream: &str) -> Result<(), Failure> {
        let created_group = with_retries(self.policy, self.deadline, self.retries, || {
            let call = self.client.create_log_group().log_group_name(group).send();
            bounded("CreateLogGroup", group, self.deadline, call)
        })
        .await;
        let new_group = match created_group {
            Ok(_) => true,
            Err(Failure::Exists) => false,
            Err(other) => return Err(other),
        };
        if let (true, Some(days)) = (new_group, self.retention_days) {
            with_retries(self.policy, self.deadline, self.retries, || {
                let call = self
                    .client
                    .put_retention_policy()
                    .log_group_name(group)
                    .retention_in_days(days)
                    .send();
                bounded("PutRetentionPolicy", group, self.deadline, call)
            })
            .await
            // The lines are not at fault: the group keeps the default retention, and the error
            // shows in the stats.
            .map_err(|f| match f {
                Failure::NotFound(m) | Failure::Unavailable(m) | Failure::Invalid(m) => {
                    self.counters.error(m)
                }
                Failure::Exists => {}
            })
            .ok();
        }
        let target = format!("{group}:{stream}");
        let created_stream = with_retries(self.policy, self.deadline, self.retries, || {
            let call = self
                .client
                .create_log_stream()
                .log_group_name(group)
                .log_stream_name(stream)
                .send();
            bounded("CreateLogStream", &target, self.deadline, call)
        })
        .await;
        match created_stream {
            Ok(_) | Err(Failure::Exists) => Ok(()),
            Err(other) => Err(other),
        }
    }
}
