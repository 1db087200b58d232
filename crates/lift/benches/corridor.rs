//! The corridor for an HTTP API v2 event: detect, parse, route, a handler returning JSON, and
//! the response serialised in the v2 shape — next to the cost of only deserialising the same
//! event into `aws_lambda_events`' owned type, which is what a hand-written function pays
//! before it does any work.
//!
//! `cargo bench -p lift --bench corridor`

// A bench is a test harness: a broken fixture should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
mod support;
use support::ready;

use criterion::{criterion_group, criterion_main, Criterion};
use lift::http::Json;
use lift::{App, Context, LambdaContext};
use serde::Serialize;

/// The W1 event: `GET /users/42` from an HTTP API, 13 headers, a full request context.
const EVENT: &str = include_str!("../../../tests/fixtures/w1-event.json");

#[derive(Serialize)]
struct User<'a> {
    id: &'a str,
}

async fn get_user(ctx: Context) -> Json<User<'static>> {
    // The id is copied into a 'static string as a handler returning owned data would.
    let id: &'static str = if ctx.route().param("id") == Some("42") {
        "42"
    } else {
        "?"
    };
    Json(User { id })
}

fn corridor(c: &mut Criterion) {
    let compact: serde_json::Value = serde_json::from_str(EVENT).unwrap();
    let bytes = Bytes::from(serde_json::to_vec(&compact).unwrap());
    let app = App::new().get("/users/{id}", get_user).build().unwrap();
    let lambda = LambdaContext::local(
        "8f7d8f2a-0000-4000-8000-000000000001",
        Duration::from_secs(3),
    );

    let mut g = c.benchmark_group("corridor_v2");
    g.bench_function("lift_invoke_to_json", |b| {
        b.iter(|| {
            let inv = ready(app.invoke(bytes.clone(), lambda.clone()));
            inv.reply.unwrap().to_json()
        })
    });
    g.bench_function("aws_lambda_events_parse_only", |b| {
        b.iter(|| {
            serde_json::from_slice::<aws_lambda_events::apigw::ApiGatewayV2httpRequest>(&bytes)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, corridor);
criterion_main!(benches);
