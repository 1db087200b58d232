//! W1 on Lift: the anchor workload (`../shared/bench/anchors/W1.md`) written the way a Lift user
//! writes a function, driven by the anchors' harness protocol.
//!
//! ```text
//! w1-lift [--stack] sample                     one good invocation + the negative cases (JSON)
//! w1-lift [--stack] init                       app build time and first invocation (JSON)
//! w1-lift [--stack] bench [N WARMUP REPEATS]   per-invocation timings (JSON)
//! w1-lift --cloudwatch-logs bench ...          the same with the CloudWatch Logs exporter (instruction counts)
//! w1-lift --traced bench ...                   the same with X-Ray: one handler subsegment an invocation over UDP
//! ```
//!
//! The app: app-wide `RequestId`, `AccessLog` (the `request` log line), a `from_fn` middleware
//! recording `Requests` (Count) and `Latency` (Milliseconds) through `ctx.metrics()`, and `Cors`;
//! on the route `GET /users/{id}`, Lift's `JwtAuth` (HS256: exp, iss, aud, `sub` required, the
//! tenant from `tenant_id`), whose principal becomes the invocation's identity, so the log line
//! carries `tenant_id` / `user_id` and the EMF document the `tenant` dimension. With `--stack`
//! the app-wide part is the default `Stack` with CORS instead (minus `RequestMetrics`, whose
//! per-route `Requests`/`Latency` would be a second EMF document next to W1's), plus the same
//! metrics middleware.
//!
//! Per invocation (timed): build the `LambdaContext` as the runtime does, `AppService::invoke`
//! on the compact event bytes, `Invocation::finish` (the after-response flush that writes the
//! EMF document) and `Reply::to_json` (what the runtime posts). Logs and EMF go to an `Exporter` that
//! counts bytes and makes no system call.

// A bench harness: a broken fixture or a failed invocation should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::hint::black_box;
use std::net::UdpSocket;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use lift::middleware::{AccessLog, Cors, RequestId, Stack};
use lift::observability::xray::XRayExporter;
use lift::observability::{Exporter, LogRecord, MetricsBatch, Observability, RecordKind, Unit};
use lift::prelude::*;
use lift::security::{Algorithm, Issuer, Jwt, JwtAuth, JwtKey};
use lift::{AppService, FunctionConfig, LambdaContext};
use lift_aws::aws_config::{BehaviorVersion, Region, SdkConfig};
use lift_aws::logs::{CloudWatchLogsExporter, Thresholds};
use serde::Serialize;
use serde_json::{json, Value};

const SERVICE: &str = "lift-bench";
const NAMESPACE: &str = "LiftBench";
const JWT_SECRET: &[u8] = b"bench-secret-0123456789abcdef0123456789abcdef";
const JWT_ISSUER: &str = "https://auth.example.com";
const JWT_AUDIENCE: &str = "lift-bench";
const ALLOWED_ORIGIN: &str = "https://app.example.com";
const FUNCTION_NAME: &str = "lift-bench-w1";

/// The W1 event (a copy of the anchors' `fixtures/event.json`) and the anchors' tokens.
const EVENT_JSON: &str = include_str!("../../../tests/fixtures/w1-event.json");
const TOKENS_JSON: &str = include_str!("../fixtures/tokens.json");

// ---------------------------------------------------------------- the function

/// Lift's JWT verification: HS256 with the W1 secret, `iss` and `aud` checked, `exp` and `sub`
/// required, the tenant from `tenant_id`. `JwtAuth` answers 401 otherwise and makes the token's
/// user and tenant the invocation's identity.
fn jwt() -> Result<Jwt, lift::BoxError> {
    Ok(Jwt::builder()
        .issuer(
            Issuer::new(JWT_ISSUER)
                .audience(JWT_AUDIENCE)
                .key(JwtKey::hmac(JWT_SECRET, [Algorithm::HS256])?),
        )
        .tenant_claim("tenant_id")
        .require(["exp", "sub"])
        .build()?)
}

/// `Requests` and `Latency` for every request, in the invocation's EMF document (dimensions
/// `service` and, once the JWT middleware has set it, `tenant`).
fn request_metrics() -> impl Middleware {
    from_fn(|ctx: Context, next: Next| async move {
        let started = Instant::now();
        let metrics = ctx.metrics();
        let outcome = next.run(ctx).await;
        metrics.counter("Requests").increment();
        metrics
            .gauge("Latency", Unit::Milliseconds)
            .set(started.elapsed().as_secs_f64() * 1000.0);
        outcome
    })
}

#[derive(Serialize)]
struct User {
    id: String,
    tenant: String,
    user: String,
}

async fn get_user(ctx: Context) -> Result<Json<User>, Error> {
    let unauthorized = || Error::unauthorized("no authenticated user");
    let identity = ctx.identity();
    Ok(Json(User {
        id: ctx.route().param("id").unwrap_or_default().to_owned(),
        tenant: identity.tenant().ok_or_else(unauthorized)?.to_string(),
        user: identity.user().ok_or_else(unauthorized)?.to_string(),
    }))
}

fn cors() -> Result<Cors, lift::middleware::CorsError> {
    Cors::builder()
        .allow_origin(ALLOWED_ORIGIN)
        .allow_headers(["authorization", "content-type"])
        .expose_headers(["x-request-id"])
        .max_age(Duration::from_secs(600))
        .build()
}

fn app(sink: CountingSink, flags: Flags) -> Result<AppService, lift::BoxError> {
    let obs = Observability::new().service(SERVICE).namespace(NAMESPACE);
    let obs = if flags.cloudwatch_logs {
        obs.export_to(cloudwatch_logs())
            .export_to(MetricsOnly(sink))
    } else {
        obs.export_to(sink)
    };
    let obs = match flags.traced {
        Some(daemon) => obs.export_to(XRayExporter::with_address(daemon)),
        None => obs,
    };
    let app = App::new().observability(obs);
    let app = if flags.stack {
        app.middleware_stack(Stack::new().without_metrics().cors(cors()?))
            .middleware(request_metrics())
    } else {
        app.middleware(RequestId::new())
            .middleware(AccessLog::new())
            .middleware(request_metrics())
            .middleware(cors()?)
    };
    let users = Route::new().get(get_user).middleware(JwtAuth::new(jwt()?));
    Ok(app.route("/users/{id}", users).build()?)
}

/// Lift's CloudWatch Logs exporter, batching across invocations with thresholds no run reaches
/// (see [`Flags`]); its client is never called.
fn cloudwatch_logs() -> CloudWatchLogsExporter {
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .build();
    CloudWatchLogsExporter::builder(format!("/aws/lambda/{FUNCTION_NAME}"))
        .batch_across_invocations(Thresholds {
            max_events: usize::MAX,
            max_bytes: usize::MAX,
            max_age: Duration::from_secs(24 * 3600),
        })
        .max_buffer_bytes(usize::MAX / 2)
        .build(&config)
}

/// The counting sink for metrics only, next to the CloudWatch Logs exporter.
struct MetricsOnly(CountingSink);

impl Exporter for MetricsOnly {
    fn name(&self) -> &str {
        "counting-metrics"
    }

    fn accepts(&self, kind: RecordKind) -> bool {
        kind == RecordKind::Metrics
    }

    fn metrics(&self, batch: &MetricsBatch) {
        self.0.metrics(batch);
    }
}

// ---------------------------------------------------------------- the harness

/// Discards every line, counting bytes as stdout would get them (line + newline); keeps the
/// lines while `keep` is on.
#[derive(Clone, Default)]
struct CountingSink(Arc<SinkState>);

#[derive(Default)]
struct SinkState {
    bytes: AtomicU64,
    keep: AtomicBool,
    kept: Mutex<Vec<String>>,
}

impl CountingSink {
    fn line(&self, line: &[u8]) {
        self.0
            .bytes
            .fetch_add(line.len() as u64 + 1, Ordering::Relaxed);
        if self.0.keep.load(Ordering::Relaxed) {
            let mut kept = self.0.kept.lock().unwrap_or_else(|p| p.into_inner());
            kept.push(String::from_utf8_lossy(line).into_owned());
        }
    }
}

impl Exporter for CountingSink {
    fn name(&self) -> &str {
        "counting"
    }

    // As Lift's stdout exporter: logs and EMF documents, no spans (none are recorded in W1).
    fn accepts(&self, kind: RecordKind) -> bool {
        kind != RecordKind::Span
    }

    fn log(&self, record: &LogRecord<'_>) {
        self.line(record.line);
    }

    fn metrics(&self, batch: &MetricsBatch) {
        for doc in batch.emf_documents() {
            self.line(doc);
        }
    }
}

impl CountingSink {
    fn keep(&self, on: bool) {
        self.0.keep.store(on, Ordering::Relaxed);
    }
    fn take_kept(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.kept.lock().unwrap_or_else(|p| p.into_inner()))
    }
    fn bytes(&self) -> u64 {
        self.0.bytes.load(Ordering::Relaxed)
    }
    fn reset(&self) {
        self.0.bytes.store(0, Ordering::Relaxed);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn function_config() -> Arc<FunctionConfig> {
    Arc::new(FunctionConfig {
        function_name: FUNCTION_NAME.into(),
        memory: 1024,
        version: "$LATEST".into(),
        log_stream: "2025/03/10/[$LATEST]0123456789abcdef".into(),
        log_group: format!("/aws/lambda/{FUNCTION_NAME}"),
    })
}

/// The trace header Lambda hands a function with active tracing (`--traced`): the function
/// segment Lambda writes is the `Parent`.
const TRACE_HEADER: &str =
    "Root=1-6b0fc34b-5fa71b8e1a45079bdaa30e9b;Parent=53995c3f42cd8ad8;Sampled=1";

/// Whether `--traced` is on: the runtime then hands each invocation a trace header.
static TRACED: AtomicBool = AtomicBool::new(false);

/// The Lambda context as the runtime builds it for each invocation.
fn lambda_context(request_id: &str, function: &Arc<FunctionConfig>) -> LambdaContext {
    LambdaContext {
        request_id: request_id.to_owned(),
        deadline_ms: now_ms() + 3000,
        invoked_function_arn: format!(
            "arn:aws:lambda:eu-west-1:123456789012:function:{}",
            function.function_name
        ),
        xray_trace_id: TRACED
            .load(Ordering::Relaxed)
            .then(|| TRACE_HEADER.to_owned()),
        tenant_id: None,
        function: function.clone(),
    }
}

/// Poll once with a no-op waker (nothing in W1 waits); hand a future that does wait to the
/// runtime.
fn drive<F: Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => rt.block_on(f),
    }
}

/// One whole invocation: context, corridor, after-response flush, the reply as JSON bytes.
fn invoke(
    rt: &tokio::runtime::Runtime,
    app: &AppService,
    event: &Bytes,
    request_id: &str,
    function: &Arc<FunctionConfig>,
) -> Vec<u8> {
    let lambda = lambda_context(request_id, function);
    let invocation = drive(rt, app.invoke(event.clone(), lambda));
    let reply = drive(rt, invocation.finish()).expect("invocation");
    reply.to_json()
}

fn request_ids() -> Vec<String> {
    (0..1024u64)
        .map(|i| format!("{i:08x}-0000-4000-8000-{i:012x}"))
        .collect()
}

fn compact_event() -> Bytes {
    let v: Value = serde_json::from_str(EVENT_JSON).expect("event fixture");
    Bytes::from(serde_json::to_vec(&v).expect("event fixture"))
}

/// The event with one change.
fn edited(event: &Bytes, edit: impl FnOnce(&mut Value)) -> Bytes {
    let mut v: Value = serde_json::from_slice(event).expect("event");
    edit(&mut v);
    Bytes::from(serde_json::to_vec(&v).expect("event"))
}

fn with_token(event: &Bytes, token: Option<&str>) -> Bytes {
    edited(event, |v| {
        let headers = v["headers"].as_object_mut().expect("headers");
        match token {
            Some(t) => {
                headers.insert("authorization".into(), format!("Bearer {t}").into());
            }
            None => {
                headers.remove("authorization");
            }
        }
    })
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn sample(rt: &tokio::runtime::Runtime, flags: Flags) {
    let sink = CountingSink::default();
    let app = app(sink.clone(), flags).expect("app");
    let function = function_config();
    let ids = request_ids();
    let event = compact_event();

    // The first invocation of a process also writes Lift's `ColdStart` EMF document and logs
    // `cold_start: true`; the sample shows a warm one, as the benchmark measures.
    invoke(rt, &app, &event, &ids[6], &function);
    sink.keep(true);
    let good = invoke(rt, &app, &event, &ids[7], &function);
    sink.keep(false);
    let lines = sink.take_kept();

    let tokens: Value = serde_json::from_str(TOKENS_JSON).expect("tokens fixture");
    let token = |name: &str| tokens["tokens"][name].as_str().expect("token").to_owned();
    let mut cases: Vec<(&str, Bytes)> = [
        "bad_signature",
        "wrong_secret",
        "bad_audience",
        "bad_issuer",
        "expired",
    ]
    .into_iter()
    .map(|name| (name, with_token(&event, Some(&token(name)))))
    .collect();
    cases.push(("missing_token", with_token(&event, None)));
    cases.push((
        "not_found",
        edited(&event, |v| {
            v["rawPath"] = "/nope/42".into();
            v["requestContext"]["http"]["path"] = "/nope/42".into();
            v["routeKey"] = "$default".into();
            v.as_object_mut().expect("event").remove("pathParameters");
        }),
    ));
    cases.push((
        "client_request_id",
        edited(&event, |v| {
            v["headers"]["x-request-id"] = "client-supplied-id".into();
        }),
    ));
    cases.push((
        "other_origin",
        edited(&event, |v| {
            v["headers"]["origin"] = "https://evil.example.com".into();
        }),
    ));
    let mut out = serde_json::Map::new();
    for (name, ev) in cases {
        let reply = invoke(rt, &app, &ev, &ids[8], &function);
        out.insert(name.into(), String::from_utf8(reply).expect("utf-8").into());
    }
    println!(
        "{}",
        json!({
            "impl": if flags.stack { "lift-stack" } else { "lift" },
            "versions": {
                "rustc": env!("W1_V_RUSTC"),
                "lift": concat!(env!("CARGO_PKG_VERSION"), " (this workspace)"),
                "jsonwebtoken": env!("W1_V_JSONWEBTOKEN"),
                "serde_json": env!("W1_V_SERDE_JSON"),
                "tokio": env!("W1_V_TOKIO"),
            },
            "request_id": ids[7],
            "response": String::from_utf8(good).expect("utf-8"),
            "lines": lines,
            "cases": out,
        })
    );
}

fn init(rt: &tokio::runtime::Runtime, flags: Flags) {
    let function = function_config();
    let ids = request_ids();
    let event = compact_event();
    let t0 = Instant::now();
    let app = app(CountingSink::default(), flags).expect("app");
    let t1 = Instant::now();
    black_box(invoke(rt, &app, &event, &ids[0], &function));
    let t2 = Instant::now();
    println!(
        "{}",
        json!({
            "init_ms": (t1 - t0).as_secs_f64() * 1e3,
            "first_invoke_ms": (t2 - t1).as_secs_f64() * 1e3,
        })
    );
}

fn bench(rt: &tokio::runtime::Runtime, flags: Flags, n: usize, warmup: usize, repeats: usize) {
    let sink = CountingSink::default();
    let app = app(sink.clone(), flags).expect("app");
    let function = function_config();
    let ids = request_ids();
    let event = compact_event();
    let run = |count: usize| -> Vec<u64> {
        let mut times = vec![0u64; count];
        for (i, slot) in times.iter_mut().enumerate() {
            let t0 = Instant::now();
            let lambda = lambda_context(&ids[i & 1023], &function);
            let invocation = drive(rt, app.invoke(black_box(&event).clone(), lambda));
            let reply = drive(rt, invocation.finish()).expect("invocation");
            black_box(reply.to_json());
            *slot = t0.elapsed().as_nanos() as u64;
        }
        times
    };
    run(warmup);
    sink.reset();
    let mut reps = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let mut t = run(n);
        let sum: u64 = t.iter().sum();
        t.sort_unstable();
        reps.push(json!({
            "p50_us": t[n / 2] as f64 / 1e3,
            "mean_us": sum as f64 / n as f64 / 1e3,
            "p99_us": t[n * 99 / 100] as f64 / 1e3,
        }));
    }
    let col = |k: &str| median(reps.iter().map(|r| r[k].as_f64().unwrap_or(0.0)).collect());
    println!(
        "{}",
        json!({
            "p50_us": col("p50_us"),
            "mean_us": col("mean_us"),
            "p99_us": col("p99_us"),
            "sink_bytes_per_invocation": sink.bytes() as f64 / (n * repeats) as f64,
            "repeats": reps,
        })
    );
}

/// The variants of the function: `--stack` (the default `Stack` app-wide), and
/// `--cloudwatch-logs` (log lines to Lift's CloudWatch Logs exporter instead of the counting
/// sink, batching across invocations with thresholds no run reaches, so the figure is the
/// exporter's per-invocation cost without the amortised PutLogEvents calls; for instruction
/// counts, not for the driver's `sample` checks).
///
/// `--traced` adds the X-Ray exporter, sending each invocation's handler subsegment over UDP to
/// a socket bound here on 127.0.0.1 (as the daemon is in Lambda), which nothing reads: the
/// kernel drops what overflows, and the count is the function's alone.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    stack: bool,
    cloudwatch_logs: bool,
    traced: Option<&'static str>,
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut flags = Flags::default();
    while let Some(flag) = args.first().filter(|a| a.starts_with("--")).cloned() {
        match flag.as_str() {
            "--stack" => flags.stack = true,
            "--cloudwatch-logs" => flags.cloudwatch_logs = true,
            "--traced" => {
                let daemon = UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
                let address = daemon.local_addr().expect("its address").to_string();
                // The socket lives as long as the process.
                std::mem::forget(daemon);
                flags.traced = Some(Box::leak(address.into_boxed_str()));
                TRACED.store(true, Ordering::Relaxed);
            }
            other => {
                eprintln!("unknown flag {other}: --stack, --cloudwatch-logs, --traced");
                std::process::exit(2);
            }
        }
        args.remove(0);
    }
    // Nothing in W1 waits, but `Timeout` (in `--stack`) needs a runtime's clock to exist.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let _entered = rt.enter();
    let num =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    match args.first().map_or("sample", String::as_str) {
        "sample" => sample(&rt, flags),
        "init" => init(&rt, flags),
        "bench" => bench(&rt, flags, num(1, 20_000), num(2, 2_000), num(3, 5)),
        other => {
            eprintln!("unknown mode {other}: sample, init or bench N WARMUP REPEATS");
            std::process::exit(2);
        }
    }
}
