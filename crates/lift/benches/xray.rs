//! X-Ray tracing, Lift's native path next to OpenTelemetry's, each pair in one group so they
//! print side by side.
//!
//! `cargo bench -p lift --features opentelemetry --bench xray`
//!
//! - `xray/subsegment_create_end`: starting and ending one span under a parent, the cost a
//!   handler pays per span.
//!   - `lift`: a handler starts and ends N = 100 spans from its `Context`'s tracer (under
//!     the handler's span) and times that loop itself; `iter_custom` runs as many
//!     invocations as it takes to make the iterations asked for and sums the loops. What
//!     follows the response (building the trees, the exporters' accept, the flush) is not
//!     timed: the spans go to an exporter that only counts them.
//!   - `opentelemetry`: an `opentelemetry_sdk` tracer provider, simple span processor, no-op
//!     exporter; N child spans started and ended under one parent's context, the loop timed
//!     the same way. The simple processor hands each ended span to the exporter at once, so
//!     its per-span hand-off (a lock, a one-span `Vec`, a `block_on`) is in, the exporter's
//!     work (none) is not.
//!   - `opentelemetry_batch`: the same with the batch span processor: each ended span goes
//!     into its bounded channel, and its worker thread (not timed, but sharing the CPUs)
//!     exports them.
//! - `xray/trace_10_subsegments_send`: one trace, a handler span holding 10 children (two
//!   annotations and two metadata each, the handler with four annotations and an `http`
//!   block), serialised and sent as UDP datagrams to a socket on 127.0.0.1 that a thread
//!   keeps draining, as the daemon would.
//!   - `lift`: `XRayExporter::spans` (the documents, rendered from Lift's span trees) and
//!     `Exporter::flush` (the send), the trees built once before timing.
//!   - `opentelemetry`: `opentelemetry_aws`'s `XrayExporter` over `XrayDaemonClient`, with
//!     subsegment nesting (so the trace is one document, like Lift's), exporting the same 11
//!     spans as `SpanData`: translation, serialisation and the send. The `SpanData` are made
//!     once (by Lift's own conversion, below) and cloned for each export outside the timing.
//!   - `opentelemetry_from_lift`: what a Lift app sending through `opentelemetry-aws` pays:
//!     Lift's span trees through `OtelExporter` (conversion to `SpanData`) into that same
//!     exporter.
//!
//!   Before timing, each path sends once and the datagram is read back: it must arrive and
//!   hold all 11 spans, since `opentelemetry-aws` drops spans it refuses without a word.

// A bench is a test harness: a broken setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod support;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use lift::observability::otel::OtelExporter;
use lift::observability::xray::{document, new_id, TraceHeader, XRayExporter};
use lift::observability::{Exporter, Observability, SpanBatch, SpanHttp, SpanRecord};
use lift::testing::{invoke_with, TestRequest};
use lift::{App, Context, LambdaContext};
use opentelemetry::trace::{Span as _, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry_aws::xray_exporter::daemon_client::XrayDaemonClient;
use opentelemetry_aws::xray_exporter::{SegmentTranslator, XrayExporter};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData, SpanExporter};
use serde_json::{json, Value};
use support::{ready, Counting};

/// Spans made per invocation (and per parent on the OpenTelemetry side).
const SPANS_PER_PARENT: u64 = 100;

/// Takes every span and does nothing with it.
#[derive(Debug)]
struct Noop;

impl SpanExporter for Noop {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Ok(())
    }
}

fn traced_lambda(n: u64) -> LambdaContext {
    let mut l = LambdaContext::local(
        format!("8f7d8f2a-0000-4000-8000-{n:012x}"),
        Duration::from_secs(3),
    );
    let root = TraceHeader::new_root(SystemTime::now()).with_parent(&new_id());
    l.xray_trace_id = Some(root.to_string());
    l
}

fn subsegment_create_end(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sink = Counting::default();
    let wanted = Arc::new(AtomicU64::new(0));
    let timed = Arc::new(AtomicU64::new(0));
    let (w, t) = (wanted.clone(), timed.clone());
    let app = App::new()
        .observability(
            Observability::new()
                .service("lift-bench")
                .export_to(sink.clone()),
        )
        .get("/", move |ctx: Context| {
            let (n, timed) = (w.load(Ordering::Relaxed), t.clone());
            async move {
                let tracer = ctx.tracer();
                assert!(tracer.is_recording());
                let start = Instant::now();
                for _ in 0..n {
                    black_box(tracer.span("work")).end();
                }
                let took = start.elapsed().as_nanos() as u64;
                timed.fetch_add(took, Ordering::Relaxed);
                "ok"
            }
        })
        .build()
        .unwrap();

    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(Noop)
        .build();
    let batch_provider = SdkTracerProvider::builder()
        .with_batch_exporter(Noop)
        .build();

    let mut g = c.benchmark_group("xray/subsegment_create_end");
    let mut invocation = 0;
    g.bench_function("lift", |b| {
        b.iter_custom(|iters| {
            timed.store(0, Ordering::Relaxed);
            let mut left = iters;
            while left > 0 {
                let n = left.min(SPANS_PER_PARENT);
                wanted.store(n, Ordering::Relaxed);
                invocation += 1;
                let req = TestRequest::get("/").v2();
                runtime
                    .block_on(invoke_with(&app, req, traced_lambda(invocation)))
                    .unwrap();
                left -= n;
            }
            Duration::from_nanos(timed.load(Ordering::Relaxed))
        })
    });
    for (name, provider) in [
        ("opentelemetry", &provider),
        ("opentelemetry_batch", &batch_provider),
    ] {
        let tracer = provider.tracer("lift-bench");
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut took = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(SPANS_PER_PARENT);
                    let parent =
                        opentelemetry::Context::current_with_span(tracer.start("## GET /"));
                    let start = Instant::now();
                    for _ in 0..n {
                        black_box(tracer.start_with_context("work", &parent)).end();
                    }
                    took += start.elapsed();
                    parent.span().end();
                    left -= n;
                }
                took
            })
        });
    }
    g.finish();
    // Every span Lift made reached the exporter (with each invocation's handler span).
    assert!(sink.0.load(Ordering::Relaxed) > invocation);
    provider.shutdown().unwrap();
    batch_provider.shutdown().unwrap();
}

/// Where the daemon would listen: a thread drains the socket and counts datagrams, keeping
/// the last one while `keep` is set.
struct Daemon {
    address: SocketAddr,
    datagrams: Arc<AtomicU64>,
    keep: Arc<AtomicBool>,
    last: Arc<Mutex<Vec<u8>>>,
}

impl Daemon {
    fn start() -> Daemon {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = socket.local_addr().unwrap();
        let datagrams = Arc::new(AtomicU64::new(0));
        let keep = Arc::new(AtomicBool::new(true));
        let last = Arc::new(Mutex::new(Vec::new()));
        let (count, k, l) = (datagrams.clone(), keep.clone(), last.clone());
        // Ends with the bench process.
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 70 * 1024];
            while let Ok(n) = socket.recv(&mut buf) {
                count.fetch_add(1, Ordering::Relaxed);
                if k.load(Ordering::Relaxed) {
                    *l.lock().unwrap() = buf[..n].to_vec();
                }
            }
        });
        Daemon {
            address,
            datagrams,
            keep,
            last,
        }
    }

    /// Send once with `send`, and read back what arrived: one datagram, its document.
    fn check(&self, what: &str, send: impl FnOnce()) -> Value {
        let before = self.datagrams.load(Ordering::Relaxed);
        send();
        let waited = Instant::now();
        while self.datagrams.load(Ordering::Relaxed) == before {
            assert!(
                waited.elapsed() < Duration::from_secs(2),
                "{what}: no datagram arrived"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(50));
        let arrived = self.datagrams.load(Ordering::Relaxed) - before;
        self.keep.store(false, Ordering::Relaxed);
        let datagram = self.last.lock().unwrap().clone();
        assert_eq!(arrived, 1, "{what}: one document expected");
        // The daemon's header line (each client spaces it its own way), then the document.
        let body = &datagram[datagram.iter().position(|&b| b == b'\n').unwrap() + 1..];
        let doc: Value = serde_json::from_slice(body).unwrap();
        eprintln!("{what}: 1 datagram, {} bytes", datagram.len());
        doc
    }
}

/// The ids in a document and its nested subsegments.
fn ids(doc: &Value) -> usize {
    let nested = doc["subsegments"]
        .as_array()
        .map_or(0, |kids| kids.iter().map(ids).sum());
    usize::from(doc.get("id").is_some()) + nested
}

/// A handler span holding 10 children, as in Lambda under its function segment; the trace
/// id carries the current time, which `opentelemetry-aws` checks.
fn ten_subsegments() -> SpanBatch {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut handler = SpanRecord::new("## GET /users/:id", new_id(), now, now + 0.05);
    for (k, v) in [
        ("ColdStart", json!(false)),
        ("Service", json!("orders")),
        ("route", json!("/users/{id}")),
        ("tenant_id", json!("acme")),
    ] {
        handler.annotations.insert(k.into(), v);
    }
    let mut http = SpanHttp::default();
    http.method = Some("GET".into());
    http.url = Some("https://api.example.com/users/7".into());
    http.user_agent = Some("curl/8.0".into());
    http.client_ip = Some("198.51.100.4".into());
    http.status = Some(200);
    handler.http = Some(http);
    for i in 0..10 {
        let start = now + 0.001 + f64::from(i) * 0.004;
        let mut child = SpanRecord::new(format!("query {i}"), new_id(), start, start + 0.003);
        child.parent_id = Some(handler.id.clone());
        child.annotations.insert("table".into(), json!("users"));
        child.annotations.insert("tenant_id".into(), json!("acme"));
        child.metadata.insert("rows".into(), json!(i));
        child
            .metadata
            .insert("sql".into(), json!("SELECT * FROM users WHERE id = ?"));
        handler.children.push(child);
    }
    let mut batch = SpanBatch::new(vec![handler]);
    let header = TraceHeader::new_root(SystemTime::now());
    batch.trace_id = Some(header.root().to_owned());
    batch.parent_id = Some(new_id());
    batch.in_lambda = true;
    batch.service = "orders".into();
    batch
}

fn aws_exporter(to: SocketAddr) -> XrayExporter<XrayDaemonClient> {
    XrayExporter::new(XrayDaemonClient::new(to).unwrap())
        .with_translator(SegmentTranslator::new().always_nest_subsegments())
}

fn trace_10_subsegments_send(c: &mut Criterion) {
    let batch = ten_subsegments();
    let deadline = Instant::now() + Duration::from_secs(3600);

    // The same 11 spans as `SpanData`, as Lift converts them.
    let memory = InMemorySpanExporter::default();
    let convert = OtelExporter::new(memory.clone());
    convert.spans(&batch);
    ready(convert.flush(deadline));
    let spans = memory.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 11);

    let native_daemon = Daemon::start();
    let native = XRayExporter::with_address(&native_daemon.address.to_string());
    let doc = native_daemon.check("lift", || {
        native.spans(&batch);
        ready(native.flush(deadline));
    });
    assert_eq!(ids(&doc), 11, "lift: {doc}");

    let aws_daemon = Daemon::start();
    let aws = aws_exporter(aws_daemon.address);
    let doc = aws_daemon.check("opentelemetry", || {
        ready(aws.export(spans.clone())).unwrap();
    });
    assert_eq!(ids(&doc), 11, "opentelemetry: {doc}");

    let via_daemon = Daemon::start();
    let via = OtelExporter::new(aws_exporter(via_daemon.address));
    let doc = via_daemon.check("opentelemetry_from_lift", || {
        via.spans(&batch);
        ready(via.flush(deadline));
    });
    assert_eq!(ids(&doc), 11, "opentelemetry_from_lift: {doc}");

    let mut g = c.benchmark_group("xray/trace_10_subsegments_send");
    g.bench_function("lift", |b| {
        b.iter(|| {
            native.spans(black_box(&batch));
            ready(native.flush(deadline));
        })
    });
    // The same documents without the send: what of the figure is Lift's own work, and what
    // the kernel's UDP send to a reader on the other core.
    g.bench_function("lift_documents_only", |b| {
        b.iter(|| {
            let mut trimmed = document::Trimmed::default();
            document::datagrams(
                black_box(&batch),
                "bench",
                "",
                document::MAX_DATAGRAM,
                &mut trimmed,
            )
        })
    });
    let mut failed = 0u64;
    g.bench_function("opentelemetry", |b| {
        b.iter_batched(
            || spans.clone(),
            |spans| {
                if ready(aws.export(spans)).is_err() {
                    failed += 1;
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("opentelemetry_from_lift", |b| {
        b.iter(|| {
            via.spans(black_box(&batch));
            ready(via.flush(deadline));
        })
    });
    g.finish();

    // Let the drain catch up before reading its counts.
    std::thread::sleep(Duration::from_millis(200));
    let n = native.stats_detail();
    eprintln!(
        "lift: {} datagrams sent, {} received, {} spans dropped {:?}",
        n.datagrams,
        native_daemon.datagrams.load(Ordering::Relaxed),
        n.exporter.dropped_total(),
        n.exporter.dropped
    );
    eprintln!(
        "opentelemetry: {} exports failed, {} datagrams received",
        failed,
        aws_daemon.datagrams.load(Ordering::Relaxed)
    );
    let v = via.stats();
    eprintln!(
        "opentelemetry_from_lift: {} spans written, {} dropped {:?}, {} datagrams received",
        v.written,
        v.dropped_total(),
        v.dropped,
        via_daemon.datagrams.load(Ordering::Relaxed)
    );
}

criterion_group!(benches, subsegment_create_end, trace_10_subsegments_send);
criterion_main!(benches);
