//! Records the versions the `sample` mode reports: rustc, and lift's and jsonwebtoken's from
//! the workspace lock file.

use std::process::Command;

fn lock_version(lock: &str, name: &str) -> String {
    let needle = format!("[[package]]\nname = \"{name}\"\nversion = \"");
    lock.find(&needle)
        .and_then(|i| lock[i + needle.len()..].split('"').next())
        .unwrap_or("?")
        .to_owned()
}

fn main() {
    println!("cargo:rerun-if-changed=../../Cargo.lock");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let lock = std::fs::read_to_string(format!("{dir}/../../Cargo.lock")).unwrap_or_default();
    for (name, var) in [
        ("jsonwebtoken", "W1_V_JSONWEBTOKEN"),
        ("serde_json", "W1_V_SERDE_JSON"),
        ("tokio", "W1_V_TOKIO"),
    ] {
        println!("cargo:rustc-env={var}={}", lock_version(&lock, name));
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "?".into());
    println!("cargo:rustc-env=W1_V_RUSTC={version}");
}
