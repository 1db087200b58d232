//! The shutdown hook: on SIGTERM (Lambda) or Ctrl-C (locally), run the app's shutdown hooks
//! (final telemetry flushes), then exit.
//!
//! Lambda only sends SIGTERM to a function that has an extension registered, so when the app
//! has hooks, a no-op internal extension is registered first (it subscribes to no events and
//! costs nothing per invocation).

use crate::service::AppService;

pub(crate) async fn install(app: AppService) {
    if !app.has_shutdown_hooks() {
        return;
    }
    let registered = lambda_extension::Extension::new()
        .with_events(&[])
        .with_extension_name("lift-shutdown")
        .register()
        .await;
    match registered {
        Ok(extension) => {
            tokio::spawn(async move {
                // The extension never receives events; if its connection drops, signals
                // are still handled below.
                let _ = extension.run().await;
            });
        }
        Err(e) => eprintln!(
            r#"{{"level":"WARN","message":"could not register the shutdown extension; SIGTERM may not be delivered","error":{}}}"#,
            serde_json::Value::String(e.to_string())
        ),
    }
    tokio::spawn(async move {
        signal().await;
        app.shutdown().await;
        std::process::exit(0);
    });
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
