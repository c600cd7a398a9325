//! The network engine: the own log, followed logs, the swarm, and live
//! replication. The UI talks to it only through this module's boundary:
//! `spawn(config)` gives a `NetHandle` (commands in) and a bounded receiver of
//! `NetEvent`s (events out). Nothing here touches the UI's state.
//!
//! The folders, each answering "where does my change go":
//! - `engine/`: the actor that owns the store and every open log, and the
//!   pure room membership it acts on;
//! - `log/`: one log: opening it on disk, its message index, the pure
//!   delivery plan, and the task that delivers its blocks;
//! - `replication/`: hychat's replicator: one task per log that serves and
//!   downloads over every channel carrying it, and its pure state machine;
//! - `connection/`: one connection: its pure state machine (what to open, our
//!   hello, why it ends), the driver that does its IO (the `select!`, handing
//!   log channels to their replicators), its room channels, the health policy;
//! - `swarm/`: discovery and dialing: the bind, the bootstrap nodes, when to
//!   look topics up and to dial lost peers again (pure), one dial's typed error;
//! - `shared/`: state shared between tasks, one handle per concern;
//! - `wire/`: hychat's own protocol extensions (hello, keepalive, room
//!   hello), pure encoders and decoders;
//! - `dht/`: hychat's own DHT node, in rooms by role: encodings, the
//!   Kademlia node, what both connection roles share, the client and
//!   server roles, and the diagnostics (`hychat dial`, the probe);
//! - `compat/`: everything that exists only because a pinned crate is
//!   defective, with the inventory in `compat/mod.rs` (and the test tap,
//!   `compat/tap.rs`, built only with the `testing` feature);
//! - `lock.rs`: the one way a std mutex is taken, poisoned or not;
//! - `report.rs`, `route.rs`: the words and the path decision behind the
//!   boundary's `NetworkReport` and `PeerRoute`; `store.rs`: small JSON files;
//!   `read_only.rs`: reading a storage without its lock, beside the hychat
//!   that holds it (the own key, the follow list, a log's messages).

mod compat;
mod connection;
mod dht;
mod engine;
pub mod history;
mod lock;
mod log;
pub mod read_only;
mod replication;
mod report;
pub mod route;
mod shared;
mod store;
mod swarm;
mod wire;

pub use swarm::bind;

/// Support for tests and benches, not for the app: a tap on what the frame
/// reader sees of one log on every connection of the process (`tap_wire`,
/// see `compat/observed.rs`), and the engine's own ways of opening logs on
/// disk, for building a follower's storage without a network
/// (`tests/harness/followed.rs`). Each opener holds the storage's lock while
/// it opens, so it fails while an engine runs there; no engine may start on
/// that storage while a log it opened is still open. For the search bench:
/// writing a log's message index and searching indexes (`benches/search.rs`).
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing {
    use std::path::{Path, PathBuf};

    use hypercore::Hypercore;

    pub use super::compat::tap::{tap_wire, WireSeen, WireTap};
    /// A hand-made connection to a topic's peer, over hychat's DHT client.
    pub use super::dht::diagnostics::topic_dial::{dial_topic, TopicDial};
    /// The DHT's decoders, for the DHT fuzz bench.
    pub use super::dht::encoding::fuzz::{dht_decoders, DhtDecoder, DhtOutcome};
    use super::history::{SearchRequest, SearchResults};
    /// Hostile peers against one log's replication, for the fuzz bench.
    pub use super::replication::hostile::{fuzz, FuzzReport, OUTCOMES};
    use super::{log, NetError, Store, StoreError};
    /// What must hold of every decoded message, for the replication fuzz
    /// bench: no control or direction character, every field in its limit.
    pub use crate::domain::message::check::sanitized;
    use crate::domain::{ChatMessage, LogKey};

    /// The own log in `storage`, opened as the engine opens it at start (its
    /// copy after a clean close, otherwise rebuilt from the journal). Never
    /// append to it: the journal would not hold the blocks. `close_own_log`
    /// marks it clean again, as the engine does when it stops.
    pub async fn open_own_log(storage: &Path) -> Result<Hypercore, NetError> {
        let store = Store::open(storage)?;
        let dir = store.own_dir();
        match log::own::open_own(&dir).await {
            Ok((core, _journal)) => Ok(core),
            Err(e) => Err(NetError::OpenLog {
                path: dir,
                reason: e.to_string(),
            }),
        }
    }

    /// Marks the own log opened by `open_own_log` clean, so the next start
    /// reopens its copy instead of rebuilding it.
    pub fn close_own_log(storage: &Path, core: &Hypercore) -> Result<(), NetError> {
        let store = Store::open(storage)?;
        log::own::close_clean(&store.own_dir(), core).map_err(|source| {
            NetError::Store(StoreError::Unwritable {
                path: store.own_dir(),
                source,
            })
        })
    }

    /// Writes `messages` as the message index of one log in `dir`, seqs
    /// from 0 in order, through the index a log's task writes (for the
    /// search bench). Returns how many were written.
    pub fn write_index(
        dir: &Path,
        messages: impl IntoIterator<Item = ChatMessage>,
    ) -> std::io::Result<u64> {
        let (mut index, _) = log::index::LogIndex::open(dir)?;
        let now = time::OffsetDateTime::now_utc();
        let mut seq = 0;
        for message in messages {
            index.record(seq, Some(&message), now)?;
            seq += 1;
            if seq % 1024 == 0 {
                index.flush()?;
            }
        }
        index.flush()?;
        Ok(seq)
    }

    /// Searches the message indexes in `dirs` (each with its log's key) as
    /// the engine answers `NetCommand::Search`.
    pub fn search(dirs: &[(LogKey, PathBuf)], request: &SearchRequest) -> SearchResults {
        log::search::search(dirs, request)
    }

    /// The copy of the followed log `key` in `storage`, opened (created when
    /// missing) the way the engine opens a followed log at start.
    pub async fn open_followed_log(storage: &Path, key: LogKey) -> Result<Hypercore, NetError> {
        let store = Store::open(storage)?;
        let dir = store.log_dir(&key);
        log::open_clone(&dir, key)
            .await
            .map_err(|e| NetError::OpenLog {
                path: dir,
                reason: e.to_string(),
            })
    }
}

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::domain::{
    ChatMessage, ConnectionKey, LogKey, Member, ReadMark, RoomEntry, RoomName, Seq,
};

pub use dht::diagnostics::dial::{dial, DialReport};
pub use engine::error::EngineError;
pub use report::show_address;
pub use store::{FollowEntry, Store, StoreError};
pub use swarm::bootstrap::{
    resolve_async as resolve_bootstrap, run_bootstrap_node, run_bootstrap_node_joining,
    BootstrapNode, DEFAULT_LOCAL_BOOTSTRAP, PUBLIC_BOOTSTRAP,
};

/// The DHT socket's default address: every IPv4 interface, any free port.
/// (dht-rpc's own default is 127.0.0.1, which reaches no other machine.)
pub const DEFAULT_BIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

/// How many of the newest messages a new follower fetches and reports first.
pub const NEWEST_FIRST_WINDOW: u64 = 50;

/// Capacity of the event channel towards the UI.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;
/// Capacity of the command channel from the UI.
pub const COMMAND_CHANNEL_CAPACITY: usize = 64;

/// Everything the engine needs to start.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Directory holding every log, the follow list and the lock file.
    pub storage: PathBuf,
    /// Nickname written into new messages; `None` keeps the stored one.
    pub nickname: Option<String>,
    /// DHT bootstrap addresses as `host:port`. Unresolvable names are skipped.
    pub bootstrap: Vec<String>,
    /// Host the local bootstrap node when `DEFAULT_LOCAL_BOOTSTRAP` is listed and free.
    pub host_local_bootstrap: bool,
    /// Where the DHT socket (which also carries every connection) binds:
    /// every IPv4 interface and a free port unless `--bind` says otherwise.
    pub bind: SocketAddr,
    /// Join the swarm at all. Off for commands that only touch local files.
    pub networking: bool,
    /// How often discovery is refreshed while a log has no peer.
    pub refresh_interval: Duration,
    /// Send everything the logs' indexes hold as `Appended` at start, for
    /// commands that print or count whole logs. The chat turns it off and
    /// reads history a page at a time (`NetCommand::LoadHistory`).
    pub replay_history: bool,
}

impl NetConfig {
    /// Defaults for a storage directory: public + local bootstrap, networking on.
    pub fn new(storage: PathBuf) -> Self {
        let mut bootstrap: Vec<String> = PUBLIC_BOOTSTRAP.iter().map(|s| s.to_string()).collect();
        bootstrap.push(DEFAULT_LOCAL_BOOTSTRAP.to_string());
        Self {
            storage,
            nickname: None,
            bootstrap,
            host_local_bootstrap: true,
            bind: DEFAULT_BIND,
            networking: true,
            refresh_interval: Duration::from_secs(3),
            replay_history: true,
        }
    }
}

/// What the network layer tells the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum NetEvent {
    /// Sent once, first: who we are and what we follow.
    Ready {
        own: LogKey,
        nickname: String,
        first_run: bool,
        follows: Vec<FollowEntry>,
        /// Joined rooms, with the members each remembers.
        rooms: Vec<RoomEntry>,
        /// Logs whose messages the user hid with `/mute`.
        muted: Vec<LogKey>,
        /// What was read of each channel when hychat last stopped.
        read_marks: Vec<ReadMark>,
    },
    /// A block of some log, decoded and sanitized. History and live alike.
    Appended {
        log: LogKey,
        seq: Seq,
        message: ChatMessage,
    },
    /// A peer connected, or the set of logs it replicates with us changed.
    PeerConnected {
        peer: ConnectionKey,
        logs: Vec<LogKey>,
        /// The rooms this peer introduced itself in, with its log.
        rooms: Vec<PeerRoom>,
        /// Where the peer is and how we reach it, as far as it told us.
        route: PeerRoute,
    },
    PeerDisconnected {
        peer: ConnectionKey,
    },
    /// Catch-up progress of a followed log: blocks delivered out of the signed length.
    LogProgress {
        log: LogKey,
        downloaded: u64,
        length: u64,
    },
    /// A peer holds blocks of `log` up to `length` (the highest it has
    /// announced; it downloads in order, so in practice all below it too).
    PeerHas {
        peer: ConnectionKey,
        log: LogKey,
        length: u64,
    },
    NetworkStatus(NetworkStatus),
    /// What this node learned of its own place on the network (sent when it changes).
    NetworkReport(NetworkReport),
    Followed(FollowEntry),
    Unfollowed {
        log: LogKey,
    },
    NickChanged {
        nickname: String,
    },
    /// A room was joined (by command or `--room`); its remembered members come along.
    RoomJoined(RoomEntry),
    RoomLeft {
        room: RoomName,
    },
    /// A member was introduced in a room, or changed its nickname there.
    RoomMember {
        room: RoomName,
        member: Member,
    },
    Muted {
        log: LogKey,
    },
    Unmuted {
        log: LogKey,
    },
    /// A command failed; its `Display` is the sentence for the user.
    Error(EngineError),
    /// A page of history, answering `NetCommand::LoadHistory`.
    History(history::HistoryPage),
    /// Where a search found its text, answering `NetCommand::Search`.
    SearchResults(history::SearchResults),
}

/// A room a connected peer introduced itself in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRoom {
    pub room: RoomName,
    /// The log the peer says is its own.
    pub member: LogKey,
}

/// This node's place on the network, as far as the DHT nodes tell us.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkReport {
    /// The network socket's bound address (`0.0.0.0:PORT` by default).
    pub bound: Option<SocketAddr>,
    /// This host's own address on the route to the DHT nodes.
    pub local_ip: Option<IpAddr>,
    /// Our address as DHT nodes see it (None until one answered).
    pub public_ip: Option<IpAddr>,
    pub nat: Nat,
    pub reachable: Reachability,
    /// How this node's connections were made so far.
    pub punches: PunchStats,
}

/// Tallies of the connections this node made or took, by how their packets
/// got through, and the dials whose holepunch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PunchStats {
    pub direct: u32,
    pub punched: u32,
    pub failed: u32,
}

/// How a connection's packets get through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Link {
    /// Not known (a connection made before this was recorded).
    #[default]
    Unknown,
    /// Straight to the peer's address: no NAT had to be opened.
    Direct,
    /// Through holes punched in the NATs, with this strategy ("fast",
    /// "consistent", "random probes", "birthday sockets").
    Punched(&'static str),
}

impl Link {
    pub fn label(&self) -> Option<String> {
        match self {
            Link::Unknown => None,
            Link::Direct => Some("direct".into()),
            Link::Punched(how) => Some(format!("punched ({how})")),
        }
    }
}

/// What stands between this host and the DHT nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Nat {
    /// Not known yet (no DHT node answered, or only one did).
    #[default]
    Unknown,
    /// None: the DHT nodes see this host's own address.
    None,
    /// A NAT that keeps one public port per socket ("cone", port-preserving):
    /// peers behind such NATs can reach each other.
    Consistent,
    /// A NAT that picks a new public port per destination ("symmetric"):
    /// direct connections fail; a public seed relays.
    Random,
}

/// Whether a host outside can reach this node without our sending first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reachability {
    #[default]
    Unknown,
    /// A DHT node's reply to another of our ports got in.
    Reachable,
    /// It did not: a NAT or firewall drops what we did not ask for.
    Unreachable,
}

/// How a connection reaches its peer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerRoute {
    /// The peer's address as it reports it: its public IP when it is known
    /// (with its port when no NAT rewrites it), else its local address.
    pub address: Option<SocketAddr>,
    pub path: PeerPath,
    /// How its packets get through.
    pub link: Link,
    /// The log the peer writes, when it said so. Any other log the connection
    /// carries, the peer relays (it is a seed or a room member holding it).
    pub own_log: Option<LogKey>,
}

/// The network path of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerPath {
    /// The peer did not say where it is (a JS peer, or not yet).
    #[default]
    Unknown,
    /// Another process on this machine.
    ThisMachine,
    /// The same local network: no NAT between us.
    Lan,
    /// Across the internet (through our NAT, theirs, or none).
    Internet,
}

/// The DHT as the user should understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkStatus {
    /// Networking is off (local-only commands).
    Disabled,
    Bootstrapping,
    Online {
        nodes: u32,
    },
    Offline {
        reason: String,
        retry_in: Duration,
    },
}

/// What the UI asks of the network layer.
#[derive(Debug, Clone, PartialEq)]
pub enum NetCommand {
    Append {
        text: String,
        /// The room the message is written in; `None` for the home view.
        room: Option<RoomName>,
    },
    Follow {
        key: LogKey,
        name: Option<String>,
    },
    Unfollow {
        key: LogKey,
    },
    SetNick {
        nickname: String,
    },
    /// Join a room (idempotent): meet its members on the room's topic.
    JoinRoom {
        room: RoomName,
    },
    /// Leave a room: stop meeting its members; logs nobody else needs close.
    LeaveRoom {
        room: RoomName,
    },
    /// Hide a log's messages everywhere, persistently.
    Mute {
        key: LogKey,
    },
    Unmute {
        key: LogKey,
    },
    /// Read a page of a channel's history; answered by `NetEvent::History`.
    LoadHistory(history::HistoryRequest),
    /// Search a channel's whole history; answered by `NetEvent::SearchResults`.
    Search(history::SearchRequest),
    /// Remember what was read of each channel (`read.json`), for the next start.
    SaveReadMarks(Vec<ReadMark>),
    /// Flush and close every log, then end the event stream.
    Shutdown,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not open the log in {path}: {reason}")]
    OpenLog { path: PathBuf, reason: String },
    #[error(transparent)]
    Bind(#[from] bind::BindError),
}

/// The sending half of the engine's command channel.
#[derive(Debug, Clone)]
pub struct NetHandle {
    commands: mpsc::Sender<NetCommand>,
    own: LogKey,
}

impl NetHandle {
    /// Queues a command without waiting; false when the queue is full or closed.
    pub fn try_send(&self, command: NetCommand) -> bool {
        self.commands.try_send(command).is_ok()
    }

    /// Queues a command, waiting for room.
    pub async fn send(&self, command: NetCommand) -> bool {
        self.commands.send(command).await.is_ok()
    }

    /// The key of our own log.
    pub fn own_key(&self) -> LogKey {
        self.own
    }
}

/// Starts the engine. Fails fast (before any network work) when the storage
/// directory is unusable or in use by another process.
pub async fn spawn(config: NetConfig) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    engine::spawn(config).await
}
