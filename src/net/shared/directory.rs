//! The shared directory of logs this process holds, by discovery key, and how
//! many open channels each has, plus this process's hello session and which
//! connection holds each peer session. The rooms it is in live beside it in
//! `room_directory`. Connection tasks read it to decide what to open and
//! watch it for new logs; the swarm task reads the counts to pace discovery.
//! Its lock is never held across an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hypercore::Hypercore;
use tokio::sync::watch;

use crate::domain::keys::{ConnectionKey, DiscoveryKey, LogKey};
use crate::domain::SessionId;
use crate::net::shared::rooms::RoomDirectory;

/// Failed channels of one log before it is cloned afresh.
const CHANNEL_FAILURES_BEFORE_FRESH_CLONE: u32 = 3;

#[derive(Default)]
struct Inner {
    logs: HashMap<DiscoveryKey, (LogKey, Hypercore)>,
    /// Open channels, by connection.
    channels: HashMap<ConnectionKey, HashSet<DiscoveryKey>>,
    /// The connection kept for each peer session (from its hello).
    sessions: HashMap<SessionId, SessionClaim>,
    /// How many times each log's download was reported stuck.
    stalls: HashMap<DiscoveryKey, u64>,
    /// Logs to be cloned afresh by the engine.
    fresh_clones: HashSet<DiscoveryKey>,
    /// Replication channels of each log that failed since its last clone.
    channel_failures: HashMap<DiscoveryKey, u32>,
}

/// The connection that holds a peer session.
struct SessionClaim {
    connection: ConnectionKey,
    /// The session of the side that dialed this connection.
    dialer: SessionId,
    close: watch::Sender<bool>,
    since: Instant,
}

/// A session claim this old gives way to any new connection of that peer.
const STALE_CLAIM: Duration = Duration::from_secs(20);

/// Whether a connection may stay, once its peer's session is known.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionVerdict {
    Keep,
    /// Another connection to the same peer wins; this one should close.
    Duplicate,
}

#[derive(Clone)]
pub(crate) struct LogDirectory {
    inner: Arc<Mutex<Inner>>,
    /// Bumped whenever a log is added, so connections can offer it.
    version: Arc<watch::Sender<u64>>,
    /// Bumped whenever a download is reported stuck.
    stall_signal: Arc<watch::Sender<u64>>,
    /// Bumped whenever a fresh clone is requested.
    clone_signal: Arc<watch::Sender<u64>>,
    rooms: RoomDirectory,
    session: SessionId,
}

impl Default for LogDirectory {
    fn default() -> Self {
        let version = Arc::new(watch::channel(0).0);
        Self {
            inner: Arc::default(),
            rooms: RoomDirectory::new(Arc::clone(&version)),
            version,
            stall_signal: Arc::new(watch::channel(0).0),
            clone_signal: Arc::new(watch::channel(0).0),
            session: SessionId::random(),
        }
    }
}

impl LogDirectory {
    /// This process's hello session id.
    pub(crate) fn session(&self) -> SessionId {
        self.session
    }

    /// The rooms this process is in.
    pub(crate) fn rooms(&self) -> &RoomDirectory {
        &self.rooms
    }

    /// Changes each time a log or a room is added.
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// A follower's download of this log made no progress for a while with a
    /// peer connected: the replication channel is stuck (a busy peer drops
    /// requests, docs/architecture.md §2). Connections carrying it close, and the log is
    /// fetched again over fresh ones.
    // compat: hypercore row (stalled downloads, oversized blocks)
    pub(crate) fn report_stall(&self, discovery_key: DiscoveryKey) {
        *self.lock().stalls.entry(discovery_key).or_default() += 1;
        self.stall_signal.send_modify(|v| *v += 1);
    }

    /// How many times this log was reported stuck.
    pub(crate) fn stalls(&self, discovery_key: &DiscoveryKey) -> u64 {
        self.lock().stalls.get(discovery_key).copied().unwrap_or(0)
    }

    /// Changes each time a stall is reported.
    pub(crate) fn watch_stalls(&self) -> watch::Receiver<u64> {
        self.stall_signal.subscribe()
    }

    /// Asks the engine to clone a followed log afresh (see `connection`).
    pub(crate) fn request_fresh_clone(&self, discovery_key: DiscoveryKey) {
        self.lock().fresh_clones.insert(discovery_key);
        self.clone_signal.send_modify(|v| *v += 1);
    }

    /// A log's replication channel failed. hypercore 0.17.0-alpha.1 can
    /// leave a clone that every channel then fails on ("Nodes is out of
    /// bounds" after proofs from two connections crossed); the third failure
    /// asks the engine for a fresh clone. True when it did.
    // compat: hypercore row (concurrent proofs fail a channel)
    pub(crate) fn report_channel_failure(&self, discovery_key: DiscoveryKey) -> bool {
        let mut inner = self.lock();
        let failures = inner.channel_failures.entry(discovery_key).or_default();
        *failures += 1;
        if *failures < CHANNEL_FAILURES_BEFORE_FRESH_CLONE {
            return false;
        }
        inner.channel_failures.remove(&discovery_key);
        drop(inner);
        self.request_fresh_clone(discovery_key);
        true
    }

    /// The logs waiting to be cloned afresh, taken.
    pub(crate) fn take_fresh_clones(&self) -> Vec<DiscoveryKey> {
        self.lock().fresh_clones.drain().collect()
    }

    /// Changes each time a fresh clone is requested.
    pub(crate) fn watch_fresh_clones(&self) -> watch::Receiver<u64> {
        self.clone_signal.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take replication down with it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn insert(&self, key: LogKey, core: Hypercore) {
        self.lock().logs.insert(key.discovery_key(), (key, core));
        self.version.send_modify(|v| *v += 1);
    }

    pub(crate) fn remove(&self, key: &LogKey) {
        self.lock().logs.remove(&key.discovery_key());
    }

    pub(crate) fn get(&self, discovery_key: &DiscoveryKey) -> Option<(LogKey, Hypercore)> {
        self.lock().logs.get(discovery_key).cloned()
    }

    /// Every swarm topic: each log's and each room's.
    pub(crate) fn topics(&self) -> Vec<DiscoveryKey> {
        let mut topics: Vec<DiscoveryKey> = self.lock().logs.keys().copied().collect();
        topics.extend(self.rooms.topics());
        topics
    }

    pub(crate) fn channel_opened(&self, connection: ConnectionKey, discovery_key: DiscoveryKey) {
        self.lock()
            .channels
            .entry(connection)
            .or_default()
            .insert(discovery_key);
    }

    pub(crate) fn channel_closed(&self, connection: ConnectionKey, discovery_key: DiscoveryKey) {
        if let Some(open) = self.lock().channels.get_mut(&connection) {
            open.remove(&discovery_key);
        }
    }

    /// Forgets everything a connection held, however it ended (even by a
    /// panic inside a dependency).
    pub(crate) fn connection_gone(&self, connection: ConnectionKey) {
        let mut inner = self.lock();
        inner.channels.remove(&connection);
        inner
            .sessions
            .retain(|_, held| held.connection != connection);
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
        let mut inner = self.lock();
        let claim = SessionClaim {
            connection,
            dialer,
            close,
            since: now,
        };
        match inner.sessions.get(&peer_session) {
            Some(held) if held.connection != connection => {
                let stale = now.saturating_duration_since(held.since) >= STALE_CLAIM;
                if dialer <= held.dialer || stale {
                    held.close.send_replace(true);
                    inner.sessions.insert(peer_session, claim);
                    SessionVerdict::Keep
                } else {
                    SessionVerdict::Duplicate
                }
            }
            _ => {
                inner.sessions.insert(peer_session, claim);
                SessionVerdict::Keep
            }
        }
    }

    /// Whether a live connection holds this peer session.
    pub(crate) fn session_connected(&self, session: &SessionId) -> bool {
        self.lock().sessions.contains_key(session)
    }

    /// Whether some connected peer replicates this log with us.
    pub(crate) fn has_peer(&self, discovery_key: &DiscoveryKey) -> bool {
        self.lock()
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
        let directory = LogDirectory::default();
        let (close_mine, closed_mine) = watch::channel(false);
        let (close_theirs, _) = watch::channel(false);
        // Our own dial (dialer = high) arrives first and is kept for now...
        assert_eq!(
            directory.claim_session(low, ConnectionKey([1; 32]), high, close_mine, now),
            SessionVerdict::Keep
        );
        // ...then the peer's dial (dialer = low) wins and ours is told to close.
        assert_eq!(
            directory.claim_session(low, ConnectionKey([2; 32]), low, close_theirs, now),
            SessionVerdict::Keep
        );
        assert!(*closed_mine.borrow());
        // A later dial by us again loses.
        let (close_again, _) = watch::channel(false);
        assert_eq!(
            directory.claim_session(low, ConnectionKey([3; 32]), high, close_again, now),
            SessionVerdict::Duplicate
        );
        directory.connection_gone(ConnectionKey([2; 32]));
        let (close_last, _) = watch::channel(false);
        assert_eq!(
            directory.claim_session(low, ConnectionKey([3; 32]), high, close_last, now),
            SessionVerdict::Keep
        );
    }

    #[test]
    fn a_new_dial_from_the_same_dialer_replaces_a_half_open_connection() {
        let now = Instant::now();
        let directory = LogDirectory::default();
        let peer = SessionId([7u8; 16]);
        let (close_old, closed_old) = watch::channel(false);
        assert_eq!(
            directory.claim_session(peer, ConnectionKey([1; 32]), peer, close_old, now),
            SessionVerdict::Keep
        );
        // The peer's old connection died on its side only; it dials again.
        let (close_new, closed_new) = watch::channel(false);
        assert_eq!(
            directory.claim_session(peer, ConnectionKey([2; 32]), peer, close_new, now),
            SessionVerdict::Keep
        );
        assert!(*closed_old.borrow(), "the old connection is told to close");
        assert!(!*closed_new.borrow());
    }

    #[test]
    fn a_stale_claim_gives_way_to_a_new_connection_whoever_dialed() {
        let now = Instant::now();
        let directory = LogDirectory::default();
        let (low, high) = (SessionId([1u8; 16]), SessionId([2u8; 16]));
        let (close_old, closed_old) = watch::channel(false);
        // Kept: dialed by the smaller session...
        directory.claim_session(high, ConnectionKey([1; 32]), low, close_old, now);
        // ...so a young rival dialed by the larger one loses,
        let (close_young, _) = watch::channel(false);
        assert_eq!(
            directory.claim_session(
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
            directory.claim_session(
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

    #[test]
    fn the_third_failed_channel_of_a_log_asks_for_a_fresh_clone() {
        let directory = LogDirectory::default();
        let topic = DiscoveryKey([4; 32]);
        assert!(!directory.report_channel_failure(topic));
        assert!(!directory.report_channel_failure(topic));
        assert!(directory.take_fresh_clones().is_empty());
        assert!(directory.report_channel_failure(topic));
        assert_eq!(directory.take_fresh_clones(), vec![topic]);
        assert!(!directory.report_channel_failure(topic), "counted afresh");
    }

    #[test]
    fn a_stall_report_is_counted_and_signalled() {
        let directory = LogDirectory::default();
        let topic = DiscoveryKey([4; 32]);
        let signal = directory.watch_stalls();
        assert_eq!(directory.stalls(&topic), 0);
        directory.report_stall(topic);
        assert_eq!(directory.stalls(&topic), 1);
        assert!(signal.has_changed().unwrap());
        assert_eq!(directory.stalls(&DiscoveryKey([5; 32])), 0);
    }
}
