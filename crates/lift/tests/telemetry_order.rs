//! One request's telemetry, captured whole, carries the same ids everywhere whatever the order
//! of the middleware and whenever the tenant becomes known: every log line, the EMF document and
//! every subsegment name the trace Lambda handed over, and every log line written once the
//! tenant is known (the request line included) names the tenant and the user.
//!
//! The ids live on the invocation's frame, not on a request header or a middleware's state, so
//! no order of the parts can lose them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{traced_lambda, TRACE_ID, TRACE_PARENT};
use lift::middleware::{from_fn, AccessLog, Middleware, Next, RequestId, RequestMetrics, Stack};
use lift::observability::{LogFormat, MemoryExporter, Observability};
use lift::prelude::*;
use lift::testing::{invoke_with, TestRequest};
use serde_json::Value;

/// Sets the tenant and user, as an authentication middleware does.
fn auth() -> impl Middleware {
    from_fn(|ctx: Context, next: Next| async move {
        ctx.set_tenant("acme");
        ctx.set_user("user-7");
        next.run(ctx).await
    })
}

/// The handler: logs, records a metric, opens a span of its own.
async fn handler(ctx: Context) -> &'static str {
    ctx.logger().info("handling", &[]);
    ctx.metrics().counter("Handled").increment();
    let span = ctx.tracer().span("work");
    drop(span);
    "ok"
}

/// The same handler, but the tenant becomes known only inside it.
async fn late_tenant(ctx: Context) -> &'static str {
    ctx.logger().info("before the tenant", &[]);
    ctx.set_tenant("acme");
    ctx.set_user("user-7");
    handler(ctx).await
}

/// One request through `middleware` (in order, outermost first) to `GET /orders/{id}`,
/// captured whole.
async fn captured(
    middleware: Vec<Arc<dyn Fn() -> Box<dyn Middleware>>>,
    late: bool,
) -> MemoryExporter {
    let mem = MemoryExporter::new();
    let mut app = App::new().observability(
        Observability::new()
            .service("orders")
            .namespace("Lift/Order")
            .log_format(LogFormat::Json)
            .export_to(mem.clone()),
    );
    for m in &middleware {
        app = app.middleware(BoxedMiddleware(m()));
    }
    let app = if late {
        app.get("/orders/{id}", late_tenant)
    } else {
        app.get("/orders/{id}", handler)
    };
    let app = app.build().unwrap();
    let res = invoke_with(
        &app,
        TestRequest::get("/orders/42").v2(),
        traced_lambda("req-1"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    mem
}

/// A boxed middleware, as the permutations hold them.
struct BoxedMiddleware(Box<dyn Middleware>);

impl Middleware for BoxedMiddleware {
    fn call(&self, ctx: Context, next: Next) -> lift::BoxFuture<lift::middleware::Outcome> {
        self.0.call(ctx, next)
    }
}

/// Every line, document and subsegment carries the trace; lines from the moment the tenant is
/// known carry it (and the user).
fn assert_one_identity(mem: &MemoryExporter, order: &str, untenanted: &[&str]) {
    let logs = mem.logs();
    let messages: Vec<&str> = logs
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert!(messages.contains(&"request"), "{order}: {messages:?}");
    assert!(messages.contains(&"handling"), "{order}: {messages:?}");
    for line in &logs {
        assert_eq!(line["xray_trace_id"], TRACE_ID, "{order}: {line}");
        assert_eq!(line["function_request_id"], "req-1", "{order}: {line}");
        assert_eq!(line["request_id"], "req-1", "{order}: {line}");
        if untenanted.contains(&line["message"].as_str().unwrap()) {
            assert_eq!(line["tenant_id"], Value::Null, "{order}: {line}");
        } else {
            assert_eq!(line["tenant_id"], "acme", "{order}: {line}");
            assert_eq!(line["user_id"], "user-7", "{order}: {line}");
        }
    }
    let docs = mem.metrics();
    assert!(!docs.is_empty(), "{order}: no EMF document");
    for doc in &docs {
        assert_eq!(doc["xray_trace_id"], TRACE_ID, "{order}: {doc}");
        // The cold-start document is the function's, not a tenant's (as Powertools writes it).
        if doc.get("ColdStart").is_none() {
            assert_eq!(doc["tenant"], "acme", "{order}: {doc}");
        }
    }
    let handled: Vec<&Value> = docs.iter().filter(|d| d.get("Handled").is_some()).collect();
    assert_eq!(handled.len(), 1, "{order}: {docs:#?}");
    let requests: Vec<&Value> = docs
        .iter()
        .filter(|d| d.get("Requests").is_some())
        .collect();
    assert_eq!(requests.len(), 1, "{order}: {docs:#?}");
    assert_eq!(requests[0]["route"], "/orders/{id}", "{order}");
    assert_eq!(requests[0]["status_class"], "2xx", "{order}");

    let batches = mem.span_batches();
    assert_eq!(batches.len(), 1, "{order}: one trace");
    let batch = &batches[0];
    assert_eq!(batch.trace_id.as_deref(), Some(TRACE_ID), "{order}");
    assert_eq!(batch.parent_id.as_deref(), Some(TRACE_PARENT), "{order}");
    assert_eq!(batch.roots.len(), 1, "{order}");
    let root = &batch.roots[0];
    assert_eq!(root.name, "## GET /orders/:id", "{order}");
    let children: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(children, ["work"], "{order}");
    for doc in mem.spans() {
        assert_eq!(doc["trace_id"], TRACE_ID, "{order}: {doc}");
    }
}

type Make = Arc<dyn Fn() -> Box<dyn Middleware>>;

fn make<M: Middleware>(f: fn() -> M) -> Make {
    Arc::new(move || Box::new(f()) as Box<dyn Middleware>)
}

#[tokio::test]
async fn the_ids_are_on_everything_in_every_middleware_order() {
    let parts: Vec<(&str, Make)> = vec![
        ("request-id", make(RequestId::new)),
        ("access-log", make(AccessLog::new)),
        ("metrics", make(|| RequestMetrics)),
        ("auth", make(auth)),
    ];
    // Every order of the four parts: the tenant is known before the request line is written
    // in some, after it starts in others.
    let mut orders: Vec<Vec<usize>> = vec![vec![]];
    for _ in 0..parts.len() {
        orders = orders
            .into_iter()
            .flat_map(|o| {
                (0..parts.len())
                    .filter(|i| !o.contains(i))
                    .map(|i| {
                        let mut n = o.clone();
                        n.push(i);
                        n
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    assert_eq!(orders.len(), 24);
    for order in orders {
        let name: Vec<&str> = order.iter().map(|&i| parts[i].0).collect();
        let chain: Vec<Make> = order.iter().map(|&i| parts[i].1.clone()).collect();
        let mem = captured(chain, false).await;
        assert_one_identity(&mem, &name.join(" > "), &[]);
    }
}

#[tokio::test]
async fn a_tenant_set_late_still_reaches_the_request_line_and_the_metrics() {
    // The default stack, the tenant known only inside the handler.
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(
            Observability::new()
                .service("orders")
                .namespace("Lift/Order")
                .log_format(LogFormat::Json)
                .export_to(mem.clone()),
        )
        .middleware_stack(Stack::new())
        .get("/orders/{id}", late_tenant)
        .build()
        .unwrap();
    let res = invoke_with(
        &app,
        TestRequest::get("/orders/42").v2(),
        traced_lambda("req-1"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_one_identity(&mem, "default stack, late tenant", &["before the tenant"]);

    // And with the parts in their own order around a late tenant.
    let chain = vec![
        make(RequestMetrics::new),
        make(AccessLog::new),
        make(RequestId::new),
    ];
    let mem = captured(chain, true).await;
    assert_one_identity(
        &mem,
        "metrics > access-log > request-id, late tenant",
        &["before the tenant"],
    );
}
