//! The request path's side of the exporter: lines copied into per-thread shards, bounded by a
//! byte budget, and swapped out whole by the flush.
//!
//! Each thread that logs is given a shard (round robin over [`SHARDS`]), a mutex around a byte
//! arena and a list of line headers. A push locks the thread's own shard, which no other
//! request on another thread touches, so the lock is never contended on the request path, and
//! appends the line's bytes: no allocation per line once the arena has grown to an
//! invocation's size. The flush takes each shard's lock only to swap its arena with an empty
//! one it keeps, so the arena's memory is reused and never freed from another thread.
//!
//! The budget ([`max_bytes`](Queue::new)) is shared, but a shard reports its bytes to it in
//! steps of [`REPORT_STEP`] rather than with every line, so threads do not fight over one
//! counter: the buffer can hold up to `REPORT_STEP` per active thread more than the budget.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The number of shards. Threads beyond it share shards (and then, rarely, a lock).
pub const SHARDS: usize = 32;

/// A shard adds its bytes to the shared count once it holds this many unreported.
pub const REPORT_STEP: usize = 16 * 1024;

/// An arena whose capacity grew beyond this is not kept for reuse after a flush.
const KEEP_CAPACITY: usize = 1024 * 1024;

/// Lines waiting for the flush, in per-thread shards. See the [module](self) doc.
pub struct Queue {
    shards: Box<[Shard]>,
    /// The bytes shards have reported, plus the bytes drained and not yet released.
    buffered: AtomicUsize,
    max_bytes: usize,
    /// Emptied arenas, swapped into the shards by the next drain.
    spares: Mutex<Vec<Slab>>,
}

/// A shard on its own cache lines, so two threads' pushes never share one.
#[repr(align(128))]
struct Shard(Mutex<Slab>);

#[derive(Default)]
struct Slab {
    bytes: Vec<u8>,
    lines: Vec<Header>,
    /// How many of `bytes` are counted in [`Queue::buffered`].
    reported: usize,
}

/// One line in a slab: its tenant's bytes (if any), then its message's, one after the other.
struct Header {
    tenant: Option<usize>,
    len: usize,
    timestamp_ms: i64,
}

/// A line as the drain hands it over.
pub struct Line<'a> {
    /// The tenant as the request knew it.
    pub tenant: Option<&'a str>,
    pub timestamp_ms: i64,
    /// The line, not yet checked as UTF-8.
    pub message: &'a [u8],
    /// The bytes it holds in the budget, to [`release`](Queue::release) once it is settled.
    pub held: usize,
}

thread_local! {
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

fn shard_index() -> usize {
    SHARD.with(|s| {
        let mut i = s.get();
        if i == usize::MAX {
            i = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
            s.set(i);
        }
        i
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while a slab is locked; a poisoned lock still holds whole lines.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Queue {
    /// An empty queue that holds at most about `max_bytes`.
    pub fn new(max_bytes: usize) -> Queue {
        Queue {
            shards: (0..SHARDS).map(|_| Shard(Mutex::default())).collect(),
            buffered: AtomicUsize::new(0),
            max_bytes,
            spares: Mutex::new((0..SHARDS).map(|_| Slab::default()).collect()),
        }
    }

    /// Queue a line; `false` when the budget has no room for it (the line is not kept).
    pub fn push(&self, tenant: Option<&str>, timestamp_ms: i64, message: &[u8]) -> bool {
        let need = message.len() + tenant.map_or(0, str::len);
        let mut slab = lock(&self.shards[shard_index()].0);
        let unreported = slab.bytes.len() - slab.reported;
        if self.buffered.load(Ordering::Relaxed) + unreported + need > self.max_bytes {
            return false;
        }
        if let Some(t) = tenant {
            slab.bytes.extend_from_slice(t.as_bytes());
        }
        slab.bytes.extend_from_slice(message);
        slab.lines.push(Header {
            tenant: tenant.map(str::len),
            len: message.len(),
            timestamp_ms,
        });
        if unreported + need >= REPORT_STEP {
            self.buffered
                .fetch_add(unreported + need, Ordering::Relaxed);
            slab.reported = slab.bytes.len();
        }
        true
    }

    /// Hand every queued line to `each`, shard by shard, in the order each thread queued them.
    /// The lines' bytes stay in the budget until [`release`](Self::release)d.
    pub fn drain(&self, mut each: impl FnMut(Line<'_>)) {
        let mut spares = lock(&self.spares);
        for (shard, spare) in self.shards.iter().zip(spares.iter_mut()) {
            {
                let mut slab = lock(&shard.0);
                if slab.lines.is_empty() {
                    continue;
                }
                std::mem::swap(&mut *slab, spare);
            }
            let unreported = spare.bytes.len() - spare.reported;
            self.buffered.fetch_add(unreported, Ordering::Relaxed);
            let mut at = 0;
            for h in &spare.lines {
                let tenant = h.tenant.map(|n| {
                    let t = &spare.bytes[at..at + n];
                    at += n;
                    // Pushed from a `&str`, so always UTF-8.
                    std::str::from_utf8(t).unwrap_or("")
                });
                let message = &spare.bytes[at..at + h.len];
                at += h.len;
                each(Line {
                    tenant,
                    timestamp_ms: h.timestamp_ms,
                    message,
                    held: h.len + h.tenant.unwrap_or(0),
                });
            }
            spare.bytes.clear();
            spare.lines.clear();
            spare.reported = 0;
            if spare.bytes.capacity() > KEEP_CAPACITY {
                *spare = Slab::default();
            }
        }
    }

    /// Give back the budget of settled lines.
    pub fn release(&self, bytes: usize) {
        self.buffered.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// The bytes counted against the budget (lines a thread has not yet reported aside).
    pub fn buffered(&self) -> usize {
        self.buffered.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn drained(q: &Queue) -> Vec<(Option<String>, i64, Vec<u8>, usize)> {
        let mut out = Vec::new();
        q.drain(|l| {
            out.push((
                l.tenant.map(str::to_owned),
                l.timestamp_ms,
                l.message.to_vec(),
                l.held,
            ))
        });
        out
    }

    #[test]
    fn lines_come_back_in_order_with_their_tenants() {
        let q = Queue::new(1024);
        assert!(q.push(Some("acme"), 1, b"one"));
        assert!(q.push(None, 2, b"two"));
        assert!(q.push(Some(""), 3, b"\xff"));
        assert_eq!(
            drained(&q),
            vec![
                (Some("acme".into()), 1, b"one".to_vec(), 7),
                (None, 2, b"two".to_vec(), 3),
                (Some(String::new()), 3, b"\xff".to_vec(), 1),
            ]
        );
        assert_eq!(q.buffered(), 11);
        q.release(11);
        assert_eq!(q.buffered(), 0);
        assert!(drained(&q).is_empty());
        // The arena is reused.
        assert!(q.push(None, 4, b"four"));
        assert_eq!(drained(&q), vec![(None, 4, b"four".to_vec(), 4)]);
    }

    #[test]
    fn the_budget_refuses_what_does_not_fit_until_released() {
        let q = Queue::new(10);
        assert!(q.push(None, 1, b"12345"));
        assert!(q.push(None, 1, b"12345"));
        assert!(!q.push(None, 1, b"1"));
        assert_eq!(drained(&q).len(), 2);
        // Drained but unsettled lines still hold the budget.
        assert!(!q.push(None, 1, b"1"));
        q.release(10);
        assert!(q.push(None, 1, b"1234567890"));
        assert!(!q.push(Some("t"), 1, b""));
    }

    #[test]
    fn threads_report_in_steps_and_nothing_is_lost() {
        let q = std::sync::Arc::new(Queue::new(usize::MAX / 2));
        let line = vec![b'x'; 1000];
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (q, line) = (q.clone(), line.clone());
                std::thread::spawn(move || {
                    for i in 0..100 {
                        assert!(q.push(None, t * 1000 + i, &line));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let lines = drained(&q);
        assert_eq!(lines.len(), 400);
        assert_eq!(q.buffered(), 400_000);
        for t in 0..4 {
            let own: Vec<i64> = lines
                .iter()
                .map(|l| l.1)
                .filter(|ts| ts / 1000 == t)
                .collect();
            assert_eq!(own, (0..100).map(|i| t * 1000 + i).collect::<Vec<_>>());
        }
    }
}
