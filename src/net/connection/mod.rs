//! One swarm connection: the driver around its state machine (`state`).
//! It owns the IO: one `Protocol` over the observed connection, one channel
//! per log both sides share, each handed to its log's replicator
//! (`ReplicatorHandle::attach`) until the connection ends, the room channels
//! (`rooms`), the timers, and the one `select!` over them; it turns what
//! happens into `ConnectionEvent`s and carries out the `ConnectionEffect`s
//! that `ConnectionState` returns. Follows the rules of
//! docs/architecture.md §2: open a log only when the peer wants it (the
//! topic the connection was found on, a channel the peer opened first, or a
//! log the peer's hychat hello says it holds), never use
//! `Replicator::with_connection*`, and re-poll channel futures so a local
//! append goes out at once. `supervise` runs each connection in its own
//! task and tells the swarm how it ended.

pub(crate) mod policy;
pub(crate) mod rooms;
pub(crate) mod state;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::ops::ControlFlow;
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
use crate::net::connection::rooms::RoomChannels;
use crate::net::connection::state::{
    CloseReason, ConnectionEffect, ConnectionEvent, ConnectionState, Holding, Ours, Tick,
};
use crate::net::dht::connection::stream::PacketsIn;
use crate::net::replication::Detached;
use crate::net::route::Place;
use crate::net::shared::Shared;
use crate::net::types::{Link, NetEvent, NetworkReport};
use crate::net::wire::hello::Hello;
use crate::net::wire::keepalive::ping_message;

pub(crate) use state::Ending;

/// What every connection task shares with the engine.
#[derive(Clone)]
pub(crate) struct ConnectionContext {
    pub shared: Shared,
    pub events: mpsc::Sender<NetEvent>,
    pub shutdown: watch::Receiver<bool>,
    /// This node's place on the network, for the hello.
    pub network: watch::Receiver<NetworkReport>,
}

impl Ours for ConnectionContext {
    fn holding(&self, topic: &DiscoveryKey) -> Option<Holding> {
        if let Some((log, _)) = self.shared.registry.get(topic) {
            return Some(Holding::Log(log));
        }
        let room = self.shared.rooms.get(topic)?;
        Some(Holding::Room {
            channel_key: room.channel_key(),
        })
    }

    fn place(&self) -> Option<Place> {
        Place::of(&self.network.borrow())
    }
}

/// How often a connection checks its health (`policy::never_heard`) and
/// tells the UI again what it carries when its queue had no room.
const HEALTH_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// A hychat peer is pinged this often, so that it hears from us while the
/// chat is quiet (`policy::SILENT_PEER` says when it has gone).
const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// A connection on which no channel opened by then is closed
/// (`ConnectionState::unused`).
const UNUSED_CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

type ChannelFuture = Pin<Box<dyn Future<Output = (DiscoveryKey, Detached)> + Send>>;
type OpenFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One connection's IO: what carries out its state machine's effects.
struct ConnectionDriver {
    peer: ConnectionKey,
    ctx: ConnectionContext,
    state: ConnectionState,
    opens: FuturesUnordered<OpenFuture>,
    /// Each log channel's end, as its replicator lets go of it.
    channels: FuturesUnordered<ChannelFuture>,
    /// Every open log channel, to send a changed hello on.
    log_channels: BTreeMap<DiscoveryKey, Channel>,
    rooms: RoomChannels,
    /// Set by `Sessions` when another connection to the same peer wins.
    close: watch::Sender<bool>,
}

impl ConnectionDriver {
    /// Hands `event` to the state machine and carries out what it says;
    /// `Break` with the reason when the connection is to close. `channel`:
    /// the channel that just opened, with `ChannelOpened`.
    async fn handle(
        &mut self,
        event: ConnectionEvent,
        channel: Option<Channel>,
        protocol: &Protocol,
    ) -> ControlFlow<CloseReason> {
        let effects = self.state.on(event, &self.ctx, Instant::now());
        self.carry_out(effects, channel, protocol).await
    }

    /// Carries out `effects` in order. An effect whose outcome the state
    /// machine hears (`Attach`, `Claim`) is followed at once by what it
    /// says to that.
    async fn carry_out(
        &mut self,
        effects: Vec<ConnectionEffect>,
        mut channel: Option<Channel>,
        protocol: &Protocol,
    ) -> ControlFlow<CloseReason> {
        let mut queue = VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            let outcome = match effect {
                ConnectionEffect::Open { key, .. } => {
                    let open = protocol.open(key);
                    let peer = self.peer;
                    self.opens.push(Box::pin(async move {
                        if let Err(e) = open.await {
                            tracing::debug!(?peer, error = %e, "could not open a channel");
                        }
                    }));
                    None
                }
                ConnectionEffect::HelloFirst => {
                    if let Some(channel) = &channel {
                        self.send_hello(channel).await;
                    }
                    None
                }
                ConnectionEffect::HelloAgain => {
                    if let Some(channel) = self.any_open_channel() {
                        self.send_hello(&channel).await;
                    }
                    None
                }
                ConnectionEffect::Attach(topic, log) => channel
                    .take()
                    .and_then(|channel| self.attach(channel, topic, log))
                    .map(|()| ConnectionEvent::Attached(topic, log)),
                ConnectionEffect::AddRoom(topic) => {
                    if let Some(channel) = channel.take() {
                        self.rooms
                            .add(channel, &self.ctx.shared.rooms, self.peer)
                            .await;
                        self.ctx.shared.sessions.channel_opened(self.peer, topic);
                        tracing::debug!(peer = ?self.peer, discovery_key = ?topic, "room channel open");
                    }
                    None
                }
                ConnectionEffect::Unheld(topic) => {
                    tracing::debug!(peer = ?self.peer, discovery_key = ?topic, "channel for a log we no longer hold");
                    None
                }
                ConnectionEffect::Claim { hello, dialer } => {
                    let verdict = self.ctx.shared.sessions.claim_session(
                        hello.session,
                        self.peer,
                        dialer,
                        self.close.clone(),
                        Instant::now(),
                    );
                    Some(ConnectionEvent::Claimed { hello, verdict })
                }
                ConnectionEffect::HelloTaken { topics } => {
                    tracing::debug!(peer = ?self.peer, topics, "hello");
                    None
                }
                ConnectionEffect::ChannelClosed(topic) => {
                    self.ctx.shared.sessions.channel_closed(self.peer, topic);
                    None
                }
                ConnectionEffect::PeerHas { log, length } => {
                    // Best effort: replication never waits on a slow UI.
                    let event = NetEvent::PeerHas {
                        peer: self.peer,
                        log,
                        length,
                    };
                    let _ = self.ctx.events.try_send(event);
                    None
                }
                ConnectionEffect::Announce => Some(ConnectionEvent::Announced {
                    delivered: self.announce(),
                }),
                ConnectionEffect::Ping => {
                    if let Some(channel) = self.any_open_channel() {
                        let _ = channel.send(ping_message()).await;
                    }
                    None
                }
                ConnectionEffect::Close(reason) => return ControlFlow::Break(reason),
            };
            if let Some(event) = outcome {
                let next = self.state.on(event, &self.ctx, Instant::now());
                for effect in next.into_iter().rev() {
                    queue.push_front(effect);
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// Hands a log's channel to its replicator; `None` when it is gone or
    /// does not take it.
    fn attach(&mut self, channel: Channel, topic: DiscoveryKey, log: LogKey) -> Option<()> {
        let replicator = self.ctx.shared.registry.replicator(&topic)?;
        self.log_channels.insert(topic, channel.clone());
        let Some(detached) = replicator.attach(channel, self.peer) else {
            self.log_channels.remove(&topic);
            return None;
        };
        // Dropped with the connection: the replicator then lets go of the channel.
        self.channels
            .push(Box::pin(async move { (topic, detached.await) }));
        tracing::debug!(peer = ?self.peer, key = ?log, "replication channel open");
        self.ctx.shared.sessions.channel_opened(self.peer, topic);
        Some(())
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

    /// Tells the UI what this connection carries; false when its queue was
    /// full. Never waits on a UI that is slow to read its events: the
    /// health check tries again.
    fn announce(&self) -> bool {
        let event = NetEvent::PeerConnected {
            peer: self.peer,
            logs: self.state.logs(),
            rooms: self.rooms.peer_rooms(),
            route: self.state.route().clone(),
        };
        self.ctx.events.try_send(event).is_ok()
    }
}

/// Says why a connection closes, where the reason is worth a line.
fn log_close(peer: ConnectionKey, reason: &CloseReason) {
    match reason {
        CloseReason::ProtocolError(e) => {
            tracing::info!(?peer, error = %e, "connection protocol error");
        }
        CloseReason::MalformedHello => {
            tracing::info!(?peer, "disconnecting a peer that sent a malformed hello");
        }
        CloseReason::Ourselves => tracing::debug!(?peer, "closing a connection to ourselves"),
        CloseReason::Duplicate => {
            tracing::debug!(?peer, "closing a second connection to the same peer");
        }
        CloseReason::MalformedRoomHello(e) => {
            tracing::info!(?peer, error = %e, "disconnecting a peer that sent a malformed room hello");
        }
        CloseReason::FloodingRoomHellos => {
            tracing::info!(?peer, "disconnecting a peer that floods room hellos");
        }
        CloseReason::Superseded => {
            tracing::debug!(
                ?peer,
                "told to close: another connection to this peer won, or it is our own"
            );
        }
        CloseReason::Unused => tracing::debug!(?peer, "closing a connection that shares no log"),
        CloseReason::FellSilent => {
            tracing::info!(?peer, "a peer fell silent; closing its connection");
        }
        CloseReason::NeverAnswered => {
            tracing::info!(
                ?peer,
                "the peer never answered a packet on the path the dial opened; dialing again"
            );
        }
        CloseReason::NeverHeard => {
            tracing::info!(
                ?peer,
                "the peer never got a packet through; closing the connection"
            );
        }
        // The replicator said why; the others need no line.
        CloseReason::Hostile
        | CloseReason::ProtocolEnded
        | CloseReason::StreamClosed
        | CloseReason::Shutdown => {}
    }
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
    // compat: hypercore-protocol row (the stream's end and the peer's hellos
    // come from the observed connection, not from `Protocol`)
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
    let state = ConnectionState::new(
        ctx.shared.sessions.own(),
        is_client,
        topics,
        link,
        opened,
        dialed.is_some(),
    );
    let mut driver = ConnectionDriver {
        peer,
        ctx,
        state,
        opens: FuturesUnordered::new(),
        channels: FuturesUnordered::new(),
        log_channels: BTreeMap::new(),
        rooms: RoomChannels::default(),
        close: close_tx,
    };
    let start = driver.state.start();
    let mut outcome = driver.carry_out(start, None, &protocol).await;
    let reason = loop {
        if let ControlFlow::Break(reason) = outcome {
            break reason;
        }
        let (event, channel) = tokio::select! {
            event = protocol.next() => match event {
                Some(Ok(Event::Handshake(_))) => (ConnectionEvent::Handshake, None),
                Some(Ok(Event::DiscoveryKey(discovery_key))) => {
                    (ConnectionEvent::PeerOpened(DiscoveryKey(discovery_key)), None)
                }
                Some(Ok(Event::Channel(channel))) => {
                    let discovery_key = DiscoveryKey(*channel.discovery_key());
                    (ConnectionEvent::ChannelOpened(discovery_key), Some(channel))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => (ConnectionEvent::ProtocolFailed(e.to_string()), None),
                None => (ConnectionEvent::ProtocolEnded, None),
            },
            Some(()) = driver.opens.next() => continue,
            Some(report) = reports.recv() => match report {
                PeerSaid::Hello(payload) => (ConnectionEvent::Hello(payload), None),
                PeerSaid::Sent { discovery_key, index } => {
                    (ConnectionEvent::Sent { topic: discovery_key, index }, None)
                }
            },
            Ok(()) = new_logs.changed() => (ConnectionEvent::LogsChanged, None),
            Ok(()) = network.changed() => (ConnectionEvent::NetworkChanged, None),
            Ok(()) = room_changes.changed() => {
                let closed = driver.rooms.refresh(&driver.ctx.shared.rooms, peer).await;
                (ConnectionEvent::RoomsRefreshed { closed }, None)
            }
            message = driver.rooms.next() => {
                let topic = message.0;
                let event = driver.rooms.on_message(message, &driver.ctx.shared.rooms);
                let open = driver.rooms.is_open(&topic);
                (ConnectionEvent::Room { topic, event, open }, None)
            }
            Some((discovery_key, detached)) = driver.channels.next() => {
                tracing::debug!(?peer, ?discovery_key, ?detached, "replication channel ended");
                driver.log_channels.remove(&discovery_key);
                (ConnectionEvent::ChannelEnded(discovery_key, detached), None)
            }
            _ = closed.changed() => (ConnectionEvent::StreamClosed, None),
            _ = superseded.changed() => (ConnectionEvent::Superseded, None),
            _ = &mut unused, if driver.state.unused() => {
                (ConnectionEvent::Tick(Tick::Unused), None)
            }
            _ = pings.tick(), if driver.state.pings() => {
                (ConnectionEvent::Tick(Tick::Ping { heard: *heard.borrow() }), None)
            }
            _ = &mut answer_due, if driver.state.awaits_answer() => {
                let packets_in = dialed.take().map_or(0, |packets| packets.count());
                (ConnectionEvent::Tick(Tick::Answer { packets_in }), None)
            }
            _ = health.tick() => (ConnectionEvent::Tick(Tick::Health { heard: *heard.borrow() }), None),
            _ = shutdown.changed() => (ConnectionEvent::Shutdown, None),
        };
        outcome = driver.handle(event, channel, &protocol).await;
    };
    log_close(peer, &reason);
    Ended {
        how: reason.ending(),
        peer_session: driver.state.peer_session(),
    }
}

/// Runs `run` in its own task, and cleans up after it however it ends: a
/// panic inside hypercore-protocol must cost one connection, not the
/// process. Sending `true` on `close` ends the connection.
// compat: hypercore-protocol row (a panic inside `Protocol`)
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
    let replication = run(connection, peer, topics, link, ctx, close, dialed);
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
