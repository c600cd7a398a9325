//! The words for what the network report and a peer's route say, shared by
//! the TUI and the headless `seed` lines so both tell the same story.
//! Unknown facts are left out, never guessed.

use std::net::SocketAddr;

use super::types::{Link, Nat, NetworkReport, PeerPath, PeerRoute, Reachability, RelayOffer};

impl Nat {
    /// A short phrase: "no NAT", "port-preserving NAT", ….
    pub fn label(self) -> &'static str {
        match self {
            Nat::Unknown => "NAT not known yet",
            Nat::None => "no NAT",
            Nat::Consistent => "port-preserving NAT",
            Nat::Random => "NAT with a new port per destination",
        }
    }

    /// What it means for connecting, in one sentence.
    pub fn meaning(self) -> &'static str {
        match self {
            Nat::Unknown => "not known yet",
            Nat::None => "none (public address)",
            Nat::Consistent => "port-preserving NAT: peers behind such NATs can reach you",
            Nat::Random => {
                "NAT with a new port per destination: direct connections fail; \
                 use a public seed (see README)"
            }
        }
    }
}

impl Reachability {
    pub fn label(self) -> &'static str {
        match self {
            Reachability::Unknown => "reachability not known yet",
            Reachability::Reachable => "reachable from outside",
            Reachability::Unreachable => "not reachable from outside",
        }
    }
}

impl PeerPath {
    pub fn label(self) -> &'static str {
        match self {
            PeerPath::Unknown => "path unknown",
            PeerPath::ThisMachine => "this machine",
            PeerPath::Lan => "LAN",
            PeerPath::Internet => "internet",
        }
    }
}

/// An address to show: a port of 0 means the port is not known (a NAT
/// rewrites it), so only the IP is shown.
pub fn show_address(addr: SocketAddr) -> String {
    if addr.port() == 0 {
        addr.ip().to_string()
    } else {
        addr.to_string()
    }
}

impl NetworkReport {
    /// The known facts about reaching us, least useful first: public
    /// address, NAT, reachability. Unknown ones are left out.
    pub fn facts(&self) -> Vec<String> {
        let mut facts = Vec::new();
        if let Some(ip) = self.public_ip {
            facts.push(format!("public {ip}"));
        }
        if self.nat != Nat::Unknown {
            facts.push(self.nat.label().to_string());
        }
        if self.reachable != Reachability::Unknown {
            facts.push(self.reachable.label().to_string());
        }
        if let Some(relay) = &self.relay {
            facts.push(relay.label());
        }
        facts
    }

    /// One line of the known facts: "local 0.0.0.0:4000 (10.0.1.2), public
    /// 203.0.113.2, port-preserving NAT, not reachable from outside".
    pub fn summary(&self) -> String {
        let local = match (self.bound, self.local_ip) {
            (Some(bound), Some(ip)) if bound.ip() != ip => Some(format!("local {bound} ({ip})")),
            (Some(bound), _) => Some(format!("local {bound}")),
            (None, Some(ip)) => Some(format!("local {ip}")),
            (None, None) => None,
        };
        local
            .into_iter()
            .chain(self.facts())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl RelayOffer {
    /// "blind relay 1a2b3c4d (2 linked, 3 connections)".
    pub fn label(&self) -> String {
        let short: String = self.key[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "blind relay {short} ({} linked, {} connections)",
            self.linked, self.connections
        )
    }
}

impl PeerRoute {
    /// "internet, 203.0.113.2" or "LAN, 192.168.50.3:4000" or "path
    /// unknown", and which blind relay carries it when one does.
    pub fn summary(&self) -> String {
        let place = match self.address {
            Some(addr) => format!("{}, {}", self.path.label(), show_address(addr)),
            None => self.path.label().to_string(),
        };
        match (self.link, self.link.label()) {
            (Link::Relayed(_), Some(label)) => format!("{place}, through {label}"),
            _ => place,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_only_what_is_known() {
        assert_eq!(NetworkReport::default().summary(), "");
        let report = NetworkReport {
            bound: Some("0.0.0.0:4000".parse().unwrap()),
            local_ip: Some("10.0.1.2".parse().unwrap()),
            public_ip: Some("203.0.113.2".parse().unwrap()),
            nat: Nat::Consistent,
            reachable: Reachability::Unreachable,
            punches: Default::default(),
            relay: None,
        };
        assert_eq!(
            report.summary(),
            "local 0.0.0.0:4000 (10.0.1.2), public 203.0.113.2, port-preserving NAT, not reachable from outside"
        );
    }

    #[test]
    fn a_route_shows_an_unknown_port_as_the_ip_alone() {
        let route = PeerRoute {
            link: Default::default(),
            address: Some("203.0.113.2:0".parse().unwrap()),
            path: PeerPath::Internet,
            own_log: None,
        };
        assert_eq!(route.summary(), "internet, 203.0.113.2");
        assert_eq!(PeerRoute::default().summary(), "path unknown");
    }
}
