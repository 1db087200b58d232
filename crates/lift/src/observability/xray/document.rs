//! X-Ray segment documents from an invocation's span trees.
//!
//! [The segment document format](https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html):
//! 16-hex ids, the trace id, `start_time`/`end_time` in epoch seconds, a sanitised `name`,
//! `http` request and response blocks, the `error`/`throttle`/`fault` flags, `cause` with
//! exceptions, `annotations` and `metadata` (under the `default` namespace), and nested
//! `subsegments`.
//!
//! In Lambda, the function's segment is Lambda's: every top-level span becomes a subsegment
//! (`"type": "subsegment"`) whose `parent_id` is the trace header's `Parent`, and Lift never
//! writes a segment of its own. Outside Lambda a segment named after the service wraps the
//! top-level spans, continuing the caller's trace when it sent one.
//!
//! A tree that fits in one datagram goes as one document, its spans nested. A larger one is
//! cut: the span goes alone and each child becomes an independent subsegment document with its
//! own `parent_id`, recursively, so any trace fits. A span that does not fit even alone loses
//! its metadata, then its annotations, and is counted.
//!
//! Written here rather than through `opentelemetry-aws`: see the [module](super) doc.

use std::borrow::Cow;
use std::io::Write;

use serde_json::{Map, Value};

use crate::observability::record::{SpanBatch, SpanRecord};

/// The daemon's datagram header, before each document.
pub const DATAGRAM_HEADER: &[u8] = b"{\"format\":\"json\",\"version\":1}\n";

/// The largest datagram the daemon reads: 64 KiB.
pub const MAX_DATAGRAM: usize = 64 * 1024;

/// The most annotations X-Ray indexes on one segment or subsegment.
pub const MAX_ANNOTATIONS: usize = 50;

/// The longest name X-Ray takes, in characters.
const MAX_NAME: usize = 200;
/// The longest annotation key and string value X-Ray takes.
const MAX_ANNOTATION_KEY: usize = 500;
const MAX_ANNOTATION_VALUE: usize = 1000;

/// What rendering had to leave out, for the exporter's stats.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    /// Annotations beyond [`MAX_ANNOTATIONS`], or whose value is not a string, number or bool.
    pub annotations: u64,
    /// Spans whose metadata or annotations were left out so that they fit in a datagram.
    pub oversize: u64,
}

/// Where the top-level spans hang.
struct SegmentPlace<'a> {
    trace_id: &'a str,
    /// In Lambda: the function segment's id; outside: the wrapping segment's.
    parent_id: &'a str,
}

/// One datagram for the daemon: the header line and one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// What goes on the wire.
    pub bytes: Vec<u8>,
    /// The spans it carries (a segment Lift wrote around them counts none).
    pub spans: u64,
}

/// The datagrams (header included) for `batch`, each at most `max` bytes. `segment_id` is the
/// id of the segment written outside Lambda (ignored in Lambda).
pub fn datagrams(
    batch: &SpanBatch,
    service: &str,
    segment_id: &str,
    max: usize,
    trimmed: &mut Trimmed,
) -> Vec<Datagram> {
    let Some(trace_id) = batch.trace_id.as_deref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let parent_id = if batch.in_lambda {
        match batch.parent_id.as_deref() {
            Some(p) => p,
            // Without Lambda's segment to hang from, nothing may be written.
            None => return Vec::new(),
        }
    } else {
        let mut doc = fresh(256);
        segment(&mut doc, batch, service, segment_id, trace_id);
        out.push(Datagram {
            bytes: doc,
            spans: 0,
        });
        segment_id
    };
    let place = SegmentPlace {
        trace_id,
        parent_id,
    };
    for root in &batch.roots {
        tree(&mut out, root, &place, max, trimmed);
    }
    out
}

/// A datagram's buffer, its header line written: the document follows it in place.
fn fresh(capacity: usize) -> Vec<u8> {
    let mut doc = Vec::with_capacity(DATAGRAM_HEADER.len() + capacity);
    doc.extend_from_slice(DATAGRAM_HEADER);
    doc
}

/// The spans in a tree: the span and everything under it.
pub(crate) fn count(span: &SpanRecord) -> u64 {
    1 + span.children.iter().map(count).sum::<u64>()
}

/// The segment Lift writes outside Lambda: the service, spanning its top-level spans.
fn segment(doc: &mut Vec<u8>, batch: &SpanBatch, service: &str, id: &str, trace_id: &str) {
    let start = batch
        .roots
        .iter()
        .map(|s| s.start_time)
        .fold(f64::INFINITY, f64::min);
    let end = batch.roots.iter().map(|s| s.end_time).fold(0.0, f64::max);
    let start = if start.is_finite() { start } else { end };
    doc.extend_from_slice(b"{\"name\":");
    string(doc, &name(service));
    doc.extend_from_slice(b",\"id\":");
    string(doc, id);
    doc.extend_from_slice(b",\"trace_id\":");
    string(doc, trace_id);
    if let Some(p) = batch.parent_id.as_deref() {
        doc.extend_from_slice(b",\"parent_id\":");
        string(doc, p);
    }
    times(doc, start, end);
    // The segment fails with its worst top-level span.
    let worst = batch.roots.iter().map(flags).max().unwrap_or_default();
    flag_fields(doc, worst);
    doc.push(b'}');
}

/// One tree: whole if it fits in `max` bytes (header included), else cut into independent
/// subsegments.
fn tree(
    out: &mut Vec<Datagram>,
    span: &SpanRecord,
    place: &SegmentPlace<'_>,
    max: usize,
    t: &mut Trimmed,
) {
    let mut doc = fresh(1024);
    let mut trial = *t;
    independent(&mut doc, span, place, true, Detail::Full, &mut trial);
    if doc.len() <= max {
        *t = trial;
        out.push(Datagram {
            bytes: doc,
            spans: count(span),
        });
        return;
    }
    // Too big together: the span alone, then each child hanging from it.
    let mut alone = Detail::Full;
    loop {
        doc.truncate(DATAGRAM_HEADER.len());
        let mut trial = *t;
        independent(&mut doc, span, place, false, alone, &mut trial);
        if doc.len() <= max || alone == Detail::Bare {
            if alone != Detail::Full {
                trial.oversize += 1;
            }
            *t = trial;
            break;
        }
        alone = alone.less();
    }
    // A span that does not fit even bare (only a huge `aws` block does that) is left out; the
    // exporter counts it from the datagrams' span counts.
    if doc.len() <= max {
        out.push(Datagram {
            bytes: doc,
            spans: 1,
        });
    }
    let below = SegmentPlace {
        trace_id: place.trace_id,
        parent_id: &span.id,
    };
    for child in &span.children {
        tree(out, child, &below, max, t);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    Full,
    NoMetadata,
    Bare,
}

impl Detail {
    fn less(self) -> Detail {
        match self {
            Detail::Full => Detail::NoMetadata,
            _ => Detail::Bare,
        }
    }
}

/// A subsegment document of its own: `type`, `parent_id` and `trace_id`, then the span.
fn independent(
    doc: &mut Vec<u8>,
    span: &SpanRecord,
    place: &SegmentPlace<'_>,
    nested: bool,
    detail: Detail,
    t: &mut Trimmed,
) {
    doc.extend_from_slice(b"{\"type\":\"subsegment\",\"trace_id\":");
    string(doc, place.trace_id);
    doc.extend_from_slice(b",\"parent_id\":");
    string(doc, place.parent_id);
    doc.push(b',');
    body(doc, span, nested, detail, t);
    doc.push(b'}');
}

/// A span's fields (no braces), with its children nested when `nested`.
fn body(doc: &mut Vec<u8>, span: &SpanRecord, nested: bool, detail: Detail, t: &mut Trimmed) {
    doc.extend_from_slice(b"\"name\":");
    string(doc, &name(&span.name));
    doc.extend_from_slice(b",\"id\":");
    string(doc, &span.id);
    times(doc, span.start_time, span.end_time);
    if let Some(ns) = span.namespace.as_deref() {
        if ns == "aws" || ns == "remote" {
            doc.extend_from_slice(b",\"namespace\":");
            string(doc, ns);
        }
    }
    let f = flags(span);
    flag_fields(doc, f);
    if let Some(http) = &span.http {
        http_block(doc, http);
    }
    if let Some(message) = &span.error {
        doc.extend_from_slice(b",\"cause\":{\"exceptions\":[{\"id\":");
        string(doc, &exception_id(&span.id));
        doc.extend_from_slice(b",\"message\":");
        string(doc, cut(message, MAX_ANNOTATION_VALUE));
        doc.extend_from_slice(b"}]}");
    }
    if !span.aws.is_empty() {
        doc.extend_from_slice(b",\"aws\":");
        map(doc, &span.aws);
    }
    if detail != Detail::Bare {
        annotations(doc, &span.annotations, t);
    }
    if detail == Detail::Full && !span.metadata.is_empty() {
        doc.extend_from_slice(b",\"metadata\":{\"default\":");
        map(doc, &span.metadata);
        doc.push(b'}');
    }
    if nested && !span.children.is_empty() {
        doc.extend_from_slice(b",\"subsegments\":[");
        for (i, child) in span.children.iter().enumerate() {
            if i > 0 {
                doc.push(b',');
            }
            doc.push(b'{');
            body(doc, child, true, detail, t);
            doc.push(b'}');
        }
        doc.push(b']');
    }
}

/// `error` (4xx), `throttle` (429) and `fault` (5xx, or failed without a status).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Flags {
    #[default]
    Ok,
    Error,
    Throttle,
    Fault,
}

fn flags(span: &SpanRecord) -> Flags {
    match span.http.as_ref().and_then(|h| h.status) {
        Some(429) => Flags::Throttle,
        Some(s) if s >= 500 => Flags::Fault,
        Some(s) if s >= 400 => Flags::Error,
        _ if span.error.is_some() => Flags::Fault,
        _ => Flags::Ok,
    }
}

fn flag_fields(doc: &mut Vec<u8>, f: Flags) {
    match f {
        Flags::Ok => {}
        Flags::Error => doc.extend_from_slice(b",\"error\":true"),
        Flags::Throttle => doc.extend_from_slice(b",\"error\":true,\"throttle\":true"),
        Flags::Fault => doc.extend_from_slice(b",\"fault\":true"),
    }
}

fn http_block(doc: &mut Vec<u8>, h: &crate::observability::record::SpanHttp) {
    doc.extend_from_slice(b",\"http\":{");
    let mut first = true;
    let mut field = |doc: &mut Vec<u8>, key: &[u8]| {
        if !std::mem::take(&mut first) {
            doc.push(b',');
        }
        doc.extend_from_slice(key);
    };
    let request = [
        (&b"\"method\":"[..], h.method.as_deref()),
        (b"\"url\":", h.url.as_deref().map(without_query)),
        (b"\"user_agent\":", h.user_agent.as_deref()),
        (b"\"client_ip\":", h.client_ip.as_deref()),
    ];
    if request.iter().any(|(_, v)| v.is_some()) {
        field(doc, b"\"request\":{");
        let mut inner = true;
        for (key, value) in request {
            if let Some(v) = value {
                if !std::mem::take(&mut inner) {
                    doc.push(b',');
                }
                doc.extend_from_slice(key);
                string(doc, v);
            }
        }
        doc.push(b'}');
    }
    if h.status.is_some() || h.content_length.is_some() {
        field(doc, b"\"response\":{");
        match (h.status, h.content_length) {
            (Some(s), Some(n)) => {
                let _ = write!(doc, "\"status\":{s},\"content_length\":{n}");
            }
            (Some(s), None) => {
                let _ = write!(doc, "\"status\":{s}");
            }
            (None, Some(n)) => {
                let _ = write!(doc, "\"content_length\":{n}");
            }
            (None, None) => {}
        }
        doc.push(b'}');
    }
    doc.push(b'}');
}

/// A URL without its query string or fragment: queries carry tokens and signatures.
pub fn without_query(url: &str) -> &str {
    // `?` and `#` are ASCII, so the cut is on a character boundary.
    let end = url
        .bytes()
        .position(|b| b == b'?' || b == b'#')
        .unwrap_or(url.len());
    &url[..end]
}

fn annotations(doc: &mut Vec<u8>, annotations: &Map<String, Value>, t: &mut Trimmed) {
    let mut written = 0;
    for (key, value) in annotations {
        let ok = matches!(value, Value::String(_) | Value::Bool(_))
            || value.as_f64().is_some_and(f64::is_finite);
        if !ok || written == MAX_ANNOTATIONS {
            t.annotations += 1;
            continue;
        }
        doc.extend_from_slice(if written == 0 {
            b",\"annotations\":{"
        } else {
            b","
        });
        string(doc, &annotation_key(key));
        doc.push(b':');
        match value {
            Value::String(s) => string(doc, cut(s, MAX_ANNOTATION_VALUE)),
            v => json(doc, v),
        }
        written += 1;
    }
    if written > 0 {
        doc.push(b'}');
    }
}

/// Annotation keys take letters, digits and underscores only: anything else becomes `_`.
pub fn annotation_key(key: &str) -> Cow<'_, str> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if !key.is_empty() && key.len() <= MAX_ANNOTATION_KEY && key.bytes().all(ok) {
        return Cow::Borrowed(key);
    }
    let key: String = key
        .chars()
        .take(MAX_ANNOTATION_KEY)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Cow::Owned(if key.is_empty() { "_".to_owned() } else { key })
}

/// Names take Unicode letters and digits, whitespace and `_ . : / % & # = + \ - @`, up to 200
/// characters; anything else becomes `_`.
pub fn name(raw: &str) -> Cow<'_, str> {
    let plain = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'_'
                    | b'.'
                    | b':'
                    | b'/'
                    | b'%'
                    | b'&'
                    | b'#'
                    | b'='
                    | b'+'
                    | b'\\'
                    | b'-'
                    | b'@'
            )
    };
    if raw.len() <= MAX_NAME && raw.bytes().all(plain) && raw.bytes().any(|b| b != b' ') {
        return Cow::Borrowed(raw);
    }
    let name: String = raw
        .chars()
        .take(MAX_NAME)
        .map(|c| {
            if c.is_alphanumeric()
                || c == ' '
                || matches!(
                    c,
                    '_' | '.' | ':' | '/' | '%' | '&' | '#' | '=' | '+' | '\\' | '-' | '@'
                )
            {
                c
            } else {
                '_'
            }
        })
        .collect();
    Cow::Owned(if name.trim().is_empty() {
        "_".to_owned()
    } else {
        name
    })
}

fn cut(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// An exception id derived from the span's: unique within the trace, and stable.
fn exception_id(span_id: &str) -> String {
    let n = u64::from_str_radix(span_id, 16).unwrap_or(0);
    format!("{:016x}", n.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15)
}

fn times(doc: &mut Vec<u8>, start: f64, end: f64) {
    // Microseconds, as the X-Ray SDKs write them, formatted as integers (far cheaper than a
    // float with six decimals); a clock that went backwards gives an empty span rather than a
    // negative one.
    let micros = |t: f64| (t.max(0.0) * 1e6).round() as u64;
    let (s, e) = (micros(start), micros(end.max(start)));
    let _ = write!(
        doc,
        ",\"start_time\":{}.{:06},\"end_time\":{}.{:06}",
        s / 1_000_000,
        s % 1_000_000,
        e / 1_000_000,
        e % 1_000_000
    );
}

fn string(doc: &mut Vec<u8>, s: &str) {
    crate::observability::json_out::write_str(doc, s);
}

fn json(doc: &mut Vec<u8>, v: &Value) {
    let _ = serde_json::to_writer(&mut *doc, v);
}

/// A map as a JSON object, its keys and string values through the fast string writer.
fn map(doc: &mut Vec<u8>, m: &Map<String, Value>) {
    doc.push(b'{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            doc.push(b',');
        }
        string(doc, k);
        doc.push(b':');
        match v {
            Value::String(s) => string(doc, s),
            v => json(doc, v),
        }
    }
    doc.push(b'}');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::observability::record::SpanHttp;
    use serde_json::json;

    const TRACE: &str = "1-5759e988-bd862e3fe1be46a994272793";
    const PARENT: &str = "53995c3f42cd8ad8";

    fn span(id: &str, name: &str) -> SpanRecord {
        SpanRecord::new(name, id, 1_764_650_000.25, 1_764_650_000.5)
    }

    fn lambda_batch(roots: Vec<SpanRecord>) -> SpanBatch {
        let mut b = SpanBatch::new(roots);
        b.trace_id = Some(TRACE.into());
        b.parent_id = Some(PARENT.into());
        b.in_lambda = true;
        b
    }

    fn docs(batch: &SpanBatch, max: usize) -> (Vec<Value>, Trimmed) {
        let mut t = Trimmed::default();
        let out = datagrams(batch, "orders", "aaaaaaaaaaaaaaaa", max, &mut t)
            .into_iter()
            .map(|d| {
                assert!(d.bytes.len() <= max);
                let body = d.bytes.strip_prefix(DATAGRAM_HEADER).unwrap();
                serde_json::from_slice(body).unwrap()
            })
            .collect();
        (out, t)
    }

    #[test]
    fn in_lambda_a_tree_is_one_subsegment_under_the_functions_segment() {
        let mut root = span("1111111111111111", "## GET /users/:id");
        root.annotations.insert("ColdStart".into(), json!(true));
        root.annotations.insert("tenant-id".into(), json!("acme"));
        root.metadata.insert("rows".into(), json!(3));
        root.http = Some(SpanHttp {
            method: Some("GET".into()),
            url: Some("https://api.example.com/users/7?token=secret".into()),
            status: Some(200),
            ..SpanHttp::default()
        });
        let mut db = span("2222222222222222", "load {user}");
        db.parent_id = Some(root.id.clone());
        root.children.push(db);
        let (docs, t) = docs(&lambda_batch(vec![root]), MAX_DATAGRAM);
        assert_eq!(t, Trimmed::default());
        assert_eq!(
            docs,
            vec![json!({
                "type": "subsegment",
                "trace_id": TRACE,
                "parent_id": PARENT,
                "name": "## GET /users/:id",
                "id": "1111111111111111",
                "start_time": 1_764_650_000.25,
                "end_time": 1_764_650_000.5,
                "http": {
                    "request": { "method": "GET", "url": "https://api.example.com/users/7" },
                    "response": { "status": 200 }
                },
                "annotations": { "ColdStart": true, "tenant_id": "acme" },
                "metadata": { "default": { "rows": 3 } },
                "subsegments": [{
                    "name": "load _user_",
                    "id": "2222222222222222",
                    "start_time": 1_764_650_000.25,
                    "end_time": 1_764_650_000.5
                }]
            })]
        );
    }

    #[test]
    fn status_sets_error_throttle_and_fault() {
        let with = |status: Option<u16>, error: Option<&str>| {
            let mut s = span("1111111111111111", "s");
            s.http = status.map(|status| SpanHttp {
                status: Some(status),
                ..SpanHttp::default()
            });
            s.error = error.map(str::to_owned);
            let (d, _) = docs(&lambda_batch(vec![s]), MAX_DATAGRAM);
            let d = &d[0];
            (
                d.get("error").cloned(),
                d.get("throttle").cloned(),
                d.get("fault").cloned(),
            )
        };
        let t = Some(json!(true));
        assert_eq!(with(Some(200), None), (None, None, None));
        assert_eq!(with(Some(404), None), (t.clone(), None, None));
        assert_eq!(with(Some(429), None), (t.clone(), t.clone(), None));
        assert_eq!(with(Some(503), None), (None, None, t.clone()));
        assert_eq!(with(None, Some("boom")), (None, None, t));
    }

    #[test]
    fn a_failure_is_a_cause_with_one_exception() {
        let mut s = span("1111111111111111", "s");
        s.error = Some("Lift.Internal".into());
        let (d, _) = docs(&lambda_batch(vec![s]), MAX_DATAGRAM);
        let ex = &d[0]["cause"]["exceptions"];
        assert_eq!(ex.as_array().unwrap().len(), 1);
        assert_eq!(ex[0]["message"], "Lift.Internal");
        assert_eq!(ex[0]["id"].as_str().unwrap().len(), 16);
    }

    #[test]
    fn annotations_keep_fifty_scalars() {
        let mut s = span("1111111111111111", "s");
        for i in 0..60 {
            s.annotations.insert(format!("k{i:02}"), json!(i));
        }
        s.annotations.insert("a_list".into(), json!([1]));
        s.annotations.insert("a_nan".into(), json!(null));
        let (d, t) = docs(&lambda_batch(vec![s]), MAX_DATAGRAM);
        assert_eq!(d[0]["annotations"].as_object().unwrap().len(), 50);
        assert_eq!(t.annotations, 12);
    }

    #[test]
    fn outside_lambda_a_segment_named_after_the_service_wraps_the_spans() {
        let mut root = span("1111111111111111", "## GET /");
        root.http = Some(SpanHttp {
            status: Some(500),
            ..SpanHttp::default()
        });
        let mut b = SpanBatch::new(vec![root]);
        b.trace_id = Some(TRACE.into());
        b.parent_id = Some(PARENT.into());
        let (d, _) = docs(&b, MAX_DATAGRAM);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0],
            json!({
                "name": "orders", "id": "aaaaaaaaaaaaaaaa", "trace_id": TRACE,
                "parent_id": PARENT,
                "start_time": 1_764_650_000.25, "end_time": 1_764_650_000.5, "fault": true
            })
        );
        assert_eq!(d[1]["parent_id"], "aaaaaaaaaaaaaaaa");
        assert_eq!(d[1]["type"], "subsegment");
    }

    #[test]
    fn in_lambda_without_a_parent_nothing_is_written() {
        let mut b = lambda_batch(vec![span("1111111111111111", "s")]);
        b.parent_id = None;
        assert!(docs(&b, MAX_DATAGRAM).0.is_empty());
    }

    #[test]
    fn a_large_tree_is_cut_into_independent_subsegments() {
        let mut root = span("1000000000000000", "root");
        for i in 0..40 {
            let mut c = span(&format!("{:016x}", 0x2000 + i), "child");
            c.metadata.insert("blob".into(), json!("x".repeat(3000)));
            root.children.push(c);
        }
        let (d, t) = docs(&lambda_batch(vec![root]), MAX_DATAGRAM);
        assert_eq!(d.len(), 41);
        assert_eq!(t.oversize, 0);
        assert_eq!(d[0]["id"], "1000000000000000");
        assert!(d[0].get("subsegments").is_none());
        for c in &d[1..] {
            assert_eq!(c["type"], "subsegment");
            assert_eq!(c["parent_id"], "1000000000000000");
            assert_eq!(c["trace_id"], TRACE);
            assert_eq!(
                c["metadata"]["default"]["blob"].as_str().unwrap().len(),
                3000
            );
        }
    }

    #[test]
    fn a_span_too_big_alone_loses_its_metadata_and_is_counted() {
        let mut s = span("1111111111111111", "s");
        s.metadata.insert("blob".into(), json!("x".repeat(70_000)));
        s.annotations.insert("kept".into(), json!("yes"));
        let (d, t) = docs(&lambda_batch(vec![s]), MAX_DATAGRAM);
        assert_eq!(d.len(), 1);
        assert!(d[0].get("metadata").is_none());
        assert_eq!(d[0]["annotations"]["kept"], "yes");
        assert_eq!(t.oversize, 1);
    }

    #[test]
    fn names_and_keys_are_sanitised() {
        assert_eq!(name("GET /users/{id}"), "GET /users/_id_");
        assert_eq!(name("ünïcode @host:443"), "ünïcode @host:443");
        assert_eq!(name(""), "_");
        assert_eq!(name(&"n".repeat(300)).chars().count(), 200);
        assert_eq!(annotation_key("tenant-id.x"), "tenant_id_x");
        assert_eq!(without_query("https://h/p?token=1#f"), "https://h/p");
        assert_eq!(without_query("/p#f?x"), "/p");
    }
}
