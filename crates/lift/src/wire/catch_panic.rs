//! Containing panics: a future wrapper that turns a panic raised while polling into a value,
//! with the panic's message and location, and a panic hook that keeps contained panics off
//! stderr. `Recover` uses it around handlers; the corridor uses it around after-response work
//! and exporters, so one panicking task never takes the function down.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

thread_local! {
    /// Set while a `CatchPanic` polls its inner future on this thread; the hook fills in the
    /// location of a panic raised there.
    static CATCHING: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Install (once per process) the hook that records the location of contained panics instead
/// of printing them; other panics go to the previous hook as before.
fn install_hook() {
    static HOOK: Once = Once::new();
    // The check every contained poll makes, kept to one load.
    if HOOK.is_completed() {
        return;
    }
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let caught = CATCHING.with(|c| {
                let mut c = c.borrow_mut();
                match c.as_mut() {
                    Some(slot) => {
                        *slot = info.location().map(|l| l.to_string());
                        true
                    }
                    None => false,
                }
            });
            if !caught {
                previous(info);
            }
        }));
    });
}

/// A contained panic: its message and, when the hook saw it, its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caught {
    /// The panic message (`"panic with a non-string payload"` when it was not a string).
    pub message: String,
    /// Where it was raised, `file:line:column`, when known.
    pub location: Option<String>,
}

fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Run `f`, containing a panic.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Caught> {
    install_hook();
    let previous = CATCHING.with(|c| c.borrow_mut().replace(None));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    let location = CATCHING
        .with(|c| std::mem::replace(&mut *c.borrow_mut(), previous))
        .flatten();
    result.map_err(|payload| Caught {
        message: message(&*payload),
        location,
    })
}

/// A future that polls `inner`, containing a panic raised while polling it: it resolves to
/// `Ok(output)`, or to `Err(Caught)` with the panic's message and location (and the panic is
/// not printed to stderr). What [`Recover`](crate::middleware::Recover) is built on.
///
/// ```
/// use lift::middleware::CatchPanic;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let caught = CatchPanic::new(async { panic!("bug") }).await.unwrap_err();
/// assert_eq!(caught.message, "bug");
/// # });
/// ```
pub struct CatchPanic<F> {
    inner: Pin<Box<F>>,
}

impl<F> std::fmt::Debug for CatchPanic<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatchPanic").finish_non_exhaustive()
    }
}

impl<F: Future> CatchPanic<F> {
    /// Wrap `inner`.
    pub fn new(inner: F) -> Self {
        CatchPanic {
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Caught>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        poll_caught(self.inner.as_mut(), cx)
    }
}

/// Await a pinned `fut`, containing a panic raised while polling it, without boxing it (what
/// the corridor runs each invocation in).
pub(crate) async fn caught<F: Future>(mut fut: Pin<&mut F>) -> Result<F::Output, Caught> {
    std::future::poll_fn(|cx| poll_caught(fut.as_mut(), cx)).await
}

/// Poll `fut` once, containing a panic raised while polling it.
fn poll_caught<F: Future>(
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, Caught>> {
    match catch(|| fut.poll(cx)) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
        Err(caught) => Poll::Ready(Err(caught)),
    }
}

/// How a contained future ended.
pub(crate) enum Contained<T> {
    Done(T),
    Panicked(Caught),
    TimedOut,
}

/// Run `fut` with its panics contained, cut off at `deadline`. A future that is ready on its
/// first poll touches no timer (so it needs no timer-enabled runtime) and is not boxed.
pub(crate) async fn contained<F: Future>(
    fut: F,
    deadline: tokio::time::Instant,
) -> Contained<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let first = std::future::poll_fn(|cx| Poll::Ready(poll_caught(fut.as_mut(), cx))).await;
    let result = match first {
        Poll::Ready(r) => r,
        Poll::Pending => {
            let rest = std::future::poll_fn(|cx| poll_caught(fut.as_mut(), cx));
            match tokio::time::timeout_at(deadline, rest).await {
                Ok(r) => r,
                Err(_) => return Contained::TimedOut,
            }
        }
    };
    match result {
        Ok(v) => Contained::Done(v),
        Err(caught) => Contained::Panicked(caught),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_values_with_their_message() {
        let caught = catch(|| panic!("boom")).unwrap_err();
        assert_eq!(caught.message, "boom");
        assert!(caught.location.unwrap().contains("catch_panic.rs"));
        assert_eq!(catch(|| 7).unwrap(), 7);
    }
}
