//! What our DHT node decides, as JS dht-rpc and hyperdht decide it: a
//! request and its sender go in with `now`, and the effects come out (a
//! reply, a relayed request, a delayed reply, a liveness check). Pure; the
//! running node (`service`) performs the effects.
//!
//! - Internal commands: PING, PING_NAT (answered to the sender's host at
//!   the port it names), FIND_NODE (closer nodes), DOWN_HINT (check the node
//!   named), DELAYED_PING (bounded in delay and in number).
//! - hyperdht commands: PEER_HANDSHAKE and PEER_HOLEPUNCH are relayed
//!   (`router`; each decision logged at debug level, `relay: ...`); on a
//!   persistent node, FIND_PEER, LOOKUP, ANNOUNCE and UNANNOUNCE use the
//!   announcement store (`store`), and MUTABLE_PUT/GET and
//!   IMMUTABLE_PUT/GET the records (`records`); an ephemeral node answers
//!   those, the plugin command and anything unknown with UNKNOWN_COMMAND,
//!   as JS answers them.
//! - Every sender that names an id matching its address joins the routing
//!   table; a full bucket checks its stalest contact before replacing it.
//! - A token that is present but not ours is answered with INVALID_TOKEN.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use super::records::{RecordStats, Records};
use super::router::{self, Relay};
use super::store::{Answer as StoreAnswer, Limits, Store};
use super::table::{node_id, Added, Contact, NodeId, Table};
use super::tokens::Tokens;
use crate::net::dht::encoding::messages::{self, Handshake, Holepunch};
use crate::net::dht::encoding::wire::{
    Reply, Request, DELAYED_PING, DOWN_HINT, FIND_NODE, INVALID_TOKEN, PING, PING_NAT,
    UNKNOWN_COMMAND,
};

/// Closer nodes in a reply (JS: the table's 20 closest).
pub(crate) const K: usize = 20;
/// The longest delay a DELAYED_PING may ask for (JS `maxPingDelay`).
pub(crate) const MAX_PING_DELAY: Duration = Duration::from_secs(10);
/// Delayed pings waiting at once; more are ignored.
const MAX_DELAYED: usize = 64;
/// Liveness checks in flight at once; more wait for the next chance.
const MAX_CHECKS: usize = 8;
/// A contact not heard from for this long is checked on a tick.
const STALE: Duration = Duration::from_secs(60);
/// Contacts checked per tick.
const CHECKS_PER_TICK: usize = 3;

/// Something for the running node to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    Reply {
        reply: Reply,
        to: SocketAddrV4,
    },
    /// Send a request on, keeping its tid: the reply goes to someone else.
    Forward {
        request: Request,
        to: SocketAddrV4,
    },
    /// Reply after a delay (DELAYED_PING); report back with `delayed_done`.
    DelayedReply {
        reply: Reply,
        to: SocketAddrV4,
        after: Duration,
    },
    /// Ping `contact`; report back with `checked`.
    Check {
        contact: Contact,
    },
    /// A connection message for a server of ours: hand it to the server.
    Serve {
        target: [u8; 32],
        request: Request,
        from: SocketAddrV4,
    },
}

/// How the node takes part in the DHT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A peer's node: sends no id, stores no records (JS's ephemeral node).
    Ephemeral,
    /// A bootstrap or public node at this address: its id is the hash of
    /// the address, and it keeps announcements.
    Persistent(SocketAddrV4),
}

pub(crate) struct NodeState {
    role: Role,
    table: Table,
    tokens: Tokens,
    store: Option<Store>,
    records: Option<Records>,
    delayed: usize,
    /// The targets our own servers listen on.
    serving: Vec<[u8; 32]>,
    /// Contacts being checked, each with the node that replaces it if it
    /// does not answer (a newcomer to its full bucket).
    checking: Vec<(NodeId, Option<Contact>)>,
}

impl NodeState {
    /// `own_id` is used only while ephemeral (the table's centre);
    /// `secrets` seed the tokens; `unix_ms` is the wall clock at `now`
    /// (announced bumps are wall-clock times).
    pub(crate) fn new(
        role: Role,
        own_id: NodeId,
        secrets: [[u8; 32]; 2],
        now: Instant,
        unix_ms: u64,
    ) -> Self {
        let (id, store, records) = match role {
            Role::Ephemeral => (own_id, None, None),
            Role::Persistent(addr) => (
                node_id(addr),
                Some(Store::new(Limits::default(), now, unix_ms)),
                Some(Records::default()),
            ),
        };
        NodeState {
            role,
            table: Table::new(id),
            tokens: Tokens::new(secrets[0], secrets[1], now),
            store,
            records,
            delayed: 0,
            serving: Vec::new(),
            checking: Vec::new(),
        }
    }

    /// The id we send, if persistent.
    pub(crate) fn id(&self) -> Option<NodeId> {
        match self.role {
            Role::Ephemeral => None,
            Role::Persistent(_) => Some(*self.table.id()),
        }
    }

    pub(crate) fn table(&self) -> &Table {
        &self.table
    }

    /// What the records hold and saw; `None` on an ephemeral node.
    pub(crate) fn record_stats(&self) -> Option<RecordStats> {
        self.records.as_ref().map(Records::stats)
    }

    /// Handles one incoming request.
    pub(crate) fn on_request(
        &mut self,
        request: Request,
        from: SocketAddrV4,
        now: Instant,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(id) = request.id {
            self.learn(id, from, now, &mut effects);
        }
        if let Some(token) = &request.token {
            if !self.tokens.accepts(*from.ip(), token) {
                effects.push(self.answer(&request, from, INVALID_TOKEN, None, true, false));
                return effects;
            }
        }
        if request.internal {
            self.internal(request, from, &mut effects);
        } else {
            self.external(request, from, now, &mut effects);
        }
        effects
    }

    fn internal(&mut self, request: Request, from: SocketAddrV4, effects: &mut Vec<Effect>) {
        match request.command {
            PING => effects.push(self.answer(&request, from, 0, None, false, false)),
            PING_NAT => {
                let Some(port) = request.value.as_deref().and_then(le_u16) else {
                    return;
                };
                if port == 0 {
                    return;
                }
                let to = SocketAddrV4::new(*from.ip(), port);
                effects.push(self.answer(&request, to, 0, None, false, false));
            }
            FIND_NODE => {
                if request.target.is_some() {
                    effects.push(self.answer(&request, from, 0, None, false, true));
                }
            }
            DOWN_HINT => {
                let Some(named) = request.value.as_deref().and_then(ipv4_prefix) else {
                    return;
                };
                if let Some(entry) = self.table.get(&node_id(named)) {
                    let contact = entry.contact;
                    self.check(contact, None, effects);
                }
                effects.push(self.answer(&request, from, 0, None, false, false));
            }
            DELAYED_PING => {
                let Some(delay) = request.value.as_deref().and_then(le_u32) else {
                    return;
                };
                let after = Duration::from_millis(u64::from(delay));
                if after > MAX_PING_DELAY || self.delayed >= MAX_DELAYED {
                    return;
                }
                self.delayed += 1;
                let Effect::Reply { reply, to } =
                    self.answer(&request, from, 0, None, false, false)
                else {
                    return;
                };
                effects.push(Effect::DelayedReply { reply, to, after });
            }
            _ => {
                let closer = request.target.is_some();
                effects.push(self.answer(&request, from, UNKNOWN_COMMAND, None, false, closer));
            }
        }
    }

    fn external(
        &mut self,
        request: Request,
        from: SocketAddrV4,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) {
        let route = |store: &Option<Store>, target: &Option<[u8; 32]>| {
            store
                .as_ref()
                .zip(target.as_ref())
                .and_then(|(store, target)| store.route(target, now))
        };
        let served = request.target.filter(|t| self.serving.contains(t));
        if let (Some(target), messages::PEER_HANDSHAKE | messages::PEER_HOLEPUNCH) =
            (served, request.command)
        {
            effects.push(Effect::Serve {
                target,
                request,
                from,
            });
            return;
        }
        match request.command {
            messages::PEER_HANDSHAKE => {
                let Some(handshake) = Handshake::of(&request) else {
                    return;
                };
                let route = route(&self.store, &request.target);
                let relay = router::on_handshake(&handshake, from, route);
                log_relay(
                    &request,
                    handshake.mode,
                    from,
                    handshake.peer_address,
                    route,
                    &relay,
                );
                self.relay(request, from, relay, effects);
            }
            messages::PEER_HOLEPUNCH => {
                let Some(holepunch) = Holepunch::of(&request) else {
                    return;
                };
                let route = route(&self.store, &request.target);
                let relay = router::on_holepunch(&holepunch, from, route);
                log_relay(
                    &request,
                    holepunch.mode,
                    from,
                    holepunch.peer_address,
                    route,
                    &relay,
                );
                self.relay(request, from, relay, effects);
            }
            messages::FIND_PEER | messages::LOOKUP | messages::ANNOUNCE | messages::UNANNOUNCE => {
                // The token, if any, was checked above.
                let id = self.id();
                let answer = match (self.store.as_mut(), id) {
                    (Some(store), Some(id)) => store.handle(&request, from, true, &id, now),
                    // An ephemeral node keeps no records (JS answers so).
                    _ => StoreAnswer::NotMine,
                };
                self.store_answer(&request, from, answer, effects);
            }
            _ if Records::mine(&request) => {
                // The token, if any, was checked above.
                let answer = match self.records.as_mut() {
                    Some(records) => records.handle(&request, now),
                    None => StoreAnswer::NotMine,
                };
                self.store_answer(&request, from, answer, effects);
            }
            _ => {
                let closer = request.target.is_some();
                effects.push(self.answer(&request, from, UNKNOWN_COMMAND, None, false, closer));
            }
        }
    }

    /// Sends what the announcement store or the records answered.
    fn store_answer(
        &self,
        request: &Request,
        from: SocketAddrV4,
        answer: StoreAnswer,
        effects: &mut Vec<Effect>,
    ) {
        let reply = match answer {
            StoreAnswer::Reply {
                value,
                token_and_nodes,
            } => self.answer(request, from, 0, value, token_and_nodes, token_and_nodes),
            StoreAnswer::Error(code) => self.answer(request, from, code, None, true, true),
            StoreAnswer::Silent => return,
            StoreAnswer::NotMine => {
                let closer = request.target.is_some();
                self.answer(request, from, UNKNOWN_COMMAND, None, false, closer)
            }
        };
        effects.push(reply);
    }

    fn relay(&self, request: Request, from: SocketAddrV4, relay: Relay, effects: &mut Vec<Effect>) {
        match relay {
            Relay::Drop => {}
            Relay::HelpRoute => effects.push(self.answer(&request, from, 0, None, false, true)),
            Relay::Forward { value, to } => {
                let forwarded = Request {
                    to,
                    id: self.id(),
                    token: None,
                    value: Some(value),
                    ..request
                };
                effects.push(Effect::Forward {
                    request: forwarded,
                    to,
                });
            }
            Relay::Respond { value, to } => {
                // As JS `reply(value, {to})`: the reply names and goes to the
                // client (the server that sent it is named in the value).
                let reply = Reply {
                    tid: request.tid,
                    to,
                    id: self.id(),
                    token: None,
                    closer_nodes: Vec::new(),
                    error: 0,
                    value: Some(value),
                };
                effects.push(Effect::Reply { reply, to });
            }
        }
    }

    /// A reply as JS `_sendReply` builds it: our id when persistent, a
    /// token for the receiver's host when asked, the closest nodes to the
    /// target when asked and the request has one.
    fn answer(
        &self,
        request: &Request,
        to: SocketAddrV4,
        error: u64,
        value: Option<Vec<u8>>,
        token: bool,
        closer: bool,
    ) -> Effect {
        let closer_nodes = match (&request.target, closer) {
            (Some(target), true) => self
                .table
                .closest(target, K)
                .into_iter()
                .map(|c| c.addr)
                .collect(),
            _ => Vec::new(),
        };
        let reply = Reply {
            tid: request.tid,
            to,
            id: self.id(),
            token: token.then(|| self.tokens.issue(*to.ip())),
            closer_nodes,
            error,
            value,
        };
        Effect::Reply { reply, to }
    }

    /// A node told us its id (in a request or a reply): it joins the table
    /// if the id is the hash of the address it speaks from.
    pub(crate) fn learn(
        &mut self,
        id: NodeId,
        from: SocketAddrV4,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) {
        // The table refuses our own id and ids that do not hash the address.
        let newcomer = Contact { id, addr: from };
        if let Added::Ping(oldest) = self.table.add(newcomer, now) {
            self.check(oldest, Some(newcomer), effects);
        }
    }

    fn check(&mut self, contact: Contact, replacement: Option<Contact>, effects: &mut Vec<Effect>) {
        if self.checking.len() >= MAX_CHECKS
            || self.checking.iter().any(|(id, _)| *id == contact.id)
        {
            return;
        }
        self.checking.push((contact.id, replacement));
        effects.push(Effect::Check { contact });
    }

    /// The answer to a `Check`: a contact that did not answer leaves the
    /// table (for the newcomer that was waiting for its place, if any);
    /// one that did is fresh again.
    pub(crate) fn checked(&mut self, id: NodeId, alive: bool, now: Instant) {
        let Some(at) = self.checking.iter().position(|(c, _)| *c == id) else {
            return;
        };
        let (_, replacement) = self.checking.swap_remove(at);
        if alive {
            self.table.seen(&id, now);
        } else if let Some(newcomer) = replacement {
            self.table.replace(&id, newcomer, now);
        } else {
            self.table.remove(&id);
        }
    }

    /// A server of ours listens on `target` (or stops).
    pub(crate) fn serve(&mut self, target: [u8; 32], on: bool) {
        self.serving.retain(|t| *t != target);
        if on {
            self.serving.push(target);
        }
    }

    pub(crate) fn delayed_done(&mut self) {
        self.delayed = self.delayed.saturating_sub(1);
    }

    /// Periodic upkeep: rotate the token secret (`fresh` is the new one),
    /// expire records, and check contacts not heard from for a while.
    pub(crate) fn tick(&mut self, now: Instant, fresh: [u8; 32]) -> Vec<Effect> {
        if self.tokens.due(now) {
            self.tokens.rotate(fresh, now);
        }
        if let Some(store) = self.store.as_mut() {
            store.expire(now);
        }
        let mut effects = Vec::new();
        let stale: Vec<Contact> = self
            .table
            .oldest(CHECKS_PER_TICK)
            .into_iter()
            .filter(|c| {
                self.table
                    .get(&c.id)
                    .is_some_and(|e| now.saturating_duration_since(e.seen) >= STALE)
            })
            .collect();
        for contact in stale {
            self.table.pinged(&contact.id, now);
            self.check(contact, None, &mut effects);
        }
        effects
    }
}

/// One relay decision at debug level: what came from whom for which
/// target, the route we hold, and where it goes (or that it was dropped),
/// so a log shows each hop of a connection this node relays.
fn log_relay(
    request: &Request,
    mode: messages::Mode,
    from: SocketAddrV4,
    peer: Option<SocketAddrV4>,
    route: Option<SocketAddrV4>,
    relay: &Relay,
) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let command = if request.command == messages::PEER_HANDSHAKE {
        "PEER_HANDSHAKE"
    } else {
        "PEER_HOLEPUNCH"
    };
    let target = request
        .target
        .map(|t| hex::encode(&t[..4]))
        .unwrap_or_default();
    let (verdict, to) = match relay {
        Relay::Drop => ("dropped", None),
        Relay::HelpRoute => ("closer nodes", Some(from)),
        Relay::Forward { to, .. } => ("forwarded", Some(*to)),
        Relay::Respond { to, .. } => ("answered", Some(*to)),
    };
    tracing::debug!(
        command,
        ?mode,
        tid = request.tid,
        target,
        %from,
        ?peer,
        ?route,
        ?to,
        "relay: {verdict}"
    );
}

fn le_u16(bytes: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]))
}

fn le_u32(bytes: &[u8]) -> Option<u32> {
    let four: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(four))
}

fn ipv4_prefix(bytes: &[u8]) -> Option<SocketAddrV4> {
    let six = bytes.get(..6)?;
    let ip = std::net::Ipv4Addr::new(six[0], six[1], six[2], six[3]);
    Some(SocketAddrV4::new(ip, u16::from_le_bytes([six[4], six[5]])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::encoding::crypto::{hash, sign_announce, AnnounceKind, AnnounceScope};
    use crate::net::dht::encoding::messages::{Announce, Mode, Peer, ANNOUNCE};
    use ed25519_dalek::SigningKey;

    fn addr(text: &str) -> SocketAddrV4 {
        text.parse().unwrap()
    }

    /// This node, a relay.
    const NODE: &str = "198.51.100.1:49737";
    /// The server's DHT client socket: a firewalled JS node sends its
    /// requests, the announce among them, from there.
    const SERVER_CLIENT_SOCKET: &str = "203.0.113.7:41000";
    /// The same node's server socket, which a firewalled node does not send
    /// from: no relayed message may go there.
    const SERVER_SERVER_SOCKET: &str = "203.0.113.7:49737";
    /// The server's puncher, which answers the holepunch rounds.
    const SERVER_PUNCHER: &str = "203.0.113.7:52000";
    const CLIENT: &str = "192.0.2.20:38000";
    const CLIENT_PUNCHER: &str = "192.0.2.20:39000";

    fn handshake(tid: u16, target: [u8; 32], mode: Mode, peer: Option<&str>) -> Request {
        Request {
            target: Some(target),
            value: Some(
                Handshake {
                    mode,
                    noise: vec![7; 40],
                    peer_address: peer.map(addr),
                    relay_address: None,
                }
                .encode(),
            ),
            ..Request::new(tid, addr(NODE), false, messages::PEER_HANDSHAKE)
        }
    }

    fn holepunch(tid: u16, target: [u8; 32], mode: Mode, peer: Option<&str>) -> Request {
        Request {
            target: Some(target),
            value: Some(
                Holepunch {
                    mode,
                    id: 0,
                    payload: vec![9; 24],
                    peer_address: peer.map(addr),
                }
                .encode(),
            ),
            ..Request::new(tid, addr(NODE), false, messages::PEER_HOLEPUNCH)
        }
    }

    /// Where each message of one connection goes, as JS hyperdht's router
    /// sends it (`lib/router.js`), when the server announced itself from a
    /// socket other than its server socket (`lib/persistent.js` keeps
    /// `req.from` of the announce as the route): the handshake to the
    /// announce's source, the rounds to the socket the client names, every
    /// answer back to the client named, and nothing to the server socket.
    #[test]
    fn a_connection_is_relayed_to_the_announcing_socket_and_the_sockets_named() {
        let now = Instant::now();
        let mut node = NodeState::new(
            Role::Persistent(addr(NODE)),
            [0; 32],
            [[1; 32], [2; 32]],
            now,
            0,
        );
        let id = node.id().unwrap();
        let key = SigningKey::from_bytes(&[5; 32]);
        let peer = Peer {
            public_key: key.verifying_key().to_bytes(),
            relay_addresses: Vec::new(),
        };
        let target = hash(&[&peer.public_key]);
        let token = node.tokens.issue(*addr(SERVER_CLIENT_SOCKET).ip());
        let scope = AnnounceScope {
            target,
            node_id: id,
            token,
        };
        let signature = sign_announce(AnnounceKind::Announce, &scope, &peer, None, &key);
        let announce = Request {
            token: Some(token),
            target: Some(target),
            value: Some(
                Announce {
                    peer: Some(peer),
                    refresh: None,
                    signature: Some(signature),
                    bump: 0,
                }
                .encode(),
            ),
            ..Request::new(1, addr(NODE), false, ANNOUNCE)
        };
        let acked = node.on_request(announce, addr(SERVER_CLIENT_SOCKET), now);
        assert!(
            matches!(&acked[..], [Effect::Reply { reply, to }] if reply.error == 0 && *to == addr(SERVER_CLIENT_SOCKET)),
            "the announce is acknowledged: {acked:?}"
        );

        // (what arrives, from, what it becomes, where it goes)
        let forward = |request: Request, to: &str| Effect::Forward {
            request: Request {
                to: addr(to),
                id: Some(id),
                ..request
            },
            to: addr(to),
        };
        let answer = |tid: u16, value: Request, to: &str| Effect::Reply {
            reply: Reply {
                tid,
                to: addr(to),
                id: Some(id),
                token: None,
                closer_nodes: Vec::new(),
                error: 0,
                value: value.value,
            },
            to: addr(to),
        };
        let rows: Vec<(&str, Request, &str, Effect)> = vec![
            (
                "the client's handshake goes to where the server announced from",
                handshake(10, target, Mode::FromClient, None),
                CLIENT,
                forward(
                    handshake(10, target, Mode::FromRelay, Some(CLIENT)),
                    SERVER_CLIENT_SOCKET,
                ),
            ),
            (
                "the server's answer goes back to the client, naming the server",
                handshake(10, target, Mode::FromServer, Some(CLIENT)),
                SERVER_CLIENT_SOCKET,
                answer(
                    10,
                    handshake(10, target, Mode::Reply, Some(SERVER_CLIENT_SOCKET)),
                    CLIENT,
                ),
            ),
            (
                "round one goes to the server socket the client names",
                holepunch(11, target, Mode::FromClient, Some(SERVER_CLIENT_SOCKET)),
                CLIENT_PUNCHER,
                forward(
                    holepunch(11, target, Mode::FromRelay, Some(CLIENT_PUNCHER)),
                    SERVER_CLIENT_SOCKET,
                ),
            ),
            (
                "the puncher's answer goes back to the client's puncher",
                holepunch(11, target, Mode::FromServer, Some(CLIENT_PUNCHER)),
                SERVER_PUNCHER,
                answer(
                    11,
                    holepunch(11, target, Mode::Reply, Some(SERVER_PUNCHER)),
                    CLIENT_PUNCHER,
                ),
            ),
            (
                "round two goes to the puncher the client now names",
                holepunch(12, target, Mode::FromClient, Some(SERVER_PUNCHER)),
                CLIENT_PUNCHER,
                forward(
                    holepunch(12, target, Mode::FromRelay, Some(CLIENT_PUNCHER)),
                    SERVER_PUNCHER,
                ),
            ),
            (
                "an abort from the server's DHT socket goes back to the client's puncher",
                holepunch(12, target, Mode::FromServer, Some(CLIENT_PUNCHER)),
                SERVER_CLIENT_SOCKET,
                answer(
                    12,
                    holepunch(12, target, Mode::Reply, Some(SERVER_CLIENT_SOCKET)),
                    CLIENT_PUNCHER,
                ),
            ),
            (
                "a round naming no socket goes to where the server announced from",
                holepunch(13, target, Mode::FromClient, None),
                CLIENT_PUNCHER,
                forward(
                    holepunch(13, target, Mode::FromRelay, Some(CLIENT_PUNCHER)),
                    SERVER_CLIENT_SOCKET,
                ),
            ),
        ];
        for (what, request, from, expected) in rows {
            let effects = node.on_request(request, addr(from), now);
            assert_eq!(effects, vec![expected], "{what}");
            let to = match &effects[0] {
                Effect::Forward { to, .. } | Effect::Reply { to, .. } => *to,
                other => panic!("{what}: {other:?}"),
            };
            assert_ne!(to, addr(SERVER_SERVER_SOCKET), "{what}");
        }
    }
}
