//! hychat's replicator (docs/architecture.md §2, "Replication"): one task
//! per held log, the only place that applies proofs to it, serving and
//! downloading over every channel that carries it. A connection hands each
//! log channel it opens to the log's task with `ReplicatorHandle::attach`
//! and hears back when the task is done with it. It replaces the crate's
//! `attach_channel`, whose replicator keeps one request in flight and drops
//! messages (compat: hypercore row).
//!
//! `ranges` (what a peer holds), `checks` (what a request or a proof must
//! look like) and `state` (the protocol as a pure state machine) decide;
//! `driver` does the IO.

pub(crate) mod checks;
mod driver;
pub(crate) mod hostile;
pub(crate) mod ranges;
pub(crate) mod state;

use hypercore::Hypercore;
use hypercore_protocol::Channel;
use tokio::sync::{mpsc, oneshot, watch};

use crate::domain::keys::{ConnectionKey, LogKey};
use crate::net::NetEvent;

/// Why the replicator let go of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Detached {
    /// The channel closed, or the log is no longer held.
    Closed,
    /// The peer misbehaved (failing proofs, not reading): close its
    /// connection.
    Hostile(String),
}

/// A channel handed to a log's replicator.
pub(crate) struct Attach {
    pub channel: Channel,
    pub connection: ConnectionKey,
    /// Turns true once the peer is known to be hychat (its hello came).
    pub hychat: watch::Receiver<bool>,
    pub done: oneshot::Sender<Detached>,
}

/// How connections reach a log's replicator.
#[derive(Clone, Debug)]
pub(crate) struct ReplicatorHandle {
    attach: mpsc::UnboundedSender<Attach>,
}

impl ReplicatorHandle {
    /// Hands a log channel over. The receiver resolves when the replicator
    /// is done with it; `None` when the log's replicator has stopped.
    pub(crate) fn attach(
        &self,
        channel: Channel,
        connection: ConnectionKey,
        hychat: watch::Receiver<bool>,
    ) -> Option<oneshot::Receiver<Detached>> {
        let (done, detached) = oneshot::channel();
        self.attach
            .send(Attach {
                channel,
                connection,
                hychat,
                done,
            })
            .ok()?;
        Some(detached)
    }
}

/// Starts the replicator of one log; it runs until `stop` turns true.
pub(crate) fn spawn(
    key: LogKey,
    core: Hypercore,
    events: mpsc::Sender<NetEvent>,
    stop: watch::Receiver<bool>,
) -> (ReplicatorHandle, tokio::task::JoinHandle<()>) {
    let (attach, attached) = mpsc::unbounded_channel();
    let task = tokio::spawn(driver::run(key, core, events, attached, stop));
    (ReplicatorHandle { attach }, task)
}
