//! The bottom layer: the types every other layer shares, and nothing else.
//!
//! - [`EventKind`] (`kind.rs`): which source an invocation came from;
//! - [`LambdaContext`] (`lambda.rs`): what the runtime says about the invocation;
//! - [`InvokeError`] (`invoke_error.rs`) and [`BuildError`] (`build_error.rs`);
//! - the borrowed JSON views events are parsed into (`json.rs`);
//! - [`CatchPanic`](catch_panic::CatchPanic) (`catch_panic.rs`): a future whose panic becomes a
//!   value, for the corridor, the telemetry pipeline and `Recover` alike.
//!
//! Nothing here imports from the rest of the crate.

mod build_error;
pub(crate) mod catch_panic;
mod invoke_error;
pub(crate) mod json;
mod kind;
mod lambda;

pub use build_error::BuildError;
pub use invoke_error::InvokeError;
pub use kind::EventKind;
pub(crate) use lambda::duration_deadline_warning;
pub use lambda::{FunctionConfig, LambdaContext};
