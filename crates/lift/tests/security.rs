//! Security without tokens to verify: API Gateway authorizer claims (REST Cognito and Lambda
//! authorizers, HTTP API JWT and Lambda authorizers) become the principal; `require_*` give 401
//! without a principal and 403 without the right, naming nothing of the other tenant; the
//! principal's tenant and user are the request's identity; tenant scopes come from the Context.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture, lambda};
use lift::observability::{MemoryExporter, Observability};
use lift::prelude::*;
use lift::security::{
    require_any_role, require_role, require_scope, require_tenant_header, require_tenant_param,
    AuthorizerClaims, LambdaTenant, PrincipalSource, TenantScope,
};
use lift::testing::{invoke_with, TestResponse};
use lift::AppService;
use serde_json::{json, Value};

/// What the handler sees of the principal.
async fn whoami(ctx: Context) -> Json<Value> {
    let p = ctx.identity().principal().unwrap();
    assert_eq!(p.source(), PrincipalSource::Authorizer);
    Json(json!({
        "user": p.user_id(),
        "tenant": p.tenant_id(),
        "roles": p.roles(),
        "scopes": p.scopes(),
        "email": p.email(),
        "context_user": ctx.identity().user(),
        "context_tenant": ctx.identity().tenant(),
    }))
}

fn service(auth: AuthorizerClaims, mem: &MemoryExporter) -> AppService {
    App::new()
        .observability(
            Observability::new()
                .cold_start_metric(false)
                .export_to(mem.clone()),
        )
        .middleware(auth)
        .get("/me", whoami)
        .post("/me", whoami)
        .build()
        .unwrap()
}

async fn call(service: &AppService, event: Vec<u8>) -> TestResponse {
    invoke_with(service, event, lambda("req-1")).await.unwrap()
}

#[tokio::test]
async fn every_authorizer_shape_becomes_the_principal() {
    let mem = MemoryExporter::new();
    let cognito = service(
        AuthorizerClaims::new()
            .tenant_claim("custom:tenant_id")
            .roles_claim("cognito:groups"),
        &mem,
    );
    let plain = service(AuthorizerClaims::new(), &mem);
    let cases = [
        (
            &cognito,
            "authorizer-cognito-v1.json",
            json!({"user": "3f1b2c4d-0000-4000-8000-00000000c0de", "tenant": "acme",
                   "roles": ["admin", "user"], "scopes": [], "email": "ada@example.com"}),
        ),
        (
            &plain,
            "authorizer-lambda-v1.json",
            json!({"user": "user-42", "tenant": "globex", "roles": ["user"], "scopes": [],
                   "email": null}),
        ),
        (
            &plain,
            "authorizer-jwt-v2.json",
            json!({"user": "user-7", "tenant": "initech", "roles": ["admin", "user"],
                   "scopes": ["orders:read", "orders:write"], "email": "peter@initech.example"}),
        ),
        (
            &plain,
            "authorizer-lambda-v2.json",
            json!({"user": "svc-1", "tenant": "umbrella", "roles": ["service"], "scopes": [],
                   "email": null}),
        ),
    ];
    for (service, name, want) in cases {
        let res = call(service, fixture(name)).await;
        assert_eq!(res.status(), 200, "{name}: {}", res.text());
        let mut got: Value = res.json().unwrap();
        assert_eq!(got["context_user"], want["user"], "{name}");
        assert_eq!(got["context_tenant"], want["tenant"], "{name}");
        let got = got.as_object_mut().unwrap();
        got.remove("context_user");
        got.remove("context_tenant");
        assert_eq!(Value::Object(got.clone()), want, "{name}");
    }
}

#[tokio::test]
async fn the_fixtures_aws_lambda_events_ships_read_as_they_are() {
    let mem = MemoryExporter::new();
    let plain = service(AuthorizerClaims::new(), &mem);
    let rest = common::retarget(&fixture("example-apigw-request.json"), "/me");
    let got: Value = call(&plain, rest).await.json().unwrap();
    assert_eq!(
        (&got["user"], &got["tenant"]),
        (&json!("admin"), &Value::Null)
    );
    let http = common::retarget(&fixture("hello-v2.json"), "/me");
    let got: Value = call(&plain, http).await.json().unwrap();
    assert_eq!(got["user"], Value::Null);
    assert_eq!(got["scopes"], json!(["scope1", "scope2"]));
}

#[tokio::test]
async fn no_authorizer_gets_401() {
    let mem = MemoryExporter::new();
    let plain = service(AuthorizerClaims::new(), &mem);
    let res = call(
        &plain,
        common::retarget(&fixture("apigw-v1-sam.json"), "/me"),
    )
    .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    assert_eq!(
        res.text(),
        common::error_body("unauthorized", "missing or invalid token", "req-1")
    );
    let refused: Vec<Value> = mem
        .logs()
        .into_iter()
        .filter(|l| l["message"] == "request refused")
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["reason"], "no requestContext.authorizer");
}

/// `/tenants/{tenant}/...` behind the authorizer and the checks.
fn guarded(mem: &MemoryExporter) -> AppService {
    App::new()
        .observability(
            Observability::new()
                .cold_start_metric(false)
                .export_to(mem.clone()),
        )
        .group("/tenants/{tenant}", |g| {
            g.middleware(AuthorizerClaims::new())
                .middleware(require_tenant_param("tenant"))
                .route(
                    "/orders",
                    Route::new()
                        .get(|ctx: Context| async move {
                            let scope = TenantScope::of(&ctx)?;
                            Ok::<_, lift::Error>(scope.key(["order", "o-1"]))
                        })
                        .middleware(require_any_role(["user", "admin"])),
                )
                .route(
                    "/admin",
                    Route::new()
                        .get(|_ctx: Context| async { "admin" })
                        .middleware(require_role("admin")),
                )
                .route(
                    "/write",
                    Route::new()
                        .get(|_ctx: Context| async { "written" })
                        .middleware(require_scope("orders:write")),
                )
                .route(
                    "/billing",
                    Route::new()
                        .get(|_ctx: Context| async { "billing" })
                        .middleware(require_scope("billing:read")),
                )
        })
        .group("/by-header", |g| {
            g.middleware(AuthorizerClaims::new())
                .middleware(require_tenant_header("X-Tenant-Id"))
                .get("/orders", |ctx: Context| async move {
                    ctx.identity().tenant().unwrap()
                })
        })
        .build()
        .unwrap()
}

/// The HTTP API JWT authorizer fixture (tenant `initech`, roles admin and user, scopes
/// orders:read and orders:write) sent to `path`, with an optional `x-tenant-id`.
fn jwt_event(path: &str, tenant_header: Option<&str>) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&fixture("authorizer-jwt-v2.json")).unwrap();
    v["rawPath"] = json!(path);
    v["requestContext"]["http"]["path"] = json!(path);
    if let Some(t) = tenant_header {
        v["headers"]["x-tenant-id"] = json!(t);
    }
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn checks_answer_403_naming_nothing_and_pass_the_right_requests() {
    let mem = MemoryExporter::new();
    let app = guarded(&mem);
    let cases = [
        (
            "/tenants/initech/orders",
            None,
            200,
            "tenant#initech#order#o-1",
        ),
        ("/tenants/initech/admin", None, 200, "admin"),
        ("/tenants/initech/write", None, 200, "written"),
        ("/tenants/initech/billing", None, 403, ""),
        ("/tenants/globex/orders", None, 403, ""),
        ("/tenants/globex/admin", None, 403, ""),
        ("/by-header/orders", Some("initech"), 200, "initech"),
        ("/by-header/orders", Some("globex"), 403, ""),
        ("/by-header/orders", None, 403, ""),
    ];
    for (path, header, status, body) in cases {
        let res = call(&app, jwt_event(path, header)).await;
        assert_eq!(res.status(), status, "{path} {header:?}: {}", res.text());
        if status == 200 {
            assert_eq!(res.text(), body, "{path}");
        } else {
            assert_eq!(
                res.text(),
                common::error_body("forbidden", "forbidden", "req-1")
            );
        }
    }
}

#[tokio::test]
async fn a_lambda_tenant_refuses_other_tenants_claims() {
    let mem = MemoryExporter::new();
    let app = guarded(&mem);
    let mut ctx = lambda("req-1");
    ctx.tenant_id = Some("globex".into());
    let res = invoke_with(
        &app,
        jwt_event("/tenants/initech/orders", None),
        ctx.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    assert!(!res.text().contains("initech") && !res.text().contains("globex"));

    let lax = App::new()
        .middleware(AuthorizerClaims::new().lambda_tenant(LambdaTenant::Ignore))
        .get("/me", |ctx: Context| async move {
            ctx.identity().tenant().unwrap()
        })
        .build()
        .unwrap();
    let res = invoke_with(&lax, jwt_event("/me", None), ctx)
        .await
        .unwrap();
    assert_eq!((res.status(), res.text().as_str()), (200, "initech"));
}

#[tokio::test]
async fn checks_without_a_principal_answer_401() {
    let app = App::new()
        .route(
            "/admin",
            Route::new()
                .get(|_ctx: Context| async { "admin" })
                .middleware(require_role("admin")),
        )
        .build()
        .unwrap();
    let res = call(&app, jwt_event("/admin", None)).await;
    assert_eq!(res.status(), 401);
    // No token at all: no error code (RFC 6750, section 3.1).
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_keep_their_own_principal_in_responses_and_logs() {
    let mem = MemoryExporter::new();
    let app = std::sync::Arc::new(
        App::new()
            .observability(
                Observability::new()
                    .cold_start_metric(false)
                    .export_to(mem.clone()),
            )
            .middleware(AuthorizerClaims::new())
            .get("/me", |ctx: Context| async move {
                // Let the other requests interleave before this one reads its identity.
                tokio::task::yield_now().await;
                ctx.logger().info("handled", &[]);
                format!(
                    "{}/{}",
                    ctx.identity().tenant().unwrap(),
                    ctx.identity().user().unwrap()
                )
            })
            .build()
            .unwrap(),
    );
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut v: Value =
                    serde_json::from_slice(&fixture("authorizer-lambda-v2.json")).unwrap();
                v["requestContext"]["authorizer"]["lambda"] =
                    json!({"sub": format!("user-{i}"), "tenant_id": format!("tenant-{i}")});
                let ctx = lambda(&format!("req-{i}"));
                let res = invoke_with(&app, serde_json::to_vec(&v).unwrap(), ctx)
                    .await
                    .unwrap();
                (i, res.text())
            })
        })
        .collect();
    for t in tasks {
        let (i, body) = t.await.unwrap();
        assert_eq!(body, format!("tenant-{i}/user-{i}"));
    }
    let handled: Vec<Value> = mem
        .logs()
        .into_iter()
        .filter(|l| l["message"] == "handled")
        .collect();
    assert_eq!(handled.len(), 64);
    for line in handled {
        let n = line["request_id"]
            .as_str()
            .unwrap()
            .trim_start_matches("req-");
        assert_eq!(line["tenant_id"], format!("tenant-{n}"));
        assert_eq!(line["user_id"], format!("user-{n}"));
    }
}
