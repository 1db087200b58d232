//! [`JwtError`]: why a token was refused.

use std::fmt;

/// Why a token was refused. The middleware logs it and tells the client only `invalid_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// No token in the request.
    Missing,
    /// Longer than the configured maximum.
    TooLarge,
    /// Not a compact JWS with a JSON header and claims.
    Malformed(&'static str),
    /// `alg: none`.
    AlgorithmNone,
    /// An `alg` Lift does not verify.
    UnsupportedAlgorithm,
    /// An `alg` outside the issuer's or the key's allow-list.
    AlgorithmNotAllowed,
    /// A `crit` header: Lift implements no JWS extension.
    CriticalHeader,
    /// The claims are not a JSON object of well-typed claims: `claim` names the one to blame
    /// (when one is), `fault` says what is wrong with it (`wrong type`, `duplicate`, `not a
    /// JSON object`). Neither ever quotes the token.
    InvalidClaims {
        /// The claim at fault, when one is.
        claim: Option<String>,
        /// What is wrong.
        fault: &'static str,
    },
    /// No `iss`, or one no configured issuer has.
    UnknownIssuer,
    /// The `kid` is in none of the issuer's keys, even after a refresh.
    UnknownKey,
    /// The issuer's keys could not be loaded.
    KeysUnavailable,
    /// The signature does not verify.
    InvalidSignature,
    /// `exp` has passed.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// `iat` is in the future.
    IssuedInFuture,
    /// The issuer expects an audience and the token has none.
    MissingAudience,
    /// None of the token's audiences is expected.
    WrongAudience,
    /// A required claim is absent (or `null`).
    MissingClaim(String),
    /// A claim holds none of the values [`JwtBuilder::require_value`](super::JwtBuilder::require_value) accepts.
    ClaimValueNotAccepted(String),
    /// The header's `typ` is none of those [`JwtBuilder::typ`](super::JwtBuilder::typ) accepts.
    TypNotAccepted,
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtError::Missing => f.write_str("no bearer token"),
            JwtError::TooLarge => f.write_str("token too large"),
            JwtError::Malformed(why) => write!(f, "malformed token: {why}"),
            JwtError::AlgorithmNone => f.write_str("alg none refused"),
            JwtError::UnsupportedAlgorithm => f.write_str("unsupported alg"),
            JwtError::AlgorithmNotAllowed => f.write_str("alg not allowed for this issuer or key"),
            JwtError::CriticalHeader => f.write_str("crit header names an unsupported extension"),
            JwtError::InvalidClaims {
                claim: Some(claim),
                fault,
            } => write!(f, "invalid claims: claim {claim}: {fault}"),
            JwtError::InvalidClaims { claim: None, fault } => write!(f, "invalid claims: {fault}"),
            JwtError::UnknownIssuer => f.write_str("unknown issuer"),
            JwtError::UnknownKey => f.write_str("unknown kid"),
            JwtError::KeysUnavailable => f.write_str("issuer keys unavailable"),
            JwtError::InvalidSignature => f.write_str("invalid signature"),
            JwtError::Expired => f.write_str("token expired"),
            JwtError::NotYetValid => f.write_str("token not yet valid"),
            JwtError::IssuedInFuture => f.write_str("token issued in the future"),
            JwtError::MissingAudience => f.write_str("aud missing"),
            JwtError::WrongAudience => f.write_str("aud not accepted"),
            JwtError::MissingClaim(c) => write!(f, "required claim {c} missing"),
            JwtError::ClaimValueNotAccepted(c) => write!(f, "claim {c} holds a value not accepted"),
            JwtError::TypNotAccepted => f.write_str("typ not accepted"),
        }
    }
}

impl std::error::Error for JwtError {}
