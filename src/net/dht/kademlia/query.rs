//! One iterative Kademlia lookup, as dht-rpc runs its queries: ask the
//! closest nodes we know of for nodes closer to a target, learn from their
//! replies, and stop once the `k` closest we know have all answered or
//! failed. Pure: the caller sends the requests `poll_requests` names and
//! reports each outcome with `on_reply` or `on_failure`; no IO, no clock
//! (calls take `now`).
//!
//! Bounded against a hostile DHT: each address is asked at most once, at
//! most `max_requests` in all, the candidates kept are capped, and only the
//! first `max_closer_per_reply` usable addresses of a reply are read.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use super::table::{distance, node_id, usable_addr, valid_id, NodeId, K};

/// A node is remembered as pointing us at a candidate at most this many
/// times (the addresses to send DOWN_HINTs to if it turns out dead).
const MAX_REFERRERS: usize = 4;

/// How a query runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueryOpts {
    /// How many closest replies the query wants (dht-rpc: the table's k).
    pub(crate) k: usize,
    /// Requests in flight at once, not counting slow ones (dht-rpc: 10).
    pub(crate) concurrency: usize,
    /// The most requests the query ever sends.
    pub(crate) max_requests: usize,
    /// The most not-yet-asked candidates kept (the closest win).
    pub(crate) max_candidates: usize,
    /// Only this many closer nodes of one reply are read.
    pub(crate) max_closer_per_reply: usize,
    /// A request unanswered this long is slow: it stops counting against
    /// `concurrency`, and the query may finish without it (dht-rpc: after
    /// its first timeout, 1 s unless adapted).
    pub(crate) slow_after: Duration,
}

impl Default for QueryOpts {
    fn default() -> Self {
        QueryOpts {
            k: K,
            concurrency: 10,
            max_requests: 1_000,
            max_candidates: 8 * K,
            max_closer_per_reply: K,
            slow_after: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Known, not asked yet.
    Candidate,
    InFlight,
    Replied,
    Failed,
    /// Never to be asked (our own address).
    Excluded,
}

#[derive(Debug, Clone)]
struct Node {
    id: NodeId,
    state: State,
    /// Who told us about it (kept while it is a candidate or in flight).
    referrers: Vec<SocketAddrV4>,
}

#[derive(Debug, Clone, Copy)]
struct Flight {
    sent: Instant,
    slow: bool,
}

/// The lookup's state.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    target: NodeId,
    opts: QueryOpts,
    /// Every address the query knows: candidates, asked, excluded.
    nodes: HashMap<SocketAddrV4, Node>,
    /// Candidates by distance to the target, closest first; all of them
    /// closer than the k-th closest reply (or fewer than k replies so far).
    candidates: BTreeSet<(NodeId, SocketAddrV4)>,
    in_flight: HashMap<SocketAddrV4, Flight>,
    slow: usize,
    /// The closest nodes that replied with a valid id, by distance, at most k.
    closest: Vec<(NodeId, SocketAddrV4)>,
    asked: usize,
    replies: usize,
    failures: usize,
}

impl Query {
    /// A lookup of `target`, starting from `seeds` (their ids are derived
    /// from their addresses).
    pub(crate) fn new(target: NodeId, seeds: Vec<SocketAddrV4>, opts: QueryOpts) -> Self {
        let opts = QueryOpts {
            k: opts.k.max(1),
            concurrency: opts.concurrency.max(1),
            max_candidates: opts.max_candidates.max(1),
            ..opts
        };
        let mut query = Query {
            target,
            opts,
            nodes: HashMap::new(),
            candidates: BTreeSet::new(),
            in_flight: HashMap::new(),
            slow: 0,
            closest: Vec::new(),
            asked: 0,
            replies: 0,
            failures: 0,
        };
        query.add_seeds(&seeds);
        query
    }

    #[cfg(test)]
    pub(crate) fn target(&self) -> &NodeId {
        &self.target
    }

    /// More nodes to start from (dht-rpc falls back to its routing table
    /// when too few of the first nodes answered). Addresses already known
    /// are left as they are.
    pub(crate) fn add_seeds(&mut self, seeds: &[SocketAddrV4]) {
        for &seed in seeds {
            self.offer(seed, None);
        }
    }

    /// Never ask `addr` (our own address). An address already asked is
    /// left as it is.
    pub(crate) fn exclude(&mut self, addr: SocketAddrV4) {
        match self.nodes.get(&addr).map(|n| (n.state, n.id)) {
            Some((State::Candidate, id)) => {
                self.candidates.remove(&(distance(&id, &self.target), addr));
            }
            Some(_) => return,
            None => {}
        }
        self.nodes.insert(
            addr,
            Node {
                id: node_id(addr),
                state: State::Excluded,
                referrers: Vec::new(),
            },
        );
    }

    /// Whom to ask next, closest first, keeping at most `concurrency`
    /// requests that are not slow in flight.
    pub(crate) fn poll_requests(&mut self, now: Instant) -> Vec<SocketAddrV4> {
        self.mark_slow(now);
        let mut out = Vec::new();
        while self.in_flight.len().saturating_sub(self.slow) < self.opts.concurrency
            && self.asked < self.opts.max_requests
        {
            let Some((_, addr)) = self.candidates.pop_first() else {
                break;
            };
            if let Some(node) = self.nodes.get_mut(&addr) {
                node.state = State::InFlight;
            }
            self.in_flight.insert(
                addr,
                Flight {
                    sent: now,
                    slow: false,
                },
            );
            self.asked += 1;
            out.push(addr);
        }
        out
    }

    /// `from`, which we asked, replied, listing `closer_nodes`. `from_id`
    /// is the id the reply carried: pass `None` if it had none (an
    /// ephemeral node) or was an error reply; only replies with a valid id
    /// count among `closest_replies`, as in dht-rpc. A reply from anyone
    /// not in flight is ignored.
    ///
    /// Returns the listed nodes we know to be down, so the caller can send
    /// `from` a DOWN_HINT about each (dht-rpc does, for timeouts).
    pub(crate) fn on_reply(
        &mut self,
        from: SocketAddrV4,
        from_id: Option<NodeId>,
        closer_nodes: &[SocketAddrV4],
        now: Instant,
    ) -> Vec<SocketAddrV4> {
        let done = self.is_done();
        if !self.retire(from, State::Replied) {
            return Vec::new();
        }
        self.mark_slow(now);
        self.replies += 1;
        if done {
            // The result is settled: late answers change nothing.
            return Vec::new();
        }
        if let Some(id) = from_id.filter(|id| valid_id(id, from)) {
            self.push_closest(distance(&id, &self.target), from);
        }
        let mut down = Vec::new();
        let listed = closer_nodes
            .iter()
            .copied()
            .filter(|a| usable_addr(*a))
            .take(self.opts.max_closer_per_reply);
        for addr in listed {
            if let Some(node) = self.nodes.get_mut(&addr) {
                match node.state {
                    State::Candidate | State::InFlight => {
                        if node.referrers.len() < MAX_REFERRERS && !node.referrers.contains(&from) {
                            node.referrers.push(from);
                        }
                    }
                    State::Failed => {
                        if !down.contains(&addr) {
                            down.push(addr);
                        }
                    }
                    State::Replied | State::Excluded => {}
                }
            } else {
                self.offer(addr, Some(from));
            }
        }
        down
    }

    /// Asking `from` failed (timeout or error). Returns the nodes that
    /// pointed us at it, so the caller can send each a DOWN_HINT (dht-rpc
    /// does when the request timed out).
    pub(crate) fn on_failure(&mut self, from: SocketAddrV4, now: Instant) -> Vec<SocketAddrV4> {
        if !self.retire(from, State::Failed) {
            return Vec::new();
        }
        self.mark_slow(now);
        self.failures += 1;
        self.nodes
            .get_mut(&from)
            .map(|n| std::mem::take(&mut n.referrers))
            .unwrap_or_default()
    }

    /// Done: nothing left worth asking (or the request cap reached), and
    /// nothing in flight, or only slow requests while we already hold k
    /// replies. Slowness is judged as of the latest call that took `now`.
    pub(crate) fn is_done(&self) -> bool {
        let nothing_to_ask = self.candidates.is_empty() || self.asked >= self.opts.max_requests;
        nothing_to_ask
            && (self.in_flight.is_empty()
                || (self.slow == self.in_flight.len() && self.closest.len() >= self.opts.k))
    }

    /// The up to k closest nodes that replied with a valid id, closest
    /// first. The caller keeps each reply's token and value by address (an
    /// announce commits to these nodes).
    #[cfg(test)]
    pub(crate) fn closest_replies(&self) -> Vec<SocketAddrV4> {
        self.closest.iter().map(|(_, a)| *a).collect()
    }

    /// Requests sent so far.
    #[cfg(test)]
    pub(crate) fn asked(&self) -> usize {
        self.asked
    }

    /// Requests awaiting an outcome.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Replies received (with or without an id).
    #[cfg(test)]
    pub(crate) fn replies(&self) -> usize {
        self.replies
    }

    /// Requests that failed.
    #[cfg(test)]
    pub(crate) fn failures(&self) -> usize {
        self.failures
    }

    /// Ends `addr`'s flight with `state`; false if it was not in flight.
    fn retire(&mut self, addr: SocketAddrV4, state: State) -> bool {
        let Some(flight) = self.in_flight.remove(&addr) else {
            return false;
        };
        if flight.slow {
            self.slow -= 1;
        }
        if let Some(node) = self.nodes.get_mut(&addr) {
            node.state = state;
            if state == State::Replied {
                node.referrers = Vec::new();
            }
        }
        true
    }

    fn mark_slow(&mut self, now: Instant) {
        for flight in self.in_flight.values_mut() {
            if !flight.slow && now.saturating_duration_since(flight.sent) >= self.opts.slow_after {
                flight.slow = true;
                self.slow += 1;
            }
        }
    }

    /// Whether a node this far from the target could still make the k
    /// closest replies.
    fn is_closer(&self, dist: &NodeId) -> bool {
        self.closest.len() < self.opts.k || self.closest.last().is_none_or(|(d, _)| dist < d)
    }

    /// Takes `addr` as a candidate if it is new, usable and close enough.
    fn offer(&mut self, addr: SocketAddrV4, referrer: Option<SocketAddrV4>) {
        if !usable_addr(addr) || self.nodes.contains_key(&addr) {
            return;
        }
        let id = node_id(addr);
        let dist = distance(&id, &self.target);
        if !self.is_closer(&dist) {
            return;
        }
        self.nodes.insert(
            addr,
            Node {
                id,
                state: State::Candidate,
                referrers: referrer.into_iter().collect(),
            },
        );
        self.candidates.insert((dist, addr));
        while self.candidates.len() > self.opts.max_candidates {
            self.drop_farthest_candidate();
        }
    }

    fn drop_farthest_candidate(&mut self) {
        if let Some((_, addr)) = self.candidates.pop_last() {
            self.nodes.remove(&addr);
        }
    }

    fn push_closest(&mut self, dist: NodeId, addr: SocketAddrV4) {
        if !self.is_closer(&dist) {
            return;
        }
        let at = self.closest.partition_point(|(d, _)| *d < dist);
        if self.closest.get(at).is_some_and(|(d, _)| *d == dist) {
            return;
        }
        self.closest.insert(at, (dist, addr));
        self.closest.truncate(self.opts.k);
        // Candidates that can no longer make the k closest never will.
        while let Some((d, _)) = self.candidates.last() {
            if self.is_closer(d) {
                break;
            }
            self.drop_farthest_candidate();
        }
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        let o = &self.opts;
        assert!(self.asked <= o.max_requests);
        assert!(self.candidates.len() <= o.max_candidates);
        assert!(self.closest.len() <= o.k);
        assert!(self.closest.windows(2).all(|w| w[0].0 < w[1].0));
        for (d, a) in &self.closest {
            let node = &self.nodes[a];
            assert_eq!(node.state, State::Replied);
            assert_eq!(distance(&node.id, &self.target), *d);
        }
        for (d, a) in &self.candidates {
            let node = &self.nodes[a];
            assert_eq!(node.state, State::Candidate);
            assert_eq!(distance(&node.id, &self.target), *d);
            assert!(self.is_closer(d));
        }
        for a in self.in_flight.keys() {
            assert_eq!(self.nodes[a].state, State::InFlight);
        }
        assert_eq!(
            self.slow,
            self.in_flight.values().filter(|f| f.slow).count()
        );
        let count = |s: State| self.nodes.values().filter(|n| n.state == s).count();
        assert_eq!(count(State::Candidate), self.candidates.len());
        assert_eq!(count(State::InFlight), self.in_flight.len());
        assert_eq!(count(State::Replied), self.replies);
        assert_eq!(count(State::Failed), self.failures);
        assert_eq!(
            self.replies + self.failures + self.in_flight.len(),
            self.asked
        );
        for node in self.nodes.values() {
            assert!(node.referrers.len() <= MAX_REFERRERS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::kademlia::table::{Contact, Table};
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::HashSet;
    use std::net::Ipv4Addr;

    fn addr(i: u32) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::from(0x0a00_0000 + i), 49_737)
    }

    fn by_distance(target: &NodeId, mut addrs: Vec<SocketAddrV4>) -> Vec<SocketAddrV4> {
        addrs.sort_by_cached_key(|a| distance(&node_id(*a), target));
        addrs
    }

    #[test]
    fn defaults_match_dht_rpc() {
        let o = QueryOpts::default();
        assert_eq!((o.k, o.concurrency), (20, 10));
    }

    #[test]
    fn asks_closest_first_within_concurrency() {
        let now = Instant::now();
        let target = [0u8; 32];
        let seeds: Vec<SocketAddrV4> = (1..=30).map(addr).collect();
        let mut q = Query::new(target, seeds.clone(), QueryOpts::default());
        let first = q.poll_requests(now);
        assert_eq!(first, by_distance(&target, seeds.clone())[..10].to_vec());
        assert!(q.poll_requests(now).is_empty());
        assert_eq!(q.in_flight(), 10);
        q.on_failure(first[0], now);
        assert_eq!(q.poll_requests(now), vec![by_distance(&target, seeds)[10]]);
        q.check_invariants();
    }

    #[test]
    fn learns_from_replies_and_finishes() {
        let now = Instant::now();
        let target = node_id(addr(1_000));
        let opts = QueryOpts {
            k: 3,
            ..QueryOpts::default()
        };
        let seed = addr(1);
        let mut q = Query::new(target, vec![seed], opts);
        assert_eq!(q.poll_requests(now), vec![seed]);
        assert!(!q.is_done());
        let learned: Vec<SocketAddrV4> = (2..8).map(addr).collect();
        q.on_reply(seed, Some(node_id(seed)), &learned, now);
        let asked = q.poll_requests(now);
        assert_eq!(asked.len(), learned.len());
        for a in &asked {
            q.on_reply(*a, Some(node_id(*a)), &[seed, *a], now);
        }
        assert!(q.poll_requests(now).is_empty());
        assert!(q.is_done());
        let mut all = learned.clone();
        all.push(seed);
        assert_eq!(q.closest_replies(), by_distance(&target, all)[..3].to_vec());
        assert_eq!((q.asked(), q.replies(), q.failures()), (7, 7, 0));
        q.check_invariants();
    }

    #[test]
    fn ignores_replies_from_nodes_not_asked() {
        let now = Instant::now();
        let mut q = Query::new([0; 32], vec![addr(1)], QueryOpts::default());
        assert!(q
            .on_reply(addr(1), Some(node_id(addr(1))), &[addr(2)], now)
            .is_empty());
        assert!(q.on_failure(addr(1), now).is_empty());
        assert_eq!(q.replies(), 0);
        q.poll_requests(now);
        q.on_reply(addr(1), Some(node_id(addr(1))), &[], now);
        // A second reply from the same node is ignored too.
        q.on_reply(addr(1), Some(node_id(addr(1))), &[addr(3)], now);
        assert_eq!(q.replies(), 1);
        assert!(q.is_done());
        q.check_invariants();
    }

    #[test]
    fn replies_without_a_valid_id_do_not_count_as_closest() {
        let now = Instant::now();
        let seeds = vec![addr(1), addr(2), addr(3)];
        let mut q = Query::new([0; 32], seeds, QueryOpts::default());
        q.poll_requests(now);
        q.on_reply(addr(1), None, &[], now);
        q.on_reply(addr(2), Some(node_id(addr(1))), &[], now);
        q.on_reply(addr(3), Some(node_id(addr(3))), &[], now);
        assert!(q.is_done());
        assert_eq!(q.closest_replies(), vec![addr(3)]);
    }

    #[test]
    fn never_asks_twice_nor_bogus_nor_excluded() {
        let now = Instant::now();
        let me = addr(5);
        let mut q = Query::new([0; 32], vec![addr(1), me], QueryOpts::default());
        q.exclude(me);
        q.exclude(me);
        assert_eq!(q.poll_requests(now), vec![addr(1)]);
        let bogus = [
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 9), 0),
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80),
            SocketAddrV4::new(Ipv4Addr::BROADCAST, 80),
        ];
        let mut listed = bogus.to_vec();
        listed.extend([addr(1), me, addr(2), addr(2)]);
        q.on_reply(addr(1), Some(node_id(addr(1))), &listed, now);
        assert_eq!(q.poll_requests(now), vec![addr(2)]);
        q.on_reply(addr(2), Some(node_id(addr(2))), &listed, now);
        assert!(q.poll_requests(now).is_empty());
        assert!(q.is_done());
        q.check_invariants();
    }

    #[test]
    fn reads_only_the_first_closer_nodes_of_a_reply() {
        let now = Instant::now();
        let opts = QueryOpts {
            max_closer_per_reply: 5,
            ..QueryOpts::default()
        };
        let mut q = Query::new([0; 32], vec![addr(1)], opts);
        q.poll_requests(now);
        let listed: Vec<SocketAddrV4> = (2..100).map(addr).collect();
        q.on_reply(addr(1), None, &listed, now);
        assert_eq!(
            q.poll_requests(now),
            by_distance(&[0; 32], listed[..5].to_vec())
        );
    }

    #[test]
    fn candidates_are_capped_keeping_the_closest() {
        let now = Instant::now();
        let opts = QueryOpts {
            max_candidates: 7,
            concurrency: 1,
            ..QueryOpts::default()
        };
        let target = [0x55; 32];
        let seeds: Vec<SocketAddrV4> = (1..50).map(addr).collect();
        let mut q = Query::new(target, seeds.clone(), opts);
        q.check_invariants();
        let mut asked = Vec::new();
        loop {
            let next = q.poll_requests(now);
            let Some(&a) = next.first() else { break };
            asked.push(a);
            q.on_failure(a, now);
        }
        assert_eq!(asked, by_distance(&target, seeds)[..7].to_vec());
        assert!(q.is_done());
    }

    #[test]
    fn failures_name_the_referrers_and_later_mentions_are_down_hints() {
        let now = Instant::now();
        let target = [0; 32];
        let mut q = Query::new(target, vec![addr(1), addr(2)], QueryOpts::default());
        q.poll_requests(now);
        q.on_reply(addr(1), Some(node_id(addr(1))), &[addr(3)], now);
        q.on_reply(addr(2), Some(node_id(addr(2))), &[addr(3)], now);
        assert_eq!(q.poll_requests(now), vec![addr(3)]);
        let mut referrers = q.on_failure(addr(3), now);
        referrers.sort();
        assert_eq!(referrers, vec![addr(1), addr(2)]);
        // The seeds are done; a late mention needs a node still in flight.
        let mut q = Query::new(target, vec![addr(1), addr(2)], QueryOpts::default());
        q.poll_requests(now);
        q.on_reply(addr(1), None, &[addr(3)], now);
        assert_eq!(q.poll_requests(now), vec![addr(3)]);
        q.on_failure(addr(3), now);
        assert_eq!(
            q.on_reply(addr(2), None, &[addr(3), addr(3)], now),
            vec![addr(3)]
        );
    }

    #[test]
    fn slow_requests_free_their_slot_and_do_not_hold_up_the_end() {
        let t0 = Instant::now();
        let opts = QueryOpts {
            k: 2,
            concurrency: 2,
            ..QueryOpts::default()
        };
        let mut q = Query::new([0; 32], (1..=5).map(addr).collect(), opts);
        let first = q.poll_requests(t0);
        assert_eq!(first.len(), 2);
        let t1 = t0 + opts.slow_after;
        let second = q.poll_requests(t1);
        assert_eq!(second.len(), 2);
        for a in &second {
            q.on_reply(*a, Some(node_id(*a)), &[], t1);
        }
        // One candidate left: it may still be closer, so it is asked.
        let third = q.poll_requests(t1);
        assert!(third.len() <= 1);
        for a in &third {
            q.on_reply(*a, Some(node_id(*a)), &[], t1);
        }
        // Two slow requests in flight, k replies held: done.
        assert_eq!(q.in_flight(), 2);
        assert!(q.is_done());
        let settled = q.closest_replies();
        // Their late answers change nothing.
        q.on_reply(first[0], Some(node_id(first[0])), &[addr(9)], t1);
        assert_eq!(q.closest_replies(), settled);
        assert!(q.poll_requests(t1).is_empty());
    }

    #[test]
    fn without_k_replies_slow_requests_are_awaited() {
        let t0 = Instant::now();
        let mut q = Query::new([0; 32], vec![addr(1)], QueryOpts::default());
        q.poll_requests(t0);
        q.poll_requests(t0 + Duration::from_secs(5));
        assert!(!q.is_done());
        q.on_failure(addr(1), t0 + Duration::from_secs(6));
        assert!(q.is_done());
        assert!(q.closest_replies().is_empty());
    }

    #[test]
    fn no_seeds_is_done_at_once() {
        let now = Instant::now();
        let mut q = Query::new([0; 32], vec![], QueryOpts::default());
        assert!(q.poll_requests(now).is_empty());
        assert!(q.is_done());
        q.add_seeds(&[addr(1)]);
        assert!(!q.is_done());
        assert_eq!(q.poll_requests(now), vec![addr(1)]);
    }

    /// A synthetic DHT: every node has a routing table filled from all the
    /// others and answers FIND_NODE with its table's k closest.
    struct Network {
        nodes: Vec<SocketAddrV4>,
        tables: HashMap<SocketAddrV4, Table>,
        dead: HashSet<SocketAddrV4>,
    }

    impl Network {
        fn new(rng: &mut StdRng, size: usize, dead: usize) -> Self {
            let mut nodes = HashSet::new();
            while nodes.len() < size {
                let ip = Ipv4Addr::from(rng.gen_range(0x0b00_0000u32..0xdf00_0000));
                nodes.insert(SocketAddrV4::new(ip, rng.gen_range(1024..65535)));
            }
            let mut nodes: Vec<SocketAddrV4> = nodes.into_iter().collect();
            nodes.sort();
            let contacts: Vec<Contact> = nodes.iter().map(|a| Contact::from_addr(*a)).collect();
            let now = Instant::now();
            let mut tables = HashMap::new();
            for me in &contacts {
                let mut table = Table::new(me.id);
                for c in &contacts {
                    table.add(*c, now);
                }
                tables.insert(me.addr, table);
            }
            let dead = nodes.iter().take(dead).copied().collect();
            Network {
                nodes,
                tables,
                dead,
            }
        }

        fn live(&self) -> Vec<SocketAddrV4> {
            self.nodes
                .iter()
                .filter(|a| !self.dead.contains(a))
                .copied()
                .collect()
        }

        /// Runs `q` to the end, answering requests one at a time in random
        /// order; returns the requests sent.
        fn run(&self, rng: &mut StdRng, q: &mut Query) -> Vec<SocketAddrV4> {
            let now = Instant::now();
            let mut pending: Vec<SocketAddrV4> = Vec::new();
            let mut sent = Vec::new();
            loop {
                let next = q.poll_requests(now);
                sent.extend(&next);
                pending.extend(next);
                q.check_invariants();
                if pending.is_empty() {
                    break;
                }
                let to = pending.swap_remove(rng.gen_range(0..pending.len()));
                match self.tables.get(&to) {
                    Some(table) if !self.dead.contains(&to) => {
                        let closer: Vec<SocketAddrV4> = table
                            .closest(q.target(), K)
                            .into_iter()
                            .map(|c| c.addr)
                            .collect();
                        q.on_reply(to, Some(node_id(to)), &closer, now);
                    }
                    _ => {
                        q.on_failure(to, now);
                    }
                }
            }
            assert!(q.is_done());
            sent
        }
    }

    #[test]
    fn converges_to_the_true_closest_in_a_synthetic_network() {
        let mut rng = StdRng::seed_from_u64(7);
        let net = Network::new(&mut rng, 500, 0);
        let mut most = 0;
        for _ in 0..20 {
            let target: NodeId = rng.gen();
            let seed = net.nodes[rng.gen_range(0..net.nodes.len())];
            let mut q = Query::new(target, vec![seed], QueryOpts::default());
            let sent = net.run(&mut rng, &mut q);
            assert_eq!(
                q.closest_replies(),
                by_distance(&target, net.live())[..K].to_vec()
            );
            let unique: HashSet<_> = sent.iter().collect();
            assert_eq!(unique.len(), sent.len());
            most = most.max(sent.len());
        }
        assert!(most <= 120, "a lookup took {most} requests");
    }

    #[test]
    fn converges_among_the_live_when_some_nodes_are_dead() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut net = Network::new(&mut rng, 500, 0);
        // A fifth of the nodes are dead but still in everyone's tables.
        while net.dead.len() < 100 {
            net.dead
                .insert(net.nodes[rng.gen_range(0..net.nodes.len())]);
        }
        let live = net.live();
        let mut exact = 0;
        for _ in 0..20 {
            let target: NodeId = rng.gen();
            let seeds: Vec<SocketAddrV4> =
                (0..3).map(|_| live[rng.gen_range(0..live.len())]).collect();
            let mut q = Query::new(target, seeds, QueryOpts::default());
            let sent = net.run(&mut rng, &mut q);
            assert!(sent.len() <= 100, "a lookup took {} requests", sent.len());
            // A live node that no live node lists among its k closest
            // cannot be found; of those listed, the query finds the k
            // closest (Kademlia may miss one, depending on reply order).
            let listed: HashSet<SocketAddrV4> = live
                .iter()
                .flat_map(|a| net.tables[a].closest(&target, K))
                .map(|c| c.addr)
                .filter(|a| !net.dead.contains(a))
                .collect();
            let findable = by_distance(&target, listed.into_iter().collect());
            let got = q.closest_replies();
            assert_eq!(got.len(), K);
            assert!(got.windows(2).all(|w| {
                distance(&node_id(w[0]), &target) < distance(&node_id(w[1]), &target)
            }));
            let found = got.iter().filter(|a| findable[..K].contains(a)).count();
            assert!(found >= K - 1, "found {found} of the {K} closest");
            exact += usize::from(got == findable[..K]);
            let true_closest = by_distance(&target, live.clone());
            let hits = got.iter().filter(|a| true_closest[..K].contains(a)).count();
            assert!(hits >= K - 6, "only {hits} of the true closest found");
        }
        assert!(exact >= 18, "exact only {exact} times in 20");
    }

    #[test]
    fn endless_ever_closer_fakes_hit_the_request_cap() {
        // Hostile nodes answer with fresh addresses, each batch closer to
        // the target than everything before it.
        let target = [0x42; 32];
        let opts = QueryOpts::default();
        let pool_size = (opts.max_requests + 50) * K;
        let mut pool: Vec<SocketAddrV4> = (1..=pool_size as u32).map(addr).collect();
        pool = by_distance(&target, pool);
        let now = Instant::now();
        let mut q = Query::new(target, vec![pool.pop().unwrap()], opts);
        let mut pending = Vec::new();
        loop {
            pending.extend(q.poll_requests(now));
            let Some(to) = pending.pop() else { break };
            let start = pool.len().saturating_sub(K);
            let batch = pool.split_off(start);
            q.on_reply(to, Some(node_id(to)), &batch, now);
            q.check_invariants();
        }
        assert!(q.is_done());
        assert_eq!(q.asked(), opts.max_requests);
        assert_eq!(q.closest_replies().len(), K);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Poll(u64),
        Reply(u32, u8, Vec<u32>, u64),
        Fail(u32, u64),
        Exclude(u32),
        Seed(Vec<u32>),
    }

    fn op() -> impl Strategy<Value = Op> {
        let a = 0u32..80;
        let t = 0u64..5_000;
        let list = proptest::collection::vec(0u32..80, 0..40);
        prop_oneof![
            3 => t.clone().prop_map(Op::Poll),
            4 => (a.clone(), 0u8..3, list.clone(), t.clone())
                .prop_map(|(a, id, l, t)| Op::Reply(a, id, l, t)),
            2 => (a.clone(), t).prop_map(|(a, t)| Op::Fail(a, t)),
            1 => a.prop_map(Op::Exclude),
            1 => list.prop_map(Op::Seed),
        ]
    }

    /// Small addresses, some of them bogus (port 0, 0.0.0.0).
    fn paddr(i: u32) -> SocketAddrV4 {
        match i % 16 {
            0 => SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, i as u8), 0),
            1 => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 1 + i as u16),
            _ => addr(i),
        }
    }

    proptest! {
        #[test]
        fn random_replies_never_break_the_caps(
            seeds in proptest::collection::vec(0u32..80, 0..10),
            k in 1usize..6,
            concurrency in 1usize..5,
            max_requests in 0usize..40,
            max_candidates in 1usize..12,
            max_closer_per_reply in 0usize..25,
            target in any::<[u8; 32]>(),
            ops in proptest::collection::vec(op(), 0..120),
        ) {
            let t0 = Instant::now();
            let at = |ms: u64| t0 + Duration::from_millis(ms);
            let opts = QueryOpts { k, concurrency, max_requests, max_candidates, max_closer_per_reply, ..QueryOpts::default() };
            let mut q = Query::new(target, seeds.into_iter().map(paddr).collect(), opts);
            let mut ever_asked = HashSet::new();
            let mut excluded = HashSet::new();
            for op in ops {
                match op {
                    Op::Poll(t) => {
                        let before = q.in_flight();
                        let got = q.poll_requests(at(t));
                        prop_assert!(got.len() <= concurrency);
                        prop_assert_eq!(q.in_flight(), before + got.len());
                        for a in got {
                            prop_assert!(usable_addr(a));
                            prop_assert!(!excluded.contains(&a));
                            prop_assert!(ever_asked.insert(a), "asked {} twice", a);
                        }
                    }
                    Op::Reply(a, id, list, t) => {
                        let from = paddr(a);
                        let id = match id {
                            0 => None,
                            1 => Some(node_id(from)),
                            _ => Some(node_id(paddr(a + 1))),
                        };
                        let list: Vec<SocketAddrV4> = list.into_iter().map(paddr).collect();
                        let down = q.on_reply(from, id, &list, at(t));
                        prop_assert!(down.len() <= max_closer_per_reply);
                    }
                    Op::Fail(a, t) => {
                        let refs = q.on_failure(paddr(a), at(t));
                        prop_assert!(refs.len() <= MAX_REFERRERS);
                    }
                    Op::Exclude(a) => {
                        if !ever_asked.contains(&paddr(a)) {
                            excluded.insert(paddr(a));
                        }
                        q.exclude(paddr(a));
                    }
                    Op::Seed(list) => {
                        let list: Vec<SocketAddrV4> = list.into_iter().map(paddr).collect();
                        q.add_seeds(&list);
                    }
                }
                q.check_invariants();
                prop_assert!(q.asked() <= max_requests);
                prop_assert!(q.closest_replies().len() <= k);
            }
        }
    }
}
