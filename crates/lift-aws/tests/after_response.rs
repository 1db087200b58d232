//! How long each invocation's after-response window lasts (from the reply to the end of the
//! flush, when the runtime asks Lambda for the next event) with both CloudWatch exporters on and
//! an endpoint that answers every call, slowly: with the latency rule of the circuit off (what
//! the exporters did before it) and on (the default). It prints figures and asserts only counts,
//! so it is ignored by default; `docs/operations.md` shows a run:
//!
//! ```sh
//! cargo test --release -p lift-aws --all-features --test after_response -- --ignored --nocapture
//! ```
//!
//! `LIFT_SLOW_MS` sets the delay (default 450 ms), `LIFT_INVOCATIONS` the invocations per run
//! (default 20).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{sdk_config, sdk_config_with, Moto, Server};
use lift::observability::Observability;
use lift::prelude::*;
use lift::testing::{lambda_context, TestRequest};
use lift_aws::aws_config::retry::RetryConfig;
use lift_aws::aws_sdk_cloudwatch as cw;
use lift_aws::aws_sdk_cloudwatchlogs as cwl;
use lift_aws::logs::CloudWatchLogsExporter;
use lift_aws::metrics::CloudWatchMetricsExporter;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The after-response time of each of `invocations` invocations, and the exporters.
async fn run(
    proxy: &Server,
    group: &str,
    slow_flush_percent: u32,
    invocations: u64,
) -> (
    Vec<Duration>,
    CloudWatchLogsExporter,
    CloudWatchMetricsExporter,
) {
    let config = sdk_config_with(proxy, RetryConfig::disabled()).await;
    let logs = CloudWatchLogsExporter::builder(group)
        .stream_pattern("s")
        .slow_flush_percent(slow_flush_percent)
        .build(&config);
    let metrics = CloudWatchMetricsExporter::new(&config).slow_flush_percent(slow_flush_percent);
    let service = App::new()
        .observability(
            Observability::new()
                .service("shop")
                .namespace("Lift/Shop")
                .cold_start_metric(false)
                .export_to(logs.clone())
                .export_to(metrics.clone()),
        )
        .get("/order", |ctx: Context| async move {
            ctx.logger().info("order placed", &[]);
            ctx.metrics().counter("Orders").increment();
            "ok"
        })
        .build()
        .unwrap();
    let mut took = Vec::new();
    for _ in 0..invocations {
        let event = TestRequest::get("/order").v2();
        let invocation = service.invoke(event.into(), lambda_context()).await;
        let started = Instant::now();
        invocation.after_response.run().await;
        took.push(started.elapsed());
    }
    (took, logs, metrics)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(label: &str, took: &[Duration]) {
    let mut sorted = took.to_vec();
    sorted.sort();
    let total: Duration = took.iter().sum();
    let each: Vec<String> = took.iter().map(|d| format!("{:.1}", ms(*d))).collect();
    println!(
        "{label}: min {:.2} ms, median {:.2} ms, max {:.1} ms, total {:.2} s over {} invocations\n  each (ms): {}",
        ms(sorted[0]),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() - 1]),
        total.as_secs_f64(),
        took.len(),
        each.join(" ")
    );
}

#[tokio::test]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn after_response_time_with_a_slow_cloudwatch() {
    let slow_ms = env_u64("LIFT_SLOW_MS", 450);
    let invocations = env_u64("LIFT_INVOCATIONS", 20);
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    // Both backends loaded and the groups and streams made before the delay, so every flush
    // is one PutLogEvents and one PutMetricData call.
    let direct = sdk_config(&moto).await;
    let cwl_client = cwl::Client::new(&direct);
    for group in ["/lift/before", "/lift/after"] {
        cwl_client
            .create_log_group()
            .log_group_name(group)
            .send()
            .await
            .unwrap();
        cwl_client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name("s")
            .send()
            .await
            .unwrap();
    }
    cw::Client::new(&sdk_config(&proxy).await)
        .list_metrics()
        .send()
        .await
        .unwrap();
    proxy.set_mode(&format!(r#"{{"mode": "delay", "ms": {slow_ms}}}"#));
    println!("every call delayed {slow_ms} ms; flush timeout 1 s (the default)");

    let (before, logs, metrics) = run(&proxy, "/lift/before", 0, invocations).await;
    summary("latency rule off", &before);
    let (l, m) = (logs.stats_detail(), metrics.detail());
    println!(
        "  logs: written {}, fallen back {}, circuit open {}; metrics: written {}, fallen back {}, circuit open {}",
        l.exporter.written, l.exporter.fallen_back, l.circuit_open,
        m.stats.written, m.stats.fallen_back, m.circuit_open
    );
    assert!(!l.circuit_open && !m.circuit_open);

    let (after, logs, metrics) = run(&proxy, "/lift/after", 25, invocations).await;
    summary("latency rule on (25 %, the default)", &after);
    let (l, m) = (logs.stats_detail(), metrics.detail());
    println!(
        "  logs: written {}, fallen back {}, slow flushes {}, circuit open {}; metrics: written {}, fallen back {}, slow flushes {}, circuit open {}",
        l.exporter.written, l.exporter.fallen_back, l.slow_flushes, l.circuit_open,
        m.stats.written, m.stats.fallen_back, m.slow_flushes, m.circuit_open
    );
    // Three slow flushes open each circuit; the rest of the lines and metrics went to stdout.
    assert_eq!(
        (l.slow_flushes, l.exporter.written, l.circuit_open),
        (3, 3, true)
    );
    assert_eq!(
        (m.slow_flushes, m.stats.written, m.circuit_open),
        (3, 3, true)
    );
    assert_eq!(l.exporter.fallen_back, invocations - 3);
    assert_eq!(m.stats.fallen_back, invocations - 3);
}
