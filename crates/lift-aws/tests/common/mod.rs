//! What the integration tests share: a moto server, and the test proxy in front of it
//! (`proxy/aws_proxy.py`: CBOR translation for CloudWatch, injected faults), each started on a
//! free loopback port and stopped on drop (even when an assertion fails), and the SDK
//! configured for them.
//!
//! `moto_server` and the venv's Python come from the test venv that `scripts/setup.sh` makes:
//! `$LIFT_VENV/bin`, then `PATH`, then `~/.cache/lift/venv/bin`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::env;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lift_aws::aws_config::retry::RetryConfig;
use lift_aws::aws_config::{self, BehaviorVersion, Region, SdkConfig};
// Every SDK crate re-exports the same `Credentials`.
#[cfg(feature = "cloudwatch-metrics")]
use lift_aws::aws_sdk_cloudwatch::config::Credentials;
#[cfg(all(not(feature = "cloudwatch-metrics"), feature = "cloudwatch-logs"))]
use lift_aws::aws_sdk_cloudwatchlogs::config::Credentials;
#[cfg(all(
    not(feature = "cloudwatch-metrics"),
    not(feature = "cloudwatch-logs"),
    feature = "secrets-manager"
))]
use lift_aws::aws_sdk_secretsmanager::config::Credentials;

/// How long a server may take to start listening: a bound so a broken venv fails the test
/// instead of hanging, never a timing assertion.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// An executable of the test venv.
pub fn venv_tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(venv) = env::var_os("LIFT_VENV").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(venv).join("bin"));
    }
    if let Some(path) = env::var_os("PATH") {
        dirs.extend(env::split_paths(&path));
    }
    if let Some(home) = env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cache/lift/venv/bin"));
    }
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` was not found in $LIFT_VENV/bin, on PATH or in ~/.cache/lift/venv/bin.\n\
                 Run scripts/setup.sh (scripts/test.sh does): it installs moto[server] and \
                 cbor2 into the test venv."
            )
        })
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("read the bound port").port()
}

/// A server process on a loopback port, killed and reaped on drop.
pub struct Server {
    name: &'static str,
    child: Option<Child>,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    fn spawn(name: &'static str, mut cmd: Command, port: u16) -> Server {
        // Servers log every request; a file takes it without a reader that could fall behind.
        let log =
            env::temp_dir().join(format!("lift-aws-{name}-{}-{port}.log", std::process::id()));
        let out = File::create(&log).expect("create the server log file");
        let err = out.try_clone().expect("clone the server log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let mut server = Server {
            name,
            child: Some(child),
            port,
            log,
        };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let started = std::time::Instant::now();
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || started.elapsed() > START_TIMEOUT {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!(
                    "{} did not listen on 127.0.0.1:{} ({}):\n{log}",
                    self.name,
                    self.port,
                    match exited {
                        Some(status) => format!("exited with {status}"),
                        None => format!("not within {START_TIMEOUT:?}"),
                    }
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server now: the endpoint stops answering.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already gone is as good as killed.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A running `moto_server`.
pub type Moto = Server;

impl Server {
    /// Start `moto_server`.
    pub fn start() -> Moto {
        let port = free_port();
        let mut cmd = Command::new(venv_tool("moto_server"));
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        Server::spawn("moto", cmd, port)
    }

    /// Start the test proxy in front of `upstream`.
    pub fn proxy(upstream: &Server) -> Server {
        let port = free_port();
        let script = format!("{}/tests/proxy/aws_proxy.py", env!("CARGO_MANIFEST_DIR"));
        let mut cmd = Command::new(venv_tool("python"));
        cmd.arg(script)
            .arg(port.to_string())
            .arg(upstream.port.to_string())
            .env("PYTHONDONTWRITEBYTECODE", "1");
        Server::spawn("proxy", cmd, port)
    }

    /// Switch the proxy's fault mode: `{"mode": "pass"}`, `{"mode": "status", "status": 500}`,
    /// `{"mode": "throttle"}`, `{"mode": "error", "status": 400, "code": "AccessDenied"}`,
    /// `{"mode": "delay", "ms": 200}`, `{"mode": "close"}`.
    pub fn set_mode(&self, mode: &str) {
        let mut s =
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connect to the proxy");
        let req = format!(
            "POST /__proxy/mode HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{mode}",
            mode.len()
        );
        s.write_all(req.as_bytes()).expect("send the mode");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(
            out.starts_with("HTTP/1.1 200"),
            "the proxy refused the mode: {out}"
        );
    }
}

impl Server {
    /// The proxy's `X-Amzn-Trace-Id` of every request so far (`None` when a request had none).
    pub fn trace_headers(&self) -> Vec<Option<String>> {
        let mut s =
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connect to the proxy");
        let req = "GET /__proxy/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        s.write_all(req.as_bytes()).expect("ask the proxy");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let body = out.split("\r\n\r\n").nth(1).unwrap_or("{}");
        let stats: serde_json::Value = serde_json::from_str(body).expect("the proxy's stats");
        stats["trace_headers"]
            .as_array()
            .map(|a| a.iter().map(|h| h.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

/// The SDK configured for `server`: its endpoint, us-east-1, static test credentials, the
/// standard retries.
pub async fn sdk_config(server: &Server) -> SdkConfig {
    sdk_config_with(server, RetryConfig::standard()).await
}

/// [`sdk_config`] with other retries.
pub async fn sdk_config_with(server: &Server, retry: RetryConfig) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(server.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .retry_config(retry)
        .load()
        .await
}
