//! Every HTTP source (API Gateway REST v1, HTTP API v2, ALB with and without multi-value
//! headers, Function URL) served by the same `App` in one process: routing, request reading,
//! the reply shape each source expects, and the Lambda context reaching the handler.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fixture, lambda, retarget};
use http::{HeaderName, HeaderValue};
use lift::http::{Cookie, Json, Response};
use lift::testing::{invoke, invoke_with, lambda_context, TestRequest};
use lift::{App, AppService, Context, Error, EventKind, LambdaContext};
use serde_json::{json, Value};

/// Which event kinds the `/kind` handler saw, in order.
#[derive(Clone, Default)]
struct SeenKinds(Arc<Mutex<Vec<EventKind>>>);

/// What the request looked like to the handler, whatever the source.
async fn echo(ctx: Context) -> Result<Json<Value>, Error> {
    let req = ctx.request();
    let body = ctx.request().text()?;
    Ok(Json(json!({
        "kind": ctx.event_kind().as_str(),
        "method": ctx.request().method().as_str(),
        "path": ctx.path(),
        "route": ctx.route().template(),
        "stage": req.stage(),
        "query": req.query_pairs().map(|(k, v)| [k, v]).collect::<Vec<_>>(),
        "query_all": {
            "name": req.query_all("name").collect::<Vec<_>>(),
            "Parameter1": req.query_all("Parameter1").collect::<Vec<_>>(),
        },
        "header_name": req.header_all("headername").collect::<Vec<_>>(),
        "body": body,
        "source_ip": ctx.request().source_ip(),
        "user_agent": ctx.request().user_agent(),
    })))
}

async fn hello(ctx: Context) -> String {
    format!("Hello, {}!", ctx.request().query("name").unwrap_or("World"))
}

/// Headers, cookies, query repeats and client identity as the handler reads them.
async fn inspect(ctx: Context) -> Json<Value> {
    let req = ctx.request();
    Json(json!({
        "user_agent_header": ctx.request().header("user-agent"),
        "user_agent_header_upper": ctx.request().header("USER-AGENT"),
        "x_multi": req.header_all("x-multi").collect::<Vec<_>>(),
        "tags": req.query_all("tag").collect::<Vec<_>>(),
        "session": ctx.request().cookie("session"),
        "theme": ctx.request().cookie("theme"),
        "source_ip": ctx.request().source_ip(),
        "user_agent": ctx.request().user_agent(),
    }))
}

/// The Lambda context as the handler sees it.
async fn lambda_info(ctx: Context) -> Json<Value> {
    let remaining = ctx.lambda().remaining();
    Json(json!({
        "lambda_request_id": ctx.lambda().request_id,
        "request_id": ctx.request_id(),
        "remaining_positive": remaining > Duration::ZERO,
        "remaining_at_most_deadline": remaining <= Duration::from_secs(30),
        "tenant_id": ctx.lambda().tenant_id,
        "xray_trace_id": ctx.lambda().xray_trace_id.as_deref(),
        "lambda_xray_trace_id": ctx.lambda().xray_trace_id,
        "invoked_function_arn": ctx.lambda().invoked_function_arn,
    }))
}

async fn kind(ctx: Context) -> &'static str {
    if let Some(seen) = ctx.state::<SeenKinds>() {
        seen.0.lock().expect("lock").push(ctx.event_kind());
    }
    assert_eq!(ctx.event_kind(), ctx.request().kind());
    "ok"
}

async fn reply(ctx: Context) -> Result<Response, Error> {
    Ok(match ctx.route().param("kind") {
        Some("json") => Response::json(&json!({"ok": true}))?,
        Some("binary") => Response::bytes("image/png", vec![0x89, b'P', b'N', b'G']),
        Some("headers") => Response::text("ok")
            .with_header(
                HeaderName::from_static("x-multi"),
                HeaderValue::from_static("a"),
            )
            .with_header(
                HeaderName::from_static("x-multi"),
                HeaderValue::from_static("b"),
            ),
        Some("cookies") => Response::text("ok")
            .with_header(
                HeaderName::from_static("x-multi"),
                HeaderValue::from_static("a"),
            )
            .with_header(
                HeaderName::from_static("x-multi"),
                HeaderValue::from_static("b"),
            )
            .with_cookie(Cookie::new("session", "abc").http_only())
            .with_cookie(Cookie::new("theme", "dark")),
        _ => return Err(Error::not_found("no such reply")),
    })
}

/// The one app every test in this file serves.
fn app_with(seen: SeenKinds) -> AppService {
    App::new()
        .state(seen)
        .post("/path/to/resource", echo)
        .post("/hello/world", echo)
        .get("/my/path", echo)
        .get("/", echo)
        .get("/hello", hello)
        .get("/inspect", inspect)
        .get("/lambda", lambda_info)
        .get("/kind", kind)
        .get("/reply/{kind}", reply)
        .build()
        .expect("app builds")
}

fn app() -> AppService {
    app_with(SeenKinds::default())
}

async fn json_of(app: &AppService, event: Vec<u8>) -> Value {
    let res = invoke(app, event).await.expect("invocation succeeds");
    assert_eq!(res.status(), 200, "reply: {}", res.raw());
    res.json().expect("JSON body")
}

// ---------------------------------------------------------------------------------------------
// Fixtures route, and their requests read the same whatever the source
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sam_v1_fixture_routes_and_its_base64_body_reaches_the_handler() {
    let got = json_of(&app(), fixture("apigw-v1-sam.json")).await;
    assert_eq!(
        got,
        json!({
            "kind": "apigw-v1",
            "method": "POST",
            "path": "/path/to/resource",
            "route": "/path/to/resource",
            "stage": "prod",
            "query": [["foo", "bar"]],
            "query_all": {"name": [], "Parameter1": []},
            "header_name": [],
            "body": "{\"test\":\"body\"}",
            "source_ip": "127.0.0.1",
            "user_agent": "Custom User Agent String",
        })
    );
}

#[tokio::test]
async fn sam_v2_fixture_routes_and_its_base64_body_reaches_the_handler() {
    let got = json_of(&app(), fixture("apigw-v2-sam.json")).await;
    assert_eq!(
        got,
        json!({
            "kind": "apigw-v2",
            "method": "POST",
            "path": "/path/to/resource",
            "route": "/path/to/resource",
            "stage": "$default",
            "query": [["parameter1", "value1"], ["parameter1", "value2"], ["parameter2", "value"]],
            "query_all": {"name": [], "Parameter1": []},
            "header_name": [],
            "body": "{\"test\":\"body\"}",
            "source_ip": "192.168.0.1/32",
            "user_agent": "agent",
        })
    );
}

#[tokio::test]
async fn sam_alb_fixture_routes_and_its_base64_body_reaches_the_handler() {
    let got = json_of(&app(), fixture("alb-sam.json")).await;
    assert_eq!(
        got,
        json!({
            "kind": "alb",
            "method": "POST",
            "path": "/path/to/resource",
            "route": "/path/to/resource",
            "stage": null,
            "query": [["query", "1234ABCD"]],
            "query_all": {"name": [], "Parameter1": []},
            "header_name": [],
            "body": "{\"test\":\"body\"}",
            "source_ip": "72.12.164.125",
            "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/71.0.3578.98 Safari/537.36",
        })
    );
}

#[tokio::test]
async fn aws_lambda_events_v1_fixture_routes_without_its_stage() {
    let got = json_of(&app(), fixture("example-apigw-request.json")).await;
    assert_eq!(
        got,
        json!({
            "kind": "apigw-v1",
            "method": "POST",
            "path": "/hello/world",
            "route": "/hello/world",
            "stage": "testStage",
            "query": [["name", "me"]],
            "query_all": {"name": ["me"], "Parameter1": []},
            "header_name": ["headerValue"],
            "body": "{\r\n\t\"a\": 1\r\n}",
            "source_ip": "192.168.196.186",
            "user_agent": "PostmanRuntime/2.4.5",
        })
    );
}

#[tokio::test]
async fn aws_lambda_events_v1_multi_value_fixture_keeps_every_header_and_query_value() {
    let got = json_of(
        &app(),
        fixture("example-apigw-request-multi-value-parameters.json"),
    )
    .await;
    assert_eq!(got["query"], json!([["name", "me"], ["name", "me2"]]));
    assert_eq!(got["query_all"]["name"], json!(["me", "me2"]));
    assert_eq!(got["header_name"], json!(["headerValue", "headerValue2"]));
    assert_eq!(got["route"], json!("/hello/world"));
    assert_eq!(got["stage"], json!("testStage"));
}

#[tokio::test]
async fn aws_lambda_events_v2_multi_value_fixture_gives_repeated_query_values_in_order() {
    let got = json_of(
        &app(),
        fixture("example-apigw-v2-request-multi-value-parameters.json"),
    )
    .await;
    assert_eq!(
        got,
        json!({
            "kind": "apigw-v2",
            "method": "GET",
            "path": "/my/path",
            "route": "/my/path",
            "stage": "$default",
            "query": [["Parameter1", "value1"], ["Parameter1", "value2"]],
            "query_all": {"name": [], "Parameter1": ["value1", "value2"]},
            "header_name": [],
            "body": "{\r\n\t\"a\": 1\r\n}",
            "source_ip": "IP",
            "user_agent": "agent",
        })
    );
}

#[tokio::test]
async fn aws_lambda_events_v2_no_authorizer_fixture_routes_to_root() {
    let got = json_of(
        &app(),
        fixture("example-apigw-v2-request-no-authorizer.json"),
    )
    .await;
    assert_eq!(got["kind"], json!("apigw-v2"));
    assert_eq!(got["route"], json!("/"));
    assert_eq!(got["body"], json!(""));
    assert_eq!(got["source_ip"], json!("1.2.3.4"));
    assert_eq!(got["user_agent"], json!("curl/7.58.0"));
}

#[tokio::test]
async fn aws_lambda_events_alb_fixtures_route_to_root() {
    let app = app();
    let single = json_of(
        &app,
        fixture("example-alb-lambda-target-request-headers-only.json"),
    )
    .await;
    assert_eq!(
        single,
        json!({
            "kind": "alb",
            "method": "GET",
            "path": "/",
            "route": "/",
            "stage": null,
            "query": [["key", "hello"]],
            "query_all": {"name": [], "Parameter1": []},
            "header_name": [],
            "body": "",
            "source_ip": "25.12.198.67",
            "user_agent": "curl/7.54.0",
        })
    );
    let multi = json_of(
        &app,
        fixture("example-alb-lambda-target-request-multivalue-headers.json"),
    )
    .await;
    assert_eq!(
        multi,
        json!({
            "kind": "alb",
            "method": "GET",
            "path": "/",
            "route": "/",
            "stage": null,
            "query": [["key", "hello"]],
            "query_all": {"name": [], "Parameter1": []},
            "header_name": [],
            "body": "Some text",
            "source_ip": "72.21.198.67",
            "user_agent": "curl/7.54.0",
        })
    );
}

#[tokio::test]
async fn hello_fixtures_of_every_source_get_the_exact_reply_shape() {
    let app = app();
    let text = "text/plain; charset=utf-8";

    let v1 = invoke(&app, fixture("hello-v1.json")).await.unwrap();
    assert_eq!(
        v1.raw(),
        &json!({
            "statusCode": 200,
            "headers": {"content-type": text},
            "multiValueHeaders": {"content-type": [text]},
            "body": "Hello, Ada!",
            "isBase64Encoded": false,
        })
    );

    let v2 = invoke(&app, fixture("hello-v2.json")).await.unwrap();
    assert_eq!(
        v2.raw(),
        &json!({
            "statusCode": 200,
            "headers": {"content-type": text},
            "cookies": [],
            "body": "Hello, Ada!",
            "isBase64Encoded": false,
        })
    );

    let alb = invoke(&app, fixture("hello-alb.json")).await.unwrap();
    assert_eq!(
        alb.raw(),
        &json!({
            "statusCode": 200,
            "statusDescription": "200 OK",
            "headers": {"content-type": text},
            "body": "Hello, Ada!",
            "isBase64Encoded": false,
        })
    );

    let alb_multi = invoke(&app, fixture("hello-alb-multi.json")).await.unwrap();
    assert_eq!(
        alb_multi.raw(),
        &json!({
            "statusCode": 200,
            "statusDescription": "200 OK",
            "multiValueHeaders": {"content-type": [text]},
            "body": "Hello, Ada!",
            "isBase64Encoded": false,
        })
    );
}

#[tokio::test]
async fn one_app_instance_serves_every_fixture_in_turn() {
    let app = app();
    let cases: [(&str, &str); 13] = [
        ("apigw-v1-sam.json", "apigw-v1"),
        ("apigw-v2-sam.json", "apigw-v2"),
        ("alb-sam.json", "alb"),
        ("example-apigw-request.json", "apigw-v1"),
        (
            "example-apigw-request-multi-value-parameters.json",
            "apigw-v1",
        ),
        (
            "example-apigw-v2-request-multi-value-parameters.json",
            "apigw-v2",
        ),
        ("example-apigw-v2-request-no-authorizer.json", "apigw-v2"),
        ("example-alb-lambda-target-request-headers-only.json", "alb"),
        (
            "example-alb-lambda-target-request-multivalue-headers.json",
            "alb",
        ),
        ("hello-v1.json", ""),
        ("hello-v2.json", ""),
        ("hello-alb.json", ""),
        ("hello-alb-multi.json", ""),
    ];
    for (name, kind) in cases {
        let res = invoke(&app, fixture(name)).await.unwrap();
        assert_eq!(res.status(), 200, "{name}: {}", res.raw());
        if kind.is_empty() {
            assert_eq!(res.text(), "Hello, Ada!", "{name}");
        } else {
            let got: Value = res.json().unwrap();
            assert_eq!(got["kind"], json!(kind), "{name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Headers, query, cookies, client identity
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn mixed_case_header_names_are_read_case_insensitively() {
    let app = app();
    let got = json_of(&app, retarget(&fixture("hello-v1.json"), "/inspect")).await;
    assert_eq!(got["user_agent_header"], json!("Custom User Agent String"));
    assert_eq!(
        got["user_agent_header_upper"],
        json!("Custom User Agent String")
    );

    // Built events keep the header's case in v1 and ALB.
    let req = TestRequest::get("/inspect").header("User-Agent", "Lift-Test/1.0");
    for event in [
        req.v1(),
        req.v2(),
        req.alb(),
        req.alb_multi(),
        req.function_url(),
    ] {
        let got = json_of(&app, event).await;
        assert_eq!(got["user_agent_header"], json!("Lift-Test/1.0"));
        assert_eq!(got["user_agent_header_upper"], json!("Lift-Test/1.0"));
    }
}

#[tokio::test]
async fn repeated_headers_read_per_source() {
    let app = app();
    let req = TestRequest::get("/inspect")
        .header("X-Multi", "a")
        .header("X-Multi", "b");
    // REST v1 and multi-value ALB carry each value.
    assert_eq!(json_of(&app, req.v1()).await["x_multi"], json!(["a", "b"]));
    assert_eq!(
        json_of(&app, req.alb_multi()).await["x_multi"],
        json!(["a", "b"])
    );
    // HTTP API v2 and Function URLs join repeats with a comma before Lambda sees them.
    assert_eq!(json_of(&app, req.v2()).await["x_multi"], json!(["a,b"]));
    assert_eq!(
        json_of(&app, req.function_url()).await["x_multi"],
        json!(["a,b"])
    );
    // Single-value ALB keeps the last value only.
    assert_eq!(json_of(&app, req.alb()).await["x_multi"], json!(["b"]));
}

#[tokio::test]
async fn repeated_query_parameters_keep_every_value_in_order() {
    let app = app();
    let req = TestRequest::get("/inspect?tag=a&tag=b%20c&tag=d+e");
    for event in [req.v1(), req.v2(), req.alb_multi(), req.function_url()] {
        assert_eq!(
            json_of(&app, event).await["tags"],
            json!(["a", "b c", "d e"])
        );
    }
    // Single-value ALB keeps the last value only.
    assert_eq!(json_of(&app, req.alb()).await["tags"], json!(["d e"]));
}

#[tokio::test]
async fn cookies_are_read_from_the_v2_array_and_the_cookie_header() {
    let app = app();
    let v2 = json_of(&app, retarget(&fixture("hello-v2.json"), "/inspect")).await;
    assert_eq!(v2["session"], json!("abc123"));
    assert_eq!(v2["theme"], json!("dark"));

    let req = TestRequest::get("/inspect")
        .cookie("session", "abc123")
        .cookie("theme", "dark");
    for event in [
        req.v1(),
        req.v2(),
        req.alb(),
        req.alb_multi(),
        req.function_url(),
    ] {
        let got = json_of(&app, event).await;
        assert_eq!(got["session"], json!("abc123"));
        assert_eq!(got["theme"], json!("dark"));
    }

    // A raw `Cookie` header on a REST v1 event, mixed case, with spaces.
    let raw = TestRequest::get("/inspect")
        .header("Cookie", "session=s1 ;  theme=light")
        .v1();
    let got = json_of(&app, raw).await;
    assert_eq!(got["session"], json!("s1"));
    assert_eq!(got["theme"], json!("light"));
}

#[tokio::test]
async fn source_ip_and_user_agent_come_from_each_source() {
    let app = app();
    let req = TestRequest::get("/inspect")
        .source_ip("198.51.100.9")
        .header("User-Agent", "ua-test/1");
    for event in [
        req.v1(),
        req.v2(),
        req.function_url(),
        req.alb(),
        req.alb_multi(),
    ] {
        let got = json_of(&app, event).await;
        assert_eq!(got["source_ip"], json!("198.51.100.9"));
        assert_eq!(got["user_agent"], json!("ua-test/1"));
    }

    // ALB: the last X-Forwarded-For entry, the one the load balancer appended (the client
    // can put anything in front of it).
    let proxied =
        TestRequest::get("/inspect").header("X-Forwarded-For", "198.51.100.1, 203.0.113.50");
    for event in [proxied.alb(), proxied.alb_multi()] {
        assert_eq!(
            json_of(&app, event).await["source_ip"],
            json!("203.0.113.50")
        );
    }

    // REST v1: requestContext.identity, not X-Forwarded-For.
    let got = json_of(&app, retarget(&fixture("hello-v1.json"), "/inspect")).await;
    assert_eq!(got["source_ip"], json!("203.0.113.7"));
    assert_eq!(got["user_agent"], json!("Custom User Agent String"));

    // HTTP API v2: requestContext.http.
    let got = json_of(&app, retarget(&fixture("hello-v2.json"), "/inspect")).await;
    assert_eq!(got["source_ip"], json!("203.0.113.7"));
    assert_eq!(got["user_agent"], json!("curl/8.5.0"));

    // ALB fixture.
    let got = json_of(&app, retarget(&fixture("hello-alb.json"), "/inspect")).await;
    assert_eq!(got["source_ip"], json!("72.12.164.125"));
    assert_eq!(got["user_agent"], json!("curl/8.5.0"));
}

// ---------------------------------------------------------------------------------------------
// Event kinds
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn event_kind_is_reported_for_each_source() {
    let seen = SeenKinds::default();
    let app = app_with(seen.clone());
    let req = TestRequest::get("/kind");
    for event in [
        req.v1(),
        req.v2(),
        req.function_url(),
        req.alb(),
        req.alb_multi(),
    ] {
        let res = invoke(&app, event).await.unwrap();
        assert_eq!(res.text(), "ok");
    }
    for name in [
        "hello-v1.json",
        "hello-v2.json",
        "hello-alb.json",
        "hello-alb-multi.json",
    ] {
        invoke(&app, retarget(&fixture(name), "/kind"))
            .await
            .unwrap();
    }
    assert_eq!(
        *seen.0.lock().unwrap(),
        vec![
            EventKind::ApiGatewayV1,
            EventKind::ApiGatewayV2,
            EventKind::FunctionUrl,
            EventKind::Alb,
            EventKind::Alb,
            EventKind::ApiGatewayV1,
            EventKind::ApiGatewayV2,
            EventKind::Alb,
            EventKind::Alb,
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Reply shapes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn v1_reply_has_single_valued_headers_and_every_header_in_multi_value_headers() {
    let res = invoke(&app(), TestRequest::get("/reply/cookies").v1())
        .await
        .unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "multiValueHeaders": {
                "content-type": ["text/plain; charset=utf-8"],
                "x-multi": ["a", "b"],
                "set-cookie": ["session=abc; HttpOnly", "theme=dark"],
            },
            "body": "ok",
            "isBase64Encoded": false,
        })
    );
}

#[tokio::test]
async fn v2_reply_moves_set_cookie_to_cookies_and_joins_repeated_headers() {
    let app = app();
    let req = TestRequest::get("/reply/cookies");
    let expected = json!({
        "statusCode": 200,
        "headers": {"content-type": "text/plain; charset=utf-8", "x-multi": "a, b"},
        "cookies": ["session=abc; HttpOnly", "theme=dark"],
        "body": "ok",
        "isBase64Encoded": false,
    });
    assert_eq!(invoke(&app, req.v2()).await.unwrap().raw(), &expected);
    assert_eq!(
        invoke(&app, req.function_url()).await.unwrap().raw(),
        &expected
    );
}

#[tokio::test]
async fn alb_reply_uses_multi_value_headers_exactly_when_the_request_did() {
    let app = app();
    let multi = invoke(
        &app,
        retarget(&fixture("hello-alb-multi.json"), "/reply/cookies"),
    )
    .await
    .unwrap();
    assert_eq!(
        multi.raw(),
        &json!({
            "statusCode": 200,
            "statusDescription": "200 OK",
            "multiValueHeaders": {
                "content-type": ["text/plain; charset=utf-8"],
                "x-multi": ["a", "b"],
                "set-cookie": ["session=abc; HttpOnly", "theme=dark"],
            },
            "body": "ok",
            "isBase64Encoded": false,
        })
    );

    let single = invoke(&app, retarget(&fixture("hello-alb.json"), "/reply/headers"))
        .await
        .unwrap();
    assert_eq!(
        single.raw(),
        &json!({
            "statusCode": 200,
            "statusDescription": "200 OK",
            "headers": {"content-type": "text/plain; charset=utf-8", "x-multi": "a, b"},
            "body": "ok",
            "isBase64Encoded": false,
        })
    );

    // Built events behave like the fixtures.
    let req = TestRequest::get("/reply/json");
    let got = invoke(&app, req.alb()).await.unwrap();
    assert_eq!(
        got.raw(),
        &json!({
            "statusCode": 200,
            "statusDescription": "200 OK",
            "headers": {"content-type": "application/json"},
            "body": "{\"ok\":true}",
            "isBase64Encoded": false,
        })
    );
    let got = invoke(&app, req.alb_multi()).await.unwrap();
    assert_eq!(
        got.raw(),
        &json!({
            "statusCode": 200,
            "statusDescription": "200 OK",
            "multiValueHeaders": {"content-type": ["application/json"]},
            "body": "{\"ok\":true}",
            "isBase64Encoded": false,
        })
    );
}

#[tokio::test]
async fn alb_status_description_names_the_status() {
    let res = invoke(&app(), TestRequest::get("/reply/nope").alb())
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.raw()["statusDescription"], json!("404 Not Found"));
}

#[tokio::test]
async fn binary_bodies_are_base64_and_text_bodies_are_not() {
    let app = app();
    let binary = TestRequest::get("/reply/binary");

    let v1 = invoke(&app, binary.v1()).await.unwrap();
    assert_eq!(
        v1.raw(),
        &json!({
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "multiValueHeaders": {"content-type": ["image/png"]},
            "body": "iVBORw==",
            "isBase64Encoded": true,
        })
    );
    assert_eq!(v1.body(), &[0x89, b'P', b'N', b'G']);

    for event in [binary.v2(), binary.function_url()] {
        let got = invoke(&app, event).await.unwrap();
        assert_eq!(
            got.raw(),
            &json!({
                "statusCode": 200,
                "headers": {"content-type": "image/png"},
                "cookies": [],
                "body": "iVBORw==",
                "isBase64Encoded": true,
            })
        );
    }

    let alb = invoke(&app, binary.alb()).await.unwrap();
    assert_eq!(
        alb.raw(),
        &json!({
            "statusCode": 200,
            "statusDescription": "200 OK",
            "headers": {"content-type": "image/png"},
            "body": "iVBORw==",
            "isBase64Encoded": true,
        })
    );

    let json_reply = invoke(&app, TestRequest::get("/reply/json").v1())
        .await
        .unwrap();
    assert_eq!(
        json_reply.raw(),
        &json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"content-type": ["application/json"]},
            "body": "{\"ok\":true}",
            "isBase64Encoded": false,
        })
    );
    let text_reply = invoke(&app, TestRequest::get("/hello").v2()).await.unwrap();
    assert_eq!(text_reply.raw()["body"], json!("Hello, World!"));
    assert_eq!(text_reply.raw()["isBase64Encoded"], json!(false));
}

// ---------------------------------------------------------------------------------------------
// Lambda context
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn lambda_context_reaches_the_handler() {
    let app = app();
    let lc = lambda_context();
    let id = lc.request_id.clone();
    let res = invoke_with(&app, TestRequest::get("/lambda").v2(), lc)
        .await
        .unwrap();
    let got: Value = res.json().unwrap();
    assert_eq!(
        got,
        json!({
            "lambda_request_id": id,
            "request_id": id,
            "remaining_positive": true,
            "remaining_at_most_deadline": true,
            "tenant_id": null,
            "xray_trace_id": null,
            "lambda_xray_trace_id": null,
            "invoked_function_arn": "arn:aws:lambda:us-east-1:000000000000:function:local",
        })
    );
}

#[tokio::test]
async fn tenant_and_trace_ids_from_a_custom_lambda_context_reach_the_handler() {
    let app = app();
    let trace = "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c;Parent=53995c3f42cd8ad8;Sampled=1";
    let lc = LambdaContext {
        tenant_id: Some("tenant-a".into()),
        xray_trace_id: Some(trace.into()),
        invoked_function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:api:live".into(),
        ..lambda("req-custom-1")
    };
    for event in [
        TestRequest::get("/lambda").v1(),
        TestRequest::get("/lambda").alb(),
        retarget(&fixture("hello-v2.json"), "/lambda"),
    ] {
        let res = invoke_with(&app, event, lc.clone()).await.unwrap();
        let got: Value = res.json().unwrap();
        assert_eq!(
            got,
            json!({
                "lambda_request_id": "req-custom-1",
                "request_id": "req-custom-1",
                "remaining_positive": true,
                "remaining_at_most_deadline": true,
                "tenant_id": "tenant-a",
                "xray_trace_id": trace,
                "lambda_xray_trace_id": trace,
                "invoked_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:api:live",
            })
        );
    }
}

#[tokio::test]
async fn remaining_is_zero_once_the_deadline_has_passed() {
    let app = app();
    let lc = LambdaContext {
        deadline_ms: 1_000,
        ..lambda("req-late")
    };
    let res = invoke_with(&app, TestRequest::get("/lambda").v2(), lc)
        .await
        .unwrap();
    let got: Value = res.json().unwrap();
    assert_eq!(got["remaining_positive"], json!(false));
    assert_eq!(got["request_id"], json!("req-late"));
}

#[tokio::test]
async fn each_invocation_gets_its_own_request_id() {
    let app = app();
    let a = invoke_with(&app, TestRequest::get("/lambda").v2(), lambda("req-a"))
        .await
        .unwrap();
    let b = invoke_with(&app, TestRequest::get("/lambda").v1(), lambda("req-b"))
        .await
        .unwrap();
    assert_eq!(a.json::<Value>().unwrap()["request_id"], json!("req-a"));
    assert_eq!(b.json::<Value>().unwrap()["request_id"], json!("req-b"));
}
