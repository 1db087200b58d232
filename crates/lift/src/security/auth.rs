//! [`JwtAuth`]: the middleware that verifies the request's bearer token.

use std::sync::Arc;

use crate::context::Context;
use crate::http::Error;
use crate::middleware::{Middleware, Next, Outcome};
use crate::BoxFuture;

use super::authorize::{invalid_token, missing_credentials};
use super::guard::{guard, Guard};
use super::jwt::Jwt;
use super::jwt_error::JwtError;
use super::tenant::LambdaTenant;
use crate::wire::EventKind;

/// Verifies the request's JWT and puts its [`Principal`](super::Principal) on the Context.
///
/// - The token comes from `Authorization: Bearer <token>` (the scheme in any case), or, when
///   [`cookie`](Self::cookie) names one, from that cookie when the header has none.
/// - An invalid token gets 401 with `WWW-Authenticate: Bearer error="invalid_token"` and the
///   project's error body; a request with no token gets the same 401 with `WWW-Authenticate:
///   Bearer` alone (RFC 6750, section 3.1). Why it was refused goes to the log (`token
///   refused`, with `reason`), never to the client.
/// - The principal's user and tenant become the request's identity, so every later log line,
///   metric and span carries them.
/// - In Lambda's tenant isolation mode, a token whose tenant is not the invocation's gets 403
///   (see [`LambdaTenant`]).
///
/// It checks HTTP requests and WebSocket `$connect` (see [`guard`]): there the token also comes
/// from the query parameter named by [`query`](Self::query), since a browser cannot set headers
/// on a WebSocket. Later events of a connection pass, admitted by API Gateway on the strength of
/// their `$connect`; other events (queues, streams, schedules) carry no caller and pass.
/// Install it on the routes or groups that need it; public routes simply don't have it.
#[derive(Clone)]
pub struct JwtAuth {
    jwt: Jwt,
    /// Shared, so the clone each request makes of the middleware allocates nothing.
    cookie: Option<Arc<str>>,
    query: Option<Arc<str>>,
    lambda_tenant: LambdaTenant,
}

impl JwtAuth {
    /// Verify tokens with `jwt`.
    pub fn new(jwt: Jwt) -> Self {
        JwtAuth {
            jwt,
            cookie: None,
            query: None,
            lambda_tenant: LambdaTenant::default(),
        }
    }

    /// Also read the token from the cookie `name` when there is no `Authorization` header.
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(Arc::from(name.into()));
        self
    }

    /// On a WebSocket `$connect`, also read the token from the query parameter `name`
    /// (`wss://…?token=…`) when no header or cookie carries one. HTTP requests never read it:
    /// a token in a URL ends up in logs and caches (RFC 6750, section 2.3), and an HTTP client
    /// can send a header.
    pub fn query(mut self, name: impl Into<String>) -> Self {
        self.query = Some(Arc::from(name.into()));
        self
    }

    /// What to do when the invocation's Lambda tenant differs from the token's (default: 403).
    pub fn lambda_tenant(mut self, policy: LambdaTenant) -> Self {
        self.lambda_tenant = policy;
        self
    }

    /// The verifier.
    pub fn jwt(&self) -> &Jwt {
        &self.jwt
    }

    fn token<'c>(&self, ctx: &'c Context) -> Option<&'c str> {
        match ctx.request().header("authorization") {
            Some(h) => bearer(h),
            None => self
                .cookie
                .as_deref()
                .and_then(|c| ctx.request().cookie(c))
                .or_else(|| match (&self.query, ctx.event_kind()) {
                    (Some(q), EventKind::WebSocket) => ctx.request().query(q),
                    _ => None,
                }),
        }
        .filter(|t| !t.is_empty())
    }
}

/// The token of an `Authorization: Bearer <token>` value.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start())
}

impl JwtAuth {
    /// Verify this request's token and set its principal on the context: what the middleware
    /// and the [`Principal`](crate::security::Principal) extractor both do, so the two give the
    /// same answer to the same request; [`Identity::principal`](crate::context::Identity::principal)
    /// then returns the principal. Why a token was refused goes to the log (`token
    /// refused`, with `reason`); the error is the client's 401 or 403.
    pub async fn authenticate(&self, ctx: &Context) -> Result<(), Error> {
        let logger = ctx.logger();
        let verified = match self.token(ctx) {
            None => Err(JwtError::Missing),
            Some(token) => self.jwt.verify(token, &logger).await,
        };
        let principal = match verified {
            Ok(p) => p,
            Err(reason) => {
                logger.info(
                    "token refused",
                    &[("reason", reason.to_string().as_str().into())],
                );
                // No token at all is not an invalid one (RFC 6750, section 3.1).
                return Err(if matches!(reason, JwtError::Missing) {
                    missing_credentials()
                } else {
                    invalid_token()
                });
            }
        };
        self.lambda_tenant.check(ctx, &principal)?;
        ctx.set_principal(principal);
        Ok(())
    }
}

impl Middleware for JwtAuth {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        if guard(&ctx) != Guard::Check {
            return next.run(ctx);
        }
        let this = self.clone();
        Box::pin(async move {
            this.authenticate(&ctx).await?;
            next.run(ctx).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn reads_the_bearer_scheme_in_any_case() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc"), Some("abc"));
        assert_eq!(bearer("BEARER abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearerabc"), None);
    }
}
