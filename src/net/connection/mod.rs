//! Replication over one swarm connection: one `Protocol`, one channel per log
//! both sides share, each handed to its log's replicator
//! (`ReplicatorHandle::attach`) until the connection ends. Follows the
//! rules of docs/architecture.md §2: open a log only when the peer wants it (the topic the
//! connection was found on, a channel the peer opened first, or a log the
//! peer's hychat hello says it holds), never use
//! `Replicator::with_connection*`, and re-poll channel futures so a local
//! append goes out at once. Room channels (no log attached) are handed to
//! `room_channels`.

pub(crate) mod policy;
pub(crate) mod rooms;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use hypercore_protocol::{Channel, Event, Protocol};
use tokio::sync::{mpsc, watch};

use crate::domain::keys::{ConnectionKey, DiscoveryKey, LogKey};
use crate::domain::SessionId;
use crate::net::compat;
use crate::net::compat::observed::{ObservedConnection, PeerSaid};
use crate::net::compat::pacing::Paced;
use crate::net::connection::rooms::{RoomChannels, RoomEvent};
use crate::net::dht::connection::stream::PacketsIn;
use crate::net::replication::Detached;
use crate::net::route::{self, Place};
use crate::net::shared::sessions::SessionVerdict;
use crate::net::shared::Shared;
use crate::net::wire::hello::Hello;
use crate::net::wire::keepalive::ping_message;
use crate::net::NetEvent;
use crate::net::{Link, NetworkReport, PeerRoute};

/// What every connection task shares with the engine.
#[derive(Clone)]
pub(crate) struct ConnectionContext {
    pub shared: Shared,
    pub events: mpsc::Sender<NetEvent>,
    pub shutdown: watch::Receiver<bool>,
    /// This node's place on the network, for the hello.
    pub network: watch::Receiver<NetworkReport>,
}

/// How often a connection checks itself for stuck channels.
const HEALTH_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// A hychat peer is pinged this often, so that it hears from us while the
/// chat is quiet (`policy::SILENT_PEER` says when it has gone).
const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// A connection on which no log has been opened by then is closed.
const UNUSED_CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

type ChannelFuture = Pin<Box<dyn Future<Output = (DiscoveryKey, Detached)> + Send>>;
type OpenFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One connection's replication state.
struct Replication {
    peer: ConnectionKey,
    ctx: ConnectionContext,
    requested: HashSet<DiscoveryKey>,
    /// Channels open on this connection, and the log each carries.
    open_channels: BTreeMap<DiscoveryKey, LogKey>,
    opens: FuturesUnordered<OpenFuture>,
    channels: FuturesUnordered<ChannelFuture>,
    hello_sent: bool,
    /// The last `PeerConnected` did not fit in the event queue.
    announce_pending: bool,
    /// Where the peer is, from its hello.
    route: PeerRoute,
    /// The place and own log the peer's last hello gave.
    peer_place: Option<Place>,
    peer_own: Option<DiscoveryKey>,
    /// Every open log channel, to send a changed hello on.
    log_channels: BTreeMap<DiscoveryKey, Channel>,
    rooms: RoomChannels,
    /// Logs and rooms the peer said (in its hello) that it holds.
    peer_topics: HashSet<DiscoveryKey>,
    /// The highest block end written to the peer, per log.
    sent_ends: std::collections::HashMap<DiscoveryKey, u64>,
    is_client: bool,
    /// The peer's session, once its hello has claimed this connection.
    peer_session: Option<SessionId>,
    /// True once the peer's hello came: the replicator then widens its
    /// request window (one request at a time for JS peers).
    hychat: watch::Sender<bool>,
    /// Set by `Sessions` when another connection to the same peer wins.
    close: watch::Sender<bool>,
}

impl Replication {
    fn open(&mut self, protocol: &Protocol, discovery_key: DiscoveryKey) {
        let key = match self.ctx.shared.registry.get(&discovery_key) {
            Some((key, _)) => key.0,
            None => match self.ctx.shared.rooms.get(&discovery_key) {
                Some(room) => room.channel_key(),
                None => return,
            },
        };
        if !self.requested.insert(discovery_key) {
            return;
        }
        let open = protocol.open(key);
        let peer = self.peer;
        self.opens.push(Box::pin(async move {
            if let Err(e) = open.await {
                tracing::debug!(?peer, error = %e, "could not open a channel");
            }
        }));
    }

    /// Opens every log we hold that the peer said it holds too.
    fn open_shared(&mut self, protocol: &Protocol) {
        let wanted: Vec<DiscoveryKey> = self.peer_topics.iter().copied().collect();
        for discovery_key in wanted {
            self.open(protocol, discovery_key);
        }
    }

    fn on_hello(&mut self, protocol: &Protocol, payload: &[u8]) -> std::ops::ControlFlow<()> {
        let Some(hello) = Hello::decode(payload) else {
            tracing::info!(peer = ?self.peer, "disconnecting a peer that sent a malformed hello");
            return std::ops::ControlFlow::Break(());
        };
        let own_session = self.ctx.shared.sessions.own();
        if hello.session == own_session {
            tracing::debug!(peer = ?self.peer, "closing a connection to ourselves");
            return std::ops::ControlFlow::Break(());
        }
        if self.peer_session.is_none() {
            let dialer = if self.is_client {
                own_session
            } else {
                hello.session
            };
            let verdict = self.ctx.shared.sessions.claim_session(
                hello.session,
                self.peer,
                dialer,
                self.close.clone(),
                Instant::now(),
            );
            if verdict == SessionVerdict::Duplicate {
                tracing::debug!(peer = ?self.peer, "closing a second connection to the same peer");
                return std::ops::ControlFlow::Break(());
            }
            self.peer_session = Some(hello.session);
        }
        tracing::debug!(peer = ?self.peer, topics = hello.topics.len(), "hello");
        self.hychat.send_replace(true);
        self.peer_place = hello.place;
        self.peer_own = hello.own;
        self.update_route();
        self.peer_topics = hello.topics.into_iter().collect();
        self.open_shared(protocol);
        std::ops::ControlFlow::Continue(())
    }

    /// We wrote a block of a log to the peer: it holds the log at least that
    /// far. Best effort: replication never waits on a slow UI.
    fn on_sent(&mut self, discovery_key: DiscoveryKey, index: u64) {
        let Some(key) = self.open_channels.get(&discovery_key).copied() else {
            return;
        };
        let end = index.saturating_add(1);
        let known = self.sent_ends.entry(discovery_key).or_default();
        if end <= *known {
            return;
        }
        *known = end;
        let event = NetEvent::PeerHas {
            peer: self.peer,
            log: key,
            length: end,
        };
        let _ = self.ctx.events.try_send(event);
    }

    async fn send_hello(&mut self, channel: &Channel) {
        let hello = Hello {
            session: self.ctx.shared.sessions.own(),
            topics: self.ctx.shared.topics(),
            own: self
                .ctx
                .shared
                .rooms
                .identity()
                .map(|me| me.key.discovery_key()),
            place: Place::of(&self.ctx.network.borrow()),
        };
        if let Err(e) = channel.send(hello.to_message()).await {
            tracing::debug!(peer = ?self.peer, error = %e, "could not send the hello");
        }
        self.hello_sent = true;
    }

    /// Any open channel, log or room, for the hychat extensions: the peer
    /// reads them whichever channel carries them.
    fn any_open_channel(&self) -> Option<Channel> {
        self.log_channels
            .values()
            .find(|c| !c.closed())
            .or_else(|| self.rooms.any_channel())
            .cloned()
    }

    /// Where the peer is, from its place and ours; the UI hears of a change.
    fn update_route(&mut self) {
        let ours = Place::of(&self.ctx.network.borrow());
        let route = PeerRoute {
            address: self.peer_place.as_ref().map(Place::address),
            path: route::path(ours.as_ref(), self.peer_place.as_ref()),
            link: self.route.link,
            own_log: self
                .peer_own
                .and_then(|own| self.ctx.shared.registry.get(&own))
                .map(|(key, _)| key),
        };
        if route != self.route {
            self.route = route;
            self.announce();
        }
    }

    /// Our report changed: the peer hears our new place, and our path to
    /// it is decided again.
    async fn on_network_changed(&mut self) {
        if self.hello_sent {
            if let Some(channel) = self.any_open_channel() {
                self.send_hello(&channel).await;
            }
        }
        self.update_route();
    }

    /// Sends the keepalive on any open channel.
    async fn ping(&mut self) {
        if let Some(channel) = self.any_open_channel() {
            let _ = channel.send(ping_message()).await;
        }
    }

    /// We hold a new log or joined a room: the peer hears of it, and we open
    /// what it said it holds too.
    async fn on_new_logs(&mut self, protocol: &Protocol) {
        if self.hello_sent {
            if let Some(channel) = self.any_open_channel() {
                self.send_hello(&channel).await;
            }
        }
        self.open_shared(protocol);
    }

    async fn on_channel(&mut self, channel: Channel) {
        let discovery_key = DiscoveryKey(*channel.discovery_key());
        if !self.hello_sent {
            // Sent before the channel is handed over, so it precedes replication.
            self.send_hello(&channel).await;
        }
        let Some((key, _)) = self.ctx.shared.registry.get(&discovery_key) else {
            if self.ctx.shared.rooms.get(&discovery_key).is_some() {
                self.rooms
                    .add(channel, &self.ctx.shared.rooms, self.peer)
                    .await;
                self.ctx
                    .shared
                    .sessions
                    .channel_opened(self.peer, discovery_key);
                tracing::debug!(peer = ?self.peer, ?discovery_key, "room channel open");
            } else {
                tracing::debug!(peer = ?self.peer, ?discovery_key, "channel for a log we no longer hold");
            }
            return;
        };
        let Some(replicator) = self.ctx.shared.registry.replicator(&discovery_key) else {
            return;
        };
        self.log_channels.insert(discovery_key, channel.clone());
        let Some(detached) = replicator.attach(channel, self.peer, self.hychat.subscribe()) else {
            self.log_channels.remove(&discovery_key);
            return;
        };
        // Dropped with the connection: the replicator then lets go of the channel.
        self.channels
            .push(Box::pin(async move { (discovery_key, detached.await) }));
        tracing::debug!(peer = ?self.peer, ?key, "replication channel open");
        self.ctx
            .shared
            .sessions
            .channel_opened(self.peer, discovery_key);
        self.open_channels.insert(discovery_key, key);
        self.announce();
    }

    /// A log's channel ended. `Break` when the replicator found the peer
    /// hostile: the connection is closed and not dialed again.
    fn on_channel_end(
        &mut self,
        discovery_key: DiscoveryKey,
        detached: Detached,
    ) -> std::ops::ControlFlow<()> {
        tracing::debug!(peer = ?self.peer, ?discovery_key, ?detached, "replication channel ended");
        self.requested.remove(&discovery_key);
        self.log_channels.remove(&discovery_key);
        if self.open_channels.remove(&discovery_key).is_some() {
            self.ctx
                .shared
                .sessions
                .channel_closed(self.peer, discovery_key);
        }
        self.announce();
        match detached {
            Detached::Closed => std::ops::ControlFlow::Continue(()),
            Detached::Hostile(_) => std::ops::ControlFlow::Break(()),
        }
    }

    /// Tells the UI what this connection carries. Never waits on a UI that
    /// is slow to read its events: when the queue is full, the health check
    /// tries again.
    fn announce(&mut self) {
        let event = NetEvent::PeerConnected {
            peer: self.peer,
            logs: self.open_channels.values().copied().collect(),
            rooms: self.rooms.peer_rooms(),
            route: self.route.clone(),
        };
        self.announce_pending = self.ctx.events.try_send(event).is_err();
    }
}

/// How a connection ended, for the swarm to decide whether to dial again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// It failed under us: a protocol or replication error, a stuck
    /// download, a panic in a dependency. Worth dialing again.
    Failed,
    /// We dialed it and the peer never answered a packet
    /// (`policy::never_answered`): the path leads nowhere, and a new dial
    /// punches afresh. Worth dialing again at once.
    Unanswered,
    /// The peer or the network closed it; the peer may have left.
    Closed,
    /// We closed it on purpose: a duplicate, ourselves, unused, a hostile
    /// peer, or shutting down. Never dialed again.
    Deliberate,
}

/// A finished connection: how it ended, and the peer's hello session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ended {
    pub how: Ending,
    pub peer_session: Option<SessionId>,
}

/// Runs replication on one connection until it closes or the engine stops.
/// `dialed`: the packets that come in on a connection we dialed, looked at
/// once, `policy::NEVER_ANSWERED` after it opened.
async fn run<C>(
    connection: C,
    peer: ConnectionKey,
    topics: Vec<DiscoveryKey>,
    link: Link,
    ctx: ConnectionContext,
    close_tx: watch::Sender<bool>,
    mut dialed: Option<PacketsIn>,
) -> Ended
where
    C: hypercore_handshake::CipherTrait + 'static,
{
    let is_client = connection.is_initiator();
    let own_log = ctx.shared.rooms.identity().map(|me| me.key);
    let (observed, observations) = ObservedConnection::new(connection, own_log);
    let mut closed = observations.closed;
    let mut reports = observations.reports;
    let heard = observations.heard;
    let opened = *heard.borrow();
    let mut pings = tokio::time::interval(PING_EVERY);
    let mut new_logs = ctx.shared.registry.watch();
    let mut network = ctx.network.clone();
    let mut room_changes = ctx.shared.rooms.watch();
    let mut superseded = close_tx.subscribe();
    let mut protocol = Protocol::new(Box::new(observed));
    let mut shutdown = ctx.shutdown.clone();
    let unused = tokio::time::sleep(UNUSED_CONNECTION_TIMEOUT);
    tokio::pin!(unused);
    let answer_due = tokio::time::sleep(policy::NEVER_ANSWERED);
    tokio::pin!(answer_due);
    let mut health = tokio::time::interval(HEALTH_CHECK);
    let mut state = Replication {
        peer,
        ctx,
        requested: HashSet::new(),
        open_channels: BTreeMap::new(),
        opens: FuturesUnordered::new(),
        channels: FuturesUnordered::new(),
        hello_sent: false,
        announce_pending: false,
        route: PeerRoute {
            link,
            ..PeerRoute::default()
        },
        peer_place: None,
        peer_own: None,
        log_channels: BTreeMap::new(),
        rooms: RoomChannels::default(),
        peer_topics: HashSet::new(),
        sent_ends: Default::default(),
        is_client,
        peer_session: None,
        hychat: watch::channel(false).0,
        close: close_tx,
    };
    state.announce();
    let ending = loop {
        tokio::select! {
            event = protocol.next() => match event {
                Some(Ok(Event::Handshake(_))) => {
                    // Connections we accept carry no topics: there we only answer.
                    if is_client {
                        for topic in &topics {
                            state.open(&protocol, *topic);
                        }
                    }
                }
                Some(Ok(Event::DiscoveryKey(discovery_key))) => {
                    state.open(&protocol, DiscoveryKey(discovery_key));
                }
                Some(Ok(Event::Channel(channel))) => state.on_channel(channel).await,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::info!(?peer, error = %e, "connection protocol error");
                    break Ending::Failed;
                }
                None => break Ending::Closed,
            },
            Some(()) = state.opens.next() => {}
            Some(report) = reports.recv() => match report {
                PeerSaid::Hello(payload) => {
                    if state.on_hello(&protocol, &payload).is_break() {
                        break Ending::Deliberate;
                    }
                }
                PeerSaid::Sent { discovery_key, index } => state.on_sent(discovery_key, index),
            },
            Ok(()) = new_logs.changed() => state.on_new_logs(&protocol).await,
            Ok(()) = network.changed() => state.on_network_changed().await,
            Ok(()) = room_changes.changed() => {
                for topic in state.rooms.refresh(&state.ctx.shared.rooms, peer).await {
                    state.requested.remove(&topic);
                    state.ctx.shared.sessions.channel_closed(peer, topic);
                }
                state.announce();
            }
            message = state.rooms.next() => {
                let topic = message.0;
                match state.rooms.on_message(message, &state.ctx.shared.rooms) {
                    RoomEvent::Nothing => {}
                    RoomEvent::Changed => {
                        if !state.rooms.is_open(&topic) {
                            state.requested.remove(&topic);
                            state.ctx.shared.sessions.channel_closed(peer, topic);
                        }
                        state.announce();
                    }
                    RoomEvent::Malformed(e) => {
                        tracing::info!(?peer, error = %e, "disconnecting a peer that sent a malformed room hello");
                        break Ending::Deliberate;
                    }
                    RoomEvent::Flooding => {
                        tracing::info!(?peer, "disconnecting a peer that floods room hellos");
                        break Ending::Deliberate;
                    }
                }
            }
            Some((discovery_key, detached)) = state.channels.next() => {
                if state.on_channel_end(discovery_key, detached).is_break() {
                    break Ending::Deliberate;
                }
            }
            _ = closed.changed() => break Ending::Closed,
            _ = superseded.changed() => {
                tracing::debug!(?peer, "told to close: another connection to this peer won, or it is our own");
                break Ending::Deliberate;
            }
            _ = &mut unused, if state.open_channels.is_empty() && state.rooms.is_empty() && !state.hello_sent => {
                // Nothing shared: often the accepting half of a dial to
                // ourselves whose other half never reached us.
                tracing::debug!(?peer, "closing a connection that shares no log");
                break Ending::Deliberate;
            }
            _ = pings.tick(), if state.peer_session.is_some() => {
                // JS peers ignore it; only hychat peers (with a hello) are pinged.
                if policy::fell_silent(*heard.borrow(), Instant::now()) {
                    tracing::info!(?peer, "a peer fell silent; closing its connection");
                    break Ending::Failed;
                }
                state.ping().await;
            }
            _ = &mut answer_due, if dialed.is_some() => {
                let packets = dialed.take().map_or(0, |packets| packets.count());
                if policy::never_answered(opened, packets, Instant::now()) == Some(true) {
                    tracing::info!(?peer, "the peer never answered a packet on the path the dial opened; dialing again");
                    break Ending::Unanswered;
                }
            }
            _ = health.tick() => {
                let now = Instant::now();
                if policy::never_heard(opened, *heard.borrow(), now) {
                    tracing::info!(?peer, "the peer never got a packet through; closing the connection");
                    break Ending::Failed;
                }
                if state.announce_pending {
                    state.announce();
                }
            }
            _ = shutdown.changed() => break Ending::Deliberate,
        }
    };
    Ended {
        how: ending,
        peer_session: state.peer_session,
    }
}

/// Runs `run` in its own task, and cleans up after it however it ends
/// (compat: hypercore_handshake row):
/// hypercore_handshake 0.6.0 has `todo!()`s on some IO errors (a timed-out
/// connection panics), and that must cost one connection, not the process.
/// Sending `true` on `close` ends the connection.
pub(crate) async fn supervise<C>(
    connection: C,
    peer: ConnectionKey,
    topics: Vec<DiscoveryKey>,
    link: Link,
    ctx: ConnectionContext,
    close: watch::Sender<bool>,
    dialed: Option<PacketsIn>,
) -> Ended
where
    C: hypercore_handshake::CipherTrait + 'static,
{
    let shared = ctx.shared.clone();
    let events = ctx.events.clone();
    let replication = Paced::new(run(connection, peer, topics, link, ctx, close, dialed));
    let ended = match tokio::spawn(replication).await {
        Ok(ended) => ended,
        Err(e) => {
            if e.is_panic() {
                let cause = compat::panics::message(e.into_panic().as_ref());
                tracing::warn!(
                    ?peer,
                    %cause,
                    "a connection task panicked inside a dependency; recovered from a panic, dropping the connection"
                );
            }
            Ended {
                how: Ending::Failed,
                peer_session: None,
            }
        }
    };
    shared.sessions.connection_gone(peer);
    let _ = events.send(NetEvent::PeerDisconnected { peer }).await;
    tracing::info!(?peer, how = ?ended.how, "connection closed");
    ended
}
