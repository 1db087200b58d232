//! Identity and tenant isolation: JWT verification with JWKS, API Gateway authorizer claims, the
//! [`Principal`] on the [`Context`](crate::Context), role, scope and tenant checks, tenant-scoped
//! storage keys, and secrets.
//!
//! ```
//! use lift::security::{require_any_role, require_tenant_param, Issuer, Jwt, JwtAuth, JwtKey, Algorithm};
//! use lift::{App, Context};
//!
//! # fn main() -> Result<(), lift::BoxError> {
//! let jwt = Jwt::builder()
//!     .issuer(
//!         Issuer::new("https://auth.example.com")
//!             .audience("orders-api")
//!             .key(JwtKey::hmac(b"a-secret-of-at-least-32-bytes-long!!", [Algorithm::HS256])?),
//!     )
//!     .tenant_claim("tenant_id")
//!     .roles_claim("roles")
//!     .build()?;
//!
//! let app = App::new()
//!     .get("/health", |_ctx: Context| async { "ok" }) // public: no auth middleware
//!     .group("/tenants/{tenant}", |g| {
//!         g.middleware(JwtAuth::new(jwt))
//!             .middleware(require_any_role(["user", "admin"]))
//!             .middleware(require_tenant_param("tenant"))
//!             .get("/orders", |ctx: Context| async move {
//!                 let principal = ctx.identity().principal().expect("JwtAuth ran");
//!                 format!("orders of {}", principal.tenant_id().unwrap_or_default())
//!             })
//!     });
//! # let _ = app; Ok(()) }
//! ```
//!
//! The guide is `docs/security.md`.

mod authorize;
mod authorizer;
mod claim_names;
mod claims;
mod extract;
mod guard;
pub mod secrets;
mod tenant;

#[cfg(feature = "jwt")]
mod auth;
#[cfg(feature = "jwt")]
mod fetch;
#[cfg(feature = "jwt")]
mod jwks;
#[cfg(feature = "jwt")]
mod jwt;
#[cfg(feature = "jwt")]
mod jwt_error;
#[cfg(feature = "jwt")]
mod keys;
#[cfg(feature = "jwt")]
mod refresh;
#[cfg(feature = "jwt")]
mod secret_keys;
#[cfg(feature = "jwt")]
mod token;

pub use crate::context::{Principal, PrincipalBuilder, PrincipalSource, RawClaims};
pub use authorize::{
    forbidden, invalid_token, missing_credentials, require_any_role, require_role, require_scope,
    require_tenant_header, require_tenant_param, Require,
};
pub use authorizer::AuthorizerClaims;
pub use claim_names::ClaimNames;
pub use extract::Claims;
pub use guard::{guard, Guard};
pub use tenant::{LambdaTenant, TenantScope, TenantScopeError, KEY_SEPARATOR, MAX_TENANT_LEN};

#[cfg(feature = "jwt")]
pub use auth::JwtAuth;
#[cfg(feature = "jwt")]
pub use fetch::{FetchFuture, HttpsFetch, JwksFetch, MAX_JWKS_BYTES};
#[cfg(feature = "jwt")]
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "jwt")]
pub use jwks::{Jwks, JwksStats, DEFAULT_JWKS_TTL, DEFAULT_MIN_REFRESH_INTERVAL};
#[cfg(feature = "jwt")]
pub use jwt::{Issuer, Jwt, JwtBuilder, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN};
#[cfg(feature = "jwt")]
pub use jwt_error::JwtError;
#[cfg(feature = "jwt")]
pub use keys::{JwtKey, KeyError, KeySet, KeySource, RefreshFuture, MIN_HMAC_SECRET};
#[cfg(feature = "jwt")]
pub use refresh::RefreshGate;
#[cfg(feature = "jwt")]
pub use secret_keys::{HmacSecret, HMAC_SECRET_STAGES};
#[cfg(feature = "jwt")]
pub use token::{Token, TokenHeader};
