//! Concurrent mode under the real Runtime API: with `AWS_LAMBDA_MAX_CONCURRENCY` set, the
//! function polls for several invocations at once (as on Lambda Managed Instances), and each
//! answer still belongs to its own request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::thread;

use common::Emulator;
use serde_json::Value;

fn event(name: &str) -> Vec<u8> {
    let mut e = common::fixture_json("hello-v2.json");
    e["rawQueryString"] = Value::String(format!("name={name}"));
    e["queryStringParameters"] = serde_json::json!({ "name": name });
    serde_json::to_vec(&e).unwrap()
}

#[test]
fn concurrent_invocations_each_get_their_own_answer() {
    let emu = Emulator::start_function("hello-world", &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]);
    let port = emu.port();
    let target = format!("/2015-03-31/functions/{}/invocations", emu.function_name());
    let answers: Vec<(String, Value)> = thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let target = &target;
                s.spawn(move || {
                    let name = format!("caller{i}");
                    let headers = [("Content-Type", "application/json")];
                    let resp = common::http(port, "POST", target, &headers, &event(&name));
                    (name, resp.json())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (name, reply) in answers {
        assert_eq!(reply["statusCode"], 200, "{name}: {reply}");
        assert_eq!(
            reply["body"],
            format!(r#"{{"message":"Hello, {name}!"}}"#),
            "{name}: {reply}"
        );
    }
}
