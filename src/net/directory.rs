//! The shared directory of logs this process holds, by discovery key, and how
//! many open channels each has, plus this process's hello session. Connection
//! tasks read it to decide what to open and watch it for new logs; the swarm
//! task reads the counts to pace discovery. Its lock is never held across an
//! `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hypercore::Hypercore;
use tokio::sync::watch;

use super::keys::{DiscoveryKey, FeedKey};

#[derive(Default)]
struct Inner {
    feeds: HashMap<DiscoveryKey, (FeedKey, Hypercore)>,
    channels: HashMap<DiscoveryKey, usize>,
}

#[derive(Clone)]
pub struct FeedDirectory {
    inner: Arc<Mutex<Inner>>,
    /// Bumped whenever a log is added, so connections can offer it.
    version: Arc<watch::Sender<u64>>,
    session: [u8; 16],
}

impl Default for FeedDirectory {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            version: Arc::new(watch::channel(0).0),
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

    /// Every log held, for the hello.
    pub fn keys(&self) -> Vec<FeedKey> {
        self.lock().feeds.values().map(|(key, _)| *key).collect()
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

    pub fn topics(&self) -> Vec<DiscoveryKey> {
        self.lock().feeds.keys().copied().collect()
    }

    pub fn channel_opened(&self, discovery_key: DiscoveryKey) {
        *self.lock().channels.entry(discovery_key).or_default() += 1;
    }

    pub fn channel_closed(&self, discovery_key: DiscoveryKey) {
        let mut inner = self.lock();
        if let Some(count) = inner.channels.get_mut(&discovery_key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                inner.channels.remove(&discovery_key);
            }
        }
    }

    /// Whether some connected peer replicates this log with us.
    pub fn has_peer(&self, discovery_key: &DiscoveryKey) -> bool {
        self.lock().channels.contains_key(discovery_key)
    }
}
