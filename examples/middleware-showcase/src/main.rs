//! The default middleware stack, with CORS for `https://app.example.com` (credentials on) and
//! `https://*.example.org`, and a 1 s timeout.
//!
//! - `GET /hello` → 200 `{"message":"hello"}`
//! - `GET /panic` → the handler panics → 500 with the error body; the next request still works
//! - `GET /slow?ms=N` → sleeps N ms, then 200 (N = 3000 → 504 after about 1 s)
//! - `GET /fail` → an internal error whose text (`db password=hunter2`) reaches only the log
//! - `POST /echo` → echoes a JSON body

use std::time::Duration;

use lift::middleware::{Cors, Stack, Timeout};
use lift::prelude::*;
use serde_json::{json, Value};

async fn hello(_ctx: Context) -> Json<Value> {
    Json(json!({ "message": "hello" }))
}

async fn panics(_ctx: Context) -> &'static str {
    let items: Vec<u32> = Vec::new();
    // A bug: indexing an empty list.
    let first = items[0];
    if first > 0 {
        "unreachable"
    } else {
        "never"
    }
}

async fn slow(ctx: Context) -> Result<Json<Value>, Error> {
    let ms: u64 = ctx
        .request()
        .query("ms")
        .unwrap_or("0")
        .parse()
        .map_err(|_| Error::bad_request("ms must be a whole number of milliseconds"))?;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(Json(json!({ "slept_ms": ms })))
}

async fn fail(_ctx: Context) -> Result<&'static str, Error> {
    Err(Error::internal(std::io::Error::other(
        "connection refused: db password=hunter2",
    )))
}

async fn echo(_ctx: Context, Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

fn cors() -> Result<Cors, lift::middleware::CorsError> {
    Cors::builder()
        .allow_origins(["https://app.example.com", "https://*.example.org"])
        .allow_credentials(true)
        .allow_headers(["content-type", "authorization"])
        .expose_headers(["x-request-id"])
        .max_age(Duration::from_secs(600))
        .build()
}

fn app() -> Result<App, lift::BoxError> {
    let stack = Stack::new()
        .cors(cors()?)
        .timeout(Timeout::new(Duration::from_secs(1)));
    Ok(App::new()
        .middleware_stack(stack)
        .get("/hello", hello)
        .get("/panic", panics)
        .get("/slow", slow)
        .get("/fail", fail)
        .post("/echo", echo))
}

#[tokio::main]
async fn main() -> Result<(), lift::BoxError> {
    app()?.run().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lift::testing::{invoke, TestRequest};

    #[tokio::test]
    async fn the_showcase_answers_as_documented() {
        let app = app().unwrap().build().unwrap();
        let res = invoke(
            &app,
            TestRequest::get("/hello")
                .header("origin", "https://app.example.com")
                .v2(),
        )
        .await
        .unwrap();
        assert_eq!(res.text(), r#"{"message":"hello"}"#);
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some("https://app.example.com")
        );
        assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));

        let res = invoke(&app, TestRequest::get("/panic").v2()).await.unwrap();
        assert_eq!(res.status(), 500);
        assert_eq!(
            invoke(&app, TestRequest::get("/hello").v2())
                .await
                .unwrap()
                .status(),
            200
        );

        let res = invoke(&app, TestRequest::get("/fail").v2()).await.unwrap();
        assert_eq!(res.status(), 500);
        assert!(!res.text().contains("hunter2"));

        let res = invoke(
            &app,
            TestRequest::post("/echo").json(&json!({"a": [1, 2]})).v2(),
        )
        .await
        .unwrap();
        assert_eq!(res.text(), r#"{"a":[1,2]}"#);
    }
}
