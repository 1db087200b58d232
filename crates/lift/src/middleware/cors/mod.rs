//! `Cors`: cross-origin resource sharing, as the Fetch standard defines it.
//!
//! [`Cors`] lets browsers on other origins call the API. It answers preflights itself and adds
//! the `Access-Control-*` headers to every other response, errors included:
//!
//! - **Preflight** (`OPTIONS` with `Origin` and `Access-Control-Request-Method`): answered `204`
//!   without running the handler. From an allowed origin it carries `Access-Control-Allow-Origin`,
//!   `-Allow-Methods`, `-Allow-Headers`, `-Max-Age` and `-Allow-Credentials` as configured; from
//!   any other origin it carries none of them, so the browser blocks the request.
//! - **Actual request** from an allowed origin: the handler runs and its response (or error)
//!   gets `Access-Control-Allow-Origin`, `-Allow-Credentials` and `-Expose-Headers`. From another
//!   origin, or with no `Origin`, the handler runs and its response gets no CORS headers.
//! - **`Vary`**: a preflight always gets `Vary: Origin, Access-Control-Request-Method,
//!   Access-Control-Request-Headers`, and every other response `Vary: Origin` unless any origin
//!   is allowed (the answer then does not depend on it), so a cache never serves one origin's
//!   answer to another. Existing `Vary` values are kept and never repeated.
//!
//! An allowed origin is echoed back exactly. With [`CorsBuilder::allow_any_origin`] the answer
//! is `*` instead, and the browser then sends no cookies or credentials; combining it with
//! [`CorsBuilder::allow_credentials`] is refused when building ([`CorsError`]), and no
//! configuration echoes an origin it was not given, so a credentialed request is only ever
//! allowed from an origin listed here.
//!
//! Install it app-wide ([`App::middleware`](crate::App::middleware)), first: app-wide
//! middleware runs after routing but before a 404 or 405 is produced, so it answers preflights
//! for paths whose routes have no `OPTIONS` handler, and errors returned by later middleware
//! (a 401 from authentication) still reach the browser readable. As group or route middleware
//! it would never see those preflights. A different policy for some paths is set with
//! [`CorsBuilder::route`]. For events that are not HTTP requests it does nothing and calls the
//! rest of the chain.
//!
//! Its neighbour [`SecurityHeaders`](super::SecurityHeaders) adds headers that restrict what a
//! browser does with a response; `Cors` relaxes what a browser allows across origins, and is
//! the only middleware here that answers a request without running the handler.
//!
//! The semantics follow tower-http's `CorsLayer`, which is not used directly. Lift's chain is
//! not a tower `Service` over `http::Request`; [`TowerLayer`](super::TowerLayer) adapts tower
//! layers, but an error from the inner chain passes through it unchanged, so 401s, 404s and
//! 405s would reach the browser without CORS headers (and be hidden from the page). CORS also
//! has to run before the router's 404 and 405 and pick a per-route policy from the path the
//! router saw. Three deliberate differences: a preflight is answered `204` and carries no
//! CORS headers when its origin is not allowed; an invalid configuration is a [`CorsError`]
//! from [`CorsBuilder::build`], not a panic; and sub-domain patterns
//! (`https://*.example.org`) are built in.
//!
//! ```
//! use std::time::Duration;
//! use http::Method;
//! use lift::middleware::Cors;
//! use lift::{App, Context};
//!
//! # fn main() -> Result<(), lift::middleware::CorsError> {
//! let cors = Cors::builder()
//!     .allow_origin("https://app.example.com")
//!     .allow_origin("https://*.preview.example.com")
//!     .allow_methods([Method::GET, Method::POST, Method::DELETE])
//!     .allow_headers(["content-type", "authorization"])
//!     .expose_headers(["x-request-id"])
//!     .allow_credentials(true)
//!     .max_age(Duration::from_secs(600))
//!     // Anyone may read the public pages, without credentials.
//!     .route("/public/{*path}", Cors::builder().allow_any_origin().build()?)
//!     .build()?;
//!
//! let app = App::new()
//!     .middleware(cors)
//!     .get("/me", |_: Context| async { "me" })
//!     .get("/public/{*path}", |_: Context| async { "public" });
//! # assert!(app.build().is_ok());
//! # Ok(())
//! # }
//! ```

mod error;
mod layer;
mod origin;
mod policy;
#[cfg(test)]
mod tests;
mod vary;

pub use error::CorsError;
pub use layer::{Cors, CorsBuilder};
