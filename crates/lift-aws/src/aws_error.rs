//! Error codes every AWS service shares, for the exporters and providers that classify the
//! SDK's errors: throttling (retry later) and denied (the caller's identity or permissions).

/// The codes the SDK's own retry classifier (`aws-runtime`) treats as throttling or transient.
pub(crate) const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailableException",
    "OperationAbortedException",
];

/// Codes any AWS service answers when the caller's identity or permissions fall short.
#[cfg(any(
    feature = "secrets-manager",
    feature = "ssm",
    feature = "cloudwatch-logs",
    feature = "cloudwatch-metrics"
))]
pub(crate) const DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
    "ExpiredToken",
    "MissingAuthenticationToken",
];
