//! One invocation's place in a distributed trace: the X-Ray header it carried (or the one Lift
//! started, outside Lambda), and whether its spans are recorded.

use std::sync::OnceLock;
use std::time::SystemTime;

use super::xray::{Sampled, TraceHeader};
use super::{RecordKind, Settings};

/// The invocation's trace.
#[derive(Debug, Default)]
pub(crate) struct TraceState {
    /// The header the spans belong to.
    pub(crate) header: Option<TraceHeader>,
    /// The root trace id, for log lines and EMF documents (`1-5759e988-…`).
    pub(crate) trace_id: Option<String>,
    /// The header as it came, for exporters that want it whole (when spans are recorded).
    pub(crate) raw: Option<String>,
    /// Whether Lambda owns the trace's segment (the spans go under it).
    pub(crate) in_lambda: bool,
    /// Whether spans are recorded at all.
    pub(crate) recorded: bool,
}

/// Whether this process runs under a Lambda Runtime API (Lambda itself or an emulator).
fn under_runtime_api() -> bool {
    static UNDER: OnceLock<bool> = OnceLock::new();
    *UNDER.get_or_init(|| std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some())
}

impl TraceState {
    /// The trace of an invocation that the runtime handed `runtime` (the `Lambda-Runtime-Trace-Id`
    /// header, never `_X_AMZN_TRACE_ID`, which concurrent invocations share) and whose request
    /// carried `incoming` (`X-Amzn-Trace-Id`).
    ///
    /// - In Lambda, the runtime's header rules: spans are recorded when it is sampled and names
    ///   the function segment (`Parent`) they go under; without one nothing is recorded, for
    ///   Lift never writes a segment of its own there.
    /// - Outside Lambda, the request's header is continued when it is valid; otherwise, when an
    ///   exporter takes spans, a new trace is started.
    ///
    /// `Sampled=0` means nothing is recorded. A malformed header is ignored.
    pub(crate) fn new(settings: &Settings, runtime: Option<&str>, incoming: Option<&str>) -> Self {
        let wanted = settings.tracing_enabled && settings.pipeline.wants(RecordKind::Span);
        let in_lambda = runtime.is_some() || under_runtime_api();
        let header = if in_lambda {
            runtime.and_then(TraceHeader::parse)
        } else {
            match incoming.and_then(TraceHeader::parse) {
                Some(h) => Some(h),
                None if wanted => Some(TraceHeader::new_root(SystemTime::now())),
                None => None,
            }
        };
        let recorded = wanted
            && header.as_ref().is_some_and(|h| {
                h.sampled() != Sampled::No && (!in_lambda || h.parent().is_some())
            });
        TraceState {
            trace_id: header.as_ref().map(|h| h.root().to_owned()),
            // Only the spans carry it: an unrecorded invocation makes no copy.
            raw: recorded
                .then(|| runtime.or(incoming))
                .flatten()
                .map(str::to_owned),
            header,
            in_lambda,
            recorded,
        }
    }

    /// The header to send with a call made from the span `span_id`: the same trace, that span
    /// as the parent. Unrecorded traces pass on their header untouched (so `Sampled=0` stays).
    pub(crate) fn downstream(&self, span_id: Option<&str>) -> Option<TraceHeader> {
        let h = self.header.as_ref()?;
        match span_id {
            Some(id) if self.recorded => Some(h.with_parent(id).with_sampled(Sampled::Yes)),
            _ => Some(h.clone()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::observability::{MemoryExporter, Observability};

    const LAMBDA: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn traced() -> Observability {
        Observability::new().export_to(MemoryExporter::new())
    }

    #[test]
    fn in_lambda_the_runtimes_header_rules() {
        let obs = traced();
        let t = TraceState::new(
            &obs.settings,
            Some(LAMBDA),
            Some("Root=1-00000000-000000000000000000000001"),
        );
        assert!(t.in_lambda && t.recorded);
        assert_eq!(
            t.trace_id.as_deref(),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(
            t.header.as_ref().and_then(|h| h.parent()),
            Some("53995c3f42cd8ad8")
        );
    }

    #[test]
    fn nothing_is_recorded_unsampled_or_without_an_exporter_for_spans() {
        let obs = traced();
        let unsampled = LAMBDA.replace("Sampled=1", "Sampled=0");
        let t = TraceState::new(&obs.settings, Some(&unsampled), None);
        assert!(!t.recorded);
        // The id still goes on the log lines.
        assert_eq!(
            t.trace_id.as_deref(),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        let no_parent = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
        assert!(!TraceState::new(&obs.settings, Some(no_parent), None).recorded);
        let stdout_only = Observability::new();
        assert!(!TraceState::new(&stdout_only.settings, Some(LAMBDA), None).recorded);
        let off = traced().tracing_enabled(false);
        assert!(!TraceState::new(&off.settings, Some(LAMBDA), None).recorded);
    }

    #[test]
    fn outside_lambda_the_request_is_continued_or_a_trace_started() {
        if under_runtime_api() {
            return;
        }
        let obs = traced();
        let t = TraceState::new(&obs.settings, None, Some(LAMBDA));
        assert!(!t.in_lambda && t.recorded);
        assert_eq!(
            t.trace_id.as_deref(),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        let fresh = TraceState::new(&obs.settings, None, Some("garbage"));
        assert!(fresh.recorded);
        assert_eq!(fresh.trace_id.as_deref().map(str::len), Some(35));
        assert_eq!(fresh.header.as_ref().and_then(|h| h.parent()), None);
        // Without an exporter for spans, no trace is made up.
        assert!(TraceState::new(&Observability::new().settings, None, None)
            .header
            .is_none());
    }

    #[test]
    fn calls_out_carry_the_span_as_parent() {
        let obs = traced();
        let t = TraceState::new(&obs.settings, Some(LAMBDA), None);
        assert_eq!(
            t.downstream(Some("1111111111111111")).unwrap().to_string(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=1111111111111111;Sampled=1"
        );
        let unsampled = LAMBDA.replace("Sampled=1", "Sampled=0");
        let t = TraceState::new(&obs.settings, Some(&unsampled), None);
        assert_eq!(
            t.downstream(Some("1111111111111111")).unwrap().to_string(),
            unsampled
        );
    }
}
