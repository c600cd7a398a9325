//! The lab's hosts and addresses: the names of the hosts (each one
//! network namespace), the public addresses on the `inet` router, the LAN,
//! and the home routers with the host behind each, and the second host
//! behind cone1 with the switch the two share (see the map in
//! `lab/mod.rs`). Only data: `Lab` builds it.

use std::net::Ipv4Addr;

/// The port every DHT node of the lab listens on (each host has its own).
pub const DHT_PORT: u16 = 49737;

/// The router every public host and home router hangs off.
pub const INET: &str = "inet";
/// The public host running the hychat bootstrap node.
pub const DHT: &str = "dht";
pub const PUB1: &str = "pub1";
pub const PUB2: &str = "pub2";
/// Public hosts for JS DHT nodes.
pub const JS_DHT_HOSTS: [&str; 3] = ["jsdht1", "jsdht2", "jsdht3"];
/// The LAN: a switch, two hosts and a host for a DHT node.
pub const LAN_SWITCH: &str = "lansw";
pub const LAN1: &str = "lan1";
pub const LAN2: &str = "lan2";
pub const LANDHT: &str = "landht";
/// Home routers (their WAN address is what `addr` gives) ...
pub const CONE1_ROUTER: &str = "cone1";
pub const CONE2_ROUTER: &str = "cone2";
pub const RAND1_ROUTER: &str = "rand1";
pub const RAND2_ROUTER: &str = "rand2";
/// ... and the host behind each.
pub const CONE1: &str = "cone1-pc";
pub const CONE2: &str = "cone2-pc";
pub const RAND1: &str = "rand1-pc";
pub const RAND2: &str = "rand2-pc";
/// A second host on cone1's home network (10.0.1.3), beside `CONE1`
/// (10.0.1.2): two people behind one router that does not hairpin.
pub const CONE1_PC2: &str = "cone1-pc2";
/// The switch (a bridge) that cone1's router and its two hosts hang off.
pub const CONE1_SWITCH: &str = "cone1-sw";

pub(super) const INET_PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
pub(super) const INET_HOMES: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

pub(super) const PUBLIC_HOSTS: [(&str, Ipv4Addr); 6] = [
    (DHT, Ipv4Addr::new(198, 51, 100, 2)),
    (PUB1, Ipv4Addr::new(198, 51, 100, 11)),
    (PUB2, Ipv4Addr::new(198, 51, 100, 12)),
    (JS_DHT_HOSTS[0], Ipv4Addr::new(198, 51, 100, 21)),
    (JS_DHT_HOSTS[1], Ipv4Addr::new(198, 51, 100, 22)),
    (JS_DHT_HOSTS[2], Ipv4Addr::new(198, 51, 100, 23)),
];

pub(super) const LAN_HOSTS: [(&str, Ipv4Addr); 3] = [
    (LANDHT, Ipv4Addr::new(192, 168, 50, 2)),
    (LAN1, Ipv4Addr::new(192, 168, 50, 11)),
    (LAN2, Ipv4Addr::new(192, 168, 50, 12)),
];

pub(super) struct Home {
    pub(super) router: &'static str,
    pub(super) host: &'static str,
    pub(super) wan: Ipv4Addr,
    /// N of 10.0.N.0/24.
    pub(super) subnet: u8,
    pub(super) random: bool,
    /// A second host (10.0.N.3) and the switch the router and both hosts
    /// hang off; without one, the host is wired to the router directly.
    pub(super) second: Option<(&'static str, &'static str)>,
}

pub(super) const HOMES: [Home; 4] = [
    Home {
        router: CONE1_ROUTER,
        host: CONE1,
        wan: Ipv4Addr::new(203, 0, 113, 11),
        subnet: 1,
        random: false,
        second: Some((CONE1_PC2, CONE1_SWITCH)),
    },
    Home {
        router: CONE2_ROUTER,
        host: CONE2,
        wan: Ipv4Addr::new(203, 0, 113, 12),
        subnet: 2,
        random: false,
        second: None,
    },
    Home {
        router: RAND1_ROUTER,
        host: RAND1,
        wan: Ipv4Addr::new(203, 0, 113, 21),
        subnet: 3,
        random: true,
        second: None,
    },
    Home {
        router: RAND2_ROUTER,
        host: RAND2,
        wan: Ipv4Addr::new(203, 0, 113, 22),
        subnet: 4,
        random: true,
        second: None,
    },
];
