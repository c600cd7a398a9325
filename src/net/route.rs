//! The path of a connection (this machine, LAN, internet), decided from
//! what each side knows of its own place on the network: ours from the
//! address probe, the peer's from its hello. Pure. The address shown is the
//! one the peer reports (its public address when it knows it), which says
//! more than the socket's remote address behind a NAT.

use std::net::{IpAddr, SocketAddr};

use super::types::{Nat, NetworkReport, PeerPath};
use crate::domain::LogKey;

/// Where a peer says it is (the `place` of its hello).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Its own address on the route to the DHT, with its socket's port.
    pub local: SocketAddr,
    pub public_ip: Option<IpAddr>,
    pub nat: Nat,
}

impl Place {
    /// Our place, from our report; None until we know our local address.
    pub fn of(report: &NetworkReport) -> Option<Self> {
        Some(Self {
            local: SocketAddr::new(report.local_ip?, report.bound?.port()),
            public_ip: report.public_ip,
            nat: report.nat,
        })
    }

    /// The address to show for this peer: its public one where it is known
    /// (with the port only when no NAT rewrites it), else its local one.
    pub fn address(&self) -> SocketAddr {
        match (self.public_ip, self.nat) {
            (Some(ip), Nat::None) => SocketAddr::new(ip, self.local.port()),
            (Some(ip), _) => SocketAddr::new(ip, 0),
            (None, _) => self.local,
        }
    }
}

/// The path between us and a peer at `theirs`.
pub fn path(ours: Option<&Place>, theirs: Option<&Place>) -> PeerPath {
    let Some(theirs) = theirs else {
        return PeerPath::Unknown;
    };
    if theirs.local.ip().is_loopback() {
        return PeerPath::ThisMachine;
    }
    let Some(ours) = ours else {
        return PeerPath::Unknown;
    };
    if ours.local.ip() == theirs.local.ip() {
        return PeerPath::ThisMachine;
    }
    let same_public = ours.public_ip.is_some() && ours.public_ip == theirs.public_ip;
    // Two private addresses that the DHT sees as they are: the DHT node and
    // both of us share one private network.
    let one_private_network = is_private(ours.local.ip())
        && is_private(theirs.local.ip())
        && ours.nat == Nat::None
        && theirs.nat == Nat::None;
    if same_public || one_private_network {
        PeerPath::Lan
    } else {
        PeerPath::Internet
    }
}

/// Whether a peer serves `log` on someone else's behalf: it said which
/// log is its own (`peer_own`), that is another one, and `log` is not ours
/// either (our own log it holds because it follows us). Unknown is not
/// relayed.
pub fn relayed(log: &LogKey, peer_own: Option<LogKey>, ours: Option<LogKey>) -> bool {
    ours != Some(*log) && peer_own.is_some_and(|own| own != *log)
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(local: &str, public: Option<&str>, nat: Nat) -> Place {
        Place {
            local: local.parse().unwrap(),
            public_ip: public.map(|p| p.parse().unwrap()),
            nat,
        }
    }

    #[test]
    fn paths() {
        let lan1 = place("192.168.50.2:4000", Some("192.168.50.2"), Nat::None);
        let lan2 = place("192.168.50.3:4001", Some("192.168.50.3"), Nat::None);
        let home1 = place("10.0.1.2:4000", Some("203.0.113.2"), Nat::Consistent);
        let home1b = place("10.0.1.3:4000", Some("203.0.113.2"), Nat::Consistent);
        let home2 = place("10.0.2.2:4000", Some("203.0.113.3"), Nat::Random);
        let public = place("198.51.100.10:4000", Some("198.51.100.10"), Nat::None);
        let here = place("127.0.0.1:4000", Some("127.0.0.1"), Nat::None);
        let cases = [
            (
                "a LAN with its own DHT node",
                &lan1,
                Some(&lan2),
                PeerPath::Lan,
            ),
            ("behind one NAT", &home1, Some(&home1b), PeerPath::Lan),
            ("two homes", &home1, Some(&home2), PeerPath::Internet),
            (
                "home to a public host",
                &home1,
                Some(&public),
                PeerPath::Internet,
            ),
            ("loopback", &public, Some(&here), PeerPath::ThisMachine),
            ("same address", &home1, Some(&home1), PeerPath::ThisMachine),
            ("a peer that said nothing", &home1, None, PeerPath::Unknown),
        ];
        for (name, ours, theirs, expected) in cases {
            assert_eq!(path(Some(ours), theirs), expected, "{name}");
        }
        assert_eq!(path(None, Some(&home1)), PeerPath::Unknown);
    }

    #[test]
    fn only_logs_neither_side_writes_are_relayed() {
        let (ours, theirs, third) = (LogKey([1; 32]), LogKey([2; 32]), LogKey([3; 32]));
        assert!(!relayed(&theirs, Some(theirs), Some(ours)));
        assert!(!relayed(&ours, Some(theirs), Some(ours)));
        assert!(relayed(&third, Some(theirs), Some(ours)));
        assert!(!relayed(&third, None, Some(ours)));
    }

    #[test]
    fn the_address_shown_is_the_public_one_where_known() {
        let home = place("10.0.1.2:4000", Some("203.0.113.2"), Nat::Consistent);
        assert_eq!(home.address(), "203.0.113.2:0".parse().unwrap());
        let public = place("198.51.100.10:4000", Some("198.51.100.10"), Nat::None);
        assert_eq!(public.address(), "198.51.100.10:4000".parse().unwrap());
        let unknown = place("10.0.1.2:4000", None, Nat::Unknown);
        assert_eq!(unknown.address(), "10.0.1.2:4000".parse().unwrap());
    }
}
