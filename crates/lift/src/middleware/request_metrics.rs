//! `RequestMetrics`: per-route request count, latency and error counts, as CloudWatch metrics.
//!
//! For each HTTP request (other events pass straight through) it records `Requests` (Count, 1), `Latency` (Milliseconds) and, when
//! the status is 4xx or 5xx, `Errors4xx` or `Errors5xx` (Count, 1), with the dimensions `route`
//! (the template, or `unmatched`), `method` and `status_class` (`2xx`, `4xx`, ...), through the
//! invocation's [`Metrics`](crate::observability::Metrics). These metrics get a dimension set of
//! their own (after `service` and the default dimensions) — a second directive in the
//! invocation's EMF document — so the route dimensions never multiply the handler's own
//! metrics.
//!
//! ```
//! use lift::middleware::RequestMetrics;
//! use lift::prelude::*;
//!
//! let app = App::new()
//!     .middleware(RequestMetrics::new())
//!     .get("/users/{id}", |_ctx: Context| async { "ok" });
//! assert!(app.build().is_ok());
//! ```

use std::time::Instant;

use super::{Middleware, Next, Outcome};
use crate::observability::Unit;
use crate::{BoxFuture, Context};

/// Records request metrics per route. See the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestMetrics;

impl RequestMetrics {
    /// The middleware.
    pub fn new() -> Self {
        RequestMetrics
    }
}

fn class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

impl Middleware for RequestMetrics {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        let metrics = ctx.metrics();
        let route = ctx.route().template().unwrap_or("unmatched").to_owned();
        let method = ctx.request().method().to_string();
        let started = Instant::now();
        Box::pin(async move {
            let outcome = next.run(ctx).await;
            let status = match &outcome {
                Ok(r) => r.status().as_u16(),
                Err(e) => e.status().as_u16(),
            };
            let class = class(status);
            // The dimensions are valid by construction (non-empty, short); a failure here
            // is counted by the collector like any other rejected metric.
            if let Ok(m) = metrics.with_dimensions(&[
                ("route", &route),
                ("method", &method),
                ("status_class", class),
            ]) {
                m.counter("Requests").increment();
                m.histogram("Latency", Unit::Milliseconds)
                    .record(started.elapsed().as_secs_f64() * 1000.0);
                match class {
                    "4xx" => m.counter("Errors4xx").increment(),
                    "5xx" => m.counter("Errors5xx").increment(),
                    _ => {}
                }
            }
            outcome
        })
    }

    fn http_only(&self) -> bool {
        true
    }
}
