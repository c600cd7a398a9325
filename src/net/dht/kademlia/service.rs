//! Our DHT node, running: the socket (`rpc`), the decisions (`node`) and a
//! five-second tick, in one task that sleeps until something arrives. It
//! performs the node's effects, joins the DHT through its bootstrap list
//! with a FIND_NODE query for its own id, and refreshes its table every few
//! minutes. Dropping the `DhtNode` stops it and frees the socket.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::node::{Effect, NodeState, Role, K};
use super::query::{Query, QueryOpts};
use super::records::RecordStats;
use super::rpc::{Answer, Inbound, Rpc, ATTEMPTS};
use super::table::{distance, Contact, NodeId};
use super::throttle::RandomThrottle;
use crate::net::dht::encoding::wire::{self, Request, FIND_NODE};
use crate::net::lock::lock;
use crate::net::transport::secret::noise::KeyPair;

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
    /// Persistent at this IP and the bound port (bootstrap and public
    /// nodes); `None` for a peer's ephemeral node.
    pub(crate) persistent_ip: Option<Ipv4Addr>,
}

type Shared = Arc<Mutex<NodeState>>;

/// A connection message for one of our servers, as it reached the DHT socket.
#[derive(Debug)]
pub(crate) struct Served {
    pub(crate) request: Request,
    pub(crate) from: SocketAddrV4,
}

/// Our servers' inboxes by target.
type Servers = Arc<Mutex<HashMap<[u8; 32], mpsc::Sender<Served>>>>;

/// A running node. Stops when dropped.
pub(crate) struct DhtNode {
    rpc: Rpc,
    state: Shared,
    bootstrap: Vec<SocketAddrV4>,
    /// Random punches of this node, one at a time and 20 s apart.
    throttle: Mutex<RandomThrottle>,
    servers: Servers,
    /// The static key our connections present when we dial (JS
    /// `dht.defaultKeyPair`): random until a server of ours listens, then
    /// that server's key, so peers know a dialing hychat by the key it
    /// listens under, as hyperswarm's peers do.
    key_pair: Mutex<KeyPair>,
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
        // The port is known only once bound: a persistent node's id hashes it.
        let role = match config.persistent_ip {
            Some(ip) => Role::Persistent(SocketAddrV4::new(ip, rpc.local_addr().port())),
            None => Role::Ephemeral,
        };
        let state = Arc::new(Mutex::new(NodeState::new(
            role,
            rand::random(),
            [rand::random(), rand::random()],
            now,
            unix_ms(),
        )));
        let servers: Servers = Arc::default();
        let task = tokio::spawn(run(
            rpc.clone(),
            Arc::clone(&state),
            Arc::clone(&servers),
            inbound,
            config.bootstrap.clone(),
        ));
        Ok(DhtNode {
            rpc,
            state,
            bootstrap: config.bootstrap,
            throttle: Mutex::new(RandomThrottle::new()),
            servers,
            key_pair: Mutex::new(KeyPair::generate()),
            task,
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.rpc.local_addr()
    }

    /// The key pair our dials present (`key_pair` above).
    pub(crate) fn key_pair(&self) -> KeyPair {
        lock(&self.key_pair).clone()
    }

    /// Dials present `key_pair` from now on.
    pub(crate) fn set_key_pair(&self, key_pair: KeyPair) {
        *lock(&self.key_pair) = key_pair;
    }

    /// Contacts in the routing table.
    pub(crate) fn table_len(&self) -> usize {
        lock(&self.state).table().len()
    }

    /// What the node's records hold and saw; `None` on an ephemeral node.
    pub(crate) fn record_stats(&self) -> Option<RecordStats> {
        lock(&self.state).record_stats()
    }

    /// Routes the connection messages for `target` to `inbox` (a server of
    /// ours listens there) until `stop_serving`.
    pub(crate) fn serve(&self, target: [u8; 32], inbox: mpsc::Sender<Served>) {
        lock(&self.servers).insert(target, inbox);
        lock(&self.state).serve(target, true);
    }

    pub(crate) fn stop_serving(&self, target: [u8; 32]) {
        lock(&self.servers).remove(&target);
        lock(&self.state).serve(target, false);
    }

    /// Contacts heard from most recently first (NAT sampling asks these).
    pub(crate) fn newest_nodes(&self, n: usize) -> Vec<SocketAddrV4> {
        let mut nodes: Vec<SocketAddrV4> = lock(&self.state)
            .table()
            .newest(n)
            .into_iter()
            .map(|c| c.addr)
            .collect();
        for seed in &self.bootstrap {
            if nodes.len() < n && !nodes.contains(seed) {
                nodes.push(*seed);
            }
        }
        nodes
    }

    /// Commits to a random punch if the throttle allows one now; pair with
    /// `end_random_punch`.
    pub(crate) fn start_random_punch(&self, now: Instant) -> bool {
        self.throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_start(now)
    }

    pub(crate) fn end_random_punch(&self, now: Instant) {
        self.throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ended(now);
    }

    /// The node's socket, for the connection roles.
    pub(crate) fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// Runs a query of `command` (a hyperdht command) for `target` over the
    /// DHT and returns every reply.
    pub(crate) async fn query(
        &self,
        command: u64,
        target: NodeId,
        value: Option<Vec<u8>>,
    ) -> Vec<Answer> {
        let mut seeds: Vec<SocketAddrV4> = lock(&self.state)
            .table()
            .closest(&target, K)
            .into_iter()
            .map(|c| c.addr)
            .collect();
        seeds.extend(self.bootstrap.iter().copied());
        let request = Request {
            target: Some(target),
            value,
            ..Request::new(
                0,
                SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
                false,
                command,
            )
        };
        let own = match self.rpc.local_addr() {
            SocketAddr::V4(v4) => Some(v4),
            SocketAddr::V6(_) => None,
        };
        run_query(&self.rpc, target, seeds, own, |to| Request {
            to,
            ..request.clone()
        })
        .await
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What finished work reports back to the loop.
enum Done {
    Checked {
        id: NodeId,
        alive: bool,
    },
    Delayed,
    /// A query ended; these nodes answered with their ids.
    Query(Vec<(NodeId, SocketAddrV4)>),
}

async fn run(
    rpc: Rpc,
    state: Shared,
    servers: Servers,
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
                perform(&rpc, &servers, effects, &done_tx);
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
                perform(&rpc, &servers, effects, &done_tx);
            }
            _ = tick.tick() => {
                let now = Instant::now();
                let effects = lock(&state).tick(now, rand::random());
                perform(&rpc, &servers, effects, &done_tx);
                let empty = lock(&state).table().is_empty();
                let due = match last_refresh {
                    None => true,
                    Some(at) if empty => now.duration_since(at) >= REBOOTSTRAP,
                    Some(at) => now.duration_since(at) >= REFRESH,
                };
                if due && !querying && (!bootstrap.is_empty() || !empty) {
                    querying = true;
                    last_refresh = Some(now);
                    let target = *lock(&state).table().id();
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

fn perform(rpc: &Rpc, servers: &Servers, effects: Vec<Effect>, done: &mpsc::UnboundedSender<Done>) {
    for effect in effects {
        match effect {
            Effect::Serve {
                target,
                request,
                from,
            } => {
                let inbox = lock(servers).get(&target).cloned();
                // A server that is behind drops the message, as a busy
                // socket would; the client asks again.
                if let Some(inbox) = inbox {
                    let _ = inbox.try_send(Served { request, from });
                }
            }
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

/// The `n` answers of a query for `target` that a store command can be
/// sent on: each gave a token and an id and no error; the closest to
/// `target` first (as dht-rpc's query commits to its closest replies).
pub(crate) fn closest_with_tokens(
    mut answers: Vec<Answer>,
    target: &NodeId,
    n: usize,
) -> Vec<Answer> {
    answers.retain(|a| a.reply.token.is_some() && a.reply.id.is_some() && a.reply.error == 0);
    answers.sort_by_key(|a| a.reply.id.map(|id| distance(&id, target)));
    answers.truncate(n);
    answers
}

/// Runs an iterative query to its end and returns every reply.
pub(crate) async fn run_query(
    rpc: &Rpc,
    target: NodeId,
    seeds: Vec<SocketAddrV4>,
    own: Option<SocketAddrV4>,
    request_to: impl Fn(SocketAddrV4) -> Request,
) -> Vec<Answer> {
    let mut query = Query::new(target, seeds, QueryOpts::default());
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
                let id = (answer.reply.error == 0)
                    .then_some(answer.reply.id)
                    .flatten();
                // Nodes it says are down: JS sends DOWN_HINTs; we leave them.
                let _down = query.on_reply(to, id, &answer.reply.closer_nodes, Instant::now());
                answers.push(answer);
            }
            Err(_) => {
                let _pointed_here = query.on_failure(to, Instant::now());
            }
        }
        if query.is_done() && inflight.is_empty() {
            break;
        }
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::encoding::messages::{self, Handshake, Holepunch, Mode};
    use crate::net::dht::encoding::wire::{decode_reply, encode_request, Reply, UNKNOWN_COMMAND};
    use tokio::net::UdpSocket;

    fn v4(addr: SocketAddr) -> SocketAddrV4 {
        match addr {
            SocketAddr::V4(v4) => v4,
            SocketAddr::V6(_) => panic!("an IPv4 address"),
        }
    }

    fn start(persistent: bool, bootstrap: Vec<SocketAddrV4>) -> DhtNode {
        DhtNode::start(NodeConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            bootstrap,
            persistent_ip: persistent.then_some(Ipv4Addr::LOCALHOST),
        })
        .unwrap()
    }

    /// Sends `request` and returns the reply with its tid, if one comes
    /// within `wait`.
    async fn ask(
        socket: &UdpSocket,
        to: SocketAddrV4,
        request: &Request,
        wait: Duration,
    ) -> Option<Reply> {
        socket.send_to(&encode_request(request), to).await.unwrap();
        let mut buf = [0u8; 2048];
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Ok((n, _))) =
            tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await
        {
            if let Ok(reply) = decode_reply(&buf[..n]) {
                if reply.tid == request.tid {
                    return Some(reply);
                }
            }
        }
        None
    }

    fn request(tid: u16, to: SocketAddrV4, internal: bool, command: u64) -> Request {
        Request::new(tid, to, internal, command)
    }

    /// Garbage, stray replies, commands we do not serve and relay messages
    /// nobody can route: each is answered with the protocol's error or
    /// ignored, and the node keeps answering pings.
    #[tokio::test]
    async fn hostile_datagrams_get_an_error_or_nothing_and_the_node_lives_on() {
        let node = start(true, Vec::new());
        let addr = v4(node.local_addr());
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let short = Duration::from_millis(300);
        let ping = |tid| wire::ping(tid, addr);
        assert!(ask(&socket, addr, &ping(1), Duration::from_secs(2))
            .await
            .is_some());

        let mut garbage: Vec<Vec<u8>> =
            vec![vec![], vec![0], vec![0x03], vec![0x13], vec![0xff; 40]];
        // Replies nobody asked for, with every tid a stray could carry.
        for tid in [0u16, 1, 2, 0xffff] {
            let mut stray = Reply::to_request(&ping(tid), addr);
            stray.closer_nodes = vec![addr];
            garbage.push(wire::encode_reply(&stray));
            garbage.push(wire::encode_reply(&stray));
        }
        // Truncations of a valid request.
        let full = encode_request(&Request {
            target: Some([9; 32]),
            value: Some(vec![1; 20]),
            ..request(5, addr, false, messages::LOOKUP)
        });
        for cut in 1..full.len() {
            garbage.push(full[..cut].to_vec());
        }
        for bytes in &garbage {
            socket.send_to(bytes, addr).await.unwrap();
        }
        assert!(ask(&socket, addr, &ping(2), Duration::from_secs(2))
            .await
            .is_some());

        // The record commands: a get of nothing is answered with nothing, a
        // put without a token is dropped (as JS); the plugin command and
        // anything unknown get UNKNOWN_COMMAND.
        for (i, (command, expected)) in [
            (7u64, Some(0)),
            (9, Some(0)),
            (6, None),
            (8, None),
            (10, Some(UNKNOWN_COMMAND)),
            (99, Some(UNKNOWN_COMMAND)),
        ]
        .into_iter()
        .enumerate()
        {
            let asked = Request {
                target: Some([7; 32]),
                value: Some(vec![1, 2, 3]),
                ..request(100 + i as u16, addr, false, command)
            };
            let wait = Duration::from_millis(if expected.is_some() { 2000 } else { 300 });
            let reply = ask(&socket, addr, &asked, wait).await;
            assert_eq!(reply.map(|r| r.error), expected, "command {command}");
        }
        let unknown_internal = request(120, addr, true, 42);
        let reply = ask(&socket, addr, &unknown_internal, Duration::from_secs(2)).await;
        assert_eq!(reply.map(|r| r.error), Some(UNKNOWN_COMMAND));

        // Relay messages for a target nobody announced: dropped.
        let relayed = |tid, mode| Request {
            target: Some([8; 32]),
            value: Some(
                Handshake {
                    mode,
                    noise: vec![1; 48],
                    peer_address: Some(addr),
                    relay_address: None,
                }
                .encode(),
            ),
            ..request(tid, addr, false, messages::PEER_HANDSHAKE)
        };
        for (tid, mode) in [
            (130, Mode::FromRelay),
            (131, Mode::FromSecondRelay),
            (132, Mode::Reply),
        ] {
            assert_eq!(
                ask(&socket, addr, &relayed(tid, mode), short).await,
                None,
                "{mode:?}"
            );
        }
        // A client handshake with no route gets closer nodes to look further.
        let help = ask(
            &socket,
            addr,
            &relayed(133, Mode::FromClient),
            Duration::from_secs(2),
        )
        .await;
        assert!(help.is_some_and(|r| r.error == 0 && r.value.is_none()));
        // Holepunch rounds for an unknown server, a bad box, no address.
        for (tid, mode, peer) in [
            (140, Mode::FromRelay, Some(addr)),
            (141, Mode::FromClient, None),
            (142, Mode::Other(77), Some(addr)),
        ] {
            let punch = Request {
                target: Some([8; 32]),
                value: Some(
                    Holepunch {
                        mode,
                        id: 1_000_000,
                        payload: vec![0; 3],
                        peer_address: peer,
                    }
                    .encode(),
                ),
                ..request(tid, addr, false, messages::PEER_HOLEPUNCH)
            };
            assert_eq!(ask(&socket, addr, &punch, short).await, None, "{mode:?}");
        }
        // A token we never issued.
        let forged = Request {
            token: Some([3; 32]),
            target: Some([7; 32]),
            ..request(150, addr, false, messages::ANNOUNCE)
        };
        let reply = ask(&socket, addr, &forged, Duration::from_secs(2)).await;
        assert_eq!(reply.map(|r| r.error), Some(wire::INVALID_TOKEN));

        assert!(ask(&socket, addr, &ping(3), Duration::from_secs(2))
            .await
            .is_some());
    }

    /// PING_NAT is answered to the sender's host at the port it names, and
    /// a persistent node's replies carry the id that hashes its address.
    #[tokio::test]
    async fn ping_nat_answers_at_the_named_port_with_the_nodes_id() {
        let node = start(true, Vec::new());
        let addr = v4(node.local_addr());
        let asking = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = other.local_addr().unwrap().port();
        asking
            .send_to(&encode_request(&wire::ping_nat(9, addr, port)), addr)
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let (n, _) = tokio::time::timeout(Duration::from_secs(2), other.recv_from(&mut buf))
            .await
            .expect("the answer reaches the named port")
            .unwrap();
        let reply = decode_reply(&buf[..n]).unwrap();
        assert_eq!(reply.tid, 9);
        assert_eq!(
            reply.id,
            Some(crate::net::dht::kademlia::table::node_id(addr))
        );
    }

    /// Five nodes that know only the first one find each other.
    #[tokio::test]
    async fn nodes_that_know_one_bootstrap_node_find_each_other() {
        let first = start(true, Vec::new());
        let seed = vec![v4(first.local_addr())];
        let others: Vec<DhtNode> = (0..4).map(|_| start(true, seed.clone())).collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let sizes: Vec<usize> = others.iter().map(DhtNode::table_len).collect();
            if first.table_len() >= 4 && sizes.iter().all(|n| *n >= 2) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "tables after 20 s: first {}, others {sizes:?}",
                first.table_len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
