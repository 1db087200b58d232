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

mod error;
#[cfg(feature = "secrets-manager")]
mod secrets_manager;
#[cfg(feature = "ssm")]
mod ssm;

#[cfg(feature = "secrets-manager")]
pub use secrets_manager::{secrets_manager, SecretsManager};
#[cfg(feature = "ssm")]
pub use ssm::{ssm, Ssm};
