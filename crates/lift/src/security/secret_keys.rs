//! [`HmacSecret`]: a JWT HMAC secret kept in a secret store (Secrets Manager), with rotation.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::jwks::DEFAULT_MIN_REFRESH_INTERVAL;
use super::jwt::now_secs;
use super::keys::{JwtKey, KeySet, KeySource, RefreshFuture};
use super::refresh::RefreshGate;
use super::secrets::{Secret, SecretErrorKind, Secrets};
use crate::observability::Logger;

/// The version stages accepted: the current secret, and the one before it, which tokens signed
/// just before a rotation still use.
pub const HMAC_SECRET_STAGES: [&str; 2] = ["AWSCURRENT", "AWSPREVIOUS"];

/// An issuer's HMAC keys from a secret: the value (text or binary) of its `AWSCURRENT`
/// version, and of its `AWSPREVIOUS` version while a rotation is in progress, are both
/// accepted.
///
/// - **Refresh.** The keys are loaded again every `ttl` (default 5 minutes), and when no key
///   verifies a token's signature: a rotation shows at once, not after the caches expire. A
///   refresh asks the store for `AWSCURRENT` past the [`Secrets`] cache, and for `AWSPREVIOUS`
///   past it only when `AWSCURRENT` changed (a `NotFound` before the first rotation is cached
///   like a value).
/// - **Rate limit.** Refreshes are at least [`min_refresh_interval`](Self::min_refresh_interval)
///   apart (default 30 s, as for [`Jwks`](super::Jwks)), and concurrent ones share one fetch,
///   so a flood of forged tokens costs the store one request per interval.
/// - **Algorithms.** A token whose `alg` is not one of this secret's algorithms is refused
///   without asking the store.
/// - **Failure.** The [`Secrets`] cache serves the last value when the store fails or hangs.
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
    state: RwLock<SecretState>,
    gate: RefreshGate,
}

#[derive(Default)]
struct SecretState {
    keys: Option<Arc<KeySet>>,
    /// When `keys` were loaded, in seconds since the epoch.
    loaded_at: u64,
    /// The `AWSCURRENT` value the keys were made from, to tell a rotation.
    current: Option<Arc<Secret>>,
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
            state: RwLock::new(SecretState::default()),
            gate: RefreshGate::new(DEFAULT_MIN_REFRESH_INTERVAL),
        }
    }

    /// How long the keys are used before they are loaded again (default 5 minutes).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl_secs = ttl.as_secs();
        self
    }

    /// The shortest time between two loads from the store (default 30 s), whatever the
    /// tokens say.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.gate.set_min_interval(interval);
        self
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        self.state.read().ok().and_then(|s| s.keys.clone())
    }

    async fn load(&self, logger: &Logger) -> Option<Arc<KeySet>> {
        let current = self
            .secrets
            .refresh(&self.name, Some(HMAC_SECRET_STAGES[0]))
            .await;
        let rotated = match (
            &current,
            self.state.read().ok().and_then(|s| s.current.clone()),
        ) {
            (Ok(now), Some(before)) => !same_value(now, &before),
            _ => true,
        };
        let previous = if rotated {
            self.secrets
                .refresh(&self.name, Some(HMAC_SECRET_STAGES[1]))
                .await
        } else {
            self.secrets
                .get_stage(&self.name, HMAC_SECRET_STAGES[1])
                .await
        };
        let mut keys = Vec::with_capacity(2);
        for (stage, fetched) in HMAC_SECRET_STAGES.into_iter().zip([&current, &previous]) {
            match fetched {
                Ok(secret) => match JwtKey::hmac(secret.bytes(), self.algorithms.iter().copied()) {
                    Ok(key) => keys.push(key),
                    Err(e) => self.warn("jwt secret unusable", stage, &e.to_string(), logger),
                },
                // No previous version before the first rotation.
                Err(e) if e.kind() == SecretErrorKind::NotFound && stage != "AWSCURRENT" => {}
                Err(e) => self.warn("jwt secret unavailable", stage, &e.to_string(), logger),
            }
        }
        if keys.is_empty() {
            return self.current();
        }
        let set = Arc::new(KeySet::new(keys));
        if let Ok(mut s) = self.state.write() {
            *s = SecretState {
                keys: Some(set.clone()),
                loaded_at: now_secs(),
                current: current.ok(),
            };
        }
        Some(set)
    }

    fn warn(&self, message: &str, stage: &str, error: &str, logger: &Logger) {
        logger.warn(
            message,
            &[
                ("secret", self.name.as_str().into()),
                ("stage", stage.into()),
                ("error", error.into()),
            ],
        );
    }
}

/// Whether two reads of a secret are the same version: by version id when the store has one,
/// else by value.
fn same_value(a: &Secret, b: &Secret) -> bool {
    match (a.version(), b.version()) {
        (Some(x), Some(y)) => x == y,
        _ => a.bytes() == b.bytes(),
    }
}

impl KeySource for HmacSecret {
    fn cached(&self, now: u64) -> (Option<Arc<KeySet>>, bool) {
        match self.state.read() {
            Ok(s) => {
                let due = s.keys.is_none() || now >= s.loaded_at.saturating_add(self.ttl_secs);
                (s.keys.clone(), due)
            }
            Err(_) => (None, true),
        }
    }

    fn may_verify(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    fn refresh<'a>(&'a self, logger: &'a Logger) -> RefreshFuture<'a> {
        Box::pin(async move {
            match self.gate.run(self.load(logger)).await {
                Some(loaded) => loaded,
                None => self.current(),
            }
        })
    }
}
