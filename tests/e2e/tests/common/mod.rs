//! Harness shared by the end-to-end tests.
//!
//! The tests drive the already-built example binaries (`hello-world`, `observability`,
//! `middleware-showcase`, `events`) and this package's own test functions (`src/bin/`, e.g.
//! `lifecycle`) from the outside: as the local dev server over HTTP, and behind the cargo-lambda
//! Runtime API emulator.
//! Nothing here builds anything; `scripts/test.sh` builds the examples and
//! `cargo build -p lift-e2e --bins` first and exports `LIFT_E2E_BIN_DIR`.
//!
//! Everything a test starts is wrapped in a [`Proc`], which kills the child's whole process group
//! on drop, so no process outlives its test even when an assertion fails half-way.
//!
//! The HTTP client is written by hand over `std::net::TcpStream`: the tests need exact status
//! lines and raw headers, one request per connection, and no extra dependency tree.

// Each test crate compiles its own copy of this module and uses a different part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

mod key_server;
#[allow(unused_imports)] // not every test binary starts a key server
pub use key_server::{KeyServer, Serve};
mod xray_daemon;
#[allow(unused_imports)] // not every test binary needs the daemon
pub use xray_daemon::XRayDaemon;

/// The default example under test: its package, binary and Lambda function name are all this.
pub const FUNCTION: &str = "hello-world";

/// How many times (and how often) the harness polls for a process to become ready. This is a
/// bound so a broken build fails instead of hanging, never a timing assertion.
const POLL_TRIES: u32 = 1200;
const POLL_EVERY: Duration = Duration::from_millis(50);

/// Socket read timeout: a request the function never answers fails the test instead of hanging.
const IO_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------------
// Locations
// ---------------------------------------------------------------------------------------------

/// The workspace root (two levels above this package).
pub fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize()
        .unwrap_or_else(|e| panic!("cannot resolve workspace root {}: {e}", dir.display()))
}

/// A committed event fixture from `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    let path = workspace_root().join("tests/fixtures").join(name);
    assert!(path.is_file(), "fixture {} is missing", path.display());
    path
}

/// A fixture parsed as JSON.
pub fn fixture_json(name: &str) -> Value {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()))
}

/// The directory holding the built example binaries.
///
/// `LIFT_E2E_BIN_DIR` when set (scripts/test.sh sets it); otherwise the profile directory this
/// test executable was built into (`<target>/<profile>/deps/<test>` → `<target>/<profile>`),
/// which is where `cargo build -p hello-world` puts the binary for the same target dir.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = env::var_os("LIFT_E2E_BIN_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let exe = env::current_exe().unwrap_or_else(|e| panic!("cannot locate the test binary: {e}"));
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("unexpected test binary location {}", exe.display()))
}

/// The built `hello-world` binary; fails the test with instructions when it is missing.
pub fn example_bin() -> PathBuf {
    example_bin_named(FUNCTION)
}

/// The built binary `name`: an example package's (package and binary share the name), or one
/// of this package's test functions (`src/bin/<name>.rs`); fails the test with instructions
/// when it is missing.
pub fn example_bin_named(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    let build = if workspace_root().join("examples").join(name).is_dir() {
        format!("cargo build -p {name}")
    } else {
        "cargo build -p lift-e2e --bins".to_owned()
    };
    assert!(
        path.is_file(),
        "the `{name}` binary is missing at {}.\n\
         The e2e tests do not build it: run `{build}` first (scripts/test.sh does), or point \
         LIFT_E2E_BIN_DIR at the directory that holds it.",
        path.display()
    );
    path
}

/// The directory a function runs in: `examples/<name>` for an example, the workspace root for
/// one of this package's test functions (which has no directory of its own).
pub fn function_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("examples").join(name);
    if dir.is_dir() {
        dir
    } else {
        workspace_root()
    }
}

/// Finds an executable on `PATH`, then in `$LIFT_VENV/bin`, then in the default venv.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(venv) = env::var_os("LIFT_VENV").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(venv).join("bin"));
    }
    if let Some(home) = env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cache/lift/venv/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The test venv's Python (`python` found like [`find_tool`]), which has the reference
/// libraries scripts/setup.sh installs.
pub fn venv_python() -> PathBuf {
    let mut dirs = Vec::new();
    if let Some(venv) = env::var_os("LIFT_VENV").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(venv).join("bin/python"));
    }
    if let Some(home) = env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cache/lift/venv/bin/python"));
    }
    dirs.iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the test venv's Python was not found (tried {dirs:?}).\nRun scripts/setup.sh \
             (scripts/test.sh does): it installs the reference libraries into the venv."
            )
        })
}

/// What `py/jwt_tokens.py` prints with `args`: keys and tokens signed by PyJWT (see the
/// script's docstring).
pub fn jwt_tokens(args: &[&str]) -> Value {
    let mut cmd = Command::new(venv_python());
    cmd.arg(workspace_root().join("tests/e2e/py/jwt_tokens.py"))
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run_bounded("jwt_tokens.py", cmd);
    assert!(
        out.status.success(),
        "jwt_tokens.py failed ({}); is PyJWT[crypto] in the venv? Run scripts/setup.sh.\n{}",
        out.status,
        out.stderr
    );
    serde_json::from_str(out.stdout.trim()).expect("jwt_tokens.py prints JSON")
}

/// The `cargo-lambda` executable (installed into the test venv by scripts/setup.sh).
pub fn cargo_lambda() -> PathBuf {
    find_tool("cargo-lambda").unwrap_or_else(|| {
        panic!(
            "`cargo-lambda` was not found on PATH, in $LIFT_VENV/bin or in \
             ~/.cache/lift/venv/bin.\nRun scripts/setup.sh (scripts/test.sh does) and put the \
             venv's bin directory on PATH."
        )
    })
}

/// A TCP port that was free a moment ago: bind port 0 on loopback, read the port, release it.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("cannot read the bound port: {e}"))
        .port()
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// A child process in its own process group, with its output captured line by line.
///
/// Dropping it kills the whole group (SIGKILL) and reaps the child.
pub struct Proc {
    name: String,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout_lines: Receiver<String>,
    readers: Vec<JoinHandle<()>>,
}

impl Proc {
    /// Spawns `cmd` with piped output in a new process group.
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, stdout_lines) = mpsc::channel();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            let buf = Arc::clone(&stdout);
            readers.push(thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    lock(&buf).push(line.clone());
                    // The receiver may be gone once nobody waits for lines; keep draining.
                    let _ = tx.send(line);
                }
            }));
        }
        if let Some(err) = child.stderr.take() {
            let buf = Arc::clone(&stderr);
            readers.push(thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    lock(&buf).push(line);
                }
            }));
        }
        Proc {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
            stdout_lines,
            readers,
        }
    }

    /// The process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process printed so far, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "--- {} stdout ---\n{}\n--- {} stderr ---\n{}",
            self.name,
            lock(&self.stdout).join("\n"),
            self.name,
            lock(&self.stderr).join("\n")
        )
    }

    /// The stdout lines printed so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        lock(&self.stdout).clone()
    }

    /// The stderr lines printed so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        lock(&self.stderr).clone()
    }

    /// Waits (bounded) until `pred` holds for everything printed on stdout so far, and returns
    /// those lines. For conditions on several lines (counts, order) rather than on one.
    pub fn wait_for_stdout_lines(
        &mut self,
        what: &str,
        pred: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        for _ in 0..POLL_TRIES {
            let lines = self.stdout_lines();
            if pred(&lines) {
                return lines;
            }
            self.assert_running();
            thread::sleep(POLL_EVERY);
        }
        panic!("{} never printed {what}\n{}", self.name, self.output());
    }

    /// Fails the test, with the captured output, if the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.exit_status() {
            panic!(
                "{} exited early with {status}\n{}",
                self.name,
                self.output()
            );
        }
    }

    /// Sends `signal` (a name `kill(1)` knows, e.g. `TERM`) to the process itself (not its
    /// group).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill -{signal} {}: {e}", self.child.id()));
        assert!(
            status.success(),
            "kill -{signal} {} failed ({status})",
            self.child.id()
        );
    }

    /// Waits until the process exits, at most `limit` (a liveness bound, not a timing
    /// assertion), and returns its exit status once everything it printed has been read.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.exit_status() {
                // The pipes are at EOF once the process is gone, so the readers end promptly.
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return status;
            }
            if started.elapsed() > limit {
                panic!(
                    "{} was still running {limit:?} after it was asked to stop\n{}",
                    self.name,
                    self.output()
                );
            }
            thread::sleep(POLL_EVERY);
        }
    }

    fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .try_wait()
            .unwrap_or_else(|e| panic!("cannot poll {}: {e}", self.name))
    }

    /// Waits (bounded) for a stdout line matching `pred` and returns it.
    pub fn wait_for_stdout(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        if let Some(line) = lock(&self.stdout).iter().find(|l| pred(l)) {
            return line.clone();
        }
        for _ in 0..POLL_TRIES {
            match self.stdout_lines.recv_timeout(POLL_EVERY) {
                Ok(line) if pred(&line) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => self.assert_running(),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "{} closed stdout before printing {what}\n{}",
                        self.name,
                        self.output()
                    )
                }
            }
        }
        panic!("{} never printed {what}\n{}", self.name, self.output());
    }

    /// Waits (bounded) until something accepts TCP connections on 127.0.0.1:`port`.
    pub fn wait_for_port(&mut self, port: u16) {
        for _ in 0..POLL_TRIES {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return;
            }
            self.assert_running();
            thread::sleep(POLL_EVERY);
        }
        panic!(
            "{} never listened on port {port}\n{}",
            self.name,
            self.output()
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exit_status().is_none() {
            // The child leads its own group (process_group(0)), so -pid names the group and
            // takes any grandchildren with it. `kill(1)` keeps this crate free of unsafe FFI.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A reader thread cannot panic while holding the lock; recover the data regardless.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs a command to completion (bounded), returning its exit status and output.
pub fn run_bounded(name: &str, cmd: Command) -> Finished {
    let mut proc = Proc::spawn(name, cmd);
    for _ in 0..POLL_TRIES * 2 {
        if let Some(status) = proc.exit_status() {
            // The pipes are at EOF once the process is gone, so the readers end promptly.
            for reader in proc.readers.drain(..) {
                let _ = reader.join();
            }
            return Finished {
                status,
                stdout: lock(&proc.stdout).join("\n"),
                stderr: lock(&proc.stderr).join("\n"),
            };
        }
        thread::sleep(POLL_EVERY);
    }
    panic!("{name} did not finish\n{}", proc.output());
}

/// A finished command.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 client
// ---------------------------------------------------------------------------------------------

/// A parsed HTTP response.
pub struct HttpResponse {
    pub status: u16,
    pub reason: String,
    /// Header names as received; look them up case-insensitively with [`HttpResponse::header`].
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body as text: failure messages are read by people.
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl HttpResponse {
    /// The first value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone())
            .unwrap_or_else(|e| panic!("response body is not UTF-8: {e}\n{self:?}"))
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON: {e}\nstatus {} {}\nbody {:?}",
                self.status,
                self.reason,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the whole response.
pub fn http(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .unwrap_or_else(|e| panic!("cannot connect to 127.0.0.1:{port}: {e}"));
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .unwrap_or_else(|e| panic!("cannot set socket timeouts: {e}"));

    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .unwrap_or_else(|e| panic!("cannot send {method} {target}: {e}"));

    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("cannot read the response to {method} {target}: {e}"));
    parse_response(&raw, method == "HEAD")
        .unwrap_or_else(|why| panic!("bad response to {method} {target}: {why}\n{raw:?}"))
}

fn parse_response(raw: &[u8], head_only: bool) -> Result<HttpResponse, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|e| e.to_string())?;
    let rest = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("empty response")?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x status line: {status_line:?}"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let reason = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let body = if head_only {
        Vec::new()
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(len) = find("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad content-length {len:?}"))?;
        rest.get(..len)
            .ok_or_else(|| format!("body shorter than content-length {len}"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        reason,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("unterminated chunk size")?;
        let size_text = std::str::from_utf8(&data[..line_end]).map_err(|e| e.to_string())?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("truncated chunk")?);
        data = data.get(size + 2..).ok_or("truncated chunk trailer")?;
    }
}

// ---------------------------------------------------------------------------------------------
// Assertions shared by the dev-server and Runtime API tests
// ---------------------------------------------------------------------------------------------

/// Asserts `body` is Lift's error shape with `code`, and returns the `error` object.
///
/// `{"error":{"code":"...","message":"...","request_id":"..."}}`.
pub fn assert_error_body(body: &Value, code: &str) -> Value {
    let error = body
        .get("error")
        .unwrap_or_else(|| panic!("no `error` object in {body}"));
    assert_eq!(error["code"], code, "error code in {body}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "error.message must be a non-empty string in {body}"
    );
    let request_id = error["request_id"].as_str().unwrap_or_default();
    assert!(
        !request_id.is_empty(),
        "error.request_id must be a non-empty string in {body}"
    );
    error.clone()
}

/// Asserts the `details` of a 422 name exactly these fields (in any order, duplicates allowed).
pub fn assert_details_fields(error: &Value, fields: &[&str]) {
    let details = error["details"]
        .as_array()
        .unwrap_or_else(|| panic!("validation error without a `details` array: {error}"));
    assert!(!details.is_empty(), "empty details in {error}");
    let mut seen: Vec<&str> = Vec::new();
    for d in details {
        let field = d["field"]
            .as_str()
            .unwrap_or_else(|| panic!("detail without a `field` string: {d}"));
        let message = d["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "detail without a message: {d}");
        if !seen.contains(&field) {
            seen.push(field);
        }
    }
    seen.sort_unstable();
    let mut want = fields.to_vec();
    want.sort_unstable();
    assert_eq!(seen, want, "fields named in {error}");
}

/// Asserts a created user echoes `name` and `email` and carries a non-empty string id.
pub fn assert_created_user(body: &Value, name: &str, email: &str) {
    assert_eq!(body["name"], name, "name in {body}");
    assert_eq!(body["email"], email, "email in {body}");
    let id = body["id"].as_str().unwrap_or_default();
    assert!(!id.is_empty(), "id must be a non-empty string in {body}");
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys.len(), 3, "exactly id, name and email in {body}");
}

// ---------------------------------------------------------------------------------------------
// The Lambda side: the cargo-lambda emulator with the function attached
// ---------------------------------------------------------------------------------------------

/// `cargo lambda watch --only-lambda-apis` with a built example (`hello-world` by default)
/// polling it.
///
/// cargo-lambda's own mode would `cargo run` the function, i.e. build inside a test; instead the
/// emulator only serves the Runtime, Invoke and function-URL APIs, and the harness starts the
/// binary with the environment `cargo lambda watch` would give it (see its watcher's pre-spawn
/// hook): `AWS_LAMBDA_RUNTIME_API=http://<addr>/.rt/<function>` and the function name, version
/// and memory size.
///
/// The emulator runs with `RUST_LOG=cargo_lambda_watch=debug`, so its stdout names the request
/// id of every event it hands to the function (see [`Emulator::request_ids`]).
pub struct Emulator {
    pub port: u16,
    name: String,
    // Field order matters: the function is killed before the emulator it polls.
    function: Proc,
    /// The Runtime API tap and the file it records into, when started tapped.
    tap: Option<(Proc, PathBuf)>,
    watch: Proc,
}

/// Variables removed from the function's inherited environment under the emulator.
const FUNCTION_ENV_CLEARED: [&str; 10] = [
    "LIFT_PORT",
    "LIFT_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_MAX_CONCURRENCY",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_LOGGER_SAMPLE_RATE",
    "POWERTOOLS_METRICS_DISABLED",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_TRACE_DISABLED",
];

/// The marker cargo-lambda's watcher logs (at debug) when it hands an event to the function:
/// `processing request req_id="<uuid>" function="<name>" ...`.
const REQ_ID_MARKER: &str = "processing request req_id=\"";

impl Emulator {
    /// Starts the emulator and `hello-world`, and waits until a warm-up invoke succeeds.
    pub fn start() -> Emulator {
        Emulator::start_function(FUNCTION, &[])
    }

    /// Starts the emulator and the example `function` (its package, binary and Lambda function
    /// name; or one of this package's test functions, `src/bin/<function>.rs`, which runs from
    /// the workspace root, see [`function_dir`]) with `env` added to the function's environment,
    /// and waits until a warm-up invoke of `hello-v2.json` (`GET /hello?name=Ada`) succeeds.
    /// That warm-up is the function's first (cold) invocation.
    pub fn start_function(function: &str, env: &[(&str, &str)]) -> Emulator {
        Emulator::start_function_with_args(function, env, &[])
    }

    /// [`Emulator::start_function`] with `watch_args` added to `cargo lambda watch`'s command
    /// line, e.g. `--disable-cors`: by default the emulator wraps every route, function URLs
    /// included, in tower-http's `CorsLayer::very_permissive()`, which answers preflights itself
    /// (200, before the function sees them) and adds `Access-Control-Allow-Credentials: true` and
    /// `Vary` to every response. A real function URL with no CORS configuration passes both
    /// through to the function untouched, which `--disable-cors` reproduces.
    pub fn start_function_with_args(
        function: &str,
        env: &[(&str, &str)],
        watch_args: &[&str],
    ) -> Emulator {
        Emulator::start_function_warmed_by(function, env, watch_args, "hello-v2.json")
    }

    /// [`Emulator::start_function_with_args`] with another warm-up event: `warm_up_fixture`
    /// names a fixture holding an HTTP event the function must answer with status 200, for
    /// examples without `GET /hello` (e.g. `events/health-v2.json`, `GET /health`).
    pub fn start_function_warmed_by(
        function: &str,
        env: &[(&str, &str)],
        watch_args: &[&str],
        warm_up_fixture: &str,
    ) -> Emulator {
        Emulator::launch(function, env, watch_args, warm_up_fixture, false)
    }

    /// [`Emulator::start_function`] with a tap between the function and the Runtime API
    /// (`py/runtime_tap.py`) that records what each event came with: see
    /// [`Emulator::handed_over`].
    pub fn start_function_tapped(function: &str, env: &[(&str, &str)]) -> Emulator {
        Emulator::launch(function, env, &[], "hello-v2.json", true)
    }

    /// [`Emulator::start_function_tapped`] with another warm-up event (see
    /// [`Emulator::start_function_warmed_by`]).
    pub fn start_function_tapped_warmed_by(
        function: &str,
        env: &[(&str, &str)],
        warm_up_fixture: &str,
    ) -> Emulator {
        Emulator::launch(function, env, &[], warm_up_fixture, true)
    }

    /// For each event the function received through the tap, in order: its request id and
    /// the `Lambda-Runtime-Trace-Id` header the Runtime API sent with it.
    pub fn handed_over(&self) -> Vec<(String, Option<String>)> {
        let Some((_, file)) = &self.tap else {
            panic!("the emulator was not started tapped")
        };
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("a tap record");
                (
                    v["request_id"].as_str().unwrap_or_default().to_owned(),
                    v["trace"].as_str().map(str::to_owned),
                )
            })
            .collect()
    }

    fn launch(
        function: &str,
        env: &[(&str, &str)],
        watch_args: &[&str],
        warm_up_fixture: &str,
        tapped: bool,
    ) -> Emulator {
        let name = function.to_owned();
        let bin = example_bin_named(function);
        let cargo_lambda = cargo_lambda();
        let port = free_port();

        let mut cmd = Command::new(&cargo_lambda);
        cmd.args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
            ])
            // Long enough for a debug build under load; a hung function still fails the test.
            .args(["--timeout", "120"])
            .args(watch_args)
            .current_dir(function_dir(function))
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "cargo_lambda_watch=debug");
        let mut watch = Proc::spawn("cargo lambda watch", cmd);
        watch.wait_for_port(port);
        let (runtime_port, tap) = if tapped {
            let tap_port = free_port();
            let file = std::env::temp_dir().join(format!(
                "lift-runtime-tap-{}-{tap_port}.jsonl",
                std::process::id()
            ));
            let mut cmd = Command::new(venv_python());
            cmd.arg(workspace_root().join("tests/e2e/py/runtime_tap.py"))
                .args([tap_port.to_string(), port.to_string()])
                .arg(&file);
            let mut tap = Proc::spawn("runtime tap", cmd);
            tap.wait_for_port(tap_port);
            (tap_port, Some((tap, file)))
        } else {
            (port, None)
        };

        // Queue the first request before the function starts polling: the emulator answers a
        // poll for a function it has never seen a request for with 204 No Content, which the
        // runtime would have to skip. The warm-up goes through the plain Invoke API, which
        // relays the function's response untouched, and also tells us the function is up.
        let warm_up_event = std::fs::read(fixture(warm_up_fixture))
            .unwrap_or_else(|e| panic!("cannot read {warm_up_fixture}: {e}"));
        let invocations = format!("/2015-03-31/functions/{function}/invocations");
        let warm_up = thread::spawn(move || {
            http(
                port,
                "POST",
                &invocations,
                &[("Content-Type", "application/json")],
                &warm_up_event,
            )
        });

        let mut cmd = Command::new(&bin);
        // The caller's shell must not change what the function prints or how it schedules
        // (one invocation at a time, as in a standard Lambda sandbox): only `env` does.
        for var in FUNCTION_ENV_CLEARED {
            cmd.env_remove(var);
        }
        cmd.env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{runtime_port}/.rt/{function}"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096")
        .envs(env.iter().copied());
        let mut function = Proc::spawn(&name, cmd);

        let mut warmed_up = None;
        for _ in 0..POLL_TRIES * 2 {
            if warm_up.is_finished() {
                warmed_up = Some(warm_up.join());
                break;
            }
            function.assert_running();
            watch.assert_running();
            thread::sleep(POLL_EVERY);
        }
        let emu = Emulator {
            port,
            name,
            function,
            tap,
            watch,
        };
        match warmed_up {
            Some(Ok(resp)) => {
                let status = resp.json()["statusCode"].clone();
                assert!(
                    resp.status == 200 && status == 200,
                    "warm-up invoke of {warm_up_fixture} failed: {resp:?}\n{}",
                    emu.output()
                );
            }
            Some(Err(_)) => panic!("the warm-up invoke panicked\n{}", emu.output()),
            None => panic!("the warm-up invoke never finished\n{}", emu.output()),
        }
        emu
    }

    /// Both processes' output, for failure messages.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.watch.output(), self.function.output())
    }

    /// The function's process, e.g. to signal it ([`Proc::signal`]) and wait for it to exit
    /// ([`Proc::wait_exit`]).
    pub fn function(&mut self) -> &mut Proc {
        &mut self.function
    }

    /// The emulator's (`cargo lambda watch`'s) stdout so far: its debug log, e.g. the
    /// `registering extension` line the Extensions API logs for each registration.
    pub fn emulator_stdout(&self) -> Vec<String> {
        self.watch.stdout_lines()
    }

    /// The function's stdout so far (its logs).
    pub fn function_stdout(&self) -> Vec<String> {
        self.function.stdout_lines()
    }

    /// The function's stderr so far.
    pub fn function_stderr(&self) -> Vec<String> {
        self.function.stderr_lines()
    }

    /// Waits (bounded) until `pred` holds for the function's whole stdout so far; returns it.
    pub fn wait_for_function_stdout(
        &mut self,
        what: &str,
        pred: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        self.watch.assert_running();
        self.function.wait_for_stdout_lines(what, pred)
    }

    /// The Lambda function name the emulator serves (the example's name).
    pub fn function_name(&self) -> &str {
        &self.name
    }

    /// The request ids the emulator handed to the function so far, in order: one per
    /// invocation, as the Runtime API gave it in `Lambda-Runtime-Aws-Request-Id`.
    pub fn request_ids(&self) -> Vec<String> {
        self.watch
            .stdout_lines()
            .iter()
            .filter_map(|l| {
                let rest = &l[l.find(REQ_ID_MARKER)? + REQ_ID_MARKER.len()..];
                Some(rest[..rest.find('"')?].to_owned())
            })
            .collect()
    }

    /// Waits (bounded) until the emulator has handed out `n` events; returns their ids.
    pub fn wait_for_request_ids(&mut self, n: usize) -> Vec<String> {
        for _ in 0..POLL_TRIES {
            let ids = self.request_ids();
            if ids.len() >= n {
                return ids;
            }
            self.assert_running();
            thread::sleep(POLL_EVERY);
        }
        panic!(
            "the emulator never logged {n} `{REQ_ID_MARKER}` lines (is RUST_LOG honoured?)\n{}",
            self.output()
        );
    }

    /// Fails the test if the function or the emulator has exited.
    pub fn assert_running(&mut self) {
        self.function.assert_running();
        self.watch.assert_running();
    }

    /// A function-URL request: `http://127.0.0.1:<port>/lambda-url/<function><path>`.
    ///
    /// Fails with an explanation when the emulator itself answers 500 with its own problem
    /// body: that means it could not read the function's response as an HTTP API v2 response
    /// (cargo-lambda 1.9.2 requires a `cookies` array in it, even an empty one).
    pub fn url(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        let resp = http(
            self.port,
            method,
            &format!("/lambda-url/{}{path}", self.name),
            headers,
            body,
        );
        let emulator_failed = resp.status == 500
            && String::from_utf8_lossy(&resp.body).contains("\"title\":\"Internal Server Error\"")
            && resp.header("content-type") == Some("text/plain; charset=utf-8");
        assert!(
            !emulator_failed,
            "cargo lambda's function-URL emulator failed on {method} {path}: it could not parse \
             the function's response as an API Gateway v2 response. cargo-lambda 1.9.2 needs a \
             `cookies` array in it (`\"cookies\": []` when there are none).\n{resp:?}\n{}",
            self.output()
        );
        resp
    }

    /// The emulator's port (for calls from other threads: the emulator itself is not `Sync`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A raw Invoke API call (`POST /2015-03-31/functions/<fn>/invocations`) with these bytes.
    pub fn invoke_raw(&self, payload: &[u8]) -> HttpResponse {
        http(
            self.port,
            "POST",
            &format!("/2015-03-31/functions/{}/invocations", self.name),
            &[("Content-Type", "application/json")],
            payload,
        )
    }

    /// `cargo lambda invoke <function> --data-file <fixture> --output-format json`.
    pub fn invoke_file(&self, fixture_name: &str) -> Finished {
        self.invoke_path(&fixture(fixture_name))
    }

    /// `cargo lambda invoke <function> --data-file <path> --output-format json`, for an event
    /// file anywhere (e.g. one a test wrote into a temporary directory).
    pub fn invoke_path(&self, path: &Path) -> Finished {
        let mut cmd = Command::new(cargo_lambda());
        cmd.args(["lambda", "invoke", &self.name])
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &self.port.to_string(),
            ])
            .arg("--data-file")
            .arg(path)
            .args(["--output-format", "json", "--color", "never"])
            .current_dir(function_dir(&self.name));
        run_bounded("cargo lambda invoke", cmd)
    }

    /// Invokes a fixture that must succeed and returns the function's JSON response.
    pub fn invoke_ok(&self, fixture_name: &str) -> Value {
        let out = self.invoke_file(fixture_name);
        assert!(
            out.status.success(),
            "cargo lambda invoke {fixture_name} failed ({})\nstdout: {}\nstderr: {}\n{}",
            out.status,
            out.stdout,
            out.stderr,
            self.output()
        );
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "cargo lambda invoke {fixture_name} printed no JSON ({e})\nstdout: {}\nstderr: {}",
                out.stdout, out.stderr
            )
        })
    }
}

/// An HTTP response as a Lambda function returns it (v1, v2, ALB), normalised for assertions.
#[derive(Debug)]
pub struct LambdaHttp {
    pub status: u16,
    /// Lower-cased names; values from `headers` and `multiValueHeaders` merged.
    pub headers: BTreeMap<String, Vec<String>>,
    pub body: String,
    pub raw: Value,
}

impl LambdaHttp {
    /// Reads `statusCode`, `headers`, `multiValueHeaders`, `body` and `isBase64Encoded`.
    pub fn parse(raw: &Value) -> LambdaHttp {
        let status = raw["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("no numeric statusCode in {raw}"));
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(map) = raw.get("headers").and_then(Value::as_object) {
            for (k, v) in map {
                let v = v
                    .as_str()
                    .unwrap_or_else(|| panic!("header {k} is not a string in {raw}"));
                headers
                    .entry(k.to_ascii_lowercase())
                    .or_default()
                    .push(v.to_owned());
            }
        }
        if let Some(map) = raw.get("multiValueHeaders").and_then(Value::as_object) {
            for (k, vs) in map {
                let vs = vs
                    .as_array()
                    .unwrap_or_else(|| panic!("multiValueHeaders.{k} is not an array in {raw}"));
                let entry = headers.entry(k.to_ascii_lowercase()).or_default();
                for v in vs {
                    let v = v.as_str().unwrap_or_else(|| {
                        panic!("multiValueHeaders.{k} holds a non-string in {raw}")
                    });
                    if !entry.iter().any(|e| e == v) {
                        entry.push(v.to_owned());
                    }
                }
            }
        }
        let text = match raw.get("body") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => panic!("body is not a string: {other}"),
        };
        let body = if raw["isBase64Encoded"] == true {
            String::from_utf8(base64_decode(&text))
                .unwrap_or_else(|e| panic!("base64 body is not UTF-8: {e}"))
        } else {
            text
        };
        LambdaHttp {
            status,
            headers,
            body,
            raw: raw.clone(),
        }
    }

    /// The single value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON: {e}\n{}", self.raw))
    }

    /// Whether the top-level response object has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.raw.get(key).is_some()
    }
}

/// Standard base64 decoding (the test crate has no base64 dependency for this one use).
fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => panic!("invalid base64 byte {c:?} in {text:?}"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// CloudWatch Embedded Metric Format
// ---------------------------------------------------------------------------------------------

/// Milliseconds since the Unix epoch, now (to bound EMF timestamps).
pub fn now_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_else(|e| panic!("the clock is before 1970: {e}"));
    u64::try_from(since.as_millis()).unwrap_or_else(|e| panic!("timestamp overflow: {e}"))
}

/// The units CloudWatch accepts (`MetricDatum.Unit`), as EMF's JSON schema lists them.
pub const EMF_UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One metric definition of a MetricDirective.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EmfMetric {
    pub name: String,
    pub unit: Option<String>,
    /// `None` when absent (standard, 60 s), else 1 or 60.
    pub storage_resolution: Option<u64>,
}

/// One MetricDirective of a document, read back after validation.
#[derive(Debug, Clone)]
pub struct EmfDirective {
    pub namespace: String,
    /// The dimension sets, in document order.
    pub dimensions: Vec<Vec<String>>,
    pub metrics: Vec<EmfMetric>,
}

impl EmfDirective {
    /// The dimension sets as sets of names: the order of sets and of names in a set does not
    /// matter to CloudWatch.
    pub fn dimension_sets(&self) -> BTreeSet<BTreeSet<String>> {
        self.dimensions
            .iter()
            .map(|set| set.iter().cloned().collect())
            .collect()
    }
}

/// A validated EMF document.
#[derive(Debug, Clone)]
pub struct Emf {
    pub timestamp: u64,
    pub directives: Vec<EmfDirective>,
    pub raw: Value,
}

impl Emf {
    /// Every value of metric `name`, expanded: a number is one value, an array its elements, and
    /// `{"Values": [...], "Counts": [...]}` each value repeated `Counts` times.
    pub fn values(&self, name: &str) -> Vec<f64> {
        let v = self
            .raw
            .get(name)
            .unwrap_or_else(|| panic!("no root member {name:?} in {}", self.raw));
        expand_metric_value(v)
            .unwrap_or_else(|why| panic!("metric {name:?}: {why} in {}", self.raw))
    }

    /// The single directive (both Lift and Powertools write exactly one per document).
    pub fn directive(&self) -> &EmfDirective {
        assert_eq!(
            self.directives.len(),
            1,
            "expected exactly one MetricDirective in {}",
            self.raw
        );
        &self.directives[0]
    }

    /// The names of every metric the document defines.
    pub fn metric_names(&self) -> Vec<&str> {
        self.directives
            .iter()
            .flat_map(|d| d.metrics.iter().map(|m| m.name.as_str()))
            .collect()
    }
}

fn expand_metric_value(v: &Value) -> Result<Vec<f64>, String> {
    let num = |x: &Value| {
        x.as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| format!("{x} is not a finite number"))
    };
    match v {
        Value::Number(_) => Ok(vec![num(v)?]),
        Value::Array(items) => {
            if items.len() > 100 {
                return Err(format!("{} values in one array (at most 100)", items.len()));
            }
            items.iter().map(num).collect()
        }
        Value::Object(o) => {
            // The histogram form AWS's own EMF library (aws-embedded-metrics-java, `Histogram`)
            // writes: Values and Counts with the exact Max, Min, Count and Sum. Accepted here
            // strictly: exactly these keys, Count equal to the sum of Counts, Min <= Max.
            let keys: BTreeSet<&str> = o.keys().map(String::as_str).collect();
            if keys != BTreeSet::from(["Count", "Counts", "Max", "Min", "Sum", "Values"]) {
                return Err(format!(
                    "object value with keys {keys:?}, not Values, Counts, Max, Min, Count, Sum"
                ));
            }
            let (max, min, _sum) = (num(&o["Max"])?, num(&o["Min"])?, num(&o["Sum"])?);
            if min > max {
                return Err(format!("Min {min} is above Max {max}"));
            }
            let count = o["Count"].as_u64().ok_or("Count is not an integer")?;
            let counted: u64 = o["Counts"]
                .as_array()
                .map(|c| c.iter().filter_map(Value::as_u64).sum())
                .unwrap_or(0);
            if count != counted {
                return Err(format!(
                    "Count {count} is not the sum of Counts ({counted})"
                ));
            }
            let values = o["Values"].as_array().ok_or("Values is not an array")?;
            let counts = o["Counts"].as_array().ok_or("Counts is not an array")?;
            if values.len() != counts.len() || values.is_empty() || values.len() > 100 {
                return Err(format!(
                    "{} Values and {} Counts (equal, 1 to 100 each)",
                    values.len(),
                    counts.len()
                ));
            }
            let mut out = Vec::new();
            for (value, count) in values.iter().zip(counts) {
                let value = num(value)?;
                let count = count
                    .as_u64()
                    .filter(|c| *c > 0)
                    .ok_or_else(|| format!("count {count} is not a positive integer"))?;
                for _ in 0..count {
                    out.push(value);
                }
            }
            Ok(out)
        }
        other => Err(format!(
            "{other} is neither a number, an array nor Values/Counts"
        )),
    }
}

/// Validates `doc` against the EMF specification's structure and returns it read back:
///
/// - the root is an object whose `_aws` holds exactly `Timestamp` (integer milliseconds, within
///   `[earliest_ms, latest_ms]`) and `CloudWatchMetrics` (a non-empty array of directives);
/// - each directive holds exactly `Namespace` (1–255 characters), `Dimensions` (a non-empty
///   array of dimension sets, each at most 30 distinct names of 1–255 characters) and `Metrics`
///   (1–100 definitions with distinct `Name`s, an optional `Unit` from CloudWatch's list and an
///   optional `StorageResolution` of 1 or 60, and nothing else);
/// - every dimension name is a root member with a non-empty string value (at most 1024
///   characters), and every metric name a root member with a number, an array of at most 100
///   numbers, or a histogram (Values, Counts, Max, Min, Count, Sum); no name is both.
pub fn assert_emf_document(doc: &Value, earliest_ms: u64, latest_ms: u64) -> Emf {
    match check_emf(doc, earliest_ms, latest_ms) {
        Ok(emf) => emf,
        Err(why) => panic!("not a valid EMF document: {why}\n{doc}"),
    }
}

fn check_emf(doc: &Value, earliest_ms: u64, latest_ms: u64) -> Result<Emf, String> {
    let root = doc.as_object().ok_or("the root is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no `_aws` object")?;
    let keys: BTreeSet<&str> = aws.keys().map(String::as_str).collect();
    if keys != BTreeSet::from(["CloudWatchMetrics", "Timestamp"]) {
        return Err(format!(
            "`_aws` has keys {keys:?}, not Timestamp and CloudWatchMetrics"
        ));
    }
    let timestamp = aws["Timestamp"]
        .as_u64()
        .ok_or("`_aws.Timestamp` is not a non-negative integer")?;
    if timestamp < earliest_ms || timestamp > latest_ms {
        return Err(format!(
            "`_aws.Timestamp` {timestamp} is not between {earliest_ms} and {latest_ms} (ms)"
        ));
    }
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or("`CloudWatchMetrics` is not a non-empty array")?;

    let string_member = |name: &str| -> Result<(), String> {
        match root.get(name) {
            Some(Value::String(v)) if !v.is_empty() && v.chars().count() <= 1024 => Ok(()),
            Some(other) => Err(format!(
                "dimension {name:?} has the value {other}, not a string"
            )),
            None => Err(format!("dimension {name:?} is not a root member")),
        }
    };
    let name_ok = |n: &str| !n.is_empty() && n.chars().count() <= 255;

    let mut out = Vec::new();
    let mut all_dimensions = BTreeSet::new();
    let mut all_metrics = BTreeSet::new();
    for d in directives {
        let d = d.as_object().ok_or("a directive is not an object")?;
        let keys: BTreeSet<&str> = d.keys().map(String::as_str).collect();
        if keys != BTreeSet::from(["Dimensions", "Metrics", "Namespace"]) {
            return Err(format!("a directive has keys {keys:?}"));
        }
        let namespace = d["Namespace"]
            .as_str()
            .filter(|n| name_ok(n))
            .ok_or("Namespace is not a string of 1-255 characters")?;
        let sets = d["Dimensions"]
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or("Dimensions is not a non-empty array")?;
        let mut dimensions = Vec::new();
        for set in sets {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > 30 {
                return Err(format!(
                    "a dimension set has {} names (at most 30)",
                    set.len()
                ));
            }
            let mut names = Vec::new();
            for n in set {
                let n = n
                    .as_str()
                    .filter(|n| name_ok(n))
                    .ok_or("a dimension name is not a string of 1-255 characters")?;
                if names.iter().any(|x| x == n) {
                    return Err(format!("dimension {n:?} appears twice in one set"));
                }
                string_member(n)?;
                all_dimensions.insert(n.to_owned());
                names.push(n.to_owned());
            }
            dimensions.push(names);
        }
        let defs = d["Metrics"]
            .as_array()
            .filter(|a| !a.is_empty() && a.len() <= 100)
            .ok_or("Metrics is not an array of 1 to 100 definitions")?;
        let mut metrics: Vec<EmfMetric> = Vec::new();
        for m in defs {
            let m = m
                .as_object()
                .ok_or("a metric definition is not an object")?;
            if let Some(k) = m
                .keys()
                .find(|k| !matches!(k.as_str(), "Name" | "Unit" | "StorageResolution"))
            {
                return Err(format!("a metric definition has the unknown key {k:?}"));
            }
            let name = m
                .get("Name")
                .and_then(Value::as_str)
                .filter(|n| name_ok(n))
                .ok_or("a metric Name is not a string of 1-255 characters")?;
            if metrics.iter().any(|x| x.name == name) {
                return Err(format!("metric {name:?} is defined twice"));
            }
            let unit = match m.get("Unit") {
                None => None,
                Some(Value::String(u)) if EMF_UNITS.contains(&u.as_str()) => Some(u.clone()),
                Some(other) => return Err(format!("metric {name:?} has the unit {other}")),
            };
            let storage_resolution = match m.get("StorageResolution") {
                None => None,
                Some(r) => match r.as_u64() {
                    Some(r @ (1 | 60)) => Some(r),
                    _ => return Err(format!("metric {name:?} has StorageResolution {r}")),
                },
            };
            let value = root
                .get(name)
                .ok_or_else(|| format!("metric {name:?} is not a root member"))?;
            expand_metric_value(value).map_err(|why| format!("metric {name:?}: {why}"))?;
            all_metrics.insert(name.to_owned());
            metrics.push(EmfMetric {
                name: name.to_owned(),
                unit,
                storage_resolution,
            });
        }
        out.push(EmfDirective {
            namespace: namespace.to_owned(),
            dimensions,
            metrics,
        });
    }
    if let Some(both) = all_dimensions.intersection(&all_metrics).next() {
        return Err(format!("{both:?} is both a dimension and a metric"));
    }
    Ok(Emf {
        timestamp,
        directives: out,
        raw: doc.clone(),
    })
}

/// A moto server on a free port, as a process the test stops.
pub fn moto() -> (Proc, u16) {
    let port = free_port();
    let mut cmd = Command::new(find_tool("moto_server").expect("moto_server in the venv"));
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let mut moto = Proc::spawn("moto", cmd);
    moto.wait_for_port(port);
    (moto, port)
}

/// The test proxy (`crates/lift-aws/tests/proxy/aws_proxy.py`) in front of moto on
/// `moto_port`: it translates the CloudWatch SDK's CBOR into moto's JSON and passes the rest.
pub fn aws_proxy(moto_port: u16) -> (Proc, u16) {
    let port = free_port();
    let mut cmd = Command::new(venv_python());
    cmd.arg(workspace_root().join("crates/lift-aws/tests/proxy/aws_proxy.py"))
        .args([port.to_string(), moto_port.to_string()]);
    let mut proxy = Proc::spawn("aws_proxy", cmd);
    proxy.wait_for_port(port);
    (proxy, port)
}

/// The SDK's settings for a function talking to the stand-in at `endpoint`: the endpoint,
/// us-east-1, the test credentials.
pub fn sdk_env(endpoint: &str) -> [(&'static str, String); 4] {
    [
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
    ]
}

/// A CloudWatch Logs call to moto (JSON protocol; moto checks no signature).
pub fn logs_call(moto_port: u16, action: &str, body: &Value) -> Value {
    let target = format!("Logs_20140328.{action}");
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", target.as_str()),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0",
        ),
    ];
    let resp = http(
        moto_port,
        "POST",
        "/",
        &headers,
        body.to_string().as_bytes(),
    );
    if resp.status == 200 {
        resp.json()
    } else {
        Value::Null
    }
}

/// Every stream of `group` with its messages (parsed), in the order moto stored them.
pub fn log_streams(moto_port: u16, group: &str) -> Vec<(String, Vec<Value>)> {
    let listed = logs_call(
        moto_port,
        "DescribeLogStreams",
        &json!({ "logGroupName": group }),
    );
    let Some(streams) = listed["logStreams"].as_array() else {
        return Vec::new();
    };
    let mut names: Vec<String> = streams
        .iter()
        .map(|s| s["logStreamName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let events = logs_call(
                moto_port,
                "GetLogEvents",
                &json!({ "logGroupName": group, "logStreamName": name, "startFromHead": true }),
            );
            let messages = events["events"]
                .as_array()
                .map(|es| {
                    es.iter()
                        .map(|e| serde_json::from_str(e["message"].as_str().unwrap()).unwrap())
                        .collect()
                })
                .unwrap_or_default();
            (name, messages)
        })
        .collect()
}
