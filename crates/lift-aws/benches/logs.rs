//! The CloudWatch Logs exporter's two hot paths: accepting a line on the request path (with a
//! second thread logging at the same time), and cutting held lines into PutLogEvents batches.
//!
//! `cargo bench -p lift-aws --features cloudwatch-logs --bench logs`

// A bench is a test harness: a broken setup should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lift::observability::{Exporter, Level, LogRecord};
use lift_aws::aws_config::{BehaviorVersion, Region, SdkConfig};
use lift_aws::logs::batch::{batches, events, Limits};
use lift_aws::logs::{CloudWatchLogsExporter, Thresholds};

/// A W1-sized JSON log line (about 600 bytes).
fn line() -> String {
    format!(
        r#"{{"level":"INFO","message":"request","timestamp":"2026-12-02T01:19:54.462Z","service":"lift-bench","cold_start":false,"function_name":"lift-bench-w1","function_memory_size":1024,"function_arn":"arn:aws:lambda:eu-west-1:123456789012:function:lift-bench-w1","function_request_id":"00000007-0000-4000-8000-000000000007","request_id":"00000007-0000-4000-8000-000000000007","tenant_id":"tenant-a","user_id":"user-7","method":"GET","route":"/users/{{id}}","path":"/users/42","status":200,"latency_ms":0.005,"source_ip":"203.0.113.17","user_agent":"{}"}}"#,
        "Mozilla/5.0 (X11; Linux x86_64)"
    )
}

/// An exporter that holds lines (batching across invocations, thresholds never reached in the
/// bench) with room for every line the bench logs; its client is never called.
fn holding_exporter() -> CloudWatchLogsExporter {
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    CloudWatchLogsExporter::builder("/bench")
        .batch_across_invocations(Thresholds {
            max_events: usize::MAX,
            max_bytes: usize::MAX,
            max_age: Duration::from_secs(3600),
        })
        .max_buffer_bytes(usize::MAX / 2)
        .build(&config)
}

fn enqueue(c: &mut Criterion) {
    let text = line();
    c.bench_function("logs/enqueue_two_producers", |b| {
        b.iter_custom(|iters| {
            // A fresh exporter per sample, so what the bench holds is freed between samples.
            let exporter = Arc::new(holding_exporter());
            let stop = Arc::new(AtomicBool::new(false));
            let other = {
                let (exporter, stop, text) = (exporter.clone(), stop.clone(), text.clone());
                std::thread::spawn(move || {
                    let record = LogRecord::new(Level::Info, text.as_bytes());
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..64 {
                            exporter.log(&record);
                        }
                    }
                })
            };
            let record = LogRecord::new(Level::Info, text.as_bytes());
            let started = Instant::now();
            for _ in 0..iters {
                exporter.log(&record);
            }
            let elapsed = started.elapsed();
            stop.store(true, Ordering::Relaxed);
            other.join().unwrap();
            elapsed
        })
    });
}

/// The same accept path with no other producer: what contention adds is the difference.
fn enqueue_alone(c: &mut Criterion) {
    let text = line();
    c.bench_function("logs/enqueue_one_producer", |b| {
        b.iter_custom(|iters| {
            let exporter = holding_exporter();
            let record = LogRecord::new(Level::Info, text.as_bytes());
            let started = Instant::now();
            for _ in 0..iters {
                exporter.log(&record);
            }
            started.elapsed()
        })
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

criterion_group!(benches, enqueue, enqueue_alone, batching);
criterion_main!(benches);
