//! hychat's replicator (docs/architecture.md §2, "Replication"): one task
//! per held log, the only place that applies proofs to it, serving and
//! downloading over every channel that carries it. A connection hands each
//! log channel it opens to the log's task with `ReplicatorHandle::attach`,
//! hears back when the task is done with it, and lets go of it by dropping
//! what `attach` returned (when the connection ends). It replaces the crate's
//! `attach_channel`, whose replicator keeps one request in flight and drops
//! messages (compat: hypercore row).
//!
//! `ranges` (what a peer holds), `checks` (what a request or a proof must
//! look like) and `state` (the protocol as a pure state machine) decide;
//! `driver` does the IO.

pub(crate) mod checks;
mod driver;
#[cfg(any(test, feature = "testing"))]
pub(crate) mod hostile;
pub(crate) mod ranges;
pub(crate) mod state;

use std::future::Future;

use hypercore::Hypercore;
use hypercore_protocol::Channel;
use tokio::sync::{mpsc, oneshot, watch};

use crate::domain::keys::{ConnectionKey, LogKey};
use crate::net::types::NetEvent;

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
    pub done: oneshot::Sender<Detached>,
    /// Resolves when the connection let go of the channel. The channel's
    /// own stream cannot say so: every clone of a `Channel` (the writer
    /// task holds one) keeps a sender into it, so it never ends on its own.
    pub hangup: oneshot::Receiver<()>,
}

/// How connections reach a log's replicator.
#[derive(Clone, Debug)]
pub(crate) struct ReplicatorHandle {
    attach: mpsc::UnboundedSender<Attach>,
}

impl ReplicatorHandle {
    /// Hands a log channel over. The future resolves when the replicator
    /// is done with it; dropping it tells the replicator that the
    /// connection let go of the channel. `None` when the log's replicator
    /// has stopped.
    pub(crate) fn attach(
        &self,
        channel: Channel,
        connection: ConnectionKey,
    ) -> Option<impl Future<Output = Detached> + Send + 'static> {
        let (done, detached) = oneshot::channel();
        let (held, hangup) = oneshot::channel::<()>();
        self.attach
            .send(Attach {
                channel,
                connection,
                done,
                hangup,
            })
            .ok()?;
        Some(async move {
            let _held = held;
            detached.await.unwrap_or(Detached::Closed)
        })
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
