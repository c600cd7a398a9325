//! Paces tasks whose dependencies wake themselves in a busy loop.
//!
//! Several pinned crates call `cx.waker().wake_by_ref()` before returning
//! `Pending` even when nothing is ready: hypercore-handshake's cipher does (as
//! dht-rpc 0.0.2's socket stream did, before the DHT became our own). A task
//! polling it never sleeps, so every idle connection would keep a core busy. `Paced` tells the two kinds of wake apart: a wake that arrives
//! while the task is being polled is the task waking itself, and is deferred
//! to a short timer; a wake from anywhere else (a socket, a channel, another
//! task) goes through at once. Work that really is under way moves in steps
//! that each wake the task again, so after every outside wake a burst of
//! self-wakes also goes through at once; only a loop that keeps waking
//! itself with nothing arriving is slowed to one poll per `PACE`. And every
//! paced task is polled at least once per `HEARTBEAT`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::time::Sleep;

/// How long a self-wake waits once the burst is spent.
pub(crate) const PACE: Duration = Duration::from_millis(1);
/// Self-wakes served at once after each outside wake.
const BURST: u32 = 64;
/// The longest a paced task goes unpolled. The pinned crates lose a wake-up
/// now and then; their busy loops used to hide that, and this bounds it now
/// that they are paced.
const HEARTBEAT: Duration = Duration::from_millis(25);

struct PacedWaker {
    real: Mutex<Waker>,
    in_poll: AtomicBool,
    woke_itself: AtomicBool,
    woken_from_outside: AtomicBool,
}

impl Wake for PacedWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.in_poll.load(Ordering::SeqCst) {
            self.woke_itself.store(true, Ordering::SeqCst);
        } else {
            self.woken_from_outside.store(true, Ordering::SeqCst);
            if let Ok(real) = self.real.lock() {
                real.wake_by_ref();
            }
        }
    }
}

/// A future polled under pacing; see the module comment.
pub(crate) struct Paced<F> {
    inner: Pin<Box<F>>,
    waker: Arc<PacedWaker>,
    delay: Option<Pin<Box<Sleep>>>,
    burst: u32,
}

impl<F: Future> Paced<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self {
            inner: Box::pin(inner),
            waker: Arc::new(PacedWaker {
                real: Mutex::new(futures::task::noop_waker()),
                in_poll: AtomicBool::new(false),
                woke_itself: AtomicBool::new(false),
                woken_from_outside: AtomicBool::new(true),
            }),
            delay: None,
            burst: BURST,
        }
    }
}

impl<F: Future> Future for Paced<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(delay) = self.delay.as_mut() {
            // Woken early by a real event: poll now; otherwise keep waiting.
            if delay.as_mut().poll(cx).is_ready() {
                self.delay = None;
            }
        }
        if let Ok(mut real) = self.waker.real.lock() {
            if !real.will_wake(cx.waker()) {
                *real = cx.waker().clone();
            }
        }
        let paced = Waker::from(self.waker.clone());
        let mut paced_cx = Context::from_waker(&paced);
        self.waker.woke_itself.store(false, Ordering::SeqCst);
        self.waker.in_poll.store(true, Ordering::SeqCst);
        let polled = self.inner.as_mut().poll(&mut paced_cx);
        self.waker.in_poll.store(false, Ordering::SeqCst);
        if polled.is_ready() {
            return polled;
        }
        if self.waker.woken_from_outside.swap(false, Ordering::SeqCst) {
            self.burst = BURST;
        }
        let wait = if !self.waker.woke_itself.load(Ordering::SeqCst) {
            HEARTBEAT
        } else if self.burst > 0 {
            self.burst -= 1;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        } else {
            PACE
        };
        let deadline = tokio::time::Instant::now() + wait;
        let delay = match self.delay.as_mut() {
            Some(delay) => {
                if delay.deadline() > deadline {
                    delay.as_mut().reset(deadline);
                }
                delay
            }
            None => self
                .delay
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        if delay.as_mut().poll(cx).is_ready() {
            self.delay = None;
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wakes itself on every poll, like the busy loops this paces.
    struct Spinner {
        polls: u32,
    }

    impl Future for Spinner {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls += 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_self_waking_future_is_polled_about_once_per_pace() {
        let spinner = Paced::new(Spinner { polls: 0 });
        let mut spinner = Box::pin(spinner);
        let _ = tokio::time::timeout(Duration::from_millis(100), spinner.as_mut()).await;
        // Unpaced it would be polled hundreds of thousands of times.
        let polls = spinner.inner.polls;
        assert!(polls > 5 && polls < 500, "polled {polls} times in 100 ms");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn outside_wakes_go_through_at_once() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let paced = Paced::new(rx);
        tokio::spawn(async move {
            let _ = tx.send(7);
        });
        let got = tokio::time::timeout(Duration::from_secs(5), paced).await;
        assert_eq!(got.ok().and_then(Result::ok), Some(7));
    }
}
