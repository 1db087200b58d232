//! Routing: methods, path parameters, 404/405, HEAD, fallback, groups, middleware order and
//! scope, typed values, state, stages and base paths, build errors and request ids.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::{error_body, lambda};
use http::{HeaderName, HeaderValue, StatusCode};
use lift::middleware::{from_fn, Next};
use lift::routing::Route;
use lift::testing::{invoke, invoke_with, TestRequest};
use lift::{App, AppService, Context, Error};
use serde_json::json;

/// What ran, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, s: impl Into<String>) {
        self.0.lock().expect("lock").push(s.into());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

/// A middleware that logs `name:before` and `name:after` around the rest of the chain.
fn logging(log: &Log, name: &'static str) -> impl lift::middleware::Middleware {
    let log = log.clone();
    from_fn(move |ctx: Context, next: Next| {
        let log = log.clone();
        async move {
            log.push(format!("{name}:before"));
            let res = next.run(ctx).await;
            log.push(format!("{name}:after"));
            res
        }
    })
}

/// A handler that logs `name` and answers with it.
fn handler(
    log: &Log,
    name: &'static str,
) -> impl Fn(Context) -> std::future::Ready<&'static str> + Clone + Send + Sync + 'static {
    let log = log.clone();
    move |_ctx: Context| {
        log.push(name);
        std::future::ready(name)
    }
}

async fn method_name(ctx: Context) -> String {
    ctx.request().method().to_string()
}

async fn build(app: App) -> AppService {
    app.build().expect("app builds")
}

// ---------------------------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_method_reaches_its_handler() {
    let app = build(
        App::new()
            .get("/r", |_: Context| async { "get" })
            .post("/r", |_: Context| async { "post" })
            .put("/r", |_: Context| async { "put" })
            .patch("/r", |_: Context| async { "patch" })
            .delete("/r", |_: Context| async { "delete" })
            .options("/r", |_: Context| async { "options" }),
    )
    .await;
    let cases = [
        (TestRequest::get("/r"), "get"),
        (TestRequest::post("/r"), "post"),
        (TestRequest::put("/r"), "put"),
        (TestRequest::patch("/r"), "patch"),
        (TestRequest::delete("/r"), "delete"),
        (TestRequest::options("/r"), "options"),
    ];
    for (req, want) in cases {
        for event in [req.v1(), req.v2(), req.alb()] {
            let res = invoke(&app, event).await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.text(), want);
        }
    }
}

#[tokio::test]
async fn route_builder_and_any_cover_every_method() {
    let app = build(
        App::new()
            .route(
                "/items",
                Route::new()
                    .get(|_: Context| async { "list" })
                    .post(|_: Context| async { (StatusCode::CREATED, "created") }),
            )
            .any("/echo-method", method_name)
            .route(
                "/mixed",
                Route::new()
                    .get(|_: Context| async { "own get" })
                    .any(method_name),
            ),
    )
    .await;
    let res = invoke(&app, TestRequest::get("/items").v2()).await.unwrap();
    assert_eq!((res.status(), res.text()), (200, "list".to_owned()));
    let res = invoke(&app, TestRequest::post("/items").v2())
        .await
        .unwrap();
    assert_eq!((res.status(), res.text()), (201, "created".to_owned()));

    for req in [
        TestRequest::get("/echo-method"),
        TestRequest::post("/echo-method"),
        TestRequest::put("/echo-method"),
        TestRequest::patch("/echo-method"),
        TestRequest::delete("/echo-method"),
        TestRequest::options("/echo-method"),
        TestRequest::new(http::Method::from_bytes(b"PURGE").unwrap(), "/echo-method"),
    ] {
        let res = invoke(&app, req.v1()).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text(), req_method(&req));
    }

    // A method with its own handler is not taken by `any`.
    let res = invoke(&app, TestRequest::get("/mixed").v2()).await.unwrap();
    assert_eq!(res.text(), "own get");
    let res = invoke(&app, TestRequest::delete("/mixed").v2())
        .await
        .unwrap();
    assert_eq!(res.text(), "DELETE");
}

fn req_method(req: &TestRequest) -> String {
    let v: serde_json::Value = serde_json::from_slice(&req.v1()).unwrap();
    v["httpMethod"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Path parameters
// ---------------------------------------------------------------------------------------------

/// REST API, ALB and Function URL paths arrive as the client sent them, percent-encoded: a
/// parameter is decoded once. The HTTP API decodes `rawPath` itself (the builder writes it so):
/// the parameter is taken as it arrives, and an encoded `/` has become a path separator.
#[tokio::test]
async fn path_parameters_are_percent_decoded_once() {
    let app = build(App::new().get("/users/{id}", |ctx: Context| async move {
        format!("user [{}]", ctx.route().param("id").unwrap_or_default())
    }))
    .await;
    let cases = [
        ("/users/42", Some("user [42]")),
        ("/users/a%20b", Some("user [a b]")),
        ("/users/a+b", Some("user [a+b]")),
        ("/users/caf%C3%A9", Some("user [café]")),
        ("/users/100%2525", Some("user [100%25]")),
        // Only the HTTP API turns it into `/users/a/b`, which is another path.
        ("/users/a%2Fb", None),
    ];
    for (path, want) in cases {
        let req = TestRequest::get(path);
        for event in [req.v1(), req.alb(), req.alb_multi(), req.function_url()] {
            let res = invoke(&app, event).await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(res.text(), want.unwrap_or("user [a/b]"), "{path}");
        }
        let res = invoke(&app, req.v2()).await.unwrap();
        match want {
            Some(want) => {
                assert_eq!(res.status(), 200, "{path}");
                assert_eq!(res.text(), want, "{path}");
            }
            None => assert_eq!(res.status(), 404, "{path}"),
        }
    }
}

/// A file named `100%25` as each source hands it over (`docs/routing.md` has the evidence):
/// REST API, ALB and Function URL keep the client's encoding, `/files/100%2525`; the HTTP API
/// sends `rawPath` decoded, `/files/100%25`. Either way the parameter is `100%25`: decoded once
/// where the source did not, never a second time (which would give `100%`).
#[tokio::test]
async fn no_source_has_its_path_decoded_twice() {
    let app = build(App::new().get("/files/{name}", |ctx: Context| async move {
        format!(
            "{} at {}",
            ctx.route().param("name").unwrap_or_default(),
            ctx.path()
        )
    }))
    .await;
    for (file, path) in [
        ("path-encoded-v1.json", "/files/100%2525"),
        ("path-encoded-alb.json", "/files/100%2525"),
        ("path-encoded-function-url.json", "/files/100%2525"),
        ("path-decoded-v2.json", "/files/100%25"),
    ] {
        let res = invoke(&app, common::fixture(file)).await.unwrap();
        assert_eq!(res.status(), 200, "{file}");
        assert_eq!(res.text(), format!("100%25 at {path}"), "{file}");
    }
}

#[tokio::test]
async fn several_parameters_are_given_in_template_order() {
    let app = build(
        App::new().get("/orgs/{org}/users/{id}", |ctx: Context| async move {
            let all: Vec<String> = ctx
                .route()
                .params()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!(
                "{} {} {}",
                ctx.route().param("org").unwrap_or_default(),
                ctx.route().param("id").unwrap_or_default(),
                all.join(",")
            )
        }),
    )
    .await;
    let res = invoke(&app, TestRequest::get("/orgs/acme/users/7").v2())
        .await
        .unwrap();
    assert_eq!(res.text(), "acme 7 org=acme,id=7");
}

#[tokio::test]
async fn catch_all_binds_the_rest_of_the_path() {
    let app = build(App::new().get("/files/{*path}", |ctx: Context| async move {
        format!("file [{}]", ctx.route().param("path").unwrap_or_default())
    }))
    .await;
    let res = invoke(&app, TestRequest::get("/files/a/b/c.txt").v2())
        .await
        .unwrap();
    assert_eq!(res.text(), "file [a/b/c.txt]");
    let res = invoke(&app, TestRequest::get("/files/report%202024.pdf").v1())
        .await
        .unwrap();
    assert_eq!(res.text(), "file [report 2024.pdf]");
}

// ---------------------------------------------------------------------------------------------
// 404 and 405
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_path_is_a_404_carrying_the_lambda_request_id() {
    let app = build(App::new().get("/hello", |_: Context| async { "hi" })).await;
    let res = invoke_with(&app, TestRequest::get("/nope").v2(), lambda("req-404"))
        .await
        .unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 404,
            "headers": {"content-type": "application/json"},
            "cookies": [],
            "body": error_body("not_found", "no route matches this path", "req-404"),
            "isBase64Encoded": false,
        })
    );
    assert_eq!(
        res.text(),
        r#"{"error":{"code":"not_found","message":"no route matches this path","request_id":"req-404"}}"#
    );

    let v1 = invoke_with(
        &app,
        TestRequest::post("/nope/deeper").v1(),
        lambda("req-404-v1"),
    )
    .await
    .unwrap();
    assert_eq!(v1.status(), 404);
    assert_eq!(
        v1.text(),
        error_body("not_found", "no route matches this path", "req-404-v1")
    );
}

#[tokio::test]
async fn wrong_method_is_a_405_with_the_exact_allow_header() {
    let app = build(
        App::new().route(
            "/items",
            Route::new()
                .get(|_: Context| async { "list" })
                .post(|_: Context| async { "create" })
                .delete(|_: Context| async { "clear" }),
        ),
    )
    .await;
    let res = invoke_with(&app, TestRequest::put("/items").v2(), lambda("req-405"))
        .await
        .unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 405,
            "headers": {"content-type": "application/json", "allow": "GET, HEAD, POST, DELETE"},
            "cookies": [],
            "body": error_body("method_not_allowed", "method not allowed", "req-405"),
            "isBase64Encoded": false,
        })
    );

    let v1 = invoke_with(
        &app,
        TestRequest::patch("/items").v1(),
        lambda("req-405-v1"),
    )
    .await
    .unwrap();
    assert_eq!(
        v1.raw(),
        &json!({
            "statusCode": 405,
            "headers": {"content-type": "application/json", "allow": "GET, HEAD, POST, DELETE"},
            "multiValueHeaders": {
                "content-type": ["application/json"],
                "allow": ["GET, HEAD, POST, DELETE"],
            },
            "body": error_body("method_not_allowed", "method not allowed", "req-405-v1"),
            "isBase64Encoded": false,
        })
    );
}

#[tokio::test]
async fn allow_header_lists_methods_registered_separately_and_an_explicit_head_once() {
    let app = build(
        App::new()
            .post("/a", |_: Context| async { "post" })
            .get("/a", |_: Context| async { "get" })
            .get("/b", |_: Context| async { "get" })
            .head("/b", |_: Context| async { StatusCode::OK })
            .put("/c", |_: Context| async { "put" }),
    )
    .await;
    let allow = |path: &'static str| {
        let app = app.clone();
        async move {
            let res = invoke(&app, TestRequest::delete(path).v2()).await.unwrap();
            assert_eq!(res.status(), 405);
            res.header("allow").map(str::to_owned)
        }
    };
    assert_eq!(allow("/a").await.as_deref(), Some("POST, GET, HEAD"));
    assert_eq!(allow("/b").await.as_deref(), Some("GET, HEAD"));
    assert_eq!(allow("/c").await.as_deref(), Some("PUT"));
}

// ---------------------------------------------------------------------------------------------
// HEAD
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn head_is_served_by_get_without_the_body() {
    let log = Log::default();
    let app = build(App::new().get("/hello", handler(&log, "get"))).await;

    let res = invoke(&app, TestRequest::head("/hello").v2())
        .await
        .unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "cookies": [],
            "body": "",
            "isBase64Encoded": false,
        })
    );
    let res = invoke(&app, TestRequest::head("/hello").v1())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.raw()["body"], json!(""));
    assert_eq!(log.take(), vec!["get", "get"]);

    // GET still has its body.
    let res = invoke(&app, TestRequest::get("/hello").v2()).await.unwrap();
    assert_eq!(res.text(), "get");
}

#[tokio::test]
async fn an_explicit_head_handler_wins_over_get() {
    let log = Log::default();
    let head_log = log.clone();
    let app = build(App::new().get("/doc", handler(&log, "get")).head(
        "/doc",
        move |_: Context| {
            head_log.push("head");
            async {
                lift::http::Response::new(StatusCode::OK).with_header(
                    HeaderName::from_static("x-handler"),
                    HeaderValue::from_static("head"),
                )
            }
        },
    ))
    .await;
    let res = invoke(&app, TestRequest::head("/doc").v2()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("x-handler"), Some("head"));
    assert_eq!(log.take(), vec!["head"]);
}

#[tokio::test]
async fn head_responses_never_carry_a_body() {
    let app = build(
        App::new()
            .any("/anything", |_: Context| async { "a body" })
            .post("/post-only", |_: Context| async { "posted" }),
    )
    .await;
    // RFC 9110 §9.3.2: the server must not send content in a response to HEAD.
    for path in ["/anything", "/nowhere", "/post-only"] {
        let res = invoke(&app, TestRequest::head(path).v2()).await.unwrap();
        assert_eq!(res.raw()["body"], json!(""), "HEAD {path}: {}", res.raw());
    }
}

// ---------------------------------------------------------------------------------------------
// Fallback
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn fallback_handles_unmatched_paths_but_not_wrong_methods() {
    let app = build(
        App::new()
            .get("/hello", |_: Context| async { "hi" })
            .fallback(|ctx: Context| async move {
                (
                    StatusCode::IM_A_TEAPOT,
                    format!("fallback for {} {}", ctx.request().method(), ctx.path()),
                )
            }),
    )
    .await;
    let res = invoke(&app, TestRequest::get("/elsewhere/x").v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 418);
    assert_eq!(res.text(), "fallback for GET /elsewhere/x");

    let res = invoke(&app, TestRequest::get("/hello").v2()).await.unwrap();
    assert_eq!(res.text(), "hi");

    let res = invoke_with(&app, TestRequest::post("/hello").v2(), lambda("req-fb"))
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.text(),
        error_body("method_not_allowed", "method not allowed", "req-fb")
    );
}

// ---------------------------------------------------------------------------------------------
// Groups and middleware scope
// ---------------------------------------------------------------------------------------------

fn require_admin() -> impl lift::middleware::Middleware {
    from_fn(|ctx: Context, next: Next| async move {
        if ctx.request().header("x-admin") != Some("yes") {
            return Err(Error::forbidden("admins only"));
        }
        next.run(ctx).await
    })
}

#[tokio::test]
async fn groups_prefix_their_routes_and_nest() {
    let app = build(
        App::new()
            .get("/ping", |_: Context| async { "pong" })
            .group("/admin", |g| {
                g.get("/stats", |ctx: Context| async move {
                    format!("stats {}", ctx.route().template().unwrap_or_default())
                })
                .group("/v2", |v2| {
                    v2.get("/stats/{id}", |ctx: Context| async move {
                        format!(
                            "v2 stats {} {}",
                            ctx.route().param("id").unwrap_or_default(),
                            ctx.route().template().unwrap_or_default()
                        )
                    })
                })
                .get("/", |_: Context| async { "admin root" })
            }),
    )
    .await;
    let res = invoke(&app, TestRequest::get("/admin/stats").v2())
        .await
        .unwrap();
    assert_eq!(res.text(), "stats /admin/stats");
    let res = invoke(&app, TestRequest::get("/admin/v2/stats/9").v2())
        .await
        .unwrap();
    assert_eq!(res.text(), "v2 stats 9 /admin/v2/stats/{id}");
    let res = invoke(&app, TestRequest::get("/admin").v2()).await.unwrap();
    assert_eq!(res.text(), "admin root");
    let res = invoke(&app, TestRequest::get("/stats").v2()).await.unwrap();
    assert_eq!(res.status(), 404);
    let res = invoke(&app, TestRequest::get("/v2/stats/9").v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn group_middleware_applies_only_to_the_group_routes() {
    let app = build(
        App::new()
            .get("/ping", |_: Context| async { "pong" })
            .group("/admin", |g| {
                g.middleware(require_admin())
                    .get("/stats", |_: Context| async { "stats" })
                    .group("/v2", |v2| {
                        v2.get("/stats", |_: Context| async { "v2 stats" })
                    })
            })
            .get("/admin-public", |_: Context| async { "public" }),
    )
    .await;

    let res = invoke(&app, TestRequest::get("/ping").v2()).await.unwrap();
    assert_eq!((res.status(), res.text()), (200, "pong".to_owned()));
    let res = invoke(&app, TestRequest::get("/admin-public").v2())
        .await
        .unwrap();
    assert_eq!((res.status(), res.text()), (200, "public".to_owned()));

    for path in ["/admin/stats", "/admin/v2/stats"] {
        let res = invoke_with(&app, TestRequest::get(path).v2(), lambda("req-403"))
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
        assert_eq!(
            res.text(),
            error_body("forbidden", "admins only", "req-403")
        );
    }
    let res = invoke(
        &app,
        TestRequest::get("/admin/stats")
            .header("x-admin", "yes")
            .v2(),
    )
    .await
    .unwrap();
    assert_eq!((res.status(), res.text()), (200, "stats".to_owned()));
    let res = invoke(
        &app,
        TestRequest::get("/admin/v2/stats")
            .header("X-Admin", "yes")
            .v1(),
    )
    .await
    .unwrap();
    assert_eq!((res.status(), res.text()), (200, "v2 stats".to_owned()));
}

#[tokio::test]
async fn per_route_middleware_applies_only_to_its_route() {
    let log = Log::default();
    let app = build(
        App::new()
            .route(
                "/guarded",
                Route::new()
                    .get(handler(&log, "guarded get"))
                    .post(handler(&log, "guarded post"))
                    .middleware(logging(&log, "route")),
            )
            .get("/open", handler(&log, "open")),
    )
    .await;
    invoke(&app, TestRequest::get("/guarded").v2())
        .await
        .unwrap();
    assert_eq!(
        log.take(),
        vec!["route:before", "guarded get", "route:after"]
    );
    invoke(&app, TestRequest::post("/guarded").v2())
        .await
        .unwrap();
    assert_eq!(
        log.take(),
        vec!["route:before", "guarded post", "route:after"]
    );
    invoke(&app, TestRequest::get("/open").v2()).await.unwrap();
    assert_eq!(log.take(), vec!["open"]);
}

#[tokio::test]
async fn middleware_runs_outermost_first_app_then_groups_then_route() {
    let log = Log::default();
    let app = build(
        App::new()
            .middleware(logging(&log, "app1"))
            .middleware(logging(&log, "app2"))
            .group("/outer", |g| {
                g.middleware(logging(&log, "outer")).group("/inner", |i| {
                    i.middleware(logging(&log, "inner")).route(
                        "/x",
                        Route::new()
                            .get(handler(&log, "handler"))
                            .middleware(logging(&log, "route")),
                    )
                })
            })
            .get("/plain", handler(&log, "plain")),
    )
    .await;

    let res = invoke(&app, TestRequest::get("/outer/inner/x").v2())
        .await
        .unwrap();
    assert_eq!(res.text(), "handler");
    assert_eq!(
        log.take(),
        vec![
            "app1:before",
            "app2:before",
            "outer:before",
            "inner:before",
            "route:before",
            "handler",
            "route:after",
            "inner:after",
            "outer:after",
            "app2:after",
            "app1:after",
        ]
    );

    invoke(&app, TestRequest::get("/plain").v1()).await.unwrap();
    assert_eq!(
        log.take(),
        vec![
            "app1:before",
            "app2:before",
            "plain",
            "app2:after",
            "app1:after"
        ]
    );
}

#[tokio::test]
async fn app_middleware_runs_for_404s_and_405s_too() {
    let log = Log::default();
    let app = build(
        App::new()
            .middleware(logging(&log, "app1"))
            .middleware(logging(&log, "app2"))
            .get("/hello", handler(&log, "hello")),
    )
    .await;
    let res = invoke(&app, TestRequest::get("/missing").v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        log.take(),
        vec!["app1:before", "app2:before", "app2:after", "app1:after"]
    );
    let res = invoke(&app, TestRequest::post("/hello").alb())
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(
        log.take(),
        vec!["app1:before", "app2:before", "app2:after", "app1:after"]
    );
}

#[tokio::test]
async fn middleware_can_short_circuit_so_the_handler_never_runs() {
    let log = Log::default();
    let gate_log = log.clone();
    let app = build(
        App::new()
            .middleware(from_fn(move |ctx: Context, next: Next| {
                let log = gate_log.clone();
                async move {
                    if ctx.request().header("x-maintenance").is_some() {
                        log.push("gate:blocked");
                        return Ok(lift::http::Response::text("down for maintenance")
                            .with_status(StatusCode::SERVICE_UNAVAILABLE));
                    }
                    if ctx.request().header("authorization").is_none() {
                        log.push("gate:unauthorized");
                        return Err(Error::unauthorized("missing credentials"));
                    }
                    next.run(ctx).await
                }
            }))
            .get("/data", handler(&log, "handler")),
    )
    .await;

    let res = invoke(
        &app,
        TestRequest::get("/data").header("x-maintenance", "1").v2(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.text(), "down for maintenance");
    assert_eq!(log.take(), vec!["gate:blocked"]);

    let res = invoke_with(&app, TestRequest::get("/data").v2(), lambda("req-401"))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.text(),
        error_body("unauthorized", "missing credentials", "req-401")
    );
    assert_eq!(log.take(), vec!["gate:unauthorized"]);

    let res = invoke(
        &app,
        TestRequest::get("/data")
            .header("authorization", "Bearer t")
            .v2(),
    )
    .await
    .unwrap();
    assert_eq!(res.text(), "handler");
    assert_eq!(log.take(), vec!["handler"]);
}

#[tokio::test]
async fn middleware_can_change_the_response_after_the_handler() {
    let app = build(
        App::new()
            .middleware(from_fn(|ctx: Context, next: Next| async move {
                let mut res = next.run(ctx).await?;
                res.headers_mut().insert(
                    HeaderName::from_static("x-served-by"),
                    HeaderValue::from_static("lift"),
                );
                Ok(res)
            }))
            .get("/hello", |_: Context| async { "hi" }),
    )
    .await;
    let res = invoke(&app, TestRequest::get("/hello").v1()).await.unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain; charset=utf-8", "x-served-by": "lift"},
            "multiValueHeaders": {
                "content-type": ["text/plain; charset=utf-8"],
                "x-served-by": ["lift"],
            },
            "body": "hi",
            "isBase64Encoded": false,
        })
    );
}

#[tokio::test]
async fn app_middleware_sees_the_route_template_and_the_path() {
    let log = Log::default();
    let mw_log = log.clone();
    let app = build(
        App::new()
            .middleware(from_fn(move |ctx: Context, next: Next| {
                let log = mw_log.clone();
                async move {
                    log.push(format!(
                        "{} {} {}",
                        ctx.request().method(),
                        ctx.route().template().unwrap_or("<none>"),
                        ctx.path()
                    ));
                    next.run(ctx).await
                }
            }))
            .get("/users/{id}", |_: Context| async { "user" })
            .get("/files/{*path}", |_: Context| async { "file" }),
    )
    .await;
    invoke(&app, TestRequest::get("/users/42").v2())
        .await
        .unwrap();
    invoke(&app, TestRequest::get("/files/a/b").v1())
        .await
        .unwrap();
    invoke(&app, TestRequest::get("/nope").alb()).await.unwrap();
    invoke(&app, TestRequest::delete("/users/42").v2())
        .await
        .unwrap();
    assert_eq!(
        log.take(),
        vec![
            "GET /users/{id} /users/42",
            "GET /files/{*path} /files/a/b",
            "GET <none> /nope",
            // The path exists for other methods: the 405 is filed under its route.
            "DELETE /users/{id} /users/42",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Typed values and state
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct User {
    id: String,
}

#[derive(Clone)]
struct Config {
    greeting: &'static str,
}

#[tokio::test]
async fn middleware_inserts_a_typed_value_the_handler_reads() {
    let app = build(
        App::new()
            .middleware(from_fn(|mut ctx: Context, next: Next| async move {
                if let Some(id) = ctx.request().header("x-user").map(str::to_owned) {
                    ctx.extensions_mut().insert(User { id });
                }
                next.run(ctx).await
            }))
            .get("/me", |ctx: Context| async move {
                match ctx.extensions().get::<User>() {
                    Some(u) => format!("user {}", u.id),
                    None => "anonymous".to_owned(),
                }
            }),
    )
    .await;
    let res = invoke(&app, TestRequest::get("/me").header("x-user", "u-7").v2())
        .await
        .unwrap();
    assert_eq!(res.text(), "user u-7");
    // Values never leak from one invocation into the next.
    let res = invoke(&app, TestRequest::get("/me").v2()).await.unwrap();
    assert_eq!(res.text(), "anonymous");
}

#[tokio::test]
async fn app_state_is_read_in_handlers_and_middleware() {
    let app = build(
        App::new()
            .state(Config { greeting: "Hej" })
            .state(42_u32)
            .middleware(from_fn(|ctx: Context, next: Next| async move {
                let mut res = next.run(ctx).await?;
                res.headers_mut().insert(
                    HeaderName::from_static("x-answer"),
                    HeaderValue::from(123_u32),
                );
                Ok(res)
            }))
            .get("/greet", |ctx: Context| async move {
                let greeting = ctx.state::<Config>().map(|c| c.greeting).unwrap_or("?");
                let n = ctx.state::<u32>().copied().unwrap_or(0);
                let missing = ctx.state::<String>().is_none();
                format!("{greeting} {n} {missing}")
            }),
    )
    .await;
    let res = invoke(&app, TestRequest::get("/greet").v2()).await.unwrap();
    assert_eq!(res.text(), "Hej 42 true");
    assert_eq!(res.header("x-answer"), Some("123"));
}

// ---------------------------------------------------------------------------------------------
// Stages and base paths
// ---------------------------------------------------------------------------------------------

async fn where_am_i(ctx: Context) -> String {
    format!(
        "path={} raw={} route={}",
        ctx.path(),
        ctx.request().raw_path(),
        ctx.route().template().unwrap_or("<none>")
    )
}

#[tokio::test]
async fn v2_named_stage_is_not_part_of_the_route() {
    let app = build(App::new().get("/hello", where_am_i)).await;
    let event = TestRequest::get("/hello").stage("dev").v2();
    let raw: serde_json::Value = serde_json::from_slice(&event).unwrap();
    assert_eq!(raw["rawPath"], json!("/dev/hello"));
    let res = invoke(&app, event).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "path=/hello raw=/dev/hello route=/hello");

    // `$default` keeps the raw path.
    let res = invoke(&app, TestRequest::get("/hello").v2()).await.unwrap();
    assert_eq!(res.text(), "path=/hello raw=/hello route=/hello");

    // Only the leading stage segment is stripped, never more.
    let app = build(
        App::new()
            .get("/devices", where_am_i)
            .get("/dev/devices", where_am_i),
    )
    .await;
    let res = invoke(&app, TestRequest::get("/devices").stage("dev").v2())
        .await
        .unwrap();
    assert_eq!(res.text(), "path=/devices raw=/dev/devices route=/devices");
}

#[tokio::test]
async fn v1_stage_is_never_part_of_the_route() {
    let app = build(App::new().get("/hello", where_am_i)).await;
    let res = invoke(&app, TestRequest::get("/hello").stage("dev").v1())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "path=/hello raw=/hello route=/hello");

    // REST sends `path` without the stage, so a path that starts with the stage name is a
    // resource path of its own and is not stripped.
    let res = invoke(&app, TestRequest::get("/dev/hello").stage("dev").v1())
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn strip_prefix_removes_a_base_path_mapping() {
    let app = build(
        App::new()
            .strip_prefix("/api/")
            .get("/users", where_am_i)
            .get("/", where_am_i),
    )
    .await;
    for event in [
        TestRequest::get("/api/users").v1(),
        TestRequest::get("/api/users").v2(),
        TestRequest::get("/api/users").alb(),
        TestRequest::get("/api/users").function_url(),
    ] {
        let res = invoke(&app, event).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text(), "path=/users raw=/api/users route=/users");
    }
    // With a named v2 stage in front.
    let res = invoke(&app, TestRequest::get("/api/users").stage("dev").v2())
        .await
        .unwrap();
    assert_eq!(res.text(), "path=/users raw=/dev/api/users route=/users");
    // The base path alone routes to the root.
    let res = invoke(&app, TestRequest::get("/api").v2()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().ends_with(" raw=/api route=/"), "{}", res.text());
    // Whole segments only: `/apis/users` is not under `/api`.
    let res = invoke(&app, TestRequest::get("/apis/users").v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn path_is_the_root_when_the_stage_or_base_path_is_the_whole_path() {
    let app = build(App::new().strip_prefix("/api").get("/", where_am_i)).await;
    let res = invoke(&app, TestRequest::get("/api").v2()).await.unwrap();
    assert_eq!(res.text(), "path=/ raw=/api route=/");
    // A named v2 stage's root: API Gateway sends `rawPath` `/dev`.
    let res = invoke(&app, TestRequest::get("").stage("dev").v2())
        .await
        .unwrap();
    assert_eq!(res.text(), "path=/ raw=/dev route=/");
}

// ---------------------------------------------------------------------------------------------
// Build errors
// ---------------------------------------------------------------------------------------------

#[test]
fn duplicate_routes_fail_to_build() {
    async fn h(_: Context) -> &'static str {
        ""
    }
    let err = App::new().get("/a", h).get("/a", h).build().unwrap_err();
    assert_eq!(err.to_string(), "invalid app: /a: two GET handlers");

    let err = App::new()
        .get("/admin/x", h)
        .group("/admin", |g| g.get("/x", h))
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid app: /admin/x: two GET handlers");

    let err = App::new().any("/a", h).any("/a", h).build().unwrap_err();
    assert_eq!(err.to_string(), "invalid app: /a: two any-method handlers");

    let err = App::new()
        .get("/a/{x}", h)
        .get("/a/{y}", h)
        .build()
        .unwrap_err();
    assert!(err.to_string().starts_with("invalid app: /a/{y}:"), "{err}");

    // Different methods on one path are not duplicates.
    assert!(App::new().get("/a", h).post("/a", h).build().is_ok());
}

// ---------------------------------------------------------------------------------------------
// Request ids
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn middleware_can_set_the_request_id_error_bodies_carry() {
    let app = build(
        App::new()
            .middleware(from_fn(|ctx: Context, next: Next| async move {
                if let Some(id) = ctx.request().header("x-request-id").map(str::to_owned) {
                    assert!(ctx.set_request_id(id));
                    assert!(!ctx.set_request_id("second-try"));
                }
                next.run(ctx).await
            }))
            .get("/id", |ctx: Context| async move {
                format!("{} {}", ctx.request_id(), ctx.lambda().request_id)
            })
            .get("/fail", |_: Context| async {
                Err::<String, _>(Error::conflict("taken"))
            }),
    )
    .await;

    let res = invoke_with(
        &app,
        TestRequest::get("/missing")
            .header("x-request-id", "client-1")
            .v2(),
        lambda("lambda-1"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.text(),
        error_body("not_found", "no route matches this path", "client-1")
    );

    let res = invoke_with(
        &app,
        TestRequest::get("/fail")
            .header("x-request-id", "client-2")
            .v1(),
        lambda("lambda-2"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(res.text(), error_body("conflict", "taken", "client-2"));

    let res = invoke_with(
        &app,
        TestRequest::get("/id")
            .header("x-request-id", "client-3")
            .v2(),
        lambda("lambda-3"),
    )
    .await
    .unwrap();
    assert_eq!(res.text(), "client-3 lambda-3");

    // Without the header the Lambda request id stays.
    let res = invoke_with(&app, TestRequest::get("/fail").v2(), lambda("lambda-4"))
        .await
        .unwrap();
    assert_eq!(res.text(), error_body("conflict", "taken", "lambda-4"));
}
