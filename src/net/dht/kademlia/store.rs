//! The record store of our DHT node: what it keeps for hyperdht's
//! ANNOUNCE and UNANNOUNCE, and what it answers to LOOKUP and FIND_PEER,
//! modelled on JS hyperdht's `persistent.js` (the records) and its router's
//! table of self-announced servers (the routes a relay forwards through).
//!
//! Pure: no IO, no clock of its own (every call takes `now`), no secrets
//! (the node checks the token it issued and passes the verdict in). Every
//! structure is capped (records per target, records, targets, routes), the
//! oldest giving way, so a flood of announces cannot grow memory without
//! bound; records and routes live 20 minutes from their last announce.
//!
//! A target's bump (the announcers' "something changed" counter) is kept
//! apart from its records, as JS keeps it (`bumps`): it outlives a
//! re-announce or an unannounce that empties the target, and lives 20
//! minutes from its last rise.
//!
//! Not kept, as in JS hyperdht 6.34 whose announcer never sends them:
//! refresh tokens (an announce without a peer is not answered). The
//! mutable and immutable records are `records.rs`'s; the plugin command
//! is no one's.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use super::aged::{Aged, Bounds};
use crate::net::dht::encoding::crypto::{hash, verify_announce, AnnounceKind, AnnounceScope};
use crate::net::dht::encoding::messages::{
    Announce, LookupRawReply, Peer, ANNOUNCE, FIND_PEER, LOOKUP, UNANNOUNCE,
};
use crate::net::dht::encoding::wire::{Request, INVALID_TOKEN};

/// The most records a LOOKUP reply carries (as JS).
pub(crate) const MAX_LOOKUP_PEERS: usize = 20;
/// How far ahead of our clock a bump may be (as JS).
pub(crate) const MAX_BUMP_DRIFT: Duration = Duration::from_secs(60);

/// The store's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Records kept per target; a new announcer pushes out the oldest.
    pub(crate) records_per_target: usize,
    /// Records kept in all (routes not counted).
    pub(crate) records: usize,
    /// Targets with records.
    pub(crate) targets: usize,
    /// Self-announced servers this node relays to.
    pub(crate) routes: usize,
    /// Relay addresses kept per record.
    pub(crate) relay_addresses: usize,
    /// Targets whose bump is kept.
    pub(crate) bumps: usize,
    /// How long a record or route lives after its last announce.
    pub(crate) ttl: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            records_per_target: 20,
            records: 65_536,
            targets: 16_384,
            routes: 65_536,
            relay_addresses: 3,
            bumps: 65_536,
            ttl: Duration::from_secs(20 * 60),
        }
    }
}

/// What the node should send back for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A reply with this value. `token_and_nodes` says whether it also
    /// carries a fresh token and closer nodes (JS acknowledges announces
    /// without either).
    Reply {
        value: Option<Vec<u8>>,
        token_and_nodes: bool,
    },
    /// An error reply (with a fresh token and closer nodes, as JS sends).
    Error(u64),
    /// No reply: JS drops such a request without a word.
    Silent,
    /// Not a command of the store; the node deals with it.
    NotMine,
}

impl Answer {
    fn ack() -> Self {
        Answer::Reply {
            value: None,
            token_and_nodes: false,
        }
    }
}

/// Orders entries by age; the counter breaks ties between equal instants.
type Stamp = (Instant, u64);

#[derive(Debug, Clone)]
struct Record {
    peer: Peer,
    stamp: Stamp,
}

#[derive(Debug, Clone, Default)]
struct Target {
    /// At most `records_per_target`, keyed by public key (a short list).
    records: Vec<Record>,
}

#[derive(Debug, Clone)]
struct Route {
    relay: SocketAddrV4,
    peer: Peer,
    stamp: Stamp,
}

/// The records and routes of one DHT node.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    limits: Limits,
    targets: HashMap<[u8; 32], Target>,
    /// Every record, oldest first: (target, public key).
    record_order: BTreeMap<Stamp, ([u8; 32], [u8; 32])>,
    routes: HashMap<[u8; 32], Route>,
    route_order: BTreeMap<Stamp, [u8; 32]>,
    /// The largest bump announced for each target (JS `bumps`).
    bumps: Aged<u64>,
    counter: u64,
    /// Our clock's `epoch` was `epoch_unix_ms` on the wall (for bumps,
    /// which are wall-clock milliseconds).
    epoch: Instant,
    epoch_unix_ms: u64,
}

impl Store {
    /// An empty store. `epoch` and `epoch_unix_ms` are one moment on the
    /// monotonic and on the wall clock, to judge announced bumps by.
    pub(crate) fn new(limits: Limits, epoch: Instant, epoch_unix_ms: u64) -> Self {
        Store {
            limits,
            targets: HashMap::new(),
            record_order: BTreeMap::new(),
            routes: HashMap::new(),
            route_order: BTreeMap::new(),
            bumps: Aged::new(Bounds {
                entries: limits.bumps,
                bytes: 0,
                ttl: limits.ttl,
            }),
            counter: 0,
            epoch,
            epoch_unix_ms,
        }
    }

    /// Records kept (routes not counted).
    #[cfg(test)]
    pub(crate) fn records(&self) -> usize {
        self.record_order.len()
    }

    /// Targets with at least one record.
    #[cfg(test)]
    pub(crate) fn targets(&self) -> usize {
        self.targets.len()
    }

    /// Self-announced servers we relay to.
    #[cfg(test)]
    pub(crate) fn routes(&self) -> usize {
        self.route_order.len()
    }

    /// Answers a hyperdht request from `from`. `token_valid` says whether
    /// the request's token is one this node issued to `from`'s host
    /// (ignored when it carries none); `node_id` is this node's id, which
    /// announce signatures bind. A token that is present but not ours is
    /// answered with INVALID_TOKEN, as JS dht-rpc answers it for every
    /// command.
    pub(crate) fn handle(
        &mut self,
        request: &Request,
        from: SocketAddrV4,
        token_valid: bool,
        node_id: &[u8; 32],
        now: Instant,
    ) -> Answer {
        let mine = !request.internal
            && matches!(request.command, ANNOUNCE | UNANNOUNCE | LOOKUP | FIND_PEER);
        if !mine {
            return Answer::NotMine;
        }
        if request.token.is_some() && !token_valid {
            return Answer::Error(INVALID_TOKEN);
        }
        self.expire(now);
        let Some(target) = request.target else {
            return Answer::Silent;
        };
        match request.command {
            LOOKUP => Answer::Reply {
                value: self.lookup(&target, now).map(|reply| reply.encode()),
                token_and_nodes: true,
            },
            FIND_PEER => Answer::Reply {
                value: self.find_peer(&target, now).map(|peer| peer.encode()),
                token_and_nodes: true,
            },
            command => {
                let Some(token) = request.token else {
                    return Answer::Silent;
                };
                let Some(ann) = request
                    .value
                    .as_deref()
                    .and_then(|v| Announce::decode(v).ok())
                else {
                    return Answer::Silent;
                };
                let scope = AnnounceScope {
                    target,
                    node_id: *node_id,
                    token,
                };
                if command == ANNOUNCE {
                    self.announce(&scope, &ann, from, now)
                } else {
                    self.unannounce(&scope, &ann)
                }
            }
        }
    }

    /// The records for `target` as a LOOKUP reply carries them: up to 20,
    /// the self-announced record last if there is room, and the target's
    /// bump. `None` when there is nothing.
    pub(crate) fn lookup(&self, target: &[u8; 32], now: Instant) -> Option<LookupRawReply> {
        let entry = self.targets.get(target);
        let mut peers: Vec<Peer> = entry
            .into_iter()
            .flat_map(|t| &t.records)
            .filter(|r| self.fresh(r.stamp, now))
            .take(MAX_LOOKUP_PEERS)
            .map(|r| r.peer.clone())
            .collect();
        if peers.len() < MAX_LOOKUP_PEERS {
            if let Some(peer) = self.find_peer(target, now) {
                peers.push(peer.clone());
            }
        }
        (!peers.is_empty()).then(|| LookupRawReply {
            peers,
            bump: Some(self.bumps.get(target, now).copied().unwrap_or(0)),
        })
    }

    /// The record of the server self-announced under `target`, if any.
    pub(crate) fn find_peer(&self, target: &[u8; 32], now: Instant) -> Option<&Peer> {
        self.routes
            .get(target)
            .filter(|r| self.fresh(r.stamp, now))
            .map(|r| &r.peer)
    }

    /// Where to forward handshakes for `target`: the address the server
    /// self-announced from.
    pub(crate) fn route(&self, target: &[u8; 32], now: Instant) -> Option<SocketAddrV4> {
        self.routes
            .get(target)
            .filter(|r| self.fresh(r.stamp, now))
            .map(|r| r.relay)
    }

    /// Drops every record and route older than the TTL.
    pub(crate) fn expire(&mut self, now: Instant) {
        self.bumps.expire(now);
        while let Some((&stamp, &(target, key))) = self.record_order.first_key_value() {
            if self.fresh(stamp, now) {
                break;
            }
            self.remove_record(&target, &key);
        }
        while let Some((&stamp, &target)) = self.route_order.first_key_value() {
            if self.fresh(stamp, now) {
                break;
            }
            self.remove_route(&target);
        }
    }

    fn fresh(&self, stamp: Stamp, now: Instant) -> bool {
        now.saturating_duration_since(stamp.0) < self.limits.ttl
    }

    fn stamp(&mut self, now: Instant) -> Stamp {
        self.counter = self.counter.wrapping_add(1);
        (now, self.counter)
    }

    fn unix_ms(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.epoch).as_millis();
        self.epoch_unix_ms
            .saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
    }

    fn announce(
        &mut self,
        scope: &AnnounceScope,
        ann: &Announce,
        from: SocketAddrV4,
        now: Instant,
    ) -> Answer {
        // An announce without a peer is a refresh, which we do not keep.
        let Some(peer) = &ann.peer else {
            return Answer::Silent;
        };
        if !verify_announce(AnnounceKind::Announce, scope, ann) {
            return Answer::Silent;
        }
        let mut peer = peer.clone();
        peer.relay_addresses.truncate(self.limits.relay_addresses);
        let target = scope.target;
        if hash(&[&peer.public_key]) == target {
            self.remove_record(&target, &peer.public_key);
            self.set_route(target, from, peer, now);
        } else {
            let drift = u64::try_from(MAX_BUMP_DRIFT.as_millis()).unwrap_or(u64::MAX);
            let latest = self.unix_ms(now).saturating_add(drift);
            let current = self.bumps.get(&target, now).copied().unwrap_or(0);
            if ann.bump > current && ann.bump <= latest {
                self.bumps.insert(target, ann.bump, now);
            }
            self.add_record(target, peer, now);
        }
        Answer::ack()
    }

    fn unannounce(&mut self, scope: &AnnounceScope, ann: &Announce) -> Answer {
        let Some(peer) = &ann.peer else {
            return Answer::Silent;
        };
        if !verify_announce(AnnounceKind::Unannounce, scope, ann) {
            return Answer::Silent;
        }
        let target = scope.target;
        if hash(&[&peer.public_key]) == target {
            self.remove_route(&target);
        }
        self.remove_record(&target, &peer.public_key);
        Answer::ack()
    }

    fn set_route(&mut self, target: [u8; 32], relay: SocketAddrV4, peer: Peer, now: Instant) {
        self.remove_route(&target);
        while self.routes.len() >= self.limits.routes {
            let Some((_, &oldest)) = self.route_order.first_key_value() else {
                return;
            };
            self.remove_route(&oldest);
        }
        let stamp = self.stamp(now);
        self.route_order.insert(stamp, target);
        self.routes.insert(target, Route { relay, peer, stamp });
    }

    fn remove_route(&mut self, target: &[u8; 32]) {
        if let Some(route) = self.routes.remove(target) {
            self.route_order.remove(&route.stamp);
        }
    }

    fn add_record(&mut self, target: [u8; 32], peer: Peer, now: Instant) {
        let key = peer.public_key;
        // A record already kept is replaced, and counts as new.
        self.remove_record(&target, &key);
        if !self.targets.contains_key(&target) {
            while self.targets.len() >= self.limits.targets {
                // Give up the target of the oldest record.
                let Some((_, &(oldest, _))) = self.record_order.first_key_value() else {
                    return;
                };
                self.remove_target(&oldest);
            }
        }
        loop {
            let held = self.targets.get(&target).map_or(0, |t| t.records.len());
            if held < self.limits.records_per_target {
                break;
            }
            let oldest = self
                .targets
                .get(&target)
                .and_then(|t| t.records.iter().min_by_key(|r| r.stamp))
                .map(|r| r.peer.public_key);
            let Some(oldest) = oldest else {
                return;
            };
            self.remove_record(&target, &oldest);
        }
        while self.record_order.len() >= self.limits.records {
            let Some((_, &(t, k))) = self.record_order.first_key_value() else {
                return;
            };
            self.remove_record(&t, &k);
        }
        let stamp = self.stamp(now);
        self.record_order.insert(stamp, (target, key));
        self.targets
            .entry(target)
            .or_default()
            .records
            .push(Record { peer, stamp });
    }

    fn remove_record(&mut self, target: &[u8; 32], key: &[u8; 32]) {
        let Some(entry) = self.targets.get_mut(target) else {
            return;
        };
        if let Some(i) = entry.records.iter().position(|r| &r.peer.public_key == key) {
            let record = entry.records.swap_remove(i);
            self.record_order.remove(&record.stamp);
        }
        if entry.records.is_empty() {
            self.targets.remove(target);
        }
    }

    fn remove_target(&mut self, target: &[u8; 32]) {
        if let Some(entry) = self.targets.remove(target) {
            for record in entry.records {
                self.record_order.remove(&record.stamp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::encoding::crypto::{node_id, sign_announce};
    use crate::net::dht::encoding::messages::tests::addr;
    use crate::net::dht::encoding::messages::PEER_HANDSHAKE;
    use crate::net::dht::encoding::records::MUTABLE_PUT;
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    const NODE: &str = "198.51.100.1:49737";
    const TOKEN: [u8; 32] = [0x55; 32];
    const WALL: u64 = 1_700_000_000_000;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn peer_of(key: &SigningKey, relays: usize) -> Peer {
        Peer {
            public_key: key.verifying_key().to_bytes(),
            relay_addresses: (0..relays)
                .map(|i| SocketAddrV4::new([203, 0, 113, i as u8].into(), 40000))
                .collect(),
        }
    }

    fn me() -> [u8; 32] {
        node_id(addr(NODE))
    }

    /// A signed (un)announce request of `key` on `target`.
    fn signed(
        kind: AnnounceKind,
        key: &SigningKey,
        target: [u8; 32],
        relays: usize,
        bump: u64,
    ) -> Request {
        let peer = peer_of(key, relays);
        let scope = AnnounceScope {
            target,
            node_id: me(),
            token: TOKEN,
        };
        let signature = sign_announce(kind, &scope, &peer, None, key);
        let ann = Announce {
            peer: Some(peer),
            refresh: None,
            signature: Some(signature),
            bump,
        };
        let command = match kind {
            AnnounceKind::Announce => ANNOUNCE,
            AnnounceKind::Unannounce => UNANNOUNCE,
        };
        Request {
            token: Some(TOKEN),
            target: Some(target),
            value: Some(ann.encode()),
            ..Request::new(1, addr(NODE), false, command)
        }
    }

    fn announce(key: &SigningKey, target: [u8; 32]) -> Request {
        signed(AnnounceKind::Announce, key, target, 2, 0)
    }

    fn query(command: u64, target: [u8; 32]) -> Request {
        Request {
            target: Some(target),
            ..Request::new(1, addr(NODE), false, command)
        }
    }

    fn store(limits: Limits, now: Instant) -> Store {
        Store::new(limits, now, WALL)
    }

    fn from() -> SocketAddrV4 {
        addr("203.0.113.50:5000")
    }

    fn lookup_value(s: &mut Store, target: [u8; 32], now: Instant) -> Option<LookupRawReply> {
        match s.handle(&query(LOOKUP, target), from(), false, &me(), now) {
            Answer::Reply {
                value,
                token_and_nodes: true,
            } => value.map(|v| LookupRawReply::decode(&v).unwrap()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_announce_is_found_by_lookup() {
        let now = Instant::now();
        let mut s = store(Limits::default(), now);
        let topic = [7; 32];
        assert_eq!(lookup_value(&mut s, topic, now), None);
        let answer = s.handle(&announce(&key(1), topic), from(), true, &me(), now);
        assert_eq!(answer, Answer::ack());
        let reply = lookup_value(&mut s, topic, now).unwrap();
        assert_eq!(reply.peers, vec![peer_of(&key(1), 2)]);
        assert_eq!(reply.bump, Some(0));
        assert_eq!((s.records(), s.targets(), s.routes()), (1, 1, 0));
        // A topic record is no route.
        assert_eq!(s.route(&topic, now), None);
        let found = s.handle(&query(FIND_PEER, topic), from(), false, &me(), now);
        assert_eq!(
            found,
            Answer::Reply {
                value: None,
                token_and_nodes: true
            }
        );
    }

    #[test]
    fn a_self_announce_makes_a_route() {
        let now = Instant::now();
        let mut s = store(Limits::default(), now);
        let k = key(2);
        let target = hash(&[&k.verifying_key().to_bytes()]);
        // A topic-style record under the same key and target first.
        s.add_record(target, peer_of(&k, 1), now);
        assert_eq!(s.records(), 1);
        assert_eq!(
            s.handle(&announce(&k, target), from(), true, &me(), now),
            Answer::ack()
        );
        assert_eq!(s.records(), 0, "the self-announce replaces the record");
        assert_eq!(s.route(&target, now), Some(from()));
        let found = s.handle(&query(FIND_PEER, target), from(), false, &me(), now);
        assert_eq!(
            found,
            Answer::Reply {
                value: Some(peer_of(&k, 2).encode()),
                token_and_nodes: true
            }
        );
        // LOOKUP lists it too.
        assert_eq!(
            lookup_value(&mut s, target, now).unwrap().peers,
            vec![peer_of(&k, 2)]
        );
        // Announcing again from elsewhere moves the route.
        let other = addr("192.0.2.9:9");
        s.handle(&announce(&k, target), other, true, &me(), now);
        assert_eq!(s.route(&target, now), Some(other));
        assert_eq!(s.routes(), 1);
    }

    #[test]
    fn relay_addresses_are_capped_at_three() {
        let now = Instant::now();
        let mut s = store(Limits::default(), now);
        let request = signed(AnnounceKind::Announce, &key(1), [7; 32], 5, 0);
        assert_eq!(s.handle(&request, from(), true, &me(), now), Answer::ack());
        let reply = lookup_value(&mut s, [7; 32], now).unwrap();
        assert_eq!(
            reply.peers[0].relay_addresses,
            peer_of(&key(1), 3).relay_addresses
        );
    }

    #[test]
    fn bad_announces_are_not_answered_and_not_kept() {
        let now = Instant::now();
        let mut s = store(Limits::default(), now);
        let topic = [7; 32];
        let good = announce(&key(1), topic);
        // A token that is not ours.
        assert_eq!(
            s.handle(&good, from(), false, &me(), now),
            Answer::Error(INVALID_TOKEN)
        );
        // Signed for another node.
        assert_eq!(s.handle(&good, from(), true, &[0; 32], now), Answer::Silent);
        // Without a token, without a value, with garbage, on another target.
        let bad = [
            Request {
                token: None,
                ..good.clone()
            },
            Request {
                value: None,
                ..good.clone()
            },
            Request {
                value: Some(vec![0xff, 1, 2]),
                ..good.clone()
            },
            Request {
                target: Some([8; 32]),
                ..good.clone()
            },
            Request {
                target: None,
                ..good.clone()
            },
        ];
        for request in &bad {
            assert_eq!(s.handle(request, from(), true, &me(), now), Answer::Silent);
        }
        // Signed as an unannounce; a tampered signature; no peer (a refresh).
        let mut wrong = signed(AnnounceKind::Unannounce, &key(1), topic, 2, 0);
        wrong.command = ANNOUNCE;
        assert_eq!(s.handle(&wrong, from(), true, &me(), now), Answer::Silent);
        let mut ann = Announce::decode(good.value.as_deref().unwrap()).unwrap();
        if let Some(sig) = ann.signature.as_mut() {
            sig[0] ^= 1;
        }
        let tampered = Request {
            value: Some(ann.encode()),
            ..good.clone()
        };
        assert_eq!(
            s.handle(&tampered, from(), true, &me(), now),
            Answer::Silent
        );
        let refresh = Announce {
            refresh: Some([1; 32]),
            ..Announce::default()
        };
        let refresh = Request {
            value: Some(refresh.encode()),
            ..good.clone()
        };
        assert_eq!(s.handle(&refresh, from(), true, &me(), now), Answer::Silent);
        assert_eq!((s.records(), s.targets(), s.routes()), (0, 0, 0));
    }

    #[test]
    fn other_commands_are_not_the_stores() {
        let now = Instant::now();
        let mut s = store(Limits::default(), now);
        for request in [
            query(PEER_HANDSHAKE, [1; 32]),
            query(MUTABLE_PUT, [1; 32]),
            Request {
                internal: true,
                ..query(LOOKUP, [1; 32])
            },
        ] {
            assert_eq!(
                s.handle(&request, from(), true, &me(), now),
                Answer::NotMine
            );
        }
        assert_eq!(
            s.handle(
                &Request {
                    target: None,
                    ..query(LOOKUP, [1; 32])
                },
                from(),
                false,
                &me(),
                now
            ),
            Answer::Silent
        );
    }

    #[test]
    fn an_unannounce_removes_records_and_routes() {
        let now = Instant::now();
        let mut s = store(Limits::default(), now);
        let topic = [7; 32];
        let k = key(3);
        let own = hash(&[&k.verifying_key().to_bytes()]);
        s.handle(&announce(&k, topic), from(), true, &me(), now);
        s.handle(&announce(&k, own), from(), true, &me(), now);
        assert_eq!((s.records(), s.routes()), (1, 1));
        // Another key's unannounce, and a forged one, remove nothing.
        let other = signed(AnnounceKind::Unannounce, &key(4), topic, 0, 0);
        assert_eq!(s.handle(&other, from(), true, &me(), now), Answer::ack());
        let forged = Request {
            command: UNANNOUNCE,
            ..announce(&k, topic)
        };
        assert_eq!(s.handle(&forged, from(), true, &me(), now), Answer::Silent);
        assert_eq!((s.records(), s.routes()), (1, 1));
        for target in [topic, own] {
            let request = signed(AnnounceKind::Unannounce, &k, target, 0, 0);
            assert_eq!(s.handle(&request, from(), true, &me(), now), Answer::ack());
        }
        assert_eq!((s.records(), s.targets(), s.routes()), (0, 0, 0));
        assert_eq!(s.route(&own, now), None);
    }

    #[test]
    fn records_and_routes_expire_after_twenty_minutes() {
        let t0 = Instant::now();
        let mut s = store(Limits::default(), t0);
        let k = key(5);
        let own = hash(&[&k.verifying_key().to_bytes()]);
        s.handle(&announce(&k, [7; 32]), from(), true, &me(), t0);
        s.handle(&announce(&key(6), [7; 32]), from(), true, &me(), t0);
        s.handle(&announce(&k, own), from(), true, &me(), t0);
        let t1 = t0 + Duration::from_secs(15 * 60);
        // Key 6 announces again: its record lives on.
        s.handle(&announce(&key(6), [7; 32]), from(), true, &me(), t1);
        let t2 = t0 + Duration::from_secs(20 * 60);
        // Unexpired queries do not see what has expired, before `expire`.
        assert_eq!(s.route(&own, t2), None);
        assert_eq!(
            s.lookup(&[7; 32], t2).unwrap().peers,
            vec![peer_of(&key(6), 2)]
        );
        s.expire(t2);
        assert_eq!((s.records(), s.targets(), s.routes()), (1, 1, 0));
        s.expire(t1 + Duration::from_secs(20 * 60));
        assert_eq!((s.records(), s.targets(), s.routes()), (0, 0, 0));
    }

    #[test]
    fn a_target_keeps_its_twenty_newest_records() {
        let t0 = Instant::now();
        let mut s = store(Limits::default(), t0);
        let topic = [7; 32];
        for n in 0..25u8 {
            let now = t0 + Duration::from_secs(u64::from(n));
            s.handle(&announce(&key(n + 10), topic), from(), true, &me(), now);
        }
        assert_eq!(s.records(), 20);
        let reply = s.lookup(&topic, t0 + Duration::from_secs(30)).unwrap();
        assert_eq!(reply.peers.len(), 20);
        let kept: Vec<[u8; 32]> = reply.peers.iter().map(|p| p.public_key).collect();
        for n in 0..5u8 {
            assert!(!kept.contains(&key(n + 10).verifying_key().to_bytes()));
        }
        // With 20 records and a route, LOOKUP still sends 20.
        let k = key(99);
        let own = hash(&[&k.verifying_key().to_bytes()]);
        s.handle(&announce(&k, own), from(), true, &me(), t0);
        for n in 0..20u8 {
            s.add_record(own, peer_of(&key(n + 100), 0), t0);
        }
        assert_eq!(s.lookup(&own, t0).unwrap().peers.len(), 20);
    }

    #[test]
    fn the_totals_are_capped_oldest_first() {
        let t0 = Instant::now();
        let limits = Limits {
            records: 5,
            targets: 3,
            routes: 2,
            ..Limits::default()
        };
        let mut s = store(limits, t0);
        // Four targets: the first (oldest) gives way.
        for n in 0..4u8 {
            let now = t0 + Duration::from_secs(u64::from(n));
            s.handle(&announce(&key(1), [n; 32]), from(), true, &me(), now);
        }
        assert_eq!((s.records(), s.targets()), (3, 3));
        assert!(s.lookup(&[0; 32], t0 + Duration::from_secs(5)).is_none());
        // Records over the total: the oldest go.
        for n in 0..4u8 {
            let now = t0 + Duration::from_secs(10 + u64::from(n));
            s.handle(&announce(&key(n + 20), [3; 32]), from(), true, &me(), now);
        }
        assert_eq!(s.records(), 5);
        assert!(s.lookup(&[1; 32], t0 + Duration::from_secs(20)).is_none());
        // Routes over their cap: the oldest goes.
        for n in 0..3u8 {
            let k = key(n + 40);
            let own = hash(&[&k.verifying_key().to_bytes()]);
            let now = t0 + Duration::from_secs(30 + u64::from(n));
            s.handle(&announce(&k, own), from(), true, &me(), now);
        }
        assert_eq!(s.routes(), 2);
        let first = hash(&[&key(40).verifying_key().to_bytes()]);
        assert_eq!(s.route(&first, t0 + Duration::from_secs(40)), None);
    }

    #[test]
    fn zero_limits_keep_nothing_and_do_not_panic() {
        let now = Instant::now();
        let limits = Limits {
            records_per_target: 0,
            records: 0,
            targets: 0,
            routes: 0,
            relay_addresses: 0,
            bumps: 0,
            ttl: Duration::ZERO,
        };
        let mut s = store(limits, now);
        let k = key(1);
        let own = hash(&[&k.verifying_key().to_bytes()]);
        s.handle(&announce(&k, [7; 32]), from(), true, &me(), now);
        s.handle(&announce(&k, own), from(), true, &me(), now);
        s.add_record([9; 32], peer_of(&k, 1), now);
        assert_eq!((s.records(), s.targets(), s.routes()), (0, 0, 0));
    }

    #[test]
    fn bumps_only_grow_and_not_past_the_drift() {
        let now = Instant::now();
        let mut s = store(Limits::default(), now);
        let topic = [7; 32];
        let bump = |s: &mut Store, n: u8, value: u64| {
            let request = signed(AnnounceKind::Announce, &key(n), topic, 0, value);
            s.handle(&request, from(), true, &me(), now);
            s.lookup(&topic, now).unwrap().bump
        };
        assert_eq!(bump(&mut s, 1, WALL), Some(WALL));
        assert_eq!(bump(&mut s, 2, WALL - 5), Some(WALL));
        assert_eq!(bump(&mut s, 3, WALL + 60_000), Some(WALL + 60_000));
        assert_eq!(bump(&mut s, 4, WALL + 60_001), Some(WALL + 60_000));
        assert_eq!(bump(&mut s, 5, u64::MAX), Some(WALL + 60_000));
    }

    /// The announces of JS's own "announce to group and bump and lookup":
    /// one key re-announcing, which replaces its record each time, keeps
    /// the largest bump; so does a target its records left.
    #[test]
    fn a_bump_outlives_the_record_that_raised_it() {
        let t0 = Instant::now();
        let mut s = store(Limits::default(), t0);
        let topic = [7; 32];
        let alice = key(1);
        let announce_with = |s: &mut Store, kind, value: u64, at: Duration| {
            let request = signed(kind, &alice, topic, 0, value);
            s.handle(&request, from(), true, &me(), t0 + at);
            s.lookup(&topic, t0 + at).map(|reply| reply.bump)
        };
        let second = Duration::from_secs(1);
        let announce = AnnounceKind::Announce;
        assert_eq!(announce_with(&mut s, announce, 1, second), Some(Some(1)));
        assert_eq!(
            announce_with(&mut s, announce, 2, second * 2),
            Some(Some(2))
        );
        assert_eq!(
            announce_with(&mut s, announce, 1, second * 3),
            Some(Some(2)),
            "monotonic"
        );
        let day_ahead = WALL + 24 * 3600 * 1000;
        assert_eq!(
            announce_with(&mut s, announce, day_ahead, second * 4),
            Some(Some(2)),
            "ignored"
        );
        // The target empties: nothing to look up, but the bump stays.
        assert_eq!(
            announce_with(&mut s, AnnounceKind::Unannounce, 0, second * 5),
            None
        );
        assert_eq!(
            announce_with(&mut s, announce, 0, second * 6),
            Some(Some(2))
        );
        // Now on the wall clock is accepted.
        let now_ms = WALL + 7_000;
        assert_eq!(
            announce_with(&mut s, announce, now_ms, second * 7),
            Some(Some(now_ms))
        );
        // 20 minutes after its last rise, it is forgotten with the record.
        let later = second * 7 + Limits::default().ttl;
        assert_eq!(announce_with(&mut s, announce, 0, later), Some(Some(0)));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Announce {
            key: u8,
            target: u8,
            own: bool,
            relays: usize,
            bump: u64,
        },
        Unannounce {
            key: u8,
            target: u8,
            own: bool,
        },
        Lookup {
            target: u8,
        },
        FindPeer {
            target: u8,
        },
        Raw {
            command: u64,
            token: bool,
            valid: bool,
            value: Vec<u8>,
        },
        Wait {
            secs: u64,
        },
        Expire,
    }

    fn any_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..12, 0u8..6, any::<bool>(), 0usize..6, prop_oneof![Just(0u64), any::<u64>()])
                .prop_map(|(key, target, own, relays, bump)| Op::Announce { key, target, own, relays, bump }),
            1 => (0u8..12, 0u8..6, any::<bool>())
                .prop_map(|(key, target, own)| Op::Unannounce { key, target, own }),
            1 => (0u8..6).prop_map(|target| Op::Lookup { target }),
            1 => (0u8..6).prop_map(|target| Op::FindPeer { target }),
            2 => (0u64..12, any::<bool>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200))
                .prop_map(|(command, token, valid, value)| Op::Raw { command, token, valid, value }),
            1 => (0u64..1500).prop_map(|secs| Op::Wait { secs }),
            1 => Just(Op::Expire),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn random_requests_never_panic_nor_pass_the_caps(
            ops in proptest::collection::vec(any_op(), 1..120),
        ) {
            let t0 = Instant::now();
            let limits = Limits {
                records_per_target: 3,
                records: 7,
                targets: 4,
                routes: 3,
                relay_addresses: 2,
                bumps: 3,
                ttl: Duration::from_secs(1200),
            };
            let mut s = store(limits, t0);
            let mut now = t0;
            let keys: Vec<SigningKey> = (0..12).map(|n| key(n + 1)).collect();
            let target_of = |key: u8, target: u8, own: bool| {
                if own {
                    hash(&[&keys[usize::from(key)].verifying_key().to_bytes()])
                } else {
                    [target; 32]
                }
            };
            for op in ops {
                let answer = match op {
                    Op::Announce { key, target, own, relays, bump } => {
                        let request = signed(AnnounceKind::Announce, &keys[usize::from(key)], target_of(key, target, own), relays, bump);
                        s.handle(&request, from(), true, &me(), now)
                    }
                    Op::Unannounce { key, target, own } => {
                        let request = signed(AnnounceKind::Unannounce, &keys[usize::from(key)], target_of(key, target, own), 1, 0);
                        s.handle(&request, from(), true, &me(), now)
                    }
                    Op::Lookup { target } => s.handle(&query(LOOKUP, [target; 32]), from(), false, &me(), now),
                    Op::FindPeer { target } => s.handle(&query(FIND_PEER, [target; 32]), from(), false, &me(), now),
                    Op::Raw { command, token, valid, value } => {
                        let request = Request {
                            token: token.then_some(TOKEN),
                            target: Some([value.first().copied().unwrap_or(0) % 6; 32]),
                            value: Some(value),
                            ..Request::new(1, addr(NODE), false, command)
                        };
                        s.handle(&request, from(), valid, &me(), now)
                    }
                    Op::Wait { secs } => {
                        now += Duration::from_secs(secs);
                        Answer::Silent
                    }
                    Op::Expire => {
                        s.expire(now);
                        Answer::Silent
                    }
                };
                if let Answer::Reply { value: Some(value), .. } = answer {
                    let decodes = LookupRawReply::decode(&value).is_ok() || Peer::decode(&value).is_ok();
                    prop_assert!(decodes);
                }
                prop_assert!(s.records() <= limits.records);
                prop_assert!(s.targets() <= limits.targets);
                prop_assert!(s.routes() <= limits.routes);
                prop_assert_eq!(s.routes.len(), s.route_order.len());
                let held: usize = s.targets.values().map(|t| t.records.len()).sum();
                prop_assert_eq!(held, s.records());
                for t in s.targets.values() {
                    prop_assert!(!t.records.is_empty());
                    prop_assert!(t.records.len() <= limits.records_per_target);
                    for r in &t.records {
                        prop_assert!(r.peer.relay_addresses.len() <= limits.relay_addresses);
                    }
                }
            }
        }
    }
}
