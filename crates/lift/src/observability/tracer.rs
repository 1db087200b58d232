//! A span API for tracing work inside an invocation.
//!
//! Spans are recorded in the invocation and handed to the exporters as one [`SpanBatch`] of
//! trees when the invocation ends (after the response): each [`SpanRecord`] has its `name`,
//! `id`, `parent_id`, `start_time` and `end_time` (epoch seconds), `annotations`, `metadata`,
//! `error`, its `http` block and its children.
//!
//! Lift opens one span per invocation around the handler (`## GET /users/:id`, `## sqs`), and
//! one per record of a batch, nested in it. A span started from a [`Context`](crate::Context)'s
//! tracer, or from [`Tracer::current`], nests under its request's (or record's) handler span;
//! [`Span::child`] nests deeper. A span carries its request's or record's identity: `tenant_id`
//! and `user_id` annotations, when known by the time it ends.
//!
//! Nothing is recorded — spans cost an `Option` check — when tracing is off
//! (`POWERTOOLS_TRACE_DISABLED`), when no exporter takes spans (the default stdout exporter
//! does not), or when the trace is not sampled (`Sampled=0`). A span that ends after its
//! invocation was flushed is counted as late.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::frame::Frame;
use super::record::{SpanHttp, SpanRecord};
use super::xray::new_id;

fn epoch_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

tokio::task_local! {
    /// The frame of the request or record whose handler runs in this task.
    static CURRENT: Frame;
}

/// Run `fut` as the work of `frame`, so that [`Tracer::current`] finds it.
pub(crate) fn within<F: Future>(frame: Frame, fut: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(frame, fut)
}

/// Starts spans for one invocation. From [`Context::tracer`](crate::RequestHandle::tracer), or
/// [`Tracer::current`] where no `Context` is at hand (an HTTP client wrapper, an AWS SDK
/// interceptor).
#[derive(Clone)]
pub struct Tracer {
    frame: Option<Frame>,
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracer")
            .field("recording", &self.frame.is_some())
            .finish()
    }
}

impl Tracer {
    pub(crate) fn context(frame: Frame) -> Self {
        let recorded = frame.telemetry().trace.recorded;
        Tracer {
            frame: recorded.then_some(frame),
        }
    }

    /// The tracer of the request or record whose handler is running in this task; one that
    /// records nothing outside any (and in tasks spawned from a handler, which do not inherit
    /// it: pass them the `Context`'s tracer).
    pub fn current() -> Tracer {
        CURRENT
            .try_with(|f| Tracer::context(f.clone()))
            .unwrap_or(Tracer { frame: None })
    }

    /// Whether spans started here are recorded.
    pub fn is_recording(&self) -> bool {
        self.frame.is_some()
    }

    /// Start a span under the request's (or record's) handler span; it ends when dropped or
    /// [`end`](Span::end)ed.
    pub fn span(&self, name: &str) -> Span {
        let parent = self.frame.as_ref().and_then(Frame::span_id);
        Span::start(self.frame.clone(), name, parent)
    }

    /// Start a span under `parent` (a span id), or at the top when `None`.
    pub(crate) fn span_under(&self, name: &str, parent: Option<Arc<str>>) -> Span {
        Span::start(self.frame.clone(), name, parent)
    }

    /// Trace an outgoing HTTP call: a `remote` span named after the host, with the request's
    /// method and URL, and `X-Amzn-Trace-Id` set on `request` with that span as the parent, so
    /// the service called can continue the trace. Set the response's status on the span (or
    /// [`set_error`](Span::set_error) when there is none) and let it end.
    ///
    /// ```
    /// # async fn send(_r: http::Request<()>) -> Result<http::Response<()>, std::io::Error> { Ok(http::Response::new(())) }
    /// use lift::prelude::*;
    ///
    /// async fn rates(ctx: Context) -> Result<String, Error> {
    ///     let mut request = http::Request::get("https://rates.example.com/v1/eur").body(()).unwrap();
    ///     let mut call = ctx.tracer().http_call(&mut request);
    ///     match send(request).await {
    ///         Ok(response) => call.set_http_status(response.status().as_u16()),
    ///         Err(_) => call.set_error("rates unreachable"),
    ///     }
    ///     Ok("1.08".into())
    /// }
    /// ```
    pub fn http_call<B>(&self, request: &mut http::Request<B>) -> Span {
        if !self.is_recording() {
            return Span::start(None, "", None);
        }
        let uri = request.uri();
        let host = uri.host().unwrap_or("remote").to_owned();
        let url = uri.to_string();
        let mut span = self.span(&host);
        span.set_namespace("remote");
        span.set_http_request(request.method().as_str(), &url);
        if let Some(h) = span
            .trace_header()
            .and_then(|h| http::HeaderValue::from_str(&h).ok())
        {
            request.headers_mut().insert("x-amzn-trace-id", h);
        }
        span
    }

    /// The trace header (`X-Amzn-Trace-Id`) to send with a call made from the handler span.
    /// `None` when the invocation has no trace.
    pub fn trace_header(&self) -> Option<String> {
        let frame = self.frame.as_ref()?;
        let span = frame.span_id();
        frame
            .telemetry()
            .trace
            .downstream(span.as_deref())
            .map(|h| h.to_string())
    }
}

/// A span being recorded: the record it becomes (its id and parent filled in when it ends),
/// and its id and parent shared with the spans started inside it.
struct SpanData {
    record: SpanRecord,
    id: Arc<str>,
    parent: Option<Arc<str>>,
}

/// A unit of traced work. Annotations are indexed (searchable) key-values; metadata is not.
pub struct Span {
    frame: Option<Frame>,
    data: Option<Box<SpanData>>,
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Span")
            .field("name", &self.data.as_ref().map(|d| d.record.name.as_str()))
            .finish()
    }
}

impl Span {
    fn start(frame: Option<Frame>, name: &str, parent: Option<Arc<str>>) -> Span {
        let data = frame.as_ref().map(|_| {
            let now = epoch_seconds(SystemTime::now());
            Box::new(SpanData {
                record: SpanRecord::new(name, String::new(), now, now),
                id: Arc::from(new_id()),
                parent,
            })
        });
        Span { frame, data }
    }

    /// A span nested in this one.
    pub fn child(&self, name: &str) -> Span {
        Span::start(
            self.frame.clone(),
            name,
            self.data.as_ref().map(|d| d.id.clone()),
        )
    }

    /// Whether this span is recorded.
    pub fn is_recording(&self) -> bool {
        self.data.is_some()
    }

    /// Its id (16 hex digits), when recorded.
    pub fn id(&self) -> Option<&str> {
        self.data.as_ref().map(|d| &*d.id)
    }

    pub(crate) fn shared_id(&self) -> Option<Arc<str>> {
        self.data.as_ref().map(|d| d.id.clone())
    }

    /// The trace header (`X-Amzn-Trace-Id`) to send with a call this span makes: the same
    /// trace, this span as the parent.
    pub fn trace_header(&self) -> Option<String> {
        let frame = self.frame.as_ref()?;
        frame
            .telemetry()
            .trace
            .downstream(self.id())
            .map(|h| h.to_string())
    }

    /// Add an annotation (indexed by X-Ray): a string, number or bool. X-Ray keys take
    /// letters, digits and underscores (others are written as `_`), 50 a span at most.
    pub fn annotate(&mut self, key: &str, value: impl Into<Value>) {
        if let Some(d) = &mut self.data {
            d.record.annotations.insert(key.to_owned(), value.into());
        }
    }

    /// Add metadata (not indexed).
    pub fn metadata(&mut self, key: &str, value: impl Into<Value>) {
        if let Some(d) = &mut self.data {
            d.record.metadata.insert(key.to_owned(), value.into());
        }
    }

    /// Mark the span failed, with a message fit to show (an error code, never a secret). A
    /// span already failed keeps its first error.
    pub fn set_error(&mut self, message: impl Into<String>) {
        if let Some(d) = &mut self.data {
            d.record.error.get_or_insert_with(|| message.into());
        }
    }

    /// Mark it a downstream call: `aws` (an AWS service) or `remote` (anything else).
    pub fn set_namespace(&mut self, namespace: &str) {
        if let Some(d) = &mut self.data {
            d.record.namespace = Some(namespace.to_owned());
        }
    }

    /// The HTTP request it serves or makes. The query string is never written to X-Ray.
    pub fn set_http_request(&mut self, method: &str, url: &str) {
        if let Some(h) = self.http() {
            h.method = Some(method.to_owned());
            h.url = Some(super::xray::without_query(url).to_owned());
        }
    }

    /// The HTTP response's status, which sets the `error` (4xx), `throttle` (429) or `fault`
    /// (5xx) flag.
    pub fn set_http_status(&mut self, status: u16) {
        if let Some(h) = self.http() {
            h.status = Some(status);
        }
    }

    /// An `aws` block field (`operation`, `region`, `request_id`, …).
    pub fn set_aws(&mut self, key: &str, value: impl Into<Value>) {
        if let Some(d) = &mut self.data {
            d.record.aws.insert(key.to_owned(), value.into());
        }
    }

    pub(crate) fn http(&mut self) -> Option<&mut SpanHttp> {
        self.data
            .as_mut()
            .map(|d| d.record.http.get_or_insert_with(SpanHttp::default))
    }

    /// End the span now.
    pub fn end(self) {}
}

impl Drop for Span {
    fn drop(&mut self) {
        let (Some(frame), Some(d)) = (&self.frame, self.data.take()) else {
            return;
        };
        let telemetry = frame.telemetry();
        if telemetry.late() {
            return;
        }
        let SpanData {
            mut record,
            id,
            parent,
        } = *d;
        let ids = frame.ids();
        for (key, value) in [("tenant_id", &ids.tenant), ("user_id", &ids.user)] {
            if let Some(v) = value {
                record
                    .annotations
                    .entry(key)
                    .or_insert_with(|| Value::String(v.to_string()));
            }
        }
        record.id = id.to_string();
        record.parent_id = parent.map(|p| p.to_string());
        record.end_time = epoch_seconds(SystemTime::now());
        telemetry.spans.push(record);
    }
}
