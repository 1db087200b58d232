//! [`Jwt`]: verifies a token against the configured issuers and turns it into a [`Principal`].
//!
//! The order is fixed: size, shape and header (`alg` supported and allowed, no `crit`), the
//! claims read once, the issuer chosen by `iss`, the key chosen by `kid` among that issuer's
//! keys whose algorithm list holds the token's `alg`, the signature, and then `exp`, `nbf`,
//! `iat`, `aud` and the required claims. Signatures are checked by `jsonwebtoken` on
//! `aws-lc-rs`; nothing here is cryptography.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::Algorithm;

use super::claim_names::ClaimNames;
use super::claims::{self, ClaimSet, ClaimValues, ClaimsSeed, MAX_REQUIRED};
use super::jwt_error::JwtError;
use super::keys::{AlgSet, JwtKey, KeyError, KeySet, KeySource};
use super::token::{decode_segment, verify_signature, Token};
use crate::context::{Principal, PrincipalSource};
use crate::observability::Logger;

/// Default leeway for `exp`, `nbf` and `iat`: 30 s of clock skew.
pub const DEFAULT_LEEWAY: u64 = 30;
/// Default largest token accepted: 8 KiB, well above Cognito and Auth0 tokens with many groups.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

/// One token issuer: its `iss`, the audiences it may issue for, the algorithms it signs with,
/// and where its keys come from.
pub struct Issuer {
    iss: Arc<str>,
    audiences: Vec<String>,
    algorithms: Option<AlgSet>,
    keys: KeySet,
    sources: Vec<Arc<dyn KeySource>>,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("iss", &self.iss)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .field("keys", &self.keys.len())
            .field("sources", &self.sources.len())
            .finish()
    }
}

impl Issuer {
    /// The issuer whose tokens carry `iss` (compared exactly).
    pub fn new(iss: impl Into<String>) -> Self {
        Issuer {
            iss: Arc::from(iss.into()),
            audiences: Vec::new(),
            algorithms: None,
            keys: KeySet::default(),
            sources: Vec::new(),
        }
    }

    /// Accept tokens for `audience` (call again to accept several). When any is set, a token
    /// must carry one of them in `aud` (a string or an array). Cognito ID tokens carry the app
    /// client id; its access tokens carry none (they have `client_id`): for those, set none and
    /// require the app's client ids with [`JwtBuilder::require_value`].
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The algorithms this issuer signs with. Without it, each key's own list decides.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(AlgSet::of(algorithms));
        self
    }

    /// A fixed verification key.
    pub fn key(mut self, key: JwtKey) -> Self {
        self.keys.keys.push(key);
        self
    }

    /// Keys that change at run time: a [`Jwks`](super::Jwks), or a secret.
    pub fn key_source(mut self, source: impl KeySource) -> Self {
        self.sources.push(Arc::new(source));
        self
    }

    /// Keys from a JWKS URL, shorthand for `key_source(Jwks::new(url))`.
    pub fn jwks_url(self, url: impl Into<String>) -> Self {
        self.key_source(super::Jwks::new(url))
    }

    fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.is_none_or(|a| a.contains(alg))
    }
}

/// A configured verifier. Build one with [`Jwt::builder`]; share it (it is cheap to clone).
#[derive(Clone)]
pub struct Jwt {
    inner: Arc<Verification>,
}

struct Verification {
    issuers: Vec<Issuer>,
    names: ClaimNames,
    required: Vec<Box<str>>,
    values: Vec<ClaimValues>,
    /// The `typ` header values accepted (lowercase, without `application/`); empty: any.
    typ: Vec<Box<str>>,
    leeway: u64,
    max_len: usize,
}

/// Builds a [`Jwt`].
pub struct JwtBuilder {
    config: Verification,
}

impl Jwt {
    /// Start a verifier: add at least one [`Issuer`].
    pub fn builder() -> JwtBuilder {
        JwtBuilder {
            config: Verification {
                issuers: Vec::new(),
                names: ClaimNames::default(),
                required: vec!["exp".into()],
                values: Vec::new(),
                typ: Vec::new(),
                leeway: DEFAULT_LEEWAY,
                max_len: DEFAULT_MAX_TOKEN_LEN,
            },
        }
    }

    /// Verify `token` now. Failures of a key source are logged to `logger`.
    pub async fn verify(&self, token: &str, logger: &Logger) -> Result<Principal, JwtError> {
        self.verify_at(token, now_secs(), logger).await
    }

    /// Verify `token` as if the time were `now` (seconds since the Unix epoch).
    pub async fn verify_at(
        &self,
        token: &str,
        now: u64,
        logger: &Logger,
    ) -> Result<Principal, JwtError> {
        let c = &*self.inner;
        if token.len() > c.max_len {
            return Err(JwtError::TooLarge);
        }
        let parsed = Token::parse(token)?;
        if !c.typ.is_empty() && !parsed.typ_is_one_of(&c.typ)? {
            return Err(JwtError::TypNotAccepted);
        }
        let alg = parsed.header.alg;
        let payload = String::from_utf8(decode_segment(parsed.payload, "payload")?)
            .map_err(|_| JwtError::Malformed("payload is not UTF-8"))?;
        let set = claims::parse(
            &payload,
            ClaimsSeed {
                names: &c.names,
                required: &c.required,
                values: &c.values,
                registered: true,
            },
        )
        .map_err(|f| JwtError::InvalidClaims {
            claim: f.claim,
            fault: f.fault,
        })?;
        let issuer = match set.iss.as_deref() {
            Some(iss) => c.issuers.iter().find(|i| *i.iss == *iss),
            None => None,
        }
        .ok_or(JwtError::UnknownIssuer)?;
        if !issuer.allows(alg) {
            return Err(JwtError::AlgorithmNotAllowed);
        }
        check_signature(issuer, &parsed, now, logger).await?;
        c.validate(issuer, &set, now)?;
        let mut principal = Principal::builder(PrincipalSource::Jwt)
            .roles(set.roles)
            .scopes(set.scopes)
            .issuer(issuer.iss.clone());
        if let Some(user) = set.sub {
            principal = principal.user_id(user);
        }
        if let Some(tenant) = set.tenant {
            principal = principal.tenant_id(tenant);
        }
        if let Some(email) = set.email {
            principal = principal.email(email);
        }
        // The claims were read borrowing from the payload; it is kept whole as the raw claims.
        let principal = principal.claims_json(payload).build();
        Ok(principal)
    }

    /// The claim names this verifier reads the tenant and roles from.
    pub fn claim_names(&self) -> &ClaimNames {
        &self.inner.names
    }
}

impl Verification {
    fn validate(&self, issuer: &Issuer, set: &ClaimSet<'_>, now: u64) -> Result<(), JwtError> {
        let now = now as f64;
        let leeway = self.leeway as f64;
        if let Some(exp) = set.exp {
            if now >= exp + leeway {
                return Err(JwtError::Expired);
            }
        }
        if let Some(nbf) = set.nbf {
            if now + leeway < nbf {
                return Err(JwtError::NotYetValid);
            }
        }
        if let Some(iat) = set.iat {
            if now + leeway < iat {
                return Err(JwtError::IssuedInFuture);
            }
        }
        if !issuer.audiences.is_empty() {
            let aud = set.aud.as_ref().ok_or(JwtError::MissingAudience)?;
            if !aud
                .iter()
                .any(|a| issuer.audiences.iter().any(|e| **a == **e))
            {
                return Err(JwtError::WrongAudience);
            }
        }
        for (i, name) in self.required.iter().enumerate() {
            if set.required_seen & (1 << i) == 0 {
                return Err(JwtError::MissingClaim(name.to_string()));
            }
        }
        for (i, rule) in self.values.iter().enumerate() {
            if set.values_seen & (1 << i) == 0 {
                return Err(JwtError::MissingClaim(rule.name.to_string()));
            }
            if set.values_ok & (1 << i) == 0 {
                return Err(JwtError::ClaimValueNotAccepted(rule.name.to_string()));
            }
        }
        Ok(())
    }
}

/// What trying the keys of one set gave.
#[derive(PartialEq, Eq)]
enum Tried {
    Verified,
    /// Keys fit the token's `kid` and `alg`, and none verified the signature.
    Failed,
    /// No key fits.
    NoCandidate,
}

fn try_keys(set: &KeySet, token: &Token<'_>) -> Tried {
    let mut tried = Tried::NoCandidate;
    for key in set.candidates(token.header.kid.as_deref(), token.header.alg) {
        if verify_signature(key, token) {
            return Tried::Verified;
        }
        tried = Tried::Failed;
    }
    tried
}

/// Find the issuer's keys for the token's `kid` and `alg` and check the signature with them.
/// A source is refreshed when its keys are due, when none of them fits the token's `kid` and
/// `alg` (a rotation), or when those that fit do not verify the signature (a secret rotated
/// under the same `kid`): then the signature is checked once more with the fresh keys. Sources
/// that can never verify the token's `alg` are not asked at all.
async fn check_signature(
    issuer: &Issuer,
    token: &Token<'_>,
    now: u64,
    logger: &Logger,
) -> Result<(), JwtError> {
    let kid = token.header.kid.as_deref();
    let alg = token.header.alg;
    let mut failed = false;
    let mut kid_known = kid.is_some_and(|k| issuer.keys.has_kid(k));
    let mut unavailable = false;
    let mut asked = false;
    match try_keys(&issuer.keys, token) {
        Tried::Verified => return Ok(()),
        Tried::Failed => failed = true,
        Tried::NoCandidate => {}
    }
    for source in issuer.sources.iter().filter(|s| s.may_verify(alg)) {
        asked = true;
        let (mut set, due) = source.cached(now);
        // No key of the set fits the token: a rotation the cache has not seen yet.
        let no_fit = set
            .as_ref()
            .is_none_or(|s| s.candidates(kid, alg).next().is_none());
        let mut refreshed = false;
        if due || no_fit {
            set = source.refresh(logger).await.or(set);
            refreshed = true;
        }
        loop {
            let Some(keys) = &set else {
                unavailable = true;
                break;
            };
            kid_known |= kid.is_some_and(|k| keys.has_kid(k));
            match try_keys(keys, token) {
                Tried::Verified => return Ok(()),
                Tried::Failed if !refreshed => {
                    // Once per token, and the source rate-limits it across tokens.
                    refreshed = true;
                    let fresh = source.refresh(logger).await;
                    if fresh.as_ref().is_some_and(|f| !Arc::ptr_eq(f, keys)) {
                        set = fresh;
                        continue;
                    }
                    failed = true;
                }
                Tried::Failed => failed = true,
                Tried::NoCandidate => {}
            }
            break;
        }
    }
    Err(if failed {
        JwtError::InvalidSignature
    } else if unavailable {
        JwtError::KeysUnavailable
    } else if kid.is_some() && !kid_known && (asked || !issuer.keys.is_empty()) {
        JwtError::UnknownKey
    } else {
        JwtError::AlgorithmNotAllowed
    })
}

impl JwtBuilder {
    /// Accept tokens of `issuer` (call again for several: the token's `iss` picks one).
    pub fn issuer(mut self, issuer: Issuer) -> Self {
        self.config.issuers.push(issuer);
        self
    }

    /// The claim holding the tenant id (default `tenant_id`; Cognito: `custom:tenant_id`).
    pub fn tenant_claim(mut self, claim: impl Into<String>) -> Self {
        self.config.names = self.config.names.tenant(claim);
        self
    }

    /// The claim holding the roles (default `roles`; Cognito: `cognito:groups`).
    pub fn roles_claim(mut self, claim: impl Into<String>) -> Self {
        self.config.names = self.config.names.roles(claim);
        self
    }

    /// Claims every token must carry (default: `exp`). Replaces the list: include `exp` to
    /// keep requiring it.
    pub fn require<S: Into<String>>(mut self, claims: impl IntoIterator<Item = S>) -> Self {
        self.config.required = claims
            .into_iter()
            .map(|c| c.into().into_boxed_str())
            .collect();
        self
    }

    /// The claim `claim` must hold one of `accepted` (compared exactly, as a string; a number
    /// is compared as its decimal text). A token without it, or with `null`, is refused as
    /// missing it. Call again for more claims; a second call for the same claim replaces the
    /// first.
    ///
    /// For Cognito access tokens, accept only the app's own clients and access tokens:
    /// `.require_value("client_id", ["<app client id>"]).require_value("token_use", ["access"])`.
    ///
    /// The claims verification reads for its own checks cannot be named here (the build
    /// fails): `iss` (choose [`Issuer`]s), `aud` ([`Issuer::audience`]), `exp`, `nbf`, `iat`,
    /// `scope`, `scp` and the roles claim (use `require_scope` and `require_role`).
    pub fn require_value<S: Into<String>>(
        mut self,
        claim: impl Into<String>,
        accepted: impl IntoIterator<Item = S>,
    ) -> Self {
        let name: Box<str> = claim.into().into_boxed_str();
        let accepted = accepted
            .into_iter()
            .map(|v| v.into().into_boxed_str())
            .collect();
        self.config.values.retain(|v| v.name != name);
        self.config.values.push(ClaimValues { name, accepted });
        self
    }

    /// The header's `typ` must be one of `accepted` (compared without case, and with or without
    /// the `application/` prefix, as RFC 7515 §4.1.9 allows), e.g. `["at+jwt"]` for OAuth access
    /// tokens (RFC 9068). A token without `typ` is refused. Without this, `typ` is not read.
    pub fn typ<S: Into<String>>(mut self, accepted: impl IntoIterator<Item = S>) -> Self {
        self.config.typ = accepted
            .into_iter()
            .map(|t| super::token::media_type(&t.into()).into_boxed_str())
            .collect();
        self
    }

    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat` (default 30).
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.config.leeway = seconds;
        self
    }

    /// The longest token accepted, in bytes (default 8 KiB). Longer ones are refused before
    /// anything is decoded.
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.config.max_len = bytes;
        self
    }

    /// Check the configuration and build the verifier.
    pub fn build(self) -> Result<Jwt, KeyError> {
        let c = &self.config;
        if c.issuers.is_empty() {
            return Err(KeyError("a verifier needs at least one issuer".into()));
        }
        if c.required.len() > MAX_REQUIRED || c.values.len() > MAX_REQUIRED {
            return Err(KeyError(format!(
                "at most {MAX_REQUIRED} required claims and {MAX_REQUIRED} claim values"
            )));
        }
        for rule in &c.values {
            if !claims::value_rule_allowed(&rule.name, &c.names) {
                return Err(KeyError(format!(
                    "the value of claim {} is checked by the verifier itself and cannot be required",
                    rule.name
                )));
            }
            if rule.accepted.is_empty() {
                return Err(KeyError(format!("claim {} accepts no value", rule.name)));
            }
        }
        if c.typ.iter().any(|t| t.is_empty()) {
            return Err(KeyError("an empty typ cannot be accepted".into()));
        }
        for (i, issuer) in c.issuers.iter().enumerate() {
            if c.issuers[..i].iter().any(|o| o.iss == issuer.iss) {
                return Err(KeyError(format!("issuer {} configured twice", issuer.iss)));
            }
            if issuer.keys.is_empty() && issuer.sources.is_empty() {
                return Err(KeyError(format!("issuer {} has no keys", issuer.iss)));
            }
            for source in &issuer.sources {
                source.check()?;
            }
            if let Some(algs) = issuer.algorithms {
                let usable = issuer
                    .keys
                    .keys
                    .iter()
                    .any(|k| algs.iter().any(|a| k.allows(a)));
                if algs.is_empty() || (!usable && issuer.sources.is_empty()) {
                    return Err(KeyError(format!(
                        "issuer {}: no key verifies its algorithms",
                        issuer.iss
                    )));
                }
            }
        }
        Ok(Jwt {
            inner: Arc::new(self.config),
        })
    }
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
