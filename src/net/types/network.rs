//! What the engine tells of the network: this node's place on it
//! (`NetworkReport`: NAT, reachability, punch tallies), the DHT's state
//! (`NetworkStatus`), and how each connection reaches its peer
//! (`PeerRoute`, `PeerPath`, `Link`). Plain data; the words for them are
//! made in `net/report.rs` and the path decision in `net/route.rs`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::domain::LogKey;

/// This node's place on the network, as far as the DHT nodes tell us.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkReport {
    /// The network socket's bound address (`0.0.0.0:PORT` by default).
    pub bound: Option<SocketAddr>,
    /// This host's own address on the route to the DHT nodes.
    pub local_ip: Option<IpAddr>,
    /// Our address as DHT nodes see it (None until one answered).
    pub public_ip: Option<IpAddr>,
    pub nat: Nat,
    pub reachable: Reachability,
    /// How this node's connections were made so far.
    pub punches: PunchStats,
    /// The blind relay this node offers, once it found itself reachable.
    pub relay: Option<RelayOffer>,
}

/// A blind relay this node offers: its key, and what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayOffer {
    pub key: [u8; 32],
    /// Connections to the relay now.
    pub connections: usize,
    /// Pairs of peers linked through it now.
    pub linked: usize,
    /// Pairs linked since it started.
    pub matched: u64,
}

/// Tallies of the connections this node made or took, by how their packets
/// got through, and the dials whose holepunch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PunchStats {
    pub direct: u32,
    pub punched: u32,
    /// Through a blind relay.
    pub relayed: u32,
    pub failed: u32,
}

/// How a connection's packets get through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Link {
    /// Not known (a connection made before this was recorded).
    #[default]
    Unknown,
    /// Straight to the peer's address: no NAT had to be opened.
    Direct,
    /// Through holes punched in the NATs, with this strategy ("fast",
    /// "consistent", "random probes", "birthday sockets").
    Punched(&'static str),
    /// Through a blind relay: the first bytes of its key.
    Relayed([u8; 4]),
}

impl Link {
    pub fn label(&self) -> Option<String> {
        match self {
            Link::Unknown => None,
            Link::Direct => Some("direct".into()),
            Link::Punched(how) => Some(format!("punched ({how})")),
            Link::Relayed(by) => Some(format!(
                "blind relay {}",
                by.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )),
        }
    }
}

/// What stands between this host and the DHT nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Nat {
    /// Not known yet (no DHT node answered, or only one did).
    #[default]
    Unknown,
    /// None: the DHT nodes see this host's own address.
    None,
    /// A NAT that keeps one public port per socket ("cone", port-preserving):
    /// peers behind such NATs can reach each other.
    Consistent,
    /// A NAT that picks a new public port per destination ("symmetric"):
    /// direct connections fail; a public seed relays.
    Random,
}

/// Whether a host outside can reach this node without our sending first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reachability {
    #[default]
    Unknown,
    /// A DHT node's reply to another of our ports got in.
    Reachable,
    /// It did not: a NAT or firewall drops what we did not ask for.
    Unreachable,
}

/// How a connection reaches its peer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerRoute {
    /// The peer's address as it reports it: its public IP when it is known
    /// (with its port when no NAT rewrites it), else its local address.
    pub address: Option<SocketAddr>,
    pub path: PeerPath,
    /// How its packets get through.
    pub link: Link,
    /// The log the peer writes, when it said so. Any other log the connection
    /// carries, the peer relays (it is a seed or a room member holding it).
    pub own_log: Option<LogKey>,
}

/// The network path of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerPath {
    /// The peer did not say where it is (a JS peer, or not yet).
    #[default]
    Unknown,
    /// Another process on this machine.
    ThisMachine,
    /// The same local network: no NAT between us.
    Lan,
    /// Across the internet (through our NAT, theirs, or none).
    Internet,
}

/// The DHT as the user should understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkStatus {
    /// Networking is off (local-only commands).
    Disabled,
    Bootstrapping,
    Online {
        nodes: u32,
    },
    Offline {
        reason: String,
        retry_in: Duration,
    },
}
