//! The decisions of one connection, as a pure state machine: what happened
//! on it (`ConnectionEvent`: a protocol event, the peer's hello, a channel
//! that opened or ended, a room hello, a change of what we hold or of our
//! place, a timer, a close signal) and `now` in, what to do
//! (`ConnectionEffect`) out. It decides which channels to open (the topics
//! the connection was found on, a channel the peer opened, the logs the
//! peer's hello says it holds, each once), when our hello goes out (first
//! on the first channel, again when it changes), how the peer's hello is
//! taken (malformed, ourselves, or a claim of its session), what the UI is
//! told, that only hychat peers are pinged, and why the connection ends
//! (`CloseReason`) and so how (`Ending`, for the swarm's redial). What we
//! hold and our place are read through `Ours` at the moment of a decision.
//! The health verdicts are `policy`'s; `connection/mod.rs` does the IO.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

use crate::domain::keys::{DiscoveryKey, LogKey};
use crate::domain::SessionId;
use crate::net::connection::policy;
use crate::net::connection::rooms::RoomEvent;
use crate::net::replication::Detached;
use crate::net::route::{self, Place};
use crate::net::shared::sessions::SessionVerdict;
use crate::net::types::{Link, PeerRoute};
use crate::net::wire::hello::Hello;
use crate::net::wire::room_hello::RoomHelloError;

/// What we hold under a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holding {
    /// A log, with its key.
    Log(LogKey),
    /// A room we are in, and the key its channel opens with.
    Room { channel_key: [u8; 32] },
}

/// What is ours at the moment of a decision: read, never changed.
pub(crate) trait Ours {
    /// What we hold under `topic`: a log first, else a room.
    fn holding(&self, topic: &DiscoveryKey) -> Option<Holding>;
    /// Our place on the network, once we know it.
    fn place(&self) -> Option<Place>;
}

/// A timer of the connection that went off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tick {
    /// The unused-connection timeout since the connection started; armed
    /// while `ConnectionState::unused`.
    Unused,
    /// The ping interval; armed while `ConnectionState::pings`. `heard`:
    /// when the peer was last heard from.
    Ping { heard: Instant },
    /// `policy::NEVER_ANSWERED` since a dialed connection opened; armed
    /// while `ConnectionState::awaits_answer`. `packets_in`: the UDX
    /// packets that came in on it so far.
    Answer { packets_in: usize },
    /// The health check. `heard`: when the peer was last heard from.
    Health { heard: Instant },
}

/// What happened on the connection.
#[derive(Debug)]
pub(crate) enum ConnectionEvent {
    /// The Noise handshake is through (the protocol's first event).
    Handshake,
    /// The peer opened a channel for this topic first.
    PeerOpened(DiscoveryKey),
    /// A channel is open on both sides.
    ChannelOpened(DiscoveryKey),
    /// The log's replicator took the channel (after `Attach`).
    Attached(DiscoveryKey, LogKey),
    /// The replicator let go of a log's channel.
    ChannelEnded(DiscoveryKey, Detached),
    /// The peer's hychat hello, as it came.
    Hello(Vec<u8>),
    /// What `Sessions` said to the claim of the hello's session (after
    /// `Claim`).
    Claimed {
        hello: Hello,
        verdict: SessionVerdict,
    },
    /// We wrote block `index` of a log to the peer.
    Sent {
        topic: DiscoveryKey,
        index: u64,
    },
    /// We hold another log or joined a room.
    LogsChanged,
    /// Our network report changed.
    NetworkChanged,
    /// Our rooms changed: the room channels sent our hello again, and these
    /// (rooms we left) were closed.
    RoomsRefreshed {
        closed: Vec<DiscoveryKey>,
    },
    /// A message on a room channel, as the room channels read it; `open`:
    /// whether the room's channel is still open after it.
    Room {
        topic: DiscoveryKey,
        event: RoomEvent,
        open: bool,
    },
    /// Whether the last `Announce` reached the UI's queue.
    Announced {
        delivered: bool,
    },
    /// The protocol failed.
    ProtocolFailed(String),
    /// The protocol's stream ended.
    ProtocolEnded,
    /// The stream under the protocol closed.
    StreamClosed,
    /// Another connection to the same peer won, or it is our own.
    Superseded,
    /// The engine stops.
    Shutdown,
    Tick(Tick),
}

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ConnectionEffect {
    /// Open a channel for `topic`, with this key.
    Open { topic: DiscoveryKey, key: [u8; 32] },
    /// Send our hello on the channel that just opened, before anything else
    /// goes on it.
    HelloFirst,
    /// Send our hello again (it changed) on any open channel.
    HelloAgain,
    /// Hand the channel that just opened to its log's replicator; report
    /// `Attached` when it took it.
    Attach(DiscoveryKey, LogKey),
    /// Take the channel that just opened as a room channel.
    AddRoom(DiscoveryKey),
    /// The channel that just opened is for a topic we no longer hold: drop
    /// it.
    Unheld(DiscoveryKey),
    /// Claim the hello's session for this connection (`dialer`: the session
    /// that dialed it); report `Claimed`.
    Claim { hello: Hello, dialer: SessionId },
    /// The peer's hello (listing this many topics) was taken: it is a
    /// hychat peer, so its replicators widen their request window.
    HelloTaken { topics: usize },
    /// Tell `Sessions` that a channel to the peer closed.
    ChannelClosed(DiscoveryKey),
    /// Tell the UI the peer holds the log at least this far.
    PeerHas { log: LogKey, length: u64 },
    /// Tell the UI what the connection carries (`logs`, `route` and the
    /// room channels' peer rooms); report `Announced`.
    Announce,
    /// Send the keepalive on any open channel.
    Ping,
    /// Close the connection.
    Close(CloseReason),
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

/// Why a connection closes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// The protocol failed.
    ProtocolError(String),
    /// The protocol's stream ended.
    ProtocolEnded,
    /// The stream under the protocol closed.
    StreamClosed,
    /// The peer's hello does not decode.
    MalformedHello,
    /// The peer's hello carries our own session.
    Ourselves,
    /// Another connection holds the peer's session.
    Duplicate,
    /// The peer sent a room hello that does not decode.
    MalformedRoomHello(RoomHelloError),
    /// The peer sends room hellos faster than any honest peer.
    FloodingRoomHellos,
    /// A replicator found the peer hostile.
    Hostile,
    /// Another connection to the peer won, or it is our own.
    Superseded,
    /// No channel opened on it in time.
    Unused,
    /// The peer never got a packet through (`policy::never_heard`).
    NeverHeard,
    /// A dialed peer never answered a packet (`policy::never_answered`).
    NeverAnswered,
    /// A pinged hychat peer fell silent (`policy::fell_silent`).
    FellSilent,
    /// The engine stops.
    Shutdown,
}

impl CloseReason {
    /// How a connection closed for this reason ended.
    pub(crate) fn ending(&self) -> Ending {
        match self {
            CloseReason::ProtocolError(_) | CloseReason::NeverHeard | CloseReason::FellSilent => {
                Ending::Failed
            }
            CloseReason::NeverAnswered => Ending::Unanswered,
            CloseReason::ProtocolEnded | CloseReason::StreamClosed => Ending::Closed,
            CloseReason::MalformedHello
            | CloseReason::Ourselves
            | CloseReason::Duplicate
            | CloseReason::MalformedRoomHello(_)
            | CloseReason::FloodingRoomHellos
            | CloseReason::Hostile
            | CloseReason::Superseded
            | CloseReason::Unused
            | CloseReason::Shutdown => Ending::Deliberate,
        }
    }
}

/// One connection's state.
#[derive(Debug)]
pub(crate) struct ConnectionState {
    own_session: SessionId,
    /// We dialed it.
    is_client: bool,
    /// The topics it was found on, opened once the handshake is through
    /// (a connection we accepted carries none: there we only answer).
    topics: Vec<DiscoveryKey>,
    /// When the peer was last heard from as the connection opened: a
    /// `heard` equal to it means never.
    opened: Instant,
    /// A dialed connection whose answer has not been looked at yet.
    awaits_answer: bool,
    /// Topics asked to open, until their channel ends.
    requested: HashSet<DiscoveryKey>,
    /// Log channels the replicator took, and the log each carries.
    logs: BTreeMap<DiscoveryKey, LogKey>,
    hello_sent: bool,
    /// The last `Announce` did not reach the UI's queue.
    announce_pending: bool,
    /// The peer's session, once its hello has claimed this connection.
    peer_session: Option<SessionId>,
    /// Logs and rooms the peer said (in its hello) that it holds.
    peer_topics: BTreeSet<DiscoveryKey>,
    /// The place and own log the peer's last hello gave.
    peer_place: Option<Place>,
    peer_own: Option<DiscoveryKey>,
    /// Where the peer is, as last told to the UI.
    route: PeerRoute,
    /// The highest block end written to the peer, per log.
    sent_ends: HashMap<DiscoveryKey, u64>,
}

impl ConnectionState {
    /// A connection that just opened: `opened` is when its peer was last
    /// heard from then; `dialed` when we dialed it and its answer is to be
    /// looked at.
    pub(crate) fn new(
        own_session: SessionId,
        is_client: bool,
        topics: Vec<DiscoveryKey>,
        link: Link,
        opened: Instant,
        dialed: bool,
    ) -> Self {
        Self {
            own_session,
            is_client,
            topics,
            opened,
            awaits_answer: dialed,
            requested: HashSet::new(),
            logs: BTreeMap::new(),
            hello_sent: false,
            announce_pending: false,
            peer_session: None,
            peer_topics: BTreeSet::new(),
            peer_place: None,
            peer_own: None,
            route: PeerRoute {
                link,
                ..PeerRoute::default()
            },
            sent_ends: HashMap::new(),
        }
    }

    /// The connection starts: the UI hears of it.
    pub(crate) fn start(&mut self) -> Vec<ConnectionEffect> {
        vec![ConnectionEffect::Announce]
    }

    /// No channel ever opened on it (the first carries our hello): the
    /// unused-connection timer is armed.
    pub(crate) fn unused(&self) -> bool {
        !self.hello_sent
    }

    /// Its peer is a hychat peer (JS peers ignore the keepalive): the ping
    /// timer is armed.
    pub(crate) fn pings(&self) -> bool {
        self.peer_session.is_some()
    }

    /// We dialed it and have not looked at its answer yet: the answer timer
    /// is armed.
    pub(crate) fn awaits_answer(&self) -> bool {
        self.awaits_answer
    }

    /// The peer's session, once its hello claimed this connection.
    pub(crate) fn peer_session(&self) -> Option<SessionId> {
        self.peer_session
    }

    /// The logs the connection carries, for `Announce`.
    pub(crate) fn logs(&self) -> Vec<LogKey> {
        self.logs.values().copied().collect()
    }

    /// Where the peer is, for `Announce`.
    pub(crate) fn route(&self) -> &PeerRoute {
        &self.route
    }

    /// What to do about `event`.
    pub(crate) fn on(
        &mut self,
        event: ConnectionEvent,
        ours: &impl Ours,
        now: Instant,
    ) -> Vec<ConnectionEffect> {
        use ConnectionEffect as Do;
        let mut out = Vec::new();
        match event {
            ConnectionEvent::Handshake => {
                if self.is_client {
                    for topic in self.topics.clone() {
                        self.open(topic, ours, &mut out);
                    }
                }
            }
            ConnectionEvent::PeerOpened(topic) => self.open(topic, ours, &mut out),
            ConnectionEvent::ChannelOpened(topic) => {
                if !self.hello_sent {
                    // Before the channel is handed over, so it precedes
                    // replication.
                    out.push(Do::HelloFirst);
                    self.hello_sent = true;
                }
                out.push(match ours.holding(&topic) {
                    Some(Holding::Log(log)) => Do::Attach(topic, log),
                    Some(Holding::Room { .. }) => Do::AddRoom(topic),
                    None => Do::Unheld(topic),
                });
            }
            ConnectionEvent::Attached(topic, log) => {
                self.logs.insert(topic, log);
                out.push(Do::Announce);
            }
            ConnectionEvent::ChannelEnded(topic, detached) => {
                self.requested.remove(&topic);
                if self.logs.remove(&topic).is_some() {
                    out.push(Do::ChannelClosed(topic));
                }
                out.push(Do::Announce);
                if let Detached::Hostile(_) = detached {
                    out.push(Do::Close(CloseReason::Hostile));
                }
            }
            ConnectionEvent::Hello(payload) => self.on_hello(&payload, ours, &mut out),
            ConnectionEvent::Claimed { hello, verdict } => match verdict {
                SessionVerdict::Duplicate => out.push(Do::Close(CloseReason::Duplicate)),
                SessionVerdict::Keep => {
                    self.peer_session = Some(hello.session);
                    self.take_hello(hello, ours, &mut out);
                }
            },
            ConnectionEvent::Sent { topic, index } => {
                if let Some(log) = self.logs.get(&topic).copied() {
                    let end = index.saturating_add(1);
                    let known = self.sent_ends.entry(topic).or_default();
                    if end > *known {
                        *known = end;
                        out.push(Do::PeerHas { log, length: end });
                    }
                }
            }
            ConnectionEvent::LogsChanged => {
                // The peer hears of it, and we open what it said it holds too.
                if self.hello_sent {
                    out.push(Do::HelloAgain);
                }
                self.open_shared(ours, &mut out);
            }
            ConnectionEvent::NetworkChanged => {
                // The peer hears our new place; our path to it is decided again.
                if self.hello_sent {
                    out.push(Do::HelloAgain);
                }
                self.update_route(ours, &mut out);
            }
            ConnectionEvent::RoomsRefreshed { closed } => {
                for topic in closed {
                    self.requested.remove(&topic);
                    out.push(Do::ChannelClosed(topic));
                }
                out.push(Do::Announce);
            }
            ConnectionEvent::Room { topic, event, open } => match event {
                RoomEvent::Nothing => {}
                RoomEvent::Changed => {
                    if !open {
                        self.requested.remove(&topic);
                        out.push(Do::ChannelClosed(topic));
                    }
                    out.push(Do::Announce);
                }
                RoomEvent::Malformed(e) => {
                    out.push(Do::Close(CloseReason::MalformedRoomHello(e)));
                }
                RoomEvent::Flooding => out.push(Do::Close(CloseReason::FloodingRoomHellos)),
            },
            ConnectionEvent::Announced { delivered } => self.announce_pending = !delivered,
            ConnectionEvent::ProtocolFailed(e) => {
                out.push(Do::Close(CloseReason::ProtocolError(e)));
            }
            ConnectionEvent::ProtocolEnded => out.push(Do::Close(CloseReason::ProtocolEnded)),
            ConnectionEvent::StreamClosed => out.push(Do::Close(CloseReason::StreamClosed)),
            ConnectionEvent::Superseded => out.push(Do::Close(CloseReason::Superseded)),
            ConnectionEvent::Shutdown => out.push(Do::Close(CloseReason::Shutdown)),
            ConnectionEvent::Tick(tick) => self.on_tick(tick, now, &mut out),
        }
        out
    }

    fn on_tick(&mut self, tick: Tick, now: Instant, out: &mut Vec<ConnectionEffect>) {
        use ConnectionEffect as Do;
        match tick {
            Tick::Unused => {
                if self.unused() {
                    // Nothing shared: often the accepting half of a dial to
                    // ourselves whose other half never reached us.
                    out.push(Do::Close(CloseReason::Unused));
                }
            }
            Tick::Ping { heard } => {
                if !self.pings() {
                    return;
                }
                if policy::fell_silent(heard, now) {
                    out.push(Do::Close(CloseReason::FellSilent));
                } else {
                    out.push(Do::Ping);
                }
            }
            Tick::Answer { packets_in } => {
                if !std::mem::take(&mut self.awaits_answer) {
                    return;
                }
                if policy::never_answered(self.opened, packets_in, now) == Some(true) {
                    out.push(Do::Close(CloseReason::NeverAnswered));
                }
            }
            Tick::Health { heard } => {
                if policy::never_heard(self.opened, heard, now) {
                    out.push(Do::Close(CloseReason::NeverHeard));
                } else if self.announce_pending {
                    // The UI's queue was full: try again.
                    out.push(Do::Announce);
                }
            }
        }
    }

    /// Opens `topic` once, when we hold it.
    fn open(&mut self, topic: DiscoveryKey, ours: &impl Ours, out: &mut Vec<ConnectionEffect>) {
        let key = match ours.holding(&topic) {
            Some(Holding::Log(log)) => log.0,
            Some(Holding::Room { channel_key }) => channel_key,
            None => return,
        };
        if self.requested.insert(topic) {
            out.push(ConnectionEffect::Open { topic, key });
        }
    }

    /// Opens every log and room we hold that the peer said it holds too.
    fn open_shared(&mut self, ours: &impl Ours, out: &mut Vec<ConnectionEffect>) {
        for topic in self.peer_topics.clone() {
            self.open(topic, ours, out);
        }
    }

    fn on_hello(&mut self, payload: &[u8], ours: &impl Ours, out: &mut Vec<ConnectionEffect>) {
        let Some(hello) = Hello::decode(payload) else {
            out.push(ConnectionEffect::Close(CloseReason::MalformedHello));
            return;
        };
        if hello.session == self.own_session {
            out.push(ConnectionEffect::Close(CloseReason::Ourselves));
            return;
        }
        if self.peer_session.is_some() {
            self.take_hello(hello, ours, out);
            return;
        }
        let dialer = if self.is_client {
            self.own_session
        } else {
            hello.session
        };
        out.push(ConnectionEffect::Claim { hello, dialer });
    }

    /// The peer's hello stands: it is hychat, its place and own log give
    /// its route, and we open what it holds that we hold too.
    fn take_hello(&mut self, hello: Hello, ours: &impl Ours, out: &mut Vec<ConnectionEffect>) {
        out.push(ConnectionEffect::HelloTaken {
            topics: hello.topics.len(),
        });
        self.peer_place = hello.place;
        self.peer_own = hello.own;
        self.update_route(ours, out);
        self.peer_topics = hello.topics.into_iter().collect();
        self.open_shared(ours, out);
    }

    /// Where the peer is, from its place and ours; the UI hears of a change.
    fn update_route(&mut self, ours: &impl Ours, out: &mut Vec<ConnectionEffect>) {
        let own_log = self.peer_own.and_then(|own| match ours.holding(&own) {
            Some(Holding::Log(log)) => Some(log),
            _ => None,
        });
        let route = PeerRoute {
            address: self.peer_place.as_ref().map(Place::address),
            path: route::path(ours.place().as_ref(), self.peer_place.as_ref()),
            link: self.route.link,
            own_log,
        };
        if route != self.route {
            self.route = route;
            out.push(ConnectionEffect::Announce);
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
