//! Lift's AWS-SDK-backed parts, kept out of the core `lift` crate so that builds which do not
//! call AWS APIs do not compile the SDK.
//!
//! Each service is a feature, off by default:
//!
//! - `secrets-manager`: [`secrets::SecretsManager`], secrets from AWS Secrets Manager;
//! - `ssm`: [`secrets::Ssm`], parameters from SSM Parameter Store;
//! - `cloudwatch-metrics`: [`metrics::CloudWatchMetricsExporter`], metrics through the
//!   PutMetricData API (`docs/cloudwatch-metrics.md`);
//! - `cloudwatch-logs`: `logs::CloudWatchLogsExporter`, log lines to CloudWatch Logs through
//!   PutLogEvents (`docs/cloudwatch-logs.md`);
//! - `xray`: `xray::XRayInterceptor`, AWS SDK calls made from handlers as X-Ray subsegments
//!   (`docs/tracing.md`).
//!
//! [`exporters::Exporters`] turns each exporter on (stdout, CloudWatch Logs, CloudWatch Metrics,
//! X-Ray, OpenTelemetry) from code or from the environment, with the features the build has.
//!
//! Both plug into [`lift::security::secrets::Secrets`], the cache that serves a secret for its
//! TTL, makes one fetch for concurrent calls, and serves the stale value when a refresh fails.
//! The SDK crates are re-exported ([`aws_config`], `aws_sdk_secretsmanager`, `aws_sdk_ssm`), so
//! the versions always match.
//!
//! ```no_run
//! # // Compiled only with both features, so `cargo test --doc` passes with any feature set.
//! # #[cfg(all(feature = "secrets-manager", feature = "ssm"))]
//! # mod example {
//! use lift::prelude::*;
//! use lift_aws::aws_config::{self, BehaviorVersion};
//! use lift_aws::secrets;
//!
//! #[derive(serde::Deserialize)]
//! struct Db {
//!     username: String,
//!     password: String,
//! }
//!
//! #[tokio::main]
//! pub async fn main() -> Result<(), lift::BoxError> {
//!     let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
//!     let secrets = secrets::secrets_manager(&config);
//!     let parameters = secrets::ssm(&config);
//!
//!     App::new()
//!         .get("/db-user", move |_ctx: Context| {
//!             let secrets = secrets.clone();
//!             async move {
//!                 // A `SecretError` becomes a 500 for the client, logged with its message.
//!                 let db: Db = secrets.json("prod/db").await?;
//!                 Ok::<_, Error>(db.username)
//!             }
//!         })
//!         .get("/greeting", move |_ctx: Context| {
//!             let parameters = parameters.clone();
//!             async move { parameters.text("/app/greeting").await }
//!         })
//!         .run()
//!         .await
//! }
//! # }
//! # fn main() {}
//! ```
#![deny(missing_docs)]

#[cfg(any(
    feature = "secrets-manager",
    feature = "ssm",
    feature = "cloudwatch-logs",
    feature = "cloudwatch-metrics"
))]
mod aws_error;
#[cfg(any(feature = "cloudwatch-logs", feature = "cloudwatch-metrics"))]
pub mod delivery;
pub mod exporters;
#[cfg(feature = "cloudwatch-logs")]
pub mod logs;
#[cfg(feature = "cloudwatch-metrics")]
pub mod metrics;
#[cfg(any(feature = "secrets-manager", feature = "ssm"))]
pub mod secrets;
#[cfg(feature = "xray")]
pub mod xray;

#[cfg(any(
    feature = "secrets-manager",
    feature = "ssm",
    feature = "cloudwatch-logs",
    feature = "cloudwatch-metrics",
    feature = "xray"
))]
pub use aws_config;
#[cfg(feature = "cloudwatch-metrics")]
pub use aws_sdk_cloudwatch;
#[cfg(feature = "cloudwatch-logs")]
pub use aws_sdk_cloudwatchlogs;
#[cfg(feature = "secrets-manager")]
pub use aws_sdk_secretsmanager;
#[cfg(feature = "ssm")]
pub use aws_sdk_ssm;

/// The CloudWatch Metrics guide, compiled as a doc test so its example stays true.
#[cfg(all(doctest, feature = "cloudwatch-metrics"))]
#[doc = include_str!("../../../docs/cloudwatch-metrics.md")]
struct CloudWatchMetricsGuide;

/// The CloudWatch Logs guide, compiled as a doc test so its example stays true.
#[cfg(all(doctest, feature = "cloudwatch-logs"))]
#[doc = include_str!("../../../docs/cloudwatch-logs.md")]
struct CloudWatchLogsGuide;

/// The secrets guide, compiled as a doc test so its example stays true.
#[cfg(all(doctest, feature = "secrets-manager", feature = "ssm"))]
#[doc = include_str!("../../../docs/secrets.md")]
struct SecretsGuide;
