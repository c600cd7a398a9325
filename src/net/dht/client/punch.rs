//! The client's holepunch, as JS hyperdht's `connect.js` runs it after a
//! handshake whose server waits to be punched:
//!
//! 1. A puncher socket of its own samples our NAT (pings to DHT nodes, each
//!    reply says where it saw us: `sampler`).
//! 2. Round one (JS `probeRound`): a probe towards the server's puncher
//!    (which opens our NAT), then a PEER_HOLEPUNCH through the server's
//!    announce relay to its DHT socket, carrying our verdict and addresses.
//!    The answer brings the server's verdict, addresses and a token; a
//!    round is asked again once if the server's verdict is still unknown.
//!    Both verdicts unknown, or both random, ends it (the latter cleanly:
//!    random↔random is refused, as JS refuses it).
//! 3. Round two (`roundPunch`): our verdict is frozen, random punches are
//!    throttled per node, and we commit to punching through the relay that
//!    carried the handshake, to the server's puncher.
//! 4. The probes of the strategy both verdicts call for (`strategy`), until
//!    a probe arrives on one of our sockets: that socket and the probe's
//!    source are the path, and the UDX stream opens there.
//!
//! A probe can arrive at any point (the server's "fast mode" answers round
//! one with a probe), so every wait races the arrival of a probe. Every
//! socket but the winner is closed when the attempt ends, or when it is
//! dropped because the LAN shortcut won (`lan`; a random punch's slot in
//! the throttle is given back then too). Pure decisions live in `sampler`
//! and `strategy`; this is their driver.

use std::future::Future;
use std::net::{IpAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::net::dht::connection::sampler::{Firewall, NatSampler};
use crate::net::dht::connection::sockets::{sample_nat, Arrived, PunchSockets};
use crate::net::dht::connection::strategy::{
    self, remote_addresses, strategy_name, ProbeSchedule, RemoteAddress, Strategy,
};
use crate::net::dht::encoding::crypto::SecurePayload;
use crate::net::dht::encoding::messages::{
    Holepunch, HolepunchPayload, Mode, RelayInfo, ERROR_ABORTED, ERROR_NONE, PEER_HOLEPUNCH,
};
use crate::net::dht::encoding::wire::Request;
use crate::net::dht::kademlia::rpc::{Rpc, ATTEMPTS};
use crate::net::dht::kademlia::service::DhtNode;

/// How long the last probes' echoes get once the strategy's probes are spent.
const LAST_ECHO: Duration = Duration::from_millis(500);
/// A round's wait when the server does not know its verdict yet (JS: 1 s).
const UNKNOWN_PAUSE: Duration = Duration::from_secs(1);
/// The shortest and longest the first round waits for the echo of our
/// opening probe (`fast_window`).
const FAST_WINDOW_MIN: Duration = Duration::from_millis(25);
const FAST_WINDOW_MAX: Duration = Duration::from_millis(500);

/// How long round one waits, after our opening probe, before it goes out:
/// as long as the handshake's round trip took (at least 25 ms, at most
/// 500 ms). A server's puncher echoes every probe it gets, so where
/// nothing filters between the two (one machine, one LAN, an open NAT) the
/// echo is back within about one round trip, the stream opens on it, and
/// our first UDX packet reaches the server before any round does. A round
/// that gets there first can end the attempt: a JS server whose puncher
/// cannot tell its NAT (too few DHT nodes to sample) reopens it, closing
/// the socket the echo came from, and aborts, so the stream we opened
/// there hears nothing (issue 30: half the dials to a JS server on one
/// host failed so). Where the probe cannot get in, the window is the price
/// of one round trip.
pub(crate) fn fast_window(handshake_rtt: Duration) -> Duration {
    handshake_rtt.clamp(FAST_WINDOW_MIN, FAST_WINDOW_MAX)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PunchError {
    #[error("holepunch sockets: {0}")]
    Sockets(String),
    #[error("the relay did not pass our holepunch message on ({0})")]
    NoAnswer(String),
    #[error("the peer's holepunch answer does not decode")]
    Invalid,
    #[error("the peer aborted the holepunch (error {0})")]
    RemoteAborted(u64),
    #[error("neither side could tell its NAT kind in time")]
    ProbeTimeout,
    #[error("both peers are behind NATs that pick a new port per destination; they cannot punch")]
    DoubleRandomized,
    #[error("another holepunch through a random NAT ran less than 20 s ago")]
    Throttled,
    #[error("the peer is not punching")]
    RemoteNotPunching,
    #[error("no way to punch: the peer gave no address it could be reached at")]
    NotPunchable,
    #[error("no probe got through")]
    Aborted,
}

/// What the handshake told us about the server's side of the punch.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The server's public key hashed: the DHT target.
    pub(crate) target: [u8; 32],
    /// The server's handshake entry (`holepunch.id`).
    pub(crate) id: u64,
    /// The server's announce relay that the rounds go through first.
    pub(crate) server_relay: RelayInfo,
    /// The relay that carried the handshake.
    pub(crate) handshake_relay: SocketAddrV4,
    /// The server's puncher, as the handshake relay saw it.
    pub(crate) server_address: SocketAddrV4,
    pub(crate) remote_firewall: Firewall,
    pub(crate) holepunch_secret: [u8; 32],
    /// How long the handshake's request took to be answered.
    pub(crate) handshake_rtt: Duration,
}

/// The way through: the socket a probe reached, and the probe's source.
pub(crate) struct Punched {
    pub(crate) socket: Rpc,
    pub(crate) remote: SocketAddrV4,
    pub(crate) strategy: &'static str,
}

/// Picks the server relay JS would: the one that carried the handshake if
/// the server listed it, else its first.
pub(crate) fn pick_server_relay(
    relays: &[RelayInfo],
    handshake_relay: SocketAddrV4,
) -> Option<RelayInfo> {
    relays
        .iter()
        .find(|r| r.relay_address == handshake_relay)
        .or_else(|| relays.first())
        .copied()
}

/// What a round learned from the server's answer.
struct RoundReply {
    payload: HolepunchPayload,
    /// Where the answer says the server's puncher is.
    peer_address: SocketAddrV4,
    /// Where the relay saw our puncher socket, and the relay: a NAT sample.
    seen_as: SocketAddrV4,
    relay: SocketAddrV4,
}

enum Step<T> {
    Done(T),
    Probe(Arrived),
}

/// Waits for `work` unless a probe arrives first.
async fn or_probe<T>(
    arrivals: &mut mpsc::Receiver<Arrived>,
    work: impl Future<Output = T>,
) -> Step<T> {
    tokio::select! {
        biased;
        Some(arrived) = arrivals.recv() => Step::Probe(arrived),
        done = work => Step::Done(done),
    }
}

struct Attempt<'a> {
    node: &'a DhtNode,
    plan: Plan,
    secure: SecurePayload,
    sockets: PunchSockets,
    nat: NatSampler,
    remote_firewall: Firewall,
    remote: Vec<RemoteAddress>,
    remote_punching: bool,
    round: u64,
    strategy: &'static str,
}

/// Punches a way to the server `plan` describes; `bind_ip` is our DHT
/// socket's IP.
pub(crate) async fn punch(
    node: &DhtNode,
    plan: Plan,
    bind_ip: IpAddr,
) -> Result<Punched, PunchError> {
    let mut sockets =
        PunchSockets::open(bind_ip, false).map_err(|e| PunchError::Sockets(e.to_string()))?;
    let mut arrivals = sockets.arrivals().ok_or(PunchError::Aborted)?;
    let mut attempt = Attempt {
        node,
        secure: SecurePayload::new(&plan.holepunch_secret),
        remote_firewall: plan.remote_firewall,
        plan,
        sockets,
        // Our node is ephemeral and never claims to be unfirewalled.
        nat: NatSampler::new(true),
        remote: Vec::new(),
        remote_punching: false,
        round: 0,
        strategy: "",
    };
    let outcome = attempt.run(&mut arrivals).await;
    match outcome {
        Ok(arrived) => attempt.finish(arrived),
        Err(e) => {
            attempt.abort();
            Err(e)
        }
    }
}

impl Attempt<'_> {
    async fn run(&mut self, arrivals: &mut mpsc::Receiver<Arrived>) -> Result<Arrived, PunchError> {
        // Sampling starts with our opening probe, as in JS; round one
        // waits for the probe's echo first (`fast_window`).
        let nodes = self.nat.nodes_to_sample(&self.node.newest_nodes(16));
        self.open_session(self.plan.server_address);
        let relay = self.plan.server_relay;
        let payload = self.payload(false, Some(self.plan.server_address), None, None);
        let window = fast_window(self.plan.handshake_rtt);
        let round_one = async {
            tokio::time::sleep(window).await;
            self.update(relay.peer_address, relay.relay_address, payload)
                .await
        };
        let both = futures::future::join(self.sample(nodes), round_one);
        let (samples, first) = match or_probe(arrivals, both).await {
            Step::Probe(arrived) => return Ok(arrived),
            Step::Done(both) => both,
        };
        for (seen_as, node) in samples {
            self.nat.add(seen_as, node);
        }
        let mut reply = first?;
        self.learn(&reply, None)?;
        // Too few samples: one more pass, then act on what there is.
        if !self.nat.is_settled() {
            let more = self.nat.nodes_to_sample(&self.node.newest_nodes(32));
            match or_probe(arrivals, self.sample(more)).await {
                Step::Probe(arrived) => return Ok(arrived),
                Step::Done(samples) => {
                    for (seen_as, node) in samples {
                        self.nat.add(seen_as, node);
                    }
                }
            }
            self.nat.settle();
        }
        self.nat.guess_from_few_nodes();
        let mut retried = false;
        loop {
            if self.remote_firewall == Firewall::Unknown {
                if let Step::Probe(arrived) =
                    or_probe(arrivals, tokio::time::sleep(UNKNOWN_PAUSE)).await
                {
                    return Ok(arrived);
                }
            }
            let unsure = self.remote_firewall == Firewall::Unknown || reply.payload.token.is_none();
            if !unsure || retried {
                break;
            }
            retried = true;
            let relay = self.plan.server_relay;
            let payload = self.payload(false, Some(self.plan.server_address), None, None);
            reply = match or_probe(
                arrivals,
                self.update(relay.peer_address, relay.relay_address, payload),
            )
            .await
            {
                Step::Probe(arrived) => return Ok(arrived),
                Step::Done(reply) => reply?,
            };
            self.learn(&reply, None)?;
        }
        let local = self.nat.verdict();
        if self.remote_firewall == Firewall::Unknown || local == Firewall::Unknown {
            return Err(PunchError::ProbeTimeout);
        }
        if self.remote_firewall.coerce() == Firewall::Random && local.coerce() == Firewall::Random {
            return Err(PunchError::DoubleRandomized);
        }
        // The server may have moved to another puncher socket.
        let mut server_address = self.plan.server_address;
        if self.plan.server_relay.relay_address == self.plan.handshake_relay
            && reply.peer_address != server_address
        {
            server_address = reply.peer_address;
            self.open_session(server_address);
        }
        let remote_token = reply.payload.token;

        // Round two: commit.
        self.nat.freeze();
        let random = strategy::is_random_punch(self.nat.verdict(), self.remote_firewall);
        if random && !self.node.start_random_punch(Instant::now()) {
            return Err(PunchError::Throttled);
        }
        // Ended however round two ends, dropped included (the LAN won).
        let _slot = random.then_some(RandomSlot(self.node));
        self.round_two(arrivals, server_address, remote_token).await
    }

    async fn round_two(
        &mut self,
        arrivals: &mut mpsc::Receiver<Arrived>,
        server_address: SocketAddrV4,
        remote_token: Option<[u8; 32]>,
    ) -> Result<Arrived, PunchError> {
        let token = self.secure.token(*server_address.ip());
        let payload = self.payload(true, None, Some(token), remote_token);
        let reply = match or_probe(
            arrivals,
            self.update(server_address, self.plan.handshake_relay, payload),
        )
        .await
        {
            Step::Probe(arrived) => return Ok(arrived),
            Step::Done(reply) => reply?,
        };
        let echoed = reply.payload.remote_token == Some(token);
        self.learn(&reply, echoed.then_some(*server_address.ip()))?;
        if !self.remote_punching {
            return Err(PunchError::RemoteNotPunching);
        }
        let chosen = strategy::choose(self.nat.verdict(), self.remote_firewall, &self.remote);
        let name = strategy_name(&chosen);
        let Some(mut schedule) =
            ProbeSchedule::start(Instant::now(), chosen, true, &self.remote, rand::random())
        else {
            return Err(match chosen {
                Strategy::Refused(strategy::Refusal::DoubleRandom) => PunchError::DoubleRandomized,
                Strategy::Refused(_) => PunchError::ProbeTimeout,
                _ => PunchError::NotPunchable,
            });
        };
        tracing::debug!(strategy = name, local = ?self.nat.verdict(), remote = ?self.remote_firewall, "punching");
        self.strategy = name;
        loop {
            self.sockets.send(schedule.next(Instant::now()));
            let Some(wake) = schedule.next_wake() else {
                // Give the last probes' echoes a moment.
                return match or_probe(arrivals, tokio::time::sleep(LAST_ECHO)).await {
                    Step::Probe(arrived) => Ok(arrived),
                    Step::Done(()) => Err(PunchError::Aborted),
                };
            };
            let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(wake));
            if let Step::Probe(arrived) = or_probe(arrivals, sleep).await {
                return Ok(arrived);
            }
        }
    }
}

/// A random punch of the node's throttle, ended when dropped.
struct RandomSlot<'a>(&'a DhtNode);

impl Drop for RandomSlot<'_> {
    fn drop(&mut self) {
        self.0.end_random_punch(Instant::now());
    }
}

impl Attempt<'_> {
    /// Pings `nodes` from the puncher socket: each answer is one sample of
    /// where our NAT maps it (one try each, as JS samples).
    async fn sample(&self, nodes: Vec<SocketAddrV4>) -> Vec<(SocketAddrV4, SocketAddrV4)> {
        match self.sockets.rpc(0) {
            Some(rpc) => sample_nat(rpc, nodes).await,
            None => Vec::new(),
        }
    }

    /// One probe from the main puncher socket, at TTL 5 as JS sends it: it
    /// opens our NAT towards `to` without reaching the server's.
    fn open_session(&self, to: SocketAddrV4) {
        self.sockets.probe(0, to, true);
    }

    fn payload(
        &mut self,
        punching: bool,
        remote_address: Option<SocketAddrV4>,
        token: Option<[u8; 32]>,
        remote_token: Option<[u8; 32]>,
    ) -> HolepunchPayload {
        let round = self.round;
        self.round += 1;
        HolepunchPayload {
            error: ERROR_NONE,
            firewall: self.nat.verdict().as_u64(),
            round,
            connected: false,
            punching,
            addresses: Some(self.nat.addresses()),
            remote_address,
            token,
            remote_token,
        }
    }

    /// Sends a holepunch round to `peer` through `relay` from the main
    /// puncher socket and reads the server's answer.
    async fn update(
        &self,
        peer: SocketAddrV4,
        relay: SocketAddrV4,
        payload: HolepunchPayload,
    ) -> Result<RoundReply, PunchError> {
        let rpc = self.sockets.rpc(0).ok_or(PunchError::Aborted)?;
        let request = self.round_request(peer, relay, &payload);
        let answer = rpc
            .request(request, relay, ATTEMPTS)
            .await
            .map_err(|e| PunchError::NoAnswer(e.to_string()))?;
        let holepunch = answer
            .reply
            .value
            .as_deref()
            .and_then(|v| Holepunch::decode(v).ok())
            .filter(|h| h.mode == Mode::Reply)
            .ok_or(PunchError::Invalid)?;
        let payload = self
            .secure
            .decrypt(&holepunch.payload)
            .ok_or(PunchError::Invalid)?;
        Ok(RoundReply {
            payload,
            peer_address: holepunch.peer_address.unwrap_or(relay),
            seen_as: answer.reply.to,
            relay: answer.from,
        })
    }

    /// A holepunch round for `peer` through `relay`, its payload sealed.
    fn round_request(
        &self,
        peer: SocketAddrV4,
        relay: SocketAddrV4,
        payload: &HolepunchPayload,
    ) -> Request {
        Request {
            target: Some(self.plan.target),
            value: Some(
                Holepunch {
                    mode: Mode::FromClient,
                    id: self.plan.id,
                    payload: self.secure.encrypt(payload),
                    peer_address: Some(peer),
                }
                .encode(),
            ),
            ..Request::new(0, relay, false, PEER_HOLEPUNCH)
        }
    }

    /// Takes in the server's answer: a NAT sample, its verdict, addresses
    /// and whether it punches. `verified`: the host whose token came back.
    fn learn(
        &mut self,
        reply: &RoundReply,
        verified: Option<std::net::Ipv4Addr>,
    ) -> Result<(), PunchError> {
        if !self.nat.is_frozen() {
            self.nat.add(reply.seen_as, reply.relay);
        }
        let payload = &reply.payload;
        if payload.error != ERROR_NONE {
            return Err(PunchError::RemoteAborted(payload.error));
        }
        self.remote_firewall = Firewall::from_u64(payload.firewall);
        let addresses = payload.addresses.clone().unwrap_or_default();
        self.remote = remote_addresses(&addresses, verified, &self.remote);
        self.remote_punching = payload.punching;
        Ok(())
    }

    /// Tells the server we give up (JS `abort`): sent once, not waited on,
    /// so a dead server costs nothing more.
    fn abort(&mut self) {
        let relay = self.plan.server_relay;
        let round = self.round;
        self.round += 1;
        let payload = HolepunchPayload {
            error: ERROR_ABORTED,
            firewall: Firewall::Unknown.as_u64(),
            round,
            connected: false,
            punching: false,
            addresses: None,
            remote_address: None,
            token: None,
            remote_token: None,
        };
        let Some(rpc) = self.sockets.rpc(0) else {
            return;
        };
        rpc.forward(
            &self.round_request(relay.peer_address, relay.relay_address, &payload),
            relay.relay_address,
        );
    }

    /// Keeps the socket the probe reached and closes the others.
    fn finish(self, arrived: Arrived) -> Result<Punched, PunchError> {
        let strategy = if self.strategy.is_empty() {
            "fast"
        } else {
            self.strategy
        };
        let socket = self
            .sockets
            .take(arrived.socket)
            .ok_or(PunchError::Aborted)?;
        Ok(Punched {
            socket,
            remote: arrived.from,
            strategy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_one_waits_a_handshake_round_trip_for_the_echo_within_bounds() {
        let ms = Duration::from_millis;
        for (rtt, window) in [
            (0, 25),
            (2, 25),
            (25, 25),
            (80, 80),
            (499, 499),
            (3_000, 500),
        ] {
            assert_eq!(fast_window(ms(rtt)), ms(window), "rtt {rtt} ms");
        }
    }
}
