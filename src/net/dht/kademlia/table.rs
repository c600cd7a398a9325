//! The DHT routing table: who we know, bucketed by how many leading bits
//! their node id shares with ours, at most `K` per bucket, as dht-rpc keeps
//! it (Kademlia). Also what a node id is (BLAKE2b-256 of the 6-byte address)
//! and the check that a claimed id matches its address. Pure: no IO, no
//! clock; every call that needs the time takes `now`.
//!
//! A full bucket never evicts blindly. `add` answers with the contact that
//! was heard from least recently; the caller pings it and then calls
//! `seen` (it answered: the newcomer is dropped) or `replace` (it did not).

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

/// A node id: 32 bytes, compared as a big-endian number.
pub(crate) type NodeId = [u8; 32];

/// Contacts per bucket (Kademlia's k).
pub(crate) const K: usize = 20;
/// One bucket per possible shared-prefix length with our own id.
pub(crate) const BUCKETS: usize = 256;
/// The most contacts a table ever holds.
#[cfg(test)]
pub(crate) const MAX_CONTACTS: usize = K * BUCKETS;

/// A contact pinged this recently is not pinged again for a full bucket
/// (dht-rpc: not twice in one 5 s tick).
const PING_GAP: Duration = Duration::from_secs(5);
/// Heard from this recently...
const RECENT: Duration = Duration::from_secs(60);
/// ...and known for this long: a contact is kept without a ping.
const OLD: Duration = Duration::from_secs(30 * 60);

pub(crate) use crate::net::dht::encoding::crypto::node_id;

/// Whether `id` is the id a node at `addr` must have. dht-rpc adds a node to
/// its table only when this holds for the address its message came from.
pub(crate) fn valid_id(id: &NodeId, addr: SocketAddrV4) -> bool {
    node_id(addr) == *id
}

/// Whether `addr` can be a DHT node at all: not port 0, not in 0.0.0.0/8,
/// not broadcast, not multicast.
pub(crate) fn usable_addr(addr: SocketAddrV4) -> bool {
    let ip = addr.ip();
    addr.port() != 0 && ip.octets()[0] != 0 && !ip.is_broadcast() && !ip.is_multicast()
}

/// The XOR distance between two ids; `Ord` on the result orders by distance.
pub(crate) fn distance(a: &NodeId, b: &NodeId) -> NodeId {
    let mut out = [0u8; 32];
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b.iter())) {
        *o = x ^ y;
    }
    out
}

/// How many leading bits `a` and `b` share (256 when equal).
pub(crate) fn shared_prefix(a: &NodeId, b: &NodeId) -> usize {
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let diff = x ^ y;
        if diff != 0 {
            return i * 8 + diff.leading_zeros() as usize;
        }
    }
    BUCKETS
}

/// A DHT node: its id and where it listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Contact {
    pub(crate) id: NodeId,
    pub(crate) addr: SocketAddrV4,
}

impl Contact {
    /// The contact for the node at `addr`, its id derived from the address.
    #[cfg(test)]
    pub(crate) fn from_addr(addr: SocketAddrV4) -> Self {
        Contact {
            id: node_id(addr),
            addr,
        }
    }
}

/// A contact in the table and what we know of its liveness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) contact: Contact,
    /// When it entered the table.
    pub(crate) added: Instant,
    /// When we last heard from it.
    pub(crate) seen: Instant,
    /// When we last sent it a liveness ping, if ever.
    pub(crate) pinged: Option<Instant>,
    /// Position in the heard-from order (larger: more recent).
    order: u64,
}

impl Entry {
    /// The last time we exchanged anything with it, either way.
    fn last_interaction(&self) -> Instant {
        match self.pinged {
            Some(p) if p > self.seen => p,
            _ => self.seen,
        }
    }
}

/// Why `add` refused a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Its id is ours.
    OwnId,
    /// Its id is not the hash of its address.
    InvalidId,
    /// Its address cannot be a node (port 0, 0.0.0.0/8, broadcast, multicast).
    BadAddress,
}

/// What `add` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// New in the table.
    Inserted,
    /// Already known: marked as just heard from.
    Refreshed,
    /// Its bucket is full. Ping this contact (now marked as pinged): if it
    /// answers, call `seen` and drop the newcomer; if not, `replace` it with
    /// the newcomer. (dht-rpc keeps at most 3 such pings going at once,
    /// and starts them only once bootstrapped: the caller's call.)
    Ping(Contact),
    /// Its bucket is full of contacts that need no ping (pinged moments ago,
    /// or long-lived and heard from recently): the newcomer is dropped.
    Full,
    /// Refused.
    Rejected(Rejected),
}

/// The routing table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    id: NodeId,
    /// `buckets[i]` holds the contacts sharing exactly `i` leading bits
    /// with `id`; never more than `K` each.
    buckets: Vec<Vec<Entry>>,
    /// Heard-from order: `Entry::order` to id, oldest first.
    by_age: BTreeMap<u64, NodeId>,
    next_order: u64,
    len: usize,
}

impl Table {
    pub(crate) fn new(own_id: NodeId) -> Self {
        Table {
            id: own_id,
            buckets: vec![Vec::new(); BUCKETS],
            by_age: BTreeMap::new(),
            next_order: 0,
            len: 0,
        }
    }

    /// Our own id.
    pub(crate) fn id(&self) -> &NodeId {
        &self.id
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bucket `id` belongs in; `None` for our own id.
    fn bucket_of(&self, id: &NodeId) -> Option<usize> {
        let shared = shared_prefix(&self.id, id);
        (shared < BUCKETS).then_some(shared)
    }

    fn position(&self, id: &NodeId) -> Option<(usize, usize)> {
        let b = self.bucket_of(id)?;
        let i = self.buckets[b].iter().position(|e| e.contact.id == *id)?;
        Some((b, i))
    }

    fn bump(&mut self) -> u64 {
        let order = self.next_order;
        self.next_order += 1;
        order
    }

    pub(crate) fn get(&self, id: &NodeId) -> Option<&Entry> {
        let (b, i) = self.position(id)?;
        self.buckets[b].get(i)
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, id: &NodeId) -> bool {
        self.position(id).is_some()
    }

    /// Adds `contact`, heard from at `now`, or says why not (see `Added`).
    pub(crate) fn add(&mut self, contact: Contact, now: Instant) -> Added {
        if contact.id == self.id {
            return Added::Rejected(Rejected::OwnId);
        }
        if !usable_addr(contact.addr) {
            return Added::Rejected(Rejected::BadAddress);
        }
        if !valid_id(&contact.id, contact.addr) {
            return Added::Rejected(Rejected::InvalidId);
        }
        if self.seen(&contact.id, now) {
            return Added::Refreshed;
        }
        let Some(b) = self.bucket_of(&contact.id) else {
            return Added::Rejected(Rejected::OwnId);
        };
        if self.buckets[b].len() < K {
            let order = self.bump();
            self.buckets[b].push(Entry {
                contact,
                added: now,
                seen: now,
                pinged: None,
                order,
            });
            self.by_age.insert(order, contact.id);
            self.len += 1;
            return Added::Inserted;
        }
        // Full: the contact we exchanged with longest ago (then the one
        // added first), skipping those pinged moments ago.
        let oldest = self.buckets[b]
            .iter_mut()
            .filter(|e| {
                e.pinged
                    .is_none_or(|p| now.saturating_duration_since(p) >= PING_GAP)
            })
            .min_by_key(|e| (e.last_interaction(), e.added, e.order));
        let Some(oldest) = oldest else {
            return Added::Full;
        };
        let quiet = now.saturating_duration_since(oldest.last_interaction());
        let age = now.saturating_duration_since(oldest.added);
        if quiet < RECENT && age > OLD {
            return Added::Full;
        }
        oldest.pinged = Some(now);
        Added::Ping(oldest.contact)
    }

    /// We heard from `id` at `now`: it becomes the most recently seen.
    /// False if it is not in the table.
    pub(crate) fn seen(&mut self, id: &NodeId, now: Instant) -> bool {
        let Some((b, i)) = self.position(id) else {
            return false;
        };
        let order = self.bump();
        let entry = &mut self.buckets[b][i];
        self.by_age.remove(&entry.order);
        entry.order = order;
        if now > entry.seen {
            entry.seen = now;
        }
        self.by_age.insert(order, *id);
        true
    }

    /// We sent `id` a liveness ping at `now` (it keeps its place in the
    /// heard-from order). False if it is not in the table.
    pub(crate) fn pinged(&mut self, id: &NodeId, now: Instant) -> bool {
        let Some((b, i)) = self.position(id) else {
            return false;
        };
        self.buckets[b][i].pinged = Some(now);
        true
    }

    /// Removes `id`; the contact it was, if it was there.
    pub(crate) fn remove(&mut self, id: &NodeId) -> Option<Contact> {
        let (b, i) = self.position(id)?;
        let entry = self.buckets[b].swap_remove(i);
        self.by_age.remove(&entry.order);
        self.len -= 1;
        Some(entry.contact)
    }

    /// `old` did not answer its ping: removes it and adds `new` in its place.
    pub(crate) fn replace(&mut self, old: &NodeId, new: Contact, now: Instant) -> Added {
        self.remove(old);
        self.add(new, now)
    }

    /// Up to `k` contacts, closest to `target` first by XOR distance (exact).
    pub(crate) fn closest(&self, target: &NodeId, k: usize) -> Vec<Contact> {
        let mut out = Vec::with_capacity(k.min(self.len));
        if k == 0 {
            return out;
        }
        // Bucket `d` (the target's own) holds everything closer than
        // 2^(255-d); buckets above it all lie in the next band; each bucket
        // below it is a band of its own, farther as the index falls.
        let d = shared_prefix(&self.id, target);
        if d < BUCKETS && self.take_band(target, k, d..d + 1, &mut out) {
            return out;
        }
        if d + 1 < BUCKETS && self.take_band(target, k, d + 1..BUCKETS, &mut out) {
            return out;
        }
        for b in (0..d.min(BUCKETS)).rev() {
            if self.take_band(target, k, b..b + 1, &mut out) {
                break;
            }
        }
        out
    }

    /// Appends the contacts of `buckets`, sorted by distance to `target`,
    /// until `out` holds `k`; true once it does.
    fn take_band(
        &self,
        target: &NodeId,
        k: usize,
        buckets: std::ops::Range<usize>,
        out: &mut Vec<Contact>,
    ) -> bool {
        let mut band: Vec<(NodeId, Contact)> = buckets
            .filter_map(|b| self.buckets.get(b))
            .flatten()
            .map(|e| (distance(&e.contact.id, target), e.contact))
            .collect();
        band.sort_unstable_by_key(|(d, _)| *d);
        let room = k.saturating_sub(out.len());
        out.extend(band.into_iter().take(room).map(|(_, c)| c));
        out.len() >= k
    }

    /// Every entry, in no particular order.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flatten()
    }

    /// Every contact, in no particular order.
    #[cfg(test)]
    pub(crate) fn contacts(&self) -> Vec<Contact> {
        self.entries().map(|e| e.contact).collect()
    }

    /// Up to `n` contacts, least recently heard from first (for liveness
    /// pings).
    pub(crate) fn oldest(&self, n: usize) -> Vec<Contact> {
        self.by_age_iter(self.by_age.values(), n)
    }

    /// Up to `n` contacts, most recently heard from first (for NAT
    /// sampling; hyperdht's sampler skips the first 5 once it knows 8).
    pub(crate) fn newest(&self, n: usize) -> Vec<Contact> {
        self.by_age_iter(self.by_age.values().rev(), n)
    }

    fn by_age_iter<'a>(&self, ids: impl Iterator<Item = &'a NodeId>, n: usize) -> Vec<Contact> {
        ids.filter_map(|id| self.get(id))
            .map(|e| e.contact)
            .take(n)
            .collect()
    }

    /// Our id changed (we became persistent): re-buckets every contact
    /// around `new_id`, most recently heard from first, keeping their
    /// bookkeeping. Returns those that no longer fit (and the one whose id
    /// is now ours).
    #[cfg(test)]
    pub(crate) fn rebuild(&mut self, new_id: NodeId) -> Vec<Contact> {
        let mut entries: Vec<Entry> = self.buckets.iter_mut().flat_map(std::mem::take).collect();
        entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.order));
        self.id = new_id;
        self.by_age.clear();
        self.len = 0;
        let mut dropped = Vec::new();
        for entry in entries {
            match self.bucket_of(&entry.contact.id) {
                Some(b) if self.buckets[b].len() < K => {
                    self.by_age.insert(entry.order, entry.contact.id);
                    self.buckets[b].push(entry);
                    self.len += 1;
                }
                _ => dropped.push(entry.contact),
            }
        }
        dropped
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        assert_eq!(self.buckets.len(), BUCKETS);
        let mut total = 0;
        for (b, bucket) in self.buckets.iter().enumerate() {
            assert!(bucket.len() <= K);
            for e in bucket {
                assert_eq!(shared_prefix(&self.id, &e.contact.id), b);
                assert_eq!(self.by_age.get(&e.order), Some(&e.contact.id));
                assert!(e.order < self.next_order);
            }
            total += bucket.len();
        }
        assert_eq!(total, self.len);
        assert_eq!(self.by_age.len(), self.len);
        assert!(self.len <= MAX_CONTACTS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn addr(i: u32) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::from(0x0a00_0000 + i), 49_737)
    }

    fn own() -> NodeId {
        node_id(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 49_737))
    }

    /// `n` contacts that all land in bucket `b` of a table around `own()`.
    fn in_bucket(b: usize, n: usize) -> Vec<Contact> {
        let own = own();
        (1..)
            .map(|i| Contact::from_addr(addr(i)))
            .filter(|c| shared_prefix(&own, &c.id) == b)
            .take(n)
            .collect()
    }

    fn brute_closest(all: &[Contact], target: &NodeId, k: usize) -> Vec<Contact> {
        let mut all = all.to_vec();
        all.sort_by_key(|c| distance(&c.id, target));
        all.truncate(k);
        all
    }

    #[test]
    fn node_id_is_blake2b_of_ip_and_le_port() {
        let a = SocketAddrV4::new(Ipv4Addr::new(1, 2, 3, 4), 0x0102);
        let expected: NodeId =
            crate::net::dht::encoding::crypto::hash(&[&[1, 2, 3, 4, 0x02, 0x01]]);
        assert_eq!(node_id(a), expected);
        assert!(valid_id(&expected, a));
        assert!(!valid_id(&expected, SocketAddrV4::new(*a.ip(), 0x0201)));
    }

    #[test]
    fn node_id_matches_dht_rpc() {
        // Computed with dht-rpc 6.27's peer.id(host, port).
        let hex =
            |a: SocketAddrV4| -> String { node_id(a).iter().map(|b| format!("{b:02x}")).collect() };
        assert_eq!(
            hex(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 49_737)),
            "d1dcf835b0d62b9230c41393cb96a34f5f8b9f814f421ca3382dfc1678022e0e"
        );
        assert_eq!(
            hex(SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 7), 1)),
            "00d2e9c999d183d0dd8d412129a6e99ae6b161f4f855ea25f2fdcc7f7e537d1c"
        );
    }

    #[test]
    fn usable_addresses() {
        assert!(usable_addr(addr(1)));
        assert!(usable_addr(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1)));
        assert!(!usable_addr(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)));
        assert!(!usable_addr(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80)));
        assert!(!usable_addr(SocketAddrV4::new(
            Ipv4Addr::new(0, 1, 2, 3),
            80
        )));
        assert!(!usable_addr(SocketAddrV4::new(Ipv4Addr::BROADCAST, 80)));
        assert!(!usable_addr(SocketAddrV4::new(
            Ipv4Addr::new(224, 0, 0, 1),
            80
        )));
    }

    #[test]
    fn shared_prefix_and_distance() {
        let a = [0u8; 32];
        let mut b = [0u8; 32];
        assert_eq!(shared_prefix(&a, &b), 256);
        b[31] = 1;
        assert_eq!(shared_prefix(&a, &b), 255);
        b[0] = 0x80;
        assert_eq!(shared_prefix(&a, &b), 0);
        b[0] = 0x01;
        assert_eq!(shared_prefix(&a, &b), 7);
        assert_eq!(distance(&a, &b), b);
        assert_eq!(distance(&b, &b), a);
    }

    #[test]
    fn add_get_remove() {
        let now = Instant::now();
        let mut t = Table::new(own());
        assert!(t.is_empty());
        let c = Contact::from_addr(addr(1));
        assert_eq!(t.add(c, now), Added::Inserted);
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(&c.id).map(|e| e.contact), Some(c));
        assert_eq!(
            t.get(&c.id).map(|e| (e.added, e.seen, e.pinged)),
            Some((now, now, None))
        );
        assert!(t.contains(&c.id));
        assert_eq!(t.contacts(), vec![c]);
        assert_eq!(t.remove(&c.id), Some(c));
        assert_eq!(t.remove(&c.id), None);
        assert!(t.is_empty());
        t.check_invariants();
    }

    #[test]
    fn adding_again_refreshes() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(3);
        let mut t = Table::new(own());
        let a = Contact::from_addr(addr(1));
        let b = Contact::from_addr(addr(2));
        t.add(a, t0);
        t.add(b, t0);
        assert_eq!(t.oldest(1), vec![a]);
        assert_eq!(t.add(a, t1), Added::Refreshed);
        assert_eq!(t.len(), 2);
        let entry = t.get(&a.id).unwrap();
        assert_eq!((entry.added, entry.seen), (t0, t1));
        assert_eq!(t.oldest(2), vec![b, a]);
        assert_eq!(t.newest(2), vec![a, b]);
        t.check_invariants();
    }

    #[test]
    fn refuses_own_invalid_and_bogus() {
        let now = Instant::now();
        let me = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 49_737);
        let mut t = Table::new(node_id(me));
        assert_eq!(
            t.add(Contact::from_addr(me), now),
            Added::Rejected(Rejected::OwnId)
        );
        let forged = Contact {
            id: node_id(addr(1)),
            addr: addr(2),
        };
        assert_eq!(t.add(forged, now), Added::Rejected(Rejected::InvalidId));
        let zero = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 0);
        assert_eq!(
            t.add(Contact::from_addr(zero), now),
            Added::Rejected(Rejected::BadAddress)
        );
        assert!(t.is_empty());
    }

    #[test]
    fn full_bucket_asks_to_ping_the_least_recently_seen() {
        let t0 = Instant::now();
        let mut t = Table::new(own());
        let contacts = in_bucket(0, K + 2);
        for (i, c) in contacts[..K].iter().enumerate() {
            assert_eq!(
                t.add(*c, t0 + Duration::from_secs(i as u64)),
                Added::Inserted
            );
        }
        // The first one is heard from again, so the second is now oldest.
        let later = t0 + Duration::from_secs(100);
        t.seen(&contacts[0].id, later);
        let newcomer = contacts[K];
        assert_eq!(t.add(newcomer, later), Added::Ping(contacts[1]));
        assert_eq!(t.get(&contacts[1].id).unwrap().pinged, Some(later));
        assert!(!t.contains(&newcomer.id));
        assert_eq!(t.len(), K);
        // While that ping is pending, another newcomer gets the next oldest.
        assert_eq!(t.add(contacts[K + 1], later), Added::Ping(contacts[2]));
        // The first answers: it stays. The second does not: replaced.
        assert!(t.seen(&contacts[1].id, later + Duration::from_secs(1)));
        assert_eq!(
            t.replace(
                &contacts[2].id,
                contacts[K + 1],
                later + Duration::from_secs(2)
            ),
            Added::Inserted
        );
        assert!(t.contains(&contacts[1].id));
        assert!(!t.contains(&contacts[2].id));
        assert!(t.contains(&contacts[K + 1].id));
        assert_eq!(t.len(), K);
        t.check_invariants();
    }

    #[test]
    fn full_bucket_of_fresh_pings_drops_the_newcomer() {
        let t0 = Instant::now();
        let mut t = Table::new(own());
        let contacts = in_bucket(0, K + 1);
        for c in &contacts[..K] {
            t.add(*c, t0);
        }
        for c in &contacts[..K] {
            t.pinged(&c.id, t0);
        }
        assert_eq!(t.add(contacts[K], t0 + Duration::from_secs(1)), Added::Full);
        // Once the gap has passed, pinging resumes.
        assert!(matches!(t.add(contacts[K], t0 + PING_GAP), Added::Ping(_)));
    }

    #[test]
    fn long_lived_recently_heard_contacts_need_no_ping() {
        let t0 = Instant::now();
        let mut t = Table::new(own());
        let contacts = in_bucket(0, K + 1);
        for c in &contacts[..K] {
            t.add(*c, t0);
        }
        let later = t0 + OLD + Duration::from_secs(1);
        for c in &contacts[..K] {
            t.seen(&c.id, later);
        }
        let now = later + Duration::from_secs(10);
        assert_eq!(t.add(contacts[K], now), Added::Full);
        // Quiet for a minute: worth a ping again.
        assert!(matches!(t.add(contacts[K], later + RECENT), Added::Ping(_)));
    }

    #[test]
    fn replace_when_the_old_one_is_gone_still_adds() {
        let now = Instant::now();
        let mut t = Table::new(own());
        let c = Contact::from_addr(addr(7));
        assert_eq!(t.replace(&[9; 32], c, now), Added::Inserted);
        assert!(t.contains(&c.id));
        assert!(!t.seen(&[9; 32], now));
        assert!(!t.pinged(&[9; 32], now));
    }

    #[test]
    fn closest_orders_by_xor_distance() {
        let now = Instant::now();
        let mut t = Table::new(own());
        let all: Vec<Contact> = (1..300).map(|i| Contact::from_addr(addr(i))).collect();
        for c in &all {
            t.add(*c, now);
        }
        let stored = t.contacts();
        for target in [own(), node_id(addr(5)), [0; 32], [0xff; 32]] {
            for k in [0, 1, 20, 50, 10_000] {
                assert_eq!(t.closest(&target, k), brute_closest(&stored, &target, k));
            }
        }
    }

    #[test]
    fn oldest_and_newest() {
        let now = Instant::now();
        let mut t = Table::new(own());
        let all: Vec<Contact> = (1..10).map(|i| Contact::from_addr(addr(i))).collect();
        for c in &all {
            t.add(*c, now);
        }
        assert_eq!(t.oldest(3), all[..3].to_vec());
        let mut rev = all.clone();
        rev.reverse();
        assert_eq!(t.newest(100), rev);
        t.remove(&all[0].id);
        t.seen(&all[1].id, now);
        assert_eq!(t.oldest(2), vec![all[2], all[3]]);
        assert_eq!(t.newest(1), vec![all[1]]);
        assert_eq!(t.oldest(0), vec![]);
    }

    #[test]
    fn rebuild_keeps_what_fits_and_the_newest_first() {
        let now = Instant::now();
        let mut t = Table::new([0; 32]);
        let all: Vec<Contact> = (1..400).map(|i| Contact::from_addr(addr(i))).collect();
        for c in &all {
            t.add(*c, now);
        }
        let before = t.contacts();
        let newest_before = t.newest(5);
        let new_id = all[0].id;
        let dropped = t.rebuild(new_id);
        t.check_invariants();
        assert_eq!(t.id(), &new_id);
        assert!(!t.contains(&new_id));
        assert!(dropped.iter().any(|c| c.id == new_id));
        assert_eq!(t.len() + dropped.len(), before.len());
        for c in &before {
            assert!(t.contains(&c.id) != dropped.contains(c));
        }
        // Heard-from order survives.
        let kept: Vec<Contact> = newest_before
            .into_iter()
            .filter(|c| t.contains(&c.id))
            .collect();
        assert_eq!(t.newest(kept.len()), kept);
        assert!(t.rebuild(new_id).is_empty());
    }

    #[test]
    fn never_more_than_k_per_bucket() {
        let now = Instant::now();
        let mut t = Table::new(own());
        for i in 1..5_000 {
            t.add(Contact::from_addr(addr(i)), now);
        }
        t.check_invariants();
        // Bucket 0 holds about half of all random ids: long since full.
        assert_eq!(t.buckets[0].len(), K);
        assert!(t.len() < 5_000);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u32, u64),
        Seen(u32, u64),
        Pinged(u32, u64),
        Remove(u32),
        Replace(u32, u32, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let n = 0u32..2_000;
        let t = 0u64..4_000;
        prop_oneof![
            4 => (n.clone(), t.clone()).prop_map(|(a, t)| Op::Add(a, t)),
            1 => (n.clone(), t.clone()).prop_map(|(a, t)| Op::Seen(a, t)),
            1 => (n.clone(), t.clone()).prop_map(|(a, t)| Op::Pinged(a, t)),
            1 => n.clone().prop_map(Op::Remove),
            1 => (n.clone(), n, t).prop_map(|(a, b, t)| Op::Replace(a, b, t)),
        ]
    }

    proptest! {
        #[test]
        fn closest_is_brute_force_exact(
            own_n in 0u32..10_000,
            members in proptest::collection::vec(0u32..100_000, 0..400),
            target in any::<[u8; 32]>(),
            k in 0usize..60,
        ) {
            let now = Instant::now();
            let own = node_id(addr(own_n));
            let mut t = Table::new(own);
            for m in members {
                t.add(Contact::from_addr(addr(m)), now);
            }
            t.check_invariants();
            let stored = t.contacts();
            prop_assert_eq!(t.closest(&target, k), brute_closest(&stored, &target, k));
            prop_assert_eq!(t.closest(&own, k), brute_closest(&stored, &own, k));
        }

        #[test]
        fn random_operations_keep_the_table_sound(ops in proptest::collection::vec(op(), 0..300)) {
            let t0 = Instant::now();
            let at = |s: u64| t0 + Duration::from_secs(s);
            let mut t = Table::new(own());
            for op in ops {
                match op {
                    Op::Add(a, s) => {
                        let c = Contact::from_addr(addr(a));
                        match t.add(c, at(s)) {
                            Added::Inserted | Added::Refreshed => prop_assert!(t.contains(&c.id)),
                            Added::Ping(old) => {
                                prop_assert!(t.contains(&old.id));
                                prop_assert!(!t.contains(&c.id));
                                prop_assert_eq!(t.get(&old.id).unwrap().pinged, Some(at(s)));
                            }
                            Added::Full => prop_assert!(!t.contains(&c.id)),
                            Added::Rejected(_) => {}
                        }
                    }
                    Op::Seen(a, s) => { t.seen(&node_id(addr(a)), at(s)); }
                    Op::Pinged(a, s) => { t.pinged(&node_id(addr(a)), at(s)); }
                    Op::Remove(a) => {
                        let id = node_id(addr(a));
                        let had = t.contains(&id);
                        prop_assert_eq!(t.remove(&id).is_some(), had);
                        prop_assert!(!t.contains(&id));
                    }
                    Op::Replace(a, b, s) => {
                        t.replace(&node_id(addr(a)), Contact::from_addr(addr(b)), at(s));
                        prop_assert!(!t.contains(&node_id(addr(a))) || a == b);
                    }
                }
                t.check_invariants();
            }
            let n = t.len();
            prop_assert_eq!(t.oldest(usize::MAX).len(), n);
            prop_assert_eq!(t.newest(usize::MAX).len(), n);
        }
    }
}
