//! The CloudWatch Metrics exporter against moto, through the test proxy that translates the
//! SDK's Smithy RPC v2 CBOR into moto's JSON protocol (`proxy/aws_proxy.py`): metrics recorded
//! by a real `App` reach moto as statistic sets and values with counts; with faults injected
//! (500s, throttling, a closed connection) no request fails, every value is either written or
//! fallen back to EMF on stdout, and delivery resumes when the endpoint comes back. Refused
//! or expired credentials fall back too; a slow endpoint that still answers opens the circuit;
//! tenants named like the tenant guard's buckets keep series of their own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{sdk_config_with, Moto, Server};
use lift::observability::{MemoryExporter, Observability, Unit};
use lift::prelude::*;
use lift::testing::{invoke, TestRequest};
use lift_aws::aws_config::retry::RetryConfig;
use lift_aws::aws_sdk_cloudwatch as cw;
use lift_aws::delivery::RetryPolicy;
use lift_aws::metrics::CloudWatchMetricsExporter;

/// A function recording, per request, `Orders` (a counter of 2), `Latency` (a histogram of
/// 3 values) and `Queue` (a gauge), with the tenant from the `tenant` query parameter.
fn app(exporter: CloudWatchMetricsExporter, mem: &MemoryExporter) -> lift::AppService {
    App::new()
        .observability(
            Observability::new()
                .service("shop")
                .namespace("Lift/Shop")
                .cold_start_metric(false)
                .export_to(exporter)
                .export_to(mem.clone()),
        )
        .get("/order", |ctx: Context| async move {
            if let Some(t) = ctx.request().query("tenant") {
                ctx.set_tenant(t);
            }
            let m = ctx.metrics();
            m.counter("Orders").add(2.0);
            let h = m.histogram("Latency", Unit::Milliseconds);
            for v in [10.0, 20.0, 20.0] {
                h.record(v);
            }
            m.gauge("Queue", Unit::Count).set(7.0);
            "ok"
        })
        .build()
        .unwrap()
}

/// The exporter over a client with no SDK retries of its own (the exporter retries).
async fn exporter(server: &Server) -> CloudWatchMetricsExporter {
    let config = sdk_config_with(server, RetryConfig::disabled()).await;
    CloudWatchMetricsExporter::new(&config)
        .retry(RetryPolicy {
            max_attempts: 2,
            base: Duration::from_millis(5),
            max_backoff: Duration::from_millis(10),
        })
        .circuit(2, Duration::from_secs(3600))
}

/// `(SampleCount, Sum, Minimum, Maximum)` moto holds for one metric of tenant `tenant`.
async fn statistics(client: &cw::Client, name: &str, tenant: &str) -> (f64, f64, f64, f64) {
    let now = std::time::SystemTime::now();
    let out = client
        .get_metric_statistics()
        .namespace("Lift/Shop")
        .metric_name(name)
        .dimensions(
            cw::types::Dimension::builder()
                .name("service")
                .value("shop")
                .build(),
        )
        .dimensions(
            cw::types::Dimension::builder()
                .name("tenant")
                .value(tenant)
                .build(),
        )
        .start_time((now - Duration::from_secs(3600)).into())
        .end_time((now + Duration::from_secs(3600)).into())
        .period(60)
        .statistics(cw::types::Statistic::SampleCount)
        .statistics(cw::types::Statistic::Sum)
        .statistics(cw::types::Statistic::Minimum)
        .statistics(cw::types::Statistic::Maximum)
        .send()
        .await
        .unwrap();
    let points = out.datapoints();
    assert_eq!(points.len(), 1, "{name}/{tenant}: {points:?}");
    let p = &points[0];
    (
        p.sample_count().unwrap(),
        p.sum().unwrap(),
        p.minimum().unwrap(),
        p.maximum().unwrap(),
    )
}

#[tokio::test]
async fn metrics_reach_cloudwatch_as_sent() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    let metrics = exporter(&proxy).await;
    let mem = MemoryExporter::new();
    let service = app(metrics.clone(), &mem);
    for tenant in ["acme", "acme", "globex"] {
        let res = invoke(
            &service,
            TestRequest::get("/order").query("tenant", tenant).v2(),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 200);
    }
    let client = cw::Client::new(&common::sdk_config(&proxy).await);
    // Each invocation's flush sent its own statistic set: two for acme.
    assert_eq!(
        statistics(&client, "Orders", "acme").await,
        (2.0, 4.0, 2.0, 2.0)
    );
    assert_eq!(
        statistics(&client, "Orders", "globex").await,
        (1.0, 2.0, 2.0, 2.0)
    );
    // The histogram's values and counts: 10 once, 20 twice, per invocation.
    assert_eq!(
        statistics(&client, "Latency", "acme").await,
        (6.0, 100.0, 10.0, 20.0)
    );
    assert_eq!(
        statistics(&client, "Queue", "globex").await,
        (1.0, 7.0, 7.0, 7.0)
    );

    let d = metrics.detail();
    assert_eq!(d.stats.accepted, 9);
    assert_eq!(d.stats.written, 9);
    assert_eq!((d.stats.fallen_back, d.stats.dropped_total()), (0, 0));
    assert_eq!(d.calls, 3);
    assert!(!d.circuit_open);
}

#[tokio::test]
async fn faults_never_fail_a_request_and_nothing_is_lost() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    let metrics = exporter(&proxy).await;
    let mem = MemoryExporter::new();
    let service = app(metrics.clone(), &mem);
    let call = |tenant: &'static str| {
        let service = &service;
        async move {
            let res = invoke(
                service,
                TestRequest::get("/order").query("tenant", tenant).v2(),
            )
            .await
            .unwrap();
            assert_eq!(res.status(), 200);
        }
    };

    for (i, mode) in [
        r#"{"mode": "status", "status": 500}"#,
        r#"{"mode": "throttle"}"#,
        r#"{"mode": "close"}"#,
    ]
    .into_iter()
    .enumerate()
    {
        proxy.set_mode(mode);
        call("acme").await;
        let d = metrics.detail();
        assert_eq!(d.stats.accepted, 3 * (i as u64 + 1), "{mode}");
        assert_eq!(
            d.stats.written + d.stats.fallen_back + d.stats.dropped_total(),
            d.stats.accepted,
            "{mode}: {d:?}"
        );
    }
    let d = metrics.detail();
    assert_eq!((d.stats.written, d.stats.fallen_back), (0, 9));
    // The circuit opened after two failed flushes: the third made no call.
    assert!(d.circuit_open);
    assert!(d.retries >= 2, "{d:?}");
    assert!(d.stats.last_error.is_some());

    // The endpoint comes back; a circuit with no cooldown lets the next flush through.
    let metrics = exporter(&proxy).await.circuit(2, Duration::ZERO);
    let service = app(metrics.clone(), &mem);
    proxy.set_mode(r#"{"mode": "pass"}"#);
    let res = invoke(
        &service,
        TestRequest::get("/order").query("tenant", "globex").v2(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(metrics.detail().stats.written, 3);
}

/// A function counting one `Orders` value per request into `metrics` alone, its flush bounded
/// by `flush_timeout`; the `Observability` is returned too, for its stats.
fn one_counter(
    metrics: &CloudWatchMetricsExporter,
    flush_timeout: Duration,
) -> (lift::AppService, Observability) {
    let obs = Observability::new()
        .service("shop")
        .namespace("Lift/Shop")
        .cold_start_metric(false)
        .flush_timeout(flush_timeout)
        .export_to(metrics.clone());
    let service = App::new()
        .observability(obs.clone())
        .get("/order", |ctx: Context| async move {
            ctx.metrics().counter("Orders").add(2.0);
            "ok"
        })
        .build()
        .unwrap();
    (service, obs)
}

#[tokio::test]
async fn a_slow_cloudwatch_falls_back_within_the_flush_deadline_even_with_sdk_retries_configured() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    // A user's SDK configuration, standard retries included: the exporter's own client turns
    // them off, so its calls end within the flush deadline.
    let config = sdk_config_with(&proxy, RetryConfig::standard()).await;
    let metrics = CloudWatchMetricsExporter::new(&config);
    let (service, obs) = one_counter(&metrics, Duration::from_millis(300));
    proxy.set_mode(r#"{"mode": "delay", "ms": 2000}"#);
    let res = invoke(&service, TestRequest::get("/order").v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let d = metrics.detail();
    assert_eq!(
        (d.stats.accepted, d.stats.written, d.stats.fallen_back),
        (1, 0, 1),
        "{d:?}"
    );
    assert_eq!(d.stats.dropped_total(), 0);
    assert_eq!(
        d.stats.last_error.as_deref(),
        Some("PutMetricData did not answer before the flush deadline")
    );
    // The flush settled itself: the pipeline did not have to cut it off.
    assert_eq!(obs.stats().flush_timeouts, 0);
}

#[tokio::test]
async fn a_flush_dropped_half_way_counts_what_it_left_unsent() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    let config = sdk_config_with(&proxy, RetryConfig::disabled()).await;
    let metrics = CloudWatchMetricsExporter::new(&config);
    let (service, _obs) = one_counter(&metrics, Duration::from_secs(30));
    proxy.set_mode(r#"{"mode": "delay", "ms": 5000}"#);
    // The invocation's flush is waiting on CloudWatch when its future is dropped.
    let cut = tokio::time::timeout(
        Duration::from_millis(500),
        invoke(&service, TestRequest::get("/order").v2()),
    )
    .await;
    assert!(cut.is_err(), "the flush should still be waiting");
    let d = metrics.detail();
    assert_eq!(
        (d.stats.accepted, d.stats.written, d.stats.fallen_back),
        (1, 0, 0),
        "{d:?}"
    );
    assert_eq!(d.stats.dropped, vec![("cut_off".to_owned(), 1)]);
}

#[tokio::test]
async fn denied_and_expired_credentials_fall_back_to_emf_and_open_the_circuit() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    for (mode, code) in [
        (r#"{"mode": "status", "status": 403}"#, "HTTP 403"),
        (r#"{"mode": "status", "status": 401}"#, "HTTP 401"),
        (
            r#"{"mode": "error", "status": 400, "code": "AccessDenied"}"#,
            "AccessDenied, HTTP 400",
        ),
        (
            r#"{"mode": "error", "status": 403, "code": "AccessDeniedException"}"#,
            "AccessDeniedException, HTTP 403",
        ),
        (
            r#"{"mode": "error", "status": 400, "code": "ExpiredToken"}"#,
            "ExpiredToken, HTTP 400",
        ),
    ] {
        proxy.set_mode(mode);
        let metrics = exporter(&proxy).await;
        let mem = MemoryExporter::new();
        let service = app(metrics.clone(), &mem);
        let mut seen = Vec::new();
        for _ in 0..3 {
            let res = invoke(
                &service,
                TestRequest::get("/order").query("tenant", "acme").v2(),
            )
            .await
            .unwrap();
            assert_eq!(res.status(), 200);
            let d = metrics.detail();
            seen.push((
                d.stats.accepted,
                d.stats.written,
                d.stats.fallen_back,
                d.stats.dropped_total(),
                d.retries,
                d.circuit_open,
            ));
        }
        // Each invocation's 3 values go to EMF on stdout; nothing is retried or dropped, and
        // the two refused calls open the circuit (threshold 2): the third makes no call.
        assert_eq!(
            seen,
            [
                (3, 0, 3, 0, 0, false),
                (6, 0, 6, 0, 0, true),
                (9, 0, 9, 0, 0, true)
            ],
            "{mode}"
        );
        let last = metrics.detail().stats.last_error.unwrap_or_default();
        assert!(last.contains(code), "{mode}: {last}");
    }
}

#[tokio::test]
async fn tenants_named_other_or_invalid_keep_their_own_series_apart_from_the_guard_buckets() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    let metrics = exporter(&proxy).await;
    let obs = Observability::new()
        .service("shop")
        .namespace("Lift/Shop")
        .cold_start_metric(false)
        .max_tenants(2)
        .export_to(metrics.clone());
    let service = App::new()
        .observability(obs.clone())
        .get("/order", |ctx: Context| async move {
            // A blank tenant is one CloudWatch refuses as a dimension value.
            let t = ctx.request().query("tenant").unwrap_or_default();
            ctx.set_tenant(if t == "blank" { "   " } else { t });
            ctx.metrics().counter("Orders").add(2.0);
            "ok"
        })
        .build()
        .unwrap();
    // `other` and `invalid` take the two places under the cap; `globex` is folded into the
    // guard's `other`, the blank tenant into its `invalid`.
    for tenant in ["other", "invalid", "other", "globex", "blank"] {
        let res = invoke(
            &service,
            TestRequest::get("/order").query("tenant", tenant).v2(),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 200);
    }
    let client = cw::Client::new(&common::sdk_config(&proxy).await);
    assert_eq!(
        statistics(&client, "Orders", "#other").await,
        (2.0, 4.0, 2.0, 2.0)
    );
    assert_eq!(
        statistics(&client, "Orders", "#invalid").await,
        (1.0, 2.0, 2.0, 2.0)
    );
    assert_eq!(
        statistics(&client, "Orders", "other").await,
        (1.0, 2.0, 2.0, 2.0)
    );
    assert_eq!(
        statistics(&client, "Orders", "invalid").await,
        (1.0, 2.0, 2.0, 2.0)
    );
    let stats = obs.stats();
    assert_eq!((stats.folded_tenants, stats.invalid_tenants), (1, 1));
}

#[tokio::test]
async fn slow_but_successful_flushes_open_the_circuit_and_later_metrics_fall_back() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    let config = sdk_config_with(&proxy, RetryConfig::disabled()).await;
    // Moto loads its CloudWatch backend on the first call: made here, before the delay.
    cw::Client::new(&config)
        .list_metrics()
        .send()
        .await
        .unwrap();
    // Slow from 10 % of a 5 s flush (500 ms): every call, delayed 600 ms, is slow, and each
    // still answers well within its deadline.
    let metrics = CloudWatchMetricsExporter::new(&config)
        .circuit(2, Duration::from_secs(3600))
        .slow_flush_percent(10);
    let (service, obs) = one_counter(&metrics, Duration::from_secs(5));
    proxy.set_mode(r#"{"mode": "delay", "ms": 600}"#);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let res = invoke(&service, TestRequest::get("/order").v2())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let d = metrics.detail();
        seen.push((
            d.stats.written,
            d.stats.fallen_back,
            d.calls,
            d.slow_flushes,
            d.circuit_open,
        ));
    }
    // Two slow flushes in a row (the circuit's threshold) open the circuit; the metrics of the
    // next invocations go to EMF on stdout without a call.
    assert_eq!(
        seen,
        [
            (1, 0, 1, 1, false),
            (2, 0, 2, 2, true),
            (2, 1, 2, 2, true),
            (2, 2, 2, 2, true)
        ]
    );
    let d = metrics.detail();
    assert_eq!((d.stats.accepted, d.stats.dropped_total()), (4, 0));
    let last = d.stats.last_error.unwrap_or_default();
    assert!(
        last.starts_with("PutMetricData was slow: 2 flushes in a row used 10 % or more"),
        "{last}"
    );
    assert_eq!(obs.stats().flush_timeouts, 0);
}
