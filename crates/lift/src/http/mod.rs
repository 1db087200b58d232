//! HTTP requests, responses, cookies and errors: the types every source and handler shares.
//! (The extractors that read them are in [`extract`](crate::extract).)
//!
//! The types of the [`http`](https://docs.rs/http) crate that handlers name are re-exported
//! here, so a function needs no `http` dependency of its own: [`StatusCode`], [`Method`],
//! [`HeaderName`], [`HeaderValue`], [`HeaderMap`], [`Uri`] and the [`header`] constants.
//! [`Request`] and [`Response`] are Lift's own (a request borrowed from the event, a response
//! written in the source's shape), not `http::Request` and `http::Response`.
//!
//! ```
//! use lift::http::{header, HeaderValue, Response, StatusCode};
//!
//! let r = Response::text("gone")
//!     .with_status(StatusCode::GONE)
//!     .with_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
//! assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
//! ```

mod cookie;
mod error;
mod into_response;
pub(crate) mod params;
pub(crate) mod request;
mod response;

#[doc(no_inline)]
pub use ::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
pub use cookie::{Cookie, SameSite};
pub use error::{BoxError, Error, FieldError};
pub use into_response::{IntoResponse, Json};
pub use request::Request;
pub use response::Response;
