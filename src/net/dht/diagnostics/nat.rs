//! The verdict on our own address: what DHT nodes report about where our
//! probe's packets came from, turned into a public address, a NAT kind and
//! whether we are reachable. Pure: samples in, verdict out.
//!
//! - No NAT: the nodes see our own local address and port.
//! - Consistent: every node sees the same public port (port-preserving or
//!   "cone" NATs); peers behind such NATs reach each other.
//! - Random: nodes see different ports (a new mapping per destination).
//!   One sample cannot tell; two nodes that agree can.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};

use crate::net::types::{Nat, Reachability};

/// One DHT node's answer: it saw our probe come from `seen_as`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    pub(crate) node: SocketAddr,
    pub(crate) seen_as: SocketAddrV4,
}

/// What the samples say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) public_ip: Option<IpAddr>,
    pub(crate) nat: Nat,
}

/// `local` is the probe socket's own address (IP on the route to the nodes,
/// and its port).
pub(crate) fn classify(samples: &[Sample], local: SocketAddr) -> Verdict {
    // One sample per node: a node that answered twice counts once.
    let mut per_node: HashMap<SocketAddr, SocketAddrV4> = HashMap::new();
    for sample in samples {
        per_node.entry(sample.node).or_insert(sample.seen_as);
    }
    let seen: Vec<SocketAddrV4> = per_node.into_values().collect();
    let Some(public_ip) = most_common(seen.iter().map(|s| *s.ip())) else {
        return Verdict {
            public_ip: None,
            nat: Nat::Unknown,
        };
    };
    let from_public: Vec<u16> = seen
        .iter()
        .filter(|s| *s.ip() == public_ip)
        .map(SocketAddrV4::port)
        .collect();
    let public_ip = IpAddr::V4(public_ip);
    let all_same_port = from_public.windows(2).all(|w| w[0] == w[1]);
    let nat = if public_ip == local.ip() && from_public.iter().all(|p| *p == local.port()) {
        Nat::None
    } else if !all_same_port {
        Nat::Random
    } else if from_public.len() >= 2 || from_public[0] == local.port() {
        Nat::Consistent
    } else {
        Nat::Unknown
    };
    Verdict {
        public_ip: Some(public_ip),
        nat,
    }
}

/// Reachability from a PING_NAT round: `asked` nodes were asked to answer to
/// another port of ours; `answered_there` of them got through.
pub(crate) fn reachability(asked: usize, answered_there: usize) -> Reachability {
    match (asked, answered_there) {
        (0, _) => Reachability::Unknown,
        (_, 0) => Reachability::Unreachable,
        _ => Reachability::Reachable,
    }
}

fn most_common<T: Copy + Eq + std::hash::Hash + Ord>(items: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: HashMap<T, usize> = HashMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    // Ties go to the smallest, so the verdict does not depend on map order.
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(item, _)| item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(node: &str, seen_as: &str) -> Sample {
        Sample {
            node: node.parse().unwrap(),
            seen_as: seen_as.parse().unwrap(),
        }
    }

    fn local(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn verdicts() {
        type Case<'a> = (&'a str, Vec<Sample>, &'a str, Option<&'a str>, Nat);
        let cases: [Case; 7] = [
            (
                "nobody answered",
                vec![],
                "10.0.1.2:4000",
                None,
                Nat::Unknown,
            ),
            (
                "a public host",
                vec![sample("198.51.100.1:49737", "198.51.100.10:4000")],
                "198.51.100.10:4000",
                Some("198.51.100.10"),
                Nat::None,
            ),
            (
                "a port-preserving NAT, two nodes",
                vec![
                    sample("198.51.100.1:49737", "203.0.113.2:4000"),
                    sample("198.51.100.2:49737", "203.0.113.2:4000"),
                ],
                "10.0.1.2:4000",
                Some("203.0.113.2"),
                Nat::Consistent,
            ),
            (
                "a NAT that kept the port, one node",
                vec![sample("198.51.100.1:49737", "203.0.113.2:4000")],
                "10.0.1.2:4000",
                Some("203.0.113.2"),
                Nat::Consistent,
            ),
            (
                "a NAT that changed the port, one node: cannot tell",
                vec![sample("198.51.100.1:49737", "203.0.113.2:61000")],
                "10.0.1.2:4000",
                Some("203.0.113.2"),
                Nat::Unknown,
            ),
            (
                "a new port per destination",
                vec![
                    sample("198.51.100.1:49737", "203.0.113.3:61000"),
                    sample("198.51.100.2:49737", "203.0.113.3:52011"),
                ],
                "10.0.2.2:4000",
                Some("203.0.113.3"),
                Nat::Random,
            ),
            (
                "one node answering twice is one sample",
                vec![
                    sample("198.51.100.1:49737", "203.0.113.3:61000"),
                    sample("198.51.100.1:49737", "203.0.113.3:52011"),
                ],
                "10.0.2.2:4000",
                Some("203.0.113.3"),
                Nat::Unknown,
            ),
        ];
        for (name, samples, probe, public, nat) in cases {
            let verdict = classify(&samples, local(probe));
            assert_eq!(
                verdict.public_ip,
                public.map(|p| p.parse().unwrap()),
                "{name}"
            );
            assert_eq!(verdict.nat, nat, "{name}");
        }
    }

    #[test]
    fn a_consistent_nat_that_moved_the_port_is_still_consistent() {
        let samples = [
            sample("198.51.100.1:49737", "203.0.113.2:1024"),
            sample("198.51.100.2:49737", "203.0.113.2:1024"),
        ];
        assert_eq!(
            classify(&samples, local("10.0.1.2:4000")).nat,
            Nat::Consistent
        );
    }

    #[test]
    fn reachable_only_when_an_unasked_reply_got_in() {
        assert_eq!(reachability(0, 0), Reachability::Unknown);
        assert_eq!(reachability(3, 0), Reachability::Unreachable);
        assert_eq!(reachability(3, 1), Reachability::Reachable);
    }
}
