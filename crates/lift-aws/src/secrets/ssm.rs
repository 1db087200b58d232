//! [`Ssm`]: SSM Parameter Store's `GetParameter` as a [`SecretProvider`].

use aws_config::SdkConfig;
use aws_sdk_ssm::Client;
use lift::security::secrets::{
    Secret, SecretError, SecretErrorKind, SecretFuture, SecretProvider, SecretValue, Secrets,
};

use super::error::{from_sdk, FailedCall};

/// Reads parameters from AWS Systems Manager Parameter Store with `GetParameter` and
/// `WithDecryption = true`, so a `SecureString` arrives decrypted. Every parameter type is
/// [`SecretValue::Text`] (a `StringList` is its comma-separated text); the version number is
/// the [`version`](Secret::version), and there are no stages.
///
/// SSM has no version stages: [`Secrets::get_stage`] fails with
/// [`Invalid`](SecretErrorKind::Invalid). Select a version or a label in the name instead, as
/// `GetParameter` supports: `/app/db-password:3`, `/app/db-password:prod`.
///
/// Errors: `ParameterNotFound` and `ParameterVersionNotFound` →
/// [`NotFound`](SecretErrorKind::NotFound), `AccessDeniedException` and credential errors →
/// [`AccessDenied`](SecretErrorKind::AccessDenied), throttling, server errors, timeouts and
/// network failures → [`Unavailable`](SecretErrorKind::Unavailable), anything else (including
/// `InvalidKeyId`) → [`Invalid`](SecretErrorKind::Invalid).
///
/// Needs `ssm:GetParameter` on the parameter, and `kms:Decrypt` on its key for a
/// `SecureString` encrypted with a customer managed key.
#[derive(Debug, Clone)]
pub struct Ssm {
    client: Client,
}

impl Ssm {
    /// A provider with a client made from `config` (region, credentials, endpoint, retries),
    /// and an operation timeout (see the [module docs](super)) unless `config` sets one.
    pub fn new(config: &SdkConfig) -> Self {
        let config = aws_sdk_ssm::config::Builder::from(config)
            .timeout_config(super::timeouts(config))
            .build();
        Self::from_client(Client::from_conf(config))
    }

    /// A provider over an existing client.
    pub fn from_client(client: Client) -> Self {
        Ssm { client }
    }

    /// The client, for calls the provider does not make.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn get(&self, name: &str, stage: Option<&str>) -> Result<Secret, SecretError> {
        if stage.is_some() {
            return Err(SecretError::new(
                SecretErrorKind::Invalid,
                "SSM parameters have no version stages",
            ));
        }
        let call = FailedCall {
            operation: "GetParameter",
            name,
            codes: service_codes,
        };
        let out = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| from_sdk(&call, &e))?;
        let Some(parameter) = out.parameter else {
            return Err(SecretError::new(
                SecretErrorKind::Invalid,
                format!("GetParameter for `{name}` returned no parameter"),
            ));
        };
        let version = parameter.version;
        let Some(value) = parameter.value else {
            return Err(SecretError::new(
                SecretErrorKind::Invalid,
                format!("GetParameter for `{name}` returned a parameter without a value"),
            ));
        };
        Ok(Secret::new(SecretValue::Text(value)).with_version(version.to_string()))
    }
}

fn service_codes(code: &str) -> Option<SecretErrorKind> {
    match code {
        "ParameterNotFound" | "ParameterVersionNotFound" => Some(SecretErrorKind::NotFound),
        "InternalServerError" => Some(SecretErrorKind::Unavailable),
        _ => None,
    }
}

impl SecretProvider for Ssm {
    fn store(&self) -> &'static str {
        "ssm"
    }

    fn fetch<'a>(&'a self, name: &'a str, stage: Option<&'a str>) -> SecretFuture<'a> {
        Box::pin(self.get(name, stage))
    }
}

/// A [`Secrets`] cache over SSM Parameter Store, with the cache's defaults (five-minute TTL);
/// adjust it with the [`Secrets`] builder methods.
pub fn ssm(config: &SdkConfig) -> Secrets {
    Secrets::new(Ssm::new(config))
}
