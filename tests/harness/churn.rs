//! A crowd that joins a room and leaves it again, round after round, for
//! `tests/engine/churn.rs` and `benches/churn.rs`: `PEERS` in-process
//! engines (`node::Node`), each with its own storage kept across rounds, so
//! every round brings back the same members (whoever stays in the room
//! holds the logs of the members it met, by design; meeting them again
//! adds nothing to hold). In a round each peer starts, joins the room,
//! says one line (`said`), and keeps draining its events until it is told
//! to leave; then it leaves the way the round says (`Leaving`) and its
//! engine stops. Whoever watches the room (an observer node, a TUI) waits
//! for the lines and for the peers to be gone; nothing here waits on the
//! watcher. `OwnRuntime` puts what should not share the crowd's runtime
//! (a bootstrap node, an observer whose tasks are counted) on one of its
//! own.

use std::collections::HashSet;
use std::net::SocketAddr;

use futures::future::join_all;
use hychat::domain::{LogKey, RoomName};
use hychat::net::{BootstrapNode, NetCommand, NetEvent};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::node::{bootstrap_node, Node};

/// How many peers come and go in each round.
pub const PEERS: usize = 20;

/// How a peer leaves at the end of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    /// `LeaveRoom` (waiting for `RoomLeft`), then `Shutdown`.
    LeaveRoomThenShutdown,
    /// `Shutdown` alone: the process goes away while still in the room.
    Shutdown,
}

impl Leaving {
    /// Rounds alternate between the two, starting with `LeaveRoom`.
    pub fn in_round(round: usize) -> Self {
        if round.is_multiple_of(2) {
            Leaving::LeaveRoomThenShutdown
        } else {
            Leaving::Shutdown
        }
    }
}

/// The line peer `peer` says in round `round` (no line is the start of
/// another).
pub fn said(round: usize, peer: usize) -> String {
    format!("churn r{round} p{peer:02}")
}

/// The peers' storage between rounds.
pub struct Crowd {
    bootstrap: SocketAddr,
    dirs: Vec<TempDir>,
}

/// The peers of one round, in the room until `leave`.
pub struct InRoom {
    peers: Vec<Present>,
}

/// A peer in the room: how to tell it to leave, and its task, which ends
/// with its storage and what it saw.
type Present = (oneshot::Sender<Leaving>, JoinHandle<(TempDir, PeerRound)>);

/// What one peer saw of its round, to tell why a watcher missed it.
#[derive(Debug, Clone)]
pub struct PeerRound {
    pub key: LogKey,
    /// Its line is in its own log.
    pub said: bool,
    /// Room members it was introduced to.
    pub met: usize,
    /// Connections it had.
    pub connections: usize,
}

impl Crowd {
    pub fn new(bootstrap: SocketAddr) -> Self {
        let dirs = (0..PEERS).map(|_| tempfile::tempdir().unwrap()).collect();
        Self { bootstrap, dirs }
    }

    /// Starts every peer on its storage; each joins `room` and says
    /// `said(round, peer)` in it.
    pub async fn arrive(&mut self, round: usize, room: &RoomName) -> InRoom {
        let bootstrap = self.bootstrap;
        let nodes = join_all(
            self.dirs
                .drain(..)
                .map(|dir| Node::start_in(dir, bootstrap)),
        )
        .await;
        let peers = nodes
            .into_iter()
            .enumerate()
            .map(|(peer, node)| {
                let (leave, told) = oneshot::channel();
                let room = room.clone();
                let task = tokio::spawn(be_there(node, room, said(round, peer), told));
                (leave, task)
            })
            .collect();
        InRoom { peers }
    }

    /// Tells every peer to leave `how`, and waits until each engine has
    /// stopped (each step bounded by `node::WAIT`). Returns what each peer
    /// saw, in peer order.
    pub async fn leave(&mut self, in_room: InRoom, how: Leaving) -> Vec<PeerRound> {
        let tasks: Vec<_> = in_room
            .peers
            .into_iter()
            .map(|(leave, task)| {
                let _ = leave.send(how);
                task
            })
            .collect();
        let mut rounds = Vec::new();
        for stopped in join_all(tasks).await {
            let (dir, round) = stopped.expect("a peer's task panicked");
            self.dirs.push(dir);
            rounds.push(round);
        }
        rounds
    }
}

/// One peer's round: join, say, drain events until told to leave, leave.
async fn be_there(
    mut node: Node,
    room: RoomName,
    line: String,
    told: oneshot::Receiver<Leaving>,
) -> (TempDir, PeerRound) {
    node.send(NetCommand::JoinRoom { room: room.clone() }).await;
    node.send(NetCommand::Append {
        text: line.clone(),
        room: Some(room.clone()),
    })
    .await;
    tokio::pin!(told);
    let own = node.key;
    let mut said = false;
    let mut met = HashSet::new();
    let mut connections = HashSet::new();
    // The engine waits on a full event queue: keep reading it.
    let how = loop {
        tokio::select! {
            how = &mut told => break how.unwrap_or(Leaving::Shutdown),
            event = node.events.recv() => match event {
                Some(NetEvent::Appended { log, message, .. }) if log == own => {
                    said |= message.text == line;
                }
                Some(NetEvent::RoomMember { member, .. }) => {
                    met.insert(member.key);
                }
                Some(NetEvent::PeerConnected { peer, .. }) => {
                    connections.insert(peer);
                }
                Some(_) => {}
                None => panic!("a peer's engine stopped in the room"),
            }
        }
    };
    let round = PeerRound {
        key: own,
        said,
        met: met.len(),
        connections: connections.len(),
    };
    if how == Leaving::LeaveRoomThenShutdown {
        node.send(NetCommand::LeaveRoom { room: room.clone() })
            .await;
        node.wait_for("RoomLeft", |e| match e {
            NetEvent::RoomLeft { room: left } if *left == room => Some(()),
            _ => None,
        })
        .await;
        node.seen.clear();
    }
    (node.shutdown().await, round)
}

/// A runtime of one worker thread, shut down without blocking when
/// dropped (a runtime may not be dropped inside another one).
pub struct OwnRuntime(Option<Runtime>);

impl OwnRuntime {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("build a runtime");
        Self(Some(runtime))
    }

    pub fn get(&self) -> &Runtime {
        self.0.as_ref().expect("a runtime until dropped")
    }

    pub fn alive_tasks(&self) -> usize {
        self.get().metrics().num_alive_tasks()
    }

    /// A loopback bootstrap node on this runtime: the bootstrap node
    /// answers the whole crowd, and on a runtime of its own busy peers do
    /// not slow its answers. Drop it before the runtime.
    pub async fn bootstrap_node(&self) -> BootstrapNode {
        self.get()
            .spawn(bootstrap_node())
            .await
            .expect("start the bootstrap node")
    }
}

impl Default for OwnRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
