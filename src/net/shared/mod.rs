//! State shared between the engine, the swarm task and the connection tasks,
//! one small handle per concern:
//! - `registry`: the logs this process holds, by discovery key;
//! - `sessions`: our hello session, which connection holds each peer's, and
//!   the channels each connection has open;
//! - `rooms`: the rooms we are in, who we are there, and introductions.
//!
//! The locking rule is the same for each: one std mutex per handle, held for a
//! few map operations and never across an `.await` (so a std mutex, not an
//! async one), and never two at once. A panic elsewhere must not take
//! replication down with it, so a poisoned lock is taken as it is (`net::lock`).

pub(crate) mod registry;
pub(crate) mod rooms;
pub(crate) mod sessions;

use std::sync::Arc;

use tokio::sync::watch;

use crate::domain::DiscoveryKey;

/// Every shared handle, cloned into each task that needs them.
#[derive(Clone)]
pub(crate) struct Shared {
    pub registry: registry::Registry,
    pub sessions: sessions::Sessions,
    pub rooms: rooms::RoomDirectory,
}

impl Default for Shared {
    fn default() -> Self {
        let registry = registry::Registry::default();
        Self {
            rooms: rooms::RoomDirectory::new(registry.topics_signal()),
            registry,
            sessions: sessions::Sessions::default(),
        }
    }
}

impl Shared {
    /// Every swarm topic: each held log's and each joined room's.
    pub(crate) fn topics(&self) -> Vec<DiscoveryKey> {
        let mut topics = self.registry.discovery_keys();
        topics.extend(self.rooms.topics());
        topics
    }
}

pub(crate) use crate::net::lock::lock;

/// A counter that wakes its watchers each time it is bumped.
pub(crate) fn signal() -> Arc<watch::Sender<u64>> {
    Arc::new(watch::channel(0).0)
}

/// Bumps a signal.
pub(crate) fn bump(signal: &watch::Sender<u64>) {
    signal.send_modify(|v| *v += 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LogKey;

    #[test]
    fn topics_are_the_logs_and_the_rooms() {
        let shared = Shared::default();
        let room = crate::domain::RoomName::parse("r").unwrap();
        shared.rooms.set(room.clone(), vec![]);
        let key = LogKey([1; 32]);
        assert_eq!(shared.topics(), vec![room.topic()]);
        assert!(shared.registry.get(&key.discovery_key()).is_none());
    }
}
