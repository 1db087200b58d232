//! The structured records exporters receive: a log record (its line rendered once), the
//! invocation's metrics as one record per dimension-value set, and its finished spans as trees.
//!
//! Records are built once per invocation and shared by every exporter by reference. Text forms
//! (the JSON log line, EMF documents) are rendered once too: the line when it is logged, the EMF
//! documents the first time an exporter asks for them ([`MetricsBatch::emf_documents`]).

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::{Level, Resolution, Unit};

/// One log line, as the logger rendered it, with the facts an exporter routes by.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct LogRecord<'a> {
    /// The line's level.
    pub level: Level,
    /// When it was logged.
    pub timestamp: SystemTime,
    /// The request id, inside an invocation.
    pub request_id: Option<&'a str>,
    /// The tenant of the request or record that logged it, when known.
    pub tenant_id: Option<&'a str>,
    /// The user, when known.
    pub user_id: Option<&'a str>,
    /// The correlation id, when known.
    pub correlation_id: Option<&'a str>,
    /// The X-Ray trace id (`1-5759e988-bd862e3fe1be46a994272793`), when traced.
    pub trace_id: Option<&'a str>,
    /// The rendered line (JSON or the human-readable format), without a trailing newline.
    pub line: &'a [u8],
}

impl<'a> LogRecord<'a> {
    /// A record of `line` at `level`, logged now, outside any invocation.
    pub fn new(level: Level, line: &'a [u8]) -> Self {
        LogRecord {
            level,
            timestamp: SystemTime::now(),
            request_id: None,
            tenant_id: None,
            user_id: None,
            correlation_id: None,
            trace_id: None,
            line,
        }
    }
}

/// One metric's aggregated value in a [`MetricsRecord`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MetricValue {
    /// A counter: the sum of what was added.
    Counter(f64),
    /// A gauge: the last value set.
    Gauge(f64),
    /// A histogram: distinct values (or bins) with their counts, and exact statistics.
    Histogram(HistogramValue),
}

/// A histogram as AWS's EMF library writes it: `Values` and `Counts` (exact while there are at
/// most 100 distinct values, log-scale bins past that), plus the exact `Max`, `Min`, `Count`
/// and `Sum` of every value recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramValue {
    /// Distinct values or bin values, ascending.
    pub values: Vec<f64>,
    /// How many observations each of `values` stands for.
    pub counts: Vec<u64>,
    /// The largest value recorded.
    pub max: f64,
    /// The smallest value recorded.
    pub min: f64,
    /// How many values were recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

/// One metric of a [`MetricsRecord`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MetricDatum {
    /// The metric name.
    pub name: Cow<'static, str>,
    /// Its unit.
    pub unit: Unit,
    /// Standard or high resolution.
    pub resolution: Resolution,
    /// The aggregated value.
    pub value: MetricValue,
}

/// The metrics of one dimension-value set: one namespace, one value per dimension.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MetricsRecord {
    /// The CloudWatch namespace.
    pub namespace: Arc<str>,
    /// Dimension names and values, `service` first. (Names are mostly static and values
    /// shared, so building a record copies no strings.)
    pub dimensions: Vec<(Cow<'static, str>, Arc<str>)>,
    /// The metrics.
    pub metrics: Vec<MetricDatum>,
}

impl MetricDatum {
    /// A metric: its name, unit, resolution and value.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        unit: Unit,
        resolution: Resolution,
        value: MetricValue,
    ) -> Self {
        MetricDatum {
            name: name.into(),
            unit,
            resolution,
            value,
        }
    }
}

impl MetricsRecord {
    /// A record: the namespace, the dimensions (names and values) and the metrics. Exporters
    /// that build records of their own (to hand them to another exporter, as a fallback) use
    /// it; Lift's metrics make the records of an invocation themselves.
    pub fn new(
        namespace: Arc<str>,
        dimensions: Vec<(Cow<'static, str>, Arc<str>)>,
        metrics: Vec<MetricDatum>,
    ) -> Self {
        MetricsRecord {
            namespace,
            dimensions,
            metrics,
        }
    }

    /// The value of dimension `name`, when the record has it.
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| &**v)
    }
}

/// What an invocation (or the process) recorded, as records per dimension-value set, with the
/// EMF documents rendered once on first use.
#[derive(Debug)]
pub struct MetricsBatch {
    timestamp_ms: u64,
    records: Vec<MetricsRecord>,
    trace_id: Option<String>,
    emf: OnceLock<Vec<Vec<u8>>>,
}

impl MetricsBatch {
    /// A batch of records stamped with `timestamp_ms` (epoch milliseconds).
    pub fn new(timestamp_ms: u64, records: Vec<MetricsRecord>) -> Self {
        MetricsBatch {
            timestamp_ms,
            records,
            trace_id: None,
            emf: OnceLock::new(),
        }
    }

    /// The same batch, linked to the X-Ray trace `trace_id` (`1-5759e988-…`): its EMF
    /// documents carry it as the `xray_trace_id` property.
    pub fn with_trace_id(mut self, trace_id: Option<String>) -> Self {
        self.trace_id = trace_id;
        self
    }

    /// The trace of the invocation that recorded these metrics, when it was traced.
    pub fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    /// When the metrics were flushed, in epoch milliseconds.
    pub fn timestamp_ms(&self) -> u64 {
        self.timestamp_ms
    }

    /// The records, one per dimension-value set.
    pub fn records(&self) -> &[MetricsRecord] {
        &self.records
    }

    /// The CloudWatch Embedded Metric Format documents for these records, rendered the first
    /// time any exporter asks and shared after that.
    pub fn emf_documents(&self) -> &[Vec<u8>] {
        self.emf.get_or_init(|| {
            super::emf::documents(self.timestamp_ms, &self.records, self.trace_id())
        })
    }
}

/// A finished span, with the spans that ended inside it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpanRecord {
    /// The span name.
    pub name: String,
    /// Its id: 16 lowercase hex digits.
    pub id: String,
    /// The id of the span it was started in, when it was a child.
    pub parent_id: Option<String>,
    /// Start, in epoch seconds.
    pub start_time: f64,
    /// End, in epoch seconds.
    pub end_time: f64,
    /// Indexed key-values.
    pub annotations: Map<String, Value>,
    /// Unindexed key-values.
    pub metadata: Map<String, Value>,
    /// The error that failed it, when it failed: a message fit to show (an error code, never
    /// a secret).
    pub error: Option<String>,
    /// `aws` for a call to an AWS service, `remote` for another downstream call.
    pub namespace: Option<String>,
    /// The HTTP request it served or made, and the response's status.
    pub http: Option<SpanHttp>,
    /// For an AWS call: `operation`, `region`, `request_id`, and the like.
    pub aws: Map<String, Value>,
    /// The spans started inside this one, in the order they ended.
    pub children: Vec<SpanRecord>,
}

/// The HTTP side of a span: what X-Ray shows in its `http` block. Its status sets the span's
/// `error` (4xx), `throttle` (429) or `fault` (5xx) flag.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SpanHttp {
    /// The request method.
    pub method: Option<String>,
    /// The URL; the X-Ray document leaves out its query string, which may carry tokens.
    pub url: Option<String>,
    /// The caller's `User-Agent`.
    pub user_agent: Option<String>,
    /// The caller's IP address.
    pub client_ip: Option<String>,
    /// The response status.
    pub status: Option<u16>,
    /// The response body's length.
    pub content_length: Option<u64>,
}

impl SpanRecord {
    /// A span with nothing but its name, id and times (epoch seconds), for exporters and
    /// tests that build spans themselves.
    pub fn new(
        name: impl Into<String>,
        id: impl Into<String>,
        start_time: f64,
        end_time: f64,
    ) -> Self {
        SpanRecord {
            name: name.into(),
            id: id.into(),
            parent_id: None,
            start_time,
            end_time,
            annotations: Map::new(),
            metadata: Map::new(),
            error: None,
            namespace: None,
            http: None,
            aws: Map::new(),
            children: Vec::new(),
        }
    }

    /// The span alone (children left out) as a JSON object: `name`, `id`, `parent_id`,
    /// `trace_id`, `start_time`, `end_time`, `annotations`, `metadata`, `error` and `cause`,
    /// `namespace`, `http` (flat: `method`, `url`, `status`, …) and `aws`. (A flat view for
    /// tests and logs; the X-Ray documents are written by
    /// [`xray::document`](super::xray::document).)
    pub fn to_json(&self, trace_id: Option<&str>) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert("id".into(), Value::String(self.id.clone()));
        if let Some(p) = &self.parent_id {
            m.insert("parent_id".into(), Value::String(p.clone()));
        }
        if let Some(t) = trace_id {
            m.insert("trace_id".into(), Value::String(t.to_owned()));
        }
        m.insert("start_time".into(), Value::from(self.start_time));
        m.insert("end_time".into(), Value::from(self.end_time));
        if !self.annotations.is_empty() {
            m.insert(
                "annotations".into(),
                Value::Object(self.annotations.clone()),
            );
        }
        if !self.metadata.is_empty() {
            m.insert("metadata".into(), Value::Object(self.metadata.clone()));
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), Value::Bool(true));
            m.insert("cause".into(), Value::String(e.clone()));
        }
        if let Some(ns) = &self.namespace {
            m.insert("namespace".into(), Value::String(ns.clone()));
        }
        if let Some(h) = &self.http {
            let mut http = Map::new();
            let fields = [
                ("method", h.method.clone().map(Value::String)),
                ("url", h.url.clone().map(Value::String)),
                ("user_agent", h.user_agent.clone().map(Value::String)),
                ("client_ip", h.client_ip.clone().map(Value::String)),
                ("status", h.status.map(Value::from)),
                ("content_length", h.content_length.map(Value::from)),
            ];
            for (k, v) in fields {
                if let Some(v) = v {
                    http.insert(k.into(), v);
                }
            }
            m.insert("http".into(), Value::Object(http));
        }
        if !self.aws.is_empty() {
            m.insert("aws".into(), Value::Object(self.aws.clone()));
        }
        Value::Object(m)
    }
}

/// An invocation's finished spans as trees (a span whose parent is not among them is a root).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpanBatch {
    /// The X-Ray trace id (`1-…-…`) of the invocation, when it is traced.
    pub trace_id: Option<String>,
    /// The whole trace header the invocation carried (`Root=…;Parent=…;Sampled=…`).
    pub trace_header: Option<String>,
    /// The id the top-level spans hang from: in Lambda, the function segment Lambda writes
    /// (the header's `Parent`); outside Lambda, the caller's segment, when it sent a header.
    pub parent_id: Option<String>,
    /// Whether the invocation ran in Lambda, whose own segment the spans go under; outside
    /// Lambda an exporter writes a segment of its own for them.
    pub in_lambda: bool,
    /// The service (`POWERTOOLS_SERVICE_NAME`), which names a segment written outside Lambda.
    pub service: String,
    /// The top-level spans.
    pub roots: Vec<SpanRecord>,
}

impl SpanBatch {
    /// A batch of these trees, not traced (no trace id) until its fields are set.
    pub fn new(roots: Vec<SpanRecord>) -> Self {
        SpanBatch {
            trace_id: None,
            trace_header: None,
            parent_id: None,
            in_lambda: false,
            service: String::new(),
            roots,
        }
    }

    /// Every span, parents before their children.
    pub fn spans(&self) -> Vec<&SpanRecord> {
        fn walk<'a>(s: &'a SpanRecord, out: &mut Vec<&'a SpanRecord>) {
            out.push(s);
            for c in &s.children {
                walk(c, out);
            }
        }
        let mut out = Vec::new();
        for r in &self.roots {
            walk(r, &mut out);
        }
        out
    }
}

/// Build trees from spans in the order they ended (children end before their parents); each
/// span's children stay in end order.
pub(crate) fn span_trees(flat: Vec<SpanRecord>) -> Vec<SpanRecord> {
    use std::collections::{HashMap, HashSet};
    // The common case (one handler span, nothing inside it) needs no index.
    if flat.len() == 1 {
        return flat;
    }
    fn attach(s: &mut SpanRecord, by_parent: &mut HashMap<String, Vec<SpanRecord>>) {
        if let Some(mut kids) = by_parent.remove(&s.id) {
            for k in &mut kids {
                attach(k, by_parent);
            }
            s.children = kids;
        }
    }
    let ids: HashSet<String> = flat.iter().map(|s| s.id.clone()).collect();
    let mut by_parent: HashMap<String, Vec<SpanRecord>> = HashMap::new();
    let mut roots = Vec::new();
    for s in flat {
        match &s.parent_id {
            Some(p) if ids.contains(p) && *p != s.id => {
                by_parent.entry(p.clone()).or_default().push(s);
            }
            _ => roots.push(s),
        }
    }
    for r in &mut roots {
        attach(r, &mut by_parent);
    }
    // Spans left over point at each other in a cycle (ids are random, so only by misuse):
    // they are kept, as roots.
    roots.extend(by_parent.into_values().flatten());
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>) -> SpanRecord {
        let mut s = SpanRecord::new(id, id, 0.0, 0.0);
        s.parent_id = parent.map(Into::into);
        s
    }

    #[test]
    fn spans_become_trees_under_their_parents() {
        // End order: grandchild, child, other, root; "orphan" has a parent outside the set.
        let flat = vec![
            span("g", Some("c")),
            span("c", Some("r")),
            span("o", Some("r")),
            span("orphan", Some("elsewhere")),
            span("r", None),
        ];
        let roots = span_trees(flat);
        let names: Vec<&str> = roots.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(names, ["orphan", "r"]);
        let r = &roots[1];
        let kids: Vec<&str> = r.children.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(kids, ["c", "o"]);
        assert_eq!(r.children[0].children[0].id, "g");
    }
}
