//! The X-Ray trace header and W3C `traceparent` on arbitrary input. Neither parser may panic;
//! a parsed header must read back equal from its own `Display` form, and a header taken from a
//! `traceparent` must read back equal from the `traceparent` it writes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lift::observability::xray::TraceHeader;

fuzz_target!(|data: &[u8]| {
    // Lossy, so that invalid UTF-8 still reaches the parsers as replacement characters.
    let text = String::from_utf8_lossy(data);
    if let Some(h) = TraceHeader::parse(&text) {
        let shown = h.to_string();
        assert_eq!(
            TraceHeader::parse(&shown),
            Some(h),
            "{text:?} shown as {shown:?}"
        );
    }
    if let Some(h) = TraceHeader::from_traceparent(&text) {
        let tp = h.to_traceparent().expect("a traceparent header writes one");
        assert_eq!(
            TraceHeader::from_traceparent(&tp),
            Some(h),
            "{text:?} written as {tp:?}"
        );
    }
});
