//! Fetching a key set: a bounded HTTP(S) GET.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What [`JwksFetch::get`] returns: the body of a 200 response, or why there is none.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Bytes, String>> + Send + 'a>>;

/// Gets a key set document. [`HttpsFetch`] is the built-in one; implement this to fetch through
/// a proxy or a client of your own.
pub trait JwksFetch: Send + Sync + 'static {
    /// GET `url`: the body of a 200 response, or a message saying why not.
    fn get<'a>(&'a self, url: &'a str) -> FetchFuture<'a>;
}

/// The largest key set document read (64 KiB: Cognito's and Auth0's are about 1 KiB).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// HTTPS (and plain HTTP, for tests on loopback) on rustls with the `aws-lc-rs` provider and
/// the Mozilla root certificates, a time limit per request (default 2 s) and a size limit of
/// [`MAX_JWKS_BYTES`]. The TLS client is made at the first fetch, not at start-up.
pub struct HttpsFetch {
    client: OnceLock<Result<HttpsClient, String>>,
    timeout: Duration,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

impl Default for HttpsFetch {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpsFetch {
    /// A fetcher with the default time limit.
    pub fn new() -> Self {
        HttpsFetch {
            client: OnceLock::new(),
            timeout: Duration::from_secs(2),
        }
    }

    /// The time limit of one request, connection included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn client(&self) -> Result<&HttpsClient, String> {
        self.client
            .get_or_init(|| {
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_webpki_roots(provider)
                    .map_err(|e| format!("TLS setup failed: {e}"))?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(Client::builder(TokioExecutor::new()).build(connector))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    async fn fetch(&self, url: &str) -> Result<Bytes, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| "the key set URL is invalid".to_owned())?;
        let request = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = self
            .client()?
            .request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if response.status() != http::StatusCode::OK {
            return Err(format!(
                "the key set endpoint answered {}",
                response.status()
            ));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the key set failed: {e}"))?;
        Ok(body.to_bytes())
    }
}

impl JwksFetch for HttpsFetch {
    fn get<'a>(&'a self, url: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.fetch(url)).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            }
        })
    }
}
