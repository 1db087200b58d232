//! From the SDK's errors to [`SecretError`]: one mapping for both services, which share the
//! SDK's error types (`aws-smithy-runtime-api`'s `SdkError`, re-exported by each client crate).

use lift::security::secrets::{SecretError, SecretErrorKind};

use crate::aws_error::{DENIED, THROTTLING};

#[cfg(feature = "secrets-manager")]
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
#[cfg(all(feature = "ssm", not(feature = "secrets-manager")))]
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The call that failed, for the message: `GetSecretValue for `prod/db``.
pub(crate) struct FailedCall<'a> {
    pub(crate) operation: &'static str,
    pub(crate) name: &'a str,
    /// The service's own codes, checked first: `ResourceNotFoundException` → `NotFound`, ...
    pub(crate) codes: fn(&str) -> Option<SecretErrorKind>,
}

/// Maps an SDK error. Messages hold the operation, the name, and what the service or the
/// transport said; never a response body, which for a successful call holds the value.
pub(crate) fn from_sdk<E>(call: &FailedCall<'_>, err: &SdkError<E>) -> SecretError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let FailedCall {
        operation, name, ..
    } = call;
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code();
            let kind = kind_of(call, code, status);
            let said = service.err().message().unwrap_or("no message");
            let code = code.unwrap_or("no error code");
            SecretError::new(
                kind,
                format!("{operation} for `{name}`: {said} ({code}, HTTP {status})"),
            )
        }
        SdkError::TimeoutError(_) => SecretError::new(
            SecretErrorKind::Unavailable,
            format!(
                "{operation} for `{name}` timed out: {}",
                DisplayErrorContext(err)
            ),
        ),
        SdkError::DispatchFailure(failure) => {
            // No response came back: the network, a timeout, or the credentials chain
            // (which fails at this stage too). Only a malformed request is the caller's fault.
            let kind = if failure.is_user() {
                SecretErrorKind::Invalid
            } else {
                SecretErrorKind::Unavailable
            };
            SecretError::new(
                kind,
                format!(
                    "{operation} for `{name}` got no response: {}",
                    DisplayErrorContext(err)
                ),
            )
        }
        SdkError::ResponseError(response) => {
            // The parse error could quote the body; the status is enough to tell what happened.
            let status = response.raw().status().as_u16();
            SecretError::new(
                SecretErrorKind::Unavailable,
                format!("{operation} for `{name}`: the response (HTTP {status}) could not be read"),
            )
        }
        SdkError::ConstructionFailure(_) => SecretError::new(
            SecretErrorKind::Invalid,
            format!(
                "{operation} for `{name}` could not be built: {}",
                DisplayErrorContext(err)
            ),
        ),
        // `SdkError` is non-exhaustive; a variant added later is reported as what it says.
        _ => SecretError::new(
            SecretErrorKind::Invalid,
            format!(
                "{operation} for `{name}` failed: {}",
                DisplayErrorContext(err)
            ),
        ),
    }
}

fn kind_of(call: &FailedCall<'_>, code: Option<&str>, status: u16) -> SecretErrorKind {
    if let Some(kind) = code.and_then(call.codes) {
        return kind;
    }
    match code {
        Some(code) if DENIED.contains(&code) => SecretErrorKind::AccessDenied,
        Some(code) if THROTTLING.contains(&code) => SecretErrorKind::Unavailable,
        _ if status == 429 || status >= 500 => SecretErrorKind::Unavailable,
        _ if status == 401 || status == 403 => SecretErrorKind::AccessDenied,
        _ => SecretErrorKind::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> FailedCall<'static> {
        FailedCall {
            operation: "GetThing",
            name: "n",
            codes: |code| (code == "ThingNotFound").then_some(SecretErrorKind::NotFound),
        }
    }

    #[test]
    fn service_codes_come_first_then_the_common_ones_then_the_status() {
        let c = call();
        let kind = |code, status| kind_of(&c, code, status);
        assert_eq!(kind(Some("ThingNotFound"), 400), SecretErrorKind::NotFound);
        assert_eq!(
            kind(Some("AccessDeniedException"), 400),
            SecretErrorKind::AccessDenied
        );
        assert_eq!(
            kind(Some("ExpiredTokenException"), 400),
            SecretErrorKind::AccessDenied
        );
        assert_eq!(
            kind(Some("ThrottlingException"), 400),
            SecretErrorKind::Unavailable
        );
        assert_eq!(kind(Some("Whatever"), 503), SecretErrorKind::Unavailable);
        assert_eq!(kind(None, 429), SecretErrorKind::Unavailable);
        assert_eq!(kind(None, 403), SecretErrorKind::AccessDenied);
        assert_eq!(
            kind(Some("ValidationException"), 400),
            SecretErrorKind::Invalid
        );
        assert_eq!(kind(None, 200), SecretErrorKind::Invalid);
    }
}
