//! The network engine: the own log, followed logs, the swarm, and live
//! replication. The UI talks to it only through this module's boundary:
//! `spawn(config)` gives a `NetHandle` (commands in) and a bounded receiver of
//! `NetEvent`s (events out). Nothing here touches the UI's state.
//!
//! The folders, each answering "where does my change go":
//! - `types/`: the boundary's events, commands, network report and errors,
//!   which the rooms below the engine send too (every arrow to it points
//!   down; this file re-exports it);
//! - `engine/`: the actor that owns the store and every open log, the pure
//!   room membership it acts on, and what starting it takes and gives;
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
//! - `transport/`: hychat's own UDX and secret stream, under every DHT
//!   connection (pure state machines, and the socket driver);
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
mod transport;
pub mod types;
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
    pub use super::replication::hostile::{fuzz, FuzzPlan, FuzzReport, OUTCOMES};
    /// Handles of hychat's transport, for the transport bench.
    pub use super::transport::bench as transport;
    /// The transport's decoders, for the transport fuzz bench.
    pub use super::transport::fuzz::{transport_decoders, TransportDecoder, TransportOutcome};
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

use tokio::sync::mpsc;

pub use dht::client::records::{Found, PutReport};
pub use dht::diagnostics::dial::{dial, DialReport};
pub use dht::diagnostics::record::{public_key_of, record, RecordOp, RecordOutcome};
pub use dht::kademlia::records::RecordStats;
pub use engine::config::{
    NetConfig, NetError, NetHandle, COMMAND_CHANNEL_CAPACITY, DEFAULT_BIND, EVENT_CHANNEL_CAPACITY,
};
pub use log::delivery::NEWEST_FIRST_WINDOW;
pub use report::show_address;
pub use store::{FollowEntry, Store, StoreError};
pub use swarm::bootstrap::{
    resolve_async as resolve_bootstrap, run_bootstrap_node, run_bootstrap_node_joining,
    BootstrapNode, DEFAULT_LOCAL_BOOTSTRAP, PUBLIC_BOOTSTRAP,
};
pub use types::{
    EngineError, Link, Nat, NetCommand, NetEvent, NetworkReport, NetworkStatus, PeerPath, PeerRoom,
    PeerRoute, PunchStats, Reachability,
};

/// Starts the engine. Fails fast (before any network work) when the storage
/// directory is unusable or in use by another process.
pub async fn spawn(config: NetConfig) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    engine::spawn(config).await
}
