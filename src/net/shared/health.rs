//! The health of downloads: stalls reported per log, channel failures
//! counted toward a fresh clone, and the fresh clones waiting for the engine,
//! each with a signal its watchers wake on. Locking: see `shared`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::{bump, lock, signal};
use crate::domain::keys::DiscoveryKey;

/// Failed channels of one log before it is cloned afresh.
const CHANNEL_FAILURES_BEFORE_FRESH_CLONE: u32 = 3;

#[derive(Default)]
struct Inner {
    /// How many times each log's download was reported stuck.
    stalls: HashMap<DiscoveryKey, u64>,
    /// Logs to be cloned afresh by the engine.
    fresh_clones: HashSet<DiscoveryKey>,
    /// Replication channels of each log that failed since its last clone.
    channel_failures: HashMap<DiscoveryKey, u32>,
}

#[derive(Clone)]
pub(crate) struct Health {
    inner: Arc<Mutex<Inner>>,
    /// Bumped whenever a download is reported stuck.
    stall_signal: Arc<watch::Sender<u64>>,
    /// Bumped whenever a fresh clone is requested.
    clone_signal: Arc<watch::Sender<u64>>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            stall_signal: signal(),
            clone_signal: signal(),
        }
    }
}

impl Health {
    /// A follower's download of this log made no progress for a while with a
    /// peer connected: the replication channel is stuck (a busy peer drops
    /// requests, docs/architecture.md §2). Connections carrying it close, and the log is
    /// fetched again over fresh ones.
    // compat: hypercore row (stalled downloads, oversized blocks)
    pub(crate) fn report_stall(&self, discovery_key: DiscoveryKey) {
        *lock(&self.inner).stalls.entry(discovery_key).or_default() += 1;
        bump(&self.stall_signal);
    }

    /// How many times this log was reported stuck.
    pub(crate) fn stalls(&self, discovery_key: &DiscoveryKey) -> u64 {
        lock(&self.inner)
            .stalls
            .get(discovery_key)
            .copied()
            .unwrap_or(0)
    }

    /// Changes each time a stall is reported.
    pub(crate) fn watch_stalls(&self) -> watch::Receiver<u64> {
        self.stall_signal.subscribe()
    }

    /// Asks the engine to clone a followed log afresh (see `connection`).
    pub(crate) fn request_fresh_clone(&self, discovery_key: DiscoveryKey) {
        lock(&self.inner).fresh_clones.insert(discovery_key);
        bump(&self.clone_signal);
    }

    /// A log's replication channel failed. hypercore 0.17.0-alpha.1 can
    /// leave a clone that every channel then fails on ("Nodes is out of
    /// bounds" after proofs from two connections crossed); the third failure
    /// asks the engine for a fresh clone. True when it did.
    // compat: hypercore row (concurrent proofs fail a channel)
    pub(crate) fn report_channel_failure(&self, discovery_key: DiscoveryKey) -> bool {
        let mut inner = lock(&self.inner);
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
        lock(&self.inner).fresh_clones.drain().collect()
    }

    /// Changes each time a fresh clone is requested.
    pub(crate) fn watch_fresh_clones(&self) -> watch::Receiver<u64> {
        self.clone_signal.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_third_failed_channel_of_a_log_asks_for_a_fresh_clone() {
        let health = Health::default();
        let topic = DiscoveryKey([4; 32]);
        assert!(!health.report_channel_failure(topic));
        assert!(!health.report_channel_failure(topic));
        assert!(health.take_fresh_clones().is_empty());
        assert!(health.report_channel_failure(topic));
        assert_eq!(health.take_fresh_clones(), vec![topic]);
        assert!(!health.report_channel_failure(topic), "counted afresh");
    }

    #[test]
    fn a_stall_report_is_counted_and_signalled() {
        let health = Health::default();
        let topic = DiscoveryKey([4; 32]);
        let signal = health.watch_stalls();
        assert_eq!(health.stalls(&topic), 0);
        health.report_stall(topic);
        assert_eq!(health.stalls(&topic), 1);
        assert!(signal.has_changed().unwrap());
        assert_eq!(health.stalls(&DiscoveryKey([5; 32])), 0);
    }
}
