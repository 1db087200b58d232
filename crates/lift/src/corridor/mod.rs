//! The corridor: every invocation walks it, from the Runtime API's bytes to the after-response
//! flush. Each file is one stretch of the walk:
//!
//! ```text
//! 1 runtime.rs         the Runtime API (lambda_runtime) hands over the raw event bytes ──┐
//!   dev.rs             or the local HTTP server makes an event of a request ────────────┤
//! 2 service.rs         AppService::invoke: the one entry (and the one `impl AppService`) ◄┘
//! 3 invoke.rs          detect & parse once (events/) ─► Scope
//! 4                    ─► Frame + Context per request/record ─► app middleware ─► handler
//! 5                    ─► the reply in the source's shape
//! 6 respond.rs         an outcome becomes a response, an error body, or a record's fate
//! 7 runtime.rs         lambda_runtime posts the reply
//! 8 after_response.rs  once the reply is posted: the telemetry flush, then the app's tasks
//!   shutdown.rs        SIGTERM: hooks, process metrics, exporters, within the bound
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
