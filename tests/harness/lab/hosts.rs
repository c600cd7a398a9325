//! The lab's hosts and addresses: the names of the hosts (each one
//! network namespace), the public addresses on the `inet` router, the LAN,
//! and the home routers with the host behind each (see the map in
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
}

pub(super) const HOMES: [Home; 4] = [
    Home {
        router: CONE1_ROUTER,
        host: CONE1,
        wan: Ipv4Addr::new(203, 0, 113, 11),
        subnet: 1,
        random: false,
    },
    Home {
        router: CONE2_ROUTER,
        host: CONE2,
        wan: Ipv4Addr::new(203, 0, 113, 12),
        subnet: 2,
        random: false,
    },
    Home {
        router: RAND1_ROUTER,
        host: RAND1,
        wan: Ipv4Addr::new(203, 0, 113, 21),
        subnet: 3,
        random: true,
    },
    Home {
        router: RAND2_ROUTER,
        host: RAND2,
        wan: Ipv4Addr::new(203, 0, 113, 22),
        subnet: 4,
        random: true,
    },
];
