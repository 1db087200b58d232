//! [`Jwks`]: an issuer's public keys from its JWKS URL (Cognito, Auth0, any OIDC `jwks_uri`),
//! cached with a time to live and refreshed when a token names an unknown `kid`.
//!
//! - **Hit:** a read lock and a clone of an `Arc`: no fetch, no allocation.
//! - **Refresh:** when the set is older than its time to live (default 10 min), or a token's
//!   `kid` is not in it. Concurrent refreshes share one fetch, and fetches are at least
//!   [`min_refresh_interval`](Jwks::min_refresh_interval) apart (default 30 s), so a flood of
//!   tokens with made-up kids costs the endpoint one request per interval.
//! - **Failure:** the last good set keeps being served, the failure is logged (WARN) and
//!   counted; the next refresh is tried after the interval.
//!
//! Keys that cannot be used (an encryption key, an unsupported curve, a symmetric key) are
//! skipped and counted; the others still load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::fetch::{HttpsFetch, JwksFetch};
use super::keys::{JwtKey, KeyError, KeySet, KeySource, RefreshFuture};
use super::refresh::RefreshGate;
use crate::observability::Logger;

/// A cached JWKS. Cloning is cheap and clones share the cache.
#[derive(Clone)]
pub struct Jwks {
    inner: Arc<JwksInner>,
}

struct JwksInner {
    url: String,
    /// Whether a plain-HTTP URL to a host other than loopback is accepted.
    plain_http: bool,
    fetch: Box<dyn JwksFetch>,
    ttl_secs: u64,
    state: RwLock<JwksState>,
    gate: RefreshGate,
    fetches: AtomicU64,
    failures: AtomicU64,
    skipped_keys: AtomicU64,
    last_error: Mutex<Option<String>>,
}

#[derive(Default)]
struct JwksState {
    keys: Option<Arc<KeySet>>,
    /// When `keys` were fetched, in seconds since the epoch.
    loaded_at: u64,
}

/// What a [`Jwks`] has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwksStats {
    /// Requests made to the endpoint.
    pub fetches: u64,
    /// Requests that failed (network, status, body), the cached set kept.
    pub failures: u64,
    /// Refreshes refused because the last one was too recent.
    pub rate_limited: u64,
    /// Keys of fetched sets that could not be used and were left out.
    pub skipped_keys: u64,
    /// Keys in the current set.
    pub keys: usize,
    /// The last failure's message.
    pub last_error: Option<String>,
}

/// Default time to live of a fetched set.
pub const DEFAULT_JWKS_TTL: Duration = Duration::from_secs(600);
/// Default shortest time between two fetches.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

impl Jwks {
    /// The key set at `url`, fetched with [`HttpsFetch`] when first needed.
    pub fn new(url: impl Into<String>) -> Self {
        Self::with_fetch(url, HttpsFetch::new())
    }

    /// The key set at `url`, fetched with `fetch`.
    pub fn with_fetch(url: impl Into<String>, fetch: impl JwksFetch) -> Self {
        Jwks {
            inner: Arc::new(JwksInner {
                url: url.into(),
                plain_http: false,
                fetch: Box::new(fetch),
                ttl_secs: DEFAULT_JWKS_TTL.as_secs(),
                state: RwLock::new(JwksState::default()),
                gate: RefreshGate::new(DEFAULT_MIN_REFRESH_INTERVAL),
                fetches: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                skipped_keys: AtomicU64::new(0),
                last_error: Mutex::new(None),
            }),
        }
    }

    /// Cognito user pool `pool_id` in `region`: its `.well-known/jwks.json`.
    pub fn cognito(region: &str, pool_id: &str) -> Self {
        Self::new(format!(
            "https://cognito-idp.{region}.amazonaws.com/{pool_id}/.well-known/jwks.json"
        ))
    }

    fn inner_mut(&mut self) -> Option<&mut JwksInner> {
        Arc::get_mut(&mut self.inner)
    }

    /// How long a fetched set is used before it is fetched again (default 10 min). Set before
    /// the `Jwks` is cloned.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        if let Some(inner) = self.inner_mut() {
            inner.ttl_secs = ttl.as_secs();
        }
        self
    }

    /// The shortest time between two fetches (default 30 s), whatever the tokens say. Set
    /// before the `Jwks` is cloned.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        if let Some(inner) = self.inner_mut() {
            inner.gate.set_min_interval(interval);
        }
        self
    }

    /// Accept a plain-HTTP URL to any host. Without it, the URL must be `https`, or plain HTTP
    /// to a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`) for local tests, and the
    /// verifier's build fails otherwise: keys fetched in the clear can be swapped by anyone on
    /// the path, who then signs any token. Only for a network you trust end to end. Set
    /// before the `Jwks` is cloned.
    pub fn allow_plain_http(mut self) -> Self {
        if let Some(inner) = self.inner_mut() {
            inner.plain_http = true;
        }
        self
    }

    /// The URL keys are fetched from.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// What the cache has done so far.
    pub fn stats(&self) -> JwksStats {
        let i = &self.inner;
        JwksStats {
            fetches: i.fetches.load(Ordering::Relaxed),
            failures: i.failures.load(Ordering::Relaxed),
            rate_limited: i.gate.rate_limited(),
            skipped_keys: i.skipped_keys.load(Ordering::Relaxed),
            keys: self.current().map_or(0, |k| k.len()),
            last_error: i.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        self.inner.state.read().ok().and_then(|s| s.keys.clone())
    }

    async fn do_refresh(&self, logger: &Logger) -> Option<Arc<KeySet>> {
        match self.inner.gate.run(self.fetch(logger)).await {
            Some(fetched) => fetched,
            None => self.current(),
        }
    }

    async fn fetch(&self, logger: &Logger) -> Option<Arc<KeySet>> {
        let i = &self.inner;
        i.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = match i.fetch.get(&i.url).await {
            Ok(body) => self.parse(&body),
            Err(e) => Err(e),
        };
        match fetched {
            Ok(set) => {
                let set = Arc::new(set);
                if let Ok(mut s) = i.state.write() {
                    s.keys = Some(set.clone());
                    s.loaded_at = super::jwt::now_secs();
                }
                Some(set)
            }
            Err(e) => {
                i.failures.fetch_add(1, Ordering::Relaxed);
                let current = self.current();
                let serving = if current.is_some() {
                    "the cached keys"
                } else {
                    "no keys"
                };
                logger.warn(
                    "jwks refresh failed",
                    &[
                        ("jwks_url", i.url.as_str().into()),
                        ("error", e.as_str().into()),
                        ("serving", serving.into()),
                    ],
                );
                if let Ok(mut last) = i.last_error.lock() {
                    *last = Some(e);
                }
                current
            }
        }
    }

    fn parse(&self, body: &[u8]) -> Result<KeySet, String> {
        #[derive(Deserialize)]
        struct Doc<'a> {
            #[serde(borrow)]
            keys: Vec<&'a RawValue>,
        }
        let doc: Doc<'_> =
            serde_json::from_slice(body).map_err(|_| "the key set is not a JWKS document")?;
        let mut keys = Vec::with_capacity(doc.keys.len());
        for raw in doc.keys {
            let key = serde_json::from_str::<Jwk>(raw.get())
                .map_err(|e| e.to_string())
                .and_then(|jwk| JwtKey::from_jwk(&jwk).map_err(|e| e.to_string()));
            match key {
                Ok(k) => keys.push(k),
                Err(_) => {
                    self.inner.skipped_keys.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if keys.is_empty() {
            return Err("the key set holds no usable signing key".into());
        }
        Ok(KeySet::new(keys))
    }
}

/// Whether keys may be fetched from `url`: `https`, or plain HTTP to loopback or when allowed.
fn check_url(url: &str, plain_http: bool) -> Result<(), KeyError> {
    let refused = |why: &str| Err(KeyError(format!("JWKS URL {url}: {why}")));
    let Ok(uri) = url.parse::<http::Uri>() else {
        return refused("not a URL");
    };
    let Some(host) = uri.host() else {
        return refused("no host");
    };
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if plain_http || is_loopback(host) => Ok(()),
        Some("http") => refused(
            "plain HTTP to a host that is not loopback; use https (or Jwks::allow_plain_http \
             on a network you trust end to end)",
        ),
        _ => refused("not an https URL"),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl KeySource for Jwks {
    fn check(&self) -> Result<(), KeyError> {
        check_url(&self.inner.url, self.inner.plain_http)
    }

    fn cached(&self, now: u64) -> (Option<Arc<KeySet>>, bool) {
        match self.inner.state.read() {
            Ok(s) => {
                let due =
                    s.keys.is_none() || now >= s.loaded_at.saturating_add(self.inner.ttl_secs);
                (s.keys.clone(), due)
            }
            Err(_) => (None, true),
        }
    }

    fn refresh<'a>(&'a self, logger: &'a Logger) -> RefreshFuture<'a> {
        Box::pin(self.do_refresh(logger))
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn accepts_https_and_loopback_http_only() {
        for ok in [
            "https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json",
            "https://auth.example.com:8443/jwks",
            "http://127.0.0.1:8080/jwks.json",
            "http://127.9.9.9/jwks.json",
            "http://localhost:3000/jwks.json",
            "http://[::1]:3000/jwks.json",
        ] {
            assert_eq!(check_url(ok, false), Ok(()), "{ok}");
        }
        for bad in [
            "http://auth.example.com/jwks.json",
            "http://10.0.0.1/jwks.json",
            "http://localhost.evil.com/jwks.json",
            "ftp://auth.example.com/jwks.json",
            "auth.example.com/jwks.json",
            "/jwks.json",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert_eq!(check_url("http://auth.internal/jwks.json", true), Ok(()));
    }
}
