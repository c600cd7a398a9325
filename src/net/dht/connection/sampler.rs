//! The NAT classifier of one puncher socket, as hyperdht's per-puncher `Nat`
//! decides it: which DHT nodes to ping from that socket, the tallies of where
//! those nodes (and the holepunch relays) saw the socket's packets come from,
//! the firewall verdict drawn from them, the public addresses published with
//! it, and when the verdict is settled enough to act on. Also the `Firewall`
//! verdict type itself. Pure: samples in, verdict out; no IO, no clock.
//!
//! How a caller drives it (what JS's `autoSample` does):
//! 1. ping every node of `nodes_to_sample` from the puncher socket, once,
//!    without retries, and `add` each answer (`to` as `seen_as`, `from` as
//!    `from_node`); PEER_HOLEPUNCH replies and requests seen on the puncher
//!    socket are `add`ed too;
//! 2. when all those pings are answered or timed out and fewer than
//!    `MIN_SAMPLES` samples are in, ask `nodes_to_sample` once more and ping
//!    those;
//! 3. when that second round is over too, call `settle`.
//!
//! `is_settled` then answers JS's "has `analyzing` resolved".
//!
//! Where this differs from JS on purpose: after `MAX_SAMPLES` distinct nodes
//! further samples are ignored, so a flood of replies from many addresses
//! cannot grow the tallies without bound (a real punch sees at most a dozen).

use std::collections::HashMap;
use std::net::SocketAddrV4;

use crate::net::dht::encoding::messages::{
    FIREWALL_CONSISTENT, FIREWALL_OPEN, FIREWALL_RANDOM, FIREWALL_UNKNOWN,
};

/// Nodes pinged per sampling round, and the samples after which the
/// verdict counts as settled whatever it is.
pub(crate) const MIN_SAMPLES: usize = 4;
/// The verdict is only recomputed once this many samples are in.
const VERDICT_SAMPLES: usize = 3;
/// With at least this many nodes in the table, the newest few are skipped.
const SKIP_FROM: usize = 8;
/// How many of the newest nodes are skipped then.
const SKIP: usize = 5;
/// Distinct nodes counted at most (not in JS; see the module header).
pub(crate) const MAX_SAMPLES: usize = 256;

/// A firewall verdict, as hyperdht puts it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Firewall {
    /// Not enough samples yet, or they do not agree on anything.
    Unknown,
    /// Not behind a firewall: anyone can reach us.
    Open,
    /// Behind a NAT that keeps one public port per socket.
    Consistent,
    /// Behind a NAT that picks a new public port per destination.
    Random,
}

impl Firewall {
    /// The wire value (`messages::FIREWALL_*`).
    pub(crate) fn as_u64(self) -> u64 {
        match self {
            Firewall::Unknown => FIREWALL_UNKNOWN,
            Firewall::Open => FIREWALL_OPEN,
            Firewall::Consistent => FIREWALL_CONSISTENT,
            Firewall::Random => FIREWALL_RANDOM,
        }
    }

    /// The verdict a peer sent. Values above `FIREWALL_RANDOM` read as
    /// `Random`: JS only ever compares a remote verdict with `>= RANDOM`
    /// beyond the three exact values below it.
    pub(crate) fn from_u64(value: u64) -> Firewall {
        match value {
            FIREWALL_UNKNOWN => Firewall::Unknown,
            FIREWALL_OPEN => Firewall::Open,
            FIREWALL_CONSISTENT => Firewall::Consistent,
            _ => Firewall::Random,
        }
    }

    /// `Open` counts as `Consistent` when choosing how to punch.
    pub(crate) fn coerce(self) -> Firewall {
        match self {
            Firewall::Open => Firewall::Consistent,
            other => other,
        }
    }
}

/// One tallied address and how many samples named it. Host-only tallies
/// have port 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tally {
    addr: SocketAddrV4,
    hits: usize,
}

/// Counts one more hit for `addr`, keeping `tallies` sorted by hits, most
/// first. An address that reaches a count moves up past those with fewer
/// hits only, so among equal counts the one that got there first leads.
fn tally(tallies: &mut Vec<Tally>, addr: SocketAddrV4) {
    let Some(mut i) = tallies.iter().position(|t| t.addr == addr) else {
        tallies.push(Tally { addr, hits: 1 });
        return;
    };
    tallies[i].hits += 1;
    while i > 0 && tallies[i - 1].hits < tallies[i].hits {
        tallies.swap(i - 1, i);
        i -= 1;
    }
}

/// What we know of a node: pinged for a sample, or sampled already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    Pinged,
    Sampled,
}

/// The NAT classifier of one puncher socket.
#[derive(Debug, Clone)]
pub(crate) struct NatSampler {
    /// Whether our DHT node is firewalled; if not, the verdict is `Open`.
    firewalled: bool,
    /// Where nodes saw us, host and port; most hits first.
    full: Vec<Tally>,
    /// Where nodes saw us, host only (port 0); most hits first.
    hosts: Vec<Tally>,
    /// Nodes pinged or sampled; one sample per node.
    visited: HashMap<SocketAddrV4, Visit>,
    samples: usize,
    verdict: Firewall,
    addresses: Vec<SocketAddrV4>,
    frozen: bool,
    settled: bool,
}

impl NatSampler {
    /// A classifier for a fresh puncher socket. `firewalled` is whether our
    /// DHT node is firewalled; a node that is not is `Open`, whatever the
    /// samples say.
    pub(crate) fn new(firewalled: bool) -> Self {
        NatSampler {
            firewalled,
            full: Vec::new(),
            hosts: Vec::new(),
            visited: HashMap::new(),
            samples: 0,
            verdict: if firewalled {
                Firewall::Unknown
            } else {
                Firewall::Open
            },
            addresses: Vec::new(),
            frozen: false,
            settled: false,
        }
    }

    /// The nodes to ping for samples now, from the routing table listed
    /// newest first: enough to bring the samples up to `MIN_SAMPLES`,
    /// skipping the 5 newest when the table holds at least 8, and skipping
    /// nodes already pinged or sampled. The nodes returned count as pinged.
    pub(crate) fn nodes_to_sample(
        &mut self,
        table_newest_first: &[SocketAddrV4],
    ) -> Vec<SocketAddrV4> {
        let skip = if table_newest_first.len() >= SKIP_FROM {
            SKIP
        } else {
            0
        };
        let budget = MIN_SAMPLES.saturating_sub(self.samples);
        let mut out = Vec::new();
        for &node in table_newest_first.iter().skip(skip) {
            if out.len() >= budget {
                break;
            }
            if self.visited.contains_key(&node) {
                continue;
            }
            self.visited.insert(node, Visit::Pinged);
            out.push(node);
        }
        out
    }

    /// One sample: `from_node` saw our puncher socket as `seen_as`. A second
    /// sample from the same node is ignored.
    pub(crate) fn add(&mut self, seen_as: SocketAddrV4, from_node: SocketAddrV4) {
        if self.visited.get(&from_node) == Some(&Visit::Sampled) {
            return;
        }
        if self.samples >= MAX_SAMPLES {
            return;
        }
        self.visited.insert(from_node, Visit::Sampled);
        tally(&mut self.hosts, SocketAddrV4::new(*seen_as.ip(), 0));
        tally(&mut self.full, seen_as);
        self.samples += 1;

        if (self.samples >= VERDICT_SAMPLES || !self.firewalled) && !self.frozen {
            self.update_verdict();
            self.update_addresses();
        }

        if matches!(self.verdict, Firewall::Consistent | Firewall::Open)
            || self.samples >= MIN_SAMPLES
        {
            self.settled = true;
        }
    }

    /// The verdict after one more sample. Every rule either sets the verdict
    /// or leaves the one before in place.
    fn update_verdict(&mut self) {
        if !self.firewalled {
            self.verdict = Firewall::Open;
            return;
        }
        if self.samples < VERDICT_SAMPLES {
            return;
        }
        let Some(top) = self.full.first() else {
            return;
        };
        match top.hits {
            hits if hits >= 3 => self.verdict = Firewall::Consistent,
            1 => self.verdict = Firewall::Random,
            _ => {
                // Two hits at the top.
                let second_hits = self.full.get(1).map_or(0, |t| t.hits);
                if self.hosts.len() == 1 && self.samples > 3 {
                    // One host, and at least two samples on other ports.
                    self.verdict = Firewall::Random;
                } else if self.hosts.len() > 1 && second_hits > 1 {
                    // Two hits each on two addresses, not all one host.
                    self.verdict = Firewall::Consistent;
                } else if self.samples > 4 {
                    // More samples than a round asks for, still no answer.
                    self.verdict = Firewall::Random;
                }
            }
        }
    }

    fn update_addresses(&mut self) {
        self.addresses = match self.verdict {
            Firewall::Unknown | Firewall::Open => Vec::new(),
            Firewall::Random => self.hosts.first().map(|t| t.addr).into_iter().collect(),
            Firewall::Consistent => {
                let mut out: Vec<SocketAddrV4> = Vec::new();
                for t in &self.full {
                    if t.hits >= 2 || out.len() < 2 {
                        out.push(t.addr);
                    }
                }
                out
            }
        };
    }

    /// From now on the verdict and the addresses stay as they are: they have
    /// been published to the other peer. Samples are still counted.
    pub(crate) fn freeze(&mut self) {
        self.frozen = true;
    }

    pub(crate) fn is_frozen(&self) -> bool {
        self.frozen
    }

    pub(crate) fn verdict(&self) -> Firewall {
        self.verdict
    }

    /// The public addresses to publish with the verdict: for `Consistent`
    /// every host:port seen at least twice, and at least the two seen most;
    /// for `Random` the host seen most, with port 0; none otherwise (JS
    /// sends no address list then).
    pub(crate) fn addresses(&self) -> Vec<SocketAddrV4> {
        self.addresses.clone()
    }

    /// How many nodes have given a sample.
    #[cfg(test)]
    pub(crate) fn samples(&self) -> usize {
        self.samples
    }

    /// The host most samples named, if any.
    #[cfg(test)]
    pub(crate) fn top_host(&self) -> Option<std::net::Ipv4Addr> {
        self.hosts.first().map(|t| *t.addr.ip())
    }

    /// Whether the verdict is settled enough to act on: once it has been
    /// `Consistent` or `Open` after a sample, once `MIN_SAMPLES` samples are
    /// in, or once `settle` was called. Never goes back to false.
    pub(crate) fn is_settled(&self) -> bool {
        self.settled
    }

    /// A guess for a DHT of one or two nodes, where JS's rules never reach
    /// a verdict (they need three samples) and every punch would end
    /// unknown: every sample naming the same host and port reads as a
    /// consistent NAT at that address, two ports of one host as a random
    /// one. A wrong guess only costs a punch that fails, as it would have
    /// anyway. Deliberately unlike JS; does nothing once a verdict is known,
    /// frozen, or without a sample.
    pub(crate) fn guess_from_few_nodes(&mut self) {
        if self.frozen
            || !self.firewalled
            || self.verdict != Firewall::Unknown
            || self.samples == 0
            || self.samples >= VERDICT_SAMPLES
        {
            return;
        }
        if let [only] = self.full.as_slice() {
            self.verdict = Firewall::Consistent;
            self.addresses = vec![only.addr];
        } else if self.hosts.len() == 1 {
            self.verdict = Firewall::Random;
            self.addresses = self.hosts.iter().map(|t| t.addr).collect();
        }
    }

    /// Sampling is over (both rounds done) without settling: act on the
    /// verdict as it is.
    pub(crate) fn settle(&mut self) {
        self.settled = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn at(host: u8, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, host), port)
    }

    fn node(i: usize) -> SocketAddrV4 {
        SocketAddrV4::new(
            Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250) as u8 + 1),
            49_737,
        )
    }

    /// A firewalled sampler fed `seen` in order, each from its own node.
    fn fed(seen: &[SocketAddrV4]) -> NatSampler {
        let mut s = NatSampler::new(true);
        for (i, &a) in seen.iter().enumerate() {
            s.add(a, node(i));
        }
        s
    }

    #[test]
    fn firewall_wire_values() {
        for (fw, v) in [
            (Firewall::Unknown, FIREWALL_UNKNOWN),
            (Firewall::Open, FIREWALL_OPEN),
            (Firewall::Consistent, FIREWALL_CONSISTENT),
            (Firewall::Random, FIREWALL_RANDOM),
        ] {
            assert_eq!(fw.as_u64(), v);
            assert_eq!(Firewall::from_u64(v), fw);
        }
        assert_eq!(Firewall::from_u64(4), Firewall::Random);
        assert_eq!(Firewall::from_u64(u64::MAX), Firewall::Random);
        assert_eq!(Firewall::Open.coerce(), Firewall::Consistent);
        assert_eq!(Firewall::Random.coerce(), Firewall::Random);
        assert_eq!(Firewall::Unknown.coerce(), Firewall::Unknown);
    }

    #[test]
    fn verdict_table() {
        let a = at(1, 4000);
        let a2 = at(1, 4001);
        let a3 = at(1, 4002);
        let a4 = at(1, 4003);
        let b = at(2, 5000);
        let b2 = at(2, 5001);
        let c = at(3, 6000);
        // (case, samples in order, verdict, addresses)
        let cases: Vec<(&str, Vec<SocketAddrV4>, Firewall, Vec<SocketAddrV4>)> = vec![
            ("no samples", vec![], Firewall::Unknown, vec![]),
            ("one sample", vec![a], Firewall::Unknown, vec![]),
            (
                "two alike: under 3 samples",
                vec![a, a],
                Firewall::Unknown,
                vec![],
            ),
            (
                "three alike: consistent",
                vec![a, a, a],
                Firewall::Consistent,
                vec![a],
            ),
            (
                "three alike among others: consistent",
                vec![b, a, a, c, a],
                Firewall::Consistent,
                vec![a, b],
            ),
            (
                "three all differ: random",
                vec![a, b, c],
                Firewall::Random,
                vec![at(1, 0)],
            ),
            (
                "three ports on one host: random",
                vec![a, a2, a3],
                Firewall::Random,
                vec![at(1, 0)],
            ),
            // Top has 2 hits.
            (
                "2 hits, one host, 3 samples: no verdict yet",
                vec![a, a, a2],
                Firewall::Unknown,
                vec![],
            ),
            (
                "2 hits, one host, 4 samples: random",
                vec![a, a, a2, a3],
                Firewall::Random,
                vec![at(1, 0)],
            ),
            (
                "2 hits, one host, 4 samples, 2+2: random",
                vec![a, a, a2, a2],
                Firewall::Random,
                vec![at(1, 0)],
            ),
            (
                "2 hits on two hosts: consistent",
                vec![a, b, a, b],
                Firewall::Consistent,
                vec![a, b],
            ),
            (
                "2 hits on two hosts plus a stray: consistent, stray not published",
                vec![a, b, c, a, b],
                Firewall::Consistent,
                vec![a, b],
            ),
            (
                "2 hits, two hosts, second has 1, 3 samples: no verdict",
                vec![a, a, b],
                Firewall::Unknown,
                vec![],
            ),
            (
                "2 hits, two hosts, second has 1, 4 samples: no verdict",
                vec![a, a, b, c],
                Firewall::Unknown,
                vec![],
            ),
            (
                "2 hits, two hosts, second has 1, 5 samples: random",
                vec![a, a, b, c, b2],
                Firewall::Random,
                vec![at(1, 0)],
            ),
            (
                "random at 4 on one host; a second host at 5 makes it consistent",
                vec![a, a2, a, a2, b],
                Firewall::Consistent,
                vec![a, a2],
            ),
            (
                "1 hit each over 5: random",
                vec![a, a2, a3, a4, b],
                Firewall::Random,
                vec![at(1, 0)],
            ),
        ];
        for (case, seen, verdict, addresses) in cases {
            let s = fed(&seen);
            assert_eq!(s.verdict(), verdict, "{case}");
            assert_eq!(s.addresses(), addresses, "{case}");
            assert_eq!(s.samples(), seen.len(), "{case}");
        }
    }

    #[test]
    fn two_hit_rule_keeps_the_previous_verdict() {
        // Three different hosts: random. A fourth sample repeating the first
        // makes the top 2 hits on several hosts with no second pair, and 4
        // samples are not more than 4: no rule applies, so it stays random
        // (it would be unknown if computed afresh).
        let s = fed(&[at(1, 1), at(2, 2), at(3, 3), at(1, 1)]);
        assert_eq!(s.verdict(), Firewall::Random);
        assert_eq!(s.addresses(), vec![at(1, 0)]);

        // Unfrozen, a later rule can still turn a verdict over: two ports of
        // one host twice each is random at 4 samples, and a fifth sample
        // from another host makes it consistent on both ports.
        let (a, a2) = (at(1, 4000), at(1, 4001));
        let mut s = fed(&[a, a2, a, a2]);
        assert_eq!(s.verdict(), Firewall::Random);
        s.add(at(2, 5000), node(99));
        assert_eq!(s.verdict(), Firewall::Consistent);
        assert_eq!(s.addresses(), vec![a, a2]);
    }

    #[test]
    fn consistent_publishes_every_double_and_at_least_two() {
        let (a, b, c, d) = (at(1, 1), at(2, 2), at(3, 3), at(4, 4));
        // a:3, b:2, c:2, d:1 -> a, b, c (d has one hit and two are listed).
        let s = fed(&[a, b, c, a, b, c, a, d]);
        assert_eq!(s.verdict(), Firewall::Consistent);
        assert_eq!(s.addresses(), vec![a, b, c]);
        // a:3, then singles: a plus the first single.
        let s = fed(&[a, b, a, c, a]);
        assert_eq!(s.addresses(), vec![a, b]);
        // Only one address ever seen: just it.
        let s = fed(&[a, a, a, a]);
        assert_eq!(s.addresses(), vec![a]);
    }

    #[test]
    fn ties_keep_the_order_in_which_the_count_was_reached() {
        let (a, b) = (at(1, 1), at(2, 2));
        // b reaches 2 hits before a does: b leads.
        let s = fed(&[a, b, b, a]);
        assert_eq!(s.verdict(), Firewall::Consistent);
        assert_eq!(s.addresses(), vec![b, a]);
        // a reaches 2 first: a leads.
        let s = fed(&[a, b, a, b]);
        assert_eq!(s.addresses(), vec![a, b]);
        // Ties at one hit keep arrival order.
        let (c, d) = (at(3, 3), at(4, 4));
        let s = fed(&[c, d, a, a, a]);
        assert_eq!(s.addresses(), vec![a, c]);
        // Random publishes the host seen most, ties in arrival order.
        let s = fed(&[at(9, 1), at(8, 1), at(8, 2)]);
        assert_eq!(s.addresses(), vec![at(8, 0)]);
        let s = fed(&[at(9, 1), at(8, 1), at(7, 2)]);
        assert_eq!(s.addresses(), vec![at(9, 0)]);
    }

    #[test]
    fn one_sample_per_node() {
        let mut s = NatSampler::new(true);
        let n = node(1);
        s.add(at(1, 1), n);
        s.add(at(1, 1), n);
        s.add(at(1, 1), n);
        assert_eq!(s.samples(), 1);
        assert_eq!(s.verdict(), Firewall::Unknown);
        // A different answer from the same node is ignored too.
        s.add(at(2, 2), n);
        assert_eq!(s.samples(), 1);
        assert_eq!(s.top_host(), Some(Ipv4Addr::new(203, 0, 113, 1)));
        // Same node host, other port: another node.
        s.add(at(1, 1), SocketAddrV4::new(*n.ip(), n.port() + 1));
        assert_eq!(s.samples(), 2);
        // A node that was only pinged can still give its sample.
        let pinged = s.nodes_to_sample(&[node(7)]);
        assert_eq!(pinged, vec![node(7)]);
        s.add(at(1, 1), node(7));
        assert_eq!(s.samples(), 3);
        assert_eq!(s.verdict(), Firewall::Consistent);
    }

    #[test]
    fn not_firewalled_is_always_open() {
        let mut s = NatSampler::new(false);
        assert_eq!(s.verdict(), Firewall::Open);
        assert!(!s.is_settled());
        s.add(at(1, 1), node(0));
        assert_eq!(s.verdict(), Firewall::Open);
        assert!(s.is_settled());
        for i in 1..6 {
            s.add(at(i as u8 + 1, i), node(i as usize));
        }
        assert_eq!(s.verdict(), Firewall::Open);
        assert!(s.addresses().is_empty());
    }

    #[test]
    fn freeze_keeps_the_verdict_and_addresses() {
        let (a, b, c) = (at(1, 1), at(2, 2), at(3, 3));
        let mut s = fed(&[a, b, c]);
        assert_eq!(s.verdict(), Firewall::Random);
        s.freeze();
        assert!(s.is_frozen());
        for i in 10..20 {
            s.add(a, node(i));
        }
        assert_eq!(s.samples(), 13);
        assert_eq!(s.verdict(), Firewall::Random);
        assert_eq!(s.addresses(), vec![at(1, 0)]);

        // Frozen while unknown stays unknown.
        let mut s = fed(&[a]);
        s.freeze();
        s.add(a, node(50));
        s.add(a, node(51));
        assert_eq!(s.verdict(), Firewall::Unknown);
        assert!(s.addresses().is_empty());
        // Still settles by count.
        s.add(a, node(52));
        assert!(s.is_settled());
    }

    #[test]
    fn settles_like_analyzing() {
        let (a, b, c, d) = (at(1, 1), at(2, 2), at(3, 3), at(4, 4));
        // Consistent after 3 samples: settled at once.
        let mut s = fed(&[a, a]);
        assert!(!s.is_settled());
        s.add(a, node(9));
        assert!(s.is_settled());
        // Random after 3: not yet; the 4th sample settles it.
        let mut s = fed(&[a, b, c]);
        assert_eq!(s.verdict(), Firewall::Random);
        assert!(!s.is_settled());
        s.add(d, node(9));
        assert!(s.is_settled());
        // Unknown after 4 samples: settled anyway.
        let s = fed(&[a, a, b, c]);
        assert_eq!(s.verdict(), Firewall::Unknown);
        assert!(s.is_settled());
        // Or when the caller gives up.
        let mut s = fed(&[a]);
        s.settle();
        assert!(s.is_settled());
        assert_eq!(s.verdict(), Firewall::Unknown);
    }

    #[test]
    fn nodes_to_sample_walks_like_auto_sample() {
        let table: Vec<SocketAddrV4> = (0..10).map(node).collect();
        // 8 or more: skip the 5 newest, then up to 4.
        let mut s = NatSampler::new(true);
        assert_eq!(s.nodes_to_sample(&table), table[5..9].to_vec());
        // Second round: the skipped 5 stay skipped, the pinged ones too.
        assert_eq!(s.nodes_to_sample(&table), vec![table[9]]);
        assert_eq!(s.nodes_to_sample(&table), Vec::<SocketAddrV4>::new());

        // Fewer than 8: no skip.
        let mut s = NatSampler::new(true);
        assert_eq!(s.nodes_to_sample(&table[..7]), table[..4].to_vec());
        assert_eq!(s.nodes_to_sample(&table[..7]), table[4..7].to_vec());

        // Exactly 8: skip 5, three left.
        let mut s = NatSampler::new(true);
        assert_eq!(s.nodes_to_sample(&table[..8]), table[5..8].to_vec());

        // Samples already in lower the count; sampled nodes are not pinged.
        let mut s = NatSampler::new(true);
        s.add(at(1, 1), table[0]);
        s.add(at(1, 1), node(100));
        assert_eq!(s.nodes_to_sample(&table[..5]), table[1..3].to_vec());
        // Four samples: nothing more to ask.
        s.add(at(1, 1), node(101));
        s.add(at(1, 1), node(102));
        assert!(s.nodes_to_sample(&table).is_empty());

        // Empty table.
        let mut s = NatSampler::new(true);
        assert!(s.nodes_to_sample(&[]).is_empty());
    }

    #[test]
    fn samples_are_capped() {
        let mut s = NatSampler::new(true);
        for i in 0..MAX_SAMPLES + 10 {
            s.add(at(1, 1), node(i));
        }
        assert_eq!(s.samples(), MAX_SAMPLES);
        assert_eq!(s.verdict(), Firewall::Consistent);
    }

    proptest! {
        #[test]
        fn random_samples_never_panic_and_frozen_never_changes(
            firewalled in any::<bool>(),
            before in proptest::collection::vec((0u8..4, 0u16..4, 0usize..12), 0..12),
            after in proptest::collection::vec((0u8..4, 0u16..4, 0usize..40), 0..40),
        ) {
            let mut s = NatSampler::new(firewalled);
            let mut seen_settled = false;
            for (h, p, n) in before {
                s.add(at(h, p), node(n));
                prop_assert!(s.samples() <= 12);
                prop_assert!(!seen_settled || s.is_settled());
                seen_settled = s.is_settled();
                let addrs = s.addresses();
                match s.verdict() {
                    Firewall::Unknown | Firewall::Open => prop_assert!(addrs.is_empty()),
                    Firewall::Random => {
                        prop_assert_eq!(addrs.len(), 1);
                        prop_assert_eq!(addrs[0].port(), 0);
                    }
                    Firewall::Consistent => prop_assert!(!addrs.is_empty()),
                }
                if !firewalled {
                    prop_assert_eq!(s.verdict(), Firewall::Open);
                }
            }
            s.freeze();
            let verdict = s.verdict();
            let addresses = s.addresses();
            for (h, p, n) in after {
                s.add(at(h, p), node(n));
                prop_assert_eq!(s.verdict(), verdict);
                prop_assert_eq!(s.addresses(), addresses.clone());
            }
        }
    }

    #[test]
    fn one_or_two_nodes_give_a_guess_three_give_the_rules() {
        let mut one = NatSampler::new(true);
        one.add(at(1, 4000), node(1));
        one.guess_from_few_nodes();
        assert_eq!(one.verdict(), Firewall::Consistent);
        assert_eq!(one.addresses(), vec![at(1, 4000)]);

        let mut two_ports = NatSampler::new(true);
        two_ports.add(at(1, 4000), node(1));
        two_ports.add(at(1, 4001), node(2));
        two_ports.guess_from_few_nodes();
        assert_eq!(two_ports.verdict(), Firewall::Random);
        assert_eq!(two_ports.addresses(), vec![at(1, 0)]);

        let mut none = NatSampler::new(true);
        none.guess_from_few_nodes();
        assert_eq!(none.verdict(), Firewall::Unknown);

        let mut three = NatSampler::new(true);
        for n in 1..=3 {
            three.add(at(1, 4000 + n as u16), node(n));
        }
        let ruled = three.verdict();
        three.guess_from_few_nodes();
        assert_eq!(three.verdict(), ruled, "three samples: JS's rules stand");

        let mut frozen = NatSampler::new(true);
        frozen.add(at(1, 4000), node(1));
        frozen.freeze();
        frozen.guess_from_few_nodes();
        assert_eq!(frozen.verdict(), Firewall::Unknown);
    }
}
