//! Verification keys: each with the algorithms it may verify, chosen by the configuration and
//! never by the token.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use crate::observability::Logger;
use std::future::Future;
use std::pin::Pin;

/// A set of algorithms, one bit each.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AlgSet(u16);

const ALL: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

fn bit(alg: Algorithm) -> u16 {
    1 << ALL.iter().position(|a| *a == alg).unwrap_or(15)
}

impl AlgSet {
    pub(crate) fn of(algs: impl IntoIterator<Item = Algorithm>) -> Self {
        AlgSet(algs.into_iter().fold(0, |s, a| s | bit(a)))
    }
    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        self.0 & bit(alg) != 0
    }
    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub(crate) fn iter(self) -> impl Iterator<Item = Algorithm> {
        ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl fmt::Debug for AlgSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Why a key could not be made or loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub(crate) String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

/// Makes sure `jsonwebtoken` has a crypto provider: `aws-lc-rs`, Lift's, unless one is there.
/// `jsonwebtoken` picks one by itself only when exactly one of its backends is compiled in; a
/// crate elsewhere in the build that turns on `jsonwebtoken/rust_crypto` leaves it with two and
/// none chosen, and every public-key verification would panic. Called wherever a key is made,
/// which every verification needs first.
pub(crate) fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use jsonwebtoken::crypto::CryptoProvider;
        if CryptoProvider::try_get_default().is_none() {
            // Another thread may have installed one in between: theirs serves as well.
            let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        }
    });
}

/// One verification key and the algorithms it may verify.
///
/// Every algorithm must belong to the key's family (HMAC secrets verify only `HS*`, RSA keys
/// only `RS*`/`PS*`, a P-256 key only `ES256`, a P-384 key only `ES384`, an Ed25519 key only
/// `EdDSA`), so a token can never make an RSA public key serve as an HMAC secret.
#[derive(Clone)]
pub struct JwtKey {
    pub(crate) kid: Option<String>,
    pub(crate) key: DecodingKey,
    pub(crate) algorithms: AlgSet,
    /// For an HMAC secret, its key prepared once per allowed algorithm (the inner and outer
    /// padded states), so a token costs only its own HMAC.
    pub(crate) hmac: Vec<(Algorithm, aws_lc_rs::hmac::Key)>,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// The shortest HMAC secret accepted: 32 bytes, the output size of SHA-256 (RFC 7518 §3.2).
pub const MIN_HMAC_SECRET: usize = 32;

impl JwtKey {
    /// A key for the given algorithms, which must all be of the key's family.
    pub fn new(
        key: DecodingKey,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, KeyError> {
        install_crypto_provider();
        let algorithms = AlgSet::of(algorithms);
        if algorithms.is_empty() {
            return Err(KeyError("a key needs at least one algorithm".into()));
        }
        if let Some(bad) = algorithms.iter().find(|a| a.family() != key.family()) {
            return Err(KeyError(format!(
                "{bad:?} cannot be verified with a {:?} key",
                key.family()
            )));
        }
        Ok(JwtKey {
            kid: None,
            key,
            algorithms,
            hmac: Vec::new(),
        })
    }

    /// An HMAC secret (`HS256`, `HS384`, `HS512`), at least [`MIN_HMAC_SECRET`] bytes.
    pub fn hmac(
        secret: &[u8],
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_SECRET {
            return Err(KeyError(format!(
                "an HMAC secret needs at least {MIN_HMAC_SECRET} bytes"
            )));
        }
        let key = DecodingKey::from_secret(secret).map_err(|e| KeyError(e.to_string()))?;
        let mut key = Self::new(key, algorithms)?;
        key.hmac = key
            .algorithms
            .iter()
            .filter_map(|alg| {
                let hmac = match alg {
                    Algorithm::HS256 => aws_lc_rs::hmac::HMAC_SHA256,
                    Algorithm::HS384 => aws_lc_rs::hmac::HMAC_SHA384,
                    Algorithm::HS512 => aws_lc_rs::hmac::HMAC_SHA512,
                    _ => return None,
                };
                Some((alg, aws_lc_rs::hmac::Key::new(hmac, secret)))
            })
            .collect();
        Ok(key)
    }

    /// An RSA public key in PEM (`RS*`, `PS*`).
    pub fn rsa_pem(
        pem: &[u8],
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, KeyError> {
        let key = DecodingKey::from_rsa_pem(pem).map_err(|e| KeyError(e.to_string()))?;
        Self::new(key, algorithms)
    }

    /// An EC public key in PEM (`ES256` for P-256, `ES384` for P-384).
    pub fn ec_pem(
        pem: &[u8],
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, KeyError> {
        let key = DecodingKey::from_ec_pem(pem).map_err(|e| KeyError(e.to_string()))?;
        Self::new(key, algorithms)
    }

    /// An Ed25519 public key in PEM (`EdDSA`).
    pub fn ed_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_ed_pem(pem).map_err(|e| KeyError(e.to_string()))?;
        Self::new(key, [Algorithm::EdDSA])
    }

    /// A public key from a JWK (RFC 7517). Its algorithms are its `alg` when it names one, or
    /// else every algorithm of its type and curve. Symmetric (`oct`) keys are refused: a key
    /// set is public, and a secret in it would let anyone sign.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        install_crypto_provider();
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            return Err(KeyError("the key is not for signatures".into()));
        }
        // The algorithms of the key's type (and curve).
        let fits: fn(Algorithm) -> bool = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => |a| a.family() == AlgorithmFamily::Rsa,
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => |a| a == Algorithm::ES256,
                EllipticCurve::P384 => |a| a == Algorithm::ES384,
                _ => return Err(KeyError("unsupported elliptic curve".into())),
            },
            AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
                EllipticCurve::Ed25519 => |a| a == Algorithm::EdDSA,
                _ => return Err(KeyError("unsupported OKP curve".into())),
            },
            AlgorithmParameters::OctetKey(_) => {
                return Err(KeyError(
                    "symmetric keys are not taken from a key set".into(),
                ))
            }
            _ => return Err(KeyError("unsupported key type".into())),
        };
        let algorithms: Vec<Algorithm> = match jwk.common.key_algorithm {
            Some(named) => {
                let alg = named
                    .to_string()
                    .parse::<Algorithm>()
                    .map_err(|_| KeyError("the key's alg is not a signature algorithm".into()))?;
                if !fits(alg) {
                    return Err(KeyError("the key's alg does not fit its type".into()));
                }
                vec![alg]
            }
            None => ALL.into_iter().filter(|a| fits(*a)).collect(),
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError(e.to_string()))?;
        let mut key = Self::new(key, algorithms)?;
        key.kid = jwk.common.key_id.clone();
        Ok(key)
    }

    /// Name the key: a token whose header carries a `kid` is verified only by the key of that
    /// id (or by keys without one).
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The key's id.
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether this key may verify `alg`.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(alg)
    }

    /// Whether this key can verify a token of header `kid` and `alg`.
    fn fits(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        self.allows(alg)
            && match (&self.kid, kid) {
                (Some(mine), Some(theirs)) => mine == theirs,
                _ => true,
            }
    }
}

/// The keys of one source at one time.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    pub(crate) keys: Vec<JwtKey>,
}

impl KeySet {
    /// A set of these keys.
    pub fn new(keys: Vec<JwtKey>) -> Self {
        KeySet { keys }
    }

    /// The keys that may verify a token of header `kid` and `alg`.
    pub fn candidates<'s>(
        &'s self,
        kid: Option<&'s str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'s JwtKey> + 's {
        self.keys.iter().filter(move |k| k.fits(kid, alg))
    }

    /// Whether the set holds a key of id `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys.
    pub fn keys(&self) -> &[JwtKey] {
        &self.keys
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Where an issuer's keys come from when they change at run time: a JWKS URL ([`Jwks`]), or a
/// secret holding an HMAC key. Static keys need none ([`Issuer::key`]).
///
/// [`Jwks`]: super::Jwks
/// [`Issuer::key`]: super::Issuer::key
pub trait KeySource: Send + Sync + 'static {
    /// Whether the source is safe to use as configured, asked once by
    /// [`JwtBuilder::build`](super::JwtBuilder::build), which fails with this error (for
    /// example, a JWKS URL that is plain HTTP).
    fn check(&self) -> Result<(), KeyError> {
        Ok(())
    }

    /// Whether any key this source can ever load may verify `alg`. A token whose `alg` no
    /// source may verify is refused without a refresh: an HMAC secret configured for `HS256`
    /// is never fetched again for an `HS384` token.
    fn may_verify(&self, alg: Algorithm) -> bool {
        let _ = alg;
        true
    }

    /// The keys held now, without waiting, and whether they are due for a refresh (never
    /// loaded, or older than their time to live). `now` is seconds since the Unix epoch.
    fn cached(&self, now: u64) -> (Option<Arc<KeySet>>, bool);

    /// Load the keys again, from the store and never from a cache in front of it, because they
    /// were due, because a token named a `kid` the set lacks, or because no key verified a
    /// token's signature (a rotation the cache has not seen yet). Sources limit how often they
    /// really fetch, share one fetch between concurrent callers, and keep serving the last good
    /// set when a fetch fails (logged to `logger`).
    fn refresh<'a>(&'a self, logger: &'a Logger) -> RefreshFuture<'a>;
}

/// What [`KeySource::refresh`] returns: the key set after the refresh (the last good one when
/// it failed), or `None` when none was ever loaded.
pub type RefreshFuture<'a> = Pin<Box<dyn Future<Output = Option<Arc<KeySet>>> + Send + 'a>>;
