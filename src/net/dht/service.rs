//! Our DHT node, running: the socket (`rpc`), the decisions (`node`) and a
//! five-second tick, in one task that sleeps until something arrives. It
//! performs the node's effects, joins the DHT through its bootstrap list
//! with a FIND_NODE query for its own id, and refreshes its table every few
//! minutes. Dropping the `DhtNode` stops it and frees the socket.

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::node::{Effect, NodeState, Role, K};
use super::query::{Query, QueryOptions};
use super::rpc::{Answer, Inbound, Rpc, ATTEMPTS};
use super::table::{Contact, NodeId};
use super::wire::{self, Request, FIND_NODE};

/// The node's heartbeat (JS ticks every 5 s).
const TICK: Duration = Duration::from_secs(5);
/// A full refresh of the table this often (JS: 60 ticks).
const REFRESH: Duration = Duration::from_secs(300);
/// With an empty table, the bootstrap list is tried again this often.
const REBOOTSTRAP: Duration = Duration::from_secs(30);

/// How to start a node.
#[derive(Debug, Clone)]
pub(crate) struct NodeConfig {
    pub(crate) bind: SocketAddr,
    pub(crate) bootstrap: Vec<SocketAddrV4>,
    pub(crate) role: Role,
}

type Shared = Arc<Mutex<NodeState>>;

/// A running node. Stops when dropped.
pub(crate) struct DhtNode {
    rpc: Rpc,
    state: Shared,
    task: JoinHandle<()>,
}

impl Drop for DhtNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DhtNode {
    /// Binds and starts the node. Fails only when the address cannot be
    /// bound.
    pub(crate) fn start(config: NodeConfig) -> io::Result<DhtNode> {
        let (rpc, inbound) = Rpc::bind(config.bind)?;
        let now = Instant::now();
        let state = Arc::new(Mutex::new(NodeState::new(
            config.role,
            rand::random(),
            [rand::random(), rand::random()],
            now,
        )));
        let task = tokio::spawn(run(
            rpc.clone(),
            Arc::clone(&state),
            inbound,
            config.bootstrap,
        ));
        Ok(DhtNode { rpc, state, task })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.rpc.local_addr()
    }

    /// Contacts in the routing table.
    pub(crate) fn table_len(&self) -> usize {
        lock(&self.state).table().len()
    }
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, NodeState> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What finished work reports back to the loop.
enum Done {
    Checked { id: NodeId, alive: bool },
    Delayed,
    /// A query ended; these nodes answered with their ids.
    Query(Vec<(NodeId, SocketAddrV4)>),
}

async fn run(
    rpc: Rpc,
    state: Shared,
    mut inbound: mpsc::Receiver<Inbound>,
    bootstrap: Vec<SocketAddrV4>,
) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let mut last_refresh: Option<Instant> = None;
    let mut querying = false;
    loop {
        tokio::select! {
            event = inbound.recv() => {
                let Some(event) = event else { return };
                let Inbound::Request { request, from } = event else {
                    // Probes and stray packets: nothing for a relay node.
                    continue;
                };
                let effects = lock(&state).on_request(request, from, Instant::now());
                perform(&rpc, effects, &done_tx);
            }
            done = done_rx.recv() => {
                let Some(done) = done else { return };
                let now = Instant::now();
                let mut effects = Vec::new();
                {
                    let mut state = lock(&state);
                    match done {
                        Done::Checked { id, alive } => state.checked(id, alive, now),
                        Done::Delayed => state.delayed_done(),
                        Done::Query(learned) => {
                            querying = false;
                            for (id, from) in learned {
                                state.learn(id, from, now, &mut effects);
                            }
                        }
                    }
                }
                perform(&rpc, effects, &done_tx);
            }
            _ = tick.tick() => {
                let now = Instant::now();
                let effects = lock(&state).tick(now, rand::random());
                perform(&rpc, effects, &done_tx);
                let empty = lock(&state).table().len() == 0;
                let due = match last_refresh {
                    None => true,
                    Some(at) if empty => now.duration_since(at) >= REBOOTSTRAP,
                    Some(at) => now.duration_since(at) >= REFRESH,
                };
                if due && !querying && (!bootstrap.is_empty() || !empty) {
                    querying = true;
                    last_refresh = Some(now);
                    let target = lock(&state).table().id();
                    let rpc = rpc.clone();
                    let state = Arc::clone(&state);
                    let seeds = bootstrap.clone();
                    let done_tx = done_tx.clone();
                    tokio::spawn(async move {
                        let learned = find_node(&rpc, &state, target, seeds).await;
                        let _ = done_tx.send(Done::Query(learned));
                    });
                }
                tracing::trace!(uptime = ?started.elapsed(), "DHT node tick");
            }
        }
    }
}

fn perform(rpc: &Rpc, effects: Vec<Effect>, done: &mpsc::UnboundedSender<Done>) {
    for effect in effects {
        match effect {
            Effect::Reply { reply, to } => rpc.reply(&reply, to),
            Effect::Forward { request, to } => rpc.forward(&request, to),
            Effect::DelayedReply { reply, to, after } => {
                let rpc = rpc.clone();
                let done = done.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    rpc.reply(&reply, to);
                    let _ = done.send(Done::Delayed);
                });
            }
            Effect::Check { contact } => {
                let rpc = rpc.clone();
                let done = done.clone();
                tokio::spawn(async move {
                    let alive = ping(&rpc, contact).await;
                    let _ = done.send(Done::Checked {
                        id: contact.id,
                        alive,
                    });
                });
            }
        }
    }
}

async fn ping(rpc: &Rpc, contact: Contact) -> bool {
    let request = wire::ping(0, contact.addr);
    rpc.request(request, contact.addr, 2).await.is_ok()
}

/// A FIND_NODE query for `target`, seeded with the table's closest and
/// `seeds`. Returns the nodes that answered with an id (the loop adds the
/// valid ones to the table).
async fn find_node(
    rpc: &Rpc,
    state: &Shared,
    target: NodeId,
    seeds: Vec<SocketAddrV4>,
) -> Vec<(NodeId, SocketAddrV4)> {
    let (id, mut start) = {
        let state = lock(state);
        let start: Vec<SocketAddrV4> = state
            .table()
            .closest(&target, K)
            .into_iter()
            .map(|c| c.addr)
            .collect();
        (state.id(), start)
    };
    start.extend(seeds);
    let request = Request {
        id,
        target: Some(target),
        ..Request::new(0, SocketAddrV4::new(0.into(), 0), true, FIND_NODE)
    };
    let own = match rpc.local_addr() {
        SocketAddr::V4(v4) => Some(v4),
        SocketAddr::V6(_) => None,
    };
    let answers = run_query(rpc, target, start, own, |to| Request {
        to,
        ..request.clone()
    })
    .await;
    answers
        .into_iter()
        .filter_map(|answer| Some((answer.reply.id?, answer.from)))
        .collect()
}

/// Runs an iterative query to its end and returns every reply.
pub(crate) async fn run_query(
    rpc: &Rpc,
    target: NodeId,
    seeds: Vec<SocketAddrV4>,
    own: Option<SocketAddrV4>,
    request_to: impl Fn(SocketAddrV4) -> Request,
) -> Vec<Answer> {
    let mut query = Query::new(target, seeds, QueryOptions::default(), Instant::now());
    if let Some(own) = own {
        query.exclude(own);
    }
    let mut inflight = FuturesUnordered::new();
    let mut answers = Vec::new();
    loop {
        for to in query.poll_requests(Instant::now()) {
            let request = request_to(to);
            inflight.push(async move { (to, rpc.request(request, to, ATTEMPTS).await) });
        }
        let Some((to, result)) = inflight.next().await else {
            break;
        };
        match result {
            Ok(answer) => {
                query.on_reply(to, &answer.reply.closer_nodes, Instant::now());
                answers.push(answer);
            }
            Err(_) => query.on_failure(to, Instant::now()),
        }
        if query.is_done() && inflight.is_empty() {
            break;
        }
    }
    answers
}
