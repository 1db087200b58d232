//! The X-Ray trace header (`X-Amzn-Trace-Id`, and `_X_AMZN_TRACE_ID` in Lambda), and its W3C
//! `traceparent` equivalent.
//!
//! The header arrives from callers Lift does not control, so [`TraceHeader::parse`] never fails
//! loudly: a header without a valid `Root` is ignored (`None`), and a malformed `Parent`,
//! `Sampled` or `Lineage` is dropped on its own, so the trace still continues.
//!
//! ```
//! use lift::observability::xray::{Sampled, TraceHeader};
//!
//! let h = TraceHeader::parse("Root=1-5759E988-BD862E3FE1BE46A994272793; Parent=53995c3f42cd8ad8; Sampled=1").unwrap();
//! assert_eq!(h.root(), "1-5759e988-bd862e3fe1be46a994272793");
//! assert_eq!(h.parent(), Some("53995c3f42cd8ad8"));
//! assert_eq!(h.sampled(), Sampled::Yes);
//! assert_eq!(h.to_string(), "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
//!
//! // Calling out: the same trace, with the caller's segment as the parent.
//! let out = h.with_parent("0123456789abcdef");
//! assert_eq!(
//!     out.to_traceparent().as_deref(),
//!     Some("00-5759e988bd862e3fe1be46a994272793-0123456789abcdef-01"),
//! );
//! assert_eq!(TraceHeader::parse("Parent=53995c3f42cd8ad8;Sampled=1"), None);
//! ```

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Far longer than any header X-Ray writes, and short enough that rejecting a hostile value is
/// cheap.
const MAX_HEADER_LEN: usize = 2048;
/// `1-` + 8 hex digits + `-` + 24 hex digits.
const ROOT_LEN: usize = 35;
/// The 32 hex digits of a trace id, without the version and dashes of the X-Ray form.
const TRACE_ID_LEN: usize = 32;
/// A segment id, and a W3C parent id.
const ID_LEN: usize = 16;
const MAX_LINEAGE_LEN: usize = 256;
/// `00-` + 32 + `-` + 16 + `-` + 2.
const TRACEPARENT_LEN: usize = 55;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The sampling decision a trace header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampled {
    /// `Sampled=1`: the caller records this trace, so the receiver records it too.
    Yes,
    /// `Sampled=0`: the caller decided not to record it.
    No,
    /// `Sampled=?`: the caller asks the receiver to make the decision.
    Requested,
    /// No `Sampled` part, or a value other than `1`, `0` and `?`: no decision was passed on.
    Unknown,
}

impl Sampled {
    fn from_value(v: &str) -> Sampled {
        match v {
            "1" => Sampled::Yes,
            "0" => Sampled::No,
            "?" => Sampled::Requested,
            _ => Sampled::Unknown,
        }
    }

    fn as_value(self) -> Option<&'static str> {
        match self {
            Sampled::Yes => Some("1"),
            Sampled::No => Some("0"),
            Sampled::Requested => Some("?"),
            Sampled::Unknown => None,
        }
    }
}

/// A parsed X-Ray trace header: the trace's `Root` id, and the optional `Parent` segment id,
/// `Sampled` decision and `Lineage`.
///
/// Ids are kept in lowercase, so two headers that differ only in the case of their hex digits
/// are equal, and [`Display`](fmt::Display) writes the canonical form
/// `Root=…;Parent=…;Sampled=…;Lineage=…`, leaving out the parts that are absent.
#[derive(Clone, PartialEq, Eq)]
pub struct TraceHeader {
    root: [u8; ROOT_LEN],
    parent: Option<[u8; ID_LEN]>,
    sampled: Sampled,
    lineage: Option<Box<str>>,
}

impl TraceHeader {
    /// Parses an `X-Amzn-Trace-Id` value such as
    /// `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`.
    ///
    /// Keys match in any case, whitespace around keys and values is ignored, and so are empty
    /// parts and unknown keys (such as `Self`). When a key repeats, its first occurrence decides,
    /// so a part appended further down the line cannot override the caller's. Returns `None`
    /// when there is no valid `Root`, or the value is longer than 2048 bytes; an invalid
    /// `Parent` or `Lineage` is dropped, and an unrecognised `Sampled` reads as
    /// [`Sampled::Unknown`].
    ///
    /// ```
    /// use lift::observability::xray::{Sampled, TraceHeader};
    ///
    /// let h = TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=nope;Sampled=yes").unwrap();
    /// assert_eq!((h.parent(), h.sampled()), (None, Sampled::Unknown));
    /// assert_eq!(TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a99427279"), None);
    /// ```
    pub fn parse(s: &str) -> Option<TraceHeader> {
        if s.len() > MAX_HEADER_LEN {
            return None;
        }
        let [mut root, mut parent, mut sampled, mut lineage] = [None::<&str>; 4];
        for part in s.split(';') {
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            let key = key.trim_ascii();
            let slot = if key.eq_ignore_ascii_case("Root") {
                &mut root
            } else if key.eq_ignore_ascii_case("Parent") {
                &mut parent
            } else if key.eq_ignore_ascii_case("Sampled") {
                &mut sampled
            } else if key.eq_ignore_ascii_case("Lineage") {
                &mut lineage
            } else {
                continue;
            };
            slot.get_or_insert(value.trim_ascii());
        }
        Some(TraceHeader {
            root: parse_root(root?)?,
            parent: parent.and_then(parse_id),
            sampled: sampled.map_or(Sampled::Unknown, Sampled::from_value),
            lineage: lineage.filter(|l| valid_lineage(l)).map(Box::from),
        })
    }

    /// A new trace: random 96-bit id with the epoch seconds of `at`, no parent, [`Sampled::Yes`].
    ///
    /// The time field holds the low 32 bits of the seconds since the Unix epoch (0 for a time
    /// before it), as X-Ray has no wider field.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use lift::observability::xray::TraceHeader;
    ///
    /// let h = TraceHeader::new_root(UNIX_EPOCH + Duration::from_secs(0x5759e988));
    /// assert!(h.root().starts_with("1-5759e988-"));
    /// assert_eq!(h.to_string(), format!("Root={};Sampled=1", h.root()));
    /// ```
    pub fn new_root(at: SystemTime) -> TraceHeader {
        let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut id = [0; TRACE_ID_LEN];
        write_hex(&mut id[..8], secs & 0xffff_ffff);
        write_hex(&mut id[8..16], u64::from(fastrand::u32(..)));
        // Never all zeros, even at the epoch: W3C rejects an all-zero trace id, and the trace
        // must stay expressible as a `traceparent`.
        write_hex(&mut id[16..], fastrand::u64(1..));
        TraceHeader {
            root: root_from_trace_id(&id),
            parent: None,
            sampled: Sampled::Yes,
            lineage: None,
        }
    }

    /// The trace id in X-Ray form, in lowercase: `1-5759e988-bd862e3fe1be46a994272793`.
    pub fn root(&self) -> &str {
        ascii(&self.root)
    }

    /// The id of the segment that sent the request (16 lowercase hex digits), if it had one.
    pub fn parent(&self) -> Option<&str> {
        self.parent.as_ref().map(|p| ascii(p))
    }

    /// The sampling decision passed on by the caller.
    pub fn sampled(&self) -> Sampled {
        self.sampled
    }

    /// The `Lineage` part, verbatim (Lambda uses it to detect recursive loops).
    pub fn lineage(&self) -> Option<&str> {
        self.lineage.as_deref()
    }

    /// The same trace with another parent (the id of the segment/subsegment that calls out).
    ///
    /// `parent` must be 16 hex digits; anything else is ignored and the current parent kept,
    /// so a bad id can never produce a header that the receiver would drop.
    pub fn with_parent(&self, parent: &str) -> TraceHeader {
        let mut h = self.clone();
        if let Some(p) = parse_id(parent) {
            h.parent = Some(p);
        }
        h
    }

    /// The same trace with another sampling decision.
    pub fn with_sampled(&self, s: Sampled) -> TraceHeader {
        let mut h = self.clone();
        h.sampled = s;
        h
    }

    /// This trace as a W3C `traceparent`:
    /// `00-<the root's 8 + 24 hex digits>-<parent>-<01 if Sampled::Yes, else 00>`.
    ///
    /// `None` without a parent, or when the trace id or the parent is all zeros: W3C has no
    /// way to say either.
    ///
    /// ```
    /// use lift::observability::xray::TraceHeader;
    ///
    /// let h = TraceHeader::parse("Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1").unwrap();
    /// assert_eq!(
    ///     h.to_traceparent().as_deref(),
    ///     Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    /// );
    /// ```
    pub fn to_traceparent(&self) -> Option<String> {
        let parent = self.parent?;
        let trace_id = self.trace_id();
        if all_zeros(&trace_id) || all_zeros(&parent) {
            return None;
        }
        let mut out = String::with_capacity(TRACEPARENT_LEN);
        out.push_str("00-");
        out.push_str(ascii(&trace_id));
        out.push('-');
        out.push_str(ascii(&parent));
        out.push_str(if self.sampled == Sampled::Yes {
            "-01"
        } else {
            "-00"
        });
        Some(out)
    }

    /// From a W3C `traceparent`: version `00`, or a higher version (not `ff`) with at least
    /// those fields; lowercase hex only; an all-zero trace id or parent id is invalid; bit 0
    /// of the flags is the sampling decision ([`Sampled::Yes`] or [`Sampled::No`]). Spaces and
    /// tabs around the value are ignored. Returns `None` when malformed.
    ///
    /// ```
    /// use lift::observability::xray::TraceHeader;
    ///
    /// let h = TraceHeader::from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    /// assert_eq!(h.to_string(), "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1");
    /// assert_eq!(TraceHeader::from_traceparent("00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01"), None);
    /// ```
    pub fn from_traceparent(s: &str) -> Option<TraceHeader> {
        let b = s.trim_matches([' ', '\t']).as_bytes();
        let version = b.get(..2)?;
        if !is_lower_hex(version) || version == b"ff" {
            return None;
        }
        // Version 00 is exactly these fields; a later version may append `-`-separated ones.
        let length_ok = b.len() == TRACEPARENT_LEN
            || (version != b"00" && b.get(TRACEPARENT_LEN) == Some(&b'-'));
        if !length_ok || b.get(2) != Some(&b'-') || b.get(35) != Some(&b'-') {
            return None;
        }
        if b.get(52) != Some(&b'-') {
            return None;
        }
        let trace_id: &[u8; TRACE_ID_LEN] = b.get(3..35)?.try_into().ok()?;
        let parent: [u8; ID_LEN] = b.get(36..52)?.try_into().ok()?;
        let flags = b.get(53..55)?;
        if !is_lower_hex(trace_id) || !is_lower_hex(&parent) || !is_lower_hex(flags) {
            return None;
        }
        if all_zeros(trace_id) || all_zeros(&parent) {
            return None;
        }
        let sampled = match flags.get(1).and_then(|&c| char::from(c).to_digit(16)) {
            Some(d) if d & 1 == 1 => Sampled::Yes,
            _ => Sampled::No,
        };
        Some(TraceHeader {
            root: root_from_trace_id(trace_id),
            parent: Some(parent),
            sampled,
            lineage: None,
        })
    }

    /// The root's hex digits without the version and dashes, the W3C trace id.
    fn trace_id(&self) -> [u8; TRACE_ID_LEN] {
        let mut id = [0; TRACE_ID_LEN];
        id[..8].copy_from_slice(&self.root[2..10]);
        id[8..].copy_from_slice(&self.root[11..]);
        id
    }
}

impl fmt::Display for TraceHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Root=")?;
        f.write_str(self.root())?;
        if let Some(parent) = self.parent() {
            f.write_str(";Parent=")?;
            f.write_str(parent)?;
        }
        if let Some(sampled) = self.sampled.as_value() {
            f.write_str(";Sampled=")?;
            f.write_str(sampled)?;
        }
        if let Some(lineage) = self.lineage() {
            f.write_str(";Lineage=")?;
            f.write_str(lineage)?;
        }
        Ok(())
    }
}

// By hand, so ids show as text rather than as arrays of bytes.
impl fmt::Debug for TraceHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceHeader")
            .field("root", &self.root())
            .field("parent", &self.parent())
            .field("sampled", &self.sampled)
            .field("lineage", &self.lineage())
            .finish()
    }
}

/// A new 16-hex subsegment/segment id (random, never all zeros).
///
/// ```
/// let id = lift::observability::xray::header::new_id();
/// assert_eq!(id.len(), 16);
/// assert!(id.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
/// ```
pub fn new_id() -> String {
    // Zero is excluded because W3C rejects an all-zero parent id.
    format!("{:016x}", fastrand::u64(1..))
}

fn parse_root(v: &str) -> Option<[u8; ROOT_LEN]> {
    let mut root: [u8; ROOT_LEN] = v.as_bytes().try_into().ok()?;
    for (i, c) in root.iter_mut().enumerate() {
        let ok = match i {
            0 => *c == b'1',
            1 | 10 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return None;
        }
        c.make_ascii_lowercase();
    }
    Some(root)
}

fn parse_id(v: &str) -> Option<[u8; ID_LEN]> {
    let mut id: [u8; ID_LEN] = v.as_bytes().try_into().ok()?;
    if !id.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    id.make_ascii_lowercase();
    Some(id)
}

fn valid_lineage(v: &str) -> bool {
    (1..=MAX_LINEAGE_LEN).contains(&v.len())
        && v.bytes()
            .all(|c| c.is_ascii_graphic() && c != b';' && c != b'=')
}

fn root_from_trace_id(id: &[u8; TRACE_ID_LEN]) -> [u8; ROOT_LEN] {
    let mut root = [0; ROOT_LEN];
    root[..2].copy_from_slice(b"1-");
    root[2..10].copy_from_slice(&id[..8]);
    root[10] = b'-';
    root[11..].copy_from_slice(&id[8..]);
    root
}

/// Writes the low `4 * dst.len()` bits of `v` as lowercase hex.
fn write_hex(dst: &mut [u8], mut v: u64) {
    for c in dst.iter_mut().rev() {
        *c = HEX[(v & 0xf) as usize];
        v >>= 4;
    }
}

fn is_lower_hex(b: &[u8]) -> bool {
    b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

fn all_zeros(b: &[u8]) -> bool {
    b.iter().all(|&c| c == b'0')
}

/// Only ASCII hex is ever stored in the id arrays, so the fallback is never taken; it keeps the
/// accessors free of both `unsafe` and panics.
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
    const AWS: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    const LAMBDA: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1|68fd508a:5";
    const W3C: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const W3C_AS_XRAY: &str =
        "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1";

    fn parts(h: &TraceHeader) -> (&str, Option<&str>, Sampled, Option<&str>) {
        (h.root(), h.parent(), h.sampled(), h.lineage())
    }

    fn round_trips(h: &TraceHeader) {
        assert_eq!(TraceHeader::parse(&h.to_string()).as_ref(), Some(h));
    }

    #[test]
    fn xray_aws_doc_example() {
        let h = TraceHeader::parse(AWS).unwrap();
        assert_eq!(
            parts(&h),
            (ROOT, Some("53995c3f42cd8ad8"), Sampled::Yes, None)
        );
        assert_eq!(h.to_string(), AWS);
    }

    #[test]
    fn xray_lambda_header_with_lineage() {
        let h = TraceHeader::parse(LAMBDA).unwrap();
        assert_eq!(
            parts(&h),
            (
                ROOT,
                Some("53995c3f42cd8ad8"),
                Sampled::No,
                Some("a87bd80c:1|68fd508a:5")
            )
        );
        assert_eq!(h.to_string(), LAMBDA);
    }

    #[test]
    fn xray_uppercase_hex_is_normalised() {
        let h = TraceHeader::parse(
            "Root=1-5759E988-BD862E3FE1BE46A994272793;Parent=53995C3F42CD8AD8;Sampled=1",
        )
        .unwrap();
        assert_eq!(h.to_string(), AWS);
        assert_eq!(h, TraceHeader::parse(AWS).unwrap());
    }

    #[test]
    fn xray_spaces_keys_case_and_order() {
        let h = TraceHeader::parse(
            "  sampled = 1 ;\tLINEAGE=a87bd80c:1|68fd508a:5 ; parent=53995c3f42cd8ad8;  rOOt =  1-5759e988-bd862e3fe1be46a994272793  ",
        )
        .unwrap();
        assert_eq!(
            h.to_string(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5"
        );
    }

    #[test]
    fn xray_unknown_keys_and_empty_parts_ignored() {
        let h = TraceHeader::parse(
            ";;Self=1-67891234-12456789abcdef012345678;Root=1-5759e988-bd862e3fe1be46a994272793;;Foo=bar;Parent=53995c3f42cd8ad8;Sampled=1;;noequals;",
        )
        .unwrap();
        assert_eq!(h.to_string(), AWS);
    }

    #[test]
    fn xray_first_occurrence_wins() {
        let h = TraceHeader::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;root=1-00000000-000000000000000000000000;Parent=ffffffffffffffff;Sampled=0",
        )
        .unwrap();
        assert_eq!(h.to_string(), AWS);
        // The first occurrence decides even when it is invalid.
        let h = TraceHeader::parse(&format!("{AWS};Parent=zz;PARENT=0123456789abcdef")).unwrap();
        assert_eq!(h.parent(), Some("53995c3f42cd8ad8"));
        let h = TraceHeader::parse(&format!("Parent=zz;{AWS}")).unwrap();
        assert_eq!(h.parent(), None);
        assert_eq!(TraceHeader::parse(&format!("Root=bad;{AWS}")), None);
    }

    #[test]
    fn xray_root_only() {
        let h = TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793").unwrap();
        assert_eq!(parts(&h), (ROOT, None, Sampled::Unknown, None));
        assert_eq!(h.to_string(), "Root=1-5759e988-bd862e3fe1be46a994272793");
    }

    #[test]
    fn xray_bad_parent_is_dropped() {
        for parent in [
            "",
            "53995c3f42cd8ad",
            "53995c3f42cd8ad8a",
            "53995c3f42cd8adg",
            "53995c3f 42cd8ad8",
            "0x995c3f42cd8ad8",
            "53995c3f42cd8ad\u{e9}",
        ] {
            let h = TraceHeader::parse(&format!("Root={ROOT};Parent={parent};Sampled=1")).unwrap();
            assert_eq!(
                parts(&h),
                (ROOT, None, Sampled::Yes, None),
                "parent {parent:?}"
            );
        }
    }

    #[test]
    fn xray_sampled_values() {
        for (value, expected) in [
            ("1", Sampled::Yes),
            ("0", Sampled::No),
            ("?", Sampled::Requested),
            (" ? ", Sampled::Requested),
            ("", Sampled::Unknown),
            ("2", Sampled::Unknown),
            ("true", Sampled::Unknown),
            ("11", Sampled::Unknown),
            ("01", Sampled::Unknown),
        ] {
            let h = TraceHeader::parse(&format!("Root={ROOT};Sampled={value}")).unwrap();
            assert_eq!(h.sampled(), expected, "Sampled={value:?}");
        }
        let requested = TraceHeader::parse(&format!("Root={ROOT};Sampled=?")).unwrap();
        assert_eq!(requested.to_string(), format!("Root={ROOT};Sampled=?"));
        let unknown = TraceHeader::parse(&format!("Root={ROOT};Sampled=x")).unwrap();
        assert_eq!(unknown.to_string(), format!("Root={ROOT}"));
    }

    #[test]
    fn xray_lineage_rules() {
        let long = "a".repeat(256);
        let too_long = "a".repeat(257);
        for (value, expected) in [
            ("a87bd80c:1|68fd508a:5", Some("a87bd80c:1|68fd508a:5")),
            ("  x  ", Some("x")),
            ("!~", Some("!~")),
            (long.as_str(), Some(long.as_str())),
            (too_long.as_str(), None),
            ("", None),
            ("a=b", None),
            ("a b", None),
            ("a\u{7f}", None),
            ("caf\u{e9}", None),
        ] {
            let h = TraceHeader::parse(&format!("Root={ROOT};Lineage={value}")).unwrap();
            assert_eq!(h.lineage(), expected, "Lineage={value:?}");
            assert_eq!(h.root(), ROOT);
        }
    }

    #[test]
    fn xray_hostile_inputs_are_none() {
        let junk = "x".repeat(10 * 1024);
        let cases = [
            "",
            ";;;",
            "=",
            "==;==",
            "Root",
            "Root=",
            "Root=;Parent=53995c3f42cd8ad8",
            "Root=1-xyz",
            "Root=1-xyz9e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279",
            "Root=1-5759e988-bd862e3fe1be46a9942727931",
            "Root=1-5759e98-bd862e3fe1be46a9942727931",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1_5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988_bd862e3fe1be46a994272793",
            "Root=1-5759e988bd862e3fe1be46a9942727931",
            "Root=1-5759e988-bd862e3fe1be46a99427279\u{e9}",
            "Root=1-5759e988-bd862e3fe1be46a9942727g3",
            "Ro ot=1-5759e988-bd862e3fe1be46a994272793",
            "Parent=53995c3f42cd8ad8;Sampled=1",
            junk.as_str(),
        ];
        for s in cases {
            assert_eq!(TraceHeader::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn xray_length_limit() {
        let base = format!("Root={ROOT};");
        let at_limit = format!("{base}{}", ";".repeat(MAX_HEADER_LEN - base.len()));
        assert_eq!(at_limit.len(), 2048);
        assert_eq!(TraceHeader::parse(&at_limit).unwrap().root(), ROOT);
        let over = format!("{at_limit};");
        assert_eq!(TraceHeader::parse(&over), None);
        let padded = format!("{AWS};{}", "x".repeat(10 * 1024));
        assert_eq!(TraceHeader::parse(&padded), None);
    }

    #[test]
    fn xray_multibyte_anywhere_never_panics() {
        let root_part_end = "Root=".len() + ROOT.len();
        for ch in [
            '\u{e9}',
            '\u{20ac}',
            '\u{1f600}',
            '\u{a0}',
            '\u{0}',
            '\u{feff}',
        ] {
            for i in 0..=LAMBDA.len() {
                let mut s = LAMBDA.to_owned();
                s.insert(i, ch);
                let parsed = TraceHeader::parse(&s);
                if i <= root_part_end {
                    assert_eq!(parsed, None, "{s:?}");
                } else {
                    let h = parsed.unwrap();
                    assert_eq!(h.root(), ROOT, "{s:?}");
                    round_trips(&h);
                }
                assert_eq!(TraceHeader::from_traceparent(&s), None);
            }
            for i in 0..=W3C.len() {
                let mut s = W3C.to_owned();
                s.insert(i, ch);
                assert_eq!(TraceHeader::from_traceparent(&s), None, "{s:?}");
            }
        }
    }

    #[test]
    fn xray_random_input_never_panics_and_round_trips() {
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabet: Vec<char> = "Root=Parent;Sampled=Lineage1-0af?e9 \t\u{e9}\u{1f600}"
            .chars()
            .collect();
        for _ in 0..20_000 {
            let len = rng.usize(0..80);
            let mut s: String = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            if rng.bool() {
                s.insert_str(0, &format!("Root={ROOT};"));
            }
            if let Some(h) = TraceHeader::parse(&s) {
                round_trips(&h);
            }
            if let Some(h) = TraceHeader::from_traceparent(&s) {
                let tp = h.to_traceparent().unwrap();
                assert_eq!(TraceHeader::from_traceparent(&tp), Some(h));
            }
        }
    }

    #[test]
    fn xray_round_trips() {
        for s in [
            AWS,
            LAMBDA,
            "Root=1-5759E988-BD862E3FE1BE46A994272793",
            "Sampled=?;Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=x",
            "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
        ] {
            round_trips(&TraceHeader::parse(s).unwrap());
        }
        round_trips(&TraceHeader::new_root(SystemTime::now()));
    }

    #[test]
    fn xray_new_root() {
        let at = UNIX_EPOCH + Duration::from_secs(0x5759_e988);
        let h = TraceHeader::new_root(at);
        assert_eq!(h.root().len(), 35);
        assert!(h.root().starts_with("1-5759e988-"), "{}", h.root());
        assert_eq!(
            (h.parent(), h.sampled(), h.lineage()),
            (None, Sampled::Yes, None)
        );
        assert_eq!(h.to_traceparent(), None);
        assert_ne!(TraceHeader::new_root(at), h);
        // Seconds past 32 bits keep their low 32 bits; before the epoch is zero.
        let wide = TraceHeader::new_root(UNIX_EPOCH + Duration::from_secs(0x1_0000_0001));
        assert!(wide.root().starts_with("1-00000001-"), "{}", wide.root());
        let before = TraceHeader::new_root(UNIX_EPOCH - Duration::from_secs(1));
        assert!(
            before.root().starts_with("1-00000000-"),
            "{}",
            before.root()
        );
        let at_epoch = TraceHeader::new_root(UNIX_EPOCH).with_parent("b7ad6b7169203331");
        assert!(at_epoch.to_traceparent().is_some());
    }

    #[test]
    fn xray_new_id() {
        let a = new_id();
        assert_eq!(a.len(), 16);
        assert!(
            is_lower_hex(a.as_bytes()) && !all_zeros(a.as_bytes()),
            "{a}"
        );
        assert_ne!(new_id(), a);
        let h = TraceHeader::parse(ROOT_ONLY).unwrap().with_parent(&a);
        assert_eq!(h.parent(), Some(a.as_str()));
    }

    const ROOT_ONLY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793";

    #[test]
    fn xray_with_parent_and_sampled() {
        let h = TraceHeader::parse(LAMBDA).unwrap();
        let out = h.with_parent("0123456789ABCDEF");
        assert_eq!(
            out.to_string(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0123456789abcdef;Sampled=0;Lineage=a87bd80c:1|68fd508a:5"
        );
        for bad in [
            "",
            "0123456789abcde",
            "0123456789abcdefa",
            "0123456789abcdeg",
            " 0123456789abcde",
        ] {
            assert_eq!(out.with_parent(bad), out, "{bad:?}");
        }
        assert_eq!(
            TraceHeader::parse(ROOT_ONLY)
                .unwrap()
                .with_parent("nope")
                .parent(),
            None
        );
        let s = out.with_sampled(Sampled::Requested);
        assert_eq!(
            s.to_string(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0123456789abcdef;Sampled=?;Lineage=a87bd80c:1|68fd508a:5"
        );
        assert_eq!(
            s.with_sampled(Sampled::Unknown).to_string(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0123456789abcdef;Lineage=a87bd80c:1|68fd508a:5"
        );
        // The original is untouched.
        assert_eq!(h.to_string(), LAMBDA);
    }

    #[test]
    fn traceparent_w3c_example_both_ways() {
        let h = TraceHeader::from_traceparent(W3C).unwrap();
        assert_eq!(h.to_string(), W3C_AS_XRAY);
        assert_eq!(h, TraceHeader::parse(W3C_AS_XRAY).unwrap());
        assert_eq!(
            TraceHeader::parse(W3C_AS_XRAY)
                .unwrap()
                .to_traceparent()
                .as_deref(),
            Some(W3C)
        );
        assert_eq!(h.to_traceparent().as_deref(), Some(W3C));
    }

    #[test]
    fn traceparent_flags_and_sampling() {
        let base = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-";
        for (flags, expected) in [
            ("00", Sampled::No),
            ("01", Sampled::Yes),
            ("02", Sampled::No),
            ("03", Sampled::Yes),
            ("ff", Sampled::Yes),
            ("fe", Sampled::No),
            ("09", Sampled::Yes),
            ("0a", Sampled::No),
            ("0b", Sampled::Yes),
        ] {
            let h = TraceHeader::from_traceparent(&format!("{base}{flags}")).unwrap();
            assert_eq!(h.sampled(), expected, "flags {flags}");
        }
        let xray = TraceHeader::parse(W3C_AS_XRAY).unwrap();
        for (sampled, flags) in [
            (Sampled::Yes, "01"),
            (Sampled::No, "00"),
            (Sampled::Requested, "00"),
            (Sampled::Unknown, "00"),
        ] {
            assert_eq!(
                xray.with_sampled(sampled).to_traceparent(),
                Some(format!("{base}{flags}"))
            );
        }
    }

    #[test]
    fn traceparent_later_versions_and_whitespace() {
        let later = "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let expected = TraceHeader::parse(W3C_AS_XRAY).unwrap();
        for s in [
            later.to_owned(),
            format!("{later}-what-the-future-holds"),
            format!("{later}-"),
            format!(" {W3C}"),
            format!("\t{W3C} \t"),
        ] {
            assert_eq!(
                TraceHeader::from_traceparent(&s).as_ref(),
                Some(&expected),
                "{s:?}"
            );
        }
    }

    #[test]
    fn traceparent_invalid() {
        let cases = [
            "",
            "00",
            "00-",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "000-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "0A-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A",
            "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319cc-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033311-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-011",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
            "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0\u{e9}",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333\u{e9}-01",
            W3C_AS_XRAY,
        ];
        for s in cases {
            assert_eq!(TraceHeader::from_traceparent(s), None, "{s:?}");
        }
    }

    #[test]
    fn traceparent_needs_a_nonzero_parent() {
        assert_eq!(
            TraceHeader::parse(ROOT_ONLY).unwrap().to_traceparent(),
            None
        );
        let zero_parent =
            TraceHeader::parse(&format!("{ROOT_ONLY};Parent=0000000000000000")).unwrap();
        assert_eq!(zero_parent.to_traceparent(), None);
        let zero_root = TraceHeader::parse(
            "Root=1-00000000-000000000000000000000000;Parent=b7ad6b7169203331;Sampled=1",
        )
        .unwrap();
        assert_eq!(zero_root.to_traceparent(), None);
    }

    #[test]
    fn debug_shows_text() {
        let h = TraceHeader::parse(LAMBDA).unwrap();
        assert_eq!(
            format!("{h:?}"),
            "TraceHeader { root: \"1-5759e988-bd862e3fe1be46a994272793\", parent: Some(\"53995c3f42cd8ad8\"), sampled: No, lineage: Some(\"a87bd80c:1|68fd508a:5\") }"
        );
    }
}
