//! The CloudWatch Logs exporter's two hot paths: accepting a line on the request path (alone,
//! and with a second thread logging as many lines at the same time), and cutting held lines
//! into PutLogEvents batches. Only the accepts are timed; the flushes between them (to a
//! stand-in on loopback that answers at once) send what was held, as in a running function.
//!
//! `cargo bench -p lift-aws --features cloudwatch-logs --bench logs`

// A bench is a test harness: a broken setup should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lift::observability::{Exporter, Level, LogRecord};
use lift_aws::aws_config::{BehaviorVersion, Region, SdkConfig};
use lift_aws::aws_sdk_cloudwatchlogs::config::{Credentials, SharedCredentialsProvider};
use lift_aws::logs::batch::{batches, events, Limits};
use lift_aws::logs::CloudWatchLogsExporter;

/// A W1-sized JSON log line (about 600 bytes).
fn line() -> String {
    format!(
        r#"{{"level":"INFO","message":"request","timestamp":"2026-12-02T01:19:54.462Z","service":"lift-bench","cold_start":false,"function_name":"lift-bench-w1","function_memory_size":1024,"function_arn":"arn:aws:lambda:eu-west-1:123456789012:function:lift-bench-w1","function_request_id":"00000007-0000-4000-8000-000000000007","request_id":"00000007-0000-4000-8000-000000000007","tenant_id":"tenant-a","user_id":"user-7","method":"GET","route":"/users/{{id}}","path":"/users/42","status":200,"latency_ms":0.005,"source_ip":"203.0.113.17","user_agent":"{}"}}"#,
        "Mozilla/5.0 (X11; Linux x86_64)"
    )
}

/// A stand-in for CloudWatch Logs on 127.0.0.1 that answers every request `200 {}` at once,
/// on keep-alive connections: flushes in the bench cost no network wait, and free what they
/// send, as in a function where each invocation's lines are sent after its response.
fn fake_cloudwatch() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            std::thread::spawn(move || serve(conn));
        }
    });
    port
}

fn serve(conn: TcpStream) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    loop {
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 2\r\n\r\n{}";
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// The exporter as a function runs it (every invocation's lines sent in its own flush), its
/// client pointed at the stand-in.
fn exporter(port: u16) -> CloudWatchLogsExporter {
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "bench", "bench", None, None, "bench",
        )))
        .build();
    CloudWatchLogsExporter::builder("/bench")
        .stream_pattern("bench")
        .build(&config)
}

/// Lines logged between two flushes: an invocation's worth and then some.
const PER_FLUSH: u64 = 64;

/// Time `iters` accepts on this thread while `others` threads log the same number of lines at
/// the same time, as concurrent invocations do. After every [`PER_FLUSH`] lines each the
/// threads meet, and the exporter flushes (untimed), as it does after each response.
fn timed_accepts(iters: u64, others: usize, port: u16, text: &str) -> Duration {
    let exporter = Arc::new(exporter(port));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rounds = iters.div_ceil(PER_FLUSH);
    // Each round: all threads start logging together, then all have finished.
    let start = Arc::new(Barrier::new(others + 1));
    let done = Arc::new(Barrier::new(others + 1));
    let producers: Vec<_> = (0..others)
        .map(|_| {
            let (exporter, text) = (exporter.clone(), text.to_owned());
            let (start, done) = (start.clone(), done.clone());
            std::thread::spawn(move || {
                let record = LogRecord::new(Level::Info, text.as_bytes());
                for _ in 0..rounds {
                    start.wait();
                    for _ in 0..PER_FLUSH {
                        exporter.log(&record);
                    }
                    done.wait();
                }
            })
        })
        .collect();
    let record = LogRecord::new(Level::Info, text.as_bytes());
    let mut elapsed = Duration::ZERO;
    let mut left = iters;
    for _ in 0..rounds {
        let n = PER_FLUSH.min(left);
        start.wait();
        let started = Instant::now();
        for _ in 0..n {
            exporter.log(&record);
        }
        elapsed += started.elapsed();
        left -= n;
        done.wait();
        rt.block_on(exporter.flush(Instant::now() + Duration::from_secs(5)));
    }
    for p in producers {
        p.join().unwrap();
    }
    let stats = exporter.stats();
    assert_eq!(stats.dropped_total(), 0, "{stats:?}");
    elapsed
}

fn enqueue(c: &mut Criterion) {
    let text = line();
    let port = fake_cloudwatch();
    c.bench_function("logs/enqueue_two_producers", |b| {
        b.iter_custom(|iters| timed_accepts(iters, 1, port, &text))
    });
    c.bench_function("logs/enqueue_one_producer", |b| {
        b.iter_custom(|iters| timed_accepts(iters, 0, port, &text))
    });
}

fn batching(c: &mut Criterion) {
    let text = line();
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
    let t0 = base
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // 20,000 lines, a little out of order, as concurrent invocations leave them.
    let entries: Vec<(usize, i64, &str)> = (0..20_000)
        .map(|i| {
            (
                i,
                t0 + (i as i64 / 4) * 4 + (3 - i as i64 % 4),
                text.as_str(),
            )
        })
        .collect();
    let mut group = c.benchmark_group("logs");
    group.throughput(Throughput::Elements(entries.len() as u64));
    group.bench_function("batch_building", |b| {
        b.iter(|| {
            let out = batches(events(entries.iter().copied()), &Limits::default());
            assert!(out.len() >= 2);
            out
        })
    });
    group.finish();
}

criterion_group!(benches, enqueue, batching);
criterion_main!(benches);
