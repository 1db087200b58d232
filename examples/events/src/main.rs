//! One binary, many sources:
//!
//! - SQS orders `{"id": string, "amount": number}`: an order with a negative amount, or a body
//!   that is not an order, fails that message alone (reported in `batchItemFailures`);
//! - EventBridge `source = "lift.example"`, `detail-type = "Ping"`: logs the detail;
//! - two schedules, `nightly-report` and `hourly-sync`, each with its own handler;
//! - S3 object-created notifications: logs the bucket and key;
//! - HTTP `GET /health`.

use lift::events::{EventBridgeEvent, S3Record, Schedule, SqsMessage};
use lift::middleware::{Recover, RequestId};
use lift::observability::{Field, Unit};
use lift::prelude::*;
use lift::routing::BatchOptions;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Order {
    id: String,
    amount: f64,
}

async fn order(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
    let order = msg.body;
    if order.amount < 0.0 {
        return Err(Error::bad_request("order amount must not be negative"));
    }
    ctx.logger().info(
        "order accepted",
        &[
            ("order_id", order.id.as_str().into()),
            ("amount", order.amount.into()),
        ],
    );
    ctx.metrics()
        .histogram("OrderAmount", Unit::None)
        .record(order.amount);
    Ok(())
}

async fn ping(ctx: Context, ev: EventBridgeEvent<Value>) -> Result<(), Error> {
    ctx.logger().info(
        "ping",
        &[
            ("detail", Field::Json(&ev.detail)),
            ("event_id", ev.id.as_str().into()),
        ],
    );
    Ok(())
}

async fn nightly_report(ctx: Context, s: Schedule) -> Result<(), Error> {
    ctx.logger()
        .info("nightly report", &[("schedule", s.name.as_str().into())]);
    Ok(())
}

async fn hourly_sync(ctx: Context, s: Schedule) -> Result<(), Error> {
    ctx.logger()
        .info("hourly sync", &[("schedule", s.name.as_str().into())]);
    Ok(())
}

async fn object(ctx: Context, rec: S3Record) -> Result<(), Error> {
    if rec.is_created() {
        ctx.logger().info(
            "object created",
            &[
                ("bucket", rec.bucket.as_str().into()),
                ("key", rec.key.as_str().into()),
            ],
        );
    }
    Ok(())
}

async fn health(_ctx: Context) -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

fn app() -> App {
    App::new()
        .middleware(RequestId::new())
        .middleware(Recover::new())
        .batch_options(BatchOptions::new().partial_batch_response(true))
        .on_sqs(order)
        .on_eventbridge("lift.example", "Ping", ping)
        .on_schedule("nightly-report", nightly_report)
        .on_schedule("hourly-sync", hourly_sync)
        .on_s3(object)
        .get("/health", health)
}

#[tokio::main]
async fn main() -> Result<(), lift::BoxError> {
    app().run().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lift::testing::invoke;

    fn sqs(bodies: &[&str]) -> Vec<u8> {
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                json!({
                    "messageId": format!("m{i}"),
                    "receiptHandle": "h",
                    "body": b,
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        serde_json::to_vec(&json!({ "Records": records })).unwrap()
    }

    #[tokio::test]
    async fn bad_orders_fail_alone() {
        let app = app().build().unwrap();
        let inv = app
            .invoke(
                sqs(&[
                    r#"{"id":"a","amount":5}"#,
                    r#"{"id":"b","amount":-1}"#,
                    "not json",
                    r#"{"id":"d","amount":0}"#,
                ])
                .into(),
                lift::testing::lambda_context(),
            )
            .await
            .finish()
            .await
            .unwrap();
        let reply: Value = serde_json::from_slice(&inv.to_json()).unwrap();
        assert_eq!(
            reply,
            json!({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]})
        );
        let res = invoke(&app, lift::testing::TestRequest::get("/health").v2())
            .await
            .unwrap();
        assert_eq!(res.text(), r#"{"status":"ok"}"#);
    }
}
