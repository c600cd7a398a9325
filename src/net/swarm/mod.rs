//! The swarm task: bootstraps the DHT (retrying with backoff while no node
//! answers), joins every held log's topic, refreshes discovery quickly while
//! a log has no peer, hands each new connection to its own replication
//! task, and dials lost peers again when `redial` says so. It is the only
//! reader of `swarm.connections()`.

pub mod bind;
pub(crate) mod bootstrap;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use hyperswarm::{DhtConfig, JoinOpts, PublicKey, Swarm, Topic};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::domain::keys::{ConnectionKey, DiscoveryKey};
use crate::net::compat::dht_panics;
use crate::net::compat::redial::{Lost, Redial, RedialPlan};
use crate::net::connection::{self, ConnectionContext, Ended};
use bootstrap::{BootstrapNode, DEFAULT_LOCAL_BOOTSTRAP};

use crate::net::compat::fresh_swarm::FreshSwarmPlan;
use crate::net::dht::probe;
use crate::net::{NetEvent, NetworkReport, NetworkStatus};

const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(8);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Once a log has a peer, discovery is refreshed this seldom.
const SETTLED_REFRESH: Duration = Duration::from_secs(120);
/// How often the DHT is checked to keep the status honest.
const HEALTH_CHECK: Duration = Duration::from_secs(60);
/// How soon a DHT node that panicked is built again.
const PANIC_PAUSE: Duration = Duration::from_secs(1);
/// A dial that has not connected by then has failed.
const DIAL_TIMEOUT: Duration = Duration::from_secs(15);

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
}

type Dialing = FuturesUnordered<BoxFuture<'static, (Redial, Option<hyperswarm::Connection>)>>;

struct SwarmTask {
    settings: SwarmSettings,
    ctx: ConnectionContext,
    control: mpsc::Receiver<SwarmControl>,
    topics: HashMap<DiscoveryKey, Instant>,
    local_bootstrap: Option<BootstrapNode>,
    connections: HashMap<ConnectionKey, LiveConnection>,
    /// The key our DHT dials with: an accepted connection from it is our own.
    own_dial_key: Option<[u8; 32]>,
    /// Duplicate connections to a peer we already replicate with. Dropping
    /// them would reset the shared stream (docs/architecture.md §2), so they are kept
    /// unpolled until the first connection ends.
    parked: Vec<(ConnectionKey, hyperswarm::Connection)>,
    /// Peers whose connection failed or dropped, to be dialed again.
    redials: RedialPlan,
    /// When to forget every peer and make the swarm afresh.
    fresh: FreshSwarmPlan,
    /// Any swarm of this process made or took a connection.
    ever_connected: bool,
    /// The bootstrap nodes of the last attempt, for the address probe.
    nodes: Vec<SocketAddr>,
    /// What we know of our place on the network, shared with connections
    /// (their hello carries it).
    report: watch::Sender<NetworkReport>,
}

pub(crate) async fn run(
    settings: SwarmSettings,
    ctx: ConnectionContext,
    control: mpsc::Receiver<SwarmControl>,
    initial_topics: Vec<DiscoveryKey>,
    report: watch::Sender<NetworkReport>,
) {
    let now = Instant::now();
    let mut task = SwarmTask {
        settings,
        ctx,
        control,
        topics: initial_topics.into_iter().map(|t| (t, now)).collect(),
        local_bootstrap: None,
        connections: HashMap::new(),
        own_dial_key: None,
        parked: Vec::new(),
        redials: RedialPlan::default(),
        nodes: Vec::new(),
        fresh: FreshSwarmPlan::default(),
        ever_connected: false,
        report,
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
            // compat: hyperdht row. A peer's request can panic the DHT node
            // inside any call that polls it: the node (and the swarm around
            // it) is then dropped and built afresh after a short pause.
            let attempt = tokio::select! {
                attempt = dht_panics::contain(self.connect()) => attempt,
                _ = shutdown.changed() => return,
            };
            let outcome = match attempt {
                Ok(Ok((swarm, nodes))) => {
                    backoff = Duration::from_secs(1);
                    self.status(NetworkStatus::Online { nodes }).await;
                    match dht_panics::contain(self.online(swarm)).await {
                        Ok(ControlFlow::Break(())) => return,
                        Ok(ControlFlow::Continue(())) => Ok(()),
                        Err(panicked) => Err(self.after_panic(&panicked, &mut backoff)),
                    }
                }
                Ok(Err(reason)) => Err(reason),
                Err(panicked) => Err(self.after_panic(&panicked, &mut backoff)),
            };
            match outcome {
                Ok(()) => {}
                Err(reason) => {
                    tracing::info!(%reason, retry_in = ?backoff, "DHT unreachable");
                    self.status(NetworkStatus::Offline {
                        reason,
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
        }
    }

    /// Logs a contained DHT panic; the next attempt comes after a short pause.
    fn after_panic(&self, panicked: &dht_panics::Panicked, backoff: &mut Duration) -> String {
        dht_panics::log_recovery("the DHT node", panicked);
        *backoff = PANIC_PAUSE;
        "the DHT node failed on a peer's request; restarting it".to_string()
    }

    fn apply_offline(&mut self, command: SwarmControl) {
        match command {
            SwarmControl::Join(topic) => {
                self.topics.insert(topic, Instant::now());
            }
            SwarmControl::Leave(topic) => {
                self.topics.remove(&topic);
            }
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

    async fn connect(&mut self) -> Result<(Swarm, u32), String> {
        let addrs = self.bootstrap_addresses().await;
        self.nodes.clone_from(&addrs);
        if addrs.is_empty() {
            return Err("no bootstrap node address resolves".into());
        }
        let mut config = DhtConfig::default().bind(self.settings.bind).map_err(|e| {
            bind::check_bind(self.settings.bind)
                .err()
                .map_or(e.to_string(), |b| b.0)
        })?;
        for addr in &addrs {
            config = config.add_bootstrap_node(*addr);
        }
        let swarm = Swarm::new(config).await.map_err(|e| e.to_string())?;
        match tokio::time::timeout(BOOTSTRAP_TIMEOUT, swarm.bootstrap()).await {
            Ok(Ok(done)) if done.stats.num_successes() > 0 => {
                Ok((swarm, done.stats.num_successes()))
            }
            Ok(Ok(_)) => Err("no DHT node answered".into()),
            Ok(Err(e)) => Err(format!("bootstrap failed: {e}")),
            Err(_) => Err("no DHT node answered in time".into()),
        }
    }

    /// Runs while the DHT is reachable. `Break` means shut down.
    async fn online(&mut self, swarm: Swarm) -> ControlFlow<()> {
        // Shared with dials of lost peers while they run.
        let swarm = Arc::new(swarm);
        let mut incoming = swarm.connections();
        let now = Instant::now();
        for (topic, joined) in self.topics.iter_mut() {
            swarm.join(Topic(topic.0), JoinOpts::Both);
            *joined = now;
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
                    report.bound = swarm.local_addr().ok();
                    self.publish(report).await;
                }
                event = incoming.next() => match event {
                    Some(Ok(event)) if event.client && event.remote_public_key == swarm.public_key() => {
                        // Our own announcement found by our own lookup: close
                        // both halves (the accepting half sees our dial key).
                        // compat: hyperswarm row (our own announcements are dialed)
                        tracing::debug!("closing a connection to ourselves");
                        let mut connection = event.connection;
                        let dial_key = hypercore_handshake::CipherTrait::local_public_key(&connection);
                        self.own_dial_key = Some(dial_key);
                        if let Some(accepted) = self.connections.get(&ConnectionKey(dial_key)) {
                            accepted.close.send_replace(true);
                        }
                        tokio::spawn(async move {
                            let _ = tokio::time::timeout(
                                Duration::from_secs(5),
                                futures::SinkExt::close(&mut connection),
                            )
                            .await;
                        });
                    }
                    Some(Ok(event)) => self.ever_connected |= self.on_connection(event, 0),
                    Some(Err(e)) => tracing::debug!(error = %e, "swarm connection error"),
                    None => return ControlFlow::Continue(()),
                },
                command = self.control.recv() => match command {
                    Some(SwarmControl::Join(topic)) => {
                        swarm.join(Topic(topic.0), JoinOpts::Both);
                        self.topics.insert(topic, Instant::now());
                    }
                    Some(SwarmControl::Leave(topic)) => {
                        swarm.leave(&Topic(topic.0));
                        self.topics.remove(&topic);
                    }
                    None => return ControlFlow::Break(()),
                },
                Some((redial, connection)) = dialing.next() => {
                    self.on_redial(redial, connection);
                }
                _ = refresh.tick() => {
                    self.refresh(&swarm);
                    self.release_parked();
                    self.dial_due(&swarm, &mut dialing);
                    let carried = self.topics.keys().any(|t| self.ctx.shared.sessions.has_peer(t));
                    let lonely = !self.topics.is_empty() && !carried;
                    if self.fresh.due(Instant::now(), lonely, self.ever_connected) {
                        tracing::info!("no connection carries any log; starting a fresh swarm to dial peers again");
                        return ControlFlow::Continue(());
                    }
                }
                _ = health.tick() => {
                    self.probe(&probed_tx);
                    match tokio::time::timeout(BOOTSTRAP_TIMEOUT, swarm.bootstrap()).await {
                        Ok(Ok(done)) if done.stats.num_successes() > 0 => {
                            self.status(NetworkStatus::Online { nodes: done.stats.num_successes() }).await;
                        }
                        _ if self.connections.values().any(|c| !c.task.is_finished()) => {}
                        _ => return ControlFlow::Continue(()),
                    }
                }
                _ = shutdown.changed() => return ControlFlow::Break(()),
            }
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

    /// Tells the UI and the connections what changed in the report.
    async fn publish(&self, report: NetworkReport) {
        if *self.report.borrow() == report {
            return;
        }
        tracing::info!(?report, "network report");
        self.report.send_replace(report.clone());
        let _ = self.ctx.events.send(NetEvent::NetworkReport(report)).await;
    }

    /// Lookups refresh only every ~10 minutes on their own (docs/architecture.md §2): rejoin
    /// often while a log has no peer, seldom once it has one.
    fn refresh(&mut self, swarm: &Swarm) {
        let now = Instant::now();
        for (topic, joined) in self.topics.iter_mut() {
            let every = if self.ctx.shared.sessions.has_peer(topic) {
                SETTLED_REFRESH
            } else {
                self.settings.refresh_interval
            };
            if now.duration_since(*joined) >= every {
                swarm.leave(&Topic(topic.0));
                swarm.join(Topic(topic.0), JoinOpts::Both);
                *joined = now;
            }
        }
    }

    /// Dials the peers whose pause is over.
    fn dial_due(&mut self, swarm: &Arc<Swarm>, dialing: &mut Dialing) {
        for redial in self.redials.due(Instant::now()) {
            if self.connections.contains_key(&redial.peer) {
                continue;
            }
            tracing::info!(peer = ?redial.peer, attempt = redial.attempt + 1, "dialing a lost peer again");
            let swarm = Arc::clone(swarm);
            dialing.push(
                async move {
                    let connect = swarm.connect(PublicKey::from(redial.peer.0));
                    let connection = tokio::time::timeout(DIAL_TIMEOUT, connect)
                        .await
                        .ok()
                        .and_then(Result::ok);
                    (redial, connection)
                }
                .boxed(),
            );
        }
    }

    fn on_redial(&mut self, redial: Redial, connection: Option<hyperswarm::Connection>) {
        match connection {
            Some(connection) => {
                let event = hyperswarm::ConnectionEvent {
                    connection,
                    remote_public_key: Topic(redial.peer.0),
                    client: true,
                    topics: redial.topics.iter().map(|t| Topic(t.0)).collect(),
                };
                self.on_connection(event, redial.attempt);
            }
            None => self.redials.dial_failed(redial, Instant::now()),
        }
    }

    /// Starts replication on a new connection; false when it was not kept.
    fn on_connection(&mut self, event: hyperswarm::ConnectionEvent, attempt: usize) -> bool {
        let peer = ConnectionKey(event.remote_public_key.0);
        if event.client {
            self.own_dial_key = Some(hypercore_handshake::CipherTrait::local_public_key(
                &event.connection,
            ));
        } else if self.own_dial_key == Some(peer.0) {
            tracing::debug!("closing an accepted connection from ourselves");
            return false;
        }
        if let Some(existing) = self.connections.get(&peer) {
            if !existing.task.is_finished() {
                // compat: hyperdht row (duplicate connections from relayed handshakes)
                tracing::debug!(?peer, "parking a duplicate connection");
                self.parked.push((peer, event.connection));
                return false;
            }
        }
        let topics: Vec<DiscoveryKey> = event.topics.iter().map(|t| DiscoveryKey(t.0)).collect();
        tracing::info!(?peer, client = event.client, "connection established");
        self.redials.connected(&peer);
        let (close, _) = watch::channel(false);
        let task = tokio::spawn(connection::supervise(
            event.connection,
            peer,
            topics.clone(),
            self.ctx.clone(),
            close.clone(),
        ));
        self.connections.insert(
            peer,
            LiveConnection {
                task,
                close,
                client: event.client,
                topics,
                since: Instant::now(),
                attempt,
            },
        );
        true
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
