//! The bridge from the `tracing` crate: events emitted with `tracing` (by your code or by
//! libraries such as the AWS SDK) while an invocation runs come out as Lift log lines that carry
//! that invocation's fields; events outside any invocation carry the service fields only.
//!
//! Each invocation runs inside a `lift.invocation` span to which the corridor attaches the
//! invocation's [`Logger`]; the bridge finds it by walking the event's span scope, so
//! concurrent invocations on one thread pool never borrow each other's fields.
//!
//! `tracing` spans opened inside an invocation become Lift spans (X-Ray subsegments), nested
//! as the `tracing` spans are, under the handler's span. Their fields become metadata; a field
//! named `annotation.<key>` becomes the annotation `<key>` instead (indexed by X-Ray):
//!
//! ```
//! # async fn load_order(id: u64) {}
//! # async fn handler() {
//! use tracing::Instrument;
//!
//! let id = 42_u64;
//! load_order(id)
//!     .instrument(tracing::info_span!("load order", annotation.order_id = id, table = "orders"))
//!     .await;
//! # }
//! ```
//!
//! Spans from the AWS SDK and the HTTP stack under it (targets `aws_*`, `hyper*`, `h2`,
//! `tower*`, `rustls`) are left out: Lift's SDK interceptor traces each AWS call once.

use std::fmt;

use serde_json::Value;
use std::sync::{Arc, Mutex};
use tracing::field::{Field as TField, Visit};

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

use super::Frame;
use super::{Field, Level, Logger, Observability, Span, Tracer};

/// A `tracing-subscriber` layer writing `tracing` events through Lift's logger. Install it with
/// [`install_tracing_bridge`], or add it to your own `Registry`-based subscriber.
pub struct TracingBridge {
    fallback: Logger,
    min: Level,
}

impl fmt::Debug for TracingBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracingBridge")
            .field("min", &self.min)
            .finish()
    }
}

/// The invocation's logger and frame, stored in the `lift.invocation` span's extensions.
struct InvocationLogger(Logger, Frame);

/// The Lift span a `tracing` span became, in its extensions; it ends when the `tracing` span
/// closes.
struct LiftSpan {
    span: Mutex<Span>,
    id: Option<Arc<str>>,
    frame: Frame,
}

/// Targets whose spans are not traced: the AWS SDK (traced by its interceptor) and the HTTP
/// stack beneath it.
fn untraced(target: &str) -> bool {
    ["aws_", "hyper", "h2", "tower", "rustls"]
        .iter()
        .any(|p| target.starts_with(p))
}

impl TracingBridge {
    /// A bridge for this configuration.
    pub fn new(obs: &Observability) -> Self {
        let s = &obs.settings;
        // Sampling and the debug buffer can make DEBUG lines count in some invocations.
        let min = if s.sample_rate > 0.0 || s.debug_buffer.is_some() {
            s.level.min(Level::Debug)
        } else {
            s.level
        };
        TracingBridge {
            fallback: obs.logger(),
            min,
        }
    }
}

/// Install the bridge as the global `tracing` subscriber. Fails if one is already set.
pub fn install_tracing_bridge(
    obs: &Observability,
) -> Result<(), tracing::subscriber::SetGlobalDefaultError> {
    tracing::subscriber::set_global_default(Registry::default().with(TracingBridge::new(obs)))
}

fn level(l: &tracing::Level) -> Level {
    match *l {
        tracing::Level::TRACE => Level::Trace,
        tracing::Level::DEBUG => Level::Debug,
        tracing::Level::INFO => Level::Info,
        tracing::Level::WARN => Level::Warn,
        _ => Level::Error,
    }
}

/// The span every invocation runs in, carrying its logger for the bridge. Disabled (and nearly
/// free) when no `Registry`-based subscriber is installed.
pub(crate) fn invocation_span(frame: &Frame) -> tracing::Span {
    let span = tracing::info_span!("lift.invocation");
    span.with_subscriber(|(id, dispatch)| {
        if let Some(registry) = dispatch.downcast_ref::<Registry>() {
            if let Some(data) = registry.span(id) {
                data.extensions_mut().insert(InvocationLogger(
                    Logger::context(frame.clone()),
                    frame.clone(),
                ));
            }
        }
    });
    span
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(String, Value)>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &TField, value: &dyn fmt::Debug) {
        let v = format!("{value:?}");
        if field.name() == "message" {
            self.message = v;
        } else {
            self.fields
                .push((field.name().to_owned(), Value::String(v)));
        }
    }
    fn record_str(&mut self, field: &TField, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.fields
                .push((field.name().to_owned(), Value::String(value.to_owned())));
        }
    }
    fn record_i64(&mut self, field: &TField, value: i64) {
        self.fields
            .push((field.name().to_owned(), Value::from(value)));
    }
    fn record_u64(&mut self, field: &TField, value: u64) {
        self.fields
            .push((field.name().to_owned(), Value::from(value)));
    }
    fn record_f64(&mut self, field: &TField, value: f64) {
        self.fields
            .push((field.name().to_owned(), Value::from(value)));
    }
    fn record_bool(&mut self, field: &TField, value: bool) {
        self.fields
            .push((field.name().to_owned(), Value::Bool(value)));
    }
}

impl<S> Layer<S> for TracingBridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, _ctx: LayerContext<'_, S>) -> bool {
        meta.is_span() || level(meta.level()) >= self.min
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(data) = ctx.span(id) else { return };
        let meta = data.metadata();
        if meta.name() == "lift.invocation" || untraced(meta.target()) {
            return;
        }
        // The nearest enclosing Lift span, or the invocation's handler span.
        let mut under = None;
        for ancestor in data.scope().skip(1) {
            let ext = ancestor.extensions();
            if let Some(l) = ext.get::<LiftSpan>() {
                under = Some((l.frame.clone(), l.id.clone()));
                break;
            }
            if let Some(inv) = ext.get::<InvocationLogger>() {
                under = Some((inv.1.clone(), inv.1.span_id()));
                break;
            }
        }
        let Some((frame, parent)) = under else { return };
        let tracer = Tracer::context(frame.clone());
        if !tracer.is_recording() {
            return;
        }
        let mut span = tracer.span_under(meta.name(), parent);
        let mut v = Fields::default();
        attrs.record(&mut v);
        add_fields(&mut span, v);
        let id = span.shared_id();
        data.extensions_mut().insert(LiftSpan {
            span: Mutex::new(span),
            id,
            frame,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(data) = ctx.span(id) else { return };
        let ext = data.extensions();
        if let Some(l) = ext.get::<LiftSpan>() {
            let mut v = Fields::default();
            values.record(&mut v);
            add_fields(&mut l.span.lock().unwrap_or_else(|p| p.into_inner()), v);
        }
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        if let Some(data) = ctx.span(&id) {
            // Dropping it ends it.
            drop(data.extensions_mut().remove::<LiftSpan>());
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let logger = ctx
            .event_scope(event)
            .and_then(|scope| {
                scope.from_root().find_map(|span| {
                    span.extensions()
                        .get::<InvocationLogger>()
                        .map(|l| l.0.clone())
                })
            })
            .unwrap_or_else(|| self.fallback.clone());
        let lvl = level(event.metadata().level());
        if !logger.enabled(lvl) {
            return;
        }
        let mut v = Fields::default();
        event.record(&mut v);
        let mut fields: Vec<(&str, Field<'_>)> = Vec::with_capacity(v.fields.len() + 1);
        fields.push(("target", Field::Str(event.metadata().target())));
        fields.extend(
            v.fields
                .iter()
                .map(|(k, val)| (k.as_str(), Field::Json(val))),
        );
        logger.log(lvl, &v.message, &fields);
    }
}

/// A `tracing` span's fields on its Lift span: `annotation.<key>` as annotations, the rest as
/// metadata (`message`, if any, too).
fn add_fields(span: &mut Span, v: Fields) {
    if !v.message.is_empty() {
        span.metadata("message", v.message);
    }
    for (key, value) in v.fields {
        match key.strip_prefix("annotation.") {
            Some(k) => span.annotate(k, value),
            None => span.metadata(&key, value),
        }
    }
}
