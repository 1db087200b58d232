//! [`AuthorizerClaims`]: trust API Gateway's authorizer instead of verifying the token again.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::context::Context;
use crate::middleware::{Middleware, Next, Outcome};
use crate::wire::json::Str;
use crate::BoxFuture;

use super::authorize::invalid_token;
use super::claim_names::ClaimNames;
use super::claims::{self, ClaimsSeed};
use super::guard::{guard, Guard};
use super::tenant::LambdaTenant;
use crate::context::{Principal, PrincipalSource};

/// Reads the principal from `requestContext.authorizer`, which API Gateway fills after its own
/// authorizer verified the caller:
///
/// | API and authorizer | where the claims are |
/// |---|---|
/// | REST API, Cognito user pool authorizer | `authorizer.claims` |
/// | REST API, Lambda authorizer | `authorizer` itself (its context, and `principalId` as the user) |
/// | HTTP API, JWT authorizer | `authorizer.jwt.claims`, scopes in `authorizer.jwt.scopes` |
/// | HTTP API, Lambda authorizer | `authorizer.lambda` |
///
/// It checks HTTP requests and WebSocket `$connect` (see [`guard`]); later events of a
/// WebSocket connection get the principal when they carry the authorizer's context, and pass
/// when they do not (API Gateway admitted the connection at `$connect`).
///
/// Opt in only on routes API Gateway really protects: the claims are trusted as they are
/// (`exp` and `aud` are not checked again). A request without them gets 401. API Gateway
/// flattens arrays into text (`[admin user]`); roles and scopes are read from either form.
///
/// ```
/// use lift::{security::AuthorizerClaims, App, Context};
///
/// let app = App::new()
///     .middleware(AuthorizerClaims::new().tenant_claim("custom:tenant_id").roles_claim("cognito:groups"))
///     .get("/me", |ctx: Context| async move { ctx.identity().user().unwrap_or_default() });
/// ```
#[derive(Debug, Clone, Default)]
pub struct AuthorizerClaims {
    names: ClaimNames,
    lambda_tenant: LambdaTenant,
}

#[derive(Deserialize)]
struct Authorizer<'a> {
    #[serde(borrow)]
    claims: Option<&'a RawValue>,
    #[serde(borrow)]
    jwt: Option<JwtAuthorizer<'a>>,
    #[serde(borrow)]
    lambda: Option<&'a RawValue>,
    #[serde(rename = "principalId", borrow)]
    principal_id: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct JwtAuthorizer<'a> {
    #[serde(borrow)]
    claims: Option<&'a RawValue>,
    #[serde(borrow)]
    scopes: Option<Vec<Str<'a>>>,
}

impl AuthorizerClaims {
    /// Read the tenant from `tenant_id` and the roles from `roles`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The claim holding the tenant id (Cognito: `custom:tenant_id`).
    pub fn tenant_claim(mut self, claim: impl Into<String>) -> Self {
        self.names = self.names.tenant(claim);
        self
    }

    /// The claim holding the roles (Cognito: `cognito:groups`).
    pub fn roles_claim(mut self, claim: impl Into<String>) -> Self {
        self.names = self.names.roles(claim);
        self
    }

    /// What to do when the invocation's Lambda tenant differs from the claims' tenant (default:
    /// refuse with 403).
    pub fn lambda_tenant(mut self, policy: LambdaTenant) -> Self {
        self.lambda_tenant = policy;
        self
    }

    /// The principal of this request's authorizer, or why there is none.
    pub fn principal(&self, raw: Option<&str>) -> Result<Principal, &'static str> {
        let raw = raw.ok_or("no requestContext.authorizer")?;
        const NOT_OBJECT: &str = "requestContext.authorizer is not an object";
        let whole: &RawValue = serde_json::from_str(raw).map_err(|_| NOT_OBJECT)?;
        let auth: Authorizer<'_> = serde_json::from_str(whole.get()).map_err(|_| NOT_OBJECT)?;
        let (object, scopes) = match (&auth.jwt, auth.claims, auth.lambda) {
            (Some(jwt), _, _) => (jwt.claims, jwt.scopes.as_deref()),
            (None, Some(claims), _) => (Some(claims), None),
            (None, None, Some(lambda)) => (Some(lambda), None),
            (None, None, None) if auth.principal_id.is_some() => (Some(whole), None),
            _ => (None, None),
        };
        let object = object.ok_or("the authorizer passed no claims")?;
        let set = claims::parse(
            object.get(),
            ClaimsSeed {
                names: &self.names,
                required: &[],
                values: &[],
                registered: false,
            },
        )
        .map_err(|_| "the authorizer's claims are not an object")?;
        let scopes = match scopes {
            Some(scopes) => scopes.iter().map(|s| s.to_string_owned()).collect(),
            None => set.scopes,
        };
        let mut principal = Principal::builder(PrincipalSource::Authorizer)
            .roles(set.roles)
            .scopes(scopes)
            .claims_json(object.get());
        let user = set
            .sub
            .or_else(|| auth.principal_id.map(|p| p.to_string_owned()));
        if let Some(user) = user {
            principal = principal.user_id(user);
        }
        if let Some(tenant) = set.tenant {
            principal = principal.tenant_id(tenant);
        }
        if let Some(email) = set.email {
            principal = principal.email(email);
        }
        if let Some(iss) = set.iss {
            principal = principal.issuer(&*iss);
        }
        let principal = principal.build();
        Ok(principal)
    }
}

impl Middleware for AuthorizerClaims {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        let checked = match guard(&ctx) {
            Guard::Check => true,
            // Every event of a connection carries the context the authorizer gave its
            // `$connect`: the principal is read when it is there.
            Guard::Connected => false,
            Guard::Pass => return next.run(ctx),
        };
        let principal = self.principal(ctx.request().authorizer());
        let principal = match principal {
            Ok(p) => p,
            Err(_) if !checked => return next.run(ctx),
            Err(reason) => {
                ctx.logger()
                    .info("request refused", &[("reason", reason.into())]);
                return Box::pin(async { Err(invalid_token()) });
            }
        };
        if let Err(e) = self.lambda_tenant.check(&ctx, &principal) {
            return Box::pin(async { Err(e) });
        }
        ctx.set_principal(principal);
        next.run(ctx)
    }
}
