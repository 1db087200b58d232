//! Secrets from AWS Secrets Manager and SSM Parameter Store, for Lift's secrets cache.
//!
//! [`SecretsManager`] and [`Ssm`] implement [`lift::security::secrets::SecretProvider`] over the
//! official SDK clients; [`secrets_manager`] and [`ssm`] wrap one in a
//! [`Secrets`](lift::security::secrets::Secrets) cache (TTL, one fetch for concurrent calls,
//! the stale value served when a refresh fails). Make the cache once, at start-up, and clone it
//! into handlers.
//!
//! | feature | provider | API call | IAM permission |
//! |---|---|---|---|
//! | `secrets-manager` | [`SecretsManager`] | `GetSecretValue` | `secretsmanager:GetSecretValue` |
//! | `ssm` | [`Ssm`] | `GetParameter` (`WithDecryption`) | `ssm:GetParameter` |
//!
//! A secret or `SecureString` encrypted with a customer managed KMS key also needs
//! `kms:Decrypt` on that key. The guide is `docs/secrets.md`.
//!
//! The providers' clients end a call that has not finished within the cache's fetch timeout
//! ([`DEFAULT_FETCH_TIMEOUT`], two seconds, retries included) unless the `SdkConfig` sets an
//! operation timeout of its own, so a hung endpoint never holds a request until the Lambda
//! deadline; the cache then serves the value it holds.

mod error;
#[cfg(feature = "secrets-manager")]
mod secrets_manager;
#[cfg(feature = "ssm")]
mod ssm;

#[cfg(feature = "secrets-manager")]
pub use secrets_manager::{secrets_manager, SecretsManager};

use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use lift::security::secrets::DEFAULT_FETCH_TIMEOUT;
use std::time::Duration;

/// The timeouts of a secrets client made from `config`: its own where it sets them, else an
/// operation timeout equal to the cache's fetch timeout and a connect timeout of one second.
pub(crate) fn timeouts(config: &SdkConfig) -> TimeoutConfig {
    let ours = TimeoutConfig::builder()
        .operation_timeout(DEFAULT_FETCH_TIMEOUT)
        .connect_timeout(Duration::from_secs(1))
        .build();
    match config.timeout_config() {
        Some(theirs) => {
            let mut merged = theirs.clone();
            merged.take_defaults_from(&ours);
            merged
        }
        None => ours,
    }
}
#[cfg(feature = "ssm")]
pub use ssm::{ssm, Ssm};
