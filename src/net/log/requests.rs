//! When a log's task asks for a missing block, and when it gives up: one
//! request at a time (concurrent `get()`s stall hypercore 0.17.0-alpha.1's
//! replication, docs/architecture.md §2), asked again after `REQUEST_RETRY`,
//! a block skipped for this session after `MAX_REQUESTS_PER_BLOCK` asks,
//! and a download with no progress for `STALL_AFTER` while a peer has the log
//! open reported as stuck. Pure: every call takes `now`; `log::task` does
//! the asking.
// compat: hypercore row (stalled downloads, oversized blocks)

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long one `get()` request may stay unanswered before it is asked again.
pub(crate) const REQUEST_RETRY: Duration = Duration::from_millis(1500);
/// Requests of one block (while a peer has the log open) before it is
/// skipped for this session: about 30 s. Oversized blocks never arrive
/// through this stack and must not stall the rest; ordinary ones can take a
/// few tries, because a busy peer drops requests (docs/architecture.md §2).
pub(crate) const MAX_REQUESTS_PER_BLOCK: u32 = 20;
/// A follower whose download makes no progress this long, with a peer
/// connected, reports the channel stuck so it is made afresh.
pub(crate) const STALL_AFTER: Duration = Duration::from_secs(12);

/// The request state of one log.
#[derive(Debug)]
pub(crate) struct RequestPolicy {
    /// The block asked for, and when.
    requested: Option<(u64, Instant)>,
    /// Asks of each block while a peer had the log open.
    counts: HashMap<u64, u32>,
    /// When a block last arrived, was delivered, or the log last grew.
    last_progress: Instant,
}

/// What to do about a wanted block that is not held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ask {
    /// Asked recently: wait for it.
    NotDue,
    /// Ask for it now.
    Now,
    /// A block of a live upgrade, asked for the first time: hypercore fetches
    /// it by itself, and asking as well makes two requests, of which a busy
    /// peer drops one. Ask only if it has not come by the next retry.
    LeaveToUpgrade,
    /// Asked too often: skip it for this session (it is not indexed, so the
    /// next start asks again).
    Skip,
}

/// A decision, and whether the download is to be reported stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub ask: Ask,
    pub stalled: bool,
}

impl RequestPolicy {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            requested: None,
            counts: HashMap::new(),
            last_progress: now,
        }
    }

    /// Something moved: a core event (an upgrade, a block) arrived.
    pub(crate) fn progressed(&mut self, now: Instant) {
        self.last_progress = now;
    }

    /// A block was delivered.
    pub(crate) fn delivered(&mut self, seq: u64, now: Instant) {
        if self.requested.is_some_and(|(pending, _)| pending == seq) {
            self.requested = None;
        }
        self.counts.remove(&seq);
        self.last_progress = now;
    }

    /// The most wanted block `seq` is missing. `has_peer` says whether some
    /// peer has the log open; `live` whether `seq` came with a live upgrade.
    pub(crate) fn want(&mut self, seq: u64, has_peer: bool, live: bool, now: Instant) -> Step {
        let due = match self.requested {
            Some((pending, at)) => {
                pending != seq || now.saturating_duration_since(at) >= REQUEST_RETRY
            }
            None => true,
        };
        if !due {
            return Step {
                ask: Ask::NotDue,
                stalled: false,
            };
        }
        let mut stalled = false;
        if !has_peer {
            self.last_progress = now;
        } else if now.saturating_duration_since(self.last_progress) >= STALL_AFTER {
            stalled = true;
            self.last_progress = now;
        }
        let count = self.counts.entry(seq).or_default();
        if has_peer {
            *count += 1;
        }
        if *count > MAX_REQUESTS_PER_BLOCK {
            self.counts.remove(&seq);
            self.requested = None;
            return Step {
                ask: Ask::Skip,
                stalled,
            };
        }
        let first_ask = self.requested.is_none_or(|(pending, _)| pending != seq);
        self.requested = Some((seq, now));
        let ask = if first_ask && live {
            Ask::LeaveToUpgrade
        } else {
            Ask::Now
        };
        Step { ask, stalled }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn one_request_at_a_time_asked_again_after_the_retry() {
        let t0 = Instant::now();
        let mut policy = RequestPolicy::new(t0);
        // (seq, milliseconds after t0, expected ask)
        let table = [
            (7, 0, Ask::Now),
            (7, 1000, Ask::NotDue),
            (7, 1499, Ask::NotDue),
            (7, 1500, Ask::Now),
            (8, 1600, Ask::Now),
            (8, 1700, Ask::NotDue),
        ];
        for (seq, at, expected) in table {
            let step = policy.want(seq, true, false, t0 + ms(at));
            assert_eq!(step.ask, expected, "block {seq} at {at} ms");
            assert!(!step.stalled);
        }
    }

    #[test]
    fn a_live_block_is_left_to_the_upgrade_once() {
        let t0 = Instant::now();
        let mut policy = RequestPolicy::new(t0);
        assert_eq!(policy.want(3, true, true, t0).ask, Ask::LeaveToUpgrade);
        assert_eq!(policy.want(3, true, true, t0 + ms(10)).ask, Ask::NotDue);
        assert_eq!(policy.want(3, true, true, t0 + ms(1500)).ask, Ask::Now);
    }

    #[test]
    fn a_block_is_skipped_after_the_last_ask_but_only_asks_with_a_peer_count() {
        let t0 = Instant::now();
        let mut policy = RequestPolicy::new(t0);
        let mut at = t0;
        // With no peer, asking never counts toward giving up.
        for _ in 0..(2 * MAX_REQUESTS_PER_BLOCK) {
            assert_eq!(policy.want(5, false, false, at).ask, Ask::Now);
            at += REQUEST_RETRY;
        }
        for _ in 0..MAX_REQUESTS_PER_BLOCK {
            assert_eq!(policy.want(5, true, false, at).ask, Ask::Now);
            at += REQUEST_RETRY;
        }
        assert_eq!(policy.want(5, true, false, at).ask, Ask::Skip);
        // Counted afresh after a skip.
        assert_eq!(policy.want(5, true, false, at).ask, Ask::Now);
    }

    #[test]
    fn no_progress_with_a_peer_is_a_stall_reported_once_per_period() {
        let t0 = Instant::now();
        let mut policy = RequestPolicy::new(t0);
        // (ms after t0, peer connected, stall expected): retries 1.5 s apart.
        let table = [
            (0, true, false),
            (1500, true, false),
            (11_999, true, false),
            (13_500, true, true),
            (15_000, true, false),
            (25_500, true, true),
            (40_000, false, false),
            (41_500, true, false),
        ];
        for (at, peer, expected) in table {
            let step = policy.want(1, peer, false, t0 + ms(at));
            assert_eq!(step.stalled, expected, "at {at} ms, peer {peer}");
        }
    }

    #[test]
    fn delivery_and_progress_reset_the_clocks() {
        let t0 = Instant::now();
        let mut policy = RequestPolicy::new(t0);
        assert_eq!(policy.want(1, true, false, t0).ask, Ask::Now);
        policy.delivered(1, t0 + ms(100));
        // A new request right away: nothing is pending any more.
        assert_eq!(policy.want(2, true, false, t0 + ms(200)).ask, Ask::Now);
        policy.progressed(t0 + ms(11_000));
        let step = policy.want(2, true, false, t0 + ms(13_000));
        assert!(!step.stalled, "progress 2 s ago is no stall");
    }
}
