//! The typed extractors (`Path`, `Query`, `State`, `Option<T>`), handlers of up to eight of
//! them with and without the `Context`, and the method verbs `App`, `Group` and `Route` share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{error_body, lambda};
use lift::extract::{Path, Query, State};
use lift::http::{header, HeaderValue, Json, Method, Response, StatusCode};
use lift::observability::{LogFormat, MemoryExporter, Observability};
use lift::routing::Route;
use lift::testing::{invoke, invoke_with, TestRequest, TestResponse};
use lift::{App, AppService, Context, Error};
use serde::Deserialize;
use serde_json::{json, Value};

async fn call(app: &AppService, req: TestRequest) -> TestResponse {
    invoke(app, req.v2()).await.unwrap()
}

/// Invoke with a known request id, over every HTTP source, and check they all answer alike.
/// The ALB event has multi-value headers on: without them, an ALB passes only the last value
/// of a repeated query parameter.
async fn call_as(app: &AppService, req: TestRequest, request_id: &str) -> TestResponse {
    let mut answers = Vec::new();
    for event in [req.v1(), req.v2(), req.alb_multi(), req.function_url()] {
        answers.push(invoke_with(app, event, lambda(request_id)).await.unwrap());
    }
    let first = answers.remove(0);
    for other in &answers {
        assert_eq!(other.status(), first.status());
        assert_eq!(other.text(), first.text());
    }
    first
}

fn observed(app: App, mem: &MemoryExporter) -> AppService {
    app.observability(
        Observability::new()
            .log_format(LogFormat::Json)
            .export_to(mem.clone()),
    )
    .build()
    .unwrap()
}

/// The `error` field of the one `request failed` line logged for `request_id`.
fn logged_cause(mem: &MemoryExporter, request_id: &str) -> String {
    let lines: Vec<Value> = mem
        .logs()
        .into_iter()
        .filter(|l| l["message"] == "request failed" && l["request_id"] == request_id)
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines[0]["error"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Path<T>
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Member {
    org: String,
    user: u32,
}

fn path_app() -> App {
    App::new()
        .get("/users/{id}", |Path(id): Path<u64>| async move {
            format!("user {id}")
        })
        .get("/names/{name}", |Path(name): Path<String>| async move {
            format!("name {name:?}")
        })
        .get(
            "/shops/{shop}/items/{n}",
            |Path((shop, n)): Path<(String, u32)>| async move { format!("{shop} #{n}") },
        )
        .get(
            "/orgs/{org}/users/{user}",
            |Path(m): Path<Member>| async move { format!("{}/{}", m.org, m.user) },
        )
        .get(
            "/files/{*path}",
            |Path(path): Path<String>| async move { path },
        )
        .get(
            "/flags/{on}/{level}",
            |Path((on, level)): Path<(bool, i8)>| async move { format!("{on} {level}") },
        )
        // A type that does not fit its route: the program's mistake.
        .get(
            "/wrong/{id}",
            |Path(pair): Path<(String, String)>| async move { format!("{pair:?}") },
        )
        .get(
            "/missing/{id}",
            |Path(m): Path<Member>| async move { m.org },
        )
}

#[tokio::test]
async fn path_reads_one_value_a_tuple_or_a_struct() {
    let app = path_app().build().unwrap();
    for (path, body) in [
        ("/users/42", "user 42"),
        // Not `%2F`: the HTTP API decodes it into a separator before Lift sees the path.
        ("/names/a%20b%2Cc", r#"name "a b,c""#),
        ("/shops/corner/items/7", "corner #7"),
        ("/orgs/acme/users/9", "acme/9"),
        ("/files/a/b%20c.txt", "a/b c.txt"),
        ("/flags/true/-128", "true -128"),
    ] {
        let res = call_as(&app, TestRequest::get(path), "req-path").await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.text(), body, "{path}");
    }
}

#[tokio::test]
async fn a_path_value_that_does_not_parse_is_a_400_naming_the_parameter() {
    let app = path_app().build().unwrap();
    let huge = "9".repeat(10_000);
    for (path, message) in [
        (
            "/users/abc".to_owned(),
            "invalid path parameter `id`: expected an integer from 0 to 18446744073709551615",
        ),
        (
            "/users/-1".to_owned(),
            "invalid path parameter `id`: expected an integer from 0 to 18446744073709551615",
        ),
        (
            format!("/users/{huge}"),
            "invalid path parameter `id`: expected an integer from 0 to 18446744073709551615",
        ),
        (
            "/shops/corner/items/seven".to_owned(),
            "invalid path parameter `n`: expected an integer from 0 to 4294967295",
        ),
        (
            "/orgs/acme/users/x".to_owned(),
            "invalid path parameter `user`: expected an integer from 0 to 4294967295",
        ),
        (
            "/flags/yes/1".to_owned(),
            "invalid path parameter `on`: expected `true` or `false`",
        ),
        (
            "/flags/true/200".to_owned(),
            "invalid path parameter `level`: expected an integer from -128 to 127",
        ),
    ] {
        let res = call_as(&app, TestRequest::get(&path), "req-bad-path").await;
        assert_eq!(res.status(), 400, "{path}");
        assert_eq!(
            res.text(),
            error_body("bad_request", message, "req-bad-path"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_path_type_that_does_not_fit_the_route_is_a_logged_500() {
    let mem = MemoryExporter::new();
    let app = observed(path_app(), &mem);
    // Type names as the compiler writes them (`std::any::type_name`).
    let pair = std::any::type_name::<(String, String)>();
    let member = std::any::type_name::<Member>();
    for (path, request_id, cause) in [
        (
            "/wrong/1",
            "req-wrong",
            format!(
                "500 internal: internal server error: Path<{pair}> on route /wrong/{{id}}: \
                 a tuple of size 2 takes 2 path parameters, the route has 1"
            ),
        ),
        (
            "/missing/1",
            "req-missing",
            format!(
                "500 internal: internal server error: \
                 Path<{member}> on route /missing/{{id}}: no parameter `org`"
            ),
        ),
    ] {
        let res = invoke_with(&app, TestRequest::get(path).v2(), lambda(request_id))
            .await
            .unwrap();
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.text(),
            error_body("internal", "internal server error", request_id)
        );
        assert_eq!(logged_cause(&mem, request_id), cause);
    }
}

// ---------------------------------------------------------------------------------------------
// Query<T>
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Deserialize)]
struct Search {
    q: String,
    page: Option<u32>,
    #[serde(default)]
    tag: Vec<String>,
    #[serde(default = "ten")]
    limit: u8,
    order: Option<Order>,
}

fn ten() -> u8 {
    10
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Strict {
    #[serde(rename = "a")]
    _a: Option<u8>,
}

fn query_app() -> App {
    App::new()
        .get("/search", |Query(s): Query<Search>| async move {
            format!(
                "q={:?} page={:?} tag={:?} limit={} order={:?}",
                s.q, s.page, s.tag, s.limit, s.order
            )
        })
        .get(
            "/all",
            |Query(all): Query<std::collections::BTreeMap<String, String>>| async move {
                format!("{all:?}")
            },
        )
        .get("/strict", |Query(_): Query<Strict>| async { "ok" })
}

#[tokio::test]
async fn query_reads_a_struct_with_repeats_options_defaults_and_enums() {
    let app = query_app().build().unwrap();
    let cases = [
        (
            TestRequest::get("/search?q=lift"),
            r#"q="lift" page=None tag=[] limit=10 order=None"#,
        ),
        (
            TestRequest::get("/search?tag=a&q=a%20b+c&page=2&tag=b%26c&limit=3&order=desc&x=1"),
            r#"q="a b c" page=Some(2) tag=["a", "b&c"] limit=3 order=Some(Desc)"#,
        ),
        // A repeated parameter read as one value is its first, as `ctx.query` reads it.
        (
            TestRequest::get("/search?q=first&q=second"),
            r#"q="first" page=None tag=[] limit=10 order=None"#,
        ),
        (
            TestRequest::get("/all?b=2&a=1&b=3"),
            r#"{"a": "1", "b": "2"}"#,
        ),
    ];
    for (req, body) in cases {
        let res = call_as(&app, req, "req-query").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.text(), body);
    }
}

#[tokio::test]
async fn a_query_that_does_not_fit_is_a_400_naming_the_parameter() {
    let app = query_app().build().unwrap();
    let long_name = "n".repeat(300);
    let cases = [
        (
            "/search".to_owned(),
            "missing query parameter `q`".to_owned(),
        ),
        (
            "/search?q=x&page=two".to_owned(),
            "invalid query parameter `page`: expected an integer from 0 to 4294967295".to_owned(),
        ),
        (
            format!("/search?q=x&limit={}", "1".repeat(5000)),
            "invalid query parameter `limit`: expected an integer from 0 to 255".to_owned(),
        ),
        (
            "/search?q=x&order=sideways".to_owned(),
            "invalid query parameter `order`: expected one of `asc`, `desc`".to_owned(),
        ),
        (
            "/strict?a=1&b=2".to_owned(),
            "unknown query parameter `b`".to_owned(),
        ),
        (
            format!("/strict?{long_name}=1"),
            format!("unknown query parameter `{}…`", "n".repeat(64)),
        ),
    ];
    for (path, message) in cases {
        let res = call_as(&app, TestRequest::get(&path), "req-bad-query").await;
        assert_eq!(res.status(), 400, "{path}");
        assert_eq!(
            res.text(),
            error_body("bad_request", &message, "req-bad-query"),
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// State<T>
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Config {
    greeting: &'static str,
}

struct Clients {
    table: &'static str,
}

#[derive(Clone)]
struct NeverAdded;

#[tokio::test]
async fn state_is_a_clone_of_what_the_app_was_given() {
    let app = App::new()
        .state(Config { greeting: "hello" })
        .state(Arc::new(Clients { table: "orders" }))
        .get(
            "/greet",
            |State(config): State<Config>, State(clients): State<Arc<Clients>>| async move {
                format!("{} from {}", config.greeting, clients.table)
            },
        )
        .build()
        .unwrap();
    let res = call(&app, TestRequest::get("/greet")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "hello from orders");
}

#[tokio::test]
async fn missing_state_is_a_500_whose_cause_is_logged() {
    let mem = MemoryExporter::new();
    let app = observed(
        App::new().get("/state", |State(_): State<NeverAdded>| async { "never" }),
        &mem,
    );
    let res = invoke_with(&app, TestRequest::get("/state").v2(), lambda("req-state"))
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(
        res.text(),
        error_body("internal", "internal server error", "req-state")
    );
    let name = std::any::type_name::<NeverAdded>();
    assert_eq!(
        logged_cause(&mem, "req-state"),
        format!(
            "500 internal: internal server error: State<{name}>: \
             no state of type {name}; add it with App::state"
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Option<T>
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Note {
    text: String,
}

#[derive(Debug, Deserialize)]
struct Paging {
    page: u32,
}

#[tokio::test]
async fn an_optional_extractor_is_none_when_the_inner_one_fails() {
    let app = App::new()
        .state(Config { greeting: "hi" })
        .post(
            "/notes/{id}",
            |id: Option<Path<u64>>,
             paging: Option<Query<Paging>>,
             note: Option<Json<Note>>,
             config: Option<State<Config>>,
             missing: Option<State<NeverAdded>>| async move {
                format!(
                    "id={:?} page={:?} note={:?} greeting={:?} missing={}",
                    id.map(|Path(id)| id),
                    paging.map(|Query(p)| p.page),
                    note.map(|Json(n)| n.text),
                    config.map(|State(c)| c.greeting),
                    missing.is_some()
                )
            },
        )
        .build()
        .unwrap();
    let res = call(
        &app,
        TestRequest::post("/notes/7?page=2").json(&json!({"text": "hello"})),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text(),
        r#"id=Some(7) page=Some(2) note=Some("hello") greeting=Some("hi") missing=false"#
    );
    // A path that does not parse, a page that is not a number, a body that is not JSON.
    let res = call(
        &app,
        TestRequest::post("/notes/x?page=two")
            .header("content-type", "text/plain")
            .body("hello"),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text(),
        r#"id=None page=None note=None greeting=Some("hi") missing=false"#
    );
}

// ---------------------------------------------------------------------------------------------
// Handlers: up to eight extractors, with or without the Context
// ---------------------------------------------------------------------------------------------

/// An extractor of the `x-tenant` header, 401 without it.
struct Tenant(String);

impl lift::extract::FromContext for Tenant {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        ctx.request()
            .header("x-tenant")
            .map(|t| Tenant(t.to_owned()))
            .ok_or_else(|| Error::unauthorized("missing tenant"))
    }
}

#[derive(Debug, Deserialize)]
struct Ids {
    org: String,
    id: u64,
}

#[derive(Debug, Deserialize)]
struct Verbose {
    verbose: Option<bool>,
}

#[allow(clippy::too_many_arguments)]
async fn eight_with_context(
    ctx: Context,
    Path(ids): Path<Ids>,
    Query(paging): Query<Paging>,
    Query(verbose): Query<Verbose>,
    Json(note): Json<Note>,
    State(config): State<Config>,
    Tenant(tenant): Tenant,
    missing: Option<State<NeverAdded>>,
    optional: Option<Query<Search>>,
) -> Json<Value> {
    Json(json!({
        "route": ctx.route().template(),
        "org": ids.org,
        "id": ids.id,
        "page": paging.page,
        "verbose": verbose.verbose,
        "text": note.text,
        "greeting": config.greeting,
        "tenant": tenant,
        "missing": missing.is_some(),
        "search": optional.is_some(),
    }))
}

#[allow(clippy::too_many_arguments)]
async fn eight_without_context(
    Path(ids): Path<Ids>,
    Query(paging): Query<Paging>,
    Query(verbose): Query<Verbose>,
    Json(note): Json<Note>,
    State(config): State<Config>,
    Tenant(tenant): Tenant,
    missing: Option<State<NeverAdded>>,
    optional: Option<Query<Search>>,
) -> Json<Value> {
    Json(json!({
        "route": null,
        "org": ids.org,
        "id": ids.id,
        "page": paging.page,
        "verbose": verbose.verbose,
        "text": note.text,
        "greeting": config.greeting,
        "tenant": tenant,
        "missing": missing.is_some(),
        "search": optional.is_some(),
    }))
}

fn handlers_app() -> AppService {
    App::new()
        .state(Config { greeting: "hello" })
        .post("/with/{org}/{id}", eight_with_context)
        .post("/without/{org}/{id}", eight_without_context)
        .get("/nothing", || async { "nothing at all" })
        .get(
            "/one/{id}",
            |Path(id): Path<u32>| async move { id.to_string() },
        )
        .get("/ctx", |ctx: Context| async move {
            ctx.request().method().to_string()
        })
        .post(
            "/ctx-and-json",
            |_: Context, Json(note): Json<Note>| async move { note.text },
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_handler_takes_eight_extractors_with_or_without_the_context() {
    let app = handlers_app();
    for (path, route) in [
        (
            "/with/acme/42?page=3&verbose=true",
            json!("/with/{org}/{id}"),
        ),
        ("/without/acme/42?page=3&verbose=true", Value::Null),
    ] {
        let req = TestRequest::post(path)
            .header("x-tenant", "t-1")
            .json(&json!({"text": "note"}));
        let res = call_as(&app, req, "req-eight").await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(
            res.json::<Value>().unwrap(),
            json!({
                "route": route,
                "org": "acme",
                "id": 42,
                "page": 3,
                "verbose": true,
                "text": "note",
                "greeting": "hello",
                "tenant": "t-1",
                "missing": false,
                "search": false,
            }),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_first_extractor_that_fails_answers() {
    let app = handlers_app();
    // Every extractor after the path would fail too: no page, no JSON, no tenant.
    let res = call_as(
        &app,
        TestRequest::post("/with/acme/x").body("text"),
        "req-first",
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.text(),
        error_body(
            "bad_request",
            "invalid path parameter `id`: expected an integer from 0 to 18446744073709551615",
            "req-first"
        )
    );
    // The path and query pass; the body is not JSON: 415 before the tenant is looked at.
    let res = call_as(
        &app,
        TestRequest::post("/without/acme/1?page=1").body("text"),
        "req-second",
    )
    .await;
    assert_eq!(res.status(), 415);
    assert_eq!(
        res.text(),
        error_body(
            "unsupported_media_type",
            "expected content-type application/json",
            "req-second"
        )
    );
    // Everything but the tenant.
    let res = call_as(
        &app,
        TestRequest::post("/with/acme/1?page=1").json(&json!({"text": "t"})),
        "req-last",
    )
    .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.text(),
        error_body("unauthorized", "missing tenant", "req-last")
    );
}

#[tokio::test]
async fn handlers_without_arguments_or_with_the_context_alone_still_work() {
    let app = handlers_app();
    for (req, body) in [
        (TestRequest::get("/nothing"), "nothing at all"),
        (TestRequest::get("/one/5"), "5"),
        (TestRequest::get("/ctx"), "GET"),
        (
            TestRequest::post("/ctx-and-json").json(&json!({"text": "hi"})),
            "hi",
        ),
    ] {
        let res = call(&app, req).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.text(), body);
    }
}

// ---------------------------------------------------------------------------------------------
// The method verbs on App, Group and Route
// ---------------------------------------------------------------------------------------------

async fn method(ctx: Context) -> String {
    format!(
        "{} {}",
        ctx.request().method(),
        ctx.route().template().unwrap_or("-")
    )
}

#[tokio::test]
async fn app_group_and_route_share_the_method_verbs() {
    let app = App::new()
        .get("/app", method)
        .post("/app", method)
        .put("/app", method)
        .patch("/app", method)
        .delete("/app", method)
        .head("/app", method)
        .options("/app", method)
        .any("/app/any", method)
        .group("/group", |g| {
            g.get("/v", method)
                .post("/v", method)
                .put("/v", method)
                .patch("/v", method)
                .delete("/v", method)
                .head("/v", method)
                .options("/v", method)
                .any("/any", method)
        })
        .route(
            "/route",
            Route::new()
                .get(method)
                .post(method)
                .put(method)
                .patch(method)
                .delete(method)
                .head(method)
                .options(method),
        )
        .route("/route/any", Route::new().any(method))
        .build()
        .unwrap();
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    for (path, any) in [
        ("/app", "/app/any"),
        ("/group/v", "/group/any"),
        ("/route", "/route/any"),
    ] {
        for m in &methods {
            let res = call(&app, TestRequest::new(m.clone(), path)).await;
            assert_eq!(res.status(), 200, "{m} {path}");
            assert_eq!(res.text(), format!("{m} {path}"));
            let res = call(&app, TestRequest::new(m.clone(), any)).await;
            assert_eq!(res.text(), format!("{m} {any}"));
        }
        // Its own HEAD handler: answered without the body.
        let res = call(&app, TestRequest::head(path)).await;
        assert_eq!(res.status(), 200, "HEAD {path}");
        assert_eq!(res.text(), "");
        let res = call(&app, TestRequest::new(Method::TRACE, path)).await;
        assert_eq!(res.status(), 405, "TRACE {path}");
        assert_eq!(
            res.header("allow"),
            Some("GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_get_handler_answers_head_on_every_builder() {
    let app = App::new()
        .get("/app", method)
        .group("/group", |g| g.get("/v", method))
        .route("/route", Route::new().get(method))
        .build()
        .unwrap();
    for path in ["/app", "/group/v", "/route"] {
        let res = call(&app, TestRequest::head(path)).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.text(), "");
        let res = call(&app, TestRequest::post(path)).await;
        assert_eq!(res.status(), 405, "{path}");
        assert_eq!(res.header("allow"), Some("GET, HEAD"), "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// The http types, through lift::http
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_http_types_are_named_through_lift() {
    let app = App::new()
        .get("/teapot", |_: Context| async {
            Response::text("short and stout")
                .with_status(StatusCode::IM_A_TEAPOT)
                .with_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
        })
        .build()
        .unwrap();
    let res = call(&app, TestRequest::get("/teapot")).await;
    assert_eq!(res.status(), 418);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.text(), "short and stout");
}
