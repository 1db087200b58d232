//! The CloudWatch Logs exporter against a real moto server, directly and through an app, and
//! through the test proxy in front of moto (`tests/proxy/aws_proxy.py`), which injects faults.
//!
//! Each test starts its own moto (and proxy) on free loopback ports; guards kill them on drop.
//! Lines that fall back are written to the test process's stdout, which the harness shows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{sdk_config, Moto, Server};
use lift::observability::{Exporter, ExporterStats, Level, LogRecord, Observability};
use lift::prelude::*;
use lift::testing::{invoke, TestRequest};
use lift_aws::aws_config::SdkConfig;
use lift_aws::aws_sdk_cloudwatchlogs as cwl;
use lift_aws::delivery::RetryPolicy;
use lift_aws::logs::{CloudWatchLogsExporter, Thresholds};

fn record(
    line: &str,
    at_ms: u64,
    tenant: Option<&'static str>,
) -> (String, SystemTime, Option<&'static str>) {
    (
        line.to_owned(),
        SystemTime::UNIX_EPOCH + Duration::from_millis(at_ms),
        tenant,
    )
}

/// Hands `lines` to the exporter as the logger would.
fn log_all(
    exporter: &CloudWatchLogsExporter,
    lines: &[(String, SystemTime, Option<&'static str>)],
) {
    for (line, at, tenant) in lines {
        let mut r = LogRecord::new(Level::Info, line.as_bytes());
        r.timestamp = *at;
        r.tenant_id = *tenant;
        exporter.log(&r);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn in_seconds(s: u64) -> Instant {
    Instant::now() + Duration::from_secs(s)
}

/// `n` lines, 1 ms apart from `t0`, of the tenants `acme`, `second` and none in turn, each line
/// starting with its tenant (`none` for none).
fn three_tenants(
    n: usize,
    t0: u64,
    second: Option<&'static str>,
) -> Vec<(String, SystemTime, Option<&'static str>)> {
    let tenants = [Some("acme"), second, None];
    (0..n)
        .map(|i| {
            let tenant = tenants[i % 3];
            record(
                &format!("{} {i}", tenant.unwrap_or("none")),
                t0 + i as u64,
                tenant,
            )
        })
        .collect()
}

/// The streams of `group`, by name.
async fn streams(client: &cwl::Client, group: &str) -> Vec<String> {
    let out = client
        .describe_log_streams()
        .log_group_name(group)
        .send()
        .await
        .expect("DescribeLogStreams");
    let mut names: Vec<String> = out
        .log_streams()
        .iter()
        .filter_map(|s| s.log_stream_name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Every message of a stream, oldest first.
async fn messages(client: &cwl::Client, group: &str, stream: &str) -> Vec<String> {
    let out = client
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .send()
        .await
        .expect("GetLogEvents");
    out.events()
        .iter()
        .filter_map(|e| e.message().map(str::to_owned))
        .collect()
}

fn settled(s: &ExporterStats) -> u64 {
    s.written + s.dropped_total() + s.fallen_back
}

#[tokio::test]
async fn lines_are_read_back_in_order_and_the_group_is_created_with_its_retention() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let exporter = CloudWatchLogsExporter::builder("/lift/orders")
        .stream_pattern("orders/{instance}")
        .retention_days(7)
        .build(&config);
    let t0 = now_ms() - 60_000;
    // Logged out of order: CloudWatch must get them sorted.
    let mut lines: Vec<_> = (0..50)
        .map(|i| {
            record(
                &format!(r#"{{"message":"line {i:02}"}}"#),
                t0 + i * 10,
                None,
            )
        })
        .collect();
    lines.swap(3, 40);
    log_all(&exporter, &lines);
    exporter.flush(in_seconds(10)).await;

    let stats = exporter.stats();
    assert_eq!((stats.accepted, stats.written), (50, 50), "{stats:?}");
    let client = cwl::Client::new(&config);
    let names = streams(&client, "/lift/orders").await;
    assert_eq!(names.len(), 1);
    assert!(names[0].starts_with("orders/"));
    let got = messages(&client, "/lift/orders", &names[0]).await;
    let want: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"message":"line {i:02}"}}"#))
        .collect();
    assert_eq!(got, want);

    let groups = client
        .describe_log_groups()
        .log_group_name_prefix("/lift/orders")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(7));
    let detail = exporter.stats_detail();
    assert_eq!(detail.batches, 1);
    assert_eq!(detail.buffered_bytes, 0);
    assert!(detail.last_flush_latency.is_some());
}

#[tokio::test]
async fn each_tenant_stream_holds_only_its_tenants_lines() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let exporter = CloudWatchLogsExporter::builder("/lift/tenants")
        .stream_pattern("app")
        .tenant_streams()
        .build(&config);
    let t0 = now_ms() - 1_000;
    log_all(&exporter, &three_tenants(30, t0, Some("globex:eu")));
    exporter.flush(in_seconds(10)).await;
    assert_eq!(exporter.stats().written, 30);

    let client = cwl::Client::new(&config);
    assert_eq!(
        streams(&client, "/lift/tenants").await,
        ["app", "app/acme", "app/globex%3Aeu"]
    );
    for (stream, prefix) in [
        ("app/acme", "acme "),
        ("app/globex%3Aeu", "globex:eu "),
        ("app", "none "),
    ] {
        let got = messages(&client, "/lift/tenants", stream).await;
        assert_eq!(got.len(), 10, "{stream}");
        assert!(
            got.iter().all(|m| m.starts_with(prefix)),
            "{stream}: {got:?}"
        );
    }
}

#[tokio::test]
async fn each_tenant_group_holds_only_its_tenants_lines_with_the_retention() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let exporter = CloudWatchLogsExporter::builder("/lift/by-tenant")
        .stream_pattern("app")
        .tenant_groups()
        .retention_days(7)
        .build(&config);
    let t0 = now_ms() - 1_000;
    log_all(&exporter, &three_tenants(12, t0, Some("globex eu")));
    exporter.flush(in_seconds(10)).await;
    assert_eq!(exporter.stats().written, 12);

    let client = cwl::Client::new(&config);
    let groups = client
        .describe_log_groups()
        .log_group_name_prefix("/lift/by-tenant")
        .send()
        .await
        .expect("DescribeLogGroups");
    let mut found: Vec<(String, Option<i32>)> = groups
        .log_groups()
        .iter()
        .map(|g| {
            (
                g.log_group_name().unwrap_or_default().to_owned(),
                g.retention_in_days(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("/lift/by-tenant".to_owned(), Some(7)),
            ("/lift/by-tenant/acme".to_owned(), Some(7)),
            ("/lift/by-tenant/globex#20eu".to_owned(), Some(7)),
        ]
    );
    for (group, prefix) in [
        ("/lift/by-tenant/acme", "acme "),
        ("/lift/by-tenant/globex#20eu", "globex eu "),
        ("/lift/by-tenant", "none "),
    ] {
        assert_eq!(streams(&client, group).await, ["app"], "{group}");
        let got = messages(&client, group, "app").await;
        assert_eq!(got.len(), 4, "{group}");
        assert!(
            got.iter().all(|m| m.starts_with(prefix)),
            "{group}: {got:?}"
        );
    }
}

/// One line per tenant in `tenants` (each line starting with its tenant, `none` for none).
fn one_line_each(
    t0: u64,
    tenants: &[Option<&'static str>],
) -> Vec<(String, SystemTime, Option<&'static str>)> {
    tenants
        .iter()
        .enumerate()
        .map(|(i, t)| record(&format!("{} {i}", t.unwrap_or("none")), t0 + i as u64, *t))
        .collect()
}

/// Every stream of `group` with the messages it holds.
async fn contents(client: &cwl::Client, group: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for stream in streams(client, group).await {
        let got = messages(client, group, &stream).await;
        out.push((stream, got));
    }
    out
}

#[tokio::test]
async fn tenants_whose_names_escape_alike_or_share_a_long_prefix_get_streams_of_their_own() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let exporter = CloudWatchLogsExporter::builder("/lift/distinct")
        .stream_pattern("app")
        .tenant_streams()
        .build(&config);
    let long_a: &'static str = format!("{}-a", "t".repeat(200)).leak();
    let long_b: &'static str = format!("{}-b", "t".repeat(200)).leak();
    let tenants = [
        Some("a:b"),
        Some("a*b"),
        Some("a_b"),
        Some("other"),
        Some("invalid"),
        Some(""),
        Some(long_a),
        Some(long_b),
        None,
    ];
    let t0 = now_ms() - 1_000;
    log_all(&exporter, &one_line_each(t0, &tenants));
    exporter.flush(in_seconds(10)).await;
    let detail = exporter.stats_detail();
    assert_eq!(
        (detail.exporter.accepted, detail.exporter.written),
        (9, 9),
        "{detail:?}"
    );
    assert_eq!(
        (
            detail.tenant_destinations,
            detail.folded_tenant_lines,
            detail.invalid_tenant_lines
        ),
        (7, 0, 1)
    );

    let client = cwl::Client::new(&config);
    let got = contents(&client, "/lift/distinct").await;
    let cut = format!("app/{}%-", "t".repeat(102));
    let (long, short): (Vec<_>, Vec<_>) = got.into_iter().partition(|(s, _)| s.starts_with(&cut));
    let line = |m: &str| vec![m.to_owned()];
    assert_eq!(
        short,
        [
            ("app".to_owned(), line("none 8")),
            ("app/%69nvalid".to_owned(), line("invalid 4")),
            ("app/%6Fther".to_owned(), line("other 3")),
            ("app/a%2Ab".to_owned(), line("a*b 1")),
            ("app/a%3Ab".to_owned(), line("a:b 0")),
            ("app/a_b".to_owned(), line("a_b 2")),
            // The empty tenant, which no name can hold.
            ("app/invalid".to_owned(), line(" 5")),
        ]
    );
    // The two long tenants share their first 200 characters, not a stream: each name is cut
    // to 128 bytes and ends with a hash of the whole tenant.
    assert_eq!(long.len(), 2, "{long:?}");
    let mut held: Vec<&str> = long.iter().map(|(_, m)| m[0].as_str()).collect();
    held.sort();
    assert_eq!(held, [format!("{long_a} 6"), format!("{long_b} 7")]);
    for (stream, _) in &long {
        assert_eq!(stream.len(), "app/".len() + 128, "{stream}");
    }
}

#[tokio::test]
async fn tenant_streams_past_the_cap_go_to_the_other_stream_and_are_counted() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let exporter = CloudWatchLogsExporter::builder("/lift/capped")
        .stream_pattern("app")
        .tenant_streams()
        .max_tenant_destinations(2)
        .build(&config);
    let t0 = now_ms() - 1_000;
    // `other` and `acme` take the two places; `globex` and `initech` come past the cap.
    let tenants = [
        Some("other"),
        Some("acme"),
        Some("globex"),
        Some("acme"),
        Some("initech"),
        Some("other"),
    ];
    log_all(&exporter, &one_line_each(t0, &tenants));
    exporter.flush(in_seconds(10)).await;
    let detail = exporter.stats_detail();
    assert_eq!(detail.exporter.written, 6, "{detail:?}");
    assert_eq!(
        (
            detail.tenant_destinations,
            detail.folded_tenant_lines,
            detail.invalid_tenant_lines
        ),
        (2, 2, 0)
    );
    let client = cwl::Client::new(&config);
    let owned = |v: &[&str]| v.iter().map(|m| (*m).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        contents(&client, "/lift/capped").await,
        [
            ("app/%6Fther".to_owned(), owned(&["other 0", "other 5"])),
            ("app/acme".to_owned(), owned(&["acme 1", "acme 3"])),
            ("app/other".to_owned(), owned(&["globex 2", "initech 4"])),
        ]
    );

    // The cap holds across flushes: a place is not freed by a flush.
    log_all(&exporter, &one_line_each(t0 + 10, &[Some("globex")]));
    exporter.flush(in_seconds(10)).await;
    assert_eq!(exporter.stats_detail().folded_tenant_lines, 3);
    assert_eq!(
        messages(&client, "/lift/capped", "app/other").await,
        ["globex 2", "initech 4", "globex 0"]
    );
}

#[tokio::test]
async fn tenant_groups_are_distinct_capped_and_apart_from_the_other_and_invalid_groups() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let exporter = CloudWatchLogsExporter::builder("/lift/g")
        .stream_pattern("app")
        .tenant_groups()
        .max_tenant_destinations(3)
        .build(&config);
    let t0 = now_ms() - 1_000;
    let tenants = [
        Some("a b"),
        Some("a_b"),
        Some("invalid"),
        Some(""),
        Some("globex"),
        None,
    ];
    log_all(&exporter, &one_line_each(t0, &tenants));
    exporter.flush(in_seconds(10)).await;
    let detail = exporter.stats_detail();
    assert_eq!(detail.exporter.written, 6, "{detail:?}");
    assert_eq!(
        (
            detail.tenant_destinations,
            detail.folded_tenant_lines,
            detail.invalid_tenant_lines
        ),
        (3, 1, 1)
    );
    let client = cwl::Client::new(&config);
    let groups = client
        .describe_log_groups()
        .log_group_name_prefix("/lift/g")
        .send()
        .await
        .expect("DescribeLogGroups");
    let mut found = Vec::new();
    for g in groups.log_groups() {
        let name = g.log_group_name().unwrap_or_default().to_owned();
        let got = messages(&client, &name, "app").await;
        found.push((name, got));
    }
    found.sort();
    let line = |m: &str| vec![m.to_owned()];
    assert_eq!(
        found,
        [
            ("/lift/g".to_owned(), line("none 5")),
            ("/lift/g/#69nvalid".to_owned(), line("invalid 2")),
            ("/lift/g/a#20b".to_owned(), line("a b 0")),
            ("/lift/g/a_b".to_owned(), line("a_b 1")),
            ("/lift/g/invalid".to_owned(), line(" 3")),
            ("/lift/g/other".to_owned(), line("globex 4")),
        ]
    );
}

#[tokio::test]
async fn a_group_deleted_mid_run_is_recreated_and_delivery_resumes() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let exporter = CloudWatchLogsExporter::builder("/lift/deleted")
        .stream_pattern("s")
        .retention_days(3)
        .build(&config);
    let client = cwl::Client::new(&config);
    let t0 = now_ms() - 1_000;
    log_all(&exporter, &[record("before", t0, None)]);
    exporter.flush(in_seconds(10)).await;
    assert_eq!(messages(&client, "/lift/deleted", "s").await, ["before"]);

    client
        .delete_log_group()
        .log_group_name("/lift/deleted")
        .send()
        .await
        .unwrap();
    log_all(&exporter, &[record("after", t0 + 1, None)]);
    exporter.flush(in_seconds(10)).await;
    assert_eq!(messages(&client, "/lift/deleted", "s").await, ["after"]);
    let stats = exporter.stats();
    assert_eq!((stats.accepted, stats.written), (2, 2), "{stats:?}");
}

#[tokio::test]
async fn through_an_app_the_after_response_flush_delivers() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let exporter = CloudWatchLogsExporter::builder("/lift/app")
        .stream_pattern("app")
        .build(&config);
    let app = App::new()
        .observability(
            Observability::new()
                .service("orders")
                .export_to(exporter.clone()),
        )
        .get("/orders", |ctx: Context| async move {
            ctx.logger().info("listing orders", &[]);
            "[]"
        })
        .build()
        .unwrap();
    let res = invoke(&app, TestRequest::get("/orders").v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // No shutdown: the flush after the response sent the line.
    let client = cwl::Client::new(&config);
    let got = messages(&client, "/lift/app", "app").await;
    assert!(!got.is_empty(), "{:?}", exporter.stats());
    let line: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(line["message"], "listing orders");
    assert_eq!(line["service"], "orders");
    assert!(!exporter.needs_shutdown());
}

#[tokio::test]
async fn across_invocations_lines_wait_for_a_threshold_or_the_shutdown() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    // Moto loads its CloudWatch Logs backend on the first call, which can take longer than
    // the shutdown's bound on a cold machine: that first call is made here, not by the exporter.
    let client = cwl::Client::new(&config);
    client.describe_log_groups().send().await.unwrap();
    let exporter = CloudWatchLogsExporter::builder("/lift/held")
        .stream_pattern("held")
        .batch_across_invocations(Thresholds {
            max_events: 1_000,
            max_bytes: 1 << 20,
            max_age: Duration::from_secs(3600),
        })
        .build(&config);
    assert!(exporter.needs_shutdown());
    let app = App::new()
        .observability(Observability::new().export_to(exporter.clone()))
        .get("/", |ctx: Context| async move {
            ctx.logger().info("held back", &[]);
            "ok"
        })
        .build()
        .unwrap();
    for _ in 0..3 {
        invoke(&app, TestRequest::get("/").v2()).await.unwrap();
    }
    let held = exporter.stats();
    assert_eq!((held.accepted, held.written), (3, 0), "{held:?}");

    // The shutdown Lift runs at SIGTERM sends everything.
    app.shutdown().await;
    assert_eq!(messages(&client, "/lift/held", "held").await.len(), 3);
    assert_eq!(exporter.stats().written, 3);
}

// ---------------------------------------------------------------------------------------------
// Faults, through the proxy
// ---------------------------------------------------------------------------------------------

fn fast_failing(group: &str, config: &SdkConfig) -> CloudWatchLogsExporter {
    CloudWatchLogsExporter::builder(group)
        .stream_pattern("s")
        .retry_policy(RetryPolicy {
            max_attempts: 2,
            base: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
        })
        .circuit(2, Duration::from_millis(300))
        .warn_interval(Duration::from_secs(3600))
        .build(config)
}

#[tokio::test]
async fn failing_endpoints_fall_back_to_stdout_and_delivery_resumes() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    let config = sdk_config(&proxy).await;
    let exporter = fast_failing("/lift/faults", &config);
    let t0 = now_ms() - 10_000;
    let mut n = 0;
    let mut round = |exporter: &CloudWatchLogsExporter| {
        n += 1;
        log_all(exporter, &[record(&format!("line {n}"), t0 + n, None)]);
    };

    for mode in [
        r#"{"mode": "throttle"}"#,
        r#"{"mode": "status", "status": 500}"#,
    ] {
        proxy.set_mode(mode);
        for _ in 0..2 {
            round(&exporter);
            exporter.flush(in_seconds(2)).await;
        }
    }
    let stats = exporter.stats_detail();
    assert_eq!(stats.exporter.fallen_back, 4, "{stats:?}");
    assert_eq!(stats.exporter.written, 0);
    assert!(stats.circuit_open);
    assert!(stats.retries > 0);
    let last = stats.exporter.last_error.clone().unwrap();
    assert!(last.contains("PutLogEvents"), "{last}");

    // While the circuit is open nothing is sent, even though the endpoint is back.
    proxy.set_mode(r#"{"mode": "pass"}"#);
    round(&exporter);
    exporter.flush(in_seconds(2)).await;
    assert_eq!(exporter.stats().fallen_back, 5);

    // After the cooldown one flush probes, succeeds and closes the circuit.
    tokio::time::sleep(Duration::from_millis(350)).await;
    round(&exporter);
    exporter.flush(in_seconds(5)).await;
    let stats = exporter.stats_detail();
    assert_eq!(stats.exporter.written, 1, "{stats:?}");
    assert!(!stats.circuit_open);
    assert_eq!(stats.exporter.accepted, 6);
    assert_eq!(settled(&stats.exporter), stats.exporter.accepted);

    let client = cwl::Client::new(&sdk_config(&moto).await);
    assert_eq!(messages(&client, "/lift/faults", "s").await, ["line 6"]);
}

#[tokio::test]
async fn a_slow_or_stopped_endpoint_never_holds_a_flush_past_its_deadline() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    let config = sdk_config(&proxy).await;
    let exporter = fast_failing("/lift/slow", &config);
    let t0 = now_ms() - 10_000;

    proxy.set_mode(r#"{"mode": "delay", "ms": 3000}"#);
    log_all(
        &exporter,
        &[record("slow 1", t0, None), record("slow 2", t0 + 1, None)],
    );
    // The endpoint answers after 3 s; the flush's deadline is 300 ms away. The exporter
    // settles its lines by the deadline itself: they fall back, where a flush that waited for
    // the answer would have written them.
    exporter
        .flush(Instant::now() + Duration::from_millis(300))
        .await;
    let stats = exporter.stats();
    assert_eq!((stats.written, stats.fallen_back), (0, 2), "{stats:?}");

    proxy.set_mode(r#"{"mode": "close"}"#);
    log_all(&exporter, &[record("refused", t0 + 2, None)]);
    exporter.flush(in_seconds(2)).await;
    let stats = exporter.stats();
    assert_eq!(stats.fallen_back, 3, "{stats:?}");
    assert_eq!(settled(&stats), stats.accepted);

    // Cut off by the caller (as the pipeline does at its deadline), a flush still settles
    // every line it took: they fall back.
    proxy.set_mode(r#"{"mode": "delay", "ms": 3000}"#);
    log_all(&exporter, &[record("cut off", t0 + 3, None)]);
    tokio::time::sleep(Duration::from_millis(350)).await; // past the cooldown: a probe is made
    let cut =
        tokio::time::timeout(Duration::from_millis(200), exporter.flush(in_seconds(10))).await;
    assert!(cut.is_err());
    let stats = exporter.stats();
    assert_eq!(stats.accepted, 4);
    assert_eq!(settled(&stats), 4, "{stats:?}");

    proxy.set_mode(r#"{"mode": "pass"}"#);
    tokio::time::sleep(Duration::from_millis(350)).await;
    log_all(&exporter, &[record("back", t0 + 4, None)]);
    exporter.flush(in_seconds(5)).await;
    let stats = exporter.stats();
    assert_eq!(stats.written, 1, "{stats:?}");
    assert_eq!(settled(&stats), stats.accepted);
}

#[tokio::test]
async fn slow_but_successful_flushes_open_the_circuit_and_later_lines_fall_back() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    let config = sdk_config(&proxy).await;
    // The group and stream exist, so each flush is one PutLogEvents call.
    let direct = cwl::Client::new(&sdk_config(&moto).await);
    direct
        .create_log_group()
        .log_group_name("/lift/slow-ok")
        .send()
        .await
        .unwrap();
    direct
        .create_log_stream()
        .log_group_name("/lift/slow-ok")
        .log_stream_name("s")
        .send()
        .await
        .unwrap();
    // Slow from 10 % of a 5 s flush (500 ms): each call, delayed 600 ms, is slow, and still
    // answers well within its deadline.
    let exporter = CloudWatchLogsExporter::builder("/lift/slow-ok")
        .stream_pattern("s")
        .circuit(2, Duration::from_secs(3600))
        .slow_flush_percent(10)
        .build(&config);
    proxy.set_mode(r#"{"mode": "delay", "ms": 600}"#);
    let t0 = now_ms() - 10_000;
    let mut seen = Vec::new();
    for n in 0..4 {
        log_all(&exporter, &[record(&format!("line {n}"), t0 + n, None)]);
        exporter.flush(in_seconds(5)).await;
        let d = exporter.stats_detail();
        seen.push((
            d.exporter.written,
            d.exporter.fallen_back,
            d.batches,
            d.slow_flushes,
            d.circuit_open,
        ));
    }
    // Two slow flushes in a row (the circuit's threshold) open the circuit; the next lines go
    // to stdout without a call.
    assert_eq!(
        seen,
        [
            (1, 0, 1, 1, false),
            (2, 0, 2, 2, true),
            (2, 1, 2, 2, true),
            (2, 2, 2, 2, true)
        ]
    );
    let stats = exporter.stats();
    assert_eq!((stats.accepted, stats.dropped_total()), (4, 0));
    let last = stats.last_error.unwrap_or_default();
    assert!(
        last.starts_with("PutLogEvents was slow: 2 flushes in a row used 10 % or more"),
        "{last}"
    );
    assert_eq!(
        messages(&direct, "/lift/slow-ok", "s").await,
        ["line 0", "line 1"]
    );
}

#[tokio::test]
async fn a_full_buffer_drops_the_newest_lines() {
    let moto = Moto::start();
    let config = sdk_config(&moto).await;
    let exporter = CloudWatchLogsExporter::builder("/lift/full")
        .stream_pattern("s")
        .max_buffer_bytes(100)
        .build(&config);
    let t0 = now_ms() - 1_000;
    let lines: Vec<_> = (0..5)
        .map(|i| record(&"x".repeat(30), t0 + i, None))
        .collect();
    log_all(&exporter, &lines);
    exporter.flush(in_seconds(10)).await;
    let stats = exporter.stats();
    assert_eq!(stats.accepted, 5);
    assert_eq!(stats.written, 3);
    assert_eq!(stats.dropped_for("buffer_full"), 2);
}
