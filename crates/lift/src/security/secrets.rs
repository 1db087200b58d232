//! Secrets: values from a secret store, cached in the process.
//!
//! A [`SecretProvider`] fetches one secret from a store: AWS Secrets Manager and SSM Parameter
//! Store live in the `lift-aws` crate (`lift_aws::secrets`), so this crate needs no AWS SDK; a
//! test or another store implements the trait in a few lines. [`Secrets`] is the cache in front
//! of a provider, made once at start-up and cloned into handlers:
//!
//! - **TTL.** A value younger than the TTL (default five minutes, [`DEFAULT_TTL`]) is returned
//!   without calling the store. Entries are keyed by name and version stage.
//! - **Single flight.** Concurrent calls for a key that is missing or expired share one fetch;
//!   calls for other keys never wait on it.
//! - **Stale on error.** When a refresh fails and an older value is cached, that value is served,
//!   the error is logged at WARN, and the store is asked again on a call at least
//!   [`DEFAULT_RETRY_INTERVAL`] (one second) later, not on every call. With nothing cached, the
//!   error is returned, and returned again without asking the store for the same interval.
//! - **Missing is an answer.** A [`NotFound`](SecretErrorKind::NotFound) (a secret or version
//!   stage that does not exist, such as `AWSPREVIOUS` before the first rotation) is cached for
//!   the TTL like a value, so asking for it on every request never reaches the store.
//! - **Bounded fetches.** A fetch that has not answered within the fetch timeout (default
//!   [`DEFAULT_FETCH_TIMEOUT`], two seconds) is abandoned as
//!   [`Unavailable`](SecretErrorKind::Unavailable): the stale value is served (WARN, counted in
//!   [`SecretsStats::timeouts`]), and neither the caller nor those waiting for the same fetch
//!   wait until the Lambda deadline.
//!
//! Neither a [`Secret`] nor an error ever shows the secret's value: `Debug` prints `<redacted>`,
//! and the messages of JSON errors carry only the position and the kind of fault, since
//! `serde_json`'s own messages can quote the offending value.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use lift::security::secrets::{Secret, SecretFuture, SecretProvider, SecretValue, Secrets};
//!
//! /// A store holding one JSON secret, counting its fetches.
//! #[derive(Default)]
//! struct Fixed(AtomicU64);
//!
//! impl SecretProvider for Fixed {
//!     fn store(&self) -> &'static str {
//!         "fixed"
//!     }
//!     fn fetch<'a>(&'a self, _name: &'a str, _stage: Option<&'a str>) -> SecretFuture<'a> {
//!         self.0.fetch_add(1, Ordering::Relaxed);
//!         let value = SecretValue::Text(r#"{"username":"app","password":"p@ss"}"#.into());
//!         Box::pin(async move { Ok(Secret::new(value).with_version("v1")) })
//!     }
//! }
//!
//! #[derive(serde::Deserialize)]
//! struct Db {
//!     username: String,
//!     password: String,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let secrets = Secrets::new(Fixed::default());
//! let db: Db = secrets.json("prod/db").await?;
//! assert_eq!((db.username.as_str(), db.password.as_str()), ("app", "p@ss"));
//! assert_eq!(secrets.get("prod/db").await?.version(), Some("v1"));
//! assert_eq!((secrets.stats().fetches, secrets.stats().hits), (1, 1));
//! # Ok::<(), lift::security::secrets::SecretError>(())
//! # }).unwrap();
//! ```
//!
//! The cache is written here rather than taken from a crate: AWS's
//! `aws_secretsmanager_caching` serves Secrets Manager alone and brings the SDK into the core
//! crate, and the general-purpose caches do not serve stale values on a failed refresh.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::observability::{Logger, Observability};

/// How long a fetched value is served without asking the store again, unless
/// [`Secrets::ttl`] says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

/// After a failed refresh, how long the stale value is served before the store is asked again,
/// unless [`Secrets::retry_interval`] says otherwise.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// How long one fetch may take before it is abandoned, unless [`Secrets::fetch_timeout`] says
/// otherwise.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// A secret's value: text (Secrets Manager's `SecretString`, an SSM `String`, `StringList` or
/// decrypted `SecureString`) or binary (Secrets Manager's `SecretBinary`).
///
/// `Debug` prints the variant and `<redacted>`, never the value.
#[derive(Clone)]
pub enum SecretValue {
    /// A text value.
    Text(String),
    /// A binary value.
    Binary(Vec<u8>),
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretValue::Text(_) => f.write_str("Text(<redacted>)"),
            SecretValue::Binary(_) => f.write_str("Binary(<redacted>)"),
        }
    }
}

/// A secret as a store returned it: the value, and the version id and stages when the store
/// has them (Secrets Manager has both; SSM has a version number and no stages).
///
/// `Debug` shows the version and stages, never the value.
#[derive(Clone)]
pub struct Secret {
    value: SecretValue,
    version: Option<String>,
    stages: Vec<String>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("value", &self.value)
            .field("version", &self.version)
            .field("stages", &self.stages)
            .finish()
    }
}

impl Secret {
    /// A secret with no version id and no stages.
    pub fn new(value: SecretValue) -> Self {
        Secret {
            value,
            version: None,
            stages: Vec::new(),
        }
    }

    /// Sets the store's version id.
    pub fn with_version(mut self, id: impl Into<String>) -> Self {
        self.version = Some(id.into());
        self
    }

    /// Sets the version stages this value carries (Secrets Manager's `AWSCURRENT`, ...).
    pub fn with_stages(mut self, stages: Vec<String>) -> Self {
        self.stages = stages;
        self
    }

    /// The value.
    pub fn value(&self) -> &SecretValue {
        &self.value
    }

    /// The value as text; `None` for a binary value.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            SecretValue::Text(text) => Some(text),
            SecretValue::Binary(_) => None,
        }
    }

    /// The value's bytes: a text value's UTF-8 bytes, or the binary value.
    pub fn bytes(&self) -> &[u8] {
        match &self.value {
            SecretValue::Text(text) => text.as_bytes(),
            SecretValue::Binary(bytes) => bytes,
        }
    }

    /// The store's version id, when it has one.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The version stages this value carries; empty when the store has none.
    pub fn stages(&self) -> &[String] {
        &self.stages
    }

    /// The value (text, or binary holding UTF-8 JSON) parsed as JSON into `T`.
    ///
    /// Fails with [`SecretErrorKind::Invalid`]; the message gives the kind of fault and its line
    /// and column, never any part of the value.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, SecretError> {
        serde_json::from_slice(self.bytes()).map_err(|e| {
            SecretError::new(
                SecretErrorKind::Invalid,
                format!("the secret's value {}", json_fault(&e)),
            )
        })
    }
}

/// What is wrong with a value that did not parse, without `serde_json`'s message: that one can
/// quote the value (`invalid type: string "hunter2", expected u16`).
fn json_fault(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let fault = match e.classify() {
        Category::Syntax => "is not valid JSON",
        Category::Eof => "is JSON that ends early",
        Category::Data => "is JSON that does not match the expected type",
        Category::Io => "could not be read as JSON",
    };
    format!("{fault} (line {}, column {})", e.line(), e.column())
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// What kind of failure a [`SecretError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretErrorKind {
    /// The secret, parameter or version stage does not exist.
    NotFound,
    /// The caller may not read it (permissions, credentials, or the key that encrypts it).
    AccessDenied,
    /// The store could not be reached or did not answer in time (network, throttling,
    /// server errors): a later try may succeed.
    Unavailable,
    /// Anything else: a bad request, a value of the wrong kind or shape.
    Invalid,
}

impl SecretErrorKind {
    /// A short snake-case name for logs: `not_found`, `access_denied`, `unavailable`,
    /// `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretErrorKind::NotFound => "not_found",
            SecretErrorKind::AccessDenied => "access_denied",
            SecretErrorKind::Unavailable => "unavailable",
            SecretErrorKind::Invalid => "invalid",
        }
    }
}

impl fmt::Display for SecretErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretErrorKind::NotFound => "secret not found",
            SecretErrorKind::AccessDenied => "access to the secret denied",
            SecretErrorKind::Unavailable => "secret store unavailable",
            SecretErrorKind::Invalid => "invalid secret request or value",
        })
    }
}

/// A failure to read a secret: its [kind](SecretErrorKind) and a message.
///
/// Providers must keep secret values out of the message; the cache's own messages hold names,
/// stages and positions only.
#[derive(Debug, Clone)]
pub struct SecretError {
    kind: SecretErrorKind,
    message: String,
}

impl SecretError {
    /// An error of `kind` with `message`, which must not contain a secret value.
    pub fn new(kind: SecretErrorKind, message: impl Into<String>) -> Self {
        SecretError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> SecretErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `prefix: ` before its message.
    fn context(self, prefix: fmt::Arguments<'_>) -> Self {
        SecretError {
            kind: self.kind,
            message: format!("{prefix}: {}", self.message),
        }
    }
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for SecretError {}

// ---------------------------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------------------------

/// The future a [`SecretProvider`] returns.
pub type SecretFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret, SecretError>> + Send + 'a>>;

/// A secret store: fetches one secret by name, uncached. Wrap it in [`Secrets`] to cache it.
pub trait SecretProvider: Send + Sync + 'static {
    /// The store's name for logs: `"secretsmanager"`, `"ssm"`.
    fn store(&self) -> &'static str;

    /// Fetch one secret; `stage` is a Secrets Manager version stage (`AWSCURRENT`,
    /// `AWSPREVIOUS`, ...); `None` asks for the current value.
    fn fetch<'a>(&'a self, name: &'a str, stage: Option<&'a str>) -> SecretFuture<'a>;
}

// ---------------------------------------------------------------------------------------------
// The cache
// ---------------------------------------------------------------------------------------------

/// What a [`Secrets`] cache did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretsStats {
    /// Calls to the provider.
    pub fetches: u64,
    /// Calls answered with a fresh value and no fetch of their own: from the cache, or from a
    /// fetch another call made while this one waited for it.
    pub hits: u64,
    /// Calls answered with a stale value because refreshing it failed (now or less than the
    /// retry interval ago).
    pub stale_served: u64,
    /// Provider calls that failed (timeouts included).
    pub errors: u64,
    /// Provider calls abandoned after the fetch timeout.
    pub timeouts: u64,
    /// Calls answered with the error of an earlier fetch, without calling the provider: a
    /// `NotFound` within the TTL, another failure within the retry interval.
    pub errors_cached: u64,
}

#[derive(Default)]
struct SecretCounters {
    fetches: AtomicU64,
    hits: AtomicU64,
    stale_served: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    errors_cached: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// One (name, stage) entry. `state` is only held for a few instructions, never across an
/// await; `fetch` is the single-flight gate, held across the provider call, by this key alone.
#[derive(Default)]
struct CacheEntry {
    state: Mutex<EntryState>,
    fetch: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct EntryState {
    /// The last value fetched, and when.
    value: Option<(Arc<Secret>, Instant)>,
    /// When the last fetch failed, and how; cleared by a successful fetch.
    failure: Option<(Instant, SecretError)>,
    /// Fetches finished on this slot: a call that waited for the gate sees it move and takes
    /// that fetch's outcome instead of fetching again.
    generation: u64,
}

/// Entries by name, then by stage: lookups borrow the caller's strings, and a name has few
/// stages.
type CacheEntries = HashMap<String, Vec<(Option<String>, Arc<CacheEntry>)>>;

struct SecretsInner {
    provider: Arc<dyn SecretProvider>,
    ttl: Duration,
    retry_interval: Duration,
    fetch_timeout: Duration,
    logger: Option<Logger>,
    default_logger: OnceLock<Logger>,
    slots: Mutex<CacheEntries>,
    counters: SecretCounters,
}

/// A cache of secrets in front of a [`SecretProvider`]: TTL, single flight, stale on error
/// (see the [module docs](self)). Clone is cheap (an `Arc`); clones share the cache.
///
/// Stale values are logged at WARN with the secret's name, stage, store and the error message
/// (never the value) through [`logger`](Secrets::logger), or, without one, through the process
/// logger of `Observability::default()` (the Powertools environment variables, stdout).
#[derive(Clone)]
pub struct Secrets {
    inner: Arc<SecretsInner>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("store", &self.inner.provider.store())
            .field("ttl", &self.inner.ttl)
            .field("retry_interval", &self.inner.retry_interval)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent at every await-free step, so a panic elsewhere while
    // holding the lock leaves nothing half-written.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Secrets {
    /// A cache in front of `provider`, with the default TTL (five minutes) and retry interval
    /// (one second).
    pub fn new(provider: impl SecretProvider) -> Self {
        Secrets {
            inner: Arc::new(SecretsInner {
                provider: Arc::new(provider),
                ttl: DEFAULT_TTL,
                retry_interval: DEFAULT_RETRY_INTERVAL,
                fetch_timeout: DEFAULT_FETCH_TIMEOUT,
                logger: None,
                default_logger: OnceLock::new(),
                slots: Mutex::new(HashMap::new()),
                counters: SecretCounters::default(),
            }),
        }
    }

    /// Changes the configuration. Builders run before the cache is shared; should a clone
    /// have been taken already, this handle gets a cache of its own (same provider, empty).
    fn configure(mut self, change: impl FnOnce(&mut SecretsInner)) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            change(inner);
            return self;
        }
        let old = &self.inner;
        let mut inner = SecretsInner {
            provider: old.provider.clone(),
            ttl: old.ttl,
            retry_interval: old.retry_interval,
            fetch_timeout: old.fetch_timeout,
            logger: old.logger.clone(),
            default_logger: OnceLock::new(),
            slots: Mutex::new(HashMap::new()),
            counters: SecretCounters::default(),
        };
        change(&mut inner);
        Secrets {
            inner: Arc::new(inner),
        }
    }

    /// How long a fetched value is served without asking the store (default five minutes).
    /// `Duration::ZERO` fetches on every call, still one fetch for concurrent calls.
    pub fn ttl(self, ttl: Duration) -> Self {
        self.configure(|inner| inner.ttl = ttl)
    }

    /// After a failed refresh, how long the stale value is served before the store is asked
    /// again (default one second).
    pub fn retry_interval(self, interval: Duration) -> Self {
        self.configure(|inner| inner.retry_interval = interval)
    }

    /// How long one fetch may take before it is abandoned and counted as a timeout (default two
    /// seconds); the stale value is then served, as for any failure.
    pub fn fetch_timeout(self, timeout: Duration) -> Self {
        self.configure(|inner| inner.fetch_timeout = timeout)
    }

    /// Where failed refreshes that serve a stale value are logged, at WARN; for example the
    /// app's `Observability::logger()`, so the lines carry its service and go to its exporters.
    pub fn logger(self, logger: Logger) -> Self {
        self.configure(|inner| inner.logger = Some(logger))
    }

    /// The secret `name`'s current value.
    pub async fn get(&self, name: &str) -> Result<Arc<Secret>, SecretError> {
        self.lookup(name, None, false).await
    }

    /// The value of `name` at version stage `stage` (Secrets Manager's `AWSCURRENT`,
    /// `AWSPREVIOUS`, `AWSPENDING` or a custom stage), cached apart from [`get`](Self::get)'s.
    pub async fn get_stage(&self, name: &str, stage: &str) -> Result<Arc<Secret>, SecretError> {
        self.lookup(name, Some(stage), false).await
    }

    /// The value of `name` at `stage` (`None`: the current value) asked of the store now,
    /// whatever the cache holds: for a caller that knows its cached value is out of date (a
    /// signature that no longer verifies after a rotation). Concurrent calls for the key still
    /// share one fetch, and a failure serves the cached value as [`get`](Self::get) does.
    /// Callers limit how often they do this; the cache does not.
    pub async fn refresh(
        &self,
        name: &str,
        stage: Option<&str>,
    ) -> Result<Arc<Secret>, SecretError> {
        self.lookup(name, stage, true).await
    }

    /// The secret `name`'s current value as text; [`SecretErrorKind::Invalid`] for a binary
    /// secret.
    pub async fn text(&self, name: &str) -> Result<String, SecretError> {
        let secret = self.get(name).await?;
        match secret.text() {
            Some(text) => Ok(text.to_owned()),
            None => Err(SecretError::new(
                SecretErrorKind::Invalid,
                format!("secret `{name}` is binary, not text"),
            )),
        }
    }

    /// The secret `name`'s current value parsed as JSON into `T` (see [`Secret::json`]);
    /// [`SecretErrorKind::Invalid`] when it does not parse, with a message that names the secret
    /// and the position, never the value. Parsed on every call: keep the result if you call
    /// this on a hot path.
    pub async fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T, SecretError> {
        self.get(name)
            .await?
            .json()
            .map_err(|e| e.context(format_args!("secret `{name}`")))
    }

    /// Drops the cached values of `name`, at every stage: the next call fetches. A fetch already
    /// under way still answers the calls waiting for it.
    pub fn invalidate(&self, name: &str) {
        lock(&self.inner.slots).remove(name);
    }

    /// What the cache did so far.
    pub fn stats(&self) -> SecretsStats {
        let c = &self.inner.counters;
        SecretsStats {
            fetches: c.fetches.load(Ordering::Relaxed),
            hits: c.hits.load(Ordering::Relaxed),
            stale_served: c.stale_served.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            errors_cached: c.errors_cached.load(Ordering::Relaxed),
        }
    }

    fn slot(&self, name: &str, stage: Option<&str>) -> Arc<CacheEntry> {
        let mut slots = lock(&self.inner.slots);
        if let Some(stages) = slots.get(name) {
            if let Some((_, slot)) = stages.iter().find(|(s, _)| s.as_deref() == stage) {
                return slot.clone();
            }
        }
        let slot = Arc::new(CacheEntry::default());
        slots
            .entry(name.to_owned())
            .or_default()
            .push((stage.map(str::to_owned), slot.clone()));
        slot
    }

    async fn lookup(
        &self,
        name: &str,
        stage: Option<&str>,
        force: bool,
    ) -> Result<Arc<Secret>, SecretError> {
        let slot = self.slot(name, stage);
        let seen = {
            let state = lock(&slot.state);
            if !force {
                if let Some(answer) = self.cached(&state, Instant::now()) {
                    return answer;
                }
            }
            state.generation
        };
        // Only calls for this key wait here; the lock guards nothing but the right to fetch.
        let _gate = slot.fetch.lock().await;
        {
            let state = lock(&slot.state);
            if state.generation != seen {
                if let Some(outcome) = self.shared(&state) {
                    return outcome;
                }
            }
        }
        self.fetch(&slot, name, stage).await
    }

    /// An answer to give without fetching: a fresh value, a stale one while the last failure
    /// is recent, or the last failure's error while it is recent (a `NotFound` for the TTL).
    fn cached(&self, state: &EntryState, now: Instant) -> Option<Result<Arc<Secret>, SecretError>> {
        let inner = &self.inner;
        let age = |t: &Instant| now.saturating_duration_since(*t);
        match (&state.value, &state.failure) {
            (Some((secret, fetched)), _) if age(fetched) < inner.ttl => {
                bump(&inner.counters.hits);
                Some(Ok(secret.clone()))
            }
            (Some((secret, _)), Some((failed, _))) if age(failed) < inner.retry_interval => {
                bump(&inner.counters.stale_served);
                Some(Ok(secret.clone()))
            }
            (None, Some((failed, error))) => {
                let window = if error.kind() == SecretErrorKind::NotFound {
                    inner.ttl
                } else {
                    inner.retry_interval
                };
                (age(failed) < window).then(|| {
                    bump(&inner.counters.errors_cached);
                    Err(error.clone())
                })
            }
            _ => None,
        }
    }

    /// The outcome of the fetch another call finished while this one waited for the gate:
    /// its value, the stale value it fell back to, or its error.
    fn shared(&self, state: &EntryState) -> Option<Result<Arc<Secret>, SecretError>> {
        match (&state.value, &state.failure) {
            (Some((secret, _)), None) => {
                bump(&self.inner.counters.hits);
                Some(Ok(secret.clone()))
            }
            (Some((secret, _)), Some(_)) => {
                bump(&self.inner.counters.stale_served);
                Some(Ok(secret.clone()))
            }
            (None, Some((_, error))) => Some(Err(error.clone())),
            // A finished fetch always leaves a value or a failure.
            (None, None) => None,
        }
    }

    async fn fetch(
        &self,
        slot: &CacheEntry,
        name: &str,
        stage: Option<&str>,
    ) -> Result<Arc<Secret>, SecretError> {
        let inner = &self.inner;
        bump(&inner.counters.fetches);
        let result = match tokio::time::timeout(
            inner.fetch_timeout,
            inner.provider.fetch(name, stage),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => {
                bump(&inner.counters.timeouts);
                Err(SecretError::new(
                    SecretErrorKind::Unavailable,
                    format!("no answer within {:?}", inner.fetch_timeout),
                ))
            }
        };
        let now = Instant::now();
        let stale = {
            let mut state = lock(&slot.state);
            state.generation += 1;
            match result {
                Ok(secret) => {
                    let secret = Arc::new(secret);
                    state.value = Some((secret.clone(), now));
                    state.failure = None;
                    return Ok(secret);
                }
                Err(error) => {
                    bump(&inner.counters.errors);
                    state.failure = Some((now, error.clone()));
                    // The store says the value is gone: that is the answer now, not a fault
                    // to serve a stale value through.
                    if error.kind() == SecretErrorKind::NotFound {
                        state.value = None;
                    }
                    match &state.value {
                        Some((secret, fetched)) => {
                            bump(&inner.counters.stale_served);
                            (
                                secret.clone(),
                                now.saturating_duration_since(*fetched),
                                error,
                            )
                        }
                        None => return Err(error),
                    }
                }
            }
        };
        let (secret, age, error) = stale;
        self.warn_stale(name, stage, age, &error);
        Ok(secret)
    }

    fn warn_stale(&self, name: &str, stage: Option<&str>, age: Duration, error: &SecretError) {
        let inner = &self.inner;
        let logger = match &inner.logger {
            Some(logger) => logger,
            None => inner
                .default_logger
                .get_or_init(|| Observability::default().logger()),
        };
        let store = inner.provider.store();
        let age_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        let message = "secret refresh failed; serving the cached value";
        let common = [
            ("secret", name.into()),
            ("store", store.into()),
            ("error_kind", error.kind().as_str().into()),
            ("error", error.message().into()),
            ("age_ms", age_ms.into()),
        ];
        match stage {
            Some(stage) => {
                let mut fields = common.to_vec();
                fields.push(("stage", stage.into()));
                logger.warn(message, &fields);
            }
            None => logger.warn(message, &common),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::MemoryExporter;
    use std::sync::atomic::AtomicBool;

    /// A cache key as the tests see it: name and stage.
    type Key = (String, Option<String>);

    /// An in-memory store: values by (name, stage), a switch that makes every fetch fail, a
    /// delay per fetch, and a count of fetches and of the stages asked for.
    #[derive(Clone, Default)]
    struct Memory {
        values: Arc<Mutex<HashMap<Key, SecretValue>>>,
        failing: Arc<AtomicBool>,
        /// Milliseconds each fetch waits, switchable while the store is shared.
        delay_ms: Arc<AtomicU64>,
        calls: Arc<AtomicU64>,
        asked: Arc<Mutex<Vec<Key>>>,
    }

    impl Memory {
        fn with(self, name: &str, stage: Option<&str>, value: SecretValue) -> Self {
            self.put(name, stage, value);
            self
        }
        fn put(&self, name: &str, stage: Option<&str>, value: SecretValue) {
            lock(&self.values).insert((name.to_owned(), stage.map(str::to_owned)), value);
        }
        fn delayed(self, delay: Duration) -> Self {
            self.delay(delay);
            self
        }
        fn delay(&self, delay: Duration) {
            self.delay_ms
                .store(delay.as_millis() as u64, Ordering::Relaxed);
        }
        fn fail(&self, on: bool) {
            self.failing.store(on, Ordering::Relaxed);
        }
        fn calls(&self) -> u64 {
            self.calls.load(Ordering::Relaxed)
        }
    }

    impl SecretProvider for Memory {
        fn store(&self) -> &'static str {
            "memory"
        }
        fn fetch<'a>(&'a self, name: &'a str, stage: Option<&'a str>) -> SecretFuture<'a> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::Relaxed);
                lock(&self.asked).push((name.to_owned(), stage.map(str::to_owned)));
                let delay = self.delay_ms.load(Ordering::Relaxed);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                if self.failing.load(Ordering::Relaxed) {
                    return Err(SecretError::new(
                        SecretErrorKind::Unavailable,
                        "memory store switched off",
                    ));
                }
                let key = (name.to_owned(), stage.map(str::to_owned));
                match lock(&self.values).get(&key) {
                    Some(value) => Ok(Secret::new(value.clone())
                        .with_version("v1")
                        .with_stages(vec![stage.unwrap_or("AWSCURRENT").to_owned()])),
                    None => Err(SecretError::new(
                        SecretErrorKind::NotFound,
                        format!("no secret `{name}`"),
                    )),
                }
            })
        }
    }

    fn text(value: &str) -> SecretValue {
        SecretValue::Text(value.to_owned())
    }

    fn stats(fetches: u64, hits: u64, stale_served: u64, errors: u64) -> SecretsStats {
        SecretsStats {
            fetches,
            hits,
            stale_served,
            errors,
            ..SecretsStats::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_value_is_served_from_the_cache_until_the_ttl_passes() {
        let store = Memory::default().with("db", None, text("s3cret"));
        let secrets = Secrets::new(store.clone()).ttl(Duration::from_secs(60));

        assert_eq!(secrets.text("db").await.unwrap(), "s3cret");
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(secrets.text("db").await.unwrap(), "s3cret");
        assert_eq!(store.calls(), 1);

        store.put("db", None, text("rotated"));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(secrets.text("db").await.unwrap(), "rotated");
        assert_eq!(store.calls(), 2);
        assert_eq!(secrets.stats(), stats(2, 1, 0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_default_ttl_is_five_minutes() {
        let store = Memory::default().with("db", None, text("s3cret"));
        let secrets = Secrets::new(store.clone());

        secrets.get("db").await.unwrap();
        tokio::time::advance(Duration::from_secs(299)).await;
        secrets.get("db").await.unwrap();
        assert_eq!(store.calls(), 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        secrets.get("db").await.unwrap();
        assert_eq!(store.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_gets_of_one_key_share_one_fetch() {
        let store = Memory::default()
            .with("db", None, text("s3cret"))
            .delayed(Duration::from_millis(50));
        let secrets = Secrets::new(store.clone());

        let gets = (0..10).map(|_| secrets.get("db"));
        let results = futures_util::future::join_all(gets).await;

        assert_eq!(store.calls(), 1);
        let first = results[0].as_ref().unwrap();
        for result in &results {
            assert!(Arc::ptr_eq(first, result.as_ref().unwrap()));
        }
        assert_eq!(secrets.stats(), stats(1, 9, 0, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_gets_on_a_multi_threaded_runtime_share_one_fetch() {
        let store = Memory::default()
            .with("db", None, text("s3cret"))
            .delayed(Duration::from_millis(20));
        let secrets = Secrets::new(store.clone());
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let secrets = secrets.clone();
                tokio::spawn(async move { secrets.text("db").await })
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.await.unwrap().unwrap(), "s3cret");
        }
        assert_eq!(store.calls(), 1);
        assert_eq!(secrets.stats(), stats(1, 9, 0, 0));
    }

    /// A store whose `slow` secret never answers.
    struct Stuck;

    impl SecretProvider for Stuck {
        fn store(&self) -> &'static str {
            "stuck"
        }
        fn fetch<'a>(&'a self, name: &'a str, _stage: Option<&'a str>) -> SecretFuture<'a> {
            Box::pin(async move {
                if name == "slow" {
                    std::future::pending::<()>().await;
                }
                Ok(Secret::new(SecretValue::Text("fast".into())))
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_fetch_holds_up_no_other_key() {
        let secrets = Secrets::new(Stuck);
        let slow = tokio::spawn({
            let secrets = secrets.clone();
            async move { secrets.get("slow").await }
        });
        tokio::task::yield_now().await;

        let fast = tokio::time::timeout(Duration::from_secs(5), secrets.text("fast")).await;
        assert_eq!(fast.unwrap().unwrap(), "fast");
        assert!(!slow.is_finished());
        slow.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_serves_the_stale_value_and_retries_once_a_second() {
        let mem = MemoryExporter::new();
        let logger = Observability::new().export_to(mem.clone()).logger();
        let store = Memory::default().with("db", None, text("s3cret"));
        let secrets = Secrets::new(store.clone())
            .ttl(Duration::from_secs(10))
            .logger(logger);

        secrets.get("db").await.unwrap();
        store.fail(true);
        tokio::time::advance(Duration::from_secs(10)).await;

        // The refresh fails: the stale value is served, once fetched and once logged.
        assert_eq!(secrets.text("db").await.unwrap(), "s3cret");
        assert_eq!(store.calls(), 2);
        assert_eq!(secrets.stats(), stats(2, 0, 1, 1));

        // Within the retry interval the store is not asked again.
        tokio::time::advance(Duration::from_millis(999)).await;
        assert_eq!(secrets.text("db").await.unwrap(), "s3cret");
        assert_eq!(store.calls(), 2);
        assert_eq!(secrets.stats(), stats(2, 0, 2, 1));

        // Then it is, once.
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(secrets.text("db").await.unwrap(), "s3cret");
        assert_eq!(store.calls(), 3);
        assert_eq!(secrets.stats(), stats(3, 0, 3, 2));

        // The store is back: the next try after the interval gets the new value.
        store.fail(false);
        store.put("db", None, text("rotated"));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(secrets.text("db").await.unwrap(), "rotated");
        assert_eq!(store.calls(), 4);
        assert_eq!(secrets.stats(), stats(4, 0, 3, 2));

        let logs = mem.logs();
        assert_eq!(logs.len(), 2, "one line per failed refresh: {logs:?}");
        for line in &logs {
            assert_eq!(line["level"], "WARN");
            assert_eq!(
                line["message"],
                "secret refresh failed; serving the cached value"
            );
            assert_eq!(line["secret"], "db");
            assert_eq!(line["store"], "memory");
            assert_eq!(line["error_kind"], "unavailable");
            assert_eq!(line["error"], "memory store switched off");
            assert!(line.get("stage").is_none());
        }
        assert_eq!(logs[0]["age_ms"], 10_000);
        assert_eq!(logs[1]["age_ms"], 11_000);
        for raw in mem.raw(crate::observability::RecordKind::Log) {
            assert!(!raw.contains("s3cret"), "{raw}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_stage_is_logged_with_its_stage() {
        let mem = MemoryExporter::new();
        let store = Memory::default().with("db", Some("AWSPREVIOUS"), text("old"));
        let secrets = Secrets::new(store.clone())
            .ttl(Duration::ZERO)
            .logger(Observability::new().export_to(mem.clone()).logger());

        secrets.get_stage("db", "AWSPREVIOUS").await.unwrap();
        store.fail(true);
        let stale = secrets.get_stage("db", "AWSPREVIOUS").await.unwrap();
        assert_eq!(stale.text(), Some("old"));
        assert_eq!(mem.logs()[0]["stage"], "AWSPREVIOUS");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_with_nothing_cached_is_returned_again_for_the_retry_interval() {
        let store = Memory::default();
        store.fail(true);
        let secrets = Secrets::new(store.clone());

        let err = secrets.get("db").await.unwrap_err();
        assert_eq!(err.kind(), SecretErrorKind::Unavailable);
        assert_eq!(err.message(), "memory store switched off");
        assert_eq!(
            err.to_string(),
            "secret store unavailable: memory store switched off"
        );

        // Within the retry interval the error is the answer, without asking the store.
        let again = secrets.get("db").await.unwrap_err();
        assert_eq!(again.message(), "memory store switched off");
        assert_eq!(store.calls(), 1);
        assert_eq!(secrets.stats().errors_cached, 1);

        // After it, the store is asked again.
        tokio::time::advance(DEFAULT_RETRY_INTERVAL).await;
        secrets.get("db").await.unwrap_err();
        assert_eq!(store.calls(), 2);
        assert_eq!(
            secrets.stats(),
            SecretsStats {
                errors_cached: 1,
                ..stats(2, 0, 0, 2)
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn not_found_is_cached_for_the_ttl_like_a_value() {
        let store = Memory::default().with("key", Some("AWSCURRENT"), text("v1"));
        let secrets = Secrets::new(store.clone()).ttl(Duration::from_secs(60));

        for _ in 0..100 {
            let err = secrets.get_stage("key", "AWSPREVIOUS").await.unwrap_err();
            assert_eq!(err.kind(), SecretErrorKind::NotFound);
        }
        assert_eq!(store.calls(), 1, "one fetch for a hundred calls");
        assert_eq!(secrets.stats().errors_cached, 99);

        // Once the TTL has passed the store is asked again, and a stage that now exists is
        // served.
        store.put("key", Some("AWSPREVIOUS"), text("v0"));
        tokio::time::advance(Duration::from_secs(59)).await;
        secrets.get_stage("key", "AWSPREVIOUS").await.unwrap_err();
        tokio::time::advance(Duration::from_secs(1)).await;
        let found = secrets.get_stage("key", "AWSPREVIOUS").await.unwrap();
        assert_eq!((found.text(), store.calls()), (Some("v0"), 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_value_that_disappears_is_not_found_not_stale() {
        let store = Memory::default().with("key", None, text("v1"));
        let secrets = Secrets::new(store.clone()).ttl(Duration::from_secs(60));
        secrets.get("key").await.unwrap();
        lock(&store.values).clear();
        tokio::time::advance(Duration::from_secs(60)).await;
        let err = secrets.get("key").await.unwrap_err();
        assert_eq!(err.kind(), SecretErrorKind::NotFound);
        assert_eq!(secrets.stats().stale_served, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_fetch_is_abandoned_after_the_fetch_timeout_and_the_stale_value_served() {
        let mem = MemoryExporter::new();
        let logger = Observability::new().export_to(mem.clone()).logger();
        let store = Memory::default().with("db", None, text("v1"));
        let secrets = Secrets::new(store.clone())
            .ttl(Duration::from_secs(60))
            .fetch_timeout(Duration::from_secs(2))
            .logger(logger);
        secrets.get("db").await.unwrap();

        // The store hangs far beyond any Lambda deadline: the caller and the one waiting for
        // the same fetch both get the stale value once the fetch timeout passes.
        store.delay(Duration::from_secs(3600));
        tokio::time::advance(Duration::from_secs(60)).await;
        let started = Instant::now();
        let (a, b) = tokio::join!(secrets.get("db"), secrets.get("db"));
        assert_eq!(
            (a.unwrap().text(), b.unwrap().text()),
            (Some("v1"), Some("v1"))
        );
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert_eq!(
            secrets.stats(),
            SecretsStats {
                timeouts: 1,
                ..stats(2, 0, 2, 1)
            }
        );
        let logs = mem.logs();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0]["level"], "WARN");
        assert_eq!(logs[0]["error"], "no answer within 2s");
        assert_eq!(logs[0]["error_kind"], "unavailable");

        // With nothing cached, the timeout is the caller's error.
        let empty = Secrets::new(store.clone()).fetch_timeout(Duration::from_millis(500));
        let err = empty.get("other").await.unwrap_err();
        assert_eq!(
            (err.kind(), err.message()),
            (SecretErrorKind::Unavailable, "no answer within 500ms")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refresh_asks_the_store_whatever_the_cache_holds() {
        let store = Memory::default().with("key", Some("AWSCURRENT"), text("v1"));
        let secrets = Secrets::new(store.clone());
        secrets.get_stage("key", "AWSCURRENT").await.unwrap();
        store.put("key", Some("AWSCURRENT"), text("v2"));
        assert_eq!(
            secrets.get_stage("key", "AWSCURRENT").await.unwrap().text(),
            Some("v1"),
            "cached"
        );
        let fresh = secrets.refresh("key", Some("AWSCURRENT")).await.unwrap();
        assert_eq!((fresh.text(), store.calls()), (Some("v2"), 2));
        // And the cache now holds the fresh value.
        assert_eq!(
            secrets.get_stage("key", "AWSCURRENT").await.unwrap().text(),
            Some("v2")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_gets_share_one_failed_fetch() {
        let store = Memory::default().delayed(Duration::from_millis(50));
        store.fail(true);
        let secrets = Secrets::new(store.clone());

        let results = futures_util::future::join_all((0..5).map(|_| secrets.get("db"))).await;
        assert_eq!(store.calls(), 1);
        for result in results {
            assert_eq!(result.unwrap_err().kind(), SecretErrorKind::Unavailable);
        }
        assert_eq!(secrets.stats(), stats(1, 0, 0, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn stages_are_cached_apart_and_invalidate_drops_every_stage() {
        let store = Memory::default().with("db", None, text("current")).with(
            "db",
            Some("AWSPREVIOUS"),
            text("previous"),
        );
        let secrets = Secrets::new(store.clone());

        assert_eq!(secrets.text("db").await.unwrap(), "current");
        let previous = secrets.get_stage("db", "AWSPREVIOUS").await.unwrap();
        assert_eq!(previous.text(), Some("previous"));
        assert_eq!(previous.stages(), ["AWSPREVIOUS"]);
        assert_eq!(previous.version(), Some("v1"));
        secrets.get("db").await.unwrap();
        secrets.get_stage("db", "AWSPREVIOUS").await.unwrap();
        assert_eq!(store.calls(), 2);
        assert_eq!(
            *lock(&store.asked),
            [
                ("db".to_owned(), None),
                ("db".to_owned(), Some("AWSPREVIOUS".to_owned()))
            ]
        );

        secrets.invalidate("db");
        secrets.get("db").await.unwrap();
        secrets.get_stage("db", "AWSPREVIOUS").await.unwrap();
        assert_eq!(store.calls(), 4);
        assert_eq!(secrets.stats(), stats(4, 2, 0, 0));
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Db {
        username: String,
        password: String,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Port {
        #[allow(dead_code)]
        port: u16,
    }

    #[tokio::test]
    async fn json_secrets_parse_into_types() {
        let store = Memory::default()
            .with("db", None, text(r#"{"username":"app","password":"p@ss"}"#))
            .with(
                "bin",
                None,
                SecretValue::Binary(br#"{"username":"b","password":"c"}"#.to_vec()),
            );
        let secrets = Secrets::new(store.clone());

        let db: Db = secrets.json("db").await.unwrap();
        assert_eq!(
            db,
            Db {
                username: "app".into(),
                password: "p@ss".into()
            }
        );
        let bin: Db = secrets.json("bin").await.unwrap();
        assert_eq!((bin.username.as_str(), bin.password.as_str()), ("b", "c"));
        // Parsed from the cached value: no second fetch.
        let _: Db = secrets.json("db").await.unwrap();
        assert_eq!(store.calls(), 2);
    }

    #[tokio::test]
    async fn json_errors_never_quote_the_value() {
        let store = Memory::default()
            .with("port", None, text(r#"{"port":"hunter2"}"#))
            .with("broken", None, text("hunter2 is not json"))
            .with("short", None, text(r#"{"port":"#));
        let secrets = Secrets::new(store);

        // serde_json's own message quotes the value: the reason for writing our own.
        let raw = serde_json::from_str::<Port>(r#"{"port":"hunter2"}"#).unwrap_err();
        assert!(raw.to_string().contains("hunter2"), "{raw}");

        let err = secrets.json::<Port>("port").await.unwrap_err();
        assert_eq!(err.kind(), SecretErrorKind::Invalid);
        assert_eq!(
            err.message(),
            "secret `port`: the secret's value is JSON that does not match the expected type \
             (line 1, column 17)"
        );
        let err = secrets.json::<Port>("broken").await.unwrap_err();
        assert_eq!(
            err.message(),
            "secret `broken`: the secret's value is not valid JSON (line 1, column 1)"
        );
        let err = secrets.json::<Port>("short").await.unwrap_err();
        assert_eq!(
            err.message(),
            "secret `short`: the secret's value is JSON that ends early (line 1, column 8)"
        );
    }

    #[tokio::test]
    async fn text_of_a_binary_secret_is_invalid() {
        let store = Memory::default().with("key", None, SecretValue::Binary(vec![0, 159, 146]));
        let secrets = Secrets::new(store);

        let err = secrets.text("key").await.unwrap_err();
        assert_eq!(err.kind(), SecretErrorKind::Invalid);
        assert_eq!(err.message(), "secret `key` is binary, not text");
        let secret = secrets.get("key").await.unwrap();
        assert_eq!(secret.bytes(), [0, 159, 146]);
        assert_eq!(secret.text(), None);
    }

    /// A handler can `?` a secret: the client gets a 500 and the message is logged, never sent.
    #[test]
    fn a_secret_error_is_an_internal_error_for_the_client() {
        let error: crate::Error = SecretError::new(SecretErrorKind::NotFound, "no `db`").into();
        assert_eq!(error.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.code(), "internal");
    }

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new(text("hunter2"))
            .with_version("v7")
            .with_stages(vec!["AWSCURRENT".into()]);
        assert_eq!(
            format!("{secret:?}"),
            r#"Secret { value: Text(<redacted>), version: Some("v7"), stages: ["AWSCURRENT"] }"#
        );
        assert_eq!(format!("{:#?}", secret.value()), "Text(<redacted>)");
        let binary = SecretValue::Binary(b"hunter2".to_vec());
        assert_eq!(format!("{binary:?}"), "Binary(<redacted>)");
        assert_eq!(secret.bytes(), b"hunter2");
    }

    #[test]
    fn secrets_debug_shows_the_store_and_settings() {
        let secrets = Secrets::new(Memory::default()).ttl(Duration::from_secs(30));
        let debug = format!("{secrets:?}");
        assert!(
            debug.starts_with(r#"Secrets { store: "memory", ttl: 30s"#),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn configuring_a_shared_cache_gives_the_handle_its_own() {
        let store = Memory::default().with("db", None, text("s3cret"));
        let first = Secrets::new(store.clone());
        first.get("db").await.unwrap();
        let second = first.clone().ttl(Duration::ZERO);

        second.get("db").await.unwrap();
        second.get("db").await.unwrap();
        assert_eq!(store.calls(), 3);
        assert_eq!(first.stats(), stats(1, 0, 0, 0));
        assert_eq!(second.stats(), stats(2, 0, 0, 0));
    }
}
