//! The SAM template in deploy/ is valid CloudFormation (cfn-lint, offline), and it deploys
//! exactly the examples the workspace has, each wired to what its app handles and granted only
//! what it calls.
//!
//! The template is parsed by cfn-lint's own YAML loader (in the test venv), which turns the
//! short tags into their long forms (`!Ref X` → `{"Ref": "X"}`, `!GetAtt A.B` →
//! `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` → `{"Fn::Sub": "s"}`), and is read as JSON.
//!
//! - **Every example** (the directories of `examples/`, listed when the test runs) has one
//!   `AWS::Serverless::Function` whose `CodeUri` is `../target/lambda/<example>/`, and there is
//!   no other function; `provided.al2023`, arm64, `bootstrap` and active tracing come from
//!   `Globals` and no function changes them.
//! - **The environment** of each function (`Globals` merged with its own) is exactly what its
//!   `main.rs` reads: for observability the log group resource and PutMetricData, for
//!   multi-tenant-api the JWT parameters (the secret one `NoEcho`, no plaintext default).
//! - **IAM.** Each function's `Policies` are inline statements with exactly the actions it
//!   needs (docs/operations.md, "IAM permissions"): none for the functions that only write to
//!   stdout; for observability the three logs actions on the two ARN forms of its log group,
//!   PutMetricData limited by `cloudwatch:namespace` to its `POWERTOOLS_METRICS_NAMESPACE`, and
//!   the two X-Ray actions. No statement anywhere allows `*` or `<service>:*`.
//! - **The wiring.** Each function's events are exactly the routes, queues, rules and schedules
//!   its app registers, HTTP routes on an HTTP API of its own; both SQS consumers report batch
//!   item failures, and multi-tenant-api's queue is its own, with a dead-letter queue.
//! - **Outputs** name every API and every queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

/// The namespace `Globals` give every function, and the one observability's metrics condition
/// must name.
const NAMESPACE: &str = "Lift/Examples";

fn template_path() -> PathBuf {
    common::workspace_root().join("deploy/template.yaml")
}

/// The template as JSON, through cfn-lint's YAML loader (which knows CloudFormation's tags).
fn template() -> Value {
    const TO_JSON: &str = r#"
import json, sys
from cfnlint.decode import decode
template, problems = decode(sys.argv[1])
if problems:
    sys.exit("\n".join(str(p) for p in problems))
json.dump(template, sys.stdout)
"#;
    let out = Command::new(common::venv_python())
        .arg("-c")
        .arg(TO_JSON)
        .arg(template_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "deploy/template.yaml does not load:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The directories of `examples/`: each is a workspace example the template must deploy.
fn examples() -> BTreeSet<String> {
    let dir = common::workspace_root().join("examples");
    let names: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    assert!(!names.is_empty(), "no examples in {}", dir.display());
    names
}

fn resources(t: &Value) -> &serde_json::Map<String, Value> {
    t["Resources"].as_object().expect("no Resources")
}

/// Example name → (logical id, resource) of its function, found by `CodeUri`.
fn functions(t: &Value) -> BTreeMap<String, (String, Value)> {
    let mut by_example = BTreeMap::new();
    for (id, r) in resources(t) {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let uri = r["Properties"]["CodeUri"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} has no CodeUri"));
        let example = uri
            .strip_prefix("../target/lambda/")
            .and_then(|s| s.strip_suffix('/'))
            .unwrap_or_else(|| panic!("{id}: CodeUri {uri} is not ../target/lambda/<name>/"));
        let previous = by_example.insert(example.to_owned(), (id.clone(), r.clone()));
        assert!(previous.is_none(), "two functions deploy {example}");
    }
    by_example
}

fn function<'a>(fns: &'a BTreeMap<String, (String, Value)>, example: &str) -> &'a Value {
    &fns.get(example)
        .unwrap_or_else(|| panic!("deploy/template.yaml deploys no function for {example}"))
        .1["Properties"]
}

/// `Globals.Function.Environment` with the function's own variables over it, as SAM merges them.
fn environment(t: &Value, props: &Value) -> BTreeMap<String, Value> {
    let mut env = BTreeMap::new();
    for vars in [
        &t["Globals"]["Function"]["Environment"]["Variables"],
        &props["Environment"]["Variables"],
    ] {
        if let Some(vars) = vars.as_object() {
            env.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    env
}

fn env_of(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// A statement's actions, whether it names one (`"a:B"`) or a list.
fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(list) => list
            .iter()
            .map(|a| a.as_str().expect("an action is not a string").to_owned())
            .collect(),
        other => panic!("a statement's Action is {other}: {statement}"),
    }
}

/// The statements of a function's `Policies`, which must all be inline policy documents (no
/// managed policy, no SAM policy template: their actions are not written here).
fn statements(example: &str, props: &Value) -> Vec<Value> {
    let Some(policies) = props.get("Policies") else {
        return Vec::new();
    };
    let policies = policies
        .as_array()
        .unwrap_or_else(|| panic!("{example}: Policies is not a list"));
    let mut all = Vec::new();
    for p in policies {
        assert_eq!(
            p["Version"], "2012-10-17",
            "{example}: a policy that is not an inline document of version 2012-10-17: {p}"
        );
        let st = p["Statement"]
            .as_array()
            .unwrap_or_else(|| panic!("{example}: a policy without a Statement list: {p}"));
        all.extend(st.iter().cloned());
    }
    all
}

/// Every object in `v` that has a `Statement` list: inline policies of SAM functions and of any
/// IAM resource alike.
fn all_statements(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(st)) = map.get("Statement") {
                out.extend(st.iter().cloned());
            }
            map.values().for_each(|x| all_statements(x, out));
        }
        Value::Array(list) => list.iter().for_each(|x| all_statements(x, out)),
        _ => {}
    }
}

/// One line per event: what a reader of main.rs would expect to see.
fn events(example: &str, props: &Value) -> BTreeSet<String> {
    let Some(events) = props["Events"].as_object() else {
        return BTreeSet::new();
    };
    events
        .iter()
        .map(|(name, e)| {
            let p = &e["Properties"];
            let s = |k: &str| {
                p[k].as_str()
                    .unwrap_or_else(|| panic!("{example} {name}: {k}"))
            };
            match e["Type"].as_str().unwrap() {
                "HttpApi" => {
                    let api = p["ApiId"]["Ref"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{example} {name}: on the implicit HTTP API"));
                    let auth = match p["Auth"]["Authorizer"].as_str() {
                        Some(a) => format!(" (authorizer {a})"),
                        None => String::new(),
                    };
                    format!("HttpApi {api} {} {}{auth}", s("Method"), s("Path"))
                }
                "Api" => format!("Api {} {}", s("Method"), s("Path")),
                "SQS" => format!(
                    "SQS {} batch {} {}",
                    p["Queue"]["Fn::GetAtt"][0].as_str().unwrap(),
                    p["BatchSize"],
                    p["FunctionResponseTypes"]
                ),
                "EventBridgeRule" => format!(
                    "EventBridgeRule {} {}",
                    p["Pattern"]["source"], p["Pattern"]["detail-type"]
                ),
                "Schedule" => format!("Schedule {} {}", s("Name"), s("Schedule")),
                "S3" => format!(
                    "S3 {} {}",
                    p["Bucket"]["Ref"].as_str().unwrap(),
                    s("Events")
                ),
                other => panic!("{example} {name}: an event of type {other}"),
            }
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_sam_template_passes_cfn_lint() {
    let cfn_lint = common::find_tool("cfn-lint").unwrap_or_else(|| {
        panic!("`cfn-lint` was not found: run scripts/setup.sh (scripts/test.sh does)")
    });
    let out = Command::new(cfn_lint)
        .arg(template_path())
        .output()
        .unwrap();
    // Exit 0 means no error and no warning; anything printed is a finding too.
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_example_is_deployed_once_on_arm64_with_active_tracing() {
    let t = template();
    let fns = functions(&t);
    let deployed: BTreeSet<String> = fns.keys().cloned().collect();
    assert_eq!(
        deployed,
        examples(),
        "deploy/template.yaml must deploy each directory of examples/, and nothing else"
    );
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], json!(["arm64"]));
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Tracing"], "Active");
    for (example, (id, r)) in &fns {
        for key in ["Runtime", "Architectures", "Handler", "Tracing"] {
            assert!(
                r["Properties"].get(key).is_none(),
                "{example} ({id}) overrides Globals' {key}"
            );
        }
    }
}

#[test]
fn each_function_gets_the_environment_its_app_reads() {
    let t = template();
    let fns = functions(&t);
    let ns = json!(NAMESPACE);
    assert_eq!(
        t["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"],
        ns
    );
    let expected = BTreeMap::from([
        (
            "hello-world",
            env_of(&[
                ("POWERTOOLS_SERVICE_NAME", json!("hello-world")),
                ("POWERTOOLS_METRICS_NAMESPACE", ns.clone()),
            ]),
        ),
        (
            "observability",
            env_of(&[
                ("POWERTOOLS_SERVICE_NAME", json!("greeter")),
                ("POWERTOOLS_METRICS_NAMESPACE", ns.clone()),
                (
                    "LIFT_CLOUDWATCH_LOG_GROUP",
                    json!({"Ref": "ObservabilityLogGroup"}),
                ),
                ("LIFT_CLOUDWATCH_METRICS", json!("1")),
            ]),
        ),
        (
            "middleware-showcase",
            env_of(&[
                ("POWERTOOLS_SERVICE_NAME", json!("middleware-showcase")),
                ("POWERTOOLS_METRICS_NAMESPACE", ns.clone()),
            ]),
        ),
        (
            "events",
            env_of(&[
                ("POWERTOOLS_SERVICE_NAME", json!("events")),
                ("POWERTOOLS_METRICS_NAMESPACE", ns.clone()),
            ]),
        ),
        (
            "multi-tenant-api",
            env_of(&[
                ("POWERTOOLS_SERVICE_NAME", json!("multi-tenant-api")),
                ("POWERTOOLS_METRICS_NAMESPACE", ns.clone()),
                ("JWT_ISSUER", json!({"Ref": "JwtIssuer"})),
                ("JWT_AUDIENCE", json!({"Ref": "JwtAudience"})),
                ("JWKS_URL", json!({"Ref": "JwksUrl"})),
                ("JWT_SECRET", json!({"Ref": "JwtSecret"})),
            ]),
        ),
    ]);
    for example in examples() {
        let want = expected
            .get(example.as_str())
            .unwrap_or_else(|| panic!("no expected environment for the example {example}"));
        assert_eq!(
            &environment(&t, function(&fns, &example)),
            want,
            "the environment of {example}"
        );
    }

    // The group LIFT_CLOUDWATCH_LOG_GROUP names is a log group of the stack, with a retention.
    let group = &resources(&t)["ObservabilityLogGroup"];
    assert_eq!(group["Type"], "AWS::Logs::LogGroup");
    assert_eq!(group["Properties"]["RetentionInDays"], 30);

    // The JWT parameters: the issuer and audience required, the two key sources optional (an
    // empty value is unset for the app), the secret hidden and without a plaintext default.
    let params = &t["Parameters"];
    for name in ["JwtIssuer", "JwtAudience"] {
        assert_eq!(params[name]["Type"], "String", "{name}");
        assert!(
            params[name].get("Default").is_none(),
            "{name} has a default"
        );
    }
    assert_eq!(params["JwksUrl"]["Default"], "");
    assert_eq!(params["JwtSecret"]["NoEcho"], true);
    assert_eq!(params["JwtSecret"]["Default"], "");
    for (name, p) in params.as_object().unwrap() {
        let secret = name.to_ascii_lowercase().contains("secret");
        assert!(
            !secret || p["NoEcho"] == true,
            "the parameter {name} holds a secret but is not NoEcho"
        );
    }
}

#[test]
fn each_function_is_granted_exactly_what_it_calls() {
    let t = template();
    let fns = functions(&t);

    // What docs/operations.md ("IAM permissions") lists for the exporters observability turns on
    // (no retention_days, so no logs:PutRetentionPolicy), on the group its environment names.
    let group_arn = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:\
                     ${ObservabilityLogGroup}";
    let observability = vec![
        json!({
            "Sid": "LiftCloudWatchLogsExporter",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [{"Fn::Sub": group_arn}, {"Fn::Sub": format!("{group_arn}:*")}]
        }),
        json!({
            "Sid": "LiftCloudWatchMetricsExporter",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": NAMESPACE}}
        }),
        json!({
            "Sid": "XRayDaemon",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*"
        }),
    ];
    // The others write only to stdout (their own log group, EMF): SAM's basic execution role
    // covers it. multi-tenant-api reads its JWT settings from the environment and fetches the
    // JWKS over HTTPS, so it calls no AWS API either.
    let expected: BTreeMap<&str, Vec<Value>> = BTreeMap::from([
        ("hello-world", vec![]),
        ("observability", observability),
        ("middleware-showcase", vec![]),
        ("events", vec![]),
        ("multi-tenant-api", vec![]),
    ]);
    for example in examples() {
        let want = expected
            .get(example.as_str())
            .unwrap_or_else(|| panic!("no expected policy for the example {example}"));
        let props = function(&fns, &example);
        assert_eq!(
            &statements(&example, props),
            want,
            "the policy statements of {example}"
        );
        assert!(
            props.get("Role").is_none(),
            "{example} brings its own role, which these statements do not describe"
        );
    }

    // The metrics condition is the namespace the function's metrics are in; the log ARNs are
    // those of the group the function writes to.
    let props = function(&fns, "observability");
    let env = environment(&t, props);
    let st = statements("observability", props);
    assert_eq!(
        st[1]["Condition"]["StringEquals"]["cloudwatch:namespace"],
        env["POWERTOOLS_METRICS_NAMESPACE"]
    );
    let group = env["LIFT_CLOUDWATCH_LOG_GROUP"]["Ref"].as_str().unwrap();
    for resource in st[0]["Resource"].as_array().unwrap() {
        let arn = resource["Fn::Sub"].as_str().unwrap();
        assert!(arn.contains(&format!(":log-group:${{{group}}}")), "{arn}");
    }

    // Anywhere in the template: no wildcard action, no NotAction, only Allow.
    let mut all = Vec::new();
    all_statements(&t["Resources"], &mut all);
    assert!(!all.is_empty());
    for s in &all {
        assert_eq!(s["Effect"], "Allow", "{s}");
        assert!(s.get("NotAction").is_none(), "{s}");
        for a in actions(s) {
            assert!(!a.contains('*'), "a wildcard action: {s}");
        }
    }
}

#[test]
fn each_function_handles_the_events_its_app_registers() {
    let t = template();
    let fns = functions(&t);
    let reported = r#"["ReportBatchItemFailures"]"#;
    let expected = BTreeMap::from([
        (
            "hello-world",
            set(&[
                "HttpApi HelloWorldApi GET /hello",
                "HttpApi HelloWorldApi GET /users/{id}",
                "HttpApi HelloWorldApi POST /users",
                "Api GET /hello",
                "Api GET /users/{id}",
                "Api POST /users",
            ]),
        ),
        (
            "observability",
            set(&[
                "HttpApi ObservabilityApi GET /hello",
                "HttpApi ObservabilityApi GET /users/{id}",
                "HttpApi ObservabilityApi POST /users",
                // AuthorizerClaims trusts what API Gateway verified.
                "HttpApi ObservabilityApi GET /me (authorizer Jwt)",
            ]),
        ),
        (
            "middleware-showcase",
            set(&[
                "HttpApi ShowcaseApi GET /hello",
                "HttpApi ShowcaseApi GET /panic",
                "HttpApi ShowcaseApi GET /slow",
                "HttpApi ShowcaseApi GET /fail",
                "HttpApi ShowcaseApi POST /echo",
                // The app's Cors answers preflights for every path.
                "HttpApi ShowcaseApi OPTIONS /{proxy+}",
            ]),
        ),
        (
            "events",
            [
                format!("SQS OrdersQueue batch 10 {reported}"),
                r#"EventBridgeRule ["lift.example"] ["Ping"]"#.to_owned(),
                "Schedule nightly-report cron(0 3 * * ? *)".to_owned(),
                "Schedule hourly-sync rate(1 hour)".to_owned(),
                "S3 UploadsBucket s3:ObjectCreated:*".to_owned(),
                "HttpApi EventsApi GET /health".to_owned(),
            ]
            .into(),
        ),
        (
            "multi-tenant-api",
            [
                format!("SQS OrderImportsQueue batch 10 {reported}"),
                "HttpApi MultiTenantApi GET /health".to_owned(),
                "HttpApi MultiTenantApi GET /tenants/{tenant}/orders".to_owned(),
                "HttpApi MultiTenantApi POST /tenants/{tenant}/orders".to_owned(),
                "HttpApi MultiTenantApi GET /tenants/{tenant}/orders/{id}".to_owned(),
                "HttpApi MultiTenantApi DELETE /tenants/{tenant}/orders/{id}".to_owned(),
            ]
            .into(),
        ),
    ]);
    let mut api_owner: BTreeMap<String, String> = BTreeMap::new();
    let mut queue_owner: BTreeMap<String, String> = BTreeMap::new();
    for example in examples() {
        let want = expected
            .get(example.as_str())
            .unwrap_or_else(|| panic!("no expected events for the example {example}"));
        let got = events(&example, function(&fns, &example));
        assert_eq!(&got, want, "the events of {example}");
        // An HTTP API and a queue serve one function: examples share route paths.
        for e in &got {
            let words: Vec<&str> = e.split(' ').collect();
            let owner = match words[0] {
                "HttpApi" => &mut api_owner,
                "SQS" => &mut queue_owner,
                _ => continue,
            };
            let previous = owner.insert(words[1].to_owned(), example.clone());
            assert!(
                previous.is_none() || previous.as_deref() == Some(example.as_str()),
                "{} serves both {example} and {previous:?}",
                words[1]
            );
        }
    }
    let res = resources(&t);
    for api in api_owner.keys() {
        assert_eq!(res[api]["Type"], "AWS::Serverless::HttpApi", "{api}");
    }

    // multi-tenant-api's queue: its own, with a dead-letter queue taking what fails 5 times.
    let queue = &res["OrderImportsQueue"];
    assert_eq!(queue["Type"], "AWS::SQS::Queue");
    assert_eq!(
        queue["Properties"]["RedrivePolicy"],
        json!({
            "deadLetterTargetArn": {"Fn::GetAtt": ["OrderImportsDeadLetterQueue", "Arn"]},
            "maxReceiveCount": 5
        })
    );
    assert_eq!(
        res["OrderImportsDeadLetterQueue"]["Type"],
        "AWS::SQS::Queue"
    );
    // Six times the function timeout, as Lambda advises for SQS event sources.
    let timeout = t["Globals"]["Function"]["Timeout"].as_u64().unwrap();
    for q in queue_owner.keys() {
        assert_eq!(res[q]["Type"], "AWS::SQS::Queue", "{q}");
        assert_eq!(
            res[q]["Properties"]["VisibilityTimeout"],
            6 * timeout,
            "{q}"
        );
        assert!(
            res[q]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"].is_object(),
            "{q} has no dead-letter queue"
        );
    }
}

#[test]
fn the_outputs_name_every_api_and_queue() {
    let t = template();
    let outputs = t["Outputs"].as_object().expect("no Outputs");
    let values: Vec<String> = outputs.values().map(|o| o["Value"].to_string()).collect();
    let mut named: Vec<String> = resources(&t)
        .iter()
        .filter(|(_, r)| {
            ["AWS::Serverless::HttpApi", "AWS::SQS::Queue"].contains(&r["Type"].as_str().unwrap())
        })
        .map(|(id, _)| id.clone())
        .collect();
    // SAM's implicit REST API (hello-world's `Api` events) and the Function URLs.
    named.push("ServerlessRestApi".to_owned());
    for id in &named {
        let by_ref = json!({"Ref": id}).to_string();
        let in_sub = format!("${{{id}}}");
        assert!(
            values.iter().any(|v| *v == by_ref || v.contains(&in_sub)),
            "no output names {id}"
        );
    }
    for (id, r) in resources(&t) {
        if r["Properties"].get("FunctionUrlConfig").is_some() {
            let url = json!({"Fn::GetAtt": [format!("{id}Url"), "FunctionUrl"]}).to_string();
            assert!(values.contains(&url), "no output gives {id}'s Function URL");
        }
    }
}
