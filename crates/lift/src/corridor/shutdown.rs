//! **After the last invocation:** the process's end.
//!
//! Shutdown: on SIGTERM (Lambda) or Ctrl-C (locally), run the app's shutdown hooks, hand the
//! process-level metrics to the exporters, shut every exporter down, and exit with status 0,
//! all within [`Observability::shutdown_timeout`](crate::observability::Observability::shutdown_timeout)
//! (300 ms by default; Lambda allows 500 ms).
//!
//! SIGTERM is always handled. Lambda, though, only sends it to a function that has an extension
//! registered, so when something would be lost without a shutdown flush (the app has shutdown
//! hooks, an exporter holds records until its flush, or process-level metrics are waiting), a
//! no-op internal extension is registered before the first invocation. It subscribes to no
//! events, so it costs nothing per invocation; at init it costs one registration call to the
//! Extensions API on the local Runtime API endpoint (sub-millisecond).

use std::time::Duration;

use super::service::AppService;
use crate::wire::catch_panic::CatchPanic;

/// Whether anything would be lost if the process stopped without a shutdown flush.
pub(super) fn needs_flush(app: &AppService) -> bool {
    let settings = &app.inner.observability.settings;
    let hooks = app
        .inner
        .shutdown
        .lock()
        .map(|h| !h.is_empty())
        .unwrap_or(true);
    let process_metrics = !settings
        .process_metrics
        .lock()
        .map(|m| m.is_empty())
        .unwrap_or(true);
    hooks || process_metrics || settings.pipeline.needs_shutdown()
}

/// Shut down within the configured bound: what [`AppService::shutdown`] runs.
pub(super) async fn shutdown(app: &AppService) {
    let settings = app.inner.observability.settings.clone();
    let bound = settings.shutdown_timeout;
    let started = tokio::time::Instant::now();
    let hooks = match app.inner.shutdown.lock() {
        Ok(mut h) => std::mem::take(&mut *h),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    let run_hooks = async {
        for hook in hooks {
            hook().await;
        }
    };
    // Hooks get at most half the bound, so the exporters always get their turn.
    let _ = tokio::time::timeout(bound / 2, CatchPanic::new(run_hooks)).await;
    settings.flush_process_metrics();
    let left = bound
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(1));
    settings.pipeline.shutdown(left).await;
}

pub(crate) async fn install(app: AppService) {
    if needs_flush(&app) {
        register_extension().await;
    }
    tokio::spawn(async move {
        signal().await;
        app.shutdown().await;
        std::process::exit(0);
    });
}

async fn register_extension() {
    let registered = lambda_extension::Extension::new()
        .with_events(&[])
        .with_extension_name("lift-shutdown")
        .register()
        .await;
    match registered {
        Ok(extension) => {
            tokio::spawn(async move {
                // The extension never receives events; if its connection drops, signals
                // are still handled.
                let _ = extension.run().await;
            });
        }
        Err(e) => eprintln!(
            r#"{{"level":"WARN","message":"could not register the shutdown extension; SIGTERM may not be delivered","error":{}}}"#,
            serde_json::Value::String(e.to_string())
        ),
    }
}

/// Resolves on SIGTERM or SIGINT.
pub(crate) async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
