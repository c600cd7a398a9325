//! A blind relay, as JS `blind-relay`'s server runs one behind a hyperdht
//! server: a second server on the node under a key of its own, announced
//! under the relays' topic (`client::relayed::relay_topic`) so hychat
//! peers find it; on each connection the `blind-relay` channel
//! (`connection/relay_channel.rs`) and its `pair`/`unpair`; the pairing
//! table (`pairing.rs`); and for each match two link ends, one on each
//! connection's socket, joined so that each peer's packets go on to the
//! other (`transport/udx/link.rs`). The peers' secret stream is keyed by
//! their own handshake: the relay passes ciphertext it cannot read.
//!
//! Links end when a side unpairs, a side's relay connection closes, a
//! peer's DESTROY goes through, or nothing passed for `IDLE` (a live
//! connection's keepalives pass every 5 s). Limits are `pairing::LIMITS`
//! and the link's byte budget.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use futures::{SinkExt, StreamExt};
use hypercore_handshake::CipherEvent;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::announcer::announce;
use super::listener::{serve_as, Accepted};
use super::pairing::{Conn, Paired, Pairing, Side, Unpaired, LIMITS};
use crate::net::dht::client::relayed::relay_topic;
use crate::net::dht::connection::lan::Lan;
use crate::net::dht::connection::relay_channel::{ChannelEvent, RelayChannel};
use crate::net::dht::encoding::messages::LOOKUP;
use crate::net::dht::encoding::relay::RelayMessage;
use crate::net::dht::kademlia::service::DhtNode;
use crate::net::lock::lock;
use crate::net::transport::session::Session;
use crate::net::transport::udx::socket::{join, Link, UdxSocket};
use crate::net::types::RelayOffer;

/// The relay's announcement under the relays' topic is renewed this often.
const REANNOUNCE: Duration = Duration::from_secs(300);
/// When no DHT node took the announcement, it is tried again sooner.
const REANNOUNCE_SOON: Duration = Duration::from_secs(10);
/// A link through which nothing passed for this long is dropped.
const IDLE: Duration = Duration::from_secs(60);
/// How often waiting pairs and idle links are looked at.
const SWEEP: Duration = Duration::from_secs(5);
/// Relay connections at once; more are closed at once.
const MAX_CONNECTIONS: usize = 256;

/// What the relay did so far, for the seed's lines and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RelayStats {
    /// Connections to the relay now.
    pub(crate) connections: usize,
    /// Pairs waiting for their other side now.
    pub(crate) waiting: usize,
    /// Pairs linked now.
    pub(crate) active: usize,
    /// Pairs linked since the start.
    pub(crate) matched: u64,
    /// Bytes passed on since the start (both ways, ended links included).
    pub(crate) bytes: u64,
    /// The relay is announced under the relays' topic.
    pub(crate) announced: bool,
}

/// A running relay; dropping it stops it.
pub(crate) struct Relay {
    pub(crate) public_key: [u8; 32],
    stats: Arc<Mutex<RelayStats>>,
    task: JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    pub(crate) fn stats(&self) -> RelayStats {
        *lock(&self.stats)
    }

    /// What the network report says of it.
    pub(crate) fn offer(&self) -> RelayOffer {
        let stats = self.stats();
        RelayOffer {
            key: self.public_key,
            connections: stats.connections,
            linked: stats.active,
            matched: stats.matched,
        }
    }
}

/// Starts a relay on `node` under a fresh key.
pub(crate) fn start_relay(node: Arc<DhtNode>) -> Relay {
    let key = SigningKey::from_bytes(&rand::random());
    let public_key = key.verifying_key().to_bytes();
    let stats = Arc::new(Mutex::new(RelayStats::default()));
    let task = tokio::spawn(run(node, key, Arc::clone(&stats)));
    Relay {
        public_key,
        stats,
        task,
    }
}

/// What a connection's task tells the relay.
enum FromConn {
    Message(Conn, Vec<u8>),
    Closed(Conn),
}

/// A connection to the relay, as the relay task holds it.
struct Peer {
    out: mpsc::Sender<Vec<u8>>,
    socket: UdxSocket,
    channel: RelayChannel,
}

/// A linked pair: its two link ends, and what they had passed when last
/// looked at.
struct Linked {
    ends: [Link; 2],
    counted: u64,
}

struct State {
    /// The connections' tasks: they stop with the relay.
    tasks: tokio::task::JoinSet<()>,
    pairing: Pairing,
    peers: HashMap<Conn, Peer>,
    links: HashMap<[u8; 32], Linked>,
    stats: Arc<Mutex<RelayStats>>,
}

async fn run(node: Arc<DhtNode>, key: SigningKey, stats: Arc<Mutex<RelayStats>>) {
    // Never the LAN shortcut: a relay is for peers that are not ours.
    let mut listener = serve_as(Arc::clone(&node), key.clone(), Lan::Off);
    let (from_conn_tx, mut from_conn) = mpsc::channel::<FromConn>(256);
    let mut state = State {
        tasks: tokio::task::JoinSet::new(),
        pairing: Pairing::new(LIMITS),
        peers: HashMap::new(),
        links: HashMap::new(),
        stats,
    };
    let mut next_conn: Conn = 0;
    let mut next_announce = tokio::time::Instant::now();
    let mut sweep = tokio::time::interval(SWEEP);
    loop {
        tokio::select! {
            accepted = listener.connections.recv() => {
                let Some(accepted) = accepted else { break };
                next_conn += 1;
                state.accept(next_conn, accepted, &from_conn_tx);
            }
            Some(event) = from_conn.recv() => match event {
                FromConn::Message(conn, bytes) => state.on_message(conn, &bytes),
                FromConn::Closed(conn) => state.on_closed(conn),
            },
            _ = sweep.tick() => state.sweep(Instant::now()),
            // Announced under the topic once its server can be reached.
            _ = tokio::time::sleep_until(next_announce), if !listener.relays.borrow().is_empty() => {
                let relays = listener.relays.borrow().clone();
                let acked = announce(&node, &key, relay_topic(), LOOKUP, relays).await;
                tracing::debug!(nodes = acked.len(), "announced the blind relay");
                if !acked.is_empty() {
                    lock(&state.stats).announced = true;
                }
                next_announce = tokio::time::Instant::now()
                    + if acked.is_empty() { REANNOUNCE_SOON } else { REANNOUNCE };
            }
            Ok(()) = listener.relays.changed(), if listener.relays.borrow().is_empty() => {}
        }
        state.publish();
    }
}

impl State {
    fn accept(&mut self, conn: Conn, accepted: Accepted, to_relay: &mpsc::Sender<FromConn>) {
        if self.peers.len() >= MAX_CONNECTIONS {
            tracing::debug!("the blind relay has all the connections it takes");
            return;
        }
        // The channel's id is the client's key, as JS's relay opens it.
        let id = accepted.remote_public_key.unwrap_or_default();
        let socket = accepted.stream.udx.socket();
        let (out_tx, out_rx) = mpsc::channel(64);
        let _ = out_tx.try_send(RelayChannel::open(id));
        self.tasks.spawn(serve_conn(
            conn,
            accepted.stream.session,
            out_rx,
            to_relay.clone(),
        ));
        self.peers.insert(
            conn,
            Peer {
                out: out_tx,
                socket,
                channel: RelayChannel::default(),
            },
        );
    }

    fn send(&self, conn: Conn, bytes: Vec<u8>) {
        if let Some(peer) = self.peers.get(&conn) {
            let _ = peer.out.try_send(bytes);
        }
    }

    fn on_message(&mut self, conn: Conn, bytes: &[u8]) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        let events = match peer.channel.on_message(bytes) {
            Ok(events) => events,
            Err(_) => {
                tracing::debug!(conn, "a relay client sent what is no protomux frame");
                self.on_closed(conn);
                return;
            }
        };
        for event in events {
            match event {
                ChannelEvent::Relay(RelayMessage::Pair {
                    initiator,
                    token,
                    id,
                    ..
                }) => self.on_pair(conn, initiator, token, id),
                ChannelEvent::Relay(RelayMessage::Unpair { token }) => {
                    if self.pairing.unpair(conn, token) == Unpaired::Ended {
                        self.links.remove(&token);
                    }
                }
                ChannelEvent::Reply(frame) => self.send(conn, frame),
                ChannelEvent::Closed => self.on_closed(conn),
                ChannelEvent::Opened => {}
            }
        }
    }

    fn on_pair(&mut self, conn: Conn, initiator: bool, token: [u8; 32], stream_id: u32) {
        let (initiator, responder) =
            match self
                .pairing
                .pair(conn, initiator, token, stream_id, Instant::now())
            {
                Paired::Waiting => return,
                Paired::Ignored(why) => {
                    tracing::debug!(conn, why, "a relay pair was not taken");
                    return;
                }
                Paired::Matched {
                    initiator,
                    responder,
                } => (initiator, responder),
            };
        let ends = [initiator, responder].map(|side| self.link_end(side));
        let [Some(a), Some(b)] = ends else {
            self.pairing.end(&token);
            return;
        };
        join(&a, &b);
        for (side, end, is_initiator) in [(initiator, &a, true), (responder, &b, false)] {
            let answer = RelayMessage::Pair {
                initiator: is_initiator,
                token,
                id: end.id(),
                seq: 0,
            };
            self.send(side.conn, RelayChannel::send(&answer));
        }
        tracing::debug!(
            initiator = initiator.conn,
            responder = responder.conn,
            "the blind relay linked a pair"
        );
        lock(&self.stats).matched += 1;
        self.links.insert(
            token,
            Linked {
                ends: [a, b],
                counted: 0,
            },
        );
    }

    /// A link end for `side` on its connection's socket, under a free id.
    fn link_end(&self, side: Side) -> Option<Link> {
        let socket = &self.peers.get(&side.conn)?.socket;
        (0..8).find_map(|_| socket.create_link(rand::random(), side.stream_id).ok())
    }

    fn on_closed(&mut self, conn: Conn) {
        if self.peers.remove(&conn).is_none() {
            return;
        }
        for token in self.pairing.closed(conn) {
            self.links.remove(&token);
        }
    }

    fn sweep(&mut self, now: Instant) {
        while self.tasks.try_join_next().is_some() {}
        self.pairing.expire(now);
        let mut ended = Vec::new();
        let mut passed = 0;
        for (token, linked) in &mut self.links {
            let looks = linked.ends.each_ref().map(Link::stats);
            let bytes: u64 = looks.iter().map(|(s, _)| s.bytes).sum();
            passed += bytes - linked.counted;
            linked.counted = bytes;
            let idle = looks
                .iter()
                .all(|(_, last)| now.saturating_duration_since(*last) >= IDLE);
            if idle || looks.iter().any(|(s, _)| s.destroyed) {
                ended.push(*token);
            }
        }
        for token in ended {
            self.links.remove(&token);
            self.pairing.end(&token);
        }
        lock(&self.stats).bytes += passed;
    }

    fn publish(&self) {
        let (waiting, active) = self.pairing.counts();
        let mut stats = lock(&self.stats);
        stats.connections = self.peers.len();
        stats.waiting = waiting;
        stats.active = active;
    }
}

/// One relay connection: its messages to the relay task, the relay's
/// frames to it, until either side ends.
async fn serve_conn(
    conn: Conn,
    mut session: Session,
    mut out: mpsc::Receiver<Vec<u8>>,
    to_relay: mpsc::Sender<FromConn>,
) {
    loop {
        tokio::select! {
            event = session.next() => match event {
                Some(CipherEvent::Message(bytes)) => {
                    if to_relay.send(FromConn::Message(conn, bytes)).await.is_err() {
                        return;
                    }
                }
                Some(CipherEvent::ErrStuff(_)) | None => break,
                Some(_) => {}
            },
            frame = out.recv() => match frame {
                Some(frame) => {
                    if session.send(frame).await.is_err() {
                        break;
                    }
                }
                None => return,
            },
        }
    }
    let _ = to_relay.send(FromConn::Closed(conn)).await;
}

#[cfg(test)]
mod tests;
