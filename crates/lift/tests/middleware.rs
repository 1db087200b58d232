//! The basic middleware set, one behaviour at a time, with exact headers, bodies and log lines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lift::middleware::{
    AccessLog, ErrorHandler, Recover, RequestId, RequestMetrics, Stack, Timeout, TowerLayer,
};
use lift::observability::{LogFormat, MemoryExporter, Observability};
use lift::prelude::*;
use lift::testing::{invoke, invoke_with, TestRequest};
use lift::LambdaContext;
use serde_json::{json, Value};

fn obs(mem: &MemoryExporter) -> Observability {
    Observability::new()
        .service("mw")
        .namespace("Lift/Mw")
        .log_format(LogFormat::Json)
        .export_to(mem.clone())
}

fn lambda(id: &str) -> LambdaContext {
    LambdaContext::local(id, Duration::from_secs(30))
}

/// [`lambda`] as Lambda runs a function with active tracing: with its trace header.
fn traced_lambda(id: &str) -> LambdaContext {
    let mut l = lambda(id);
    l.xray_trace_id =
        Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into());
    l
}

fn error_body(code: &str, message: &str, request_id: &str) -> Value {
    json!({"error": {"code": code, "message": message, "request_id": request_id}})
}

// --- RequestId -------------------------------------------------------------------------------

#[tokio::test]
async fn request_id_is_taken_from_a_well_formed_header_and_echoed() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem))
        .middleware(RequestId::new())
        .get("/id", |ctx: Context| async move {
            ctx.logger().info("in handler", &[]);
            ctx.request_id().to_owned()
        })
        .build()
        .unwrap();
    let res = invoke_with(
        &app,
        TestRequest::get("/id")
            .header("X-Request-Id", "client-abc.123")
            .v1(),
        lambda("lambda-1"),
    )
    .await
    .unwrap();
    assert_eq!(res.text(), "client-abc.123");
    assert_eq!(res.header("x-request-id"), Some("client-abc.123"));
    assert_eq!(mem.logs()[0]["request_id"], "client-abc.123");
    assert_eq!(mem.logs()[0]["function_request_id"], "lambda-1");

    // Errors carry it too, in the body and the header.
    let res = invoke_with(
        &app,
        TestRequest::get("/nope")
            .header("x-request-id", "client-404")
            .v2(),
        lambda("lambda-2"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.header("x-request-id"), Some("client-404"));
    assert_eq!(
        res.json::<Value>().unwrap(),
        error_body("not_found", "no route matches this path", "client-404")
    );
}

#[tokio::test]
async fn malformed_request_ids_are_replaced_by_the_lambda_id() {
    let app = App::new()
        .middleware(RequestId::new())
        .get(
            "/id",
            |ctx: Context| async move { ctx.request_id().to_owned() },
        )
        .build()
        .unwrap();
    for bad in ["has space", &"x".repeat(129), "", "tab\there", "ünïcode"] {
        let res = invoke_with(
            &app,
            TestRequest::get("/id").header("x-request-id", bad).v2(),
            lambda("lambda-x"),
        )
        .await
        .unwrap();
        assert_eq!(res.text(), "lambda-x", "{bad:?}");
        assert_eq!(res.header("x-request-id"), Some("lambda-x"));
    }
    let exactly_128 = "y".repeat(128);
    let res = invoke_with(
        &app,
        TestRequest::get("/id")
            .header("x-request-id", &exactly_128)
            .v2(),
        lambda("l"),
    )
    .await
    .unwrap();
    assert_eq!(res.text(), exactly_128);
}

#[tokio::test]
async fn request_id_header_is_configurable() {
    let app = App::new()
        .middleware(RequestId::new().header("X-Correlation-Id"))
        .get(
            "/id",
            |ctx: Context| async move { ctx.request_id().to_owned() },
        )
        .build()
        .unwrap();
    let res = invoke(
        &app,
        TestRequest::get("/id")
            .header("x-correlation-id", "corr-9")
            .header("x-request-id", "ignored")
            .v2(),
    )
    .await
    .unwrap();
    assert_eq!(res.text(), "corr-9");
    assert_eq!(res.header("x-correlation-id"), Some("corr-9"));
    assert_eq!(res.header("x-request-id"), None);
}

// --- AccessLog -------------------------------------------------------------------------------

fn access_app(mem: &MemoryExporter, log: AccessLog) -> lift::AppService {
    App::new()
        .observability(obs(mem))
        .middleware(log)
        .middleware(from_fn(|ctx: Context, next: Next| async move {
            // What an auth middleware does once it knows the caller.
            if ctx.request().header("authorization").is_some() {
                ctx.set_tenant("acme");
                ctx.set_user("user-7");
            }
            next.run(ctx).await
        }))
        .get("/users/{id}", |_ctx: Context| async { "ok" })
        .get("/health", |_ctx: Context| async { "ok" })
        .get("/fail", |_ctx: Context| async {
            Err::<&str, _>(Error::internal(std::io::Error::other("db down")))
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn access_log_writes_one_line_per_request_without_secrets() {
    let mem = MemoryExporter::new();
    let app = access_app(
        &mem,
        AccessLog::new()
            .log_headers(true)
            .sensitive_header("X-Secret")
            .sensitive_query("token"),
    );
    let req = TestRequest::get("/users/42?token=s3cr3t&page=2")
        .header("Authorization", "Bearer abc.def.ghi")
        .header("Cookie", "session=topsecret")
        .header("X-Secret", "hidden-value")
        .header("User-Agent", "curl/8.0")
        .header("Accept", "application/json")
        .source_ip("198.51.100.4");
    invoke_with(&app, req.v1(), traced_lambda("req-log"))
        .await
        .unwrap();
    let raw = mem.raw(lift::observability::RecordKind::Log);
    assert_eq!(raw.len(), 1);
    for secret in ["abc.def.ghi", "topsecret", "hidden-value", "s3cr3t"] {
        assert!(!raw[0].contains(secret), "{secret} leaked: {}", raw[0]);
    }
    let mut line: Value = serde_json::from_str(&raw[0]).unwrap();
    let latency = line["latency_ms"].as_f64().unwrap();
    assert!(latency >= 0.0);
    let obj = line.as_object_mut().unwrap();
    for k in [
        "timestamp",
        "latency_ms",
        "cold_start",
        "function_arn",
        "function_name",
        "function_memory_size",
    ] {
        obj.remove(k);
    }
    assert_eq!(
        line,
        json!({
            "level": "INFO",
            "message": "request",
            "service": "mw",
            "function_request_id": "req-log",
            "request_id": "req-log",
            "tenant_id": "acme",
            "user_id": "user-7",
            "method": "GET",
            "route": "/users/{id}",
            "path": "/users/42",
            "status": 200,
            "source_ip": "198.51.100.4",
            "user_agent": "curl/8.0",
            "query": {"page": "2", "token": "[redacted]"},
            "headers": {"user-agent": "curl/8.0", "accept": "application/json"},
            "xray_trace_id": "1-5759e988-bd862e3fe1be46a994272793"
        })
    );
}

#[tokio::test]
async fn access_log_skips_paths_and_logs_5xx_at_error() {
    let mem = MemoryExporter::new();
    let app = access_app(&mem, AccessLog::new().skip_path("/health"));
    invoke(&app, TestRequest::get("/health").v2())
        .await
        .unwrap();
    assert!(mem.logs().is_empty());
    invoke(&app, TestRequest::get("/fail").v2()).await.unwrap();
    let lines: Vec<(Value, Value)> = mem
        .logs()
        .iter()
        .map(|l| (l["message"].clone(), l["level"].clone()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (json!("request"), json!("ERROR")),
            (json!("request failed"), json!("ERROR"))
        ]
    );
    let unmatched = {
        mem.clear();
        invoke(&app, TestRequest::get("/missing").v2())
            .await
            .unwrap();
        mem.logs()[0].clone()
    };
    assert_eq!(unmatched["route"], Value::Null);
    assert_eq!(unmatched["status"], 404);
    assert_eq!(unmatched["level"], "INFO");
}

// --- Recover ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_panic_becomes_a_500_and_the_app_keeps_serving() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem))
        .middleware(Recover::new())
        .get("/panic", |_ctx: Context| async {
            if true {
                panic!("index out of bounds: secret detail");
            }
            "unreachable"
        })
        .get("/ok", |_ctx: Context| async { "fine" })
        .build()
        .unwrap();
    let res = invoke_with(&app, TestRequest::get("/panic").v2(), lambda("req-panic"))
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(
        res.json::<Value>().unwrap(),
        error_body("internal", "internal server error", "req-panic")
    );
    assert!(!res.text().contains("secret detail"));
    let logs = mem.logs();
    let panic_line = logs
        .iter()
        .find(|l| l["message"] == "panic recovered")
        .unwrap();
    assert_eq!(panic_line["panic"], "index out of bounds: secret detail");
    let location = panic_line["location"].as_str().unwrap();
    assert!(
        location.starts_with("crates/lift/tests/middleware.rs:"),
        "{location}"
    );
    assert_eq!(panic_line["request_id"], "req-panic");

    let res = invoke(&app, TestRequest::get("/ok").v2()).await.unwrap();
    assert_eq!((res.status(), res.text()), (200, "fine".to_owned()));
}

#[tokio::test]
async fn a_panic_in_middleware_is_caught_too() {
    let app = App::new()
        .middleware(Recover::new())
        .middleware(from_fn(|ctx: Context, next: Next| async move {
            if ctx.request().header("x-boom").is_some() {
                panic!("middleware bug");
            }
            next.run(ctx).await
        }))
        .get("/", |_ctx: Context| async { "ok" })
        .build()
        .unwrap();
    assert_eq!(
        invoke(&app, TestRequest::get("/").header("x-boom", "1").v2())
            .await
            .unwrap()
            .status(),
        500
    );
    assert_eq!(
        invoke(&app, TestRequest::get("/").v2())
            .await
            .unwrap()
            .status(),
        200
    );
}

// --- Timeout ---------------------------------------------------------------------------------

/// Records whether the handler finished, or was dropped at an `.await`.
struct Progress {
    finished: Arc<AtomicBool>,
    dropped: Arc<AtomicBool>,
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn a_handler_past_the_deadline_gets_504_and_is_cancelled() {
    let finished = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let (f, d) = (finished.clone(), dropped.clone());
    let app = App::new()
        .middleware(Timeout::new(Duration::from_secs(1)))
        .get("/slow", move |ctx: Context| {
            let progress = Progress {
                finished: f.clone(),
                dropped: d.clone(),
            };
            async move {
                let ms: u64 = ctx.request().query("ms").unwrap_or("0").parse().unwrap();
                tokio::time::sleep(Duration::from_millis(ms)).await;
                progress.finished.store(true, Ordering::SeqCst);
                "done"
            }
        })
        .build()
        .unwrap();
    let res = invoke_with(
        &app,
        TestRequest::get("/slow?ms=3000").v2(),
        lambda("req-slow"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 504);
    assert_eq!(
        res.json::<Value>().unwrap(),
        error_body(
            "timeout",
            "the request did not complete in time",
            "req-slow"
        )
    );
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handler future was dropped"
    );
    assert!(
        !finished.load(Ordering::SeqCst),
        "the handler never finished"
    );

    dropped.store(false, Ordering::SeqCst);
    let res = invoke(&app, TestRequest::get("/slow?ms=200").v2())
        .await
        .unwrap();
    assert_eq!((res.status(), res.text()), (200, "done".to_owned()));
    assert!(finished.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn the_lambda_deadline_minus_the_margin_wins_over_a_longer_limit() {
    let app = App::new()
        .middleware(Timeout::new(Duration::from_secs(60)).margin(Duration::from_millis(1500)))
        .get("/slow", |_ctx: Context| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            "done"
        })
        .build()
        .unwrap();
    // Two seconds left and 1.5 s kept back: the handler has about 0.5 s.
    let res = invoke_with(
        &app,
        TestRequest::get("/slow").v2(),
        LambdaContext::local("r", Duration::from_secs(2)),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 504);
    // With ten seconds left the same handler completes.
    let res = invoke_with(
        &app,
        TestRequest::get("/slow").v2(),
        LambdaContext::local("r2", Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
}

// --- RequestMetrics --------------------------------------------------------------------------

#[tokio::test]
async fn request_metrics_per_route_method_and_status_class() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem))
        .middleware(RequestMetrics::new())
        .get("/users/{id}", |ctx: Context| async move {
            ctx.metrics().counter("Lookups").increment();
            if ctx.route().param("id") == Some("0") {
                return Err(Error::not_found("no such user"));
            }
            Ok("ok")
        })
        .build()
        .unwrap();
    invoke(&app, TestRequest::get("/users/1").v2())
        .await
        .unwrap();
    mem.clear();
    invoke(&app, TestRequest::get("/users/0").v2())
        .await
        .unwrap();
    // One document: the handler's metrics under `service`, the request metrics as a second
    // directive under their own dimension set.
    let docs = mem.metrics();
    assert_eq!(docs.len(), 1, "{docs:?}");
    let req_doc = &docs[0];
    assert_eq!(req_doc["Lookups"], 1.0);
    let directives = &req_doc["_aws"]["CloudWatchMetrics"];
    assert_eq!(directives[0]["Dimensions"], json!([["service"]]));
    assert_eq!(
        directives[0]["Metrics"],
        json!([{"Name": "Lookups", "Unit": "Count"}])
    );
    let cw = &directives[1];
    assert_eq!(
        cw["Dimensions"],
        json!([["service", "route", "method", "status_class"]])
    );
    assert_eq!(
        cw["Metrics"],
        json!([
            {"Name": "Requests", "Unit": "Count"},
            {"Name": "Latency", "Unit": "Milliseconds"},
            {"Name": "Errors4xx", "Unit": "Count"}
        ])
    );
    assert_eq!(req_doc["route"], "/users/{id}");
    assert_eq!(req_doc["method"], "GET");
    assert_eq!(req_doc["status_class"], "4xx");
    assert_eq!(req_doc["Requests"], 1.0);
    assert_eq!(req_doc["Errors4xx"], 1.0);
    assert_eq!(req_doc["Latency"]["Counts"], json!([1]));
}

// --- ErrorHandler ----------------------------------------------------------------------------

#[derive(Debug)]
struct OutOfStock(&'static str);

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is out of stock", self.0)
    }
}

impl std::error::Error for OutOfStock {}

#[tokio::test]
async fn error_handler_maps_user_errors_and_keeps_internals_in_the_log() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem))
        .middleware(from_fn(|ctx: Context, next: Next| async move {
            // Outside the error handler: sees a finished response, never an Err.
            let outcome = next.run(ctx).await;
            assert!(outcome.is_ok());
            outcome
        }))
        .middleware(ErrorHandler::new().map(|e: &OutOfStock| Error::conflict(e.to_string())))
        .post("/buy", |_ctx: Context| async {
            let stock: Result<&str, OutOfStock> = Err(OutOfStock("widget"));
            Ok::<_, Error>(stock?)
        })
        .get("/fail", |_ctx: Context| async {
            Err::<&str, _>(Error::internal(std::io::Error::other(
                "db password=hunter2",
            )))
        })
        .build()
        .unwrap();
    let res = invoke_with(&app, TestRequest::post("/buy").v2(), lambda("req-buy"))
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().unwrap(),
        error_body("conflict", "widget is out of stock", "req-buy")
    );

    let res = invoke_with(&app, TestRequest::get("/fail").v2(), lambda("req-fail"))
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(
        res.json::<Value>().unwrap(),
        error_body("internal", "internal server error", "req-fail")
    );
    assert!(!res.text().contains("hunter2"));
    let logged = mem
        .logs()
        .into_iter()
        .find(|l| l["message"] == "request failed")
        .unwrap();
    assert!(logged["error"]
        .as_str()
        .unwrap()
        .contains("db password=hunter2"));
    assert_eq!(logged["request_id"], "req-fail");

    let res = invoke_with(&app, TestRequest::delete("/buy").v2(), lambda("req-405"))
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.header("allow"), Some("POST"));
    assert_eq!(
        res.json::<Value>().unwrap(),
        error_body("method_not_allowed", "method not allowed", "req-405")
    );
}

// --- tower interop ---------------------------------------------------------------------------

#[tokio::test]
async fn a_tower_http_compression_layer_on_a_route() {
    let big = "lift ".repeat(500);
    let body = big.clone();
    let app = App::new()
        .route(
            "/big",
            Route::new()
                .get(move |_ctx: Context| {
                    let body = body.clone();
                    async move { body }
                })
                .middleware(TowerLayer::new(
                    tower_http::compression::CompressionLayer::new(),
                )),
        )
        .get("/plain", |_ctx: Context| async { "plain" })
        .build()
        .unwrap();
    let res = invoke(
        &app,
        TestRequest::get("/big")
            .header("accept-encoding", "gzip")
            .v2(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert_eq!(res.raw()["isBase64Encoded"], true);
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(res.body())
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, big);
    assert!(
        res.body().len() < 100,
        "compressed to {} bytes",
        res.body().len()
    );

    // Without accept-encoding the layer leaves the body alone; other routes never see it.
    let res = invoke(&app, TestRequest::get("/big").v2()).await.unwrap();
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.text(), big);
    let res = invoke(
        &app,
        TestRequest::get("/plain")
            .header("accept-encoding", "gzip")
            .v2(),
    )
    .await
    .unwrap();
    assert_eq!(res.text(), "plain");
}

/// A tower layer whose service answers with the URI it was handed.
fn echo_uri() -> TowerLayer<
    impl tower::Layer<
            lift::middleware::NextService,
            Service = impl tower::Service<
                http::Request<http_body_util::Full<bytes::Bytes>>,
                Response = http::Response<http_body_util::Full<bytes::Bytes>>,
                Error = std::convert::Infallible,
                Future = impl Send,
            > + Send,
        > + Send
        + Sync,
> {
    TowerLayer::new(tower::layer::layer_fn(|_next| {
        tower::service_fn(
            |req: http::Request<http_body_util::Full<bytes::Bytes>>| async move {
                let uri = req.uri().to_string();
                Ok::<_, std::convert::Infallible>(http::Response::new(uri.into()))
            },
        )
    }))
}

#[tokio::test]
async fn a_tower_service_is_handed_the_real_path_and_the_raw_query() {
    let app = App::new()
        .route(
            "/files/{*name}",
            Route::new()
                .get(|_ctx: Context| async { "unused" })
                .middleware(echo_uri()),
        )
        .build()
        .unwrap();
    let query = "q=a%20b&tag=x%26y&plus=a+b&empty=&q=2";
    let req = TestRequest::get(&format!("/files/my%20report.pdf?{query}"));
    // HTTP API and Function URLs keep the query string as sent; the HTTP API's decoded path is
    // encoded again.
    for event in [req.v2(), req.function_url()] {
        let res = invoke(&app, event).await.unwrap();
        assert_eq!(res.text(), format!("/files/my%20report.pdf?{query}"));
    }
    // REST API and ALB hand over parameters, not the string: written back percent-encoded, in
    // the event's order (these events list them by name), repeats included where the event
    // keeps them.
    let written = [
        (req.v1(), "empty=&plus=a%20b&q=a%20b&q=2&tag=x%26y"),
        (req.alb_multi(), "empty=&plus=a%20b&q=a%20b&q=2&tag=x%26y"),
        // Single-value ALB events keep the last value of a repeat.
        (req.alb(), "empty=&plus=a%20b&q=2&tag=x%26y"),
    ];
    for (event, query) in written {
        let res = invoke(&app, event).await.unwrap();
        assert_eq!(res.text(), format!("/files/my%20report.pdf?{query}"));
    }
    // An HTTP API path arrives decoded: a space, non-ASCII and a `%` are encoded for the URI.
    let event = retarget_v2(
        &TestRequest::get("/files/x").v2(),
        "/files/my report é 100%.pdf",
    );
    let res = invoke(&app, event).await.unwrap();
    assert_eq!(res.text(), "/files/my%20report%20%C3%A9%20100%25.pdf");
}

/// A payload 2.0 event with `rawPath` (and `requestContext.http.path`) set to `path` as is.
fn retarget_v2(event: &[u8], path: &str) -> Vec<u8> {
    let mut event: Value = serde_json::from_slice(event).unwrap();
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    serde_json::to_vec(&event).unwrap()
}

/// A file named `100%25` as each source hands it over (`docs/routing.md`): the service sees one
/// URI, `/files/100%2525`, whether the source kept the path encoded or (the HTTP API) decoded it
/// to `/files/100%25`.
#[tokio::test]
async fn a_tower_service_sees_the_path_the_client_sent_whatever_the_source() {
    let app = App::new()
        .route(
            "/files/{name}",
            Route::new()
                .get(|_ctx: Context| async { "unused" })
                .middleware(echo_uri()),
        )
        .build()
        .unwrap();
    for file in [
        "path-encoded-v1.json",
        "path-encoded-alb.json",
        "path-encoded-function-url.json",
        "path-decoded-v2.json",
    ] {
        let res = invoke(&app, common::fixture(file)).await.unwrap();
        assert_eq!(
            res.text().split('?').next(),
            Some("/files/100%2525"),
            "{file}"
        );
    }
}

#[tokio::test]
async fn errors_pass_through_a_tower_layer_unchanged() {
    let app = App::new()
        .route(
            "/x",
            Route::new()
                .get(|_ctx: Context| async { Err::<&str, _>(Error::forbidden("no")) })
                .middleware(TowerLayer::new(
                    tower_http::compression::CompressionLayer::new(),
                )),
        )
        .build()
        .unwrap();
    let res = invoke_with(
        &app,
        TestRequest::get("/x")
            .header("accept-encoding", "gzip")
            .v2(),
        lambda("r"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().unwrap(),
        error_body("forbidden", "no", "r")
    );
}

#[tokio::test]
async fn access_log_redacts_every_sensitive_query_key_and_header_by_default() {
    let mem = MemoryExporter::new();
    let app = access_app(
        &mem,
        AccessLog::new().log_headers(true).reveal_query("CODE"),
    );
    let secrets = [
        ("token", "t0k"),
        ("Access_Token", "at1"),
        ("id_token", "it2"),
        ("REFRESH_TOKEN", "rt3"),
        ("password", "pw4"),
        ("secret", "se5"),
        ("api_key", "ak6"),
        ("apikey", "ak7"),
        ("signature", "sg8"),
        ("sig", "sg9"),
        ("X-Amz-Signature", "a1b2"),
        ("X-Amz-Credential", "AKIAEXAMPLE/20260101"),
        ("x-amz-security-token", "FwoGZXIvYXdz"),
    ];
    let query: Vec<String> = secrets.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let path = format!("/users/42?{}&code=SKU-1&page=2", query.join("&"));
    let req = TestRequest::get(&path)
        .header("Authorization", "Bearer abc.def.ghi")
        .header("Proxy-Authorization", "Basic cHJveHk=")
        .header("X-Api-Key", "key-123")
        .header("X-Amz-Security-Token", "FwoGZXIvYXdzHeader")
        .header("Cookie", "session=topsecret")
        .cookie("csrf", "topsecret-array")
        .header("Accept", "application/json");
    invoke_with(&app, req.v2(), lambda("req-redact"))
        .await
        .unwrap();
    let raw = mem.raw(lift::observability::RecordKind::Log);
    assert_eq!(raw.len(), 1);
    for (_, secret) in secrets {
        assert!(!raw[0].contains(secret), "{secret} leaked: {}", raw[0]);
    }
    for secret in [
        "abc.def.ghi",
        "cHJveHk",
        "key-123",
        "FwoGZXIvYXdzHeader",
        "topsecret",
        "topsecret-array",
    ] {
        assert!(!raw[0].contains(secret), "{secret} leaked: {}", raw[0]);
    }
    let mut line: Value = serde_json::from_str(&raw[0]).unwrap();
    // The values that change from run to run.
    for varying in ["timestamp", "latency_ms", "xray_trace_id"] {
        assert!(
            line[varying].is_string() || line[varying].is_number(),
            "{varying}"
        );
        line.as_object_mut().unwrap().remove(varying);
    }
    let mut query: serde_json::Map<String, Value> = secrets
        .iter()
        .map(|(k, _)| ((*k).to_owned(), json!("[redacted]")))
        .collect();
    // `code` was given back with `reveal_query` (matched in any case).
    query.insert("code".into(), json!("SKU-1"));
    query.insert("page".into(), json!("2"));
    assert_eq!(
        line,
        json!({
            "cold_start": true,
            "function_arn": "arn:aws:lambda:us-east-1:000000000000:function:local",
            "function_memory_size": 128,
            "function_name": "local",
            "function_request_id": "req-redact",
            "headers": {"accept": "application/json"},
            "level": "INFO",
            "message": "request",
            "method": "GET",
            "path": "/users/42",
            "query": query,
            "request_id": "req-redact",
            "route": "/users/{id}",
            "service": "mw",
            "source_ip": "203.0.113.7",
            "status": 200,
            "tenant_id": "acme",
            "user_agent": "lift-test",
            "user_id": "user-7",
        })
    );
}

/// What a user expects redacted: every key holding one of the words that mark a secret, in any
/// case and anywhere in the key, and `jwt`; the ALB OIDC headers and any header named like a
/// secret are left out. Keys without such a word, and one given back, are written as they are.
#[tokio::test]
async fn access_log_redacts_query_keys_and_headers_by_the_words_that_mark_a_secret() {
    let mem = MemoryExporter::new();
    let app = access_app(
        &mem,
        AccessLog::new()
            .log_headers(true)
            .reveal_query("Session_Count"),
    );
    let secrets = [
        ("jwt", "eyJ0"),
        ("client_secret", "cs01"),
        ("auth", "au02"),
        ("session", "ss03"),
        ("id_token", "it04"),
        ("accessToken", "at05"),
        ("api_key", "ak06"),
        ("APIKEY", "ak07"),
        ("x-api-key", "ak08"),
        ("Signature", "sg09"),
        ("password", "pw10"),
        ("passwd", "pw11"),
        ("pwd", "pw12"),
        ("oauth_code", "oc13"),
        ("X-Amz-Credential", "AKIAEXAMPLE14"),
        ("SAMLResponse_sig", "sr15"),
        ("sessionid", "sid16"),
        ("user_jwt", "uj17"),
    ];
    let query: Vec<String> = secrets.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let path = format!(
        "/users/42?{}&page=2&sort=name&session_count=7",
        query.join("&")
    );
    let req = TestRequest::get(&path)
        .header("X-Amzn-Oidc-Accesstoken", "oidc-access-token")
        .header("X-Amzn-Oidc-Data", "oidc-data-jwt")
        .header("X-Amzn-Oidc-Identity", "oidc-identity-sub")
        .header("X-Auth-Token", "auth-token-value")
        .header("X-Csrf-Token", "csrf-value")
        .header("X-Session-Id", "session-id-value")
        .header("Accept", "application/json")
        .header("Accept-Encoding", "gzip");
    invoke_with(&app, req.alb(), lambda("req-words"))
        .await
        .unwrap();
    let raw = mem.raw(lift::observability::RecordKind::Log);
    assert_eq!(raw.len(), 1);
    for (_, secret) in secrets {
        assert!(!raw[0].contains(secret), "{secret} leaked: {}", raw[0]);
    }
    for secret in [
        "oidc-access-token",
        "oidc-data-jwt",
        "oidc-identity-sub",
        "auth-token-value",
        "csrf-value",
        "session-id-value",
    ] {
        assert!(!raw[0].contains(secret), "{secret} leaked: {}", raw[0]);
    }
    let line: Value = serde_json::from_str(&raw[0]).unwrap();
    let mut query: serde_json::Map<String, Value> = secrets
        .iter()
        .map(|(k, _)| ((*k).to_owned(), json!("[redacted]")))
        .collect();
    query.insert("page".into(), json!("2"));
    query.insert("sort".into(), json!("name"));
    // Holds `session` but was given back with `reveal_query` (matched in any case).
    query.insert("session_count".into(), json!("7"));
    assert_eq!(line["query"], Value::Object(query));
    assert_eq!(
        line["headers"],
        json!({
            "accept": "application/json",
            "accept-encoding": "gzip",
            "x-forwarded-for": "203.0.113.7",
        })
    );
}

#[tokio::test]
async fn a_correlation_id_that_is_not_short_visible_ascii_is_dropped() {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(
            Observability::new()
                .service("mw")
                .log_format(LogFormat::Json)
                .correlation_header("x-correlation-id")
                .export_to(mem.clone()),
        )
        .get("/", |ctx: Context| async move {
            ctx.logger().info("seen", &[]);
            "ok"
        })
        .build()
        .unwrap();
    let long = "c".repeat(129);
    for (value, kept) in [
        ("corr-1", Some("corr-1")),
        ("two words", None),
        (long.as_str(), None),
        ("\u{e9}t\u{e9}", None),
    ] {
        mem.clear();
        let req = TestRequest::get("/").header("X-Correlation-Id", value);
        invoke_with(&app, req.v2(), lambda("req-c")).await.unwrap();
        let line = &mem.logs()[0];
        assert_eq!(line["correlation_id"].as_str(), kept, "{value:?}: {line}");
    }
}

#[tokio::test]
async fn a_deadline_already_past_gives_504_without_running_the_handler() {
    let ran = Arc::new(AtomicBool::new(false));
    let seen = ran.clone();
    let app = App::new()
        .middleware(Timeout::lambda_deadline())
        .get("/", move |_ctx: Context| {
            let seen = seen.clone();
            async move {
                seen.store(true, Ordering::SeqCst);
                "ran"
            }
        })
        .build()
        .unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // Zero (an epoch time in 1970), a second ago, and inside the margin.
    for deadline in [0, now_ms - 1_000, now_ms + 100] {
        let mut l = lambda("req-late");
        l.deadline_ms = deadline;
        let res = invoke_with(&app, TestRequest::get("/").v2(), l)
            .await
            .unwrap();
        assert_eq!(res.status(), 504, "deadline {deadline}");
        assert_eq!(
            res.json::<Value>().unwrap(),
            error_body(
                "timeout",
                "the request did not complete in time",
                "req-late"
            )
        );
    }
    assert!(!ran.load(Ordering::SeqCst));
}

// --- the default stack -----------------------------------------------------------------------

/// What one request through a stack shows of each part: the request id header, an access-log
/// line, a `Requests` metric, a security header, a CORS header, a mapped error code, a contained
/// panic (500) and the zero-budget timeout (504).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    request_id: bool,
    access_log: bool,
    metrics: bool,
    security_headers: bool,
    cors: bool,
    mapped_error: bool,
    recovered_panic: bool,
    timed_out: bool,
}

async fn parts_of(stack: Stack) -> Parts {
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(obs(&mem))
        .middleware_stack(stack)
        .get("/ok", |_: Context| async { "ok" })
        .get("/teapot", |_: Context| async {
            Err::<&str, _>(Error::new(
                http::StatusCode::IM_A_TEAPOT,
                "teapot",
                "short and stout",
            ))
        })
        .get("/panic", |_: Context| async {
            if true {
                panic!("boom");
            }
            "unreachable"
        })
        .build()
        .unwrap();
    let ok = invoke(
        &app,
        TestRequest::get("/ok")
            .header("origin", "https://app.example")
            .v2(),
    )
    .await
    .unwrap();
    let teapot = invoke(&app, TestRequest::get("/teapot").v2())
        .await
        .unwrap();
    let panicked = invoke(&app, TestRequest::get("/panic").v2()).await;
    // A deadline already past: the timeout answers without running the handler.
    let late = invoke_with(
        &app,
        TestRequest::get("/ok").v2(),
        LambdaContext::local("late", Duration::ZERO),
    )
    .await
    .unwrap();
    Parts {
        request_id: ok.header("x-request-id").is_some(),
        access_log: mem.logs().iter().any(|l| l["message"] == "request"),
        metrics: mem.metrics().iter().any(|m| m.get("Requests").is_some()),
        security_headers: ok.header("x-content-type-options").is_some(),
        cors: ok.header("access-control-allow-origin").is_some(),
        mapped_error: teapot.json::<Value>().unwrap()["error"]["code"] == "mapped",
        recovered_panic: panicked.is_ok_and(|r| r.status() == 500),
        timed_out: late.status() == 504,
    }
}

#[tokio::test]
async fn every_part_of_the_stack_can_be_removed_and_replaced() {
    let cors = || {
        lift::middleware::cors::Cors::builder()
            .allow_origin("https://app.example")
            .build()
            .unwrap()
    };
    let mapped = || {
        ErrorHandler::new().map_error(|e| {
            (e.code() == "teapot").then(|| Error::new(e.status(), "mapped", "mapped"))
        })
    };
    let all = Stack::new().cors(cors()).error_handler(mapped());
    let everything = Parts {
        request_id: true,
        access_log: true,
        metrics: true,
        security_headers: true,
        cors: true,
        mapped_error: true,
        recovered_panic: true,
        timed_out: true,
    };
    assert_eq!(parts_of(all.clone()).await, everything);

    let removed = [
        (
            all.clone().without_request_id(),
            Parts {
                request_id: false,
                ..everything
            },
        ),
        (
            all.clone().without_access_log(),
            Parts {
                access_log: false,
                ..everything
            },
        ),
        (
            all.clone().without_metrics(),
            Parts {
                metrics: false,
                ..everything
            },
        ),
        (
            all.clone().without_security_headers(),
            Parts {
                security_headers: false,
                ..everything
            },
        ),
        (
            all.clone().without_cors(),
            Parts {
                cors: false,
                ..everything
            },
        ),
        (
            all.clone().without_error_handler(),
            Parts {
                mapped_error: false,
                ..everything
            },
        ),
        (
            all.clone().without_recover(),
            Parts {
                recovered_panic: false,
                ..everything
            },
        ),
        (
            all.clone().without_timeout(),
            Parts {
                timed_out: false,
                ..everything
            },
        ),
    ];
    for (stack, want) in removed {
        assert_eq!(parts_of(stack).await, want);
    }

    // Replacing a part: the new one acts, the old one is gone.
    let replaced = all
        .clone()
        .request_id(RequestId::new().header("x-correlation-id"))
        .error_handler(ErrorHandler::new())
        .timeout(Timeout::new(Duration::from_secs(5)))
        .recover(Recover::new())
        .metrics(RequestMetrics::new())
        .access_log(AccessLog::new())
        .security_headers(lift::middleware::SecurityHeaders::default());
    // (A fixed timeout is still cut short by a deadline already past.)
    assert_eq!(
        parts_of(replaced).await,
        Parts {
            request_id: false,
            mapped_error: false,
            ..everything
        }
    );
}
