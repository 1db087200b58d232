//! The Secrets Manager and SSM providers, and the cache in front of them, against a real moto
//! server.
//!
//! Every test starts its own `moto_server` on a free loopback port and stops it when it ends
//! (a [`Moto`] guard kills it on drop, even when an assertion fails), so the tests share nothing
//! and run in parallel. `moto_server` comes from the test venv that `scripts/setup.sh` makes:
//! `$LIFT_VENV/bin`, then `PATH`, then `~/.cache/lift/venv/bin`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;

use common::{sdk_config, sdk_config_with, Moto};
use lift::observability::{MemoryExporter, Observability};
use lift::security::secrets::{
    SecretErrorKind, SecretFuture, SecretProvider, SecretValue, Secrets,
};
use lift_aws::aws_config::retry::RetryConfig;
use lift_aws::aws_config::SdkConfig;
use lift_aws::aws_sdk_secretsmanager as sm;
use lift_aws::aws_sdk_ssm as ssm;
use lift_aws::secrets::{secrets_manager, SecretsManager, Ssm};
use sm::primitives::Blob;

async fn create_secret(config: &SdkConfig, name: &str, text: &str) -> String {
    let out = sm::Client::new(config)
        .create_secret()
        .name(name)
        .secret_string(text)
        .send()
        .await
        .expect("CreateSecret");
    out.version_id.expect("CreateSecret returns a version id")
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Db {
    username: String,
    password: String,
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager
// ---------------------------------------------------------------------------------------------

/// An HS256 token of `https://auth.test` for `orders-api`, signed with `secret`.
fn hs256(secret: &str, sub: &str) -> String {
    // In a workspace build jsonwebtoken may have both backends (lift's tests turn the second
    // on): choose one before signing, as Lift does before verifying.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = serde_json::json!({
        "iss": "https://auth.test", "aud": "orders-api", "sub": sub, "exp": exp,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn jwt_hmac_keys_come_from_the_current_and_previous_versions_of_a_secret() {
    use lift::security::{Algorithm, HmacSecret, Issuer, Jwt, JwtError};

    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let keys = [
        "first-signing-key-0123456789abcdef",
        "second-signing-key-0123456789abcdef",
        "third-signing-key-0123456789abcdef",
    ];
    create_secret(&config, "prod/jwt-key", keys[0]).await;
    let put = |value: &'static str| {
        let client = sm::Client::new(&config);
        async move {
            client
                .put_secret_value()
                .secret_id("prod/jwt-key")
                .secret_string(value)
                .send()
                .await
                .expect("PutSecretValue");
        }
    };
    // No caching in the test: each token reads the versions the store has now.
    let secrets = secrets_manager(&config).ttl(Duration::ZERO);
    let jwt = Jwt::builder()
        .issuer(
            Issuer::new("https://auth.test")
                .audience("orders-api")
                .key_source(
                    HmacSecret::new(secrets, "prod/jwt-key", [Algorithm::HS256])
                        .ttl(Duration::ZERO)
                        .min_refresh_interval(Duration::ZERO),
                ),
        )
        .build()
        .unwrap();
    let logger = Observability::new().logger();
    let tokens: Vec<String> = keys.iter().map(|k| hs256(k, k)).collect();
    let verify = |i: usize| {
        let (jwt, logger, token) = (jwt.clone(), logger.clone(), tokens[i].clone());
        async move {
            jwt.verify(&token, &logger)
                .await
                .map(|p| p.user_id().map(str::to_owned))
        }
    };

    assert_eq!(verify(0).await, Ok(Some(keys[0].to_owned())));
    assert_eq!(verify(1).await, Err(JwtError::InvalidSignature));

    // Rotation: the new value is AWSCURRENT, the old one AWSPREVIOUS; both verify.
    put(keys[1]).await;
    assert_eq!(verify(1).await, Ok(Some(keys[1].to_owned())));
    assert_eq!(verify(0).await, Ok(Some(keys[0].to_owned())));

    // The next rotation retires the first key.
    put(keys[2]).await;
    assert_eq!(verify(2).await, Ok(Some(keys[2].to_owned())));
    assert_eq!(verify(1).await, Ok(Some(keys[1].to_owned())));
    assert_eq!(verify(0).await, Err(JwtError::InvalidSignature));
}

/// Secrets Manager, counting the calls made to it: a provider written against the public API.
struct Counting {
    inner: SecretsManager,
    calls: Arc<AtomicU64>,
}

impl SecretProvider for Counting {
    fn store(&self) -> &'static str {
        self.inner.store()
    }
    fn fetch<'a>(&'a self, name: &'a str, stage: Option<&'a str>) -> SecretFuture<'a> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.fetch(name, stage)
    }
}

#[tokio::test]
async fn a_rotated_secret_is_accepted_at_once_and_forgeries_cost_at_most_one_fetch_per_interval() {
    use lift::security::{Algorithm, HmacSecret, Issuer, Jwt, JwtError};

    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let (old, new) = (
        "first-signing-key-0123456789abcdef",
        "second-signing-key-0123456789abcdef",
    );
    create_secret(&config, "prod/jwt-key", old).await;
    let calls = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: SecretsManager::new(&config),
        calls: calls.clone(),
    };
    // The default caches (five minutes each); refreshes at least two seconds apart.
    let interval = Duration::from_secs(2);
    let jwt = Jwt::builder()
        .issuer(
            Issuer::new("https://auth.test")
                .audience("orders-api")
                .key_source(
                    HmacSecret::new(Secrets::new(counting), "prod/jwt-key", [Algorithm::HS256])
                        .min_refresh_interval(interval),
                ),
        )
        .build()
        .unwrap();
    let logger = Observability::new().logger();
    let calls = || calls.load(Ordering::Relaxed);

    assert!(jwt.verify(&hs256(old, "u-1"), &logger).await.is_ok());
    assert_eq!(calls(), 2, "AWSCURRENT, and AWSPREVIOUS (not found yet)");

    // The secret rotates in Secrets Manager, some time after the keys were loaded.
    tokio::time::sleep(interval).await;
    sm::Client::new(&config)
        .put_secret_value()
        .secret_id("prod/jwt-key")
        .secret_string(new)
        .send()
        .await
        .expect("PutSecretValue");

    // A token signed with the new secret is accepted at once, not when the caches expire.
    let principal = jwt.verify(&hs256(new, "u-2"), &logger).await.unwrap();
    assert_eq!(principal.user_id(), Some("u-2"));
    assert_eq!(calls(), 4, "one refresh: both stages, past the cache");
    // And one signed just before the rotation still verifies, with no call.
    assert!(jwt.verify(&hs256(old, "u-1"), &logger).await.is_ok());
    assert_eq!(calls(), 4);

    // A hundred forgeries of the right algorithm: each asks for a refresh, at most one runs
    // per interval, and it reads only AWSCURRENT (unchanged, so AWSPREVIOUS is cached).
    for i in 0..100 {
        let forged = hs256("a-guessed-signing-key-0123456789abc", &format!("f-{i}"));
        assert_eq!(
            jwt.verify(&forged, &logger).await.err(),
            Some(JwtError::InvalidSignature)
        );
    }
    assert!(calls() <= 5, "{} calls", calls());
    // A hundred of another algorithm: none reaches the store.
    let before = calls();
    for i in 0..100 {
        let forged = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS384),
            &serde_json::json!({"iss": "https://auth.test", "aud": "orders-api", "jti": i}),
            &jsonwebtoken::EncodingKey::from_secret(b"anything").unwrap(),
        )
        .unwrap();
        assert_eq!(
            jwt.verify(&forged, &logger).await.err(),
            Some(JwtError::AlgorithmNotAllowed)
        );
    }
    assert_eq!(calls(), before);
}

#[tokio::test]
async fn a_hung_secrets_manager_is_cut_off_and_the_stale_value_served() {
    let moto = Moto::start();
    let proxy = Moto::proxy(&moto);
    let config = sdk_config_with(&proxy, RetryConfig::disabled()).await;
    create_secret(&config, "app/db-password", "still-good").await;
    let mem = MemoryExporter::new();
    let secrets = secrets_manager(&config)
        .ttl(Duration::ZERO)
        .logger(Observability::new().export_to(mem.clone()).logger());
    assert_eq!(secrets.text("app/db-password").await.unwrap(), "still-good");

    // The endpoint now answers after 30 s, far past the 2 s fetch timeout: had the fetch
    // waited, it would have returned a fresh value and logged nothing.
    proxy.set_mode(r#"{"mode": "delay", "ms": 30000}"#);
    let (a, b) = tokio::join!(
        secrets.text("app/db-password"),
        secrets.text("app/db-password")
    );
    assert_eq!(
        (a.unwrap(), b.unwrap()),
        ("still-good".into(), "still-good".into())
    );
    let stats = secrets.stats();
    assert_eq!((stats.fetches, stats.errors, stats.stale_served), (2, 1, 2));
    let logs = mem.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["level"], "WARN");
    assert_eq!(logs[0]["error_kind"], "unavailable");

    // The provider's own client has an operation timeout too: alone, without the cache, a
    // call ends as unavailable instead of waiting for the answer.
    let err = SecretsManager::new(&config)
        .fetch("app/db-password", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn secrets_manager_reads_text_json_and_binary_secrets() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let text_version = create_secret(&config, "app/token", "s3cret-token").await;
    create_secret(&config, "app/db", r#"{"username":"app","password":"p@ss"}"#).await;
    sm::Client::new(&config)
        .create_secret()
        .name("app/key")
        .secret_binary(Blob::new(vec![0u8, 1, 2, 254, 255]))
        .send()
        .await
        .expect("CreateSecret (binary)");

    let secrets = secrets_manager(&config);
    assert_eq!(secrets.text("app/token").await.unwrap(), "s3cret-token");
    let token = secrets.get("app/token").await.unwrap();
    assert_eq!(token.version(), Some(text_version.as_str()));
    assert_eq!(token.stages(), ["AWSCURRENT"]);

    let db: Db = secrets.json("app/db").await.unwrap();
    assert_eq!(
        db,
        Db {
            username: "app".into(),
            password: "p@ss".into()
        }
    );

    let key = secrets.get("app/key").await.unwrap();
    assert!(matches!(key.value(), SecretValue::Binary(_)));
    assert_eq!(key.bytes(), [0, 1, 2, 254, 255]);
    let err = secrets.text("app/key").await.unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::Invalid);

    // Three secrets fetched once each; the second reads of two came from the cache.
    let stats = secrets.stats();
    assert_eq!((stats.fetches, stats.hits, stats.errors), (3, 2, 0));
}

#[tokio::test]
async fn secrets_manager_serves_the_current_and_previous_stages() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let first = create_secret(&config, "app/rotating", "first-value").await;

    let secrets = secrets_manager(&config);
    assert_eq!(secrets.text("app/rotating").await.unwrap(), "first-value");

    let second = sm::Client::new(&config)
        .put_secret_value()
        .secret_id("app/rotating")
        .secret_string("second-value")
        .send()
        .await
        .expect("PutSecretValue")
        .version_id
        .expect("PutSecretValue returns a version id");
    assert_ne!(first, second);

    // The cached current value stays until it expires or is dropped.
    assert_eq!(secrets.text("app/rotating").await.unwrap(), "first-value");
    secrets.invalidate("app/rotating");

    let current = secrets.get("app/rotating").await.unwrap();
    assert_eq!(current.text(), Some("second-value"));
    assert_eq!(current.version(), Some(second.as_str()));
    assert_eq!(current.stages(), ["AWSCURRENT"]);

    let previous = secrets
        .get_stage("app/rotating", "AWSPREVIOUS")
        .await
        .unwrap();
    assert_eq!(previous.text(), Some("first-value"));
    assert_eq!(previous.version(), Some(first.as_str()));
    assert_eq!(previous.stages(), ["AWSPREVIOUS"]);

    let named = secrets
        .get_stage("app/rotating", "AWSCURRENT")
        .await
        .unwrap();
    assert_eq!(named.text(), Some("second-value"));
}

#[tokio::test]
async fn a_missing_secret_or_stage_is_not_found() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    create_secret(&config, "app/only-current", "v").await;
    let secrets = secrets_manager(&config);

    let err = secrets.get("app/missing").await.unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::NotFound, "{err}");
    // moto's message and status (AWS answers 400 for this code).
    assert_eq!(
        err.message(),
        "GetSecretValue for `app/missing`: Secrets Manager can't find the specified secret. \
         (ResourceNotFoundException, HTTP 404)"
    );

    let err = secrets
        .get_stage("app/only-current", "AWSPREVIOUS")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::NotFound, "{err}");
    assert_eq!(secrets.stats().errors, 2);
}

#[tokio::test]
async fn the_cache_serves_the_stale_value_when_the_endpoint_dies() {
    let mut moto = Moto::start();
    // No retries: the dead endpoint fails at once instead of after the SDK's backoff.
    let config = sdk_config_with(&moto, RetryConfig::disabled()).await;
    create_secret(&config, "app/db-password", "still-good").await;
    let mem = MemoryExporter::new();
    let secrets = secrets_manager(&config)
        .ttl(Duration::ZERO)
        .logger(Observability::new().export_to(mem.clone()).logger());

    assert_eq!(secrets.text("app/db-password").await.unwrap(), "still-good");
    moto.stop();

    assert_eq!(secrets.text("app/db-password").await.unwrap(), "still-good");
    let stats = secrets.stats();
    assert_eq!(stats.fetches, 2);
    assert_eq!(stats.errors, 1);
    assert_eq!(stats.stale_served, 1);

    let logs = mem.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let line = &logs[0];
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["secret"], "app/db-password");
    assert_eq!(line["store"], "secretsmanager");
    assert_eq!(line["error_kind"], "unavailable");
    let error = line["error"].as_str().unwrap();
    assert!(
        error.starts_with("GetSecretValue for `app/db-password` got no response: "),
        "{error}"
    );
    assert!(!line.to_string().contains("still-good"), "{line}");

    // A fresh cache with nothing to fall back on returns the error.
    let fresh = lift::security::secrets::Secrets::new(SecretsManager::new(&config));
    let err = fresh.get("app/db-password").await.unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::Unavailable, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_gets_share_one_fetch() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    create_secret(&config, "app/shared", "one-fetch").await;
    let secrets = secrets_manager(&config);

    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let secrets = secrets.clone();
            tokio::spawn(async move { secrets.text("app/shared").await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "one-fetch");
    }
    let stats = secrets.stats();
    assert_eq!(stats.fetches, 1);
    assert_eq!(stats.hits, 9);
}

// ---------------------------------------------------------------------------------------------
// SSM Parameter Store
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ssm_reads_string_and_decrypted_secure_string_parameters() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let client = ssm::Client::new(&config);
    for (name, value, kind) in [
        ("/app/greeting", "hello", ssm::types::ParameterType::String),
        (
            "/app/db-password",
            "p@ss-secure",
            ssm::types::ParameterType::SecureString,
        ),
    ] {
        client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .send()
            .await
            .expect("PutParameter");
    }
    client
        .put_parameter()
        .name("/app/greeting")
        .value("hello again")
        .overwrite(true)
        .send()
        .await
        .expect("PutParameter (overwrite)");

    let parameters = lift_aws::secrets::ssm(&config);
    let greeting = parameters.get("/app/greeting").await.unwrap();
    assert_eq!(greeting.text(), Some("hello again"));
    assert_eq!(greeting.version(), Some("2"));
    assert!(greeting.stages().is_empty());

    let password = parameters.get("/app/db-password").await.unwrap();
    assert_eq!(password.text(), Some("p@ss-secure"));
    assert_eq!(password.version(), Some("1"));

    // A version selector in the name reads an older version.
    assert_eq!(parameters.text("/app/greeting:1").await.unwrap(), "hello");

    let err = parameters
        .get_stage("/app/greeting", "AWSPREVIOUS")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::Invalid);
    assert_eq!(err.message(), "SSM parameters have no version stages");

    let err = parameters.get("/app/missing").await.unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::NotFound, "{err}");
    assert!(
        err.message()
            .starts_with("GetParameter for `/app/missing`: "),
        "{err}"
    );
    assert!(
        err.message().ends_with("(ParameterNotFound, HTTP 400)"),
        "{err}"
    );
}

#[tokio::test]
async fn ssm_provider_over_an_existing_client() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let client = ssm::Client::new(&config);
    client
        .put_parameter()
        .name("/app/list")
        .value("a,b,c")
        .r#type(ssm::types::ParameterType::StringList)
        .send()
        .await
        .expect("PutParameter");

    let parameters = lift::security::secrets::Secrets::new(Ssm::from_client(client));
    assert_eq!(parameters.text("/app/list").await.unwrap(), "a,b,c");
}
