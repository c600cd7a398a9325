//! The task that runs one log's `state::Replication`: it reads every
//! attached channel, carries out the effects (proofs made and applied one
//! at a time, so this task is the log's single writer), and writes to each
//! channel through a small writer task of its own, so a peer that reads
//! slowly never holds up the others.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures::stream::{self, BoxStream, SelectAll};
use futures::{FutureExt, StreamExt};
use hypercore::Hypercore;
use hypercore_protocol::schema::{Data, NoData, Request};
use hypercore_protocol::Message;
use hypercore_schema::{RequestBlock, RequestUpgrade};
use tokio::sync::{mpsc, oneshot, watch};

use super::checks::{Asked, Local, MAX_SERVED_BYTES};
use super::ranges::RangeSet;
use super::state::{Applied, Effect, PeerId, Replication};
use super::{Attach, Detached};
use crate::domain::keys::{ConnectionKey, LogKey};
use crate::net::types::NetEvent;

/// Batches of messages queued for one peer before it counts as not reading.
const WRITER_QUEUE: usize = 4096;

/// Messages read before the next scheduling pass.
const DRAIN: usize = 64;

struct Attached {
    connection: ConnectionKey,
    writer: mpsc::Sender<Vec<Message>>,
    done: Option<oneshot::Sender<Detached>>,
}

struct Driver {
    key: LogKey,
    core: Hypercore,
    state: Replication,
    peers: HashMap<PeerId, Attached>,
    next_peer: PeerId,
    outbox: BTreeMap<PeerId, Vec<Message>>,
    events: mpsc::Sender<NetEvent>,
}

type Incoming = SelectAll<BoxStream<'static, (PeerId, Option<Message>)>>;

pub(super) async fn run(
    key: LogKey,
    core: Hypercore,
    events: mpsc::Sender<NetEvent>,
    mut attached: mpsc::UnboundedReceiver<Attach>,
    mut stop: watch::Receiver<bool>,
) {
    let local = local_of(&core);
    let held = held_blocks(&core, local.length);
    let mut driver = Driver {
        key,
        core: core.clone(),
        state: Replication::new(local, held),
        peers: HashMap::new(),
        next_peer: 1,
        outbox: BTreeMap::new(),
        events,
    };
    let mut incoming: Incoming = SelectAll::new();
    let mut core_events = core.event_subscribe();
    loop {
        // Asleep until a message, a change, or the next request timeout.
        let deadline = driver.state.next_deadline();
        let due = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let effects = tokio::select! {
            attach = attached.recv() => match attach {
                Some(attach) => driver.attach(attach, &mut incoming),
                None => break,
            },
            Some((peer, message)) = incoming.next(), if !incoming.is_empty() => {
                let mut effects = driver.on_incoming(peer, message);
                for _ in 1..DRAIN {
                    match incoming.next().now_or_never() {
                        Some(Some((peer, message))) => {
                            driver.run_effects(effects).await;
                            effects = driver.on_incoming(peer, message);
                        }
                        _ => break,
                    }
                }
                effects
            }
            _ = core_events.recv() => {
                driver.on_core_changed();
                vec![]
            }
            () = due => vec![],
            _ = stop.changed() => break,
        };
        driver.run_effects(effects).await;
        let scheduled = driver.state.schedule(Instant::now());
        driver.run_effects(scheduled).await;
        driver.flush();
        if *stop.borrow() {
            break;
        }
    }
    tracing::debug!(log = ?driver.key, "replicator stopped");
}

impl Driver {
    fn attach(&mut self, attach: Attach, incoming: &mut Incoming) -> Vec<Effect> {
        let Attach {
            mut channel,
            connection,
            done,
            hangup,
        } = attach;
        let Some(receiver) = channel.take_receiver() else {
            let _ = done.send(Detached::Closed);
            return vec![];
        };
        let peer = self.next_peer;
        self.next_peer += 1;
        let (writer, mut queue) = mpsc::channel::<Vec<Message>>(WRITER_QUEUE);
        tokio::spawn(async move {
            while let Some(batch) = queue.recv().await {
                if channel.send_batch(&batch).await.is_err() {
                    break;
                }
            }
        });
        // Ends when the connection lets go of the channel: the receiver
        // alone would not end while the writer task holds the channel.
        let messages = receiver
            .take_until(hangup)
            .map(move |message| (peer, Some(message)))
            .chain(stream::once(async move { (peer, None) }));
        incoming.push(messages.boxed());
        self.peers.insert(
            peer,
            Attached {
                connection,
                writer,
                done: Some(done),
            },
        );
        tracing::debug!(log = ?self.key, ?connection, peer, "replicating over a channel");
        self.state.attach(peer)
    }

    fn on_incoming(&mut self, peer: PeerId, message: Option<Message>) -> Vec<Effect> {
        match message {
            Some(message) => self.state.on_message(peer, message, Instant::now()),
            None => {
                self.detach(peer, Detached::Closed);
                vec![]
            }
        }
    }

    fn detach(&mut self, peer: PeerId, why: Detached) {
        self.state.detach(peer);
        self.outbox.remove(&peer);
        if let Some(mut attached) = self.peers.remove(&peer) {
            if let Detached::Hostile(reason) = &why {
                tracing::info!(log = ?self.key, connection = ?attached.connection, %reason, "detaching a peer");
            }
            if let Some(done) = attached.done.take() {
                let _ = done.send(why);
            }
        }
    }

    /// The log changed under us: our own appends.
    fn on_core_changed(&mut self) {
        let now = local_of(&self.core);
        let before = self.state.local();
        if now == before {
            return;
        }
        let gained = if now.writable && now.length > before.length {
            before.length..now.length
        } else {
            0..0
        };
        self.state.local_changed(now, gained);
    }

    async fn run_effects(&mut self, effects: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            match effect {
                Effect::Send(peer, message) => self.outbox.entry(peer).or_default().push(message),
                Effect::Serve(peer, request) => {
                    let answer = serve(&self.core, self.key, request).await;
                    self.outbox.entry(peer).or_default().push(answer);
                }
                Effect::Ask { peer, id, asked } => {
                    let request = request(&self.core, self.state.local(), id, asked).await;
                    self.outbox.entry(peer).or_default().push(request);
                }
                Effect::Apply { peer, id, data } => {
                    let outcome = apply(&self.core, self.key, data).await;
                    let local = local_of(&self.core);
                    queue.extend(self.state.applied(peer, id, outcome, local));
                }
                Effect::Detach(peer, reason) => self.detach(peer, Detached::Hostile(reason)),
                Effect::PeerHolds(peer, end) => {
                    if let Some(attached) = self.peers.get(&peer) {
                        let event = NetEvent::PeerHas {
                            peer: attached.connection,
                            log: self.key,
                            length: end,
                        };
                        // Best effort: replication never waits on the UI.
                        let _ = self.events.try_send(event);
                    }
                }
            }
        }
    }

    /// Hands every peer its queued messages.
    fn flush(&mut self) {
        let outbox = std::mem::take(&mut self.outbox);
        let mut slow = vec![];
        for (peer, batch) in outbox {
            let Some(attached) = self.peers.get(&peer) else {
                continue;
            };
            match attached.writer.try_send(batch) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(peer),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        for peer in slow {
            self.detach(
                peer,
                Detached::Hostile("it does not read what we send".into()),
            );
        }
    }
}

/// A proof for a checked request, or a no-data (also for a block over
/// `MAX_SERVED_BYTES`, which no peer of ours would take).
pub(super) async fn serve(core: &Hypercore, log: LogKey, request: Request) -> Message {
    let id = request.id;
    let fork = request.fork;
    let proof = AssertUnwindSafe(core.create_proof(
        request.block,
        request.hash,
        request.seek,
        request.upgrade,
    ))
    .catch_unwind()
    .await;
    match proof {
        Ok(Ok(Some(proof)))
            if proof
                .block
                .as_ref()
                .is_some_and(|b| b.value.len() > MAX_SERVED_BYTES) =>
        {
            tracing::debug!(?log, "not sending a block larger than any peer takes");
            Message::NoData(NoData { request: id })
        }
        Ok(Ok(Some(proof))) => Message::Data(Data {
            request: id,
            fork,
            block: proof.block,
            hash: proof.hash,
            seek: proof.seek,
            upgrade: proof.upgrade,
        }),
        Ok(Ok(None)) => Message::NoData(NoData { request: id }),
        Ok(Err(e)) => {
            tracing::debug!(?log, error = %e, "no proof for a request");
            Message::NoData(NoData { request: id })
        }
        Err(_) => {
            tracing::warn!(?log, "making a proof panicked inside hypercore");
            Message::NoData(NoData { request: id })
        }
    }
}

/// Our request, with the tree nodes we lack for its block.
pub(super) async fn request(core: &Hypercore, local: Local, id: u64, asked: Asked) -> Message {
    let mut nodes = 0;
    if let Some(index) = asked.block {
        if index < local.length {
            nodes = match AssertUnwindSafe(core.missing_nodes(index))
                .catch_unwind()
                .await
            {
                Ok(Ok(nodes)) => nodes,
                _ => 0,
            };
        }
    }
    Message::Request(Request {
        id,
        fork: local.fork,
        block: asked.block.map(|index| RequestBlock { index, nodes }),
        hash: None,
        seek: None,
        upgrade: asked
            .upgrade
            .map(|(start, length)| RequestUpgrade { start, length }),
        manifest: false,
        priority: 0,
    })
}

pub(super) async fn apply(core: &Hypercore, log: LogKey, data: Data) -> Applied {
    let applied = AssertUnwindSafe(core.verify_and_apply_proof(data.into_proof()))
        .catch_unwind()
        .await;
    match applied {
        Ok(Ok(true)) => Applied::Done,
        Ok(Ok(false)) => Applied::Refused("hypercore did not take the proof".into()),
        Ok(Err(e)) => Applied::Refused(e.to_string()),
        Err(_) => {
            tracing::warn!(?log, "applying a proof panicked inside hypercore");
            Applied::Refused("applying it panicked".into())
        }
    }
}

pub(super) fn local_of(core: &Hypercore) -> Local {
    let info = core.info();
    Local {
        length: info.length,
        fork: info.fork,
        writable: info.writeable,
    }
}

/// Every block of the log held here: the contiguous start, then a look at
/// each block past it.
pub(super) fn held_blocks(core: &Hypercore, length: u64) -> RangeSet {
    let mut held = RangeSet::default();
    let contiguous = core.info().contiguous_length.min(length);
    held.insert(0, contiguous);
    let mut run: Option<u64> = None;
    for index in contiguous..length {
        match (core.has(index), run) {
            (true, None) => run = Some(index),
            (false, Some(start)) => {
                held.insert(start, index - start);
                run = None;
            }
            _ => {}
        }
    }
    if let Some(start) = run {
        held.insert(start, length - start);
    }
    held
}
