//! An API-key authentication middleware written against the public API alone feeds the same
//! checks a verified token does: `require_role`, `require_scope`, `require_tenant_param`, the
//! Lambda tenant rule and `TenantScope`, with the same 401 and 403 answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lift::middleware::{from_fn, Middleware, Next};
use lift::prelude::*;
use lift::security::{
    guard, invalid_token, missing_credentials, require_role, require_scope, require_tenant_param,
    Guard, LambdaTenant, Principal, PrincipalSource, TenantScope,
};
use lift::testing::{invoke, invoke_with, TestRequest, TestResponse};
use lift::{AppService, LambdaContext};
use serde_json::{json, Value};

/// One API key: the key, its user, tenant, roles and scopes.
type Key = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// The keys this app knows.
const KEYS: [Key; 2] = [
    ("k-acme-admin", "ops", "acme", &["admin"], &["orders:write"]),
    ("k-globex-reader", "reporting", "globex", &["reader"], &[]),
];

/// The app's own authentication: `x-api-key`, looked up in [`KEYS`].
fn api_key() -> impl Middleware {
    from_fn(|ctx: Context, next: Next| async move {
        if guard(&ctx) != Guard::Check {
            return next.run(ctx).await;
        }
        let Some(key) = ctx.request().header("x-api-key") else {
            return Err(missing_credentials());
        };
        let Some((_, user, tenant, roles, scopes)) = KEYS.iter().find(|k| k.0 == key) else {
            ctx.logger().info("api key refused", &[]);
            return Err(invalid_token());
        };
        let principal = Principal::builder(PrincipalSource::App)
            .user_id(*user)
            .tenant_id(*tenant)
            .roles(roles.iter().copied())
            .scopes(scopes.iter().copied())
            .build();
        LambdaTenant::MustMatch.check(&ctx, &principal)?;
        ctx.set_principal(principal);
        next.run(ctx).await
    })
}

fn app() -> AppService {
    App::new()
        .middleware(api_key())
        .group("/tenants/{tenant}", |g| {
            g.middleware(require_tenant_param("tenant"))
                .get("/orders", |ctx: Context| async move {
                    let p = ctx.identity().principal().unwrap();
                    let scope = TenantScope::of(&ctx)?;
                    Ok::<_, Error>(Json(json!({
                        "user": ctx.identity().user(),
                        "tenant": ctx.identity().tenant(),
                        "source": format!("{:?}", p.source()),
                        "key": scope.key(["order", "o-1"]),
                    })))
                })
                .route(
                    "/admin",
                    Route::new()
                        .get(|_ctx: Context| async { "admin" })
                        .middleware(require_role("admin")),
                )
                .route(
                    "/write",
                    Route::new()
                        .post(|_ctx: Context| async { "written" })
                        .middleware(require_scope("orders:write")),
                )
        })
        .build()
        .unwrap()
}

fn get(path: &str, key: Option<&str>) -> Vec<u8> {
    let mut req = TestRequest::get(path);
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    req.v2()
}

fn error_code(res: &TestResponse) -> Value {
    res.json::<Value>().unwrap()["error"]["code"].clone()
}

#[tokio::test]
async fn the_principal_of_an_api_key_is_the_requests_identity() {
    let app = app();
    let res = invoke(&app, get("/tenants/acme/orders", Some("k-acme-admin")))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().unwrap(),
        json!({"user": "ops", "tenant": "acme", "source": "App", "key": "tenant#acme#order#o-1"})
    );
}

#[tokio::test]
async fn missing_and_unknown_keys_get_the_401s_of_the_built_ins() {
    let app = app();
    let none = invoke(&app, get("/tenants/acme/orders", None))
        .await
        .unwrap();
    assert_eq!(
        (
            none.status(),
            none.header("www-authenticate"),
            error_code(&none)
        ),
        (401, Some("Bearer"), json!("unauthorized"))
    );
    let wrong = invoke(&app, get("/tenants/acme/orders", Some("k-nope")))
        .await
        .unwrap();
    assert_eq!(
        (
            wrong.status(),
            wrong.header("www-authenticate"),
            error_code(&wrong)
        ),
        (
            401,
            Some("Bearer error=\"invalid_token\""),
            json!("unauthorized")
        )
    );
}

#[tokio::test]
async fn the_tenant_role_and_scope_checks_read_the_api_keys_principal() {
    let app = app();
    for (path, key, status) in [
        ("/tenants/globex/orders", "k-acme-admin", 403),
        ("/tenants/acme/admin", "k-acme-admin", 200),
        ("/tenants/globex/orders", "k-globex-reader", 200),
        ("/tenants/globex/admin", "k-globex-reader", 403),
    ] {
        let res = invoke(&app, get(path, Some(key))).await.unwrap();
        assert_eq!(res.status(), status, "{path} {key}");
        if status == 403 {
            assert_eq!(
                res.json::<Value>().unwrap()["error"]["message"],
                "forbidden",
                "{path} {key}"
            );
        }
    }
    let write = |key: &str| {
        TestRequest::post("/tenants/globex/write")
            .header("x-api-key", key)
            .v2()
    };
    assert_eq!(
        invoke(&app, write("k-globex-reader"))
            .await
            .unwrap()
            .status(),
        403
    );
    let acme_write = TestRequest::post("/tenants/acme/write")
        .header("x-api-key", "k-acme-admin")
        .v2();
    assert_eq!(invoke(&app, acme_write).await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_lambda_tenant_rule_refuses_another_tenants_key() {
    let app = app();
    let mut lambda = LambdaContext::local("req-1", Duration::from_secs(30));
    lambda.tenant_id = Some("globex".into());
    let res = invoke_with(
        &app,
        get("/tenants/acme/orders", Some("k-acme-admin")),
        lambda,
    )
    .await
    .unwrap();
    assert_eq!((res.status(), error_code(&res)), (403, json!("forbidden")));
}
