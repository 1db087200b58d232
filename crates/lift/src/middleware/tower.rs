//! `TowerLayer`: use a tower / tower-http layer on Lift routes.
//!
//! The layer wraps the rest of the chain as a tower `Service<http::Request<Full<Bytes>>>`: the
//! request it sees is built from the invocation (method; the path, percent-encoded as the
//! client sent it (an HTTP API, which hands the path over decoded, has it encoded again); the
//! raw query string, with only the bytes a URI cannot hold percent-encoded; headers; body), and
//! the `http::Response` it returns becomes the Lift response (its body collected). This suits
//! response-side layers — compression, response headers, propagation of headers — which is
//! what the ecosystem offers for Lambda. Changes a layer makes to the *request* are not seen
//! by Lift handlers, which read the [`Context`]; use a Lift middleware for those. An error
//! from the inner chain passes through the layer unchanged.
//!
//! ```
//! use lift::middleware::TowerLayer;
//! use lift::prelude::*;
//! use tower::layer::util::Identity;
//!
//! let app = App::new()
//!     .route("/data", Route::new().get(|_ctx: Context| async { "data" }).middleware(TowerLayer::new(Identity::new())));
//! assert!(app.build().is_ok());
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use tower::{Layer, Service, ServiceExt};

use super::{Middleware, Next, Outcome};
use crate::http::Response;
use crate::{BoxFuture, Context, Error};

/// The invocation handed through the tower service, and the inner chain's error on the way out.
#[derive(Clone)]
struct Handoff(Arc<Mutex<HandoffState>>);

enum HandoffState {
    In(Context, Next),
    Failed(Error),
    Empty,
}

impl Handoff {
    fn take(&self) -> HandoffState {
        std::mem::replace(
            &mut *self.0.lock().unwrap_or_else(|p| p.into_inner()),
            HandoffState::Empty,
        )
    }

    fn put(&self, s: HandoffState) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }
}

/// The rest of the Lift chain as a tower service.
#[derive(Clone, Debug, Default)]
pub struct NextService;

impl Service<http::Request<Full<Bytes>>> for NextService {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Full<Bytes>>) -> Self::Future {
        let slot = req.extensions().get::<Handoff>().cloned();
        Box::pin(async move {
            let outcome = match slot.as_ref().map(Handoff::take) {
                Some(HandoffState::In(ctx, next)) => next.run(ctx).await,
                _ => Err(Error::internal(std::io::Error::other(
                    "a tower layer called the inner service twice or without the request",
                ))),
            };
            Ok(match outcome {
                Ok(r) => {
                    let mut out = http::Response::new(Full::new(r.body().clone()));
                    *out.status_mut() = r.status();
                    *out.headers_mut() = r.headers().clone();
                    out
                }
                Err(e) => {
                    // The layer sees a placeholder; the error itself is handed back below.
                    let mut out = http::Response::new(Full::new(Bytes::new()));
                    *out.status_mut() = e.status();
                    if let Some(slot) = slot {
                        slot.put(HandoffState::Failed(e));
                    }
                    out
                }
            })
        })
    }
}

/// A tower layer as Lift middleware. See the [module docs](self).
#[derive(Clone)]
pub struct TowerLayer<L> {
    layer: L,
}

impl<L> fmt::Debug for TowerLayer<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TowerLayer").finish_non_exhaustive()
    }
}

impl<L> TowerLayer<L> {
    /// Adapt `layer`.
    pub fn new(layer: L) -> Self {
        TowerLayer { layer }
    }
}

/// Bytes a URI query cannot carry as they are (a raw query may hold a space sent as is);
/// `%`, `&`, `=`, `+`, `/` and `?` are kept.
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Bytes a percent-encoded path (REST API, ALB, Function URL: as the client sent it) may still
/// hold that a URI cannot carry as they are: those of a query, and `?`. `%` is kept, so that
/// the encoding the client chose stays as it is.
const PATH: &AsciiSet = &QUERY.add(b'?');

/// The same for a path the source decoded (an HTTP API `rawPath`, which may hold spaces,
/// non-ASCII or `#`): there a `%` is a character of the path, and is encoded too.
const DECODED_PATH: &AsciiSet = &PATH.add(b'%');

/// The request's URI as the source received it: the real path, and the raw query string.
fn uri(ctx: &Context) -> Result<http::Uri, Error> {
    let req = ctx.request();
    let set = if req.path_decoded { DECODED_PATH } else { PATH };
    let mut uri: String = utf8_percent_encode(req.raw_path(), set).collect();
    let query = req.raw_query();
    if !query.is_empty() {
        uri.push('?');
        uri.extend(utf8_percent_encode(&query, QUERY));
    }
    http::Uri::try_from(uri)
        .map_err(|e| Error::bad_request("request path is not a valid URI").with_source(e))
}

fn http_request(ctx: &Context) -> Result<http::Request<Full<Bytes>>, Error> {
    let req = ctx.request();
    let mut builder = http::Request::builder()
        .method(ctx.request().method().clone())
        .uri(uri(ctx)?);
    for (k, v) in req.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(k.to_ascii_lowercase()),
            http::HeaderValue::try_from(v),
        ) {
            builder = builder.header(name, value);
        }
    }
    let body = Bytes::from(ctx.request().body()?.into_owned());
    builder.body(Full::new(body)).map_err(Error::internal)
}

impl<L, S, B> Middleware for TowerLayer<L>
where
    L: Layer<NextService, Service = S> + Send + Sync + 'static,
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: fmt::Display,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: fmt::Display,
{
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        let mut req = match http_request(&ctx) {
            Ok(r) => r,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let slot = Handoff(Arc::new(Mutex::new(HandoffState::In(ctx, next))));
        req.extensions_mut().insert(slot.clone());
        let service = self.layer.layer(NextService);
        Box::pin(async move {
            let res = service
                .oneshot(req)
                .await
                .map_err(|e| Error::internal(std::io::Error::other(e.to_string())))?;
            if let HandoffState::Failed(e) = slot.take() {
                return Err(e);
            }
            let (parts, body) = res.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| Error::internal(std::io::Error::other(e.to_string())))?
                .to_bytes();
            let mut out = Response::new(parts.status).with_body(bytes);
            *out.headers_mut() = parts.headers;
            Ok(out)
        })
    }
}
