//! [`XRayInterceptor`]: each AWS SDK call made from a handler as an X-Ray subsegment.
//!
//! Add it to a client's config, and every call that client makes while a handler runs becomes a
//! subsegment under the handler's: namespace `aws`, named after the service, with the
//! operation, the region, the request id and the HTTP status, marked `error`, `throttle` or
//! `fault` by that status. The request carries `X-Amzn-Trace-Id` with the subsegment as its
//! parent, so a service that continues traces (SQS to Lambda, say) links back to it. That
//! header replaces the one the SDK takes from `_X_AMZN_TRACE_ID`, which concurrent invocations
//! share.
//!
//! ```no_run
//! # #[cfg(feature = "secrets-manager")]
//! # async fn example() {
//! use lift_aws::aws_config::{self, BehaviorVersion};
//! use lift_aws::aws_sdk_secretsmanager as sm;
//! use lift_aws::xray::XRayInterceptor;
//!
//! let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
//! let client = sm::Client::from_conf(
//!     sm::config::Builder::from(&config).interceptor(XRayInterceptor::new()).build(),
//! );
//! # let _ = client;
//! # }
//! ```
//!
//! Calls outside a handler (at start-up, in a spawned task, in the after-response window) are
//! not traced: the interceptor finds the handler through [`Tracer::current`]. Lift's own
//! exporters build their clients without it, so their CloudWatch calls never produce telemetry
//! of their own.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_types::region::Region;
use lift::observability::{Span, Tracer};

/// Traces AWS SDK calls as X-Ray subsegments. See the [module](self) doc.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct XRayInterceptor;

impl XRayInterceptor {
    /// The interceptor.
    pub fn new() -> Self {
        XRayInterceptor
    }
}

/// The call's span, kept in the call's config bag between the hooks.
#[derive(Debug, Clone)]
struct CallSpan(Arc<Mutex<Option<Span>>>);

impl Storable for CallSpan {
    type Storer = StoreReplace<Self>;
}

fn take(cfg: &ConfigBag) -> Option<Span> {
    cfg.load::<CallSpan>()
        .and_then(|c| c.0.lock().unwrap_or_else(|p| p.into_inner()).take())
}

impl Intercept for XRayInterceptor {
    fn name(&self) -> &'static str {
        "LiftXRay"
    }

    // Not `read_before_execution`: a client's interceptors run that before the operation's
    // configuration, which names the service and the operation, is loaded.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let tracer = Tracer::current();
        if !tracer.is_recording() {
            return Ok(());
        }
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_else(|| ("aws".to_owned(), String::new()));
        let mut span = tracer.span(&service);
        span.set_namespace("aws");
        if !operation.is_empty() {
            span.set_aws("operation", operation);
        }
        if let Some(region) = cfg.load::<Region>() {
            span.set_aws("region", region.as_ref().to_owned());
        }
        cfg.interceptor_state()
            .store_put(CallSpan(Arc::new(Mutex::new(Some(span)))));
        Ok(())
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let header = cfg.load::<CallSpan>().and_then(|c| {
            c.0.lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .and_then(Span::trace_header)
        });
        if let Some(h) = header {
            context
                .request_mut()
                .headers_mut()
                .insert("x-amzn-trace-id", h);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(mut span) = take(cfg) else {
            return Ok(());
        };
        if let Some(response) = context.response() {
            span.set_http_status(response.status().as_u16());
            let headers = response.headers();
            let id = headers
                .get("x-amzn-requestid")
                .or_else(|| headers.get("x-amz-request-id"));
            if let Some(id) = id {
                span.set_aws("request_id", id.to_owned());
            }
        }
        if let Some(Err(e)) = context.output_or_error() {
            // The error's kind, never its message: messages may quote the request.
            let kind = if e.is_timeout_error() {
                "timeout"
            } else if e.is_connector_error() {
                "connection error"
            } else if e.is_response_error() {
                "response error"
            } else if e.is_operation_error() {
                "service error"
            } else {
                "client error"
            };
            span.set_error(kind);
        }
        span.end();
        Ok(())
    }
}
