//! The decisions one connection makes about its own health and about logs
//! whose newer length never arrives. Pure: every call takes `now`, and the
//! connection's `select!` in `connection` acts on the verdicts (sends the
//! upgrade request, asks for a fresh clone, closes).
//!
//! hypercore 0.17.0-alpha.1 asks a peer for a newer length only when the
//! peer's sync says we hold what we hold; a sync sent before the peer heard
//! our last one leaves a follower behind until the next append. Behind for
//! `NUDGE_UPGRADE_AFTER`, the connection asks for the upgrade itself; behind
//! for `STUCK_UPGRADE_AFTER`, the log is cloned afresh and the connection is
//! closed.
// compat: hypercore row (stuck live upgrades)

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::domain::DiscoveryKey;

/// Behind a peer's signed length this long, we ask it for the upgrade.
pub(crate) const NUDGE_UPGRADE_AFTER: Duration = Duration::from_secs(2);
/// Behind a peer's signed length this long, a channel is taken as stuck.
pub(crate) const STUCK_UPGRADE_AFTER: Duration = Duration::from_secs(8);
/// A hychat peer not heard from this long has gone without a close:
/// hyperswarm does not always deliver one, and the peer's end is gone.
pub(crate) const SILENT_PEER: Duration = Duration::from_secs(20);
/// A connection on which the peer has sent nothing at all by then never had
/// a working path (a relay set it up, but no packet gets through, as between
/// two NATs that cannot reach each other): it is closed as failed, so other
/// peers that hold the same logs (a public seed) get their turn.
pub(crate) const NEVER_HEARD: Duration = Duration::from_secs(6);

/// Whether a connection never got a single packet from its peer.
/// `heard` is when the peer was last heard from, `opened` its value when the
/// connection opened (equal means never).
pub(crate) fn never_heard(opened: Instant, heard: Instant, now: Instant) -> bool {
    heard == opened && now.saturating_duration_since(opened) >= NEVER_HEARD
}

/// Whether a pinged hychat peer has fallen silent.
pub(crate) fn fell_silent(heard: Instant, now: Instant) -> bool {
    now.saturating_duration_since(heard) >= SILENT_PEER
}

/// Per shared log: the peer's signed length, and since when ours has been
/// behind it.
#[derive(Debug, Default)]
pub(crate) struct UpgradeWatch {
    peer_lengths: HashMap<DiscoveryKey, u64>,
    behind_since: HashMap<DiscoveryKey, Instant>,
}

/// What a review of the watched logs asks the connection to do.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct UpgradeReview {
    /// Ask the peer for the upgrade from our length to this one.
    pub nudge: Vec<(DiscoveryKey, u64)>,
    /// Behind for too long: clone afresh and close the connection.
    pub stuck: Vec<DiscoveryKey>,
}

impl UpgradeWatch {
    /// The peer said its signed length of a log.
    pub(crate) fn peer_length(
        &mut self,
        discovery_key: DiscoveryKey,
        length: u64,
        local: u64,
        now: Instant,
    ) {
        self.peer_lengths.insert(discovery_key, length);
        if local < length {
            self.behind_since.entry(discovery_key).or_insert(now);
        }
    }

    /// Forgets the logs we caught up on (`local` gives our length of each),
    /// then says which to nudge and which are stuck.
    pub(crate) fn review(
        &mut self,
        local: impl Fn(&DiscoveryKey) -> u64,
        now: Instant,
    ) -> UpgradeReview {
        let peer_lengths = &self.peer_lengths;
        self.behind_since.retain(|dk, _| {
            let peer = peer_lengths.get(dk).copied().unwrap_or(0);
            local(dk) < peer
        });
        let mut review = UpgradeReview::default();
        for (dk, since) in &self.behind_since {
            let behind = now.saturating_duration_since(*since);
            if behind >= NUDGE_UPGRADE_AFTER {
                if let Some(length) = self.peer_lengths.get(dk) {
                    review.nudge.push((*dk, *length));
                }
            }
            if behind >= STUCK_UPGRADE_AFTER {
                review.stuck.push(*dk);
            }
        }
        review.nudge.sort();
        review.stuck.sort();
        review
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: DiscoveryKey = DiscoveryKey([1; 32]);
    const B: DiscoveryKey = DiscoveryKey([2; 32]);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn upgrades_are_nudged_then_declared_stuck() {
        let t0 = Instant::now();
        // (seconds behind, local length at review, expected review)
        let table: [(u64, u64, UpgradeReview); 5] = [
            (0, 5, UpgradeReview::default()),
            (1, 5, UpgradeReview::default()),
            (
                2,
                5,
                UpgradeReview {
                    nudge: vec![(A, 10)],
                    stuck: vec![],
                },
            ),
            (
                8,
                5,
                UpgradeReview {
                    nudge: vec![(A, 10)],
                    stuck: vec![A],
                },
            ),
            (8, 10, UpgradeReview::default()),
        ];
        for (behind, local, expected) in table {
            let mut watch = UpgradeWatch::default();
            watch.peer_length(A, 10, 5, t0);
            let review = watch.review(|_| local, t0 + secs(behind));
            assert_eq!(review, expected, "{behind} s behind, local {local}");
        }
    }

    #[test]
    fn catching_up_resets_the_clock() {
        let t0 = Instant::now();
        let mut watch = UpgradeWatch::default();
        watch.peer_length(A, 10, 5, t0);
        assert!(watch.review(|_| 10, t0 + secs(1)).stuck.is_empty());
        // Behind again later: counted from the new moment, not from t0.
        watch.peer_length(A, 20, 10, t0 + secs(7));
        let review = watch.review(|_| 10, t0 + secs(9));
        assert_eq!(review.nudge, vec![(A, 20)]);
        assert!(review.stuck.is_empty());
    }

    #[test]
    fn a_log_we_are_not_behind_on_is_never_watched() {
        let t0 = Instant::now();
        let mut watch = UpgradeWatch::default();
        watch.peer_length(A, 3, 3, t0);
        watch.peer_length(B, 9, 4, t0);
        let review = watch.review(|dk| if *dk == A { 3 } else { 4 }, t0 + secs(60));
        assert_eq!(review.stuck, vec![B]);
        assert_eq!(review.nudge, vec![(B, 9)]);
    }

    #[test]
    fn silence_and_never_heard_are_told_apart() {
        let opened = Instant::now();
        // (last heard, now, never heard, fell silent)
        let table = [
            (opened, opened + secs(5), false, false),
            (opened, opened + secs(6), true, false),
            (opened + secs(1), opened + secs(6), false, false),
            (opened + secs(1), opened + secs(21), false, true),
            (opened, opened + secs(20), true, true),
        ];
        for (heard, now, never, silent) in table {
            assert_eq!(never_heard(opened, heard, now), never, "{heard:?} {now:?}");
            assert_eq!(fell_silent(heard, now), silent, "{heard:?} {now:?}");
        }
    }
}
