//! [`State`]: a clone of the app's shared state.

use super::FromContext;
use crate::context::Context;
use crate::http::Error;

/// A clone of the application state of type `T` given to [`App::state`](crate::App::state)
/// (wrap it in an `Arc` when a clone should be cheap). State that was never added is the
/// program's mistake: a 500 whose cause, naming the type, is logged.
///
/// ```
/// use std::sync::Arc;
/// use lift::{App, extract::State};
///
/// struct Clients { table: String }
///
/// async fn table(State(clients): State<Arc<Clients>>) -> String { clients.table.clone() }
///
/// let app = App::new()
///     .state(Arc::new(Clients { table: "orders".into() }))
///     .get("/table", table);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromContext for State<T> {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        ctx.state::<T>().cloned().map(State).ok_or_else(|| {
            Error::internal(format!(
                "State<{0}>: no state of type {0}; add it with App::state",
                std::any::type_name::<T>()
            ))
        })
    }
}
