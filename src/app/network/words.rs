//! The network in words for the status bar and the side panel: what the
//! DHT state is called, the report's facts that fit a bar, and one word for
//! how each listed peer is reached. A fact that is not known is left out,
//! never guessed.

use std::time::Duration;

use crate::app::text;
use crate::domain::LogKey;
use crate::net::{NetworkReport, NetworkStatus, PeerPath};

use super::peers::Peer;

/// The DHT state in the words of the status bar.
pub fn dht_words(status: Option<&NetworkStatus>, retry_in: Option<Duration>) -> String {
    match status {
        None => "connecting…".into(),
        Some(NetworkStatus::Disabled) => "Disabled".into(),
        Some(NetworkStatus::Bootstrapping) => "Bootstrapping…".into(),
        Some(NetworkStatus::Online { nodes }) => format!(
            "Online ({nodes} {})",
            if *nodes == 1 { "node" } else { "nodes" }
        ),
        Some(NetworkStatus::Offline { reason, .. }) => {
            let seconds = retry_in.map_or(0, |d| d.as_secs());
            format!(
                "Offline: {}, retrying in {seconds}s",
                text::printable_line(reason)
            )
        }
    }
}

/// The known facts of the report for the status bar, in display order and
/// least useful first, so a narrow bar drops them from the front: public
/// address, NAT, reachability. Unknown facts are left out. The words are
/// the network layer's, as `hychat seed` prints them.
pub fn status_facts(report: &NetworkReport) -> Vec<String> {
    report.facts()
}

/// One word for a listed peer in the side panel: `relay` when every log
/// it carries is someone else's, else its path; `None` when unknown.
pub fn peer_tag(peer: &Peer, ours: Option<LogKey>) -> Option<&'static str> {
    if peer.relays_only(ours) {
        return Some("relay");
    }
    match peer.route.path {
        PeerPath::Unknown => None,
        PeerPath::ThisMachine => Some("local"),
        PeerPath::Lan => Some("lan"),
        PeerPath::Internet => Some("internet"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{Nat, Reachability};

    #[test]
    fn status_facts_leave_out_what_is_unknown() {
        assert!(status_facts(&NetworkReport::default()).is_empty());
        let report = NetworkReport {
            public_ip: Some("203.0.113.5".parse().unwrap()),
            nat: Nat::Consistent,
            reachable: Reachability::Unreachable,
            ..NetworkReport::default()
        };
        assert_eq!(
            status_facts(&report),
            [
                "public 203.0.113.5",
                "port-preserving NAT",
                "not reachable from outside"
            ]
        );
        let report = NetworkReport {
            reachable: Reachability::Reachable,
            ..NetworkReport::default()
        };
        assert_eq!(status_facts(&report), ["reachable from outside"]);
    }
}
