//! The network's side of `App` (`impl App`): the engine's network events
//! (status, report, peers connecting and leaving, what they hold, catch-up
//! progress), the accessors the status bar, side panel and network pane
//! read, and `/peers` in words.

use std::time::Duration;

use time::OffsetDateTime;

use crate::app::App;
use crate::domain::{ConnectionKey, LogKey, Seq};
use crate::net::{NetworkReport, NetworkStatus, PeerRoom, PeerRoute};

use super::peers::{self, Peer, Peers};
use super::{words, DhtState};

impl App {
    pub fn peers(&self) -> &Peers {
        &self.network.peers
    }

    /// A connected peer's name: the name of the log it says is its own;
    /// `None` when it did not say or nothing is known of that log.
    pub fn peer_name(&self, peer: &Peer) -> Option<String> {
        self.name_of(&peer.own_log()?)
    }

    /// How many peers hold our own message `seq`.
    pub fn held_by(&self, seq: Seq) -> usize {
        self.network.deliveries.held_by(seq.0)
    }

    /// The network state, `None` until the engine reports one.
    pub fn network(&self) -> Option<&NetworkStatus> {
        self.network.status.as_ref()
    }

    /// Which state the DHT is in.
    pub fn dht_state(&self) -> DhtState {
        self.network.state()
    }

    /// The DHT's state in the words of the status bar and the pane.
    pub fn dht_words(&self) -> String {
        words::dht_words(self.network(), self.retry_in())
    }

    /// When the DHT entered its current state.
    pub fn network_since(&self) -> OffsetDateTime {
        self.network.since
    }

    /// This node's addresses, NAT and reachability, as far as reported.
    pub fn network_report(&self) -> &NetworkReport {
        &self.network.report
    }

    /// The known facts of our place on the network, least useful first, for
    /// the status bar (see `words::status_facts`).
    pub fn status_facts(&self) -> Vec<String> {
        words::status_facts(&self.network.report)
    }

    /// Seconds left before the next retry while offline.
    pub fn retry_in(&self) -> Option<Duration> {
        self.network.retry_in(self.now)
    }

    // ---- engine events ----

    pub(in crate::app) fn on_network_status(&mut self, status: NetworkStatus) {
        self.network.set_status(status, self.now);
    }

    pub(in crate::app) fn on_network_report(&mut self, report: NetworkReport) {
        self.network.report = report;
    }

    pub(in crate::app) fn on_peer_connected(
        &mut self,
        peer: ConnectionKey,
        logs: Vec<LogKey>,
        rooms: Vec<PeerRoom>,
        route: PeerRoute,
    ) {
        self.network
            .peers
            .connected(peer, logs, rooms, route, self.now);
    }

    pub(in crate::app) fn on_peer_disconnected(&mut self, peer: ConnectionKey) {
        self.network.peers.disconnected(&peer);
    }

    pub(in crate::app) fn on_log_progress(&mut self, log: LogKey, downloaded: u64, length: u64) {
        self.network.peers.progress(&log, downloaded, length);
    }

    pub(in crate::app) fn on_peer_has(&mut self, peer: ConnectionKey, log: LogKey, length: u64) {
        self.network.peer_has(peer, log, length, self.me.own);
    }

    // ---- /peers ----

    /// `/peers`: every connection, how long it has been up, where it was
    /// met, and the logs it shares.
    pub(in crate::app) fn peers_summary(&self) -> String {
        let peers = self.network.peers.peers();
        if peers.is_empty() {
            return "no peers connected".to_string();
        }
        let mut lines = vec![match peers.len() {
            1 => "1 peer connected:".to_string(),
            n => format!("{n} peers connected:"),
        }];
        for peer in peers {
            let logs: Vec<String> = peer.logs.iter().map(|f| self.who(f)).collect();
            let rooms: Vec<String> = peer.room_tags();
            let met = if rooms.is_empty() {
                String::new()
            } else {
                format!(" in {}", rooms.join(", "))
            };
            lines.push(format!(
                "{} for {}{met}: {}",
                peer.id.short(),
                peers::short_duration(peer.since, self.now),
                if logs.is_empty() {
                    "no shared logs".to_string()
                } else {
                    logs.join(", ")
                }
            ));
        }
        lines.join("\n")
    }
}
