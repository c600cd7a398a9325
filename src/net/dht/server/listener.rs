//! The server role of a DHT connection, as JS hyperdht's `server.js` plays
//! it: announce ourselves to the nodes closest to our key, answer each
//! client's handshake, and open the UDX stream on the path the client can
//! use.
//!
//! - A handshake is answered once per first Noise message (a client sends
//!   it through several relays); its entry's index is the `holepunch.id`
//!   the client's rounds name.
//! - A client that came straight to us, or says it is OPEN, is connected at
//!   once from the DHT socket to where its packets come from.
//! - Otherwise we punch: a puncher socket answers the handshake (so the
//!   relay tells the client where our puncher is), samples our NAT, and
//!   handles the client's PEER_HOLEPUNCH rounds (`_onpeerholepunch`):
//!   verdicts and addresses both ways, a token for hosts whose rounds came
//!   through our own relays, the "fast mode" probe, the throttle on random
//!   punches, and the strategy's probes as the side that did not start.
//! - The stream opens on the socket and at the address where the client's
//!   first UDX packet really comes from (what JS's firewall hook does), so
//!   a NAT that changes ports does not matter.
//! - Our answer's `addresses4` are our interface addresses with the DHT
//!   socket's port, each checked to receive (JS `validateLocalAddresses`).
//!   A client behind our own router (the relay saw us both at one public
//!   IP) may reach us over the LAN (`lan`): a stream on the DHT socket
//!   waits for its first packet beside the punch, and under JS's LAN rule
//!   the answer goes from the DHT socket, not a puncher.
//! - A client whose payload names a blind relay is met there
//!   (`client::relayed::pair_through`, as the responder), not punched.
//! - We never claim to be OPEN (design rule 4 of the holepunch notes):
//!   public servers are punched too, which costs one fast round.
//!
//! One task per server routes messages; one task per handshake entry runs
//! its punch. Every entry ends within `PREPUNCH` unless a punch started,
//! and every punch ends when its probes run out.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::announcer::{announce, Relays};
use super::lan::{first_bytes, FirstBytes, LanPlan};
use crate::net::dht::client::relayed::pair_through;
use crate::net::dht::connection::handshake::{respond, HandshakeError, Handshaken};
use crate::net::dht::connection::lan::{self, Lan};
use crate::net::dht::connection::sampler::{Firewall, NatSampler};
use crate::net::dht::connection::sockets::{sample_nat, Extra, PunchSockets};
use crate::net::dht::connection::strategy::{
    self, remote_addresses, strategy_name, ProbeSchedule, RemoteAddress,
};
use crate::net::dht::connection::stream::{DhtStream, Taken};
use crate::net::dht::encoding::crypto::{hash, SecurePayload};
use crate::net::dht::encoding::messages::{
    Handshake, Holepunch, HolepunchInfo, HolepunchPayload, Mode, NoisePayload, SecretStreamInfo,
    UdxInfo, ERROR_ABORTED, ERROR_NONE, ERROR_TRY_LATER, ERROR_VERSION_MISMATCH, FIND_PEER,
    FIREWALL_OPEN, PEER_HANDSHAKE, PEER_HOLEPUNCH,
};
use crate::net::dht::encoding::wire::{Reply, Request};
use crate::net::dht::kademlia::rpc::Rpc;
use crate::net::dht::kademlia::service::{DhtNode, Served};
use crate::net::transport::secret::noise::KeyPair;
use crate::net::transport::udx::socket::UdxStream;

/// A handshake that starts no punch is dropped after this (JS
/// `HANDSHAKE_INITIAL_TIMEOUT`).
pub(crate) const PREPUNCH: Duration = Duration::from_secs(10);
/// Announcements are renewed this often (records live 20 minutes).
const REANNOUNCE: Duration = Duration::from_secs(120);
/// When no relay took the last announcement, the next try comes sooner.
const REANNOUNCE_SOON: Duration = Duration::from_secs(5);
/// Handshake entries at once; more clients wait for a free one.
const MAX_ENTRIES: usize = 256;

/// A connection a client opened to us.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) stream: DhtStream,
    /// The client's key, when its handshake gave one.
    pub(crate) remote_public_key: Option<[u8; 32]>,
}

/// A server listening on the DHT. Dropping it stops it.
pub(crate) struct Listener {
    pub(crate) connections: mpsc::Receiver<Accepted>,
    /// The relays our last announcement reached (topic records list them).
    pub(crate) relays: watch::Receiver<Vec<SocketAddrV4>>,
    pub(crate) public_key: [u8; 32],
    task: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a server for `key` on `node`: it announces itself and accepts,
/// with the LAN shortcut as the environment sets it (`Lan::from_env`).
pub(crate) fn listen(node: Arc<DhtNode>, key: SigningKey) -> Listener {
    listen_with(node, key, Lan::from_env())
}

/// `listen`, with the LAN shortcut on or off (JS `shareLocalAddress`).
/// The node dials under `key` from now on (hyperswarm's one key pair).
pub(crate) fn listen_with(node: Arc<DhtNode>, key: SigningKey, lan: Lan) -> Listener {
    node.set_key_pair(KeyPair::from_seed(key.to_bytes()));
    serve_as(node, key, lan)
}

/// A second server on `node` under `key` (a blind relay's), leaving the
/// key the node dials under as it was.
pub(crate) fn serve_as(node: Arc<DhtNode>, key: SigningKey, lan: Lan) -> Listener {
    let (accepted_tx, connections) = mpsc::channel(16);
    let (relays_tx, relays) = watch::channel(Vec::new());
    let public_key = key.verifying_key().to_bytes();
    let task = tokio::spawn(serve(node, key, lan, accepted_tx, relays_tx));
    Listener {
        connections,
        relays,
        public_key,
        task,
    }
}

/// What a handshake entry's task is told.
enum ToEntry {
    /// A holepunch round; `on_puncher` when it reached our puncher socket.
    Round {
        request: Request,
        from: SocketAddrV4,
        on_puncher: bool,
    },
    /// The same first message again (another relay): answer it again.
    Again {
        request: Request,
        from: SocketAddrV4,
    },
}

/// Each interface address's verdict: does it receive (`lan::validated`).
type Validated = Arc<std::sync::Mutex<HashMap<std::net::Ipv4Addr, bool>>>;

struct Server {
    node: Arc<DhtNode>,
    key: SigningKey,
    lan: Lan,
    validated: Validated,
    target: [u8; 32],
    relays: Relays,
    /// Entry index → its task's inbox; `None` for a free slot.
    entries: Vec<Option<mpsc::Sender<ToEntry>>>,
    /// First Noise message → entry index.
    by_noise: HashMap<Vec<u8>, usize>,
    accepted: mpsc::Sender<Accepted>,
}

async fn serve(
    node: Arc<DhtNode>,
    key: SigningKey,
    lan: Lan,
    accepted: mpsc::Sender<Accepted>,
    relays_tx: watch::Sender<Vec<SocketAddrV4>>,
) {
    let target = hash(&[&key.verifying_key().to_bytes()]);
    let (inbox_tx, mut inbox) = mpsc::channel::<Served>(256);
    node.serve(target, inbox_tx);
    let (ended_tx, mut ended) = mpsc::unbounded_channel::<(usize, Vec<u8>)>();
    let mut server = Server {
        node: Arc::clone(&node),
        key,
        lan,
        validated: Validated::default(),
        target,
        relays: Relays::default(),
        entries: Vec::new(),
        by_noise: HashMap::new(),
        accepted,
    };
    let mut next_announce = tokio::time::Instant::now();
    loop {
        tokio::select! {
            served = inbox.recv() => {
                let Some(Served { request, from }) = served else { break };
                server.on_request(request, from, &ended_tx);
            }
            Some((index, noise)) = ended.recv() => {
                if let Some(slot) = server.entries.get_mut(index) {
                    *slot = None;
                }
                server.by_noise.remove(&noise);
            }
            _ = tokio::time::sleep_until(next_announce) => {
                let relays =
                    announce(&server.node, &server.key, server.target, FIND_PEER, Vec::new()).await;
                let soon = relays.is_empty();
                tracing::debug!(relays = relays.len(), "announced our server");
                server.relays.update(relays);
                let current = server.relays.current().iter().map(|r| r.relay_address).collect();
                relays_tx.send_replace(current);
                next_announce = tokio::time::Instant::now() + if soon { REANNOUNCE_SOON } else { REANNOUNCE };
            }
        }
    }
    node.stop_serving(target);
}

impl Server {
    fn on_request(
        &mut self,
        request: Request,
        from: SocketAddrV4,
        ended: &mpsc::UnboundedSender<(usize, Vec<u8>)>,
    ) {
        match request.command {
            PEER_HANDSHAKE => self.on_handshake(request, from, ended),
            PEER_HOLEPUNCH => {
                let Some(holepunch) = Holepunch::of(&request) else {
                    return;
                };
                let inbox = usize::try_from(holepunch.id)
                    .ok()
                    .and_then(|i| self.entries.get(i))
                    .and_then(Option::as_ref);
                // No such handshake: JS answers an abort from the DHT
                // socket, but without its box it could not be read.
                if let Some(inbox) = inbox {
                    let _ = inbox.try_send(ToEntry::Round {
                        request,
                        from,
                        on_puncher: false,
                    });
                }
            }
            _ => {}
        }
    }

    fn on_handshake(
        &mut self,
        request: Request,
        from: SocketAddrV4,
        ended: &mpsc::UnboundedSender<(usize, Vec<u8>)>,
    ) {
        let Some(handshake) = Handshake::of(&request) else {
            return;
        };
        if handshake.noise.is_empty() {
            return;
        }
        if let Some(inbox) = self
            .by_noise
            .get(&handshake.noise)
            .and_then(|i| self.entries.get(*i))
            .and_then(Option::as_ref)
        {
            let _ = inbox.try_send(ToEntry::Again { request, from });
            return;
        }
        let Some(reply_to) = reply_route(&handshake, from) else {
            return;
        };
        let index = match self.entries.iter().position(Option::is_none) {
            Some(free) => free,
            None if self.entries.len() < MAX_ENTRIES => {
                self.entries.push(None);
                self.entries.len() - 1
            }
            None => return,
        };
        let (tx, rx) = mpsc::channel(32);
        self.entries[index] = Some(tx);
        self.by_noise.insert(handshake.noise.clone(), index);
        let entry = EntryStart {
            node: Arc::clone(&self.node),
            lan: self.lan,
            validated: Arc::clone(&self.validated),
            key: KeyPair::from_seed(self.key.to_bytes()),
            target: self.target,
            id: index,
            relays: self.relays.clone(),
            handshake,
            request,
            reply_to,
            accepted: self.accepted.clone(),
        };
        let ended = ended.clone();
        tokio::spawn(async move {
            let noise = entry.handshake.noise.clone();
            run_entry(entry, rx).await;
            // Keep the entry a while so repeats through other relays are
            // answered the same (JS `handshakeClearWait`).
            tokio::time::sleep(PREPUNCH).await;
            let _ = ended.send((index, noise));
        });
    }
}

/// Where the answer to a handshake goes, by the mode it came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplyTo {
    /// It came straight from the client: a reply to its request.
    Client(SocketAddrV4),
    /// It came through a relay (first or second): a FROM_SERVER request to
    /// that relay, naming the client.
    Relay {
        relay: SocketAddrV4,
        client: SocketAddrV4,
    },
}

impl ReplyTo {
    fn client(self) -> SocketAddrV4 {
        match self {
            ReplyTo::Client(client) | ReplyTo::Relay { client, .. } => client,
        }
    }
}

fn reply_route(handshake: &Handshake, from: SocketAddrV4) -> Option<ReplyTo> {
    match handshake.mode {
        Mode::FromClient => Some(ReplyTo::Client(from)),
        Mode::FromRelay => Some(ReplyTo::Relay {
            relay: from,
            client: handshake.peer_address?,
        }),
        Mode::FromSecondRelay => Some(ReplyTo::Relay {
            relay: handshake.relay_address?,
            client: handshake.peer_address?,
        }),
        Mode::FromServer | Mode::Reply | Mode::Other(_) => None,
    }
}

struct EntryStart {
    node: Arc<DhtNode>,
    lan: Lan,
    validated: Validated,
    key: KeyPair,
    target: [u8; 32],
    id: usize,
    relays: Relays,
    handshake: Handshake,
    request: Request,
    reply_to: ReplyTo,
    accepted: mpsc::Sender<Accepted>,
}

/// Sends the handshake answer `noise` back the way the handshake came,
/// from `rpc`'s socket.
fn send_answer(rpc: &Rpc, target: [u8; 32], request: &Request, reply_to: ReplyTo, noise: &[u8]) {
    match reply_to {
        ReplyTo::Client(client) => {
            let reply = Reply {
                value: Some(
                    Handshake {
                        mode: Mode::Reply,
                        noise: noise.to_vec(),
                        peer_address: None,
                        relay_address: None,
                    }
                    .encode(),
                ),
                ..Reply::to_request(request, client)
            };
            rpc.reply(&reply, client);
        }
        ReplyTo::Relay { relay, client } => {
            let forwarded = Request {
                target: Some(target),
                value: Some(
                    Handshake {
                        mode: Mode::FromServer,
                        noise: noise.to_vec(),
                        peer_address: Some(client),
                        relay_address: None,
                    }
                    .encode(),
                ),
                ..Request::new(request.tid, relay, false, PEER_HANDSHAKE)
            };
            rpc.forward(&forwarded, relay);
        }
    }
}

/// One client's handshake, from the answer to the connection.
async fn run_entry(start: EntryStart, mut inbox: mpsc::Receiver<ToEntry>) {
    let local_udx: u32 = rand::random();
    let relays = start.relays.current().to_vec();
    let relay_addresses: Vec<SocketAddrV4> = relays.iter().map(|r| r.relay_address).collect();
    let dht = start.node.rpc();
    let ours = if start.lan.is_on() {
        let candidates = lan::local_addresses(dht.local_addr(), &lan::interfaces());
        lan::validated(candidates, &start.validated).await
    } else {
        Vec::new()
    };
    let responded = respond(&start.key, &start.handshake.noise, |client| {
        let error = match client {
            Ok(_) => ERROR_NONE,
            Err(HandshakeError::VersionMismatch) => ERROR_VERSION_MISMATCH,
            Err(_) => ERROR_ABORTED,
        };
        NoisePayload {
            error,
            holepunch: Some(HolepunchInfo {
                id: start.id as u64,
                relays: relays.clone(),
            }),
            addresses4: ours.clone(),
            udx: Some(UdxInfo::new(local_udx, false)),
            secret_stream: Some(SecretStreamInfo::default()),
            relay_addresses: (!relay_addresses.is_empty()).then(|| relay_addresses.clone()),
            ..NoisePayload::default()
        }
    });
    let Ok(responded) = responded else {
        return;
    };
    // The answer goes back the way the request came, sent from `rpc`.
    let answer_from = |rpc: &Rpc| {
        send_answer(
            rpc,
            start.target,
            &start.request,
            start.reply_to,
            &responded.answer,
        )
    };
    let direct = matches!(start.reply_to, ReplyTo::Client(_));
    let done = match responded.accepted {
        Ok(done) => done,
        Err(_) => {
            answer_from(dht);
            return;
        }
    };
    let Some(remote_udx) = done
        .remote
        .udx
        .as_ref()
        .and_then(|u| u32::try_from(u.id).ok())
    else {
        return;
    };
    // A client that came straight here, or is open, is dialed at once.
    if direct || done.remote.firewall == FIREWALL_OPEN {
        let client = start.reply_to.client();
        let half = dht.socket().create_stream(local_udx);
        answer_from(dht);
        if let Ok(half) = half {
            if let Ok(stream) = half.connect(SocketAddr::V4(client), remote_udx) {
                deliver(&start.accepted, done, stream, client, Taken::Direct, None).await;
            }
        }
        return;
    }
    // A client that named a blind relay meets us there (JS's
    // `_relayConnection`; we pair as the responder and do not punch).
    if let Some(relay) = done.remote.relay_through {
        answer_from(dht);
        match pair_through(&start.node, relay.public_key, false, relay.token, local_udx).await {
            Ok(relayed) => {
                let stream = DhtStream::open(
                    &done.split,
                    done.local_public_key,
                    relayed.stream,
                    relayed.relay_addr,
                    Taken::Relayed(relay.public_key),
                    None,
                )
                .holding(relayed.hold);
                deliver_stream(&start.accepted, done.remote_public_key, stream).await;
            }
            Err(e) => tracing::debug!(error = %e, "the client's blind relay did not pair us"),
        }
        return;
    }
    let bind_ip = dht.local_addr().ip();
    let Ok((sockets, extra)) = PunchSockets::open_serving(bind_ip) else {
        return;
    };
    let Some(puncher) = sockets.rpc(0).cloned() else {
        return;
    };
    // A client behind our router may come over the LAN: a stream on the
    // DHT socket waits for it beside the punch.
    let lan_plan = super::lan::plan(
        start.lan,
        true,
        start.reply_to.client(),
        start.request.to,
        &done.remote,
        &ours,
    );
    let lan_stream = lan_plan.and_then(|plan| {
        let half = dht.socket().create_stream(local_udx).ok()?;
        let stream = half.connect(SocketAddr::V4(plan.client), remote_udx).ok()?;
        tracing::debug!(client = %plan.client, answer_from_dht = plan.answer_from_dht, "LAN shortcut: waiting for the client on the DHT socket");
        Some((plan, stream))
    });
    let answer_from_dht = lan_stream.as_ref().is_some_and(|(p, _)| p.answer_from_dht);
    // Answered from the puncher, so the relay tells the client where it
    // is; under JS's LAN rule from the DHT socket, the one the client
    // reaches over the LAN.
    answer_from(if answer_from_dht { dht } else { &puncher });
    let punch = ServerPunch {
        node: Arc::clone(&start.node),
        target: start.target,
        secure: SecurePayload::new(&done.holepunch_secret),
        relays: start.relays,
        nat: NatSampler::new(true),
        sockets,
        remote_firewall: Firewall::from_u64(done.remote.firewall),
        remote: Vec::new(),
        remote_punching: false,
        round: 0,
        schedule: None,
        strategy: "fast",
        random: false,
        answer: responded.answer.clone(),
        answer_from_dht,
    };
    let lan_wait = lan_stream.as_ref().map(|(_, s)| first_bytes(s.clone()));
    let won = punch.run(&mut inbox, extra, local_udx, lan_wait).await;
    match (won, lan_stream) {
        (Some(Won::Lan(head)), Some((LanPlan { client, .. }, stream))) => {
            tracing::debug!(%client, "LAN shortcut: the client came over the LAN");
            let stream = DhtStream::open_after(
                &done.split,
                done.local_public_key,
                stream,
                &head,
                client,
                Taken::Direct,
                None,
            );
            deliver_stream(&start.accepted, done.remote_public_key, stream).await;
        }
        (Some(Won::Punched(socket, remote, how, early)), _) => {
            let Ok(half) = socket.socket().create_stream(local_udx) else {
                return;
            };
            if let Ok(stream) = half.connect(SocketAddr::V4(remote), remote_udx) {
                // The client's first packets taught us its address; the
                // stream gets them too, without waiting for a resend.
                socket.socket().inject(&early, SocketAddr::V4(remote));
                deliver(
                    &start.accepted,
                    done,
                    stream,
                    remote,
                    Taken::Punched(how),
                    Some(socket),
                )
                .await;
            }
        }
        _ => {}
    }
}

async fn deliver(
    accepted: &mpsc::Sender<Accepted>,
    done: Handshaken,
    stream: UdxStream,
    remote_addr: SocketAddrV4,
    path: Taken,
    socket: Option<Rpc>,
) {
    let stream = DhtStream::open(
        &done.split,
        done.local_public_key,
        stream,
        remote_addr,
        path,
        socket,
    );
    deliver_stream(accepted, done.remote_public_key, stream).await;
}

async fn deliver_stream(
    accepted: &mpsc::Sender<Accepted>,
    remote_public_key: Option<[u8; 32]>,
    stream: DhtStream,
) {
    tracing::debug!(remote_addr = %stream.remote_addr, path = %stream.path, "accepted a connection");
    let _ = accepted
        .send(Accepted {
            remote_public_key,
            stream,
        })
        .await;
}

/// How a handshake entry's punch ended well.
enum Won {
    /// The client's first UDX packet reached this punch socket, from this
    /// address (the strategy, and the packets that came before the stream).
    Punched(Rpc, SocketAddrV4, &'static str, Vec<Vec<u8>>),
    /// Its first bytes came over the LAN, on the DHT socket's stream.
    Lan(Vec<u8>),
}

/// What ended the punch loop: a punch socket's first UDX packet (which
/// socket, from where, and the packets so far) or the LAN's first bytes.
enum Arrival {
    Punched(usize, SocketAddrV4, Vec<Vec<u8>>),
    Lan(Vec<u8>),
}

/// The punch of one handshake entry, on the serving side.
struct ServerPunch {
    node: Arc<DhtNode>,
    target: [u8; 32],
    secure: SecurePayload,
    relays: Relays,
    nat: NatSampler,
    sockets: PunchSockets,
    remote_firewall: Firewall,
    remote: Vec<RemoteAddress>,
    remote_punching: bool,
    round: u64,
    schedule: Option<ProbeSchedule>,
    strategy: &'static str,
    random: bool,
    /// Our handshake answer, for repeats of the first message.
    answer: Vec<u8>,
    /// Whether the answer went from the DHT socket (JS's LAN rule), so
    /// repeats go from there too.
    answer_from_dht: bool,
}

impl ServerPunch {
    /// Runs until the client's first UDX packet arrives on one of our punch
    /// sockets (that socket, the packet's source and the strategy), or its
    /// first bytes on the DHT socket's stream that `lan` waits on, or the
    /// punch gives up.
    async fn run(
        mut self,
        inbox: &mut mpsc::Receiver<ToEntry>,
        mut extras: mpsc::Receiver<Extra>,
        local_udx: u32,
        mut lan: Option<FirstBytes>,
    ) -> Option<Won> {
        match lan.as_mut() {
            Some(wait) => tokio::select! {
                () = self.sample() => {}
                head = wait => return Some(Won::Lan(head)),
            },
            None => self.sample().await,
        }
        let lan_arrival = async {
            match lan.as_mut() {
                Some(wait) => wait.await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(lan_arrival);
        let prepunch = tokio::time::Instant::now() + PREPUNCH;
        let outcome = loop {
            let wake = self
                .schedule
                .as_ref()
                .and_then(ProbeSchedule::next_wake)
                .map(tokio::time::Instant::from_std);
            let deadline = match (&self.schedule, wake) {
                (Some(_), Some(wake)) => wake,
                // Punching, probes spent: a last moment for the stream.
                (Some(_), None) => tokio::time::Instant::now() + Duration::from_secs(2),
                (None, _) => prepunch,
            };
            tokio::select! {
                message = inbox.recv() => match message {
                    Some(ToEntry::Round { request, from, on_puncher }) => {
                        self.on_round(request, from, on_puncher).await;
                    }
                    Some(ToEntry::Again { request, from }) => {
                        if let Some(route) = Handshake::decode(request.value.as_deref().unwrap_or_default())
                            .ok()
                            .and_then(|h| reply_route(&h, from))
                        {
                            let rpc = if self.answer_from_dht {
                                Some(self.node.rpc())
                            } else {
                                self.sockets.rpc(0)
                            };
                            if let Some(rpc) = rpc {
                                send_answer(rpc, self.target, &request, route, &self.answer);
                            }
                        }
                    }
                    None => break None,
                },
                Some(extra) = extras.recv() => match extra {
                    Extra::Request { request, from } if request.command == PEER_HOLEPUNCH => {
                        self.on_round(request, from, true).await;
                    }
                    Extra::Request { .. } => {}
                    Extra::Udx { socket, stream_id, from, bytes } if stream_id == local_udx => {
                        // Its next packets may already wait behind it.
                        let mut early = vec![bytes];
                        while let Ok(Extra::Udx { socket: s, stream_id: id, bytes, .. }) = extras.try_recv() {
                            if s == socket && id == local_udx {
                                early.push(bytes);
                            }
                        }
                        break Some(Arrival::Punched(socket, from, early));
                    }
                    Extra::Udx { .. } => {}
                },
                head = &mut lan_arrival => break Some(Arrival::Lan(head)),
                _ = tokio::time::sleep_until(deadline) => {
                    match &mut self.schedule {
                        None => break None,
                        Some(schedule) => {
                            if schedule.next_wake().is_none() {
                                break None;
                            }
                            self.sockets.send(schedule.next(Instant::now()));
                        }
                    }
                }
            }
        };
        if self.random {
            self.node.end_random_punch(Instant::now());
        }
        match outcome? {
            Arrival::Lan(head) => Some(Won::Lan(head)),
            Arrival::Punched(socket, from, early) => {
                let strategy = self.strategy;
                let rpc = self.sockets.take(socket)?;
                Some(Won::Punched(rpc, from, strategy, early))
            }
        }
    }

    /// Samples our NAT from the puncher socket (as the client does).
    async fn sample(&mut self) {
        for _ in 0..2 {
            if self.nat.is_settled() {
                break;
            }
            let nodes = self.nat.nodes_to_sample(&self.node.newest_nodes(16));
            let Some(rpc) = self.sockets.rpc(0) else {
                return;
            };
            for (seen_as, node) in sample_nat(rpc, nodes).await {
                self.nat.add(seen_as, node);
            }
        }
        self.nat.settle();
        self.nat.guess_from_few_nodes();
    }

    /// A client's holepunch round (JS `_onpeerholepunch`).
    async fn on_round(&mut self, request: Request, from: SocketAddrV4, on_puncher: bool) {
        let Some(holepunch) = Holepunch::of(&request).filter(|h| h.mode == Mode::FromRelay) else {
            return;
        };
        let Some(client) = holepunch.peer_address else {
            return;
        };
        let Some(payload) = self.secure.decrypt(&holepunch.payload) else {
            return;
        };
        let from_our_relay = self.relays.is_relay(from);
        if payload.error != ERROR_NONE {
            self.round = self.round.max(payload.round);
            self.schedule = None;
            self.answer_round(&request, from, client, ERROR_ABORTED, None, &payload);
            return;
        }
        let token = self.secure.token(*client.ip());
        let echoed = from_our_relay && payload.remote_token == Some(token);
        if on_puncher && !self.nat.is_frozen() {
            self.nat.add(request.to, from);
        }
        if payload.round >= self.round {
            self.round = payload.round;
            self.remote_firewall = Firewall::from_u64(payload.firewall);
            let addresses = payload.addresses.clone().unwrap_or_default();
            let verified = echoed.then_some(*client.ip());
            self.remote = remote_addresses(&addresses, verified, &self.remote);
            self.remote_punching = payload.punching;
            if let Some(schedule) = &mut self.schedule {
                schedule.set_remote_addresses(&self.remote);
            }
        }
        // Fast mode: the client opened its NAT towards one of our
        // addresses; a probe back now usually connects it in round one.
        let local = self.nat.verdict();
        if local.coerce() == Firewall::Consistent
            && payload
                .remote_address
                .is_some_and(|a| self.nat.addresses().contains(&a))
        {
            self.sockets.probe(0, client, false);
        }
        if self.remote_punching && self.schedule.is_none() {
            let random = strategy::is_random_punch(local, self.remote_firewall);
            if random {
                if !self.node.start_random_punch(Instant::now()) {
                    self.answer_round(
                        &request,
                        from,
                        client,
                        ERROR_TRY_LATER,
                        Some(token),
                        &payload,
                    );
                    return;
                }
                self.random = true;
            }
            let chosen = strategy::choose(local, self.remote_firewall, &self.remote);
            match ProbeSchedule::start(Instant::now(), chosen, false, &self.remote, rand::random())
            {
                Some(schedule) => {
                    self.strategy = strategy_name(&chosen);
                    self.schedule = Some(schedule);
                }
                None => {
                    self.answer_round(&request, from, client, ERROR_ABORTED, None, &payload);
                    return;
                }
            }
        }
        if self.nat.verdict() != Firewall::Unknown {
            self.nat.freeze();
        }
        let token = from_our_relay.then_some(token);
        self.answer_round(&request, from, client, ERROR_NONE, token, &payload);
    }

    /// Our answer to a round, through the relay it came from, sent from the
    /// puncher socket (an abort goes from the DHT socket, as in JS).
    fn answer_round(
        &self,
        request: &Request,
        relay: SocketAddrV4,
        client: SocketAddrV4,
        error: u64,
        token: Option<[u8; 32]>,
        theirs: &HolepunchPayload,
    ) {
        let aborting = error == ERROR_ABORTED;
        let payload = HolepunchPayload {
            error,
            firewall: if aborting {
                Firewall::Unknown.as_u64()
            } else {
                self.nat.verdict().as_u64()
            },
            round: self.round,
            connected: false,
            punching: !aborting && self.schedule.is_some(),
            addresses: (!aborting).then(|| self.nat.addresses()),
            remote_address: None,
            token: if aborting { None } else { token },
            remote_token: if aborting { None } else { theirs.token },
        };
        let forwarded = Request {
            target: Some(self.target),
            value: Some(
                Holepunch {
                    mode: Mode::FromServer,
                    id: 0,
                    payload: self.secure.encrypt(&payload),
                    peer_address: Some(client),
                }
                .encode(),
            ),
            ..Request::new(request.tid, relay, false, PEER_HOLEPUNCH)
        };
        let rpc = if aborting {
            Some(self.node.rpc())
        } else {
            self.sockets.rpc(0)
        };
        if let Some(rpc) = rpc {
            rpc.forward(&forwarded, relay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_nodes::{announced, echo, start, three_nodes};
    use super::*;
    use crate::net::dht::client::connect_with;
    use crate::net::dht::connection::stream::echo_round_trip;

    /// Our client reaches our server through our nodes: the server answers
    /// from a puncher and the two punch (on one machine, the fast or the
    /// consistent way), and bytes go both ways. The LAN shortcut is off on
    /// both sides: on loopback it would win.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn our_client_punches_through_to_our_server_and_they_talk() {
        let (client, served) = our_client_to_our_server(Lan::Off).await;
        assert!(matches!(client, Taken::Punched(_)), "{client}");
        assert!(matches!(served, Taken::Punched(_)), "{served}");
    }

    /// The same with the LAN shortcut on: on loopback the relay sees both
    /// sides at 127.0.0.1 and each shares 127.0.0.1 with its DHT port, so
    /// the server takes JS's LAN rule (answers from its DHT socket, holds a
    /// stream there) and the client's ping of the server's shared address
    /// answers before any probe gets through: both streams run on the DHT
    /// sockets, and the first bytes the server read to know the client
    /// came still reach its cipher.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn our_client_reaches_our_server_over_the_lan_shortcut_on_loopback() {
        let (client, served) = our_client_to_our_server(Lan::On).await;
        assert_eq!(client, Taken::Direct);
        assert_eq!(served, Taken::Direct);
    }

    /// One dial of our client to our server, both with `lan`, and an echo
    /// over it: the paths of the client and of the server.
    async fn our_client_to_our_server(lan: Lan) -> (Taken, Taken) {
        let (_nodes, list) = three_nodes();
        let server_node = Arc::new(start(list.clone(), false));
        let key = SigningKey::from_bytes(&rand::random());
        let public = key.verifying_key().to_bytes();
        let listener = listen_with(Arc::clone(&server_node), key, lan);
        let mut relays = listener.relays.clone();
        let mut paths = echo(listener);
        announced(&mut relays).await;
        let client = start(list.clone(), false);
        // One dial, no retry: the server is announced, so the first must work.
        let mut connected = connect_with(&client, public, lan)
            .await
            .unwrap_or_else(|e| panic!("our client's one dial to our server failed: {e}"));
        let echoed = echo_round_trip(&mut connected.stream, b"ping").await;
        assert_eq!(
            echoed.as_deref(),
            Some(&b"ping"[..]),
            "the echo arrives within 10 s"
        );
        let served = paths.recv().await.expect("the server accepted");
        (connected.stream.path, served)
    }

    /// A JS hyperdht client (believing itself firewalled, so nobody takes a
    /// shortcut) finds our server on a DHT of our nodes, punches through to
    /// it, and gets its bytes echoed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_js_client_punches_through_to_our_server() {
        use std::process::{Command, Stdio};
        const HOW: &str = "this test runs a JS client: run `npm ci --prefix tests/js`";
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            root.join("tests/js/node_modules/hyperdht").exists(),
            "{HOW}"
        );
        let (_nodes, list) = three_nodes();
        let server_node = Arc::new(start(list.clone(), false));
        let key = SigningKey::from_bytes(&rand::random());
        let public = hex::encode(key.verifying_key().to_bytes());
        // The JS client shares no LAN address (`localConnection: false`),
        // so the shortcut never applies, whatever the environment says.
        let listener = listen(Arc::clone(&server_node), key);
        let mut relays = listener.relays.clone();
        let mut paths = echo(listener);
        announced(&mut relays).await;
        let bootstrap: Vec<String> = list.iter().map(ToString::to_string).collect();
        // One run of the JS client, no retry: the server is announced.
        {
            let output = tokio::task::spawn_blocking({
                let bootstrap = bootstrap.join(",");
                let public = public.clone();
                let root = root.to_path_buf();
                move || {
                    Command::new("timeout")
                        .args([
                            "30",
                            "node",
                            "tests/js/dht-dial.js",
                            &bootstrap,
                            &public,
                            "firewalled",
                        ])
                        .current_dir(root)
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .output()
                }
            })
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{HOW} ({e})"));
            let said = String::from_utf8_lossy(&output.stdout).to_string()
                + &String::from_utf8_lossy(&output.stderr);
            assert!(
                said.contains("ECHO hello from js"),
                "the JS client's one dial got no echo: {said}"
            );
            let served = paths.recv().await.expect("the server accepted");
            assert!(matches!(served, Taken::Punched(_)), "{served}");
        }
    }
}
