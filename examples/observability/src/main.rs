//! The hello-world routes with observability on the default sinks.
//!
//! - one structured log line per request (method, route, status, latency), written by an
//!   app-wide middleware through the invocation's logger;
//! - each handler logs through a child logger carrying `handler`;
//! - `GET /hello` counts `Greetings` and records the name's length in the `NameLength`
//!   histogram;
//! - `GET /me` trusts API Gateway's authorizer (`AuthorizerClaims`): its user and tenant are on
//!   every line the request logs, so with `LIFT_CLOUDWATCH_TENANT_STREAMS=1` they go to the
//!   tenant's own stream;
//! - DEBUG lines are buffered and written only when an invocation fails;
//! - `service` and the metrics namespace come from `POWERTOOLS_SERVICE_NAME` and
//!   `POWERTOOLS_METRICS_NAMESPACE`.
//!
//! Locally (`cargo run -p observability`) logs are human-readable; in Lambda (or with
//! `LIFT_LOG_FORMAT=json`) they are JSON lines, and each invocation writes one EMF document.
//!
//! The exporters come from the environment (`lift_aws::exporters::Exporters::from_env`; or
//! name them in `LIFT_EXPORTERS`); without these variables everything goes to stdout:
//! - `LIFT_CLOUDWATCH_LOG_GROUP=<group>`: log lines to that CloudWatch Logs group through
//!   PutLogEvents (falling back to stdout while CloudWatch is unreachable), and
//!   `LIFT_CLOUDWATCH_TENANT_STREAMS=1` for one stream per tenant, `LIFT_CLOUDWATCH_LOGS_BATCH=1`
//!   to batch across invocations (what is held is sent at SIGTERM);
//! - `LIFT_CLOUDWATCH_METRICS=1`: metrics through PutMetricData instead of EMF (falling back to
//!   EMF on stdout while CloudWatch is unreachable);
//! - `AWS_XRAY_DAEMON_ADDRESS` (which Lambda sets when active tracing is on): X-Ray
//!   subsegments for each invocation, sent to the daemon after the response.
//!
//! What is not sent through an API stays on stdout. At shutdown (SIGTERM) the function logs one
//! `telemetry stats` line: each exporter's accepted, written, fallen-back and dropped counts up
//! to the shutdown flush, which runs after the hook (what it sends is not in the line).
//!
//! The SDK's own settings apply: `AWS_REGION`, credentials, and `AWS_ENDPOINT_URL` to point the
//! exporters at a stand-in.

use std::time::Instant;

use lift::observability::{install_tracing_bridge, Observability, Unit};
use lift::prelude::*;
use lift::security::AuthorizerClaims;
use lift_aws::exporters::Exporters;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize, garde::Validate)]
struct NewUser {
    #[garde(length(chars, min = 1, max = 64))]
    name: String,
    #[garde(email)]
    email: String,
}

#[derive(Serialize)]
struct User {
    id: String,
    name: String,
    email: String,
}

async fn hello(ctx: Context) -> Json<serde_json::Value> {
    let log = ctx.logger().child(&[("handler", "hello".into())]);
    let name = ctx.request().query("name").unwrap_or("World");
    log.debug("building greeting", &[("name", name.into())]);
    let metrics = ctx.metrics();
    metrics.counter("Greetings").increment();
    metrics
        .histogram("NameLength", Unit::Count)
        .record(name.chars().count() as f64);
    Json(json!({ "message": format!("Hello, {name}!") }))
}

async fn get_user(ctx: Context) -> Json<serde_json::Value> {
    let log = ctx.logger().child(&[("handler", "get_user".into())]);
    let id = ctx.route().param("id").unwrap_or_default();
    // `tracing` events inside an invocation come out as Lift log lines with its fields.
    tracing::info!(user_id = id, "looking up user");
    log.debug("user found", &[("id", id.into())]);
    Json(json!({ "id": id }))
}

async fn create_user(ctx: Context, ValidJson(new): ValidJson<NewUser>) -> (StatusCode, Json<User>) {
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        name: new.name,
        email: new.email,
    };
    ctx.logger()
        .child(&[("handler", "create_user".into())])
        .info("user created", &[("id", user.id.as_str().into())]);
    (StatusCode::CREATED, Json(user))
}

/// The caller, as API Gateway's authorizer verified it.
async fn me(ctx: Context) -> Json<serde_json::Value> {
    ctx.logger()
        .child(&[("handler", "me".into())])
        .info("caller", &[]);
    Json(json!({ "user": ctx.identity().user(), "tenant": ctx.identity().tenant() }))
}

/// One line per request, written after the handler with its status and latency.
async fn access_log(ctx: Context, next: Next) -> Result<Response, Error> {
    let log = ctx.logger();
    let method = ctx.request().method().to_string();
    let route = ctx.route().template().unwrap_or("unmatched").to_owned();
    let path = ctx.path().to_owned();
    let started = Instant::now();
    let result = next.run(ctx).await;
    let status = match &result {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.status().as_u16(),
    };
    log.info(
        "request",
        &[
            ("method", method.as_str().into()),
            ("route", route.as_str().into()),
            ("path", path.as_str().into()),
            ("status", status.into()),
            (
                "latency_ms",
                (started.elapsed().as_secs_f64() * 1000.0).into(),
            ),
        ],
    );
    result
}

fn observability() -> Observability {
    Observability::from_env().debug_buffer(lift::observability::DEFAULT_DEBUG_BUFFER_BYTES)
}

fn app(obs: Observability) -> App {
    App::new()
        .observability(obs)
        .middleware(from_fn(access_log))
        .get("/hello", hello)
        .get("/users/{id}", get_user)
        .post("/users", create_user)
        .group("/me", |g| {
            g.middleware(AuthorizerClaims::new()).get("/", me)
        })
}

#[tokio::main]
async fn main() -> Result<(), lift::BoxError> {
    // Every exporter the environment asks for, and stdout for what none of them takes.
    let obs = Exporters::from_env().await?.install(observability());
    install_tracing_bridge(&obs)?;
    let stats = obs.clone();
    app(obs)
        // One line per sandbox, at its end: what each exporter delivered, fell back and lost.
        .on_shutdown(move || async move { log_stats(&stats) })
        .run()
        .await
}

/// The `telemetry stats` line: [`TelemetryStats`](lift::observability::TelemetryStats) as JSON,
/// at WARN when anything was lost or cut off.
fn log_stats(obs: &Observability) {
    let stats = obs.stats();
    let lost = stats.exporters.iter().any(|(_, e)| e.dropped_total() > 0)
        || stats.flush_timeouts > 0
        || stats.exporter_panics > 0
        || stats.late_records > 0;
    let json = stats.to_json();
    let fields = [("stats", (&json).into())];
    if lost {
        obs.logger().warn("telemetry stats", &fields);
    } else {
        obs.logger().info("telemetry stats", &fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lift::observability::{LogFormat, MemoryExporter};
    use lift::testing::{invoke, TestRequest};

    #[tokio::test]
    async fn hello_logs_one_request_line_and_records_metrics() {
        let mem = MemoryExporter::new();
        let obs = Observability::new()
            .service("hello")
            .namespace("Lift/Examples")
            .log_format(LogFormat::Json)
            .debug_buffer(20 * 1024)
            .export_to(mem.clone());
        let app = app(obs).build().unwrap();
        let res = invoke(&app, TestRequest::get("/hello?name=Ada").v2())
            .await
            .unwrap();
        assert_eq!(res.text(), r#"{"message":"Hello, Ada!"}"#);
        let logs = mem.logs();
        assert_eq!(logs.len(), 1, "debug lines stay buffered: {logs:?}");
        assert_eq!(logs[0]["message"], "request");
        assert_eq!(logs[0]["route"], "/hello");
        assert_eq!(logs[0]["status"], 200);
        let doc = mem
            .metrics()
            .into_iter()
            .find(|d| d.get("Greetings").is_some())
            .unwrap();
        assert_eq!(doc["Greetings"], 1.0);
        assert_eq!(
            doc["NameLength"],
            json!({"Values": [3.0], "Counts": [1], "Max": 3.0, "Min": 3.0, "Count": 1, "Sum": 3.0})
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Lift/Examples"
        );
    }
}
