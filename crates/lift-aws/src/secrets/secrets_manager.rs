//! [`SecretsManager`]: AWS Secrets Manager's `GetSecretValue` as a [`SecretProvider`].

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use lift::security::secrets::{
    Secret, SecretError, SecretErrorKind, SecretFuture, SecretProvider, SecretValue, Secrets,
};

use super::error::{from_sdk, FailedCall};

/// Reads secrets from AWS Secrets Manager with `GetSecretValue`: `SecretId` is the name (a
/// secret's name or ARN), `VersionStage` the stage when one is asked for (`AWSCURRENT` when
/// not). `SecretString` becomes [`SecretValue::Text`], `SecretBinary` [`SecretValue::Binary`];
/// the version id and stages are kept.
///
/// Errors: `ResourceNotFoundException` → [`NotFound`](SecretErrorKind::NotFound),
/// `AccessDeniedException`, credential errors and `DecryptionFailure` (the KMS key would not
/// decrypt for this role) → [`AccessDenied`](SecretErrorKind::AccessDenied), throttling, server
/// errors, timeouts and network failures → [`Unavailable`](SecretErrorKind::Unavailable),
/// anything else → [`Invalid`](SecretErrorKind::Invalid).
///
/// Needs `secretsmanager:GetSecretValue` on the secret, and `kms:Decrypt` on its key when that
/// is a customer managed key.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    /// A provider with a client made from `config` (region, credentials, endpoint, retries),
    /// and an operation timeout (see the [module docs](super)) unless `config` sets one.
    pub fn new(config: &SdkConfig) -> Self {
        let config = aws_sdk_secretsmanager::config::Builder::from(config)
            .timeout_config(super::timeouts(config))
            .build();
        Self::from_client(Client::from_conf(config))
    }

    /// A provider over an existing client.
    pub fn from_client(client: Client) -> Self {
        SecretsManager { client }
    }

    /// The client, for calls the provider does not make.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn get(&self, name: &str, stage: Option<&str>) -> Result<Secret, SecretError> {
        let call = FailedCall {
            operation: "GetSecretValue",
            name,
            codes: service_codes,
        };
        let out = self
            .client
            .get_secret_value()
            .secret_id(name)
            .set_version_stage(stage.map(str::to_owned))
            .send()
            .await
            .map_err(|e| from_sdk(&call, &e))?;
        let value = match (out.secret_string, out.secret_binary) {
            (Some(text), _) => SecretValue::Text(text),
            (None, Some(blob)) => SecretValue::Binary(blob.into_inner()),
            (None, None) => {
                return Err(SecretError::new(
                    SecretErrorKind::Invalid,
                    format!(
                        "GetSecretValue for `{name}` returned neither SecretString nor \
                         SecretBinary"
                    ),
                ))
            }
        };
        let secret = Secret::new(value).with_stages(out.version_stages.unwrap_or_default());
        Ok(match out.version_id {
            Some(id) => secret.with_version(id),
            None => secret,
        })
    }
}

fn service_codes(code: &str) -> Option<SecretErrorKind> {
    match code {
        "ResourceNotFoundException" => Some(SecretErrorKind::NotFound),
        "DecryptionFailure" => Some(SecretErrorKind::AccessDenied),
        "InternalServiceError" => Some(SecretErrorKind::Unavailable),
        _ => None,
    }
}

impl SecretProvider for SecretsManager {
    fn store(&self) -> &'static str {
        "secretsmanager"
    }

    fn fetch<'a>(&'a self, name: &'a str, stage: Option<&'a str>) -> SecretFuture<'a> {
        Box::pin(self.get(name, stage))
    }
}

/// A [`Secrets`] cache over AWS Secrets Manager, with the cache's defaults (five-minute TTL);
/// adjust it with the [`Secrets`] builder methods.
pub fn secrets_manager(config: &SdkConfig) -> Secrets {
    Secrets::new(SecretsManager::new(config))
}
