//! A multi-tenant orders API.
//!
//! | route | access |
//! |---|---|
//! | `GET /health` | public |
//! | `GET /tenants/{tenant}/orders`, `GET /tenants/{tenant}/orders/{id}` | role `user` or `admin`, own tenant |
//! | `POST /tenants/{tenant}/orders` `{"item": string, "quantity": 1-1000}` → 201 | role `user` or `admin`, own tenant |
//! | `DELETE /tenants/{tenant}/orders/{id}` → 204 | role `admin`, own tenant |
//!
//! Orders are also imported from SQS: `{"tenant": string, "item": string, "quantity": 1-1000}`.
//! Each message is stored under its own tenant and its `order imported` log line carries that
//! tenant; an invalid message fails alone (partial batch response).
//!
//! The JWT configuration comes from the environment: `JWT_SECRET` (HS256) or `JWKS_URL`, plus
//! `JWT_ISSUER` and `JWT_AUDIENCE`. The tenant is the `tenant_id` claim, the roles the `roles`
//! claim. Orders live in memory, keyed through [`TenantScope`]: every key starts with its
//! tenant, so one tenant's requests cannot reach another's orders.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lift::events::SqsMessage;
use lift::extract::ValidJson;
use lift::middleware::Stack;
use lift::prelude::*;
use lift::routing::BatchOptions;
use lift::security::{
    require_any_role, require_role, require_tenant_param, Algorithm, Issuer, Jwks, Jwt, JwtAuth,
    JwtKey, TenantScope,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, PartialEq)]
struct Order {
    id: String,
    tenant: String,
    item: String,
    quantity: u32,
}

#[derive(Deserialize, garde::Validate)]
struct NewOrder {
    #[garde(length(chars, min = 1, max = 200))]
    item: String,
    #[garde(range(min = 1, max = 1000))]
    quantity: u32,
}

#[derive(Deserialize, garde::Validate)]
struct Import {
    #[garde(length(min = 1, max = 128))]
    tenant: String,
    #[garde(length(chars, min = 1, max = 200))]
    item: String,
    #[garde(range(min = 1, max = 1000))]
    quantity: u32,
}

/// Orders of every tenant, keyed by [`TenantScope::key`]: `tenant#<tenant>#order#<id>`.
#[derive(Clone, Default)]
struct Store {
    orders: Arc<Mutex<BTreeMap<String, Order>>>,
    next_id: Arc<AtomicU64>,
}

impl Store {
    fn insert(&self, scope: &TenantScope, item: String, quantity: u32) -> Order {
        let id = format!("o-{}", self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let order = Order {
            id: id.clone(),
            tenant: scope.tenant().to_owned(),
            item,
            quantity,
        };
        self.lock().insert(scope.key(["order", &id]), order.clone());
        order
    }

    fn list(&self, scope: &TenantScope) -> Vec<Order> {
        let orders = self.lock();
        orders
            .range(scope.prefix().to_owned()..)
            .take_while(|(k, _)| k.starts_with(scope.prefix()))
            .map(|(_, o)| o.clone())
            .collect()
    }

    fn get(&self, scope: &TenantScope, id: &str) -> Option<Order> {
        self.lock().get(&scope.key(["order", id])).cloned()
    }

    fn remove(&self, scope: &TenantScope, id: &str) -> Option<Order> {
        self.lock().remove(&scope.key(["order", id]))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Order>> {
        // A panic while holding the lock leaves the map consistent (each change is one call).
        self.orders.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn store(ctx: &Context) -> Result<&Store, Error> {
    ctx.state::<Store>()
        .ok_or_else(|| Error::internal("the order store is not configured"))
}

fn not_found() -> Error {
    Error::not_found("no such order")
}

async fn health(_ctx: Context) -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn list_orders(ctx: Context) -> Result<Json<Value>, Error> {
    let scope = TenantScope::of(&ctx)?;
    Ok(Json(json!({ "orders": store(&ctx)?.list(&scope) })))
}

async fn get_order(ctx: Context) -> Result<Json<Order>, Error> {
    let scope = TenantScope::of(&ctx)?;
    let id = ctx.route().param("id").unwrap_or_default();
    store(&ctx)?.get(&scope, id).map(Json).ok_or_else(not_found)
}

async fn create_order(
    ctx: Context,
    ValidJson(new): ValidJson<NewOrder>,
) -> Result<(StatusCode, Json<Order>), Error> {
    let scope = TenantScope::of(&ctx)?;
    let order = store(&ctx)?.insert(&scope, new.item, new.quantity);
    ctx.logger()
        .info("order created", &[("order_id", order.id.as_str().into())]);
    Ok((StatusCode::CREATED, Json(order)))
}

async fn delete_order(ctx: Context) -> Result<StatusCode, Error> {
    let scope = TenantScope::of(&ctx)?;
    let id = ctx.route().param("id").unwrap_or_default();
    store(&ctx)?.remove(&scope, id).ok_or_else(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// One SQS message: stored under the message's own tenant, which also becomes this record's
/// identity (its log lines carry it; the other records of the batch keep theirs).
async fn import_order(ctx: Context, msg: SqsMessage<Import>) -> Result<(), Error> {
    let import = msg.body;
    garde::Validate::validate(&import)
        .map_err(|e| Error::bad_request(format!("invalid order import: {e}")))?;
    let scope = TenantScope::new(import.tenant.as_str())
        .map_err(|e| Error::bad_request(format!("invalid order import: {e}")))?;
    ctx.set_tenant(scope.tenant());
    let order = store(&ctx)?.insert(&scope, import.item, import.quantity);
    ctx.logger()
        .info("order imported", &[("order_id", order.id.as_str().into())]);
    Ok(())
}

/// The verifier from `JWT_SECRET` (HS256) or `JWKS_URL`, with `JWT_ISSUER` and `JWT_AUDIENCE`.
fn jwt_from_env(env: impl Fn(&str) -> Option<String>) -> Result<Jwt, String> {
    let need = |name: &str| env(name).ok_or_else(|| format!("{name} is not set"));
    let mut issuer = Issuer::new(need("JWT_ISSUER")?).audience(need("JWT_AUDIENCE")?);
    issuer = match (env("JWT_SECRET"), env("JWKS_URL")) {
        (Some(secret), _) => issuer
            .key(JwtKey::hmac(secret.as_bytes(), [Algorithm::HS256]).map_err(|e| e.to_string())?),
        (None, Some(url)) => issuer
            .algorithms([Algorithm::RS256, Algorithm::ES256])
            .key_source(Jwks::new(url)),
        (None, None) => return Err("set JWT_SECRET (HS256) or JWKS_URL".into()),
    };
    Jwt::builder()
        .issuer(issuer)
        .tenant_claim("tenant_id")
        .roles_claim("roles")
        .require(["exp", "sub", "tenant_id"])
        .build()
        .map_err(|e| e.to_string())
}

fn app(jwt: Jwt) -> App {
    let members = || require_any_role(["user", "admin"]);
    App::new()
        .state(Store::default())
        .middleware_stack(Stack::new())
        .batch_options(BatchOptions::new().partial_batch_response(true))
        .on_sqs(import_order)
        .get("/health", health)
        .group("/tenants/{tenant}", |g| {
            g.middleware(JwtAuth::new(jwt))
                .middleware(require_tenant_param("tenant"))
                .route(
                    "/orders",
                    Route::new()
                        .get(list_orders)
                        .post(create_order)
                        .middleware(members()),
                )
                .route(
                    "/orders/{id}",
                    Route::new().get(get_order).middleware(members()),
                )
                .route(
                    "/orders/{id}",
                    Route::new()
                        .delete(delete_order)
                        .middleware(require_role("admin")),
                )
        })
}

#[tokio::main]
async fn main() -> Result<(), lift::BoxError> {
    let jwt = jwt_from_env(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))?;
    app(jwt).run().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_names_what_is_missing() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let err = jwt_from_env(env(&[])).err();
        assert_eq!(err.as_deref(), Some("JWT_ISSUER is not set"));
        let err = jwt_from_env(env(&[("JWT_ISSUER", "i"), ("JWT_AUDIENCE", "a")])).err();
        assert_eq!(err.as_deref(), Some("set JWT_SECRET (HS256) or JWKS_URL"));
        let err = jwt_from_env(env(&[
            ("JWT_ISSUER", "i"),
            ("JWT_AUDIENCE", "a"),
            ("JWT_SECRET", "short"),
        ]))
        .err();
        assert_eq!(
            err.as_deref(),
            Some("an HMAC secret needs at least 32 bytes")
        );
        assert!(jwt_from_env(env(&[
            ("JWT_ISSUER", "i"),
            ("JWT_AUDIENCE", "a"),
            ("JWKS_URL", "https://example.com/jwks.json"),
        ]))
        .is_ok());
    }
}
