//! A blind relay's pairing table, as JS `blind-relay`'s server keeps it,
//! with the limits a public relay needs and JS lacks. Pure: every call
//! takes `now`; the relay (`relay.rs`) makes the links a match calls for.
//!
//! - `pair` from a connection waits under its token until a `pair` of the
//!   other role comes from any connection; then both are matched and the
//!   token is active. A repeat for a role already waiting is ignored (as
//!   JS ignores it).
//! - `unpair` drops a waiting pair or ends an active one; a closed
//!   connection does both for everything it asked for.
//! - Limits: waiting pairs per connection and in all, active pairs per
//!   connection and in all, and how long a pair may wait.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One connection to the relay, as the relay numbers them.
pub(crate) type Conn = u64;

/// How much one relay takes on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) pending_per_conn: usize,
    pub(crate) pending: usize,
    pub(crate) active_per_conn: usize,
    pub(crate) active: usize,
    /// A pair nobody matched within this is dropped.
    pub(crate) pending_age: Duration,
}

/// A public relay's limits: chat connections are few per peer.
pub(crate) const LIMITS: Limits = Limits {
    pending_per_conn: 16,
    pending: 1024,
    active_per_conn: 32,
    active: 512,
    pending_age: Duration::from_secs(30),
};

/// One side of a pair: its connection and its UDX stream's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Side {
    pub(crate) conn: Conn,
    pub(crate) stream_id: u32,
}

/// What a `pair` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paired {
    /// It waits for the other role.
    Waiting,
    /// Both roles came: link them.
    Matched { initiator: Side, responder: Side },
    /// Not taken (a repeat, or over a limit: which one).
    Ignored(&'static str),
}

/// What an `unpair` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unpaired {
    Nothing,
    /// A waiting pair was dropped.
    Dropped,
    /// An active pair ended: drop its links.
    Ended,
}

#[derive(Debug)]
struct Pending {
    /// `[responder, initiator]`.
    sides: [Option<Side>; 2],
    since: Instant,
}

/// The table.
#[derive(Debug)]
pub(crate) struct Pairing {
    limits: Limits,
    pending: HashMap<[u8; 32], Pending>,
    active: HashMap<[u8; 32], [Conn; 2]>,
}

impl Pairing {
    pub(crate) fn new(limits: Limits) -> Self {
        Pairing {
            limits,
            pending: HashMap::new(),
            active: HashMap::new(),
        }
    }

    fn pending_of(&self, conn: Conn) -> usize {
        self.pending
            .values()
            .filter(|p| p.sides.iter().flatten().any(|s| s.conn == conn))
            .count()
    }

    fn active_of(&self, conn: Conn) -> usize {
        self.active.values().filter(|c| c.contains(&conn)).count()
    }

    /// `conn` asks to pair `stream_id` under `token` in one role.
    pub(crate) fn pair(
        &mut self,
        conn: Conn,
        initiator: bool,
        token: [u8; 32],
        stream_id: u32,
        now: Instant,
    ) -> Paired {
        if self.active.contains_key(&token) {
            return Paired::Ignored("the token is paired already");
        }
        let role = usize::from(initiator);
        let side = Side { conn, stream_id };
        if let Some(pending) = self.pending.get(&token) {
            if pending.sides[role].is_some() {
                return Paired::Ignored("this role of the token waits already");
            }
            if self.active.len() >= self.limits.active {
                return Paired::Ignored("the relay carries all the pairs it can");
            }
            let other = pending.sides[1 - role].map(|s| s.conn);
            let full = |c: Conn| self.active_of(c) >= self.limits.active_per_conn;
            if other.is_some_and(full) || full(conn) {
                return Paired::Ignored("a connection carries all the pairs it may");
            }
            let Some(pending) = self.pending.get_mut(&token) else {
                return Paired::Waiting;
            };
            pending.sides[role] = Some(side);
            let [Some(responder), Some(initiator)] = pending.sides else {
                return Paired::Waiting;
            };
            self.pending.remove(&token);
            self.active.insert(token, [responder.conn, initiator.conn]);
            return Paired::Matched {
                initiator,
                responder,
            };
        }
        if self.pending.len() >= self.limits.pending {
            return Paired::Ignored("the relay has all the waiting pairs it can hold");
        }
        if self.pending_of(conn) >= self.limits.pending_per_conn {
            return Paired::Ignored("the connection has all the waiting pairs it may");
        }
        let mut sides = [None, None];
        sides[role] = Some(side);
        self.pending.insert(token, Pending { sides, since: now });
        Paired::Waiting
    }

    /// `conn` cancels `token`: only a pair it is a side of.
    pub(crate) fn unpair(&mut self, conn: Conn, token: [u8; 32]) -> Unpaired {
        if self
            .pending
            .get(&token)
            .is_some_and(|p| p.sides.iter().flatten().any(|s| s.conn == conn))
        {
            self.pending.remove(&token);
            return Unpaired::Dropped;
        }
        if self.active.get(&token).is_some_and(|c| c.contains(&conn)) {
            self.active.remove(&token);
            return Unpaired::Ended;
        }
        Unpaired::Nothing
    }

    /// `conn` closed: its waiting pairs go, and the active ones it is a
    /// side of end (their tokens, to drop the links).
    pub(crate) fn closed(&mut self, conn: Conn) -> Vec<[u8; 32]> {
        self.pending
            .retain(|_, p| !p.sides.iter().flatten().any(|s| s.conn == conn));
        let ended: Vec<[u8; 32]> = self
            .active
            .iter()
            .filter(|(_, c)| c.contains(&conn))
            .map(|(t, _)| *t)
            .collect();
        for token in &ended {
            self.active.remove(token);
        }
        ended
    }

    /// An active pair ended on its own (its links went idle or a peer
    /// destroyed its stream).
    pub(crate) fn end(&mut self, token: &[u8; 32]) {
        self.active.remove(token);
    }

    /// Drops the pairs that waited too long; how many.
    pub(crate) fn expire(&mut self, now: Instant) -> usize {
        let before = self.pending.len();
        let age = self.limits.pending_age;
        self.pending
            .retain(|_, p| now.saturating_duration_since(p.since) < age);
        before - self.pending.len()
    }

    /// Pairs waiting and active.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.pending.len(), self.active.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: [u8; 32] = [1; 32];

    #[test]
    fn the_two_roles_of_a_token_are_matched_across_connections() {
        let now = Instant::now();
        let mut p = Pairing::new(LIMITS);
        assert_eq!(p.pair(1, true, T, 10, now), Paired::Waiting);
        // A repeat of the waiting role is ignored.
        assert!(matches!(p.pair(3, true, T, 11, now), Paired::Ignored(_)));
        assert_eq!(
            p.pair(2, false, T, 20, now),
            Paired::Matched {
                initiator: Side {
                    conn: 1,
                    stream_id: 10
                },
                responder: Side {
                    conn: 2,
                    stream_id: 20
                },
            }
        );
        assert_eq!(p.counts(), (0, 1));
        // An active token takes no more pairs.
        assert!(matches!(p.pair(4, true, T, 1, now), Paired::Ignored(_)));
        // Only a side may end it.
        assert_eq!(p.unpair(9, T), Unpaired::Nothing);
        assert_eq!(p.unpair(2, T), Unpaired::Ended);
        assert_eq!(p.counts(), (0, 0));
    }

    #[test]
    fn a_closed_connection_takes_its_pairs_with_it() {
        let now = Instant::now();
        let mut p = Pairing::new(LIMITS);
        p.pair(1, true, T, 1, now);
        p.pair(2, false, T, 2, now);
        p.pair(1, true, [2; 32], 3, now);
        p.pair(3, true, [3; 32], 4, now);
        assert_eq!(p.counts(), (2, 1));
        assert_eq!(p.closed(1), vec![T]);
        assert_eq!(p.counts(), (1, 0));
        assert_eq!(p.unpair(3, [3; 32]), Unpaired::Dropped);
    }

    #[test]
    fn waiting_pairs_expire_and_limits_hold() {
        let now = Instant::now();
        let limits = Limits {
            pending_per_conn: 2,
            pending: 3,
            active_per_conn: 1,
            active: 1,
            pending_age: Duration::from_secs(30),
        };
        let mut p = Pairing::new(limits);
        assert_eq!(p.pair(1, true, [1; 32], 1, now), Paired::Waiting);
        assert_eq!(p.pair(1, true, [2; 32], 1, now), Paired::Waiting);
        assert!(matches!(
            p.pair(1, true, [3; 32], 1, now),
            Paired::Ignored(_)
        ));
        assert_eq!(p.pair(2, true, [4; 32], 1, now), Paired::Waiting);
        assert!(matches!(
            p.pair(3, true, [5; 32], 1, now),
            Paired::Ignored(_)
        ));
        assert!(matches!(
            p.pair(5, false, [1; 32], 1, now),
            Paired::Matched { .. }
        ));
        // One active pair in all.
        assert!(matches!(
            p.pair(6, false, [2; 32], 1, now),
            Paired::Ignored(_)
        ));
        assert_eq!(p.expire(now + Duration::from_secs(29)), 0);
        assert_eq!(p.expire(now + Duration::from_secs(30)), 2);
        assert_eq!(p.counts(), (0, 1));
    }
}
