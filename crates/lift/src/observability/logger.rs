//! The structured logger: one JSON line per call with the keys Powertools writes, the
//! invocation's ids, child-logger fields and the call's own fields.
//!
//! Each line is rendered once and handed to every exporter as it is logged, so a line is never
//! lost when the invocation later fails, times out or panics. The one exception is the opt-in debug buffer,
//! which holds DEBUG/TRACE lines until the invocation either logs an error or fails (then they
//! are written, oldest first) or succeeds (then they are discarded).

use std::fmt;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use super::frame::Frame;
use super::invocation::{LogState, Rendered};
use super::json_out::write_str as json_str;
use super::level::{Level, LogFormat};
use super::record::LogRecord;
use super::timestamp;
use super::{RecordKind, Settings};

/// A field value in a log call: `("user", "ada".into())`, `("count", 3.into())`.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    /// A string.
    Str(&'a str),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float (non-finite values are written as `null`).
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// Any JSON value.
    Json(&'a Value),
}

impl<'a> From<&'a str> for Field<'a> {
    fn from(v: &'a str) -> Self {
        Field::Str(v)
    }
}
impl<'a> From<&'a String> for Field<'a> {
    fn from(v: &'a String) -> Self {
        Field::Str(v)
    }
}
impl<'a> From<&'a Value> for Field<'a> {
    fn from(v: &'a Value) -> Self {
        Field::Json(v)
    }
}
impl From<bool> for Field<'_> {
    fn from(v: bool) -> Self {
        Field::Bool(v)
    }
}
impl From<f64> for Field<'_> {
    fn from(v: f64) -> Self {
        Field::F64(v)
    }
}
macro_rules! int_field {
    ($($t:ty => $variant:ident as $as:ty),*) => {$(
        impl From<$t> for Field<'_> {
            fn from(v: $t) -> Self {
                Field::$variant(v as $as)
            }
        }
    )*};
}
int_field!(i64 => I64 as i64, i32 => I64 as i64, u64 => U64 as u64, u32 => U64 as u64, u16 => U64 as u64, usize => U64 as u64);

impl Field<'_> {
    fn to_value(self) -> Value {
        match self {
            Field::Str(s) => Value::String(s.to_owned()),
            Field::I64(v) => Value::from(v),
            Field::U64(v) => Value::from(v),
            Field::F64(v) => Value::from(v),
            Field::Bool(v) => Value::Bool(v),
            Field::Json(v) => v.clone(),
        }
    }
}

/// A structured logger. Cheap to clone; the one from [`Context::logger`](crate::RequestHandle::logger)
/// carries its request's or record's ids on every line.
///
/// Keys, in order: `level`, `message`, `timestamp` (RFC 3339, ms), `service`, `cold_start`,
/// `function_name`, `function_memory_size`, `function_arn`, `function_request_id`,
/// `xray_trace_id`, `request_id`, `tenant_id`, `user_id`, `correlation_id`, `sampling_rate`
/// (each when known), then the child logger's fields, then the call's.
#[derive(Clone)]
pub struct Logger {
    shared: Arc<Settings>,
    frame: Option<Frame>,
    extra: Option<Arc<Vec<(String, Value)>>>,
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("service", &self.shared.service)
            .field("extra", &self.extra)
            .finish_non_exhaustive()
    }
}

impl Logger {
    pub(crate) fn process(shared: Arc<Settings>) -> Self {
        Logger {
            shared,
            frame: None,
            extra: None,
        }
    }

    pub(crate) fn context(frame: Frame) -> Self {
        Logger {
            shared: frame.settings().clone(),
            frame: Some(frame),
            extra: None,
        }
    }

    /// A logger that adds `fields` to every line, after this logger's own.
    pub fn child(&self, fields: &[(&str, Field<'_>)]) -> Logger {
        let mut extra: Vec<(String, Value)> = self.extra.as_deref().cloned().unwrap_or_default();
        for (k, v) in fields {
            extra.retain(|(x, _)| x != k);
            extra.push(((*k).to_owned(), v.to_value()));
        }
        Logger {
            shared: self.shared.clone(),
            frame: self.frame.clone(),
            extra: Some(Arc::new(extra)),
        }
    }

    /// The level below which lines are not written (DEBUG in a sampled invocation).
    pub fn level(&self) -> Level {
        match &self.frame {
            Some(f) => f.telemetry().log.level,
            None => self.shared.level,
        }
    }

    /// Whether a line at `level` would be written (or buffered).
    pub fn enabled(&self, level: Level) -> bool {
        level >= self.level() || (level <= Level::Debug && self.buffering())
    }

    fn buffering(&self) -> bool {
        self.frame.is_some() && self.shared.debug_buffer.is_some()
    }

    /// Log at TRACE.
    pub fn trace(&self, message: &str, fields: &[(&str, Field<'_>)]) {
        self.log(Level::Trace, message, fields);
    }

    /// Log at DEBUG.
    pub fn debug(&self, message: &str, fields: &[(&str, Field<'_>)]) {
        self.log(Level::Debug, message, fields);
    }

    /// Log at INFO.
    pub fn info(&self, message: &str, fields: &[(&str, Field<'_>)]) {
        self.log(Level::Info, message, fields);
    }

    /// Log at WARN.
    pub fn warn(&self, message: &str, fields: &[(&str, Field<'_>)]) {
        self.log(Level::Warn, message, fields);
    }

    /// Log at ERROR. With the debug buffer on, the invocation's buffered debug lines are
    /// written first.
    pub fn error(&self, message: &str, fields: &[(&str, Field<'_>)]) {
        self.log(Level::Error, message, fields);
    }

    /// Log at any level.
    pub fn log(&self, level: Level, message: &str, fields: &[(&str, Field<'_>)]) {
        if !self.shared.pipeline.wants(RecordKind::Log) {
            return;
        }
        let effective = self.level();
        if level < effective {
            if let (Some(frame), Some(max), true) =
                (&self.frame, self.shared.debug_buffer, level <= Level::Debug)
            {
                frame
                    .telemetry()
                    .log
                    .buffer(self.render(level, message, fields), max);
            }
            return;
        }
        if level >= Level::Error {
            if let Some(frame) = &self.frame {
                let log = &frame.telemetry().log;
                log.error_logged.store(true, Ordering::Relaxed);
                if self.shared.debug_buffer.is_some() {
                    self.write_buffer(log);
                }
            }
        }
        self.emit(level, message, fields);
    }

    /// Render and export, with no level check.
    pub(crate) fn emit(&self, level: Level, message: &str, fields: &[(&str, Field<'_>)]) {
        let rendered = self.render(level, message, fields);
        self.export(&rendered);
    }

    /// Hand a rendered line to the exporters.
    pub(crate) fn export(&self, r: &Rendered) {
        let telemetry = self.frame.as_ref().map(|f| f.telemetry());
        let record = LogRecord {
            level: r.level,
            timestamp: r.timestamp,
            request_id: telemetry.map(|t| t.request_id()),
            tenant_id: r.ids.tenant.as_deref(),
            user_id: r.ids.user.as_deref(),
            correlation_id: r.ids.correlation.as_deref(),
            trace_id: telemetry.and_then(|t| t.trace.trace_id.as_deref()),
            line: &r.line,
        };
        self.shared.pipeline.log(&record);
    }

    /// The line for a call, in the configured format.
    pub(crate) fn render(
        &self,
        level: Level,
        message: &str,
        fields: &[(&str, Field<'_>)],
    ) -> Rendered {
        let timestamp = SystemTime::now();
        let ids = self.frame.as_ref().map(|f| f.ids()).unwrap_or_default();
        let mut w = LineWriter::new(&self.shared, 384 + 48 * fields.len());
        w.start(level, message, timestamp);
        if let Some(frame) = &self.frame {
            let tel = frame.telemetry();
            let lambda = tel.lambda();
            // The Lambda context keys are for CloudWatch; in a terminal they are noise.
            if w.json() {
                w.own(COLD_START);
                w.bool(tel.cold_start);
                w.own(FUNCTION_NAME);
                w.str_value(&lambda.function.function_name);
                w.own(FUNCTION_MEMORY_SIZE);
                w.int(i64::from(lambda.function.memory));
                w.own(FUNCTION_ARN);
                w.str_value(&lambda.invoked_function_arn);
                w.own(FUNCTION_REQUEST_ID);
                w.str_value(&lambda.request_id);
                if let Some(t) = &tel.trace.trace_id {
                    w.own(XRAY_TRACE_ID);
                    w.str_value(t);
                }
            }
            w.own(REQUEST_ID);
            w.str_value(tel.request_id());
            if let Some(t) = &ids.tenant {
                w.own(TENANT_ID);
                w.str_value(t);
            }
            if let Some(u) = &ids.user {
                w.own(USER_ID);
                w.str_value(u);
            }
            if let Some(c) = &ids.correlation {
                w.own(CORRELATION_ID);
                w.str_value(c);
            }
            if tel.log.sampled || self.shared.sample_rate > 0.0 {
                w.own(SAMPLING_RATE);
                let _ = serde_json::to_writer(&mut w.buf, &self.shared.sample_rate);
            }
            if let Some(id) = frame.record_id() {
                if !fields.iter().any(|(k, _)| *k == "record_id")
                    && !self
                        .extra
                        .as_deref()
                        .is_some_and(|e| e.iter().any(|(k, _)| k == "record_id"))
                {
                    w.field("record_id", Field::Str(id));
                }
            }
        }
        if let Some(extra) = &self.extra {
            // A call field overrides the child's field of the same name.
            for (k, v) in extra
                .iter()
                .filter(|(k, _)| !fields.iter().any(|(f, _)| f == k))
            {
                w.field(k, Field::Json(v));
            }
        }
        for (k, v) in fields {
            w.field(k, *v);
        }
        Rendered {
            level,
            timestamp,
            ids,
            line: w.finish(),
        }
    }
}

/// Writes one line in either format, applying redaction.
struct LineWriter<'s> {
    shared: &'s Settings,
    buf: Vec<u8>,
    /// Which of [`LIFT_KEYS`] this line already has.
    written: u32,
}

/// The keys Lift writes itself. A field of the same name on a line that already has the key is
/// written as `extra_<name>`, so a line never has a key twice.
const LIFT_KEYS: [&str; 15] = [
    "level",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "request_id",
    "tenant_id",
    "user_id",
    "correlation_id",
    "sampling_rate",
];

// Positions in `LIFT_KEYS` of the keys the writer sets itself.
const SERVICE: usize = 3;
const COLD_START: usize = 4;
const FUNCTION_NAME: usize = 5;
const FUNCTION_MEMORY_SIZE: usize = 6;
const FUNCTION_ARN: usize = 7;
const FUNCTION_REQUEST_ID: usize = 8;
const XRAY_TRACE_ID: usize = 9;
const REQUEST_ID: usize = 10;
const TENANT_ID: usize = 11;
const USER_ID: usize = 12;
const CORRELATION_ID: usize = 13;
const SAMPLING_RATE: usize = 14;

fn lift_key(key: &str) -> Option<u32> {
    LIFT_KEYS.iter().position(|k| *k == key).map(|i| 1 << i)
}

/// Pretty-format values are bare unless they would be ambiguous to read back.
fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=')
}

const REDACTED: &str = "[REDACTED]";

/// Text written unquoted in the pretty format (the message, keys), its control characters
/// escaped as in JSON, so a newline in a value can never start a forged line.
fn bare(buf: &mut Vec<u8>, s: &str) {
    if !s.chars().any(char::is_control) {
        buf.extend_from_slice(s.as_bytes());
        return;
    }
    for c in s.chars() {
        match c {
            '\n' => buf.extend_from_slice(b"\\n"),
            '\r' => buf.extend_from_slice(b"\\r"),
            '\t' => buf.extend_from_slice(b"\\t"),
            c if c.is_control() => {
                let _ = write!(buf, "\\u{:04x}", u32::from(c));
            }
            c => {
                let mut b = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

impl<'s> LineWriter<'s> {
    fn new(shared: &'s Settings, capacity: usize) -> Self {
        LineWriter {
            shared,
            buf: Vec::with_capacity(capacity),
            written: 0b111,
        }
    }

    fn json(&self) -> bool {
        self.shared.format == LogFormat::Json
    }

    fn start(&mut self, level: Level, message: &str, at: SystemTime) {
        if self.json() {
            self.buf.extend_from_slice(b"{\"level\":\"");
            self.buf.extend_from_slice(level.as_str().as_bytes());
            self.buf.extend_from_slice(b"\",\"message\":");
            json_str(&mut self.buf, message);
            self.buf.extend_from_slice(b",\"timestamp\":\"");
            timestamp::write_at(&mut self.buf, at);
            self.buf.push(b'"');
        } else {
            timestamp::write_at(&mut self.buf, at);
            let _ = write!(self.buf, " {:<5} ", level.as_str());
            bare(&mut self.buf, message);
        }
        self.own(SERVICE);
        let service = &self.shared.service;
        self.str_value(service);
    }

    /// Write one of Lift's own keys, remembering it is on the line.
    fn own(&mut self, i: usize) {
        self.written |= 1 << i;
        self.key(LIFT_KEYS[i]);
    }

    fn key(&mut self, key: &str) {
        if self.json() {
            self.buf.push(b',');
            json_str(&mut self.buf, key);
            self.buf.push(b':');
        } else {
            self.buf.push(b' ');
            bare(&mut self.buf, key);
            self.buf.push(b'=');
        }
    }

    fn str_value(&mut self, v: &str) {
        if self.json() || needs_quotes(v) {
            json_str(&mut self.buf, v);
        } else {
            self.buf.extend_from_slice(v.as_bytes());
        }
    }

    fn bool(&mut self, v: bool) {
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
    }

    fn int(&mut self, v: i64) {
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    fn redacted(&self, key: &str) -> bool {
        !self.shared.redact.is_empty()
            && self
                .shared
                .redact
                .iter()
                .any(|r| r.eq_ignore_ascii_case(key))
    }

    fn field(&mut self, key: &str, v: Field<'_>) {
        let renamed;
        let key = match lift_key(key) {
            Some(bit) if self.written & bit != 0 => {
                renamed = format!("extra_{key}");
                renamed.as_str()
            }
            Some(bit) => {
                self.written |= bit;
                key
            }
            None => key,
        };
        self.key(key);
        if self.redacted(key) {
            return self.str_value(REDACTED);
        }
        match v {
            Field::Str(s) => self.str_value(s),
            Field::Json(Value::String(s)) if !self.json() => self.str_value(s),
            Field::I64(n) => self
                .buf
                .extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Field::U64(n) => self
                .buf
                .extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Field::F64(n) => {
                let _ = serde_json::to_writer(&mut self.buf, &n);
            }
            Field::Bool(b) => self
                .buf
                .extend_from_slice(if b { b"true" } else { b"false" }),
            Field::Json(j) if self.shared.redact.is_empty() => {
                let _ = serde_json::to_writer(&mut self.buf, j);
            }
            Field::Json(j) => {
                let _ = serde_json::to_writer(&mut self.buf, &redact_value(j, &self.shared.redact));
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.json() {
            self.buf.push(b'}');
        }
        self.buf
    }
}

/// A copy of `v` with the values of redacted keys replaced, at any depth.
fn redact_value(v: &Value, keys: &[String]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if keys.iter().any(|r| r.eq_ignore_ascii_case(k)) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact_value(v, keys)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| redact_value(v, keys)).collect()),
        other => other.clone(),
    }
}

impl Logger {
    /// Write an invocation's buffered debug lines (and a note of any evicted ones).
    pub(crate) fn write_buffer(&self, log: &LogState) {
        let (lines, evicted) = log.take_buffer();
        if evicted > 0 {
            self.emit(
                Level::Warn,
                "debug buffer overflowed; older debug lines were evicted",
                &[("evicted_lines", Field::U64(evicted))],
            );
        }
        for line in lines {
            self.export(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_like_powertools_and_lambda() {
        assert_eq!("warning".parse::<Level>().unwrap(), Level::Warn);
        assert_eq!("CRITICAL".parse::<Level>().unwrap(), Level::Fatal);
        assert_eq!(" debug ".parse::<Level>().unwrap(), Level::Debug);
        assert!("loud".parse::<Level>().is_err());
        assert!(Level::Debug < Level::Info && Level::Error < Level::Fatal);
    }

    #[test]
    fn redaction_reaches_nested_keys() {
        let v = serde_json::json!({"user": {"password": "x", "name": "a"}, "list": [{"Token": 1}]});
        let keys = vec!["password".to_owned(), "token".to_owned()];
        assert_eq!(
            redact_value(&v, &keys),
            serde_json::json!({"user": {"password": "[REDACTED]", "name": "a"}, "list": [{"Token": "[REDACTED]"}]})
        );
    }
}
