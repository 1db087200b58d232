//! **Step 2 of the corridor:** the one entry every way in calls.
//!
//! [`AppService`]: a built [`App`], the corridor's one entry — every way in (the runtime glue,
//! the dev server, [`testing`](crate::testing)) calls [`AppService::invoke`], and the process's
//! end calls [`AppService::shutdown`]. Its one `impl` names each step and hands it to the file
//! that does it: `invoke.rs` for one invocation, `shutdown.rs` for the end. Also what an
//! invocation gives back, [`Invocation`]: the reply (or the invocation error) and the
//! [`AfterResponse`] work.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::after_response::AfterResponse;
use crate::app::{App, Parts};
use crate::events::Reply;
use crate::observability::Observability;
use crate::wire::{BuildError, InvokeError, LambdaContext};

/// A built [`App`](crate::App): cheap to clone, shared by concurrent invocations.
#[derive(Clone)]
pub struct AppService {
    pub(crate) inner: Arc<Parts>,
}

impl fmt::Debug for AppService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppService").finish_non_exhaustive()
    }
}

impl AppService {
    /// Handle one invocation: the raw event bytes and the Lambda context in, the reply (or the
    /// invocation error) and the after-response work out. This is the whole corridor; the
    /// runtime, the dev server and [`testing`](crate::testing) all call it.
    pub async fn invoke(&self, event: Bytes, lambda: LambdaContext) -> Invocation {
        super::invoke::invoke(self, event, lambda).await
    }

    /// Shut down within the configured bound: the shutdown hooks (once; later calls do
    /// nothing), then the process-level metrics, then every exporter's shutdown.
    pub async fn shutdown(&self) {
        super::shutdown::shutdown(self).await
    }

    /// The app's telemetry configuration, for its [`stats`](Observability::stats) and
    /// process-level logger and metrics.
    pub fn observability(&self) -> &Observability {
        &self.inner.observability
    }
}

impl App {
    /// Build the app: check the routes and freeze the configuration. A route, a method of a
    /// route, an event handler or a fallback registered twice is an error, never a silent
    /// replacement.
    pub fn build(self) -> Result<AppService, BuildError> {
        Ok(AppService {
            inner: Arc::new(self.freeze()?),
        })
    }

    /// Build the app and serve it: on the Lambda Runtime API when `AWS_LAMBDA_RUNTIME_API` is
    /// set, otherwise over HTTP on `127.0.0.1:$LIFT_PORT` (default 3000) for local development.
    pub async fn run(self) -> Result<(), crate::BoxError> {
        let service = self.build()?;
        if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
            super::runtime::run(service).await
        } else {
            super::dev::serve(service).await
        }
    }
}

/// One handled invocation: the reply to post (or the error to report), and the work to run
/// once it has been posted. The work is there whether the invocation succeeded or failed.
pub struct Invocation {
    /// The reply to post, or the invocation error to report.
    pub reply: Result<Reply, InvokeError>,
    /// The telemetry flush and the work registered with
    /// [`Context::after_response`](crate::Context::after_response).
    pub after_response: AfterResponse,
}

impl fmt::Debug for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invocation")
            .field("reply", &self.reply)
            .field("after_response", &self.after_response)
            .finish()
    }
}

impl Invocation {
    /// Run the after-response work (the runtime does this once the reply is posted), then
    /// give back the reply.
    pub async fn finish(self) -> Result<Reply, InvokeError> {
        self.after_response.run().await;
        self.reply
    }
}
