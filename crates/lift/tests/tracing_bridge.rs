//! `tracing` events come out as Lift log lines carrying the invocation's fields. The bridge is
//! a process-wide subscriber, so it has this test binary to itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lift::observability::{install_tracing_bridge, LogFormat, MemoryExporter, Observability};
use lift::prelude::*;
use lift::testing::{invoke_with, TestRequest};
use lift::LambdaContext;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_events_carry_their_invocation_fields() {
    let mem = MemoryExporter::new();
    let obs = Observability::new()
        .service("bridge")
        .log_format(LogFormat::Json)
        .export_to(mem.clone());
    install_tracing_bridge(&obs).unwrap();

    tracing::info!(phase = "init", "outside any invocation");
    tracing::debug!("below the level, dropped");

    let app = App::new()
        .observability(obs)
        .get("/work/{n}", |ctx: Context| async move {
            ctx.set_tenant(format!(
                "tenant-{}",
                ctx.route().param("n").unwrap_or_default()
            ));
            tracing::warn!(step = 1, ok = true, "working");
            tokio::task::yield_now().await;
            // Events from inside nested spans find the invocation too.
            let span = tracing::info_span!("inner");
            let _g = span.enter();
            tracing::info!(attempt = 2u64, "still working");
            "done"
        })
        .build()
        .unwrap();

    let mut tasks = Vec::new();
    for n in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let lambda = LambdaContext::local(format!("req-{n}"), Duration::from_secs(30));
            invoke_with(&app, TestRequest::get(&format!("/work/{n}")).v2(), lambda)
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().status(), 200);
    }

    let logs = mem.logs();
    let init = &logs[0];
    assert_eq!(init["message"], "outside any invocation");
    assert_eq!(init["phase"], "init");
    assert_eq!(init["target"], "tracing_bridge");
    assert!(init.get("request_id").is_none());
    assert!(logs
        .iter()
        .all(|l| l["message"] != "below the level, dropped"));

    let working: Vec<_> = logs.iter().filter(|l| l["message"] == "working").collect();
    let still: Vec<_> = logs
        .iter()
        .filter(|l| l["message"] == "still working")
        .collect();
    assert_eq!((working.len(), still.len()), (8, 8));
    for l in working.iter().chain(still.iter()) {
        let rid = l["request_id"].as_str().unwrap();
        let n = rid.trim_start_matches("req-");
        assert_eq!(l["tenant_id"], format!("tenant-{n}"), "{l}");
        assert_eq!(l["function_request_id"], rid);
    }
    assert_eq!(working[0]["level"], "WARN");
    assert_eq!(working[0]["step"], 1);
    assert_eq!(working[0]["ok"], true);
    assert_eq!(still[0]["attempt"], 2);
}
