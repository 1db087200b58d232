//! Where telemetry is written: a [`Sink`] takes one finished line (a JSON log line, an EMF
//! document or a span) at a time.

use std::io::{self, Write};

/// What a line written to a [`Sink`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A log line.
    Log,
    /// A CloudWatch Embedded Metric Format document.
    Metrics,
    /// A finished trace span.
    Span,
}

/// A destination for telemetry lines. Implementations must not block for long: they are called
/// on the request path for logs (metrics and spans are written after the response).
///
/// An error means the line was not delivered; Lift counts it
/// ([`Observability::dropped_lines`](super::Observability::dropped_lines)) and carries on.
pub trait Sink: Send + Sync + 'static {
    /// Write one complete line (without a trailing newline).
    fn write(&self, kind: RecordKind, line: &[u8]) -> io::Result<()>;

    /// Whether this sink wants lines of `kind` at all. Telemetry of a kind nobody takes is not
    /// produced (spans, for the stdout sink), so it costs nothing.
    fn accepts(&self, kind: RecordKind) -> bool {
        let _ = kind;
        true
    }
}

/// Writes log lines and EMF documents to stdout, one `write` per line, as Lambda's log
/// collection expects. Spans are not written (stdout is not a trace destination).
#[derive(Debug, Default, Clone, Copy)]
pub struct StdoutSink;

impl Sink for StdoutSink {
    fn accepts(&self, kind: RecordKind) -> bool {
        kind != RecordKind::Span
    }

    fn write(&self, kind: RecordKind, line: &[u8]) -> io::Result<()> {
        if !self.accepts(kind) {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        io::stdout().lock().write_all(&buf)
    }
}

/// Takes nothing: with it, loggers, metrics and tracers are no-ops that do no formatting at all.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl Sink for NullSink {
    fn accepts(&self, _kind: RecordKind) -> bool {
        false
    }

    fn write(&self, _kind: RecordKind, _line: &[u8]) -> io::Result<()> {
        Ok(())
    }
}
