//! Who is connected: this process's hello session, the connection kept for
//! each peer session (two hychats that dial each other agree on one), and the
//! channels each connection has open. The swarm task reads the channel
//! counts to pace discovery. Locking: see `shared`. Duplicates are settled
//! by session: two peers that dial each other at once hold two connections
//! under the same keys, and the session says which one both keep.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::lock;
use crate::domain::keys::{ConnectionKey, DiscoveryKey};
use crate::domain::SessionId;

/// A session claim this old gives way to any new connection of that peer.
const STALE_CLAIM: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Inner {
    /// Open channels, by connection.
    channels: HashMap<ConnectionKey, HashSet<DiscoveryKey>>,
    /// The connection kept for each peer session (from its hello).
    claims: HashMap<SessionId, SessionClaim>,
}

/// The connection that holds a peer session.
struct SessionClaim {
    connection: ConnectionKey,
    /// The session of the side that dialed this connection.
    dialer: SessionId,
    close: watch::Sender<bool>,
    since: Instant,
}

/// Whether a connection may stay, once its peer's session is known.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionVerdict {
    Keep,
    /// Another connection to the same peer wins; this one should close.
    Duplicate,
}

#[derive(Clone)]
pub(crate) struct Sessions {
    inner: Arc<Mutex<Inner>>,
    own: SessionId,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            own: SessionId::random(),
        }
    }
}

impl Sessions {
    /// This process's hello session.
    pub(crate) fn own(&self) -> SessionId {
        self.own
    }

    pub(crate) fn channel_opened(&self, connection: ConnectionKey, discovery_key: DiscoveryKey) {
        lock(&self.inner)
            .channels
            .entry(connection)
            .or_default()
            .insert(discovery_key);
    }

    pub(crate) fn channel_closed(&self, connection: ConnectionKey, discovery_key: DiscoveryKey) {
        if let Some(open) = lock(&self.inner).channels.get_mut(&connection) {
            open.remove(&discovery_key);
        }
    }

    /// Forgets everything a connection held, however it ended (even by a
    /// panic inside a dependency).
    pub(crate) fn connection_gone(&self, connection: ConnectionKey) {
        let mut inner = lock(&self.inner);
        inner.channels.remove(&connection);
        inner.claims.retain(|_, held| held.connection != connection);
    }

    /// Two hychats that dial each other end up with two connections. Both
    /// sides keep the one dialed by the smaller session id, so they agree
    /// without talking; the loser is told to close through `close`. A new
    /// connection from the same dialer replaces the old one: a swarm dials a
    /// peer once, so the dialer has given up the old connection (made a new
    /// swarm), even when its close never reached us. So does any new
    /// connection once the held one is older than `STALE_CLAIM`: the two
    /// dials of a race arrive within seconds, and a peer that still had its
    /// end of the old connection would not have made a new one.
    pub(crate) fn claim_session(
        &self,
        peer_session: SessionId,
        connection: ConnectionKey,
        dialer: SessionId,
        close: watch::Sender<bool>,
        now: Instant,
    ) -> SessionVerdict {
        let mut inner = lock(&self.inner);
        let claim = SessionClaim {
            connection,
            dialer,
            close,
            since: now,
        };
        match inner.claims.get(&peer_session) {
            Some(held) if held.connection != connection => {
                let stale = now.saturating_duration_since(held.since) >= STALE_CLAIM;
                if dialer <= held.dialer || stale {
                    held.close.send_replace(true);
                    inner.claims.insert(peer_session, claim);
                    SessionVerdict::Keep
                } else {
                    SessionVerdict::Duplicate
                }
            }
            _ => {
                inner.claims.insert(peer_session, claim);
                SessionVerdict::Keep
            }
        }
    }

    /// Whether a live connection holds this peer session.
    pub(crate) fn session_connected(&self, session: &SessionId) -> bool {
        lock(&self.inner).claims.contains_key(session)
    }

    /// Whether some connected peer replicates this log with us.
    pub(crate) fn has_peer(&self, discovery_key: &DiscoveryKey) -> bool {
        lock(&self.inner)
            .channels
            .values()
            .any(|open| open.contains(discovery_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_keep_the_connection_dialed_by_the_smaller_session() {
        let now = Instant::now();
        let (low, high) = (SessionId([1u8; 16]), SessionId([2u8; 16]));
        // On the side whose session is `high`: the peer is `low`.
        let sessions = Sessions::default();
        let (close_mine, closed_mine) = watch::channel(false);
        let (close_theirs, _) = watch::channel(false);
        // Our own dial (dialer = high) arrives first and is kept for now...
        assert_eq!(
            sessions.claim_session(low, ConnectionKey([1; 32]), high, close_mine, now),
            SessionVerdict::Keep
        );
        // ...then the peer's dial (dialer = low) wins and ours is told to close.
        assert_eq!(
            sessions.claim_session(low, ConnectionKey([2; 32]), low, close_theirs, now),
            SessionVerdict::Keep
        );
        assert!(*closed_mine.borrow());
        // A later dial by us again loses.
        let (close_again, _) = watch::channel(false);
        assert_eq!(
            sessions.claim_session(low, ConnectionKey([3; 32]), high, close_again, now),
            SessionVerdict::Duplicate
        );
        sessions.connection_gone(ConnectionKey([2; 32]));
        let (close_last, _) = watch::channel(false);
        assert_eq!(
            sessions.claim_session(low, ConnectionKey([3; 32]), high, close_last, now),
            SessionVerdict::Keep
        );
    }

    #[test]
    fn a_new_dial_from_the_same_dialer_replaces_a_half_open_connection() {
        let now = Instant::now();
        let sessions = Sessions::default();
        let peer = SessionId([7u8; 16]);
        let (close_old, closed_old) = watch::channel(false);
        assert_eq!(
            sessions.claim_session(peer, ConnectionKey([1; 32]), peer, close_old, now),
            SessionVerdict::Keep
        );
        // The peer's old connection died on its side only; it dials again.
        let (close_new, closed_new) = watch::channel(false);
        assert_eq!(
            sessions.claim_session(peer, ConnectionKey([2; 32]), peer, close_new, now),
            SessionVerdict::Keep
        );
        assert!(*closed_old.borrow(), "the old connection is told to close");
        assert!(!*closed_new.borrow());
    }

    #[test]
    fn a_stale_claim_gives_way_to_a_new_connection_whoever_dialed() {
        let now = Instant::now();
        let sessions = Sessions::default();
        let (low, high) = (SessionId([1u8; 16]), SessionId([2u8; 16]));
        let (close_old, closed_old) = watch::channel(false);
        // Kept: dialed by the smaller session...
        sessions.claim_session(high, ConnectionKey([1; 32]), low, close_old, now);
        // ...so a young rival dialed by the larger one loses,
        let (close_young, _) = watch::channel(false);
        assert_eq!(
            sessions.claim_session(
                high,
                ConnectionKey([2; 32]),
                high,
                close_young,
                now + Duration::from_secs(2)
            ),
            SessionVerdict::Duplicate
        );
        // but once the held one is stale, the new connection wins.
        let (close_new, _) = watch::channel(false);
        assert_eq!(
            sessions.claim_session(
                high,
                ConnectionKey([3; 32]),
                high,
                close_new,
                now + STALE_CLAIM
            ),
            SessionVerdict::Keep
        );
        assert!(*closed_old.borrow());
    }
}
