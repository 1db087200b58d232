//! What every event builder starts from — one region and account, one instant, ids numbered
//! from 1 — so a builder gives the same event on every run, and the values AWS derives from
//! others (digests, time formats), computed the way AWS computes them.

use std::time::{Duration, UNIX_EPOCH};

use md5::{Digest as _, Md5};
use serde::Serialize;
use serde_json::Value;

/// The region of every default ARN.
pub(crate) const REGION: &str = "us-east-1";
/// The account of every default ARN.
pub(crate) const ACCOUNT: &str = "123456789012";
/// The client address of test requests (TEST-NET-3).
pub(crate) const SOURCE_IP: &str = "203.0.113.7";
/// The instant events happen at by default: 2024-05-01T12:00:00Z, in seconds since the epoch.
pub(crate) const EPOCH_SECS: u64 = 1_714_564_800;
/// [`EPOCH_SECS`] in milliseconds.
pub(crate) const EPOCH_MS: u64 = EPOCH_SECS * 1000;
/// [`EPOCH_SECS`] as EventBridge writes `time`.
pub(crate) const TIME: &str = "2024-05-01T12:00:00Z";
/// [`EPOCH_SECS`] as SNS and S3 write their timestamps (with milliseconds).
pub(crate) const TIME_MS: &str = "2024-05-01T12:00:00.000Z";

/// The `n`th deterministic id in UUID form: `00000000-0000-4000-8000-000000000001` for 1.
pub(crate) fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// The MD5 digest of `data` in lower-case hex, as SQS (`md5OfBody`) and S3 (single-part
/// `eTag`) write it.
pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

/// An MD5 digest fed in parts.
pub(crate) struct Md5Hex(Md5);

impl Md5Hex {
    pub(crate) fn new() -> Self {
        Md5Hex(Md5::new())
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub(crate) fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `value` as JSON, for a builder's `json` setter. A value that has no JSON form (a map with
/// keys that are not strings) becomes `null`, as [`TestRequest::json`](super::TestRequest::json)
/// makes it an empty body: the test then fails on what the handler received.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `value` as JSON text.
pub(crate) fn json_text<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// An event's bytes.
pub(crate) fn bytes(event: Value) -> Vec<u8> {
    event.to_string().into_bytes()
}

/// Milliseconds since the epoch in the common log format API Gateway writes `requestTime` in:
/// `01/May/2024:12:00:00 +0000`.
pub(crate) fn clf_time(epoch_ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // `2024-05-01T12:00:00Z`: fixed positions for any year from 1970 to 9999.
    let t =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(epoch_ms)).to_string();
    let month = t
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{}/{month}/{}:{} +0000",
        t.get(8..10).unwrap_or("01"),
        t.get(0..4).unwrap_or("1970"),
        t.get(11..19).unwrap_or("00:00:00"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_instant_is_what_its_names_say() {
        assert_eq!(
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
                .to_string(),
            TIME
        );
        assert_eq!(
            humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(EPOCH_MS))
                .to_string(),
            TIME_MS
        );
    }

    #[test]
    fn ids_count_in_hex_in_the_last_group() {
        assert_eq!(uuid(1), "00000000-0000-4000-8000-000000000001");
        assert_eq!(uuid(26), "00000000-0000-4000-8000-00000000001a");
    }

    #[test]
    fn md5_is_the_rfc_1321_digest() {
        // RFC 1321, appendix A.5.
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        let mut parts = Md5Hex::new();
        parts.update(b"a");
        parts.update(b"bc");
        assert_eq!(parts.finish(), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn request_time_is_in_the_common_log_format() {
        assert_eq!(clf_time(EPOCH_MS), "01/May/2024:12:00:00 +0000");
        assert_eq!(clf_time(1_707_503_008_941), "09/Feb/2024:18:23:28 +0000");
        assert_eq!(clf_time(1_703_980_800_000), "31/Dec/2023:00:00:00 +0000");
    }
}
