//! The observability hot paths: a log call with five fields, a metric record, and an EMF flush
//! of ten metrics — each into a sink that counts bytes and makes no system call, so what is
//! timed is Lift's own work.
//!
//! `cargo bench -p lift --bench observability`

// A bench is a test harness: a broken setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use lift::observability::{Field, LogFormat, Logger, Metrics, Observability, Unit};
use lift::testing::TestRequest;
use lift::{App, Context, LambdaContext};
use support::{ready, Counting};

/// A logger and metrics bound to one invocation, as a handler holds them.
fn invocation_handles(obs: Observability) -> (Logger, Metrics) {
    type Slot = Arc<Mutex<Option<(Logger, Metrics)>>>;
    let slot: Slot = Arc::default();
    let s = slot.clone();
    let app = App::new()
        .observability(obs)
        .get("/", move |ctx: Context| {
            ctx.set_tenant("tenant-a");
            ctx.set_user("user-7");
            *s.lock().unwrap() = Some((ctx.logger(), ctx.metrics()));
            async { "ok" }
        })
        .build()
        .unwrap();
    let lambda = LambdaContext::local(
        "8f7d8f2a-0000-4000-8000-000000000001",
        Duration::from_secs(3),
    );
    let _kept_open = ready(app.invoke(TestRequest::get("/").v2().into(), lambda));
    let handles = slot.lock().unwrap().take().unwrap();
    std::mem::forget(_kept_open);
    handles
}

fn observability(c: &mut Criterion) {
    let sink = Counting::default();
    let obs = Observability::new()
        .service("lift-bench")
        .namespace("LiftBench")
        .log_format(LogFormat::Json)
        .export_to(sink.clone());
    let (logger, metrics) = invocation_handles(obs.clone());

    let mut g = c.benchmark_group("observability");
    g.bench_function("log_info_5_fields", |b| {
        b.iter(|| {
            logger.info(
                "request",
                &[
                    ("path", Field::Str("/users/42")),
                    ("status", Field::U64(200)),
                    ("latency_ms", Field::F64(0.42)),
                    ("route", Field::Str("/users/{id}")),
                    ("cache_hit", Field::Bool(true)),
                ],
            )
        })
    });
    let counter = metrics.counter("Requests");
    g.bench_function("metric_record_counter", |b| b.iter(|| counter.add(1.0)));
    let histogram = metrics.histogram("Latency", Unit::Milliseconds);
    g.bench_function("metric_record_histogram", |b| {
        b.iter(|| histogram.record(0.42))
    });
    g.bench_function("metric_handle_and_record", |b| {
        b.iter(|| metrics.counter("Requests").increment())
    });

    let process = obs.metrics();
    let names: Vec<String> = (0..10).map(|i| format!("Metric{i}")).collect();
    g.bench_function("emf_record_10_and_flush", |b| {
        b.iter(|| {
            for n in &names {
                process.counter(n.clone()).increment();
            }
            obs.flush_metrics();
        })
    });
    g.bench_function("emf_record_10_only", |b| {
        b.iter(|| {
            for n in &names {
                process.counter(n.clone()).increment();
            }
        })
    });
    g.finish();
    assert!(sink.0.load(Ordering::Relaxed) > 0);
}

criterion_group!(benches, observability);
criterion_main!(benches);
