//! [`XRayExporter`]: span trees to the X-Ray daemon over UDP, after the response.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use super::document::{self, datagrams, Datagram, Trimmed, MAX_DATAGRAM};
use super::header::new_id;
use crate::observability::{
    ExportCounters, ExportFuture, Exporter, ExporterStats, RecordKind, SpanBatch,
};

/// The daemon's address when `AWS_XRAY_DAEMON_ADDRESS` is not set.
pub const DEFAULT_DAEMON_ADDRESS: &str = "127.0.0.1:2000";

/// The environment variable naming the daemon (`host:port`, or Lambda's
/// `tcp:host:port udp:host:port` form, of which the UDP part is used).
pub const ENV_DAEMON_ADDRESS: &str = "AWS_XRAY_DAEMON_ADDRESS";

/// Sends each invocation's spans to the X-Ray daemon as segment documents over UDP.
///
/// In Lambda with active tracing, Lambda runs the daemon and writes the function's segment;
/// the spans go under it as subsegments (see [`document`](super::document)). Documents are made
/// when the invocation's spans arrive and sent in the flush, both after the response has been
/// posted. UDP does not block and does not say whether the daemon got a datagram: a send the
/// kernel refuses is counted (`send_failed`) and never raised.
///
/// ```
/// use lift::observability::{xray::XRayExporter, Observability};
///
/// let xray = XRayExporter::from_env();
/// let obs = Observability::from_env().export_to(xray.clone());
/// # let _ = obs;
/// assert_eq!(xray.stats_detail().datagrams, 0);
/// ```
#[derive(Clone)]
pub struct XRayExporter {
    inner: Arc<XrayInner>,
}

impl std::fmt::Debug for XRayExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XRayExporter")
            .field("daemon", &self.inner.daemon)
            .finish()
    }
}

struct XrayInner {
    daemon: Result<SocketAddr, String>,
    socket: OnceLock<Result<UdpSocket, String>>,
    /// Datagrams made from spans, waiting for the flush (after the response, so no request
    /// contends for this lock).
    queue: Mutex<Vec<Datagram>>,
    max_datagram: usize,
    counters: ExportCounters,
    datagrams: AtomicU64,
    annotations_dropped: AtomicU64,
    oversize: AtomicU64,
}

/// The exporter's stats, beyond [`ExporterStats`] (accepted and written count spans).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct XRayStats {
    /// Spans accepted, written (sent), and dropped by reason (`send_failed`, `no_daemon`,
    /// `too_large`), with the last error.
    pub exporter: ExporterStats,
    /// Datagrams sent.
    pub datagrams: u64,
    /// Annotations left out: over 50 on a span, or not a string, number or bool.
    pub annotations_dropped: u64,
    /// Spans sent without their metadata (or annotations) to fit in a datagram.
    pub oversize: u64,
}

/// `host:port`, or the UDP part of `tcp:host:port udp:host:port`.
fn parse_address(raw: &str) -> Result<SocketAddr, String> {
    let parts: Vec<&str> = raw.split_whitespace().collect();
    let udp = parts
        .iter()
        .find_map(|p| p.strip_prefix("udp:"))
        .or_else(|| (parts.len() == 1).then(|| parts[0]))
        .ok_or_else(|| format!("{ENV_DAEMON_ADDRESS} has no UDP address: {raw:?}"))?;
    udp.to_socket_addrs()
        .map_err(|e| format!("{ENV_DAEMON_ADDRESS} {udp:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{ENV_DAEMON_ADDRESS} {udp:?} resolves to nothing"))
}

impl XRayExporter {
    /// An exporter sending to `AWS_XRAY_DAEMON_ADDRESS`, or to `127.0.0.1:2000`. An address
    /// that does not parse is reported in the stats' last error, and spans are dropped as
    /// `no_daemon`.
    pub fn from_env() -> XRayExporter {
        let raw = std::env::var(ENV_DAEMON_ADDRESS)
            .ok()
            .filter(|v| !v.trim().is_empty());
        XRayExporter::with_address(raw.as_deref().unwrap_or(DEFAULT_DAEMON_ADDRESS))
    }

    /// An exporter sending to `address` (`host:port`).
    pub fn with_address(address: &str) -> XRayExporter {
        XRayExporter::build(parse_address(address), MAX_DATAGRAM)
    }

    /// The same daemon, with datagrams of at most `bytes` (default and most: 64 KiB), for
    /// daemons configured lower. Call it before cloning the exporter: it makes a new one.
    pub fn max_datagram(self, bytes: usize) -> XRayExporter {
        XRayExporter::build(self.inner.daemon.clone(), bytes.min(MAX_DATAGRAM))
    }

    fn build(daemon: Result<SocketAddr, String>, max_datagram: usize) -> XRayExporter {
        let counters = ExportCounters::new();
        if let Err(e) = &daemon {
            counters.error(e.clone());
        }
        XRayExporter {
            inner: Arc::new(XrayInner {
                daemon,
                socket: OnceLock::new(),
                queue: Mutex::new(Vec::new()),
                max_datagram,
                counters,
                datagrams: AtomicU64::new(0),
                annotations_dropped: AtomicU64::new(0),
                oversize: AtomicU64::new(0),
            }),
        }
    }

    /// The stats, with datagrams and what rendering left out.
    pub fn stats_detail(&self) -> XRayStats {
        let i = &self.inner;
        XRayStats {
            exporter: i.counters.snapshot(),
            datagrams: i.datagrams.load(Ordering::Relaxed),
            annotations_dropped: i.annotations_dropped.load(Ordering::Relaxed),
            oversize: i.oversize.load(Ordering::Relaxed),
        }
    }
}

impl XrayInner {
    fn socket(&self, to: &SocketAddr) -> Result<&UdpSocket, &str> {
        self.socket
            .get_or_init(|| {
                let local: SocketAddr = if to.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    ([0u16; 8], 0).into()
                };
                let s = UdpSocket::bind(local).map_err(|e| format!("binding a UDP socket: {e}"))?;
                s.set_nonblocking(true)
                    .map_err(|e| format!("making the UDP socket non-blocking: {e}"))?;
                // Connected once, so each send skips the per-datagram route lookup.
                s.connect(to)
                    .map_err(|e| format!("connecting to the X-Ray daemon {to}: {e}"))?;
                Ok(s)
            })
            .as_ref()
            .map_err(String::as_str)
    }

    fn send(&self) {
        let queued = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
        if queued.is_empty() {
            return;
        }
        let daemon = match &self.daemon {
            Ok(d) => d,
            Err(_) => {
                let spans = queued.iter().map(|d| d.spans).sum();
                self.counters.dropped("no_daemon", spans);
                return;
            }
        };
        let socket = match self.socket(daemon) {
            Ok(s) => s,
            Err(e) => {
                self.counters.error(e.to_owned());
                self.counters
                    .dropped("send_failed", queued.iter().map(|d| d.spans).sum());
                return;
            }
        };
        let (mut sent, mut datagrams) = (0, 0);
        for d in &queued {
            match socket.send(&d.bytes) {
                Ok(_) => {
                    sent += d.spans;
                    datagrams += 1;
                }
                Err(e) => {
                    self.counters.dropped("send_failed", d.spans);
                    self.counters
                        .error(format!("sending to the X-Ray daemon: {e}"));
                }
            }
        }
        self.counters.written(sent);
        self.datagrams.fetch_add(datagrams, Ordering::Relaxed);
    }
}

impl Exporter for XRayExporter {
    fn name(&self) -> &str {
        "xray"
    }

    fn accepts(&self, kind: RecordKind) -> bool {
        kind == RecordKind::Span
    }

    fn spans(&self, batch: &SpanBatch) {
        let i = &self.inner;
        let total: u64 = batch.roots.iter().map(document::count).sum();
        i.counters.accepted(total);
        let mut trimmed = Trimmed::default();
        // A segment of Lift's own is written only outside Lambda.
        let segment_id = if batch.in_lambda {
            String::new()
        } else {
            new_id()
        };
        let made = datagrams(
            batch,
            &batch.service,
            &segment_id,
            i.max_datagram,
            &mut trimmed,
        );
        let carried: u64 = made.iter().map(|d| d.spans).sum();
        if carried < total {
            i.counters.dropped("too_large", total - carried);
        }
        i.annotations_dropped
            .fetch_add(trimmed.annotations, Ordering::Relaxed);
        i.oversize.fetch_add(trimmed.oversize, Ordering::Relaxed);
        i.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(made);
    }

    fn flush(&self, _deadline: Instant) -> ExportFuture<'_> {
        // A UDP send does not wait for the daemon: done before the future is even polled.
        self.inner.send();
        Box::pin(std::future::ready(()))
    }

    fn stats(&self) -> ExporterStats {
        self.inner.counters.snapshot()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_address_is_read_in_both_forms() {
        assert_eq!(
            parse_address("127.0.0.1:2000").unwrap(),
            "127.0.0.1:2000".parse().unwrap()
        );
        assert_eq!(
            parse_address("tcp:127.0.0.1:2000 udp:127.0.0.2:2001").unwrap(),
            "127.0.0.2:2001".parse().unwrap()
        );
        assert!(parse_address("tcp:127.0.0.1:2000 tcp:1.2.3.4:1").is_err());
        assert!(parse_address("nowhere").is_err());
    }

    #[test]
    fn a_bad_address_drops_spans_and_says_why() {
        let x = XRayExporter::with_address("not an address");
        let mut b = SpanBatch::new(vec![crate::observability::SpanRecord::new(
            "s",
            "1111111111111111",
            1.0,
            2.0,
        )]);
        b.trace_id = Some("1-5759e988-bd862e3fe1be46a994272793".into());
        x.spans(&b);
        x.inner.send();
        let s = x.stats_detail();
        assert_eq!(s.exporter.accepted, 1);
        assert_eq!(s.exporter.dropped_for("no_daemon"), 1);
        assert!(s
            .exporter
            .last_error
            .unwrap()
            .contains("AWS_XRAY_DAEMON_ADDRESS"));
    }
}
