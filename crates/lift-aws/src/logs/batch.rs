//! PutLogEvents batching, with no SDK in sight: the service's limits, splitting a message that
//! is longer than one event may be, cutting a destination's events into batches, and reading a
//! `rejectedLogEventsInfo` back onto the events it speaks of.
//!
//! The limits are the service's
//! ([PutLogEvents](https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html)):
//! at most 10,000 events and 1,048,576 bytes a call, counting each event's message in UTF-8
//! plus 26 bytes; one event's message at most 1,048,576 − 26 bytes; the events of a call in
//! chronological order and within 24 hours of each other.

/// Bytes the service counts for each event on top of its message.
pub const EVENT_OVERHEAD: usize = 26;
/// The largest PutLogEvents call, in bytes (messages plus [`EVENT_OVERHEAD`] each).
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// The most events in one PutLogEvents call.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// The longest message one event may carry, in bytes.
pub const MAX_EVENT_MESSAGE: usize = MAX_BATCH_BYTES - EVENT_OVERHEAD;
/// The longest time, in milliseconds, between the first and last event of one call.
pub const MAX_BATCH_SPAN_MS: i64 = 24 * 60 * 60 * 1000;

/// The marker that ends each part of a message too long for one event: part `i` of `n` ends
/// with `…[lift: continued i/n]`. Stripping it from every part and joining the parts in order
/// gives the message back.
pub fn marker(part: usize, parts: usize) -> String {
    format!("…[lift: continued {part}/{parts}]")
}

/// `message` as one part when it fits in `max` bytes, otherwise as parts of at most `max`
/// bytes each, every one ending with its [`marker`]. Parts are cut on character boundaries, so
/// each is valid UTF-8; nothing is left out.
pub fn split_message(message: &str, max: usize) -> Vec<String> {
    if message.len() <= max {
        return vec![message.to_owned()];
    }
    // The marker's length depends on the number of digits of the part count, which depends on
    // how much room the marker leaves: try one digit, then more until the count fits.
    let mut digits = 1;
    loop {
        let room = max.saturating_sub(marker_len(digits));
        // A `max` too small for any text besides the marker cannot split anything: keep the
        // message whole rather than loop (the real limit leaves a megabyte of room).
        if room < 4 {
            return vec![message.to_owned()];
        }
        let chunks = chunks(message, room);
        let n = chunks.len();
        if count_digits(n) <= digits {
            return chunks
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c}{}", marker(i + 1, n)))
                .collect();
        }
        digits = count_digits(n);
    }
}

/// The longest marker when the part count has `digits` digits.
fn marker_len(digits: usize) -> usize {
    "…[lift: continued /]".len() + 2 * digits
}

fn count_digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// `s` cut into pieces of at most `room` bytes, on character boundaries (`room` ≥ 4, so every
/// piece holds at least one character).
fn chunks(s: &str, room: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let mut end = room.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        out.push(head);
        rest = tail;
    }
    out
}

/// One event to send, and the entry it came from (an index into the flush's entries; the parts
/// of a split message share it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Epoch milliseconds.
    pub timestamp_ms: i64,
    /// The message, at most [`MAX_EVENT_MESSAGE`] bytes.
    pub message: String,
    /// The entry it belongs to.
    pub entry: usize,
}

impl Event {
    /// The bytes the service counts for this event.
    pub fn size(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD
    }
}

/// The limits a batch is cut to (the service's by default; smaller ones for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events per batch.
    pub max_events: usize,
    /// Bytes per batch, [`EVENT_OVERHEAD`] included.
    pub max_bytes: usize,
    /// Milliseconds between the first and the last event.
    pub max_span_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: MAX_BATCH_EVENTS,
            max_bytes: MAX_BATCH_BYTES,
            max_span_ms: MAX_BATCH_SPAN_MS,
        }
    }
}

/// The events of one PutLogEvents call, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The events.
    pub events: Vec<Event>,
    /// Their size as the service counts it.
    pub bytes: usize,
}

/// The entries of one destination as events: each message split when it is longer than an
/// event may be, then every event sorted by time (stable, so events of one millisecond keep
/// their order and a split message's parts stay in order).
pub fn events<'a>(entries: impl IntoIterator<Item = (usize, i64, &'a str)>) -> Vec<Event> {
    let mut out = Vec::new();
    for (entry, timestamp_ms, message) in entries {
        for part in split_message(message, MAX_EVENT_MESSAGE) {
            out.push(Event {
                timestamp_ms,
                message: part,
                entry,
            });
        }
    }
    out.sort_by_key(|e| e.timestamp_ms);
    out
}

/// Events (of one destination) cut into batches within `limits`, each in chronological order.
/// The events are sorted first (stably); an event alone over `max_bytes` cannot happen for
/// events made by [`events`], and would get a batch of its own.
pub fn batches(mut events: Vec<Event>, limits: &Limits) -> Vec<Batch> {
    events.sort_by_key(|e| e.timestamp_ms);
    let mut out: Vec<Batch> = Vec::new();
    let mut current = Batch::default();
    for event in events {
        let size = event.size();
        let full = current.events.len() >= limits.max_events
            || current.bytes + size > limits.max_bytes
            || current
                .events
                .first()
                .is_some_and(|first| event.timestamp_ms - first.timestamp_ms > limits.max_span_ms);
        if full && !current.events.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.bytes += size;
        current.events.push(event);
    }
    if !current.events.is_empty() {
        out.push(current);
    }
    out
}

/// What the service said it rejected in a call, as its indices (`rejectedLogEventsInfo`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rejected {
    /// `tooNewLogEventStartIndex`: this event and the ones after it are too new (inclusive).
    pub too_new_start: Option<i32>,
    /// `tooOldLogEventEndIndex`: the events before this one are too old (exclusive).
    pub too_old_end: Option<i32>,
    /// `expiredLogEventEndIndex`: the events before this one are past the group's retention
    /// (exclusive, like the too-old end).
    pub expired_end: Option<i32>,
}

/// Reason an event was rejected as too new.
pub const TOO_NEW: &str = "too_new";
/// Reason an event was rejected as too old.
pub const TOO_OLD: &str = "too_old";
/// Reason an event was rejected as past retention.
pub const EXPIRED: &str = "expired";

impl Rejected {
    /// For each of a batch's `len` events, the reason it was rejected, or `None` when it was
    /// written. An event in two ranges is counted once: expired before too old (an expired
    /// event is also old) before too new.
    pub fn apply(&self, len: usize) -> Vec<Option<&'static str>> {
        let index = |i: Option<i32>| i.map(|i| usize::try_from(i).unwrap_or(0).min(len));
        let expired = index(self.expired_end).unwrap_or(0);
        let too_old = index(self.too_old_end).unwrap_or(0);
        let too_new = index(self.too_new_start).unwrap_or(len);
        (0..len)
            .map(|i| {
                if i < expired {
                    Some(EXPIRED)
                } else if i < too_old {
                    Some(TOO_OLD)
                } else if i >= too_new {
                    Some(TOO_NEW)
                } else {
                    None
                }
            })
            .collect()
    }
}

/// How one entry ended: every entry ends exactly one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryFate {
    /// CloudWatch took all of it.
    Written,
    /// CloudWatch rejected (some of) it, for this reason.
    Dropped(&'static str),
    /// It was written to stdout instead.
    FellBack,
}

impl EntryFate {
    /// The outcome of an entry one part of which ended `self` and another `other`: falling back
    /// wins (the whole line goes to stdout), then a drop, then being written.
    pub fn merge(self, other: EntryFate) -> EntryFate {
        match (self, other) {
            (EntryFate::FellBack, _) | (_, EntryFate::FellBack) => EntryFate::FellBack,
            (EntryFate::Dropped(r), _) | (_, EntryFate::Dropped(r)) => EntryFate::Dropped(r),
            _ => EntryFate::Written,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(entry: usize, timestamp_ms: i64, message: &str) -> Event {
        Event {
            timestamp_ms,
            message: message.to_owned(),
            entry,
        }
    }

    #[test]
    fn ten_thousand_and_one_events_make_two_batches() {
        let events: Vec<Event> = (0..10_001).map(|i| ev(i, 1_000, "x")).collect();
        let b = batches(events, &Limits::default());
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].events.len(), b[1].events.len()), (10_000, 1));
        assert_eq!(b[0].bytes, 10_000 * 27);
    }

    #[test]
    fn a_batch_of_exactly_the_byte_limit_fits_and_one_more_byte_splits_it() {
        // Two events whose messages and overheads add up to exactly 1,048,576 bytes.
        let first = "a".repeat(500_000);
        let second_len = MAX_BATCH_BYTES - 2 * EVENT_OVERHEAD - first.len();
        let second = "b".repeat(second_len);
        let b = batches(
            vec![ev(0, 1, &first), ev(1, 2, &second)],
            &Limits::default(),
        );
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].bytes, 1_048_576);

        let second = "b".repeat(second_len + 1);
        let b = batches(
            vec![ev(0, 1, &first), ev(1, 2, &second)],
            &Limits::default(),
        );
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].bytes, 500_026);
        assert_eq!(b[1].bytes, second_len + 1 + 26);
    }

    #[test]
    fn a_message_of_exactly_the_event_limit_is_one_event_in_a_full_batch() {
        let message = "m".repeat(MAX_EVENT_MESSAGE);
        let e = events([(0, 1, message.as_str())]);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].message, message);
        let b = batches(e, &Limits::default());
        assert_eq!((b.len(), b[0].bytes), (1, 1_048_576));
    }

    #[test]
    fn a_two_megabyte_message_is_split_with_markers_and_reassembles() {
        // Multi-byte characters, so cuts must fall on character boundaries.
        let original: String = "é€😀abc".chars().cycle().take(1_200_000).collect();
        assert!(original.len() > 2 * 1_000_000);
        let e = events([(7, 42, original.as_str())]);
        let n = e.len();
        assert_eq!(n, 3);
        let mut rebuilt = String::new();
        for (i, part) in e.iter().enumerate() {
            assert!(part.message.len() <= MAX_EVENT_MESSAGE);
            assert_eq!((part.entry, part.timestamp_ms), (7, 42));
            let m = marker(i + 1, n);
            assert!(part.message.ends_with(&m), "part {} ends with {m}", i + 1);
            rebuilt.push_str(&part.message[..part.message.len() - m.len()]);
        }
        assert_eq!(rebuilt, original);
        assert!(e[0].message.ends_with("…[lift: continued 1/3]"));
        // Each part is its own batch: two parts never fit in 1 MB.
        let b = batches(e, &Limits::default());
        assert_eq!(b.len(), 3);
        assert!(b.iter().all(|b| b.bytes <= MAX_BATCH_BYTES));
    }

    #[test]
    fn the_marker_width_grows_with_the_part_count() {
        // 40 bytes leave 16 bytes of text beside a one-digit marker: 32 parts, two digits, so
        // 14 bytes of text each: 36 parts.
        let parts = split_message(&"z".repeat(500), 40);
        assert_eq!(parts.len(), 36);
        assert!(parts.iter().all(|p| p.len() <= 40));
        let text: String = parts
            .iter()
            .enumerate()
            .map(|(i, p)| p.strip_suffix(&marker(i + 1, 36)).unwrap_or("!").to_owned())
            .collect();
        assert_eq!(text, "z".repeat(500));
    }

    #[test]
    fn events_more_than_a_day_apart_go_in_two_batches() {
        let hour = 3_600_000;
        let b = batches(
            vec![ev(0, 0, "a"), ev(1, 25 * hour, "b")],
            &Limits::default(),
        );
        assert_eq!(b.len(), 2);
        // Exactly 24 hours is still one batch.
        let b = batches(
            vec![ev(0, 0, "a"), ev(1, 24 * hour, "b")],
            &Limits::default(),
        );
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn out_of_order_events_are_sorted_stably() {
        let e = events([(0, 30, "c"), (1, 10, "a"), (2, 20, "b1"), (3, 20, "b2")]);
        let b = batches(e, &Limits::default());
        let got: Vec<(&str, i64)> = b[0]
            .events
            .iter()
            .map(|e| (e.message.as_str(), e.timestamp_ms))
            .collect();
        assert_eq!(got, [("a", 10), ("b1", 20), ("b2", 20), ("c", 30)]);
    }

    #[test]
    fn rejected_events_info_gives_exact_counts() {
        let r = Rejected {
            too_new_start: Some(8),
            too_old_end: Some(3),
            expired_end: Some(1),
        };
        let reasons = r.apply(10);
        let count = |want: Option<&str>| reasons.iter().filter(|r| **r == want).count();
        assert_eq!(
            (
                count(Some(EXPIRED)),
                count(Some(TOO_OLD)),
                count(Some(TOO_NEW)),
                count(None)
            ),
            (1, 2, 2, 5)
        );
        assert_eq!(reasons[0], Some(EXPIRED));
        assert_eq!(reasons[2], Some(TOO_OLD));
        assert_eq!(reasons[3], None);
        assert_eq!(reasons[8], Some(TOO_NEW));
        // Nothing rejected: all written; indices past the end are clamped.
        assert!(Rejected::default().apply(4).iter().all(Option::is_none));
        let all_old = Rejected {
            too_old_end: Some(99),
            ..Rejected::default()
        };
        assert_eq!(all_old.apply(3), [Some(TOO_OLD); 3]);
    }

    #[test]
    fn outcomes_merge_fallback_first_then_drops() {
        use EntryFate::*;
        assert_eq!(Written.merge(Written), Written);
        assert_eq!(Written.merge(Dropped(TOO_OLD)), Dropped(TOO_OLD));
        assert_eq!(Dropped(TOO_OLD).merge(FellBack), FellBack);
        assert_eq!(FellBack.merge(Written), FellBack);
    }
}
