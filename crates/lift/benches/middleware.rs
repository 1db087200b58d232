//! The default middleware stack around a trivial handler, against the same route bare.
//!
//! `cargo bench -p lift --bench middleware`
//!
//! Both apps log and record metrics into a sink that counts bytes and makes no system call, so
//! the difference is the stack's own work: request id, access-log line, request metrics,
//! security headers, CORS (an allowed origin), error handler, recover, timeout.

// A bench is a test harness: a broken setup should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use lift::middleware::{Cors, Stack};
use lift::observability::{LogFormat, Observability};
use lift::testing::TestRequest;
use lift::{App, AppService, Context, LambdaContext};
use support::Counting;

/// Poll to completion; the stack's timeout registers a timer, so this needs a runtime.
fn run<F: Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    let mut f = pin!(f);
    // Most invocations finish on the first poll; fall back to the runtime otherwise.
    match f.as_mut().poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => rt.block_on(f),
    }
}

#[derive(Clone, Copy)]
enum Variant {
    Bare,
    Stack,
    StackWithoutTelemetry,
    TelemetryOnly,
    One(u8),
}

fn app(variant: Variant, sink: Counting) -> AppService {
    let obs = Observability::new()
        .service("bench")
        .namespace("LiftBench")
        .log_format(LogFormat::Json)
        .export_to(sink);
    let mut app = App::new().observability(obs);
    let cors = || {
        Cors::builder()
            .allow_origins(["https://app.example.com"])
            .allow_credentials(true)
            .build()
            .unwrap()
    };
    match variant {
        Variant::Bare => {}
        Variant::Stack => app = app.middleware_stack(Stack::new().cors(cors())),
        Variant::StackWithoutTelemetry => {
            app = app.middleware_stack(
                Stack::new()
                    .cors(cors())
                    .without_access_log()
                    .without_metrics(),
            )
        }
        Variant::TelemetryOnly => {
            app = app
                .middleware(lift::middleware::AccessLog::new())
                .middleware(lift::middleware::RequestMetrics::new())
        }
        Variant::One(n) => {
            app = match n {
                0 => app.middleware(lift::middleware::AccessLog::new()),
                1 => app.middleware(lift::middleware::RequestMetrics::new()),
                2 => app.middleware(lift::middleware::RequestId::new()),
                3 => app.middleware(lift::middleware::SecurityHeaders::new()),
                4 => app.middleware(cors()),
                5 => app.middleware(lift::middleware::ErrorHandler::new()),
                6 => app.middleware(lift::middleware::Recover::new()),
                _ => app.middleware(lift::middleware::Timeout::lambda_deadline()),
            }
        }
    }
    app.get("/hello", |_ctx: Context| async { "hello" })
        .build()
        .unwrap()
}

fn middleware(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let event = Bytes::from(
        TestRequest::get("/hello")
            .header("origin", "https://app.example.com")
            .header("user-agent", "bench/1")
            .v2(),
    );
    // One context for every iteration: its deadline must outlast the whole run, or `Timeout`
    // answers 504 without running the handler once it has passed.
    let lambda = LambdaContext::local(
        "8f7d8f2a-0000-4000-8000-000000000001",
        Duration::from_secs(24 * 3600),
    );
    let mut g = c.benchmark_group("middleware");
    for (name, variant) in [
        ("bare_route", Variant::Bare),
        ("default_stack", Variant::Stack),
        (
            "stack_without_access_log_and_metrics",
            Variant::StackWithoutTelemetry,
        ),
        ("access_log_and_metrics_only", Variant::TelemetryOnly),
        ("only_access_log", Variant::One(0)),
        ("only_request_metrics", Variant::One(1)),
        ("only_request_id", Variant::One(2)),
        ("only_security_headers", Variant::One(3)),
        ("only_cors", Variant::One(4)),
        ("only_error_handler", Variant::One(5)),
        ("only_recover", Variant::One(6)),
        ("only_timeout", Variant::One(7)),
    ] {
        let sink = Counting::default();
        let app = app(variant, sink.clone());
        g.bench_function(name, |b| {
            b.iter(|| {
                let inv = run(&rt, app.invoke(event.clone(), lambda.clone()));
                // The flush after the response is part of the invocation's cost.
                run(&rt, inv.finish()).unwrap().to_json()
            })
        });
        // What was timed is the handler's answer, not an error path.
        let inv = run(&rt, app.invoke(event.clone(), lambda.clone()));
        let reply = run(&rt, inv.finish()).unwrap().to_json();
        assert!(
            reply.windows(16).any(|w| w == b"\"statusCode\":200"),
            "{name}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
    g.finish();
}

criterion_group!(benches, middleware);
criterion_main!(benches);
