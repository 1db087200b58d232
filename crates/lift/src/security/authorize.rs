//! Authorization middleware for routes and groups: roles, scopes and the tenant of the path or
//! a header. A request without a principal gets 401; a principal without the right gets 403.
//! HTTP requests and WebSocket `$connect` are checked; a later event of a WebSocket connection
//! is checked when it carries a principal (from the authorizer's context) and passes when not,
//! admitted at `$connect` (see [`guard`](super::guard())).

use http::header::{HeaderValue, WWW_AUTHENTICATE};

use crate::context::Context;
use crate::http::Error;
use crate::middleware::{Middleware, Next, Outcome};
use crate::BoxFuture;

use super::guard::{guard, Guard};
use crate::context::Principal;

/// The 401 every invalid credential gets from Lift's authentication middleware:
/// `WWW-Authenticate: Bearer error="invalid_token"` and the error body
/// `{"error":{"code":"unauthorized","message":"missing or invalid token",...}}`. Give the reason
/// to the log, never to the client.
pub fn invalid_token() -> Error {
    Error::unauthorized("missing or invalid token").with_header(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    )
}

/// The 401 a request without any credentials gets: `WWW-Authenticate: Bearer` with no error
/// code, as RFC 6750 (section 3.1) asks of a request that did not try to authenticate, and the
/// same body as [`invalid_token`].
pub fn missing_credentials() -> Error {
    Error::unauthorized("missing or invalid token")
        .with_header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
}

/// The 403 every failed authorization check gets: `{"error":{"code":"forbidden","message":
/// "forbidden",...}}`, naming no role, scope or tenant.
pub fn forbidden() -> Error {
    Error::forbidden("forbidden")
}

/// One authorization check, as middleware. Made by [`require_role`], [`require_any_role`],
/// [`require_scope`], [`require_tenant_param`] and [`require_tenant_header`].
#[derive(Debug, Clone)]
pub struct Require {
    rule: RequireRule,
}

#[derive(Debug, Clone)]
enum RequireRule {
    AnyRole(Vec<String>),
    Scope(String),
    TenantParam(String),
    TenantHeader(String),
}

/// The principal must have `role`.
pub fn require_role(role: impl Into<String>) -> Require {
    Require {
        rule: RequireRule::AnyRole(vec![role.into()]),
    }
}

/// The principal must have at least one of `roles`.
pub fn require_any_role<S: Into<String>>(roles: impl IntoIterator<Item = S>) -> Require {
    Require {
        rule: RequireRule::AnyRole(roles.into_iter().map(Into::into).collect()),
    }
}

/// The principal must have been granted `scope`.
pub fn require_scope(scope: impl Into<String>) -> Require {
    Require {
        rule: RequireRule::Scope(scope.into()),
    }
}

/// The path parameter `param` (e.g. `tenant` of `/tenants/{tenant}/orders`) must equal the
/// principal's tenant.
pub fn require_tenant_param(param: impl Into<String>) -> Require {
    Require {
        rule: RequireRule::TenantParam(param.into()),
    }
}

/// The header `name` (e.g. `x-tenant-id`) must be present and equal the principal's tenant.
pub fn require_tenant_header(name: impl Into<String>) -> Require {
    Require {
        rule: RequireRule::TenantHeader(name.into().to_ascii_lowercase()),
    }
}

impl Require {
    fn allows(&self, ctx: &Context, p: &Principal) -> bool {
        match &self.rule {
            RequireRule::AnyRole(roles) => roles.iter().any(|r| p.has_role(r)),
            RequireRule::Scope(scope) => p.has_scope(scope),
            RequireRule::TenantParam(param) => same_tenant(p, ctx.route().param(param)),
            RequireRule::TenantHeader(name) => same_tenant(p, ctx.request().header(name)),
        }
    }
}

fn same_tenant(p: &Principal, asked: Option<&str>) -> bool {
    matches!((p.tenant_id(), asked), (Some(mine), Some(asked)) if mine == asked)
}

impl Middleware for Require {
    fn call(&self, ctx: Context, next: Next) -> BoxFuture<Outcome> {
        let verdict = match (guard(&ctx), ctx.identity().principal()) {
            (Guard::Pass, _) | (Guard::Connected, None) => return next.run(ctx),
            (_, None) => Err(missing_credentials()),
            (_, Some(p)) if self.allows(&ctx, &p) => Ok(()),
            (_, Some(_)) => Err(forbidden()),
        };
        match verdict {
            Ok(()) => next.run(ctx),
            Err(e) => {
                if e.status() == http::StatusCode::FORBIDDEN {
                    ctx.logger().info(
                        "request refused",
                        &[("rule", self.describe().as_str().into())],
                    );
                } else {
                    ctx.logger()
                        .info("request refused", &[("reason", "no principal".into())]);
                }
                Box::pin(async move { Err(e) })
            }
        }
    }
}

impl Require {
    fn describe(&self) -> String {
        match &self.rule {
            RequireRule::AnyRole(r) => format!("role one of {}", r.join(",")),
            RequireRule::Scope(s) => format!("scope {s}"),
            RequireRule::TenantParam(p) => format!("tenant of path parameter {p}"),
            RequireRule::TenantHeader(h) => format!("tenant of header {h}"),
        }
    }
}
