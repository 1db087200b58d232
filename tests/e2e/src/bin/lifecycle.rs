//! The function the lifecycle e2e tests (tests/lifecycle.rs) run under the Runtime API emulator:
//! after-response tasks that panic, hang or record process-level metrics, and the SIGTERM
//! shutdown flush.
//!
//! - `GET /hello?name=Ada` → `{"message":"Hello, Ada!"}` (the harness's warm-up event);
//! - `GET /panic` → `panic scheduled`; its after-response task panics;
//! - `GET /crash` → the handler panics, with no `Recover` anywhere in the app, and with text
//!   that must never leave the process's log (`CRASH_SECRET`);
//! - `GET /hang` → `hang scheduled`; its after-response task never finishes and is cut off at
//!   the app's after-response limit (200 ms);
//! - `GET /metric/{n}` → `served {n}`; adds `n` to the invocation's `Served` counter, so the
//!   invocation writes an EMF document with `Served = n` (400 when `n` is not a number);
//! - `GET /buffer` → `buffer scheduled`; its after-response task increments the process-level
//!   counter `Buffered`, which stays buffered until the next invocation's flush or shutdown,
//!   then logs `buffered a process metric`.
//!
//! At start-up, before `run()`, it increments the process-level counter `Started`, so a process
//! metric is waiting and Lift registers its shutdown extension (the first invocation's flush
//! writes it). Metrics go to the namespace `LiftE2E`, with the service `lifecycle`; no cold-start
//! metric, so every EMF document holds exactly what a route recorded.

use std::time::Duration;

use lift::observability::Observability;
use lift::prelude::*;
use serde_json::json;

/// What the panicking after-response task panics with (the tests look for it).
const PANIC_MESSAGE: &str = "lifecycle: the after-response task panics on purpose";

async fn hello(ctx: Context) -> Json<serde_json::Value> {
    let name = ctx.request().query("name").unwrap_or("World");
    Json(json!({ "message": format!("Hello, {name}!") }))
}

async fn panic_later(ctx: Context) -> &'static str {
    ctx.after_response(async { panic!("{PANIC_MESSAGE}") });
    "panic scheduled"
}

/// What the `/crash` handler's panic says: a stand-in for anything a panic message can hold.
const CRASH_SECRET: &str = "db password hunter2 at 10.0.0.7";

async fn crash(_ctx: Context) -> &'static str {
    panic!("{CRASH_SECRET}")
}

async fn hang_later(ctx: Context) -> &'static str {
    ctx.after_response(std::future::pending());
    "hang scheduled"
}

async fn metric(ctx: Context) -> Result<String, Error> {
    let raw = ctx.route().param("n").unwrap_or_default();
    let n: f64 = raw
        .parse()
        .map_err(|_| Error::bad_request(format!("{raw:?} is not a number")))?;
    ctx.metrics().counter("Served").add(n);
    Ok(format!("served {raw}"))
}

fn app(obs: Observability) -> App {
    let process = obs.clone();
    App::new()
        .observability(obs)
        .after_response_limit(Duration::from_millis(200))
        .get("/hello", hello)
        .get("/panic", panic_later)
        .get("/hang", hang_later)
        .get("/crash", crash)
        .get("/metric/{n}", metric)
        .get("/buffer", move |ctx: Context| {
            let obs = process.clone();
            async move {
                ctx.after_response(async move {
                    obs.metrics().counter("Buffered").increment();
                    obs.logger().info("buffered a process metric", &[]);
                });
                "buffer scheduled"
            }
        })
}

#[tokio::main]
async fn main() -> Result<(), lift::BoxError> {
    // Configured in full before it is cloned: the app and the `/buffer` task share it.
    let obs = Observability::new()
        .service("lifecycle")
        .namespace("LiftE2E")
        .cold_start_metric(false);
    obs.metrics().counter("Started").increment();
    app(obs).run().await
}
