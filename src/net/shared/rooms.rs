//! The rooms this process is in, as connection tasks need them: each joined
//! room by topic with the members we pass on, who we are in rooms, and the
//! introductions connections hand to the engine. Locking: see `shared`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::domain::keys::DiscoveryKey;
use crate::domain::room::{Member, RoomName, MAX_ROOM_MEMBERS};
use crate::net::wire::room_hello::RoomHello;

/// Introductions waiting for the engine beyond this many are dropped; they
/// come again with the next room hello.
const MAX_PENDING_INTRODUCTIONS: usize = 256;

/// Members a room hello named, for the engine to remember and follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Introduction {
    pub room: RoomName,
    /// The peer that sent the hello, about itself.
    pub sender: Member,
    /// The members the sender knows (their nicknames second-hand).
    pub known: Vec<Member>,
}

#[derive(Default)]
struct Inner {
    /// Joined rooms by topic, with the members we pass on in each.
    joined: HashMap<DiscoveryKey, (RoomName, Vec<Member>)>,
    /// Who we are in every room.
    identity: Option<Member>,
    introductions: Vec<Introduction>,
}

#[derive(Clone)]
pub(crate) struct RoomDirectory {
    inner: Arc<Mutex<Inner>>,
    /// The registry's signal that a topic was added.
    topics_changed: Arc<watch::Sender<u64>>,
    /// Bumped whenever what we tell a room changes.
    room_signal: Arc<watch::Sender<u64>>,
    /// Bumped whenever an introduction waits for the engine.
    introduction_signal: Arc<watch::Sender<u64>>,
}

impl RoomDirectory {
    /// A directory that bumps `topics_changed` when a room is joined.
    pub(crate) fn new(topics_changed: Arc<watch::Sender<u64>>) -> Self {
        Self {
            inner: Arc::default(),
            topics_changed,
            room_signal: Arc::new(watch::channel(0).0),
            introduction_signal: Arc::new(watch::channel(0).0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        super::lock(&self.inner)
    }

    /// Every joined room's topic.
    pub(crate) fn topics(&self) -> Vec<DiscoveryKey> {
        self.lock().joined.keys().copied().collect()
    }

    /// Who we are in rooms: our log and nickname.
    pub(crate) fn set_identity(&self, me: Member) {
        self.lock().identity = Some(me);
        self.room_signal.send_modify(|v| *v += 1);
    }

    /// Who we are, once the engine said so.
    pub(crate) fn identity(&self) -> Option<Member> {
        self.lock().identity.clone()
    }

    /// Joins a room, or replaces the members it knows.
    pub(crate) fn set(&self, room: RoomName, members: Vec<Member>) {
        let added = self
            .lock()
            .joined
            .insert(room.topic(), (room, members))
            .is_none();
        self.room_signal.send_modify(|v| *v += 1);
        if added {
            self.topics_changed.send_modify(|v| *v += 1);
        }
    }

    /// Leaves a room; connections close its channels.
    pub(crate) fn remove(&self, room: &RoomName) {
        self.lock().joined.remove(&room.topic());
        self.room_signal.send_modify(|v| *v += 1);
    }

    /// The room whose topic (and channel discovery key) this is.
    pub(crate) fn get(&self, topic: &DiscoveryKey) -> Option<RoomName> {
        self.lock().joined.get(topic).map(|(name, _)| name.clone())
    }

    /// What we tell the room with this topic, once we know who we are.
    pub(crate) fn hello(&self, topic: &DiscoveryKey) -> Option<RoomHello> {
        let inner = self.lock();
        let (_, members) = inner.joined.get(topic)?;
        Some(RoomHello {
            me: inner.identity.clone()?,
            members: members.iter().take(MAX_ROOM_MEMBERS).cloned().collect(),
        })
    }

    /// Changes each time what we tell a room changes.
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.room_signal.subscribe()
    }

    /// Hands the engine members a room hello named.
    pub(crate) fn introduce(&self, introduction: Introduction) {
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
    pub(crate) fn take_introductions(&self) -> Vec<Introduction> {
        std::mem::take(&mut self.lock().introductions)
    }

    /// Changes each time an introduction waits.
    pub(crate) fn watch_introductions(&self) -> watch::Receiver<u64> {
        self.introduction_signal.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::LogKey;
    use crate::net::shared::Shared;

    #[test]
    fn rooms_are_topics_and_say_who_we_are() {
        let shared = Shared::default();
        let room = RoomName::parse("streams-day").unwrap();
        let added = shared.registry.watch();
        let bob = Member {
            key: LogKey([2; 32]),
            nickname: Some("bob".into()),
        };
        shared.rooms.set(room.clone(), vec![bob.clone()]);
        assert!(added.has_changed().unwrap());
        assert_eq!(shared.topics(), vec![room.topic()]);
        assert_eq!(shared.rooms.get(&room.topic()), Some(room.clone()));
        // No hello before we know who we are.
        assert_eq!(shared.rooms.hello(&room.topic()), None);
        let me = Member {
            key: LogKey([1; 32]),
            nickname: Some("ann".into()),
        };
        shared.rooms.set_identity(me.clone());
        assert_eq!(
            shared.rooms.hello(&room.topic()),
            Some(RoomHello {
                me,
                members: vec![bob.clone()]
            })
        );
        shared.rooms.remove(&room);
        assert_eq!(shared.rooms.get(&room.topic()), None);
        assert!(shared.topics().is_empty());
    }

    #[test]
    fn introductions_wait_for_the_engine() {
        let shared = Shared::default();
        let signal = shared.rooms.watch_introductions();
        let introduction = Introduction {
            room: RoomName::parse("r").unwrap(),
            sender: Member {
                key: LogKey([1; 32]),
                nickname: None,
            },
            known: vec![],
        };
        shared.rooms.introduce(introduction.clone());
        assert!(signal.has_changed().unwrap());
        assert_eq!(shared.rooms.take_introductions(), vec![introduction]);
        assert!(shared.rooms.take_introductions().is_empty());
    }
}
