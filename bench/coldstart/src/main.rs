//! Cold-start meter: plays the Lambda Runtime API on 127.0.0.1, starts each function binary
//! with the environment Lambda gives a function (and nothing inherited from this shell), and
//! times the process from spawn to its first `GET /2018-06-01/runtime/invocation/next`: the
//! moment it is ready for its first invocation. Each run is then killed; no event is sent.
//!
//! ```text
//! coldstart [--runs N] [--warmup N] [--timeout-ms N] [--budget-ms X] [--env KEY=VALUE]...
//!           [--samples FILE] NAME=PATH...
//! ```
//!
//! The first `NAME=PATH` is the baseline the others are compared with: the report gives each
//! binary's median, p90 (nearest rank) and minimum, the differences from the baseline, and
//! "met" when the median difference is at most `--budget-ms` (default 1). `--samples` also
//! writes every timed run as CSV (`function,round,ms,register_ms`, the last empty when the
//! function registered no extension). `--env` adds to, or overrides, the Lambda environment.
//!
//! Runs are interleaved (one run of each binary per round, the order rotated every round), so
//! drift in the machine's speed falls on every binary alike; `--warmup` rounds (default 2) are
//! run first and discarded, so every binary is timed from a warm page cache. The clock is
//! monotonic (`Instant`), read just before `spawn` and when the `/next` request's head has been
//! read.
//!
//! The stand-in answers what a function calls during init:
//! - `POST /2020-01-01/extension/register` (an internal extension, as Lift registers for its
//!   SIGTERM flush): 200 with a `Lambda-Extension-Identifier` header and the JSON body the
//!   Extensions API returns (`functionName`, `functionVersion`, `handler`, and `accountId`
//!   when the request asks for it with `Lambda-Extension-Accept-Feature: accountId`);
//! - `GET /2020-01-01/extension/event/next` and `GET /2018-06-01/runtime/invocation/next`:
//!   held open, as the real API holds them until there is something to deliver;
//! - anything else: 404, and counted in the report.
//!
//! Only the standard library: the meter itself adds no dependency and no runtime to measure.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const FUNCTION_NAME: &str = "coldstart";
const FUNCTION_VERSION: &str = "$LATEST";
const ACCOUNT_ID: &str = "123456789012";

/// What the stand-in saw, and when, from one run's process.
struct Seen {
    run: u64,
    request: Request,
    at: Instant,
}

enum Request {
    Register,
    ExtensionNext,
    Next,
    Other(String),
}

struct Function {
    name: String,
    path: String,
}

struct Options {
    runs: usize,
    warmup: usize,
    timeout: Duration,
    budget_ms: f64,
    env: Vec<(String, String)>,
    samples: Option<String>,
    functions: Vec<Function>,
}

const USAGE: &str = "usage: coldstart [--runs N] [--warmup N] [--timeout-ms N] [--budget-ms X] \
                     [--env KEY=VALUE]... [--samples FILE] NAME=PATH...  \
                     (the first NAME=PATH is the baseline)";

fn parse_args() -> Result<Options, String> {
    let mut opts = Options {
        runs: 50,
        warmup: 2,
        timeout: Duration::from_secs(10),
        budget_ms: 1.0,
        env: Vec::new(),
        samples: None,
        functions: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--runs" => opts.runs = number(&value("--runs")?)?,
            "--warmup" => opts.warmup = number(&value("--warmup")?)?,
            "--timeout-ms" => {
                opts.timeout = Duration::from_millis(number(&value("--timeout-ms")?)? as u64)
            }
            "--budget-ms" => {
                let v = value("--budget-ms")?;
                opts.budget_ms = v.parse().map_err(|_| format!("not a number: {v}"))?;
            }
            "--env" => {
                let v = value("--env")?;
                let (k, val) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--env wants KEY=VALUE, got {v}"))?;
                opts.env.push((k.to_owned(), val.to_owned()));
            }
            "--samples" => opts.samples = Some(value("--samples")?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            _ => {
                let (name, path) = arg
                    .split_once('=')
                    .ok_or_else(|| format!("expected NAME=PATH, got {arg}\n{USAGE}"))?;
                // Absolute, so a bare file name is not looked up on the child's PATH.
                let path =
                    std::fs::canonicalize(path).map_err(|e| format!("{name}: {path}: {e}"))?;
                opts.functions.push(Function {
                    name: name.to_owned(),
                    path: path.display().to_string(),
                });
            }
        }
    }
    if opts.functions.is_empty() || opts.runs == 0 {
        return Err(USAGE.to_owned());
    }
    Ok(opts)
}

fn number(v: &str) -> Result<usize, String> {
    v.parse().map_err(|_| format!("not a whole number: {v}"))
}

/// The environment Lambda sets for a `provided.al2023` function (the per-invocation
/// `_X_AMZN_TRACE_ID` aside), then `--env` on top.
fn lambda_env(port: u16, extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}")),
        ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", FUNCTION_VERSION.to_owned()),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/12/02/[$LATEST]00000000000000000000000000000000".to_owned(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{FUNCTION_NAME}"),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

fn serve(listener: TcpListener, current_run: Arc<AtomicU64>, tx: Sender<Seen>) {
    let mut extension_ids = 0u64;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // A connection belongs to the run that was current when it was accepted: the previous
        // run's process is killed and reaped before the next one starts.
        let run = current_run.load(Ordering::SeqCst);
        extension_ids += 1;
        let id = format!("00000000-0000-4000-8000-{extension_ids:012x}");
        let tx = tx.clone();
        thread::spawn(move || connection(stream, run, &id, &tx));
    }
}

/// One keep-alive connection: requests are answered in order until one is held or the peer
/// goes away.
fn connection(mut stream: TcpStream, run: u64, extension_id: &str, tx: &Sender<Seen>) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let at = Instant::now();
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let headers = parse_headers(&head);
        let body_len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + body_len {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + body_len);

        let mut line = head.split_whitespace();
        let method = line.next().unwrap_or_default();
        let path = line.next().unwrap_or_default();
        let (request, hold) = match (method, path) {
            ("POST", "/2020-01-01/extension/register") => (Request::Register, false),
            ("GET", "/2020-01-01/extension/event/next") => (Request::ExtensionNext, true),
            ("GET", "/2018-06-01/runtime/invocation/next") => (Request::Next, true),
            _ => (Request::Other(format!("{method} {path}")), false),
        };
        let response = match request {
            Request::Register => Some(register_response(&headers, extension_id)),
            Request::Other(_) => Some(
                "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
                    .to_owned(),
            ),
            Request::ExtensionNext | Request::Next => None,
        };
        if tx.send(Seen { run, request, at }).is_err() {
            return;
        }
        if let Some(response) = response {
            if stream.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
        if hold {
            // Held until the process is killed and the connection closes.
            let _ = std::io::copy(&mut stream, &mut std::io::sink());
            return;
        }
    }
}

fn parse_headers(head: &str) -> HashMap<String, String> {
    head.split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect()
}

/// What the Extensions API answers to a registration.
fn register_response(headers: &HashMap<String, String>, extension_id: &str) -> String {
    let wants_account = headers
        .get("lambda-extension-accept-feature")
        .is_some_and(|v| v.split(',').any(|f| f.trim() == "accountId"));
    let account = if wants_account {
        format!(r#","accountId":"{ACCOUNT_ID}""#)
    } else {
        String::new()
    };
    let body = format!(
        r#"{{"functionName":"{FUNCTION_NAME}","functionVersion":"{FUNCTION_VERSION}","handler":"bootstrap"{account}}}"#
    );
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-extension-identifier: {extension_id}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// One run's outcome.
struct Sample {
    ready: Duration,
    /// When the first extension registration arrived, if one did.
    registered: Option<Duration>,
    registers: u32,
    others: Vec<String>,
}

fn run_once(
    f: &Function,
    env: &[(String, String)],
    run: u64,
    rx: &Receiver<Seen>,
    timeout: Duration,
) -> Result<Sample, String> {
    let mut cmd = Command::new(&f.path);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: cannot start {}: {e}", f.name, f.path))?;
    let mut sample = Sample {
        ready: Duration::ZERO,
        registered: None,
        registers: 0,
        others: Vec::new(),
    };
    let outcome = loop {
        if start.elapsed() > timeout {
            break Err(format!("no GET /next within {timeout:?}"));
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(seen) if seen.run != run => {}
            Ok(seen) => match seen.request {
                Request::Next => {
                    sample.ready = seen.at.saturating_duration_since(start);
                    break Ok(());
                }
                Request::Register => {
                    sample.registers += 1;
                    let at = seen.at.saturating_duration_since(start);
                    sample.registered.get_or_insert(at);
                }
                // The extension's poll races the runtime's, so it is not part of the figure.
                Request::ExtensionNext => {}
                Request::Other(what) => sample.others.push(what),
            },
            Err(RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    break Err(format!("exited ({status}) before GET /next"));
                }
            }
            Err(RecvTimeoutError::Disconnected) => break Err("the stand-in stopped".to_owned()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    match outcome {
        Ok(()) => Ok(sample),
        Err(why) => {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            Err(format!("{}: {why}; its stderr:\n{stderr}", f.name))
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port = match listener.local_addr() {
        Ok(a) => a.port(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let env = lambda_env(port, &opts.env);
    let current_run = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel();
    {
        let current_run = current_run.clone();
        thread::spawn(move || serve(listener, current_run, tx));
    }

    let n = opts.functions.len();
    let mut samples: Vec<Vec<Sample>> = opts.functions.iter().map(|_| Vec::new()).collect();
    let rounds = opts.warmup + opts.runs;
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            let run = current_run.fetch_add(1, Ordering::SeqCst) + 1;
            match run_once(&opts.functions[i], &env, run, &rx, opts.timeout) {
                Ok(s) if round >= opts.warmup => samples[i].push(s),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }

    if let Some(file) = &opts.samples {
        let mut csv = String::from("function,round,ms,register_ms\n");
        for (f, s) in opts.functions.iter().zip(&samples) {
            for (round, x) in s.iter().enumerate() {
                let register = x.registered.map(|r| format!("{:.4}", ms(r)));
                csv.push_str(&format!(
                    "{},{round},{:.4},{}\n",
                    f.name,
                    ms(x.ready),
                    register.unwrap_or_default()
                ));
            }
        }
        if let Err(e) = std::fs::write(file, csv) {
            eprintln!("cannot write {file}: {e}");
            return ExitCode::FAILURE;
        }
    }

    println!(
        "spawn → first GET /next, {} runs each after {} warm-up, interleaved (Runtime API stand-in on 127.0.0.1:{port})",
        opts.runs, opts.warmup
    );
    println!();
    println!(
        "| function | median ms | p90 ms | min ms | Δ median vs {base} | Δ p90 vs {base} | ≤ {budget} ms | init requests per run |",
        base = opts.functions[0].name,
        budget = opts.budget_ms
    );
    println!("|---|---:|---:|---:|---:|---:|---|---|");
    let mut base = (0.0, 0.0);
    for (i, f) in opts.functions.iter().enumerate() {
        let s = &samples[i];
        let mut t: Vec<f64> = s.iter().map(|x| ms(x.ready)).collect();
        t.sort_by(f64::total_cmp);
        let (med, p90) = (median(&t), percentile(&t, 90.0));
        if i == 0 {
            base = (med, p90);
        }
        let (dm, dp) = (med - base.0, p90 - base.1);
        let verdict = if i == 0 {
            "baseline"
        } else if dm <= opts.budget_ms {
            "met"
        } else {
            "not met"
        };
        let mut requests = Vec::new();
        let per_run = |count: usize| count as f64 / s.len() as f64;
        let registers: usize = s.iter().map(|x| x.registers as usize).sum();
        if registers > 0 {
            requests.push(format!("{} extension register", per_run(registers)));
        }
        let others: usize = s.iter().map(|x| x.others.len()).sum();
        if others > 0 {
            let first = s.iter().flat_map(|x| x.others.first()).next();
            requests.push(format!(
                "{} unanswered (e.g. {})",
                per_run(others),
                first.map(String::as_str).unwrap_or_default()
            ));
        }
        requests.push("1 runtime next".to_owned());
        println!(
            "| {} | {med:.3} | {p90:.3} | {:.3} | {dm:+.3} | {dp:+.3} | {verdict} | {} |",
            f.name,
            t[0],
            requests.join(", ")
        );
    }
    ExitCode::SUCCESS
}
