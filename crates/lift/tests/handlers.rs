//! Handlers: extractors, return types, errors, redirects, cookies, multi-value headers,
//! after-response work and base64 request bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::{error_body, fixture, lambda};
use http::{HeaderName, HeaderValue, StatusCode};
use lift::extract::{FromContext, ValidJson};
use lift::http::{Cookie, Json, Response, SameSite};
use lift::testing::{invoke, invoke_with, TestRequest};
use lift::{App, AppService, Context, Error, Reply};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Deserialize, Serialize, garde::Validate)]
struct NewUser {
    #[garde(length(chars, min = 1, max = 64))]
    name: String,
    #[garde(email)]
    email: String,
}

#[derive(Debug, Deserialize, Serialize)]
struct NewNote {
    text: String,
}

/// A custom extractor: the `x-api-key` header, 401 without it.
struct ApiKey(String);

impl FromContext for ApiKey {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        ctx.request()
            .header("x-api-key")
            .map(|k| ApiKey(k.to_owned()))
            .ok_or_else(|| Error::unauthorized("missing api key"))
    }
}

async fn create_user(_ctx: Context, Json(user): Json<NewUser>) -> (StatusCode, Json<NewUser>) {
    (StatusCode::CREATED, Json(user))
}

async fn create_valid_user(
    _ctx: Context,
    ValidJson(user): ValidJson<NewUser>,
) -> (StatusCode, Json<NewUser>) {
    (StatusCode::CREATED, Json(user))
}

async fn create_note(_ctx: Context, ApiKey(key): ApiKey, Json(note): Json<NewNote>) -> Json<Value> {
    Json(json!({"key": key, "text": note.text}))
}

fn app() -> AppService {
    App::new()
        .post("/users", create_user)
        .post("/valid-users", create_valid_user)
        .post("/notes", create_note)
        .build()
        .expect("app builds")
}

fn post_json(path: &str, body: &str) -> TestRequest {
    TestRequest::post(path)
        .header("content-type", "application/json")
        .body(body)
}

// ---------------------------------------------------------------------------------------------
// Json<T>
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn json_extractor_reads_the_body_and_the_pair_sets_the_status() {
    let app = app();
    let req = TestRequest::post("/users").json(&json!({"name": "Ada", "email": "ada@example.com"}));
    for event in [req.v1(), req.v2(), req.alb(), req.function_url()] {
        let res = invoke(&app, event).await.unwrap();
        assert_eq!(res.status(), 201);
        assert_eq!(res.header("content-type"), Some("application/json"));
        assert_eq!(res.text(), r#"{"name":"Ada","email":"ada@example.com"}"#);
    }
    // A JSON content type with parameters, or a `+json` type, is JSON too.
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ] {
        let req = TestRequest::post("/users")
            .header("Content-Type", ct)
            .body(r#"{"name":"Ada","email":"ada@example.com"}"#);
        let res = invoke(&app, req.v1()).await.unwrap();
        assert_eq!(res.status(), 201, "{ct}");
    }
}

#[tokio::test]
async fn json_extractor_rejects_a_missing_or_other_content_type_with_415() {
    let app = app();
    let body = r#"{"name":"Ada","email":"ada@example.com"}"#;
    for req in [
        TestRequest::post("/users").body(body),
        TestRequest::post("/users")
            .header("content-type", "text/plain")
            .body(body),
        TestRequest::post("/users")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    ] {
        for event in [req.v1(), req.v2()] {
            let res = invoke_with(&app, event, lambda("req-415")).await.unwrap();
            assert_eq!(res.status(), 415);
            assert_eq!(
                res.text(),
                error_body(
                    "unsupported_media_type",
                    "expected content-type application/json",
                    "req-415"
                )
            );
        }
    }
}

#[tokio::test]
async fn json_extractor_rejects_malformed_json_with_400() {
    let app = app();
    for body in [
        "{",
        "not json",
        "",
        r#"{"name":"Ada","email":"ada@example.com"} trailing"#,
    ] {
        let res = invoke_with(&app, post_json("/users", body).v2(), lambda("req-400"))
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body:?}");
        assert_eq!(
            res.text(),
            error_body("bad_request", "request body is not valid JSON", "req-400"),
            "{body:?}"
        );
    }
}

#[tokio::test]
async fn json_extractor_rejects_the_wrong_shape_with_400() {
    let app = app();
    for body in [
        r#"{"name":5,"email":"ada@example.com"}"#,
        r#"{"name":"Ada"}"#,
        "[]",
        "42",
    ] {
        let res = invoke_with(&app, post_json("/users", body).v1(), lambda("req-shape"))
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(
            res.text(),
            error_body(
                "bad_request",
                "request body does not match the expected shape",
                "req-shape"
            ),
            "{body}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// ValidJson<T>
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn valid_json_accepts_a_valid_body() {
    let res = invoke(
        &app(),
        TestRequest::post("/valid-users")
            .json(&json!({"name": "Ada", "email": "ada@example.com"}))
            .v2(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.text(), r#"{"name":"Ada","email":"ada@example.com"}"#);
}

#[tokio::test]
async fn valid_json_lists_every_failed_field_with_422() {
    let res = invoke_with(
        &app(),
        TestRequest::post("/valid-users")
            .json(&json!({"name": "", "email": "not-an-email"}))
            .v2(),
        lambda("req-422"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(
        res.text(),
        concat!(
            r#"{"error":{"code":"validation_failed","message":"request body failed validation","#,
            r#""request_id":"req-422","details":["#,
            r#"{"field":"email","message":"not a valid email: value is missing `@`"},"#,
            r#"{"field":"name","message":"length is lower than 1"}]}}"#
        )
    );

    // One failing field: only it is listed.
    let res = invoke_with(
        &app(),
        TestRequest::post("/valid-users")
            .json(&json!({"name": "Ada", "email": "ada.example.com"}))
            .v1(),
        lambda("req-422b"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().unwrap();
    assert_eq!(
        body,
        json!({"error": {
            "code": "validation_failed",
            "message": "request body failed validation",
            "request_id": "req-422b",
            "details": [{"field": "email", "message": "not a valid email: value is missing `@`"}],
        }})
    );
}

#[tokio::test]
async fn valid_json_keeps_the_json_errors() {
    let app = app();
    let res = invoke_with(&app, post_json("/valid-users", "{").v2(), lambda("r1"))
        .await
        .unwrap();
    assert_eq!(
        (res.status(), res.text()),
        (
            400,
            error_body("bad_request", "request body is not valid JSON", "r1")
        )
    );
    let res = invoke_with(
        &app,
        TestRequest::post("/valid-users").body("{}").v2(),
        lambda("r2"),
    )
    .await
    .unwrap();
    assert_eq!(
        (res.status(), res.text()),
        (
            415,
            error_body(
                "unsupported_media_type",
                "expected content-type application/json",
                "r2"
            )
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Two extractors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_handler_with_two_extractors_gets_both() {
    let res = invoke(
        &app(),
        TestRequest::post("/notes")
            .header("x-api-key", "k-1")
            .json(&json!({"text": "hello"}))
            .v2(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().unwrap(),
        json!({"key": "k-1", "text": "hello"})
    );
}

#[tokio::test]
async fn the_first_failing_extractor_answers() {
    let app = app();
    // The first extractor fails: its error, whatever the second would say.
    let res = invoke_with(
        &app,
        TestRequest::post("/notes").body("not json").v2(),
        lambda("r-401"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.text(),
        error_body("unauthorized", "missing api key", "r-401")
    );
    // The second fails.
    let res = invoke_with(
        &app,
        TestRequest::post("/notes")
            .header("x-api-key", "k-1")
            .body("{}")
            .v2(),
        lambda("r-415"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(
        res.text(),
        error_body(
            "unsupported_media_type",
            "expected content-type application/json",
            "r-415"
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Return types and errors
// ---------------------------------------------------------------------------------------------

async fn find(ctx: Context) -> Result<Json<Value>, Error> {
    match ctx.route().param("id") {
        Some("1") => Ok(Json(json!({"id": 1, "name": "Ada"}))),
        Some("taken") => Err(Error::conflict("user already exists")),
        _ => Err(Error::not_found("no such user")),
    }
}

async fn secret_failure(_ctx: Context) -> Result<String, Error> {
    Err(Error::internal(std::io::Error::other(
        "db password=hunter2 at 10.0.0.5",
    )))
}

async fn parse_number(ctx: Context) -> Result<String, Error> {
    let n: u32 = ctx.request().query("n").unwrap_or("").parse()?;
    Ok(format!("n={n}"))
}

async fn io_failure(_ctx: Context) -> Result<String, Error> {
    std::fs::read_to_string("/definitely/not/here/secret-path.txt")?;
    Ok("unreachable".into())
}

fn errors_app() -> AppService {
    App::new()
        .get("/users/{id}", find)
        .get("/secret", secret_failure)
        .get("/number", parse_number)
        .get("/io", io_failure)
        .get("/created", |_: Context| async {
            (StatusCode::CREATED, Json(json!({"ok": true})))
        })
        .get("/accepted", |_: Context| async {
            (StatusCode::ACCEPTED, "queued")
        })
        .get("/empty", |_: Context| async {})
        .get("/status", |_: Context| async { StatusCode::NO_CONTENT })
        .build()
        .expect("app builds")
}

#[tokio::test]
async fn result_handlers_answer_ok_or_the_error_body() {
    let app = errors_app();
    let res = invoke(&app, TestRequest::get("/users/1").v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), r#"{"id":1,"name":"Ada"}"#);

    let res = invoke_with(&app, TestRequest::get("/users/taken").v2(), lambda("r-409"))
        .await
        .unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 409,
            "headers": {"content-type": "application/json"},
            "cookies": [],
            "body": error_body("conflict", "user already exists", "r-409"),
            "isBase64Encoded": false,
        })
    );

    let res = invoke_with(&app, TestRequest::get("/users/2").v1(), lambda("r-404"))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.text(), error_body("not_found", "no such user", "r-404"));
}

#[tokio::test]
async fn status_pairs_and_plain_returns_set_the_status() {
    let app = errors_app();
    let res = invoke(&app, TestRequest::get("/created").v2())
        .await
        .unwrap();
    assert_eq!(
        (res.status(), res.text()),
        (201, r#"{"ok":true}"#.to_owned())
    );
    assert_eq!(res.header("content-type"), Some("application/json"));
    let res = invoke(&app, TestRequest::get("/accepted").v2())
        .await
        .unwrap();
    assert_eq!((res.status(), res.text()), (202, "queued".to_owned()));
    let res = invoke(&app, TestRequest::get("/empty").v1()).await.unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 204,
            "headers": {},
            "multiValueHeaders": {},
            "body": "",
            "isBase64Encoded": false,
        })
    );
    let res = invoke(&app, TestRequest::get("/status").v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn internal_errors_are_500_and_never_show_their_cause() {
    let app = errors_app();
    for event in [
        TestRequest::get("/secret").v1(),
        TestRequest::get("/secret").v2(),
        TestRequest::get("/secret").alb(),
    ] {
        let res = invoke_with(&app, event, lambda("r-500")).await.unwrap();
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.text(),
            r#"{"error":{"code":"internal","message":"internal server error","request_id":"r-500"}}"#
        );
        let whole_reply = res.raw().to_string();
        assert!(!whole_reply.contains("hunter2"), "{whole_reply}");
        assert!(!whole_reply.contains("10.0.0.5"), "{whole_reply}");
    }
}

#[tokio::test]
async fn question_mark_on_a_std_error_is_a_500() {
    let app = errors_app();
    let res = invoke_with(&app, TestRequest::get("/number?n=abc").v2(), lambda("r-q"))
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(
        res.text(),
        error_body("internal", "internal server error", "r-q")
    );
    assert!(!res.raw().to_string().contains("invalid digit"));

    let res = invoke_with(&app, TestRequest::get("/io").v1(), lambda("r-io"))
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(
        res.text(),
        error_body("internal", "internal server error", "r-io")
    );
    assert!(!res.raw().to_string().contains("secret-path"));

    let res = invoke(&app, TestRequest::get("/number?n=7").v2())
        .await
        .unwrap();
    assert_eq!((res.status(), res.text()), (200, "n=7".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// Redirects, cookies, multi-value headers
// ---------------------------------------------------------------------------------------------

async fn responses(ctx: Context) -> Result<Response, Error> {
    Ok(match ctx.request().query("kind") {
        Some("redirect") => Response::redirect("https://example.com/next?a=1")?,
        Some("moved") => {
            Response::redirect("/new-home")?.with_status(StatusCode::MOVED_PERMANENTLY)
        }
        Some("bad-redirect") => Response::redirect("https://example.com/\nInjected: yes")?,
        Some("cookies") => Response::text("plain")
            .with_status(StatusCode::ACCEPTED)
            .with_cookie(
                Cookie::new("session", "abc")
                    .http_only()
                    .secure()
                    .same_site(SameSite::Lax),
            )
            .with_cookie(
                Cookie::new("theme", "dark")
                    .path("/")
                    .max_age(std::time::Duration::from_secs(3600)),
            ),
        Some("one-cookie") => Response::text("plain").with_cookie(Cookie::new("a", "1")),
        Some("multi") => Response::text("plain")
            .with_header(
                HeaderName::from_static("x-multi"),
                HeaderValue::from_static("a"),
            )
            .with_header(
                HeaderName::from_static("x-multi"),
                HeaderValue::from_static("b"),
            )
            .with_header(
                HeaderName::from_static("x-single"),
                HeaderValue::from_static("s"),
            ),
        _ => Response::text("plain"),
    })
}

fn responses_app() -> AppService {
    App::new().get("/r", responses).build().expect("app builds")
}

#[tokio::test]
async fn redirects_carry_the_location_and_no_body() {
    let app = responses_app();
    let res = invoke(&app, TestRequest::get("/r?kind=redirect").v2())
        .await
        .unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 302,
            "headers": {"location": "https://example.com/next?a=1"},
            "cookies": [],
            "body": "",
            "isBase64Encoded": false,
        })
    );
    let res = invoke(&app, TestRequest::get("/r?kind=moved").v1())
        .await
        .unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 301,
            "headers": {"location": "/new-home"},
            "multiValueHeaders": {"location": ["/new-home"]},
            "body": "",
            "isBase64Encoded": false,
        })
    );
    let res = invoke(&app, TestRequest::get("/r?kind=redirect").alb())
        .await
        .unwrap();
    assert_eq!(res.raw()["statusDescription"], json!("302 Found"));
    assert_eq!(res.header("location"), Some("https://example.com/next?a=1"));
}

#[tokio::test]
async fn a_redirect_to_an_invalid_header_value_is_a_500() {
    let res = invoke_with(
        &responses_app(),
        TestRequest::get("/r?kind=bad-redirect").v2(),
        lambda("r-redir"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(
        res.text(),
        error_body("internal", "internal server error", "r-redir")
    );
    assert_eq!(res.header("location"), None);
}

#[tokio::test]
async fn cookies_go_to_the_v2_cookies_array() {
    let app = responses_app();
    let req = TestRequest::get("/r?kind=cookies");
    let expected = json!({
        "statusCode": 202,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "cookies": [
            "session=abc; Secure; HttpOnly; SameSite=Lax",
            "theme=dark; Path=/; Max-Age=3600",
        ],
        "body": "plain",
        "isBase64Encoded": false,
    });
    assert_eq!(invoke(&app, req.v2()).await.unwrap().raw(), &expected);
    assert_eq!(
        invoke(&app, req.function_url()).await.unwrap().raw(),
        &expected
    );
}

#[tokio::test]
async fn cookies_go_to_v1_multi_value_set_cookie() {
    let app = responses_app();
    let res = invoke(&app, TestRequest::get("/r?kind=cookies").v1())
        .await
        .unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 202,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "multiValueHeaders": {
                "content-type": ["text/plain; charset=utf-8"],
                "set-cookie": [
                    "session=abc; Secure; HttpOnly; SameSite=Lax",
                    "theme=dark; Path=/; Max-Age=3600",
                ],
            },
            "body": "plain",
            "isBase64Encoded": false,
        })
    );
    assert_eq!(
        res.header_all("set-cookie"),
        vec![
            "session=abc; Secure; HttpOnly; SameSite=Lax",
            "theme=dark; Path=/; Max-Age=3600"
        ]
    );

    // A single cookie is single-valued, so it is in both maps.
    let res = invoke(&app, TestRequest::get("/r?kind=one-cookie").v1())
        .await
        .unwrap();
    assert_eq!(res.raw()["headers"]["set-cookie"], json!("a=1"));
    assert_eq!(res.raw()["multiValueHeaders"]["set-cookie"], json!(["a=1"]));

    // Multi-value ALB: every cookie in multiValueHeaders.
    let res = invoke(&app, TestRequest::get("/r?kind=cookies").alb_multi())
        .await
        .unwrap();
    assert_eq!(
        res.raw()["multiValueHeaders"]["set-cookie"],
        json!([
            "session=abc; Secure; HttpOnly; SameSite=Lax",
            "theme=dark; Path=/; Max-Age=3600"
        ])
    );
}

/// A target group without multi-value headers reads one value per header name, and cookies
/// cannot be comma-joined: the first cookie is sent, and the loss of the others is a WARN on
/// the request's log (cookie names only, never values) rather than silent.
#[tokio::test]
async fn single_value_alb_sends_the_first_cookie_and_warns_of_the_rest() {
    let mem = lift::observability::MemoryExporter::new();
    let app = App::new()
        .observability(
            lift::observability::Observability::new()
                .service("cookies")
                .log_format(lift::observability::LogFormat::Json)
                .export_to(mem.clone()),
        )
        .get("/r", responses)
        .build()
        .unwrap();
    let res = invoke_with(
        &app,
        TestRequest::get("/r?kind=cookies").alb(),
        lambda("req-alb-cookies"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 202);
    assert_eq!(
        res.raw()["headers"]["set-cookie"],
        json!("session=abc; Secure; HttpOnly; SameSite=Lax")
    );
    let logs = mem.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let line = &logs[0];
    assert_eq!(
        (
            &line["level"],
            &line["message"],
            &line["request_id"],
            &line["sent_cookie"],
            &line["dropped_cookies"],
        ),
        (
            &json!("WARN"),
            &json!("set-cookie dropped: an ALB target group without multi-value headers carries one Set-Cookie per response; turn multi-value headers on"),
            &json!("req-alb-cookies"),
            &json!("session"),
            &json!(["theme"]),
        )
    );
    assert!(!line.to_string().contains("dark"), "{line}");

    // One cookie fits, and multi-value headers carry them all: nothing to say.
    for event in [
        TestRequest::get("/r?kind=one-cookie").alb(),
        TestRequest::get("/r?kind=cookies").alb_multi(),
    ] {
        invoke(&app, event).await.unwrap();
    }
    assert_eq!(mem.logs().len(), 1);
}

#[tokio::test]
async fn multi_value_response_headers_per_source() {
    let app = responses_app();
    let req = TestRequest::get("/r?kind=multi");
    let v1 = invoke(&app, req.v1()).await.unwrap();
    assert_eq!(
        v1.raw(),
        &json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain; charset=utf-8", "x-single": "s"},
            "multiValueHeaders": {
                "content-type": ["text/plain; charset=utf-8"],
                "x-multi": ["a", "b"],
                "x-single": ["s"],
            },
            "body": "plain",
            "isBase64Encoded": false,
        })
    );
    let v2 = invoke(&app, req.v2()).await.unwrap();
    assert_eq!(
        v2.raw(),
        &json!({
            "statusCode": 200,
            "headers": {
                "content-type": "text/plain; charset=utf-8",
                "x-multi": "a, b",
                "x-single": "s",
            },
            "cookies": [],
            "body": "plain",
            "isBase64Encoded": false,
        })
    );
    let alb_multi = invoke(&app, req.alb_multi()).await.unwrap();
    assert_eq!(
        alb_multi.raw()["multiValueHeaders"]["x-multi"],
        json!(["a", "b"])
    );
    let alb = invoke(&app, req.alb()).await.unwrap();
    assert_eq!(alb.raw()["headers"]["x-multi"], json!("a, b"));
}

// ---------------------------------------------------------------------------------------------
// After-response work
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

#[derive(Clone, Default)]
struct Flushed(Arc<Mutex<Vec<String>>>);

fn after_app(counter: Counter, flushed: Flushed) -> AppService {
    App::new()
        .state(counter)
        .state(flushed)
        .middleware(lift::middleware::from_fn(
            |ctx: Context, next: lift::middleware::Next| async move {
                if let Some(f) = ctx.state::<Flushed>().cloned() {
                    let path = ctx.path().to_owned();
                    ctx.after_response(async move {
                        f.0.lock().unwrap().push(format!("middleware {path}"));
                    });
                }
                next.run(ctx).await
            },
        ))
        .get("/work", |ctx: Context| async move {
            let counter = ctx.state::<Counter>().cloned().unwrap_or_default();
            let flushed = ctx.state::<Flushed>().cloned().unwrap_or_default();
            let id = ctx.request_id().to_owned();
            ctx.after_response(async move {
                counter.0.fetch_add(1, Ordering::SeqCst);
                flushed.0.lock().unwrap().push(format!("handler {id}"));
            });
            "done"
        })
        .get("/fail", |ctx: Context| async move {
            let counter = ctx.state::<Counter>().cloned().unwrap_or_default();
            ctx.after_response(async move {
                counter.0.fetch_add(10, Ordering::SeqCst);
            });
            Err::<String, _>(Error::bad_request("nope"))
        })
        .build()
        .expect("app builds")
}

fn reply_json(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.to_json()).unwrap()
}

#[tokio::test]
async fn after_response_work_runs_once_the_reply_is_produced() {
    let counter = Counter::default();
    let flushed = Flushed::default();
    let app = after_app(counter.clone(), flushed.clone());

    let invocation = app
        .invoke(
            Bytes::from(TestRequest::get("/work").v2()),
            lambda("req-after"),
        )
        .await;
    // The reply is ready and the work has not run yet.
    assert_eq!(
        reply_json(invocation.reply.as_ref().unwrap())["body"],
        json!("done")
    );
    // The handler's and the middleware's tasks (the telemetry flush is not counted).
    assert_eq!(invocation.after_response.tasks(), 2);
    assert_eq!(counter.0.load(Ordering::SeqCst), 0);
    assert!(flushed.0.lock().unwrap().is_empty());

    let reply = invocation.finish().await.unwrap();
    assert_eq!(reply_json(&reply)["statusCode"], json!(200));
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    assert_eq!(
        *flushed.0.lock().unwrap(),
        vec!["middleware /work", "handler req-after"]
    );
}

#[tokio::test]
async fn testing_invoke_runs_the_after_response_work() {
    let counter = Counter::default();
    let flushed = Flushed::default();
    let app = after_app(counter.clone(), flushed.clone());
    let res = invoke_with(&app, TestRequest::get("/work").v1(), lambda("req-t1"))
        .await
        .unwrap();
    assert_eq!(res.text(), "done");
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    invoke_with(&app, TestRequest::get("/work").alb(), lambda("req-t2"))
        .await
        .unwrap();
    assert_eq!(counter.0.load(Ordering::SeqCst), 2);
    assert_eq!(
        *flushed.0.lock().unwrap(),
        vec![
            "middleware /work",
            "handler req-t1",
            "middleware /work",
            "handler req-t2"
        ]
    );
}

#[tokio::test]
async fn after_response_work_runs_after_errors_and_404s_too() {
    let counter = Counter::default();
    let flushed = Flushed::default();
    let app = after_app(counter.clone(), flushed.clone());
    let res = invoke(&app, TestRequest::get("/fail").v2()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(counter.0.load(Ordering::SeqCst), 10);
    let res = invoke(&app, TestRequest::get("/missing").v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        *flushed.0.lock().unwrap(),
        vec!["middleware /fail", "middleware /missing"]
    );
}

// ---------------------------------------------------------------------------------------------
// Request bodies from fixtures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn base64_v1_body_is_decoded_before_json() {
    let res = invoke(&app(), fixture("users-post-v1-base64.json"))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.text(), r#"{"name":"Ada","email":"ada@example.com"}"#);
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"content-type": ["application/json"]},
            "body": "{\"name\":\"Ada\",\"email\":\"ada@example.com\"}",
            "isBase64Encoded": false,
        })
    );
}

#[tokio::test]
async fn plain_v2_body_and_validated_fixture_bodies_are_read() {
    let app = app();
    let res = invoke(&app, fixture("users-post-v2.json")).await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.text(), r#"{"name":"Ada","email":"ada@example.com"}"#);

    let v1 = common::retarget(&fixture("users-post-v1-base64.json"), "/valid-users");
    let res = invoke(&app, v1).await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.text(), r#"{"name":"Ada","email":"ada@example.com"}"#);
}

#[tokio::test]
async fn binary_request_bodies_arrive_as_bytes() {
    let app = App::new()
        .post("/upload", |ctx: Context| async move {
            let body = ctx.request().body()?;
            Ok::<_, Error>(format!("{} bytes: {:?}", body.len(), &body[..]))
        })
        .build()
        .unwrap();
    let req = TestRequest::post("/upload")
        .header("content-type", "application/octet-stream")
        .body(vec![0xff, 0x00, 0x80]);
    for event in [req.v1(), req.v2(), req.alb()] {
        let res = invoke(&app, event).await.unwrap();
        assert_eq!(res.text(), "3 bytes: [255, 0, 128]");
    }
}

#[tokio::test]
async fn a_cookie_value_from_the_request_cannot_inject_attributes_in_any_source() {
    use lift::http::{Cookie, Response};
    // The value comes from the caller: a classic injection vector.
    let app = App::new()
        .get("/remember", |ctx: Context| async move {
            let note = ctx.request().query("note").unwrap_or_default().to_owned();
            Response::text("ok")
                .with_cookie(Cookie::new("note", note).path("/").http_only())
                .with_cookie(Cookie::new("lang", "ünï, çødé").secure())
        })
        .build()
        .unwrap();
    let hostile = "x; Domain=evil.example; Max-Age=99999\r\nSet-Cookie: admin=1";
    let req = TestRequest::get("/remember").query("note", &utf8_percent(hostile));
    let want = vec![
        "note=x%3B%20Domain=evil.example%3B%20Max-Age=99999%0D%0ASet-Cookie:%20admin=1; Path=/; HttpOnly",
        "lang=%C3%BCn%C3%AF%2C%20%C3%A7%C3%B8d%C3%A9; Secure",
    ];
    for event in [req.v1(), req.v2(), req.function_url(), req.alb_multi()] {
        let res = invoke(&app, event).await.unwrap();
        assert_eq!(res.header_all("set-cookie"), want);
    }
    let decoded: Vec<String> = want
        .iter()
        .map(|c| {
            let value = c.split_once('=').unwrap().1.split_once("; ").unwrap().0;
            Cookie::decode(value).into_owned()
        })
        .collect();
    assert_eq!(decoded, vec![hostile, "ünï, çødé"]);
}

/// Percent-encode every byte but unreserved ones, as a browser's form would.
fn utf8_percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
