//! **Step 1 of the corridor** (Runtime API bytes → `lambda_runtime` → the corridor; step 7: the
//! reply posted, then the after-response work).
//!
//! The Lambda runtime glue: `lambda_runtime` polls the Runtime API, Lift's corridor handles each
//! event, and a layer around the response step runs after-response work once the response has
//! been posted, so telemetry flushes never delay the client.
//!
//! The same layer takes the event's raw bytes before `lambda_runtime` deserialises them and
//! hands them to the corridor untouched (the runtime deserialises a `null` in their place): the
//! event is parsed exactly once, by Lift, with no copy, and bytes that are not JSON get Lift's
//! own `Lift.InvalidEvent` error instead of a runtime-internal type name.
//!
//! Why the bytes and the after-response work go through a map keyed by the Lambda request id
//! rather than straight to the corridor: `lambda_runtime` composes "deserialise the event, call
//! the handler, post the reply" from services it does not export (`RuntimeApiResponseService`,
//! `RuntimeApiClientService`), so the only public seam is a layer around all three, and the
//! handler it calls receives nothing but `LambdaEvent { payload, context }`, whose types have no
//! room for bytes or deferred work. The layer is the only code that sees the raw bytes and the
//! only code that runs after the POST; the handler is the only code that runs the corridor. The
//! map is how the two meet, one entry per in-flight invocation, taken as soon as it is read.
//!
//! Invocations run concurrently when `AWS_LAMBDA_MAX_CONCURRENCY` is above 1 (Lambda Managed
//! Instances); all per-invocation state is in the [`Context`](crate::Context), and the
//! after-response work is keyed by the Lambda request id. It runs once the response (or the
//! invocation error) has been posted, whichever it was, and is isolated: see
//! [`AfterResponse`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task;

use bytes::Bytes;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent, LambdaInvocation, Runtime};
use serde::de::IgnoredAny;

use super::service::AppService;
use crate::corridor::after_response::AfterResponse;
use crate::events::Reply;
use crate::{BoxError, BoxFuture};

/// What an in-flight invocation hands between the layer and the handler, by request id:
/// the raw event on the way in, the after-response work on the way out.
#[derive(Default)]
struct Inflight(Mutex<HashMap<String, Parked>>);

enum Parked {
    Event(Bytes),
    AfterResponse(AfterResponse),
}

impl Inflight {
    fn put(&self, request_id: String, slot: Parked) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(request_id, slot);
    }

    fn take(&self, request_id: &str) -> Option<Parked> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(request_id)
    }
}

/// The stand-in body `lambda_runtime` deserialises while the real one goes to the corridor.
const PLACEHOLDER: &[u8] = b"null";

const REQUIRED_ENV: [&str; 3] = [
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

pub(crate) async fn run(app: AppService) -> Result<(), BoxError> {
    // `lambda_runtime` panics on a missing or malformed variable; say which one instead.
    for var in REQUIRED_ENV {
        if std::env::var_os(var).is_none() {
            return Err(format!("{var} is not set: is this running in Lambda?").into());
        }
    }
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap_or_default();
    if http::Uri::try_from(api.as_str()).is_err() {
        return Err(format!("AWS_LAMBDA_RUNTIME_API is not a valid address: {api:?}").into());
    }
    let inflight = Arc::new(Inflight::default());
    let handler = {
        let app = app.clone();
        let inflight = inflight.clone();
        service_fn(move |event: LambdaEvent<IgnoredAny>| {
            let app = app.clone();
            let inflight = inflight.clone();
            async move { handle(app, inflight, event.context).await }
        })
    };
    crate::corridor::shutdown::install(app).await;
    Runtime::new(handler)
        .layer(CorridorLayer { inflight })
        .run_concurrent()
        .await
}

async fn handle(
    app: AppService,
    inflight: Arc<Inflight>,
    context: lambda_runtime::Context,
) -> Result<Reply, Diagnostic> {
    let request_id = context.request_id.clone();
    let bytes = match inflight.take(&request_id) {
        Some(Parked::Event(bytes)) => bytes,
        _ => {
            return Err(Diagnostic {
                error_type: "Lift.MissingEvent".to_owned(),
                error_message: "the invocation's event did not reach the handler".to_owned(),
            })
        }
    };
    let invocation = app.invoke(bytes, context.into()).await;
    if !invocation.after_response.is_empty() {
        inflight.put(request_id, Parked::AfterResponse(invocation.after_response));
    }
    invocation.reply.map_err(|e| Diagnostic {
        error_type: e.error_type.to_owned(),
        error_message: e.message,
    })
}

/// Wraps the runtime's deserialise-handle-post steps: takes the raw event on the way in, and
/// once the response has been posted, runs the invocation's after-response work.
#[derive(Clone)]
struct CorridorLayer {
    inflight: Arc<Inflight>,
}

impl<S> Layer<S> for CorridorLayer {
    type Service = Corridor<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Corridor {
            inner,
            inflight: self.inflight.clone(),
        }
    }
}

#[derive(Clone)]
struct Corridor<S> {
    inner: S,
    inflight: Arc<Inflight>,
}

impl<S> Service<LambdaInvocation> for Corridor<S>
where
    S: Service<LambdaInvocation, Response = (), Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = BoxError;
    type Future = BoxFuture<Result<(), BoxError>>;

    fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        let request_id = invocation.context.request_id.clone();
        let event = std::mem::replace(&mut invocation.body, Bytes::from_static(PLACEHOLDER));
        self.inflight.put(request_id.clone(), Parked::Event(event));
        let posted = self.inner.call(invocation);
        let inflight = self.inflight.clone();
        Box::pin(async move {
            let result = posted.await;
            // Whatever the handler left (its after-response work, or the event if it never
            // ran) leaves the map here, so nothing outlives the invocation.
            if let Some(Parked::AfterResponse(work)) = inflight.take(&request_id) {
                work.run().await;
            }
            result
        })
    }
}
