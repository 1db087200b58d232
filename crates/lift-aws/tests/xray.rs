//! The X-Ray interceptor on real SDK calls: Secrets Manager calls made from a handler, to moto
//! through the test proxy (which records the `X-Amzn-Trace-Id` each request carried), become
//! `aws` subsegments under the handler's; the CloudWatch Logs exporter's own calls in the same
//! app are not traced.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{sdk_config, Moto, Server};
use lift::observability::{Exporter, MemoryExporter, Observability};
use lift::prelude::*;
use lift::testing::{invoke_with, TestRequest};
use lift::LambdaContext;
use lift_aws::aws_sdk_secretsmanager as sm;
use lift_aws::logs::CloudWatchLogsExporter;
use lift_aws::xray::XRayInterceptor;
use serde_json::Value;

const TRACE: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

#[tokio::test]
async fn sdk_calls_from_a_handler_are_aws_subsegments_and_the_exporters_calls_are_not() {
    let moto = Moto::start();
    let proxy = Server::proxy(&moto);
    let config = sdk_config(&proxy).await;
    let plain = sm::Client::new(&config);
    plain
        .create_secret()
        .name("db")
        .secret_string("s3cr3t")
        .send()
        .await
        .unwrap();
    let traced = sm::Client::from_conf(
        sm::config::Builder::from(&config)
            .interceptor(XRayInterceptor::new())
            .build(),
    );

    let mem = MemoryExporter::new();
    let logs = CloudWatchLogsExporter::builder("/lift/xray")
        .stream_pattern("s")
        .build(&config);
    let app = App::new()
        .observability(
            Observability::new()
                .export_to(mem.clone())
                .export_to(logs.clone()),
        )
        .get("/secret", move |ctx: Context| {
            let traced = traced.clone();
            async move {
                ctx.logger().info("fetching", &[]);
                let found = traced.get_secret_value().secret_id("db").send().await;
                let missing = traced.get_secret_value().secret_id("nope").send().await;
                format!("{} {}", found.is_ok(), missing.is_err())
            }
        })
        .build()
        .unwrap();
    let mut lambda = LambdaContext::local("req-x", Duration::from_secs(30));
    lambda.xray_trace_id = Some(TRACE.to_owned());
    let res = invoke_with(&app, TestRequest::get("/secret").v2(), lambda)
        .await
        .unwrap();
    assert_eq!(res.text(), "true true");

    let spans = mem.spans();
    let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    // The handler's span and the two calls: no span for the exporter's PutLogEvents.
    assert_eq!(
        names,
        ["## GET /secret", "Secrets Manager", "Secrets Manager"],
        "{spans:#?}"
    );
    let (handler, found, missing) = (&spans[0], &spans[1], &spans[2]);
    for call in [found, missing] {
        assert_eq!(call["parent_id"], handler["id"]);
        assert_eq!(call["namespace"], "aws");
        assert_eq!(call["aws"]["operation"], "GetSecretValue");
        assert_eq!(call["aws"]["region"], "us-east-1");
        assert!(
            !call["aws"]["request_id"].as_str().unwrap().is_empty(),
            "{call}"
        );
    }
    assert_eq!(found["http"]["status"], 200);
    assert!(found.get("error").is_none(), "{found}");
    // The status as the service sent it (moto answers ResourceNotFoundException with 404).
    assert_eq!(missing["http"]["status"], 404);
    assert_eq!(missing["cause"], "service error");

    // Each traced call carried its own subsegment as the parent; the other calls (the set-up,
    // the exporter's) no header of ours.
    let headers = proxy.trace_headers();
    let ours: Vec<&String> = headers
        .iter()
        .flatten()
        .filter(|h| h.contains("5759e988"))
        .collect();
    let expected: Vec<String> = [found, missing]
        .iter()
        .map(|c| {
            format!(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent={};Sampled=1",
                c["id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(ours, expected.iter().collect::<Vec<_>>());
    // The log line went to CloudWatch Logs, untraced.
    assert_eq!(logs.stats().written, 1);
    let stored: Vec<Value> = mem.logs();
    assert_eq!(stored.len(), 1);
}
