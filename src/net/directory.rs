//! The shared directory of logs this process holds, by discovery key, and how
//! many open channels each has, plus this process's hello session, the rooms
//! it is in (with what it tells each room), and introductions waiting for
//! the engine. Connection
//! tasks read it to decide what to open and watch it for new logs; the swarm
//! task reads the counts to pace discovery. Its lock is never held across an
//! `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use hypercore::Hypercore;
use tokio::sync::watch;

use super::keys::{DiscoveryKey, FeedKey, PeerId};
use super::rooms::{Member, RoomHello, RoomName, MAX_ROOM_MEMBERS};

/// Introductions waiting for the engine beyond this many are dropped; they
/// come again with the next room hello.
const MAX_PENDING_INTRODUCTIONS: usize = 256;

/// Members a room hello named, for the engine to remember and follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introduction {
    pub room: RoomName,
    /// The peer that sent the hello, about itself.
    pub sender: Member,
    /// The members the sender knows (their nicknames second-hand).
    pub known: Vec<Member>,
}

#[derive(Default)]
struct Inner {
    feeds: HashMap<DiscoveryKey, (FeedKey, Hypercore)>,
    /// Open channels, by connection.
    channels: HashMap<PeerId, HashSet<DiscoveryKey>>,
    /// The connection kept for each peer session (from its hello).
    sessions: HashMap<[u8; 16], SessionClaim>,
    /// How many times each log's download was reported stuck.
    stalls: HashMap<DiscoveryKey, u64>,
    /// Logs to be cloned afresh by the engine.
    fresh_clones: HashSet<DiscoveryKey>,
    /// Joined rooms by topic, with the members we know in each.
    rooms: HashMap<DiscoveryKey, (RoomName, Vec<Member>)>,
    /// Who we are in every room.
    identity: Option<Member>,
    introductions: Vec<Introduction>,
}

/// The connection that holds a peer session.
struct SessionClaim {
    connection: PeerId,
    /// The session of the side that dialed this connection.
    dialer: [u8; 16],
    close: watch::Sender<bool>,
}

/// Whether a connection may stay, once its peer's session is known.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionVerdict {
    Keep,
    /// Another connection to the same peer wins; this one should close.
    Duplicate,
}

#[derive(Clone)]
pub struct FeedDirectory {
    inner: Arc<Mutex<Inner>>,
    /// Bumped whenever a log is added, so connections can offer it.
    version: Arc<watch::Sender<u64>>,
    /// Bumped whenever a download is reported stuck.
    stall_signal: Arc<watch::Sender<u64>>,
    /// Bumped whenever a fresh clone is requested.
    clone_signal: Arc<watch::Sender<u64>>,
    /// Bumped whenever what we tell a room changes.
    room_signal: Arc<watch::Sender<u64>>,
    /// Bumped whenever an introduction waits for the engine.
    introduction_signal: Arc<watch::Sender<u64>>,
    session: [u8; 16],
}

impl Default for FeedDirectory {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            version: Arc::new(watch::channel(0).0),
            stall_signal: Arc::new(watch::channel(0).0),
            clone_signal: Arc::new(watch::channel(0).0),
            room_signal: Arc::new(watch::channel(0).0),
            introduction_signal: Arc::new(watch::channel(0).0),
            session: rand::random(),
        }
    }
}

impl FeedDirectory {
    /// This process's hello session id.
    pub fn session(&self) -> [u8; 16] {
        self.session
    }

    /// Changes each time a log is added.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// A follower's download of this log made no progress for a while with a
    /// peer connected: the replication channel is stuck (a busy peer drops
    /// requests, DESIGN §2). Connections carrying it close, and the log is
    /// fetched again over fresh ones.
    pub fn report_stall(&self, discovery_key: DiscoveryKey) {
        *self.lock().stalls.entry(discovery_key).or_default() += 1;
        self.stall_signal.send_modify(|v| *v += 1);
    }

    /// How many times this log was reported stuck.
    pub fn stalls(&self, discovery_key: &DiscoveryKey) -> u64 {
        self.lock().stalls.get(discovery_key).copied().unwrap_or(0)
    }

    /// Changes each time a stall is reported.
    pub fn watch_stalls(&self) -> watch::Receiver<u64> {
        self.stall_signal.subscribe()
    }

    /// Asks the engine to clone a followed log afresh (see `connection`).
    pub fn request_fresh_clone(&self, discovery_key: DiscoveryKey) {
        self.lock().fresh_clones.insert(discovery_key);
        self.clone_signal.send_modify(|v| *v += 1);
    }

    /// The logs waiting to be cloned afresh, taken.
    pub fn take_fresh_clones(&self) -> Vec<DiscoveryKey> {
        self.lock().fresh_clones.drain().collect()
    }

    /// Changes each time a fresh clone is requested.
    pub fn watch_fresh_clones(&self) -> watch::Receiver<u64> {
        self.clone_signal.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take replication down with it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn insert(&self, key: FeedKey, core: Hypercore) {
        self.lock().feeds.insert(key.discovery_key(), (key, core));
        self.version.send_modify(|v| *v += 1);
    }

    pub fn remove(&self, key: &FeedKey) {
        self.lock().feeds.remove(&key.discovery_key());
    }

    pub fn get(&self, discovery_key: &DiscoveryKey) -> Option<(FeedKey, Hypercore)> {
        self.lock().feeds.get(discovery_key).cloned()
    }

    /// Every swarm topic: each log's and each room's.
    pub fn topics(&self) -> Vec<DiscoveryKey> {
        let inner = self.lock();
        inner
            .feeds
            .keys()
            .chain(inner.rooms.keys())
            .copied()
            .collect()
    }

    /// Who we are in rooms: our log and nickname.
    pub fn set_identity(&self, me: Member) {
        self.lock().identity = Some(me);
        self.room_signal.send_modify(|v| *v += 1);
    }

    /// Joins a room, or replaces the members it knows.
    pub fn set_room(&self, room: RoomName, members: Vec<Member>) {
        let added = self
            .lock()
            .rooms
            .insert(room.topic(), (room, members))
            .is_none();
        self.room_signal.send_modify(|v| *v += 1);
        if added {
            self.version.send_modify(|v| *v += 1);
        }
    }

    /// Leaves a room; connections close its channels.
    pub fn remove_room(&self, room: &RoomName) {
        self.lock().rooms.remove(&room.topic());
        self.room_signal.send_modify(|v| *v += 1);
    }

    /// The room whose topic (and channel discovery key) this is.
    pub fn room(&self, topic: &DiscoveryKey) -> Option<RoomName> {
        self.lock().rooms.get(topic).map(|(name, _)| name.clone())
    }

    /// What we tell the room with this topic, once we know who we are.
    pub fn room_hello(&self, topic: &DiscoveryKey) -> Option<RoomHello> {
        let inner = self.lock();
        let (_, members) = inner.rooms.get(topic)?;
        Some(RoomHello {
            me: inner.identity.clone()?,
            members: members.iter().take(MAX_ROOM_MEMBERS).cloned().collect(),
        })
    }

    /// Changes each time what we tell a room changes.
    pub fn watch_rooms(&self) -> watch::Receiver<u64> {
        self.room_signal.subscribe()
    }

    /// Hands the engine members a room hello named.
    pub fn introduce(&self, introduction: Introduction) {
        let mut inner = self.lock();
        if inner.introductions.len() >= MAX_PENDING_INTRODUCTIONS {
            tracing::debug!("dropping an introduction: the engine is behind");
            return;
        }
        inner.introductions.push(introduction);
        drop(inner);
        self.introduction_signal.send_modify(|v| *v += 1);
    }

    /// The introductions waiting for the engine, taken.
    pub fn take_introductions(&self) -> Vec<Introduction> {
        std::mem::take(&mut self.lock().introductions)
    }

    /// Changes each time an introduction waits.
    pub fn watch_introductions(&self) -> watch::Receiver<u64> {
        self.introduction_signal.subscribe()
    }

    pub fn channel_opened(&self, connection: PeerId, discovery_key: DiscoveryKey) {
        self.lock()
            .channels
            .entry(connection)
            .or_default()
            .insert(discovery_key);
    }

    pub fn channel_closed(&self, connection: PeerId, discovery_key: DiscoveryKey) {
        if let Some(open) = self.lock().channels.get_mut(&connection) {
            open.remove(&discovery_key);
        }
    }

    /// Forgets everything a connection held, however it ended (even by a
    /// panic inside a dependency).
    pub fn connection_gone(&self, connection: PeerId) {
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
    /// swarm), even when its close never reached us.
    pub fn claim_session(
        &self,
        peer_session: [u8; 16],
        connection: PeerId,
        dialer: [u8; 16],
        close: watch::Sender<bool>,
    ) -> SessionVerdict {
        let mut inner = self.lock();
        let claim = SessionClaim {
            connection,
            dialer,
            close,
        };
        match inner.sessions.get(&peer_session) {
            Some(held) if held.connection != connection => {
                if dialer <= held.dialer {
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
    pub fn session_connected(&self, session: &[u8; 16]) -> bool {
        self.lock().sessions.contains_key(session)
    }

    /// Whether some connected peer replicates this log with us.
    pub fn has_peer(&self, discovery_key: &DiscoveryKey) -> bool {
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
        let (low, high) = ([1u8; 16], [2u8; 16]);
        // On the side whose session is `high`: the peer is `low`.
        let directory = FeedDirectory::default();
        let (close_mine, closed_mine) = watch::channel(false);
        let (close_theirs, _) = watch::channel(false);
        // Our own dial (dialer = high) arrives first and is kept for now...
        assert_eq!(
            directory.claim_session(low, PeerId([1; 32]), high, close_mine),
            SessionVerdict::Keep
        );
        // ...then the peer's dial (dialer = low) wins and ours is told to close.
        assert_eq!(
            directory.claim_session(low, PeerId([2; 32]), low, close_theirs),
            SessionVerdict::Keep
        );
        assert!(*closed_mine.borrow());
        // A later dial by us again loses.
        let (close_again, _) = watch::channel(false);
        assert_eq!(
            directory.claim_session(low, PeerId([3; 32]), high, close_again),
            SessionVerdict::Duplicate
        );
        directory.connection_gone(PeerId([2; 32]));
        let (close_last, _) = watch::channel(false);
        assert_eq!(
            directory.claim_session(low, PeerId([3; 32]), high, close_last),
            SessionVerdict::Keep
        );
    }

    #[test]
    fn rooms_are_topics_and_say_who_we_are() {
        let directory = FeedDirectory::default();
        let room = RoomName::parse("streams-day").unwrap();
        let added = directory.watch();
        let bob = Member {
            key: FeedKey([2; 32]),
            nickname: Some("bob".into()),
        };
        directory.set_room(room.clone(), vec![bob.clone()]);
        assert!(added.has_changed().unwrap());
        assert_eq!(directory.topics(), vec![room.topic()]);
        assert_eq!(directory.room(&room.topic()), Some(room.clone()));
        // No hello before we know who we are.
        assert_eq!(directory.room_hello(&room.topic()), None);
        let me = Member {
            key: FeedKey([1; 32]),
            nickname: Some("ann".into()),
        };
        directory.set_identity(me.clone());
        assert_eq!(
            directory.room_hello(&room.topic()),
            Some(RoomHello {
                me,
                members: vec![bob.clone()]
            })
        );
        directory.remove_room(&room);
        assert_eq!(directory.room(&room.topic()), None);
        assert!(directory.topics().is_empty());
    }

    #[test]
    fn introductions_wait_for_the_engine() {
        let directory = FeedDirectory::default();
        let signal = directory.watch_introductions();
        let introduction = Introduction {
            room: RoomName::parse("r").unwrap(),
            sender: Member {
                key: FeedKey([1; 32]),
                nickname: None,
            },
            known: vec![],
        };
        directory.introduce(introduction.clone());
        assert!(signal.has_changed().unwrap());
        assert_eq!(directory.take_introductions(), vec![introduction]);
        assert!(directory.take_introductions().is_empty());
    }

    #[test]
    fn a_new_dial_from_the_same_dialer_replaces_a_half_open_connection() {
        let directory = FeedDirectory::default();
        let peer = [7u8; 16];
        let (close_old, closed_old) = watch::channel(false);
        assert_eq!(
            directory.claim_session(peer, PeerId([1; 32]), peer, close_old),
            SessionVerdict::Keep
        );
        // The peer's old connection died on its side only; it dials again.
        let (close_new, closed_new) = watch::channel(false);
        assert_eq!(
            directory.claim_session(peer, PeerId([2; 32]), peer, close_new),
            SessionVerdict::Keep
        );
        assert!(*closed_old.borrow(), "the old connection is told to close");
        assert!(!*closed_new.borrow());
    }

    #[test]
    fn a_stall_report_is_counted_and_signalled() {
        let directory = FeedDirectory::default();
        let topic = DiscoveryKey([4; 32]);
        let signal = directory.watch_stalls();
        assert_eq!(directory.stalls(&topic), 0);
        directory.report_stall(topic);
        assert_eq!(directory.stalls(&topic), 1);
        assert!(signal.has_changed().unwrap());
        assert_eq!(directory.stalls(&DiscoveryKey([5; 32])), 0);
    }
}
