//! The Lambda runtime glue: `lambda_runtime` polls the Runtime API, Lift's corridor handles each
//! event, and a layer around the response step runs after-response work once the response has
//! been posted, so telemetry flushes never delay the client.
//!
//! Invocations run concurrently when `AWS_LAMBDA_MAX_CONCURRENCY` is above 1 (Lambda Managed
//! Instances); all per-invocation state is in the [`Context`](crate::Context), and the
//! after-response work is keyed by the Lambda request id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task;

use bytes::Bytes;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent, LambdaInvocation, Runtime};
use serde_json::value::RawValue;

use crate::app::{AppService, Reply};
use crate::{BoxError, BoxFuture};

/// After-response work of invocations whose response is being posted, by request id.
#[derive(Default)]
struct Pending(Mutex<HashMap<String, Vec<BoxFuture<()>>>>);

impl Pending {
    fn put(&self, request_id: String, tasks: Vec<BoxFuture<()>>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(request_id, tasks);
    }

    fn take(&self, request_id: &str) -> Vec<BoxFuture<()>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(request_id).unwrap_or_default()
    }
}

const REQUIRED_ENV: [&str; 3] = [
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

pub(crate) async fn run(app: AppService) -> Result<(), BoxError> {
    // `lambda_runtime` panics on a missing variable; say which one instead.
    for var in REQUIRED_ENV {
        if std::env::var_os(var).is_none() {
            return Err(format!("{var} is not set: is this running in Lambda?").into());
        }
    }
    let pending = Arc::new(Pending::default());
    let handler = {
        let app = app.clone();
        let pending = pending.clone();
        service_fn(move |event: LambdaEvent<Box<RawValue>>| {
            let app = app.clone();
            let pending = pending.clone();
            async move { handle(app, pending, event).await }
        })
    };
    crate::shutdown::install(app).await;
    Runtime::new(handler)
        .layer(AfterResponseLayer { pending })
        .run_concurrent()
        .await
}

async fn handle(
    app: AppService,
    pending: Arc<Pending>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Reply, Diagnostic> {
    let (payload, context) = event.into_parts();
    let request_id = context.request_id.clone();
    let raw: Box<str> = payload.into();
    let bytes = Bytes::from(raw.into_boxed_bytes());
    match app.invoke(bytes, context.into()).await {
        Ok(invocation) => {
            if !invocation.after_response.is_empty() {
                pending.put(request_id, invocation.after_response);
            }
            Ok(invocation.reply)
        }
        Err(e) => Err(Diagnostic {
            error_type: e.error_type.to_owned(),
            error_message: e.message,
        }),
    }
}

/// Wraps the runtime's response step: once it has posted the response, run the invocation's
/// after-response work.
#[derive(Clone)]
struct AfterResponseLayer {
    pending: Arc<Pending>,
}

impl<S> Layer<S> for AfterResponseLayer {
    type Service = AfterResponse<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AfterResponse {
            inner,
            pending: self.pending.clone(),
        }
    }
}

#[derive(Clone)]
struct AfterResponse<S> {
    inner: S,
    pending: Arc<Pending>,
}

impl<S> Service<LambdaInvocation> for AfterResponse<S>
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

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let request_id = invocation.context.request_id.clone();
        let posted = self.inner.call(invocation);
        let pending = self.pending.clone();
        Box::pin(async move {
            let result = posted.await;
            for task in pending.take(&request_id) {
                task.await;
            }
            result
        })
    }
}
