//! Events that are not what the app expects: not JSON, cut short, of another kind, with broken
//! bodies or odd paths, or very large. Each is answered (or reported to the runtime) in a
//! stable way, never echoes the event's content, and leaves the app serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use common::{error_body, fixture, lambda, retarget};
use lift::http::Json;
use lift::testing::{invoke, invoke_with, TestRequest};
use lift::{App, AppService, Context, Error, InvokeError};
use serde_json::{json, Value};

#[derive(serde::Deserialize)]
struct NewUser {
    name: String,
    email: String,
}

fn app() -> AppService {
    App::new()
        .get("/hello", |ctx: Context| async move {
            format!("Hello, {}!", ctx.request().query("name").unwrap_or("World"))
        })
        .get("/headers", |ctx: Context| async move {
            let pads = ctx
                .request()
                .headers()
                .filter(|(k, _)| k.starts_with("x-pad-"))
                .count();
            format!(
                "{pads} {}",
                ctx.request()
                    .header("X-PAD-63")
                    .map(str::len)
                    .unwrap_or_default()
            )
        })
        .get("/users/{id}", |ctx: Context| async move {
            format!(
                "user [{}] at {}",
                ctx.route().param("id").unwrap_or_default(),
                ctx.path()
            )
        })
        .post("/users", |_: Context, Json(u): Json<NewUser>| async move {
            Json(json!({"name": u.name, "email": u.email}))
        })
        .post("/text", |ctx: Context| async move {
            Ok::<_, Error>(ctx.request().text()?.into_owned())
        })
        .build()
        .expect("app builds")
}

/// Invoke at the `AppService` level, expecting an invocation error.
async fn invoke_error(app: &AppService, event: impl Into<Bytes>) -> InvokeError {
    match app
        .invoke(event.into(), lambda("req-bad"))
        .await
        .finish()
        .await
    {
        Ok(reply) => panic!("expected an invocation error, got {reply:?}"),
        Err(e) => e,
    }
}

/// The app still serves a good request.
async fn still_serves(app: &AppService) {
    let res = invoke(app, fixture("hello-v2.json")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "Hello, Ada!");
}

const INVALID_JSON_PREFIX: &str = "the event is not valid JSON";

// ---------------------------------------------------------------------------------------------
// Not JSON
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn non_json_bytes_are_an_invalid_event() {
    let app = app();
    let e = invoke_error(&app, fixture("not-json.txt")).await;
    assert_eq!(e.error_type, "Lift.InvalidEvent");
    assert!(e.message.starts_with(INVALID_JSON_PREFIX), "{}", e.message);
    assert!(!e.message.contains("this is not json"), "{}", e.message);
    assert_eq!(e.to_string(), format!("Lift.InvalidEvent: {}", e.message));
    still_serves(&app).await;

    // Through the test harness too.
    let e = invoke(&app, fixture("not-json.txt")).await.unwrap_err();
    assert_eq!(e.error_type, "Lift.InvalidEvent");
    still_serves(&app).await;
}

#[tokio::test]
async fn truncated_json_is_an_invalid_event() {
    let app = app();
    let e = invoke_error(&app, fixture("truncated.json")).await;
    assert_eq!(e.error_type, "Lift.InvalidEvent");
    assert!(e.message.starts_with(INVALID_JSON_PREFIX), "{}", e.message);
    for leaked in [
        "CERT_CONTENT",
        "a1:a1",
        "session=abc123",
        "curl/8.5.0",
        "/hello",
    ] {
        assert!(!e.message.contains(leaked), "{leaked} in {}", e.message);
    }
    still_serves(&app).await;
}

#[tokio::test]
async fn empty_and_binary_events_are_invalid_events() {
    let app = app();
    for event in [
        Vec::new(),
        b"   ".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x7b],
        b"{\"rawPath\": \"/hello\"".to_vec(),
    ] {
        let e = invoke_error(&app, event.clone()).await;
        assert_eq!(e.error_type, "Lift.InvalidEvent", "{event:?}");
        assert!(e.message.starts_with(INVALID_JSON_PREFIX), "{}", e.message);
        still_serves(&app).await;
    }
}

// ---------------------------------------------------------------------------------------------
// JSON of another kind
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_event_kind_is_unsupported() {
    let app = app();
    let e = invoke_error(&app, fixture("unknown-event.json")).await;
    assert_eq!(
        e,
        InvokeError {
            error_type: "Lift.UnsupportedEvent",
            message: "no handler for events of kind unknown".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        "Lift.UnsupportedEvent: no handler for events of kind unknown"
    );
    still_serves(&app).await;

    let e = invoke(&app, fixture("unknown-event.json"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Lift.UnsupportedEvent");
    still_serves(&app).await;
}

#[tokio::test]
async fn an_sqs_batch_is_unsupported_and_names_its_kind() {
    let app = app();
    let sqs = json!({"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": "order 1234 for card 4111-1111-1111-1111",
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
        "awsRegion": "us-east-2"
    }]});
    let e = invoke_error(&app, serde_json::to_vec(&sqs).unwrap()).await;
    assert_eq!(
        e,
        InvokeError {
            error_type: "Lift.UnsupportedEvent",
            message: "no handler for events of kind sqs".into(),
        }
    );
    still_serves(&app).await;
}

#[tokio::test]
async fn an_eventbridge_event_is_unsupported_and_names_its_kind() {
    let app = app();
    let event = json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2015-10-08T16:53:06Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-schedule"],
        "detail": {}
    });
    let e = invoke_error(&app, serde_json::to_vec(&event).unwrap()).await;
    assert_eq!(e.error_type, "Lift.UnsupportedEvent");
    assert_eq!(e.message, "no handler for this schedule event");
    still_serves(&app).await;
}

#[tokio::test]
async fn valid_json_of_no_known_kind_is_unsupported_not_invalid() {
    let app = app();
    for event in [
        "null",
        "42",
        "[1, 2, 3]",
        r#""a bare string payload""#,
        r#"{"body": {"orderId": "o-1"}}"#,
        r#"{"path": ["a", "b"], "action": "reindex"}"#,
        r#"{"headers": "none", "task": "cleanup"}"#,
    ] {
        let e = invoke_error(&app, event.as_bytes().to_vec()).await;
        assert_eq!(
            e.error_type, "Lift.UnsupportedEvent",
            "{event}: {}",
            e.message
        );
        assert_eq!(
            e.message, "no handler for events of kind unknown",
            "{event}"
        );
        still_serves(&app).await;
    }
}

#[tokio::test]
async fn invocation_error_messages_never_echo_the_event() {
    let app = app();
    let secret = "password=hunter2";
    for event in [
        // An HTTP event with a field of the wrong type.
        json!({"httpMethod": "GET", "path": "/hello", "isBase64Encoded": secret}),
        json!({"version": "2.0", "rawPath": "/hello", "requestContext": {"http": {"method": ["GET"], "sourceIp": secret}}, "cookies": secret}),
        json!({"httpMethod": "GET", "path": "/hello", "headers": [secret]}),
        // A bare JSON string.
        json!(secret),
        // Other kinds.
        json!({"Records": [{"body": secret}]}),
        json!({"hello": secret}),
    ] {
        let bytes = serde_json::to_vec(&event).unwrap();
        let e = invoke_error(&app, bytes).await;
        assert!(
            !e.message.contains("hunter2") && !e.to_string().contains("hunter2"),
            "{event}: {e}"
        );
        still_serves(&app).await;
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP events with awkward contents
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn invalid_base64_body_is_a_400_for_a_json_handler() {
    let app = app();
    let res = invoke_with(&app, fixture("bad-base64-v2.json"), lambda("req-b64"))
        .await
        .unwrap();
    assert_eq!(
        res.raw(),
        &json!({
            "statusCode": 400,
            "headers": {"content-type": "application/json"},
            "cookies": [],
            "body": error_body("bad_request", "request body is not valid base64", "req-b64"),
            "isBase64Encoded": false,
        })
    );
    assert!(!res.raw().to_string().contains("not-base64"));

    // A text handler gets the same 400.
    let res = invoke_with(
        &app,
        retarget(&fixture("bad-base64-v2.json"), "/text"),
        lambda("req-b64-text"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.text(),
        error_body(
            "bad_request",
            "request body is not valid base64",
            "req-b64-text"
        )
    );
    still_serves(&app).await;
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_a_400_for_a_text_handler() {
    let app = app();
    let res = invoke_with(
        &app,
        TestRequest::post("/text").body(vec![0xc3, 0x28]).v2(),
        lambda("req-utf8"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.text(),
        error_body("bad_request", "request body is not valid UTF-8", "req-utf8")
    );
    still_serves(&app).await;
}

#[tokio::test]
async fn a_percent_encoded_path_gives_a_decoded_parameter() {
    let app = app();
    let res = invoke(&app, fixture("users-percent-v2.json"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The HTTP API sent the client's `/users/a%20b` decoded: taken as it is.
    assert_eq!(res.text(), "user [a b] at /users/a b");
    // A Function URL sends it encoded: the parameter is decoded, the path stays as sent.
    let res = invoke(&app, TestRequest::get("/users/a%20b").function_url())
        .await
        .unwrap();
    assert_eq!(res.text(), "user [a b] at /users/a%20b");

    // Invalid percent escapes and invalid UTF-8 do not fail the invocation.
    for (path, want) in [
        ("/users/100%", "user [100%] at /users/100%"),
        ("/users/%zz", "user [%zz] at /users/%zz"),
        ("/users/%FF", "user [\u{FFFD}] at /users/%FF"),
    ] {
        let res = invoke(&app, TestRequest::get(path).function_url())
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.text(), want, "{path}");
    }
    still_serves(&app).await;
}

#[tokio::test]
async fn eight_kilobytes_of_headers_are_served() {
    let app = app();
    let event = fixture("big-headers-v2.json");
    assert!(event.len() > 8 * 1024);
    let res = invoke(&app, event.clone()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "Hello, Ada!");

    let res = invoke(&app, retarget(&event, "/headers")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "64 128");
}

#[tokio::test]
async fn http_events_with_missing_parts_still_get_an_http_answer() {
    let app = app();
    // A REST v1 event with only what identifies it: no headers, no query, no body.
    let bare_v1 = json!({"httpMethod": "GET", "path": "/hello", "requestContext": {}});
    let res = invoke(&app, serde_json::to_vec(&bare_v1).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "Hello, World!");

    // A v2 event with null maps.
    let null_v2 = json!({
        "version": "2.0", "rawPath": "/hello", "rawQueryString": "name=Ada",
        "headers": null, "cookies": null, "queryStringParameters": null, "body": null,
        "isBase64Encoded": false,
        "requestContext": {"http": {"method": "GET", "path": "/hello"}, "stage": "$default"}
    });
    let res = invoke(&app, serde_json::to_vec(&null_v2).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "Hello, Ada!");

    // An unknown HTTP method: 405 with the path's methods, not a failed invocation.
    let odd = json!({"httpMethod": "BREW", "path": "/hello", "requestContext": {}});
    let res = invoke_with(&app, serde_json::to_vec(&odd).unwrap(), lambda("req-brew"))
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.header("allow"), Some("GET, HEAD"));
    still_serves(&app).await;
}

#[tokio::test]
async fn the_same_app_keeps_serving_after_every_bad_input() {
    let app = app();
    let bad: Vec<(Vec<u8>, Result<u16, &str>)> = vec![
        (fixture("not-json.txt"), Err("Lift.InvalidEvent")),
        (fixture("truncated.json"), Err("Lift.InvalidEvent")),
        (fixture("unknown-event.json"), Err("Lift.UnsupportedEvent")),
        (
            br#"{"Records":[{"eventSource":"aws:sqs","body":"x"}]}"#.to_vec(),
            Err("Lift.UnsupportedEvent"),
        ),
        (fixture("bad-base64-v2.json"), Ok(400)),
        (fixture("users-percent-v2.json"), Ok(200)),
        (fixture("big-headers-v2.json"), Ok(200)),
        (TestRequest::get("/nope").v1(), Ok(404)),
        (TestRequest::delete("/hello").alb(), Ok(405)),
    ];
    for (event, want) in bad {
        match (
            app.invoke(Bytes::from(event), lambda("req-x"))
                .await
                .finish()
                .await,
            want,
        ) {
            (Ok(reply), Ok(status)) => {
                let reply: Value = serde_json::from_slice(&reply.to_json()).unwrap();
                assert_eq!(reply["statusCode"], json!(status));
            }
            (Err(e), Err(kind)) => assert_eq!(e.error_type, kind),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
        still_serves(&app).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Body limits
// ---------------------------------------------------------------------------------------------

const MIB: usize = 1024 * 1024;

/// A JSON document of exactly `len` bytes: `{"name":"xxx…","email":"a@b"}`.
fn json_of_len(len: usize) -> Vec<u8> {
    let frame = r#"{"name":"","email":"a@b"}"#.len();
    let doc = json!({"name": "x".repeat(len - frame), "email": "a@b"});
    let bytes = serde_json::to_vec(&doc).unwrap();
    assert_eq!(bytes.len(), len);
    bytes
}

#[tokio::test]
async fn a_body_over_the_default_limit_is_a_413_with_the_error_body() {
    let app = app();
    let three_mib_json =
        TestRequest::post("/users").json(&json!({"name": "x".repeat(3 * MIB), "email": "a@b"}));
    // Not UTF-8, so sent base64-encoded: the limit is on the decoded size.
    let three_mib_raw = TestRequest::post("/text").body(vec![0xff_u8; 3 * MIB]);
    for req in [three_mib_json, three_mib_raw] {
        for event in [req.v2(), req.v1(), req.alb(), req.function_url()] {
            let res = invoke_with(&app, event, lambda("req-big")).await.unwrap();
            assert_eq!(res.status(), 413);
            assert_eq!(res.header("content-type"), Some("application/json"));
            assert_eq!(
                res.text(),
                error_body(
                    "payload_too_large",
                    "request body is larger than the limit of 2097152 bytes",
                    "req-big"
                )
            );
            still_serves(&app).await;
        }
    }
}

#[tokio::test]
async fn the_limit_is_inclusive_and_counts_decoded_bytes() {
    let app = App::new()
        .post("/len", |ctx: Context| async move {
            Ok::<_, Error>(ctx.request().body()?.len().to_string())
        })
        .build()
        .unwrap();
    let at_limit = TestRequest::post("/len")
        .json(&serde_json::from_slice::<Value>(&json_of_len(2 * MIB)).unwrap());
    let res = invoke(&app, at_limit.v2()).await.unwrap();
    assert_eq!((res.status(), res.text()), (200, (2 * MIB).to_string()));

    // Binary bodies travel base64-encoded, a third larger than the limit they are held to.
    let binary = TestRequest::post("/len").body(vec![0xfe_u8; 2 * MIB]);
    let res = invoke(&app, binary.v2()).await.unwrap();
    assert_eq!((res.status(), res.text()), (200, (2 * MIB).to_string()));
    let over = TestRequest::post("/len").body(vec![0xfe_u8; 2 * MIB + 1]);
    assert_eq!(invoke(&app, over.v2()).await.unwrap().status(), 413);
}

#[tokio::test]
async fn a_route_overrides_the_app_limit_either_way() {
    use lift::routing::Route;
    let len = |ctx: Context| async move { Ok::<_, Error>(ctx.request().body()?.len().to_string()) };
    let app = App::new()
        .body_limit(1024)
        .post("/small", len)
        .route(
            "/uploads",
            Route::new().post(len).put(len).body_limit(5 * MIB),
        )
        .route("/tiny", Route::new().post(len).body_limit(16))
        .build()
        .unwrap();
    let send = |path: &str, n: usize| TestRequest::post(path).body(vec![b'a'; n]).v2();
    let cases = [
        ("/small", 1024, 200),
        ("/small", 1025, 413),
        ("/uploads", 3 * MIB, 200),
        ("/uploads", 5 * MIB + 1, 413),
        ("/tiny", 16, 200),
        ("/tiny", 17, 413),
    ];
    for (path, n, status) in cases {
        let res = invoke(&app, send(path, n)).await.unwrap();
        assert_eq!(res.status(), status, "{path} with {n} bytes");
        if status == 200 {
            assert_eq!(res.text(), n.to_string());
        }
    }
    let res = invoke(&app, send("/tiny", 17)).await.unwrap();
    assert_eq!(
        res.json::<Value>().unwrap()["error"]["message"],
        "request body is larger than the limit of 16 bytes"
    );
}

#[tokio::test]
async fn middleware_cannot_read_a_body_over_the_limit_either() {
    use lift::middleware::{from_fn, Next};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let handler_ran = Arc::new(AtomicBool::new(false));
    let ran = handler_ran.clone();
    let app = App::new()
        .body_limit(100)
        .middleware(from_fn(|ctx: Context, next: Next| async move {
            // Reading the body first, as a signature check might.
            let seen = ctx.request().body().map(|b| b.len());
            let mut res = next.run(ctx).await?;
            let seen = match seen {
                Ok(n) => n.to_string(),
                Err(e) => e.code().to_owned(),
            };
            res.headers_mut()
                .insert("x-seen", http::HeaderValue::from_str(&seen).unwrap());
            Ok(res)
        }))
        .post("/p", move |_: Context| {
            ran.store(true, Ordering::SeqCst);
            async { "ran" }
        })
        .build()
        .unwrap();
    let res = invoke(&app, TestRequest::post("/p").body(vec![b'a'; 100]).v2())
        .await
        .unwrap();
    assert_eq!((res.status(), res.header("x-seen")), (200, Some("100")));
    handler_ran.store(false, Ordering::SeqCst);

    let res = invoke(&app, TestRequest::post("/p").body(vec![b'a'; 101]).v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert!(
        !handler_ran.load(Ordering::SeqCst),
        "the handler must not run"
    );
}

#[tokio::test]
async fn a_large_body_to_an_unknown_path_or_method_is_still_a_404_or_405() {
    let app = app();
    let big = vec![b'a'; 3 * MIB];
    let res = invoke(&app, TestRequest::post("/nope").body(big.clone()).v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = invoke(&app, TestRequest::put("/hello").body(big).v2())
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn a_panic_outside_recover_is_a_generic_invocation_error_and_is_logged() {
    use lift::observability::{LogFormat, MemoryExporter, Observability};
    let mem = MemoryExporter::new();
    let app = App::new()
        .observability(
            Observability::new()
                .log_format(LogFormat::Json)
                .export_to(mem.clone()),
        )
        .get("/crash", |_: Context| async {
            if true {
                panic!("token=s3cr3t");
            }
            "unreachable"
        })
        .get("/hello", |_: Context| async { "Hello, Ada!" })
        .build()
        .unwrap();
    let err = invoke_error(&app, TestRequest::get("/crash").v2()).await;
    assert_eq!(err.error_type, "Lift.Panic");
    assert_eq!(
        err.message,
        "the invocation panicked; the function's log has the details"
    );
    let res = invoke(&app, TestRequest::get("/hello").v2()).await.unwrap();
    assert_eq!(res.text(), "Hello, Ada!");
    let panics: Vec<Value> = mem
        .logs()
        .into_iter()
        .filter(|l| l["message"] == "panic outside Recover")
        .collect();
    assert_eq!(panics.len(), 1, "{panics:#?}");
    assert_eq!(panics[0]["panic"], "token=s3cr3t");
    assert_eq!(panics[0]["request_id"], "req-bad");
}
