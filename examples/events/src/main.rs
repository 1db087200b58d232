//! One binary, many sources:
//!
//! - SQS orders `{"id": string, "amount": number, "tenant"?: string}`: an order with a negative
//!   amount, or a body that is not an order, fails that message alone (reported in
//!   `batchItemFailures`); an order's `tenant` goes on its own Context, so its log lines and its
//!   `OrderAmount` metric carry it (the other records of the batch keep theirs);
//! - EventBridge `source = "lift.example"`, `detail-type = "Ping"`: logs the detail;
//! - two schedules, `nightly-report` and `hourly-sync`, each with its own handler;
//! - S3 object-created notifications: logs the bucket and key;
//! - HTTP `GET /health`.

use lift::events::{EventBridgeEvent, S3Record, Schedule, SqsMessage};
use lift::middleware::Stack;
use lift::observability::{Field, Unit};
use lift::prelude::*;
use lift::routing::BatchOptions;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Order {
    id: String,
    amount: f64,
    tenant: Option<String>,
}

async fn order(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
    let order = msg.body;
    if let Some(tenant) = order.tenant {
        // This record's tenant only: `tenant_id` on its lines, `tenant` on its metrics.
        ctx.set_tenant(tenant);
    }
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
        .middleware_stack(Stack::new())
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
    async fn each_order_carries_its_own_tenant() {
        use lift::observability::{LogFormat, MemoryExporter, Observability};
        let mem = MemoryExporter::new();
        let app = app()
            .observability(
                Observability::new()
                    .service("events")
                    .log_format(LogFormat::Json)
                    .cold_start_metric(false)
                    .export_to(mem.clone()),
            )
            .build()
            .unwrap();
        invoke(
            &app,
            sqs(&[
                r#"{"id":"a","amount":5,"tenant":"acme"}"#,
                r#"{"id":"b","amount":7}"#,
                r#"{"id":"c","amount":2,"tenant":"globex"}"#,
            ]),
        )
        .await
        .unwrap();
        let tenants: Vec<(Value, Value)> = mem
            .logs()
            .iter()
            .filter(|l| l["message"] == "order accepted")
            .map(|l| (l["order_id"].clone(), l["tenant_id"].clone()))
            .collect();
        assert_eq!(
            tenants,
            vec![
                (json!("a"), json!("acme")),
                (json!("b"), Value::Null),
                (json!("c"), json!("globex"))
            ]
        );
        let amounts: Vec<(Value, Value)> = mem
            .metrics()
            .iter()
            .map(|d| (d["tenant"].clone(), d["OrderAmount"]["Sum"].clone()))
            .collect();
        assert_eq!(
            amounts,
            vec![
                (json!("acme"), json!(5.0)),
                (Value::Null, json!(7.0)),
                (json!("globex"), json!(2.0))
            ]
        );
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
