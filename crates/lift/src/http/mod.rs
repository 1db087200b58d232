//! HTTP requests, responses, cookies and the typed extractors handlers take.

mod cookie;
mod extract;
pub(crate) mod request;
mod response;

pub use cookie::{Cookie, SameSite};
pub use extract::{FromContext, ValidJson, Validate};
pub use request::Request;
pub use response::{IntoResponse, Json, Response};
