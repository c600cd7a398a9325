//! When to dial a lost peer again: a peer whose connection we dialed and
//! that failed or dropped is not found again until the next lookup, so the
//! swarm dials it again itself, after a pause that grows with each failed
//! attempt (at once for a path that never answered), and gives up after the
//! last. Pure, every call takes `now`: the swarm task (`swarm/mod.rs`) tells
//! it of endings and dial results, and dials what it says is due.

use std::time::{Duration, Instant};

use crate::domain::keys::{ConnectionKey, DiscoveryKey};
use crate::net::connection::{Ended, Ending};

/// The pauses before each dial of a lost peer; after the last, it is given up.
pub(crate) const REDIAL_AFTER: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(20),
];
/// A connection that lasted this long resets its peer's dial attempts; one
/// that failed sooner counts as a failed attempt, so a peer whose
/// connections keep failing is dialed a few times, not forever.
pub(crate) const HEALTHY_CONNECTION: Duration = Duration::from_secs(30);

/// A peer to dial again, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Redial {
    pub peer: ConnectionKey,
    /// The topics it was found on, for the new connection to open.
    pub topics: Vec<DiscoveryKey>,
    /// Which dial this is (0: the first after a loss).
    pub attempt: usize,
    pub due: Instant,
}

/// A connection that ended, as far as dialing again is concerned.
#[derive(Debug, Clone)]
pub(crate) struct Lost {
    pub peer: ConnectionKey,
    /// We dialed it: the peer's key is where it listens. (An accepted
    /// connection's key is the peer's dial key, which nothing listens on.)
    pub client: bool,
    pub topics: Vec<DiscoveryKey>,
    pub ended: Ended,
    /// Another live connection holds the same peer session.
    pub replaced: bool,
    pub lasted: Duration,
    /// The dial attempt that made this connection (0: found by discovery).
    pub attempt: usize,
}

#[derive(Debug, Default)]
pub(crate) struct RedialPlan {
    waiting: Vec<Redial>,
}

impl RedialPlan {
    /// Plans a dial after a connection ended, when it is worth one: we
    /// dialed it, it did not end on purpose, and nothing took its place.
    pub(crate) fn lost(&mut self, lost: Lost, now: Instant) {
        if !lost.client || lost.ended.how == Ending::Deliberate || lost.replaced {
            return;
        }
        let attempt = if lost.lasted >= HEALTHY_CONNECTION {
            0
        } else {
            lost.attempt + 1
        };
        // A path that never answered: the next dial punches afresh, at once.
        let at_once = lost.ended.how == Ending::Unanswered;
        self.schedule(lost.peer, lost.topics, attempt, at_once, now);
    }

    /// A dial found nobody: plan the next, or give up.
    pub(crate) fn dial_failed(&mut self, redial: Redial, now: Instant) {
        self.schedule(redial.peer, redial.topics, redial.attempt + 1, false, now);
    }

    /// A connection to the peer exists again: no dial is needed.
    pub(crate) fn connected(&mut self, peer: &ConnectionKey) {
        self.waiting.retain(|r| r.peer != *peer);
    }

    /// The dials whose pause is over, taken.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<Redial> {
        let (due, waiting) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|r| r.due <= now);
        self.waiting = waiting;
        due
    }

    fn schedule(
        &mut self,
        peer: ConnectionKey,
        topics: Vec<DiscoveryKey>,
        attempt: usize,
        at_once: bool,
        now: Instant,
    ) {
        let Some(pause) = REDIAL_AFTER.get(attempt) else {
            tracing::info!(?peer, "giving up on a lost peer");
            return;
        };
        let pause = if at_once { Duration::ZERO } else { *pause };
        if self.waiting.iter().any(|r| r.peer == peer) {
            return;
        }
        self.waiting.push(Redial {
            peer,
            topics,
            attempt,
            due: now + pause,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: ConnectionKey = ConnectionKey([7; 32]);

    fn lost(how: Ending, client: bool, lasted: Duration, attempt: usize) -> Lost {
        Lost {
            peer: PEER,
            client,
            topics: vec![DiscoveryKey([1; 32])],
            ended: Ended {
                how,
                peer_session: None,
            },
            replaced: false,
            lasted,
            attempt,
        }
    }

    #[test]
    fn a_failed_dialed_connection_is_dialed_again_after_a_pause() {
        let now = Instant::now();
        let mut plan = RedialPlan::default();
        plan.lost(lost(Ending::Failed, true, HEALTHY_CONNECTION, 0), now);
        assert!(plan.due(now).is_empty(), "not before the pause");
        let due = plan.due(now + REDIAL_AFTER[0]);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].topics, vec![DiscoveryKey([1; 32])]);
        assert!(plan.due(now + REDIAL_AFTER[0]).is_empty(), "taken once");
    }

    #[test]
    fn an_unanswered_dial_is_dialed_again_at_once_and_still_counts() {
        let now = Instant::now();
        let mut plan = RedialPlan::default();
        plan.lost(
            lost(Ending::Unanswered, true, Duration::from_secs(2), 0),
            now,
        );
        let due = plan.due(now);
        assert_eq!(due.len(), 1, "due at once");
        assert_eq!(due[0].attempt, 1, "it counts as a failed attempt");
        // The last attempt gives up, at once or not.
        plan.lost(
            lost(
                Ending::Unanswered,
                true,
                Duration::from_secs(2),
                REDIAL_AFTER.len() - 1,
            ),
            now,
        );
        assert!(plan.due(now + Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn deliberate_accepted_or_replaced_endings_are_not_dialed() {
        let now = Instant::now();
        let mut plan = RedialPlan::default();
        plan.lost(lost(Ending::Deliberate, true, Duration::ZERO, 0), now);
        plan.lost(lost(Ending::Failed, false, Duration::ZERO, 0), now);
        let mut replaced = lost(Ending::Closed, true, Duration::ZERO, 0);
        replaced.replaced = true;
        plan.lost(replaced, now);
        assert!(plan.due(now + Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn failing_dials_and_short_connections_back_off_then_give_up() {
        let start = Instant::now();
        let mut plan = RedialPlan::default();
        plan.lost(lost(Ending::Closed, true, HEALTHY_CONNECTION, 0), start);
        let mut now = start;
        let mut attempts = 0;
        loop {
            now += Duration::from_secs(60);
            let mut due = plan.due(now);
            let Some(redial) = due.pop() else { break };
            attempts += 1;
            plan.dial_failed(redial, now);
        }
        assert_eq!(attempts, REDIAL_AFTER.len());
        // A connection that dies young carries its attempt count on.
        plan.lost(
            lost(
                Ending::Failed,
                true,
                Duration::from_secs(1),
                REDIAL_AFTER.len() - 1,
            ),
            now,
        );
        assert!(plan.due(now + Duration::from_secs(60)).is_empty());
        // A healthy one starts afresh; a new connection cancels the dial.
        plan.lost(lost(Ending::Failed, true, HEALTHY_CONNECTION, 3), now);
        plan.connected(&PEER);
        assert!(plan.due(now + Duration::from_secs(60)).is_empty());
    }
}
