//! The swarm task, on hychat's own DHT node (`net/dht/`): joins the DHT
//! (retrying with backoff while no node answers: `Unreachable` says why),
//! listens as a server, joins every held log's topic (one LOOKUP finds who
//! serves it and yields the tokens to announce ourselves there), dials the
//! peers it finds, withdraws a topic's announcement when it leaves it,
//! hands each new connection to its own connection task, parks duplicates
//! until the first ends, and hears each connection's end as it happens.
//! It is the IO around pure plans: `topics` (when to look each topic up
//! and announce it), `dial` (which found peers to dial; a dial's typed
//! failure), `redial` (when to dial a lost peer again) and `dht_check`.
//! `bind` and `bootstrap` are where the DHT socket binds and the bootstrap
//! nodes.

pub mod bind;
pub(crate) mod bootstrap;
pub(crate) mod dial;
pub(crate) mod redial;
pub(crate) mod topics;

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, SocketAddrV4};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::domain::keys::{ConnectionKey, DiscoveryKey};
use crate::net::connection::{self, ConnectionContext, Ended};
use crate::net::dht::client::Connected;
use crate::net::dht::connection::stream::{DhtStream, Taken};
use crate::net::dht::diagnostics::probe;
use crate::net::dht::encoding::messages::{LookupRawReply, LOOKUP};
use crate::net::dht::kademlia::service::{DhtNode, NodeConfig};
use crate::net::dht::server::announcer::{announce_to, unannounce};
use crate::net::dht::server::{listen, start_relay, Listener, Relay};
use crate::net::transport::session::Session;
use crate::net::types::{Link, NetEvent, NetworkReport, NetworkStatus, PunchStats, Reachability};
use bind::BindError;
use bootstrap::{BootstrapNode, DEFAULT_LOCAL_BOOTSTRAP};
use dial::{dial, worth_dialing, DialError, Found};
use redial::{Lost, Redial, RedialPlan};
use topics::TopicPlan;

const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(8);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often the DHT is checked to keep the status honest.
const HEALTH_CHECK: Duration = Duration::from_secs(60);

/// Changes to the set of topics, from the engine.
#[derive(Debug)]
pub(crate) enum SwarmControl {
    Join(DiscoveryKey),
    Leave(DiscoveryKey),
}

#[derive(Debug, Clone)]
pub(crate) struct SwarmSettings {
    pub bootstrap: Vec<String>,
    pub host_local_bootstrap: bool,
    pub refresh_interval: Duration,
    /// Where the DHT socket binds (see `bind.rs`).
    pub bind: SocketAddr,
    /// Offer a blind relay once the node finds itself reachable.
    pub offer_relay: bool,
}

/// A running connection task and the switch that closes it.
struct LiveConnection {
    task: JoinHandle<Ended>,
    close: watch::Sender<bool>,
    /// We dialed it: the peer's key is where it listens, so it can be dialed
    /// again. (An accepted connection's key is the peer's dial key.)
    client: bool,
    topics: Vec<DiscoveryKey>,
    since: Instant,
    /// Which dial of a lost peer made it (0: found by discovery).
    attempt: usize,
    /// Tells this connection from a later one to the same peer.
    serial: u64,
}

/// A connection made or taken, before its replication starts.
struct NewConnection {
    stream: DhtStream,
    remote: [u8; 32],
    client: bool,
    topics: Vec<DiscoveryKey>,
}

/// The DHT while it is reachable: our node, our server on it, its key.
struct Online {
    node: Arc<DhtNode>,
    listener: Listener,
    key: SigningKey,
    /// The blind relay we offer, once we found ourselves reachable.
    relay: Option<Relay>,
}

/// Why the DHT cannot be reached now; the swarm tries again after a pause.
#[derive(Debug, thiserror::Error)]
enum Unreachable {
    #[error("no bootstrap node address resolves")]
    NoBootstrapAddress,
    /// The bind address cannot be bound, in one sentence.
    #[error(transparent)]
    Bind(BindError),
    /// Our node did not start on a bind address that can be bound.
    #[error(transparent)]
    Start(std::io::Error),
    #[error("no DHT node answered in time")]
    NoAnswer,
}

/// What the minute's check of the DHT says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DhtCheck {
    /// Online, with this many nodes in the routing table.
    Online(u32),
    /// No node left and no live connection: bootstrap again.
    Rejoin,
    /// No node left, but connections still run: wait for them.
    Wait,
}

/// The check of the DHT: `nodes` in our routing table, and whether any
/// connection task still runs.
fn dht_check(nodes: usize, live_connections: bool) -> DhtCheck {
    if nodes > 0 {
        DhtCheck::Online(u32::try_from(nodes).unwrap_or(u32::MAX))
    } else if live_connections {
        DhtCheck::Wait
    } else {
        DhtCheck::Rejoin
    }
}

type Dialing = FuturesUnordered<BoxFuture<'static, (Redial, Result<Connected, DialError>)>>;
type Discovering = FuturesUnordered<BoxFuture<'static, (DiscoveryKey, Vec<[u8; 32]>)>>;
type Dials =
    FuturesUnordered<BoxFuture<'static, ([u8; 32], DiscoveryKey, Result<Connected, DialError>)>>;

struct SwarmTask {
    settings: SwarmSettings,
    ctx: ConnectionContext,
    control: mpsc::Receiver<SwarmControl>,
    /// The topics held: when to look each up and announce it.
    topics: TopicPlan,
    local_bootstrap: Option<BootstrapNode>,
    connections: HashMap<ConnectionKey, LiveConnection>,
    /// Duplicate connections to a peer we already replicate with. Dropping
    /// them would reset the shared stream (docs/architecture.md §2), so they are kept
    /// unpolled until the first connection ends.
    parked: Vec<(ConnectionKey, Session)>,
    /// Peers whose connection failed or dropped, to be dialed again.
    redials: RedialPlan,
    /// Peers being dialed now, found by discovery.
    dialing: HashSet<[u8; 32]>,
    /// The bootstrap nodes of the last attempt, for the address probe.
    nodes: Vec<SocketAddr>,
    /// What we know of our place on the network, shared with connections
    /// (their hello carries it).
    report: watch::Sender<NetworkReport>,
    /// Each connection task says here that it ended, so its redial (at
    /// once, for a path that never answered) and the duplicates parked
    /// behind it need not wait for the next refresh.
    ended_tx: mpsc::UnboundedSender<(ConnectionKey, u64, Ended)>,
    ended: mpsc::UnboundedReceiver<(ConnectionKey, u64, Ended)>,
    /// The serial of the last connection started.
    serial: u64,
}

pub(crate) async fn run(
    settings: SwarmSettings,
    ctx: ConnectionContext,
    control: mpsc::Receiver<SwarmControl>,
    initial_topics: Vec<DiscoveryKey>,
    report: watch::Sender<NetworkReport>,
) {
    let (ended_tx, ended) = mpsc::unbounded_channel();
    let topics = TopicPlan::new(initial_topics, settings.refresh_interval, Instant::now());
    let mut task = SwarmTask {
        settings,
        ctx,
        control,
        topics,
        local_bootstrap: None,
        connections: HashMap::new(),
        parked: Vec::new(),
        redials: RedialPlan::default(),
        dialing: HashSet::new(),
        nodes: Vec::new(),
        report,
        ended_tx,
        ended,
        serial: 0,
    };
    task.run().await;
}

impl SwarmTask {
    async fn status(&self, status: NetworkStatus) {
        let _ = self.ctx.events.send(NetEvent::NetworkStatus(status)).await;
    }

    async fn run(&mut self) {
        let mut backoff = Duration::from_secs(1);
        let mut shutdown = self.ctx.shutdown.clone();
        loop {
            if *shutdown.borrow() {
                return;
            }
            self.status(NetworkStatus::Bootstrapping).await;
            let attempt = tokio::select! {
                attempt = self.connect() => attempt,
                _ = shutdown.changed() => return,
            };
            let reason = match attempt {
                Ok((online, nodes)) => {
                    backoff = Duration::from_secs(1);
                    self.status(NetworkStatus::Online { nodes }).await;
                    match self.online(online).await {
                        ControlFlow::Break(()) => return,
                        // The DHT was lost: bootstrap again at once.
                        ControlFlow::Continue(()) => continue,
                    }
                }
                Err(reason) => reason,
            };
            tracing::info!(%reason, retry_in = ?backoff, "DHT unreachable");
            self.status(NetworkStatus::Offline {
                reason: reason.to_string(),
                retry_in: backoff,
            })
            .await;
            let deadline = tokio::time::sleep(backoff);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    _ = &mut deadline => break,
                    _ = shutdown.changed() => return,
                    command = self.control.recv() => match command {
                        Some(command) => self.apply_offline(command),
                        None => return,
                    },
                }
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn apply_offline(&mut self, command: SwarmControl) {
        match command {
            SwarmControl::Join(topic) => self.topics.hold(topic, Instant::now()),
            SwarmControl::Leave(topic) => self.topics.leave(&topic),
        }
    }

    async fn bootstrap_addresses(&mut self) -> Vec<SocketAddr> {
        let local: Option<SocketAddr> = DEFAULT_LOCAL_BOOTSTRAP.parse().ok();
        let lists_local = self
            .settings
            .bootstrap
            .iter()
            .any(|entry| entry == DEFAULT_LOCAL_BOOTSTRAP);
        let mut list = self.settings.bootstrap.clone();
        if let Some(local) = local.filter(|_| lists_local) {
            // Hosted on the bind's IP (every interface by default), so peers
            // on the LAN can use it too; reached here where the bind says.
            let hosted = bind::local_bootstrap_bind(self.settings.bind, local);
            if self.settings.host_local_bootstrap && self.local_bootstrap.is_none() {
                match bootstrap::run_bootstrap_node(hosted).await {
                    Ok(node) => self.local_bootstrap = Some(node),
                    Err(e) => {
                        tracing::debug!(error = %e, "the local bootstrap node is hosted elsewhere")
                    }
                }
            }
            let reach = bind::reachable_here(hosted).to_string();
            for entry in list.iter_mut().filter(|e| *e == DEFAULT_LOCAL_BOOTSTRAP) {
                entry.clone_from(&reach);
            }
        }
        bootstrap::resolve_async(list).await
    }

    /// Starts our node on the bind address and waits until a DHT node
    /// answers; then listens as a server.
    async fn connect(&mut self) -> Result<(Online, u32), Unreachable> {
        let addrs = self.bootstrap_addresses().await;
        self.nodes.clone_from(&addrs);
        let bootstrap: Vec<SocketAddrV4> = addrs
            .iter()
            .filter_map(|a| match a {
                SocketAddr::V4(v4) => Some(*v4),
                SocketAddr::V6(_) => None,
            })
            .collect();
        if bootstrap.is_empty() {
            return Err(Unreachable::NoBootstrapAddress);
        }
        let node = DhtNode::start(NodeConfig {
            bind: self.settings.bind,
            bootstrap,
            persistent_ip: None,
        })
        .map_err(|e| match bind::check_bind(self.settings.bind) {
            Err(unbindable) => Unreachable::Bind(unbindable),
            Ok(()) => Unreachable::Start(e),
        })?;
        let joined = tokio::time::timeout(BOOTSTRAP_TIMEOUT, async {
            while node.table_len() == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        if joined.is_err() {
            return Err(Unreachable::NoAnswer);
        }
        let nodes = u32::try_from(node.table_len()).unwrap_or(u32::MAX);
        let node = Arc::new(node);
        let key = SigningKey::from_bytes(&rand::random());
        let listener = listen(Arc::clone(&node), key.clone());
        Ok((
            Online {
                node,
                listener,
                key,
                relay: None,
            },
            nodes,
        ))
    }

    /// Looks `topic` up: who announces it (their keys), and our own
    /// announcement there, listing the relays that reach our server.
    fn look_up(&mut self, online: &Online, topic: DiscoveryKey, discovering: &Discovering) {
        let node = Arc::clone(&online.node);
        let key = online.key.clone();
        let relays = online.listener.relays.borrow().clone();
        // Records live 20 minutes: lookups run often while a log is lonely,
        // announcements only now and then.
        let announce = self.topics.announce_due(topic, Instant::now());
        discovering.push(
            async move {
                let answers = node.query(LOOKUP, topic.0, None).await;
                let mut peers: Vec<[u8; 32]> = answers
                    .iter()
                    .filter_map(|a| LookupRawReply::decode(a.reply.value.as_deref()?).ok())
                    .flat_map(|reply| reply.peers)
                    .map(|peer| peer.public_key)
                    .collect();
                peers.sort_unstable();
                peers.dedup();
                if announce {
                    let announced = announce_to(&node, &key, topic.0, answers, relays).await;
                    tracing::debug!(
                        ?topic,
                        peers = peers.len(),
                        relays = announced.len(),
                        "looked up and announced a topic"
                    );
                }
                (topic, peers)
            }
            .boxed(),
        );
    }

    /// Runs while the DHT is reachable. `Break` means shut down.
    async fn online(&mut self, mut online: Online) -> ControlFlow<()> {
        let discovering = Discovering::new();
        let mut discovering = discovering;
        let mut dials = Dials::new();
        let now = Instant::now();
        for topic in self.topics.topics() {
            self.look_up(&online, topic, &discovering);
            self.topics.hold(topic, now);
        }
        let mut refresh = tokio::time::interval(self.settings.refresh_interval);
        let mut health =
            tokio::time::interval_at(tokio::time::Instant::now() + HEALTH_CHECK, HEALTH_CHECK);
        let mut shutdown = self.ctx.shutdown.clone();
        let mut dialing = Dialing::new();
        let (probed_tx, mut probed) = mpsc::channel(1);
        self.probe(&probed_tx);
        loop {
            tokio::select! {
                Some(mut report) = probed.recv() => {
                    report.bound = Some(online.node.local_addr());
                    report.punches = self.report.borrow().punches;
                    if self.settings.offer_relay
                        && report.reachable == Reachability::Reachable
                        && online.relay.is_none()
                    {
                        let relay = start_relay(Arc::clone(&online.node));
                        tracing::info!(key = %hex::encode(relay.public_key), "reachable from outside: offering a blind relay");
                        online.relay = Some(relay);
                    }
                    report.relay = online.relay.as_ref().map(Relay::offer);
                    self.publish(report).await;
                }
                accepted = online.listener.connections.recv() => {
                    let Some(accepted) = accepted else { return ControlFlow::Continue(()) };
                    let Some(remote) = accepted.remote_public_key else { continue };
                    let new = NewConnection {
                        stream: accepted.stream,
                        remote,
                        client: false,
                        topics: Vec::new(),
                    };
                    self.on_connection(new, 0);
                }
                Some((topic, peers)) = discovering.next() => {
                    self.dial_found(&online, topic, peers, &mut dials);
                }
                Some((remote, topic, result)) = dials.next() => {
                    self.on_dialed(remote, topic, result);
                }
                command = self.control.recv() => match command {
                    Some(command) => self.apply_online(&online, command, &discovering),
                    None => return ControlFlow::Break(()),
                },
                Some((redial, connection)) = dialing.next() => {
                    self.on_redial(redial, connection);
                }
                _ = refresh.tick() => {
                    self.refresh(&online, &discovering);
                    self.release_parked();
                    self.dial_due(&online, &mut dialing);
                }
                Some((peer, serial, ended)) = self.ended.recv() => {
                    if self.connections.get(&peer).is_some_and(|live| live.serial == serial) {
                        if let Some(live) = self.connections.remove(&peer) {
                            self.lost(peer, live, ended);
                        }
                    }
                    self.release_parked();
                    self.dial_due(&online, &mut dialing);
                }
                _ = health.tick() => {
                    self.probe(&probed_tx);
                    if let Some(relay) = &online.relay {
                        let mut report = self.report.borrow().clone();
                        report.relay = Some(relay.offer());
                        self.publish(report).await;
                    }
                    let live = self.connections.values().any(|c| !c.task.is_finished());
                    match dht_check(online.node.table_len(), live) {
                        DhtCheck::Online(nodes) => self.status(NetworkStatus::Online { nodes }).await,
                        DhtCheck::Rejoin => return ControlFlow::Continue(()),
                        DhtCheck::Wait => {}
                    }
                }
                _ = shutdown.changed() => return ControlFlow::Break(()),
            }
        }
    }

    /// Joins or leaves a topic while the DHT is reachable: a join looks it
    /// up (and announces us) at once, a leave withdraws our announcement.
    fn apply_online(&mut self, online: &Online, command: SwarmControl, discovering: &Discovering) {
        match command {
            SwarmControl::Join(topic) => {
                self.look_up(online, topic, discovering);
                self.topics.join(topic, Instant::now());
            }
            SwarmControl::Leave(topic) => {
                self.topics.withdraw(&topic);
                let node = Arc::clone(&online.node);
                let key = online.key.clone();
                tokio::spawn(async move { unannounce(&node, &key, topic.0).await });
            }
        }
    }

    /// A dial of a peer a lookup found is over: a connection, or a failure
    /// (a failed holepunch is counted in the report).
    fn on_dialed(
        &mut self,
        remote: [u8; 32],
        topic: DiscoveryKey,
        result: Result<Connected, DialError>,
    ) {
        self.dialing.remove(&remote);
        match result {
            Ok(connected) => {
                let new = NewConnection {
                    stream: connected.stream,
                    remote,
                    client: true,
                    topics: vec![topic],
                };
                self.on_connection(new, 0);
            }
            Err(e) => {
                if e.is_failed_punch() {
                    self.count(|punches| punches.failed += 1);
                }
                tracing::debug!(peer = %hex::encode(remote), error = %e, "dial failed");
            }
        }
    }

    /// Dials the peers a lookup found that we are not connected to.
    fn dial_found(
        &mut self,
        online: &Online,
        topic: DiscoveryKey,
        peers: Vec<[u8; 32]>,
        dials: &mut Dials,
    ) {
        for remote in peers {
            let found = Found {
                ours: remote == online.listener.public_key,
                connected: self
                    .connections
                    .get(&ConnectionKey(remote))
                    .is_some_and(|c| !c.task.is_finished()),
                dialing: self.dialing.contains(&remote),
            };
            if !worth_dialing(found) {
                continue;
            }
            self.dialing.insert(remote);
            let node = Arc::clone(&online.node);
            dials.push(async move { (remote, topic, dial(&node, remote).await) }.boxed());
        }
    }

    /// Asks the bootstrap nodes where we are, off this task.
    fn probe(&self, done: &mpsc::Sender<NetworkReport>) {
        let bind = self.settings.bind.ip();
        let nodes = self.nodes.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let _ = done.send(probe::probe(bind, &nodes).await).await;
        });
    }

    /// Updates the punch tallies in the report and tells the UI.
    fn count(&mut self, change: impl FnOnce(&mut PunchStats)) {
        self.report
            .send_modify(|report| change(&mut report.punches));
        let report = self.report.borrow().clone();
        let _ = self.ctx.events.try_send(NetEvent::NetworkReport(report));
    }

    /// Tells the UI and the connections what changed in the report.
    async fn publish(&self, report: NetworkReport) {
        if *self.report.borrow() == report {
            return;
        }
        tracing::info!(?report, "network report");
        self.report.send_replace(report.clone());
        let _ = self.ctx.events.send(NetEvent::NetworkReport(report)).await;
    }

    /// Looks each topic up again: often while a log has no peer, seldom
    /// once it has one (announcements also need renewing within 20 min).
    fn refresh(&mut self, online: &Online, discovering: &Discovering) {
        let sessions = &self.ctx.shared.sessions;
        let due = self
            .topics
            .due(Instant::now(), |topic| sessions.has_peer(topic));
        for topic in due {
            self.look_up(online, topic, discovering);
        }
    }

    /// Dials the peers whose pause is over.
    fn dial_due(&mut self, online: &Online, dialing: &mut Dialing) {
        for redial in self.redials.due(Instant::now()) {
            if self.connections.contains_key(&redial.peer) {
                continue;
            }
            tracing::info!(peer = ?redial.peer, attempt = redial.attempt + 1, "dialing a lost peer again");
            let node = Arc::clone(&online.node);
            dialing.push(
                async move {
                    let connection = dial(&node, redial.peer.0).await;
                    (redial, connection)
                }
                .boxed(),
            );
        }
    }

    /// A dial of a lost peer is over: a connection, or the next dial
    /// planned (or none: given up).
    fn on_redial(&mut self, redial: Redial, connection: Result<Connected, DialError>) {
        match connection {
            Ok(connected) => {
                let new = NewConnection {
                    stream: connected.stream,
                    remote: redial.peer.0,
                    client: true,
                    topics: redial.topics.clone(),
                };
                self.on_connection(new, redial.attempt);
            }
            Err(_) => self.redials.dial_failed(redial, Instant::now()),
        }
    }

    /// Starts replication on a new connection; false when it was not kept.
    fn on_connection(&mut self, new: NewConnection, attempt: usize) -> bool {
        let peer = ConnectionKey(new.remote);
        if let Some(existing) = self.connections.get(&peer) {
            if !existing.task.is_finished() {
                // A peer reached twice (both sides dialed, or two relays).
                tracing::debug!(?peer, "parking a duplicate connection");
                self.parked.push((peer, new.stream.session));
                return false;
            }
        }
        tracing::info!(
            ?peer,
            client = new.client,
            path = %new.stream.path,
            remote = %new.stream.remote_addr,
            "connection established"
        );
        self.redials.connected(&peer);
        let (close, _) = watch::channel(false);
        let link = match new.stream.path {
            Taken::Direct => Link::Direct,
            Taken::Punched(how) => Link::Punched(how),
            Taken::Relayed(key) => Link::Relayed([key[0], key[1], key[2], key[3]]),
        };
        self.count(|punches| match link {
            Link::Punched(_) => punches.punched += 1,
            Link::Relayed(_) => punches.relayed += 1,
            _ => punches.direct += 1,
        });
        let dialed = new.client.then(|| new.stream.packets_in.clone());
        let supervised = connection::supervise(
            new.stream.session,
            peer,
            new.topics.clone(),
            link,
            self.ctx.clone(),
            close.clone(),
            dialed,
        );
        let ended_tx = self.ended_tx.clone();
        self.serial += 1;
        let serial = self.serial;
        let task = tokio::spawn(async move {
            let ended = supervised.await;
            let _ = ended_tx.send((peer, serial, ended));
            ended
        });
        self.connections.insert(
            peer,
            LiveConnection {
                task,
                close,
                client: new.client,
                topics: new.topics,
                since: Instant::now(),
                attempt,
                serial,
            },
        );
        true
    }

    /// Plans what follows a connection that ended: the redial plan hears
    /// of it.
    fn lost(&mut self, peer: ConnectionKey, live: LiveConnection, ended: Ended) {
        let replaced = ended
            .peer_session
            .is_some_and(|session| self.ctx.shared.sessions.session_connected(&session));
        let lost = Lost {
            peer,
            client: live.client,
            topics: live.topics,
            ended,
            replaced,
            lasted: live.since.elapsed(),
            attempt: live.attempt,
        };
        self.redials.lost(lost, Instant::now());
    }

    /// Forgets finished connections (dialing again the ones worth it) and
    /// the duplicates parked behind them.
    fn release_parked(&mut self) {
        let finished: Vec<ConnectionKey> = self
            .connections
            .iter()
            .filter(|(_, live)| live.task.is_finished())
            .map(|(peer, _)| *peer)
            .collect();
        for peer in finished {
            let Some(mut live) = self.connections.remove(&peer) else {
                continue;
            };
            if let Some(Ok(ended)) = (&mut live.task).now_or_never() {
                self.lost(peer, live, ended);
            }
        }
        let live: HashSet<ConnectionKey> = self.connections.keys().copied().collect();
        self.parked.retain(|(peer, _)| live.contains(peer));
    }
}

impl Drop for SwarmTask {
    fn drop(&mut self) {
        for live in self.connections.values() {
            live.close.send_replace(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dht_check_rejoins_only_with_no_node_and_no_connection() {
        // (nodes, a connection still runs, verdict)
        let table = [
            (3, false, DhtCheck::Online(3)),
            (3, true, DhtCheck::Online(3)),
            (0, true, DhtCheck::Wait),
            (0, false, DhtCheck::Rejoin),
            (usize::MAX, false, DhtCheck::Online(u32::MAX)),
        ];
        for (nodes, live, verdict) in table {
            assert_eq!(
                dht_check(nodes, live),
                verdict,
                "{nodes} nodes, live {live}"
            );
        }
    }

    #[test]
    fn why_the_dht_is_unreachable_reads_as_before() {
        let table = [
            (
                Unreachable::NoBootstrapAddress,
                "no bootstrap node address resolves",
            ),
            (Unreachable::NoAnswer, "no DHT node answered in time"),
            (
                Unreachable::Bind(BindError("the address is taken".into())),
                "the address is taken",
            ),
        ];
        for (reason, sentence) in table {
            assert_eq!(reason.to_string(), sentence);
        }
    }
}
