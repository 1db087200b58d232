//! RFC 3339 timestamps with milliseconds (`2026-11-29T22:15:57.762Z`) for log lines.
//!
//! Formatting a date is the slow part, and it changes once a second: each thread keeps the
//! formatted `YYYY-MM-DDTHH:MM:SS.` of the current second (via `humantime`) and only appends the
//! milliseconds. The cache holds no per-invocation data.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// `2026-11-29T22:15:57.` is 20 bytes.
const PREFIX: usize = 20;

thread_local! {
    static SECOND: RefCell<(u64, [u8; PREFIX])> = const { RefCell::new((u64::MAX, [0; PREFIX])) };
}

/// Append `at` as RFC 3339 with milliseconds, in UTC.
pub(crate) fn write_at(buf: &mut Vec<u8>, at: SystemTime) {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (secs, millis) = (since.as_secs(), since.subsec_millis());
    SECOND.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != secs {
            let whole = UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let text = humantime::format_rfc3339_seconds(whole).to_string();
            // `2026-11-29T22:15:57Z`: keep everything but the `Z`, then add the dot.
            let bytes = text.as_bytes();
            if bytes.len() == PREFIX {
                cache.1[..PREFIX - 1].copy_from_slice(&bytes[..PREFIX - 1]);
                cache.1[PREFIX - 1] = b'.';
                cache.0 = secs;
            } else {
                // Years past 9999: not cacheable, write it whole.
                buf.extend_from_slice(humantime::format_rfc3339_millis(at).to_string().as_bytes());
                return;
            }
        }
        buf.extend_from_slice(&cache.1);
        buf.push(b'0' + (millis / 100) as u8);
        buf.push(b'0' + (millis / 10 % 10) as u8);
        buf.push(b'0' + (millis % 10) as u8);
        buf.push(b'Z');
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn matches_humantime_across_seconds() {
        for ms in [
            0u64,
            7,
            999,
            1_000,
            1_795_990_557_762,
            1_795_990_557_999,
            1_795_990_558_000,
        ] {
            let at = UNIX_EPOCH + Duration::from_millis(ms);
            let mut ours = Vec::new();
            write_at(&mut ours, at);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                humantime::format_rfc3339_millis(at).to_string()
            );
        }
    }
}
