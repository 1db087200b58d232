//! [`guard`]: which invocations an authentication or authorization middleware checks, so that
//! every such middleware, Lift's or a user's, draws the line in the same place.

use crate::wire::EventKind;
use crate::Context;

/// What an authentication or authorization middleware does with one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Check the caller: an HTTP request, or a WebSocket `$connect`.
    Check,
    /// A later event of a WebSocket connection: API Gateway delivers it only on a connection
    /// whose `$connect` was accepted, and it carries no credentials of its own (only the
    /// authorizer's context, when the API has an authorizer). Check what it does carry.
    Connected,
    /// An event with no caller to check (a queue, a stream, a schedule): pass it on.
    Pass,
}

/// How an authentication or authorization middleware treats `ctx`'s invocation.
///
/// ```
/// use lift::middleware::{from_fn, Next};
/// use lift::prelude::*;
/// use lift::security::{guard, Guard};
///
/// let api_key = from_fn(|ctx: Context, next: Next| async move {
///     if guard(&ctx) == Guard::Check && ctx.request().header("x-api-key") != Some("k-123") {
///         return Err(Error::unauthorized("missing or invalid API key"));
///     }
///     next.run(ctx).await
/// });
/// let app = App::new().middleware(api_key).get("/", |_ctx: Context| async { "hi" });
/// assert!(app.build().is_ok());
/// ```
pub fn guard(ctx: &Context) -> Guard {
    match ctx.event_kind() {
        kind if kind.is_http() => Guard::Check,
        EventKind::WebSocket if ctx.route().template() == Some("$connect") => Guard::Check,
        EventKind::WebSocket => Guard::Connected,
        _ => Guard::Pass,
    }
}
