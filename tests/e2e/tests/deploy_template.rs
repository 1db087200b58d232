//! The SAM template in deploy/ is valid CloudFormation (cfn-lint, offline), and it deploys
//! exactly the examples the workspace builds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/template.yaml")
}

#[test]
fn the_sam_template_passes_cfn_lint() {
    let cfn_lint = common::find_tool("cfn-lint").unwrap_or_else(|| {
        panic!("`cfn-lint` was not found: run scripts/setup.sh (scripts/test.sh does)")
    });
    let out = Command::new(cfn_lint).arg(template()).output().unwrap();
    assert!(
        out.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_template_points_at_each_example_binary() {
    let text = std::fs::read_to_string(template()).unwrap();
    for example in [
        "hello-world",
        "observability",
        "middleware-showcase",
        "events",
    ] {
        assert!(
            text.contains(&format!("CodeUri: ../target/lambda/{example}/")),
            "deploy/template.yaml does not deploy {example}"
        );
    }
    // The events example turns partial batch responses on; Lambda needs this to honour them.
    assert!(text.contains("ReportBatchItemFailures"));
}

#[test]
fn every_function_is_traced_and_may_send_segments() {
    let text = std::fs::read_to_string(template()).unwrap();
    // In Globals, so every function has active tracing.
    let globals = text.split("Resources:").next().unwrap();
    assert!(globals.contains("Tracing: Active"), "{globals}");
    assert!(text.contains("- xray:PutTraceSegments"));
}
