//! [`LambdaContext`]: what the Lambda runtime says about one invocation, as the corridor reads
//! it from the Runtime API (or makes it up locally), shared by the telemetry, the context and
//! the corridor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The function's static configuration (name, memory, version, log group and stream), as the
/// Lambda runtime reads it from the environment at start.
pub type FunctionConfig = lambda_runtime::Config;

/// What the Lambda runtime says about one invocation.
#[derive(Debug, Clone)]
pub struct LambdaContext {
    /// The Lambda request id (`aws_request_id`).
    pub request_id: String,
    /// When the invocation times out, in milliseconds since the Unix epoch.
    pub deadline_ms: u64,
    /// The ARN the function was invoked with (may carry a version or alias).
    pub invoked_function_arn: String,
    /// The X-Ray trace header of this invocation (`Root=...;Parent=...;Sampled=...`).
    pub xray_trace_id: Option<String>,
    /// Lambda's tenant id, for functions with tenant isolation mode.
    pub tenant_id: Option<String>,
    /// The function's configuration.
    pub function: Arc<FunctionConfig>,
}

impl LambdaContext {
    /// When the invocation times out.
    pub fn deadline(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.deadline_ms)
    }

    /// Time left before the invocation times out (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline()
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }

    /// A context for running outside Lambda (dev server, tests): the given request id, a
    /// deadline `timeout` from now, and the function name `local`.
    pub fn local(request_id: impl Into<String>, timeout: Duration) -> Self {
        let deadline = SystemTime::now() + timeout;
        LambdaContext {
            request_id: request_id.into(),
            deadline_ms: deadline
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:local".into(),
            xray_trace_id: None,
            tenant_id: None,
            function: local_config(),
        }
    }
}

fn local_config() -> Arc<FunctionConfig> {
    static LOCAL: OnceLock<Arc<FunctionConfig>> = OnceLock::new();
    LOCAL
        .get_or_init(|| {
            Arc::new(FunctionConfig {
                function_name: "local".into(),
                memory: 128,
                version: "$LATEST".into(),
                log_stream: String::new(),
                log_group: String::new(),
            })
        })
        .clone()
}

/// The longest Lambda timeout, 15 minutes, in milliseconds. Lambda always sends the deadline
/// as an epoch time in the future; some local emulators (`cargo lambda watch` sends `600000`)
/// send the function's timeout instead. A value no longer than this is plainly such a duration,
/// and is read as one so that deadline-based middleware works locally; anything else is taken
/// as the epoch time it claims to be (one in 1970 is simply past).
const MAX_TIMEOUT_MS: u64 = 15 * 60 * 1000;

/// The first deadline read as a duration, for its one warning: 0 until one is, that deadline
/// plus one until the warning is taken, [`WARNED`] after.
static DURATION_DEADLINE: AtomicU64 = AtomicU64::new(0);
const WARNED: u64 = u64::MAX;

fn deadline_ms(sent: u64) -> u64 {
    if sent > MAX_TIMEOUT_MS {
        return sent;
    }
    // Only the first one is kept (a zero deadline is kept as 1).
    let _ = DURATION_DEADLINE.compare_exchange(0, sent + 1, Ordering::Relaxed, Ordering::Relaxed);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    now.saturating_add(sent)
}

/// The deadline, in milliseconds, that was read as a duration, the first time one was: for
/// the one warning the corridor logs inside that invocation. `None` ever after.
pub(crate) fn duration_deadline_warning() -> Option<u64> {
    let seen = DURATION_DEADLINE.load(Ordering::Relaxed);
    if seen == 0 || seen == WARNED {
        return None;
    }
    DURATION_DEADLINE
        .compare_exchange(seen, WARNED, Ordering::Relaxed, Ordering::Relaxed)
        .ok()
        .map(|_| seen - 1)
}

impl From<lambda_runtime::Context> for LambdaContext {
    fn from(c: lambda_runtime::Context) -> Self {
        LambdaContext {
            request_id: c.request_id,
            deadline_ms: deadline_ms(c.deadline),
            invoked_function_arn: c.invoked_function_arn,
            xray_trace_id: c.xray_trace_id,
            tenant_id: c.tenant_id,
            function: c.env_config,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_durations_become_deadlines_and_epoch_times_stay() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = deadline_ms(600_000);
        assert!(d >= now + 600_000 && d < now + 700_000, "{d}");
        assert_eq!(deadline_ms(1_795_990_557_762), 1_795_990_557_762);
        // Not plainly a duration (over 15 minutes): an epoch time, long past.
        assert_eq!(deadline_ms(900_001), 900_001);
        assert!(deadline_ms(0) >= now);
    }
}
