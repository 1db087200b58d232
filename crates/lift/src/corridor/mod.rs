//! The corridor: every invocation walks it, from the Runtime API's bytes to the after-response
//! flush. Each file is one stretch of the walk:
//!
//! ```text
//! runtime.rs         the Runtime API (lambda_runtime) hands over the raw event bytes ──┐
//! dev.rs             or the local HTTP server makes an event of a request ────────────┤
//! service.rs         AppService::invoke: the one entry (and the one `impl AppService`) ◄┘
//! invoke.rs          detect & parse once ─► Scope ─► Frame + Context per request/record
//!                    ─► app middleware ─► route or event handler ─► reply in the source's shape
//! respond.rs         an outcome becomes a response, an error body, or a record's fate
//! after_response.rs  once the reply is posted: the telemetry flush, then the app's tasks
//! shutdown.rs        SIGTERM: hooks, process metrics, exporters, within the bound
//! ```
//!
//! The corridor is the top layer: it imports every layer below and nothing imports it.

mod after_response;
mod dev;
mod invoke;
mod respond;
mod runtime;
mod service;
mod shutdown;

pub use crate::events::Reply;
pub use after_response::AfterResponse;
pub use service::{AppService, Invocation};
