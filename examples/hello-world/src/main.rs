//! Hello world on Lift.
//!
//! - `GET /hello?name=Ada` → `{"message":"Hello, Ada!"}` (`World` without a name)
//! - `GET /users/{id}` → `{"id":"<id>"}`
//! - `POST /users` with `{"name","email"}` → 201 with the user and a generated `id`;
//!   malformed JSON → 400, a non-JSON content type → 415, invalid fields → 422.
//!
//! Run it locally with `cargo run -p hello-world` (serves on 127.0.0.1:3000), or under the
//! Lambda Runtime API with `cargo lambda watch`.

use lift::middleware::Stack;
use lift::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize, garde::Validate)]
struct NewUser {
    #[garde(length(chars, min = 1, max = 64))]
    name: String,
    #[garde(email)]
    email: String,
}

#[derive(Serialize)]
struct User {
    id: String,
    name: String,
    email: String,
}

async fn hello(ctx: Context) -> Json<serde_json::Value> {
    let name = ctx.request().query("name").unwrap_or("World");
    Json(json!({ "message": format!("Hello, {name}!") }))
}

async fn get_user(ctx: Context) -> Json<serde_json::Value> {
    Json(json!({ "id": ctx.route().param("id") }))
}

async fn create_user(
    _ctx: Context,
    ValidJson(new): ValidJson<NewUser>,
) -> (StatusCode, Json<User>) {
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        name: new.name,
        email: new.email,
    };
    (StatusCode::CREATED, Json(user))
}

/// The app, shared by `main` and the tests.
fn app() -> App {
    // The default middleware: request ids, a log line and metrics per request, security headers,
    // JSON error bodies, panic recovery.
    App::new()
        .middleware_stack(Stack::new())
        .get("/hello", hello)
        .get("/users/{id}", get_user)
        .post("/users", create_user)
}

#[tokio::main]
async fn main() -> Result<(), lift::BoxError> {
    app().run().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lift::testing::{invoke, TestRequest};

    #[tokio::test]
    async fn hello_greets_by_name_or_the_world() {
        let app = app().build().unwrap();
        let res = invoke(&app, TestRequest::get("/hello?name=Ada").v2())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text(), r#"{"message":"Hello, Ada!"}"#);
        let res = invoke(&app, TestRequest::get("/hello").v1()).await.unwrap();
        assert_eq!(res.text(), r#"{"message":"Hello, World!"}"#);
    }

    #[tokio::test]
    async fn create_user_validates() {
        let app = app().build().unwrap();
        let ok =
            TestRequest::post("/users").json(&json!({"name": "Ada", "email": "ada@example.com"}));
        let res = invoke(&app, ok.v2()).await.unwrap();
        assert_eq!(res.status(), 201);
        let user: serde_json::Value = res.json().unwrap();
        assert_eq!(user["name"], "Ada");
        assert_eq!(user["email"], "ada@example.com");
        assert_eq!(user["id"].as_str().unwrap().len(), 36);

        let bad = TestRequest::post("/users").json(&json!({"name": "", "email": "nope"}));
        let res = invoke(&app, bad.v2()).await.unwrap();
        assert_eq!(res.status(), 422);
        let body: serde_json::Value = res.json().unwrap();
        let fields: Vec<&str> = body["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, vec!["email", "name"]);
    }
}
