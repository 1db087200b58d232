//! **Step 1, outside Lambda:** an HTTP request on `127.0.0.1` becomes an HTTP API event and
//! enters the corridor at step 2, as a Runtime API event would.
//!
//! The local development server: outside Lambda, [`App::run`](crate::App::run) serves the app
//! over HTTP on `127.0.0.1:$LIFT_PORT` (default 3000). Each request is turned into an HTTP API
//! (payload 2.0) event and walks the same corridor as in Lambda, so what works locally works
//! deployed.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::service::AppService;
use crate::events::apigw_v2;
use crate::events::encode::HttpParts;
use crate::events::Reply;
use crate::wire::LambdaContext;
use crate::BoxError;

/// The deadline each local request gets, like a function timeout.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) async fn serve(app: AppService) -> Result<(), BoxError> {
    let port: u16 = match std::env::var("LIFT_PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("LIFT_PORT is not a port number: {p}"))?,
        Err(_) => 3000,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    println!("lift: serving on http://{addr} (Ctrl-C to stop)");
    let shutdown = crate::corridor::shutdown::signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => {
                app.shutdown().await;
                return Ok(());
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(app.clone(), peer, req));
            // A client that hangs up mid-request is not the server's problem.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    app: AppService,
    peer: SocketAddr,
    req: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    // A body over the largest limit any route accepts is refused without being kept; the
    // corridor then applies each route's own limit to what was read.
    let body = match read_body(body, app.inner.max_body_limit).await {
        ReadBody::Read(b) => b,
        ReadBody::TooLarge(limit) => return Ok(too_large(limit)),
        ReadBody::Unreadable => return Ok(plain(400, "the request body could not be read")),
    };
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut event = HttpParts::new(parts.method.clone(), path_and_query, peer.ip().to_string());
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        if name == http::header::COOKIE {
            // HTTP API moves cookies out of the headers into the `cookies` array.
            for c in value.split(';') {
                let (k, v) = c.trim().split_once('=').unwrap_or((c.trim(), ""));
                event.cookies.push((k.to_owned(), v.to_owned()));
            }
        } else {
            event
                .headers
                .push((name.as_str().to_owned(), value.into_owned()));
        }
    }
    if !body.is_empty() {
        event.body = Some(body.to_vec());
    }
    let event = apigw_v2::encode(&event, apigw_v2::HTTP_API_DOMAIN);
    let lambda = LambdaContext::local(next_request_id(), LOCAL_TIMEOUT);
    let invocation = app.invoke(Bytes::from(event), lambda).await;
    let out = match &invocation.reply {
        Ok(Reply::Http(reply)) => {
            let r = reply.response();
            let mut out = http::Response::new(Full::new(r.body().clone()));
            *out.status_mut() = r.status();
            *out.headers_mut() = r.headers().clone();
            out
        }
        Ok(_) => plain(500, "the app did not answer with an HTTP response"),
        Err(e) => plain(500, &e.to_string()),
    };
    let after = invocation.after_response;
    if !after.is_empty() {
        tokio::spawn(after.run());
    }
    Ok(out)
}

/// How much of a body over the limit is read (and dropped) so that the client, still
/// sending, gets the 413 rather than a reset connection: Lambda's own payload limit, and some.
const DRAIN_LIMIT: u64 = 8 * 1024 * 1024;

enum ReadBody {
    Read(Bytes),
    TooLarge(usize),
    Unreadable,
}

/// Read a body of at most `limit` bytes. A larger one (by its declared length, or as soon as
/// the bytes read pass the limit) is not kept: the rest is read and dropped, up to
/// [`DRAIN_LIMIT`].
async fn read_body(mut body: Incoming, limit: usize) -> ReadBody {
    let declared = http_body::Body::size_hint(&body).exact();
    let mut kept = Vec::new();
    let mut seen: u64 = 0;
    let mut over = declared.is_some_and(|n| n > limit as u64);
    if over && declared.is_some_and(|n| n > DRAIN_LIMIT) {
        return ReadBody::TooLarge(limit);
    }
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return ReadBody::Unreadable;
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len() as u64;
        if seen > limit as u64 {
            over = true;
            kept = Vec::new();
        }
        if over {
            if seen > DRAIN_LIMIT {
                break;
            }
        } else {
            kept.extend_from_slice(&data);
        }
    }
    if over {
        ReadBody::TooLarge(limit)
    } else {
        ReadBody::Read(Bytes::from(kept))
    }
}

/// The 413 with the project's JSON error body, as the corridor would answer it.
fn too_large(limit: usize) -> http::Response<Full<Bytes>> {
    let e = crate::Error::payload_too_large(limit);
    let mut r = http::Response::new(Full::new(Bytes::from(e.to_body(&next_request_id()))));
    *r.status_mut() = e.status();
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

fn plain(status: u16, message: &str) -> http::Response<Full<Bytes>> {
    let mut r = http::Response::new(Full::new(Bytes::from(message.to_owned())));
    *r.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

/// A unique, UUID-shaped request id for each local request.
fn next_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (t >> 32) as u32,
        (t >> 16) as u16,
        t as u16 & 0xfff,
        (n >> 48) as u16 & 0xfff,
        n & 0xffff_ffff_ffff
    )
}
