//! What starting the engine takes and gives: its configuration
//! (`NetConfig`), the handle commands go in by (`NetHandle`), the channels'
//! capacities, and why it could not start (`NetError`). `net/mod.rs`
//! re-exports them with `spawn`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::domain::LogKey;
use crate::net::store::StoreError;
use crate::net::swarm::bind;
use crate::net::swarm::bootstrap::{DEFAULT_LOCAL_BOOTSTRAP, PUBLIC_BOOTSTRAP};
use crate::net::types::NetCommand;

/// The DHT socket's default address: every IPv4 interface, any free port.
/// (dht-rpc's own default is 127.0.0.1, which reaches no other machine.)
pub const DEFAULT_BIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

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
    /// Offer a blind relay to peers whose NATs cannot be punched, once
    /// this node finds itself reachable from outside (seeds do by default).
    pub offer_relay: bool,
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
            offer_relay: false,
        }
    }
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
    pub(super) commands: mpsc::Sender<NetCommand>,
    pub(super) own: LogKey,
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
