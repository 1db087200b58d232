//! deploy/dashboard.json is a CloudWatch dashboard body, as `aws cloudwatch put-dashboard`
//! takes it, and it graphs only what Lift writes.
//!
//! - **The body.** `{"widgets": [...]}`: each widget has `type`, `x`, `y`, `width`, `height` and
//!   `properties`, sits inside the 24-column grid and overlaps no other; metric widgets have a
//!   region, a view, valid statistics and periods, and `metrics` rows that are either
//!   `[namespace, metric, dimension, value, ..., {options}]` or `[{"expression": ...}]`; log
//!   widgets a Logs Insights query with its `SOURCE`; text widgets markdown.
//! - **The metrics.** Every metric on the dashboard, with the dimension names it is graphed
//!   with, is one Lift writes: an app with the default `Stack` and the routes of
//!   `examples/middleware-showcase` is invoked in-process (`lift::testing::invoke`, a
//!   `MemoryExporter`) with a cold start, 2xx, 4xx and 5xx requests and a tenant past the
//!   `max_tenants` cap, and each EMF document it writes is read back through its
//!   `_aws.CloudWatchMetrics` directives. A literal row (`["Lift/Examples", "Requests",
//!   "service", ...]`) must be exactly one of the series those directives define, dimension
//!   values included; a `SEARCH('{namespace,dimensions...} MetricName="..."', ...)` must name
//!   exactly the dimension set of a series of that metric, since a search schema matches only
//!   metrics with exactly those dimensions. The dashboard graphs every metric and dimension
//!   the app writes, no more and no fewer, in the namespace deploy/template.yaml sets.
//! - **The example.** The per-route rows name the service and the routes of
//!   `examples/middleware-showcase`, the log widgets read that function's log group, and every
//!   message the warnings widget filters on is a message Lift's own code logs.

// Tests fail by panicking, with a message; that is what these are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{assert_emf_document, now_ms, workspace_root};
use lift::middleware::Stack;
use lift::observability::{MemoryExporter, Observability};
use lift::prelude::*;
use lift::testing::{invoke, TestRequest};
use serde_json::{json, Value};

/// The example the per-route widgets are for: its `POWERTOOLS_SERVICE_NAME` in the template.
const SERVICE: &str = "middleware-showcase";
/// Its log group, when the function is named after the example (docs/operations.md says how to
/// put the deployed name in).
const LOG_GROUP: &str = "/aws/lambda/middleware-showcase";
/// The functions metric math expressions on the dashboard may call.
const MATH_FUNCTIONS: &[&str] = &["SUM", "FILL"];

fn read(relative: &str) -> String {
    let path = workspace_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn dashboard() -> Value {
    serde_json::from_str(&read("deploy/dashboard.json"))
        .unwrap_or_else(|e| panic!("deploy/dashboard.json is not JSON: {e}"))
}

fn widgets(body: &Value) -> &[Value] {
    body["widgets"]
        .as_array()
        .expect("the body has no `widgets` array")
}

fn title(widget: &Value) -> &str {
    widget["properties"]["title"]
        .as_str()
        .unwrap_or("(untitled)")
}

/// `POWERTOOLS_METRICS_NAMESPACE` as the template's `Globals` set it for every function.
fn template_namespace() -> String {
    let text = read("deploy/template.yaml");
    let globals = text.split("Resources:").next().unwrap();
    globals
        .lines()
        .find_map(|l| l.trim().strip_prefix("POWERTOOLS_METRICS_NAMESPACE:"))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .expect("deploy/template.yaml sets no POWERTOOLS_METRICS_NAMESPACE in Globals")
}

/// A statistic CloudWatch accepts: the five plain ones or a percentile `pNN`/`pNN.N`.
fn valid_stat(stat: &str) -> bool {
    if ["SampleCount", "Average", "Sum", "Minimum", "Maximum"].contains(&stat) {
        return true;
    }
    stat.strip_prefix('p')
        .and_then(|p| p.parse::<f64>().ok())
        .is_some_and(|p| p > 0.0 && p <= 100.0)
}

/// A period CloudWatch accepts: 1, 5, 10, 30 (high resolution) or a multiple of 60 seconds.
fn valid_period(period: u64) -> bool {
    matches!(period, 1 | 5 | 10 | 30) || (period > 0 && period % 60 == 0)
}

/// A metric or expression id: a lower-case letter, then letters, digits and underscores.
fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One metric the dashboard graphs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Graphed {
    /// The widget's title, for messages.
    widget: String,
    namespace: String,
    metric: String,
    /// Dimension names with their values; a search names the dimensions only (`None`).
    dimensions: BTreeMap<String, Option<String>>,
}

/// A `SEARCH('{namespace,dimension,...} MetricName="name"', 'stat', period)`.
#[derive(Debug)]
struct Search {
    namespace: String,
    dimensions: BTreeSet<String>,
    metric: String,
    stat: String,
    period: u64,
}

/// A name in a search schema, without the double quotes it may be written in.
fn unquote(name: &str) -> &str {
    let name = name.trim();
    name.strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(name)
}

/// The search query `{namespace,dimensions...} MetricName="name"`. Nothing else is accepted
/// after the schema, so no search term can narrow the series by a dimension not checked here.
fn parse_query(query: &str) -> (String, BTreeSet<String>, String) {
    let rest = query
        .trim()
        .strip_prefix('{')
        .unwrap_or_else(|| panic!("search {query:?} has no {{schema}}"));
    let (schema, term) = rest
        .split_once('}')
        .unwrap_or_else(|| panic!("search {query:?}: the schema is not closed"));
    let mut names = schema.split(',').map(unquote);
    let namespace = names.next().unwrap().to_owned();
    let dimensions: BTreeSet<String> = names.map(str::to_owned).collect();
    let metric = term
        .trim()
        .strip_prefix("MetricName=\"")
        .and_then(|m| m.strip_suffix('"'))
        .unwrap_or_else(|| panic!("search {query:?}: the term is not exactly MetricName=\"...\""));
    (namespace, dimensions, metric.to_owned())
}

/// The searches in `expression`, and the expression with each replaced by `0`.
fn split_searches(expression: &str) -> (Vec<Search>, String) {
    let mut searches = Vec::new();
    let mut rest = expression;
    let mut outside = String::new();
    while let Some(at) = rest.find("SEARCH(") {
        outside.push_str(&rest[..at]);
        outside.push('0');
        let after = rest[at + "SEARCH(".len()..].trim_start();
        let after = after
            .strip_prefix('\'')
            .unwrap_or_else(|| panic!("{expression:?}: SEARCH( is not followed by a quoted query"));
        let (query, after) = after
            .split_once('\'')
            .unwrap_or_else(|| panic!("{expression:?}: the search query is not closed"));
        let (args, after) = after
            .split_once(')')
            .unwrap_or_else(|| panic!("{expression:?}: SEARCH( is not closed"));
        let args: Vec<&str> = args.split(',').map(str::trim).collect();
        let [empty, stat, period] = args[..] else {
            panic!("{expression:?}: SEARCH takes the query, a statistic and a period here")
        };
        assert_eq!(
            empty, "",
            "{expression:?}: text between the query and the statistic"
        );
        let stat = stat
            .strip_prefix('\'')
            .and_then(|s| s.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{expression:?}: the statistic {stat} is not quoted"));
        let period: u64 = period
            .parse()
            .unwrap_or_else(|_| panic!("{expression:?}: the period {period} is not a number"));
        let (namespace, dimensions, metric) = parse_query(query);
        searches.push(Search {
            namespace,
            dimensions,
            metric,
            stat: stat.to_owned(),
            period,
        });
        rest = after;
    }
    outside.push_str(rest);
    (searches, outside)
}

/// The names an expression (outside its searches) refers to: ids and functions.
fn identifiers(expression: &str) -> Vec<&str> {
    expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
        .collect()
}

/// The metrics of one metric widget, checking each row's shape on the way.
fn widget_metrics(widget: &Value) -> Vec<Graphed> {
    let name = title(widget).to_owned();
    let rows = widget["properties"]["metrics"]
        .as_array()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| panic!("{name}: properties.metrics is not a non-empty array"));
    let mut graphed = Vec::new();
    let mut ids = BTreeSet::new();
    let mut expressions = Vec::new();
    for row in rows {
        let row = row
            .as_array()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| panic!("{name}: a metrics row is not a non-empty array: {row}"));
        let (fields, options) = match row.last() {
            Some(Value::Object(o)) => (&row[..row.len() - 1], Some(o)),
            _ => (&row[..], None),
        };
        if let Some(stat) = options.and_then(|o| o.get("stat")) {
            let stat = stat.as_str().unwrap_or_default();
            assert!(valid_stat(stat), "{name}: statistic {stat:?} in {row:?}");
        }
        if let Some(id) = options.and_then(|o| o.get("id")) {
            let id = id.as_str().unwrap_or_default();
            assert!(valid_id(id), "{name}: id {id:?}");
            assert!(ids.insert(id.to_owned()), "{name}: id {id:?} used twice");
        }
        if fields.is_empty() {
            let options = options.unwrap();
            let expression = options
                .get("expression")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{name}: a row of options only must be an expression"));
            assert!(
                options.contains_key("id"),
                "{name}: expression {expression:?} has no id"
            );
            expressions.push(expression.to_owned());
            continue;
        }
        let fields: Vec<&str> = fields
            .iter()
            .map(|f| {
                f.as_str()
                    .unwrap_or_else(|| panic!("{name}: {f} in {row:?} is not a string"))
            })
            .collect();
        assert!(
            fields.len() >= 2 && fields.len() % 2 == 0,
            "{name}: {fields:?} is not [namespace, metric, (dimension, value)...]"
        );
        // The "." and ".." shorthands repeat the row above; every row here is written out.
        assert!(
            fields
                .iter()
                .all(|f| !f.is_empty() && *f != "." && *f != ".."),
            "{name}: {fields:?} uses a shorthand or an empty name"
        );
        let dimensions: BTreeMap<String, Option<String>> = fields[2..]
            .chunks(2)
            .map(|kv| (kv[0].to_owned(), Some(kv[1].to_owned())))
            .collect();
        assert_eq!(
            dimensions.len(),
            (fields.len() - 2) / 2,
            "{name}: a dimension appears twice in {fields:?}"
        );
        graphed.push(Graphed {
            widget: name.clone(),
            namespace: fields[0].to_owned(),
            metric: fields[1].to_owned(),
            dimensions,
        });
    }
    for expression in &expressions {
        let (searches, outside) = split_searches(expression);
        for token in identifiers(&outside) {
            assert!(
                MATH_FUNCTIONS.contains(&token) || ids.contains(token),
                "{name}: {expression:?} refers to {token:?}, neither an id of this widget nor \
                 one of the functions {MATH_FUNCTIONS:?}"
            );
        }
        for s in searches {
            assert!(valid_stat(&s.stat), "{name}: statistic {:?}", s.stat);
            assert!(valid_period(s.period), "{name}: period {}", s.period);
            graphed.push(Graphed {
                widget: name.clone(),
                namespace: s.namespace,
                metric: s.metric,
                dimensions: s.dimensions.into_iter().map(|d| (d, None)).collect(),
            });
        }
    }
    graphed
}

/// Every metric the dashboard graphs.
fn graphed(body: &Value) -> Vec<Graphed> {
    widgets(body)
        .iter()
        .filter(|w| w["type"] == "metric")
        .flat_map(widget_metrics)
        .collect()
}

/// The strings of a Logs Insights `filter message in [...]`.
fn filtered_messages(query: &str) -> Vec<String> {
    let Some((_, list)) = query.split_once("message in [") else {
        return Vec::new();
    };
    let (list, _) = list
        .split_once(']')
        .expect("the message list is not closed");
    serde_json::from_str(&format!("[{list}]"))
        .unwrap_or_else(|e| panic!("the message list [{list}] is not a list of strings: {e}"))
}

fn rust_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn the_dashboard_is_a_dashboard_body() {
    let body = dashboard();
    let root = body.as_object().expect("the body is not an object");
    for key in root.keys() {
        assert!(
            ["widgets", "start", "end", "periodOverride"].contains(&key.as_str()),
            "unknown top-level key {key:?}"
        );
    }
    if let Some(p) = root.get("periodOverride") {
        assert!(p == "auto" || p == "inherit", "periodOverride {p}");
    }
    let widgets = widgets(&body);
    assert!(!widgets.is_empty() && widgets.len() <= 500);

    let mut placed: Vec<(String, [u64; 4])> = Vec::new();
    let mut kinds = BTreeSet::new();
    for w in widgets {
        let o = w.as_object().expect("a widget is not an object");
        let keys: BTreeSet<&str> = o.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["height", "properties", "type", "width", "x", "y"]),
            "widget keys of {w}"
        );
        let name = title(w).to_owned();
        let int = |k: &str| {
            o[k].as_u64()
                .unwrap_or_else(|| panic!("{name}: {k} is not a non-negative integer"))
        };
        let (x, y, width, height) = (int("x"), int("y"), int("width"), int("height"));
        assert!(
            (1..=24).contains(&width) && x + width <= 24,
            "{name}: x {x}, width {width}"
        );
        assert!((1..=1000).contains(&height), "{name}: height {height}");
        for (other, [ox, oy, ow, oh]) in &placed {
            let apart = x + width <= *ox || *ox + ow <= x || y + height <= *oy || *oy + oh <= y;
            assert!(apart, "{name} overlaps {other}");
        }
        placed.push((name.clone(), [x, y, width, height]));

        let props = o["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: properties is not an object"));
        let allowed: &[&str] = match o["type"].as_str() {
            Some("metric") => {
                assert_region_and_view(
                    &name,
                    props,
                    &["timeSeries", "singleValue", "gauge", "bar", "pie"],
                );
                if let Some(stat) = props.get("stat") {
                    assert!(
                        valid_stat(stat.as_str().unwrap_or_default()),
                        "{name}: {stat}"
                    );
                }
                if let Some(period) = props.get("period") {
                    assert!(
                        valid_period(period.as_u64().unwrap_or(0)),
                        "{name}: {period}"
                    );
                }
                assert!(props.get("title").is_some_and(Value::is_string), "{name}");
                assert!(!widget_metrics(w).is_empty(), "{name}: graphs no metric");
                &[
                    "metrics", "region", "title", "view", "stacked", "stat", "period", "yAxis",
                    "legend",
                ]
            }
            Some("log") => {
                let query = props
                    .get("query")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                assert!(query.starts_with("SOURCE '"), "{name}: query {query:?}");
                assert_region_and_view(&name, props, &["table", "timeSeries", "bar", "pie"]);
                &["query", "region", "title", "view", "stacked"]
            }
            Some("text") => {
                let markdown = props.get("markdown").and_then(Value::as_str);
                assert!(
                    markdown.is_some_and(|m| !m.is_empty()),
                    "text widget: no markdown"
                );
                &["markdown", "background"]
            }
            other => panic!("{name}: widget type {other:?}"),
        };
        for key in props.keys() {
            assert!(
                allowed.contains(&key.as_str()),
                "{name}: unknown property {key:?}"
            );
        }
        kinds.insert(o["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        kinds,
        BTreeSet::from(["log".to_owned(), "metric".to_owned(), "text".to_owned()])
    );
}

/// One series Lift wrote: a metric of a directive, under one of its dimension sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Written {
    namespace: String,
    metric: String,
    dimensions: BTreeMap<String, String>,
}

async fn panics(_ctx: Context) -> &'static str {
    panic!("a bug in the handler")
}

/// What an app with the default stack and the showcase's routes writes for a cold start, 2xx,
/// 4xx and 5xx requests, and a tenant past the cap.
async fn written(namespace: &str) -> BTreeSet<Written> {
    let mem = MemoryExporter::new();
    let obs = Observability::new()
        .service(SERVICE)
        .namespace(namespace)
        .max_tenants(1)
        .export_to(mem.clone());
    let app = App::new()
        .observability(obs)
        .middleware_stack(Stack::new())
        .get("/hello", |_ctx: Context| async {
            Json(json!({ "message": "hello" }))
        })
        .get("/fail", |_ctx: Context| async {
            Err::<&'static str, _>(Error::internal(std::io::Error::other("db unreachable")))
        })
        .get("/panic", panics)
        .post(
            "/echo",
            |_ctx: Context, Json(body): Json<Value>| async move { Json(body) },
        )
        .get("/tenants/{tenant}", |ctx: Context| async move {
            ctx.set_tenant(ctx.route().param("tenant").unwrap_or_default());
            "ok"
        })
        .build()
        .unwrap();

    let earliest = now_ms();
    let requests = [
        // The process's first invocation: the cold start.
        (TestRequest::get("/hello").v2(), 200),
        (
            TestRequest::post("/echo").json(&json!({ "a": 1 })).v2(),
            200,
        ),
        (
            TestRequest::post("/echo")
                .header("content-type", "application/json")
                .body("{not json")
                .v2(),
            400,
        ),
        (TestRequest::get("/nowhere").v2(), 404),
        (TestRequest::get("/fail").v2(), 500),
        (TestRequest::get("/panic").v2(), 500),
        (TestRequest::get("/tenants/acme").v2(), 200),
        // Past `max_tenants(1)`: written as `other`, with `TenantOverflow`.
        (TestRequest::get("/tenants/globex").v2(), 200),
    ];
    for (event, status) in requests {
        let res = invoke(&app, event).await.unwrap();
        assert_eq!(res.status(), status, "{}", res.text());
    }
    let latest = now_ms();

    let mut written = BTreeSet::new();
    let mut cold_starts = 0;
    for doc in mem.metrics() {
        let emf = assert_emf_document(&doc, earliest, latest);
        for directive in &emf.directives {
            for set in &directive.dimensions {
                let dimensions: BTreeMap<String, String> = set
                    .iter()
                    .map(|d| (d.clone(), emf.raw[d].as_str().unwrap().to_owned()))
                    .collect();
                for m in &directive.metrics {
                    cold_starts += usize::from(m.name == "ColdStart");
                    written.insert(Written {
                        namespace: directive.namespace.clone(),
                        metric: m.name.clone(),
                        dimensions: dimensions.clone(),
                    });
                }
            }
        }
    }
    assert_eq!(cold_starts, 1, "one ColdStart, for the first invocation");
    written
}

#[tokio::test]
async fn every_metric_on_the_dashboard_is_one_lift_writes() {
    let namespace = template_namespace();
    let graphed = graphed(&dashboard());
    let written = written(&namespace).await;

    for g in &graphed {
        assert_eq!(
            g.namespace, namespace,
            "{}: {} is not in the namespace deploy/template.yaml sets",
            g.widget, g.metric
        );
        let found = written.iter().any(|w| {
            w.namespace == g.namespace
                && w.metric == g.metric
                && w.dimensions.len() == g.dimensions.len()
                && g.dimensions.iter().all(|(name, value)| {
                    w.dimensions
                        .get(name)
                        .is_some_and(|v| value.as_ref().is_none_or(|value| value == v))
                })
        });
        assert!(
            found,
            "{}: Lift writes no series {} with exactly the dimensions {:?}; it writes:\n{:#?}",
            g.widget, g.metric, g.dimensions, written
        );
    }

    // Every metric and dimension name the app writes is on the dashboard, and nothing else.
    let on_dashboard: (BTreeSet<&str>, BTreeSet<&str>) = (
        graphed.iter().map(|g| g.metric.as_str()).collect(),
        graphed
            .iter()
            .flat_map(|g| g.dimensions.keys().map(String::as_str))
            .collect(),
    );
    let from_lift: (BTreeSet<&str>, BTreeSet<&str>) = (
        written.iter().map(|w| w.metric.as_str()).collect(),
        written
            .iter()
            .flat_map(|w| w.dimensions.keys().map(String::as_str))
            .collect(),
    );
    assert_eq!(on_dashboard, from_lift);
    assert_eq!(
        on_dashboard,
        (
            BTreeSet::from([
                "ColdStart",
                "Errors4xx",
                "Errors5xx",
                "Latency",
                "Requests",
                "TenantOverflow"
            ]),
            BTreeSet::from([
                "function_name",
                "method",
                "route",
                "service",
                "status_class",
                "tenant"
            ]),
        )
    );
}

#[test]
fn the_per_route_widgets_are_the_showcase_s_routes() {
    let template = read("deploy/template.yaml");
    assert!(
        template.contains(&format!("POWERTOOLS_SERVICE_NAME: {SERVICE}")),
        "deploy/template.yaml deploys no function with the service {SERVICE}"
    );
    let showcase = read("examples/middleware-showcase/src/main.rs");
    let mut literal = 0;
    for g in graphed(&dashboard()) {
        if g.dimensions.values().any(Option::is_none) {
            continue;
        }
        literal += 1;
        let value = |name: &str| {
            g.dimensions
                .get(name)
                .cloned()
                .flatten()
                .unwrap_or_else(|| panic!("{}: {} has no {name}", g.widget, g.metric))
        };
        assert_eq!(value("service"), SERVICE, "{}", g.widget);
        let (route, method) = (value("route"), value("method"));
        if route != "unmatched" {
            let registered = format!(".{}(\"{route}\"", method.to_ascii_lowercase());
            assert!(
                showcase.contains(&registered),
                "{}: examples/middleware-showcase has no {method} {route}",
                g.widget
            );
        }
    }
    assert!(literal > 0, "the dashboard has no per-route rows");
}

#[test]
fn the_log_widgets_read_the_showcase_s_log_group_and_lift_s_own_messages() {
    let mut sources = String::new();
    for dir in ["crates/lift/src", "crates/lift-aws/src"] {
        rust_sources(&workspace_root().join(dir), &mut sources);
    }
    let body = dashboard();
    let mut messages = 0;
    for w in widgets(&body).iter().filter(|w| w["type"] == "log") {
        let query = w["properties"]["query"].as_str().unwrap();
        let source = query
            .strip_prefix("SOURCE '")
            .and_then(|q| q.split_once('\''))
            .map(|(group, _)| group)
            .unwrap();
        assert_eq!(source, LOG_GROUP, "{}", title(w));
        for message in filtered_messages(query) {
            messages += 1;
            assert!(
                sources.contains(&format!("\"{message}\"")),
                "{}: Lift logs no line with the message {message:?}",
                title(w)
            );
        }
    }
    assert!(messages > 0, "no log widget filters on Lift's own messages");
}

/// A widget names a region, and a view among `views`.
fn assert_region_and_view(name: &str, props: &serde_json::Map<String, Value>, views: &[&str]) {
    let region = props.get("region").and_then(Value::as_str);
    assert!(region.is_some_and(|r| !r.is_empty()), "{name}: no region");
    let view = props
        .get("view")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(views.contains(&view), "{name}: view {view:?}");
}
