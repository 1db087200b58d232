//! A 10-message SQS batch through the app: detect, parse the records, decode each body into
//! the handler's type, run the handler per message (with the app middleware chain), and write
//! the partial batch response.
//!
//! `cargo bench -p lift --bench events`

// A bench is a test harness: a broken setup should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
mod support;
use support::ready;

use criterion::{criterion_group, criterion_main, Criterion};
use lift::events::SqsMessage;
use lift::observability::{Exporter, MetricsBatch, Observability, RecordKind};
use lift::routing::BatchOptions;
use lift::{App, Context, Error, LambdaContext};
use serde::Deserialize;
use serde_json::json;

/// Takes what the default stdout sink takes (logs and metrics, not spans) and discards it.
struct Discard;

impl Exporter for Discard {
    fn name(&self) -> &str {
        "discard"
    }

    fn accepts(&self, kind: RecordKind) -> bool {
        kind != RecordKind::Span
    }

    fn metrics(&self, batch: &MetricsBatch) {
        // Render the documents, as stdout would.
        std::hint::black_box(batch.emf_documents());
    }
}

#[derive(Deserialize)]
struct Order {
    #[allow(dead_code)]
    id: String,
    amount: f64,
}

async fn order(_ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
    if msg.body.amount < 0.0 {
        return Err(Error::bad_request("negative amount"));
    }
    Ok(())
}

fn batch() -> Bytes {
    let records: Vec<serde_json::Value> = (0..10)
        .map(|i| {
            json!({
                "messageId": format!("059f36b4-87a3-44ab-83d2-66197583{i:04}"),
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
                "body": format!(r#"{{"id":"order-{i}","amount":{}}}"#, if i == 3 { -1 } else { i * 10 }),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185"
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:orders",
                "awsRegion": "us-east-2"
            })
        })
        .collect();
    Bytes::from(serde_json::to_vec(&json!({ "Records": records })).unwrap())
}

fn events(c: &mut Criterion) {
    let app = App::new()
        .observability(Observability::new().export_to(Discard))
        .batch_options(BatchOptions::new().partial_batch_response(true))
        .on_sqs(order)
        .build()
        .unwrap();
    let bytes = batch();
    let lambda = LambdaContext::local(
        "8f7d8f2a-0000-4000-8000-000000000001",
        Duration::from_secs(3),
    );
    let check = ready(app.invoke(bytes.clone(), lambda.clone()))
        .reply
        .unwrap()
        .to_json();
    assert_eq!(
        String::from_utf8(check).unwrap(),
        r#"{"batchItemFailures":[{"itemIdentifier":"059f36b4-87a3-44ab-83d2-661975830003"}]}"#
    );
    c.bench_function("sqs_batch_10", |b| {
        b.iter(|| {
            let inv = ready(app.invoke(bytes.clone(), lambda.clone()));
            ready(inv.finish()).unwrap().to_json()
        })
    });
}

criterion_group!(benches, events);
criterion_main!(benches);
