//! [`HmacSecret`]: a JWT HMAC secret kept in a secret store (Secrets Manager), with rotation.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::jwt::now_secs;
use super::keys::{JwtKey, KeySet, KeySource, RefreshFuture};
use super::secrets::{SecretErrorKind, Secrets};
use crate::observability::Logger;

/// The version stages accepted: the current secret, and the one before it, which tokens signed
/// just before a rotation still use.
pub const HMAC_SECRET_STAGES: [&str; 2] = ["AWSCURRENT", "AWSPREVIOUS"];

/// An issuer's HMAC keys from a secret: the value (text or binary) of its `AWSCURRENT`
/// version, and of its `AWSPREVIOUS` version while a rotation is in progress, are both
/// accepted.
///
/// The keys are rebuilt from the [`Secrets`] cache every `ttl` (default 5 minutes), and when
/// no key fits a token; the cache fetches from the store at most once per its own TTL and
/// serves the last value when the store fails.
///
/// ```no_run
/// # async fn f(secrets: lift::security::secrets::Secrets) -> Result<(), lift::BoxError> {
/// use lift::security::{Algorithm, HmacSecret, Issuer, Jwt};
///
/// let jwt = Jwt::builder()
///     .issuer(
///         Issuer::new("https://auth.example.com")
///             .audience("orders-api")
///             .key_source(HmacSecret::new(secrets, "prod/jwt-signing-key", [Algorithm::HS256])),
///     )
///     .build()?;
/// # Ok(()) }
/// ```
pub struct HmacSecret {
    secrets: Secrets,
    name: String,
    algorithms: Vec<Algorithm>,
    ttl_secs: u64,
    state: RwLock<(Option<Arc<KeySet>>, u64)>,
}

impl HmacSecret {
    /// The secret `name` of `secrets`, as a key for `algorithms` (`HS256`, `HS384`, `HS512`).
    pub fn new(
        secrets: Secrets,
        name: impl Into<String>,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Self {
        HmacSecret {
            secrets,
            name: name.into(),
            algorithms: algorithms.into_iter().collect(),
            ttl_secs: super::secrets::DEFAULT_TTL.as_secs(),
            state: RwLock::new((None, 0)),
        }
    }

    /// How long the keys are used before they are read from the cache again.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl_secs = ttl.as_secs();
        self
    }

    async fn load(&self, logger: &Logger) -> Option<Arc<KeySet>> {
        let mut keys = Vec::with_capacity(2);
        for stage in HMAC_SECRET_STAGES {
            match self.secrets.get_stage(&self.name, stage).await {
                Ok(secret) => match JwtKey::hmac(secret.bytes(), self.algorithms.iter().copied()) {
                    Ok(key) => keys.push(key),
                    Err(e) => logger.warn(
                        "jwt secret unusable",
                        &[
                            ("secret", self.name.as_str().into()),
                            ("stage", stage.into()),
                            ("error", e.to_string().as_str().into()),
                        ],
                    ),
                },
                // No previous version before the first rotation.
                Err(e) if e.kind() == SecretErrorKind::NotFound && stage != "AWSCURRENT" => {}
                Err(e) => logger.warn(
                    "jwt secret unavailable",
                    &[
                        ("secret", self.name.as_str().into()),
                        ("stage", stage.into()),
                        ("error", e.to_string().as_str().into()),
                    ],
                ),
            }
        }
        if keys.is_empty() {
            return self.state.read().ok().and_then(|s| s.0.clone());
        }
        let set = Arc::new(KeySet::new(keys));
        if let Ok(mut s) = self.state.write() {
            *s = (Some(set.clone()), now_secs());
        }
        Some(set)
    }
}

impl KeySource for HmacSecret {
    fn cached(&self, now: u64) -> (Option<Arc<KeySet>>, bool) {
        match self.state.read() {
            Ok(s) => {
                let due = s.0.is_none() || now >= s.1.saturating_add(self.ttl_secs);
                (s.0.clone(), due)
            }
            Err(_) => (None, true),
        }
    }

    fn refresh<'a>(&'a self, logger: &'a Logger) -> RefreshFuture<'a> {
        Box::pin(self.load(logger))
    }
}
