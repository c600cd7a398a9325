//! The logs this process holds, by discovery key: what connection tasks
//! consult to decide which channels to open, and watch to offer a log that
//! was added. Locking: see `shared`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hypercore::Hypercore;
use tokio::sync::watch;

use super::{bump, lock, signal};
use crate::domain::keys::{DiscoveryKey, LogKey};
use crate::net::replication::ReplicatorHandle;

/// A held log: its key, its hypercore, and the replicator connections hand
/// its channels to.
#[derive(Clone)]
struct Held {
    key: LogKey,
    core: Hypercore,
    replicator: ReplicatorHandle,
}

#[derive(Clone)]
pub(crate) struct Registry {
    logs: Arc<Mutex<HashMap<DiscoveryKey, Held>>>,
    /// Bumped whenever a topic is added (a log here, or a room beside it).
    topics_changed: Arc<watch::Sender<u64>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self {
            logs: Arc::default(),
            topics_changed: signal(),
        }
    }
}

impl Registry {
    pub(crate) fn insert(&self, key: LogKey, core: Hypercore, replicator: ReplicatorHandle) {
        let held = Held {
            key,
            core,
            replicator,
        };
        lock(&self.logs).insert(key.discovery_key(), held);
        bump(&self.topics_changed);
    }

    pub(crate) fn remove(&self, key: &LogKey) {
        lock(&self.logs).remove(&key.discovery_key());
    }

    pub(crate) fn get(&self, discovery_key: &DiscoveryKey) -> Option<(LogKey, Hypercore)> {
        lock(&self.logs)
            .get(discovery_key)
            .map(|held| (held.key, held.core.clone()))
    }

    /// The replicator of a held log.
    pub(crate) fn replicator(&self, discovery_key: &DiscoveryKey) -> Option<ReplicatorHandle> {
        lock(&self.logs)
            .get(discovery_key)
            .map(|held| held.replicator.clone())
    }

    /// The discovery keys of every held log.
    pub(crate) fn discovery_keys(&self) -> Vec<DiscoveryKey> {
        lock(&self.logs).keys().copied().collect()
    }

    /// Changes each time a log or a room is added.
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.topics_changed.subscribe()
    }

    /// The signal the room directory bumps when a room is joined.
    pub(crate) fn topics_signal(&self) -> Arc<watch::Sender<u64>> {
        Arc::clone(&self.topics_changed)
    }
}
