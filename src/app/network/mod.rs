//! The network as the chat shows it. `App`'s `network` (`NetworkView`):
//! the DHT's state and since when, what the engine learned of our place on
//! the network (`NetworkReport`), the peers and follows (`peers.rs`), and
//! which peers hold our own messages (`delivery.rs`). `DhtState` is the
//! app's own word for the DHT's state, so `ui` need not know the network
//! boundary's type. Beside it:
//! - `words.rs`: the network in words for the status bar and side panel;
//! - `pane.rs`: the network pane's content;
//! - `update.rs` (`impl App`): the engine's network events, the accessors
//!   `ui` reads, `/peers`.

pub mod delivery;
pub mod pane;
pub mod peers;
mod update;
pub mod words;

use std::time::Duration;

use time::OffsetDateTime;

use crate::domain::{ConnectionKey, LogKey};
use crate::net::{NetworkReport, NetworkStatus};

use delivery::{Deliveries, Holder};
use peers::Peers;

pub use words::{dht_words, peer_tag, status_facts};

/// Which state the DHT is in, as the screen tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhtState {
    /// No state reported yet.
    Connecting,
    /// Networking is off.
    Disabled,
    Bootstrapping,
    Online,
    /// Offline, retrying.
    Offline,
}

/// The network as shown: the DHT's state, our place, peers, deliveries.
#[derive(Debug, Clone)]
pub struct NetworkView {
    /// `None` until the engine reports one.
    status: Option<NetworkStatus>,
    /// When the DHT entered its current state (online, offline, …).
    since: OffsetDateTime,
    /// When the latest status arrived (an offline one counts its retry from here).
    at: OffsetDateTime,
    /// What the engine learned of our addresses, NAT and reachability.
    report: NetworkReport,
    /// Connected peers, and the followed logs.
    pub(in crate::app) peers: Peers,
    /// Which peers hold our own messages.
    deliveries: Deliveries,
}

impl NetworkView {
    /// Nothing known yet at `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            status: None,
            since: now,
            at: now,
            report: NetworkReport::default(),
            peers: Peers::default(),
            deliveries: Deliveries::default(),
        }
    }

    /// A status from the engine at `now`: a new state starts its `since`,
    /// any change its retry count.
    pub fn set_status(&mut self, status: NetworkStatus, now: OffsetDateTime) {
        let same_state = self.status.as_ref().map(std::mem::discriminant)
            == Some(std::mem::discriminant(&status));
        if !same_state {
            self.since = now;
        }
        if self.status.as_ref() != Some(&status) {
            self.at = now;
        }
        self.status = Some(status);
    }

    /// Which state the DHT is in.
    pub fn state(&self) -> DhtState {
        match &self.status {
            None => DhtState::Connecting,
            Some(NetworkStatus::Disabled) => DhtState::Disabled,
            Some(NetworkStatus::Bootstrapping) => DhtState::Bootstrapping,
            Some(NetworkStatus::Online { .. }) => DhtState::Online,
            Some(NetworkStatus::Offline { .. }) => DhtState::Offline,
        }
    }

    /// Time left at `now` before the next retry while offline.
    pub fn retry_in(&self, now: OffsetDateTime) -> Option<Duration> {
        match &self.status {
            Some(NetworkStatus::Offline { retry_in, .. }) => {
                let waited = (now - self.at).whole_milliseconds().max(0);
                let waited = Duration::from_millis(u64::try_from(waited).unwrap_or(u64::MAX));
                Some(retry_in.saturating_sub(waited))
            }
            _ => None,
        }
    }

    /// A peer says it holds `length` blocks of `log`; when `log` is `own`,
    /// that peer holds our messages up to there.
    pub fn peer_has(&mut self, peer: ConnectionKey, log: LogKey, length: u64, own: Option<LogKey>) {
        if Some(log) == own {
            let holder = self
                .peers
                .peers()
                .iter()
                .find(|p| p.id == peer)
                .and_then(|p| p.own_log())
                .map_or(Holder::Connection(peer), Holder::Log);
            self.deliveries.record(holder, length);
        }
        self.peers.peer_has(peer, log, length)
    }
}
