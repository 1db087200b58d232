//! Authentication as extractors: [`Principal`] and [`Claims<T>`], answering exactly as the
//! [`JwtAuth`](super::JwtAuth) middleware does.
//!
//! A handler that takes a `Principal` gets the one an authentication middleware already set
//! (`JwtAuth`, `AuthorizerClaims`, or the app's own), else the request's token is verified by
//! the [`JwtAuth`](super::JwtAuth) in the app state, with the same checks, the same log line and
//! the same 401/403 — the middleware and the extractor call one function,
//! [`JwtAuth::authenticate`](super::JwtAuth::authenticate).
//!
//! ```
//! use lift::prelude::*;
//! use lift::security::{Algorithm, Issuer, Claims, Jwt, JwtAuth, JwtKey, Principal};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct MyClaims {
//!     sub: String,
//!     plan: String,
//! }
//!
//! async fn me(principal: Principal) -> String {
//!     principal.user_id().unwrap_or_default().to_owned()
//! }
//!
//! async fn plan(Claims(claims): Claims<MyClaims>) -> String {
//!     format!("{} is on {}", claims.sub, claims.plan)
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = JwtKey::hmac(b"a secret of at least thirty-two bytes!!", [Algorithm::HS256])?;
//! let jwt = Jwt::builder().issuer(Issuer::new("https://issuer.example").key(key)).build()?;
//! let app = App::new()
//!     .state(JwtAuth::new(jwt))
//!     .get("/me", me)
//!     .get("/plan", plan);
//! assert!(app.build().is_ok());
//! # Ok(())
//! # }
//! ```

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::authorize::invalid_token;
use crate::context::{Context, Principal};
use crate::extract::FromContext;
use crate::http::Error;
use crate::observability::Field;

/// The authenticated caller, as a value: a clone of the principal on the context.
impl FromContext for Principal {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        authenticated(ctx).await.map(|p| (*p).clone())
    }
}

/// The token's claims deserialised into the app's own type `T`. A token whose claims do not fit
/// `T` is refused as an invalid token (401), with where the claims stopped fitting in the log
/// (`claims do not fit`) and never their values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Claims<T>(pub T);

impl<T> Deref for Claims<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Claims<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned + Send + 'static> FromContext for Claims<T> {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let principal = authenticated(ctx).await?;
        serde_json::from_str(principal.claims().as_json())
            .map(Claims)
            .map_err(|e| {
                ctx.logger().info(
                    "claims do not fit",
                    &[
                        ("type", std::any::type_name::<T>().into()),
                        ("line", Field::U64(e.line() as u64)),
                        ("column", Field::U64(e.column() as u64)),
                    ],
                );
                invalid_token()
            })
    }
}

/// The principal already on the context, else the one the app state's `JwtAuth` verifies.
async fn authenticated(ctx: &Context) -> Result<Arc<Principal>, Error> {
    if let Some(p) = ctx.identity().principal() {
        return Ok(p);
    }
    #[cfg(feature = "jwt")]
    {
        use super::authorize::missing_credentials;
        use super::guard::{guard, Guard};
        if let Some(auth) = ctx.state::<super::JwtAuth>() {
            if guard(ctx) == Guard::Check {
                auth.clone().authenticate(ctx).await?;
                return ctx.identity().principal().ok_or_else(missing_credentials);
            }
            return Err(missing_credentials());
        }
    }
    Err(Error::internal(
        "a handler takes the caller, but no authentication middleware set one and the app \
         state has no JwtAuth: add one with App::state(JwtAuth::new(jwt)) or a middleware",
    ))
}
