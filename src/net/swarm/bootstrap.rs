//! DHT bootstrap: resolving the bootstrap list (unresolvable names are skipped)
//! and hosting a bootstrap node, either the machine-local one that lets two
//! hychats meet with no internet, or a LAN one for `hychat bootstrap`
//! (`BootstrapError` says why one cannot run).

use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use std::sync::Arc;

use crate::net::dht::kademlia::records::RecordStats;
use crate::net::dht::kademlia::service::{DhtNode, NodeConfig};
use crate::net::dht::server::{start_relay, Relay};
use crate::net::types::RelayOffer;

/// The public Hyperswarm bootstrap nodes.
pub const PUBLIC_BOOTSTRAP: [&str; 3] = [
    "node1.hyperdht.org:49737",
    "node2.hyperdht.org:49737",
    "node3.hyperdht.org:49737",
];

/// The machine-local bootstrap node the first hychat on a machine hosts.
pub const DEFAULT_LOCAL_BOOTSTRAP: &str = "127.0.0.1:49737";

const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Resolves `host:port` entries, skipping any that do not resolve. Blocking;
/// call it from `spawn_blocking` or before the runtime is busy.
pub(crate) fn resolve(list: &[String]) -> Vec<SocketAddr> {
    use std::net::ToSocketAddrs;
    let mut out = Vec::new();
    for entry in list {
        match entry.to_socket_addrs() {
            Ok(addrs) => {
                for addr in addrs.filter(|a| a.is_ipv4()) {
                    if !out.contains(&addr) {
                        out.push(addr);
                    }
                }
            }
            Err(e) => {
                tracing::info!(%entry, error = %e, "skipping bootstrap node that does not resolve")
            }
        }
    }
    out
}

/// `resolve` off the async runtime, bounded in time.
pub async fn resolve_async(list: Vec<String>) -> Vec<SocketAddr> {
    let literal: Vec<SocketAddr> = list.iter().filter_map(|s| s.parse().ok()).collect();
    let task = tokio::task::spawn_blocking(move || resolve(&list));
    match tokio::time::timeout(RESOLVE_TIMEOUT, task).await {
        Ok(Ok(addrs)) => addrs,
        // A hung resolver must not hold us back: keep the literal addresses.
        _ => literal,
    }
}

/// A running bootstrap node: hychat's own DHT node (`net::dht`), persistent
/// at its address, so it keeps announcements and relays handshakes and
/// holepunches for peers, and, when asked (`offer_relay`), a blind relay
/// for peers whose NATs cannot be punched. Stops when dropped.
pub struct BootstrapNode {
    node: Arc<DhtNode>,
    relay: Option<Relay>,
}

impl std::fmt::Debug for BootstrapNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapNode")
            .field("addr", &self.node.local_addr())
            .finish()
    }
}

impl BootstrapNode {
    pub fn local_addr(&self) -> SocketAddr {
        self.node.local_addr()
    }

    /// Other DHT nodes this node knows.
    pub fn known_nodes(&self) -> usize {
        self.node.table_len()
    }

    /// What the node's mutable and immutable records hold and saw.
    pub fn records(&self) -> RecordStats {
        // A bootstrap node is persistent, so it always keeps records.
        self.node.record_stats().unwrap_or_default()
    }

    /// Starts offering a blind relay (once); its key.
    pub fn offer_relay(&mut self) -> [u8; 32] {
        let node = &self.node;
        self.relay
            .get_or_insert_with(|| start_relay(Arc::clone(node)))
            .public_key
    }

    /// The blind relay offered, and what it carries.
    pub fn relay(&self) -> Option<RelayOffer> {
        self.relay.as_ref().map(Relay::offer)
    }
}

/// Why a bootstrap node cannot run.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The address reaches no IPv4 interface: the DHT speaks IPv4 only.
    #[error("a DHT node needs an IPv4 address")]
    NotIpv4,
    /// Its socket cannot bind (for the local default: another hychat
    /// hosts it already).
    #[error(transparent)]
    Bind(#[from] std::io::Error),
}

/// Binds a bootstrap node to `addr` (port 0 picks a free port) that knows
/// no other node. Fails when the address is taken, which for the local
/// default means another hychat already hosts it.
pub async fn run_bootstrap_node(addr: SocketAddr) -> Result<BootstrapNode, BootstrapError> {
    run_bootstrap_node_joining(addr, &[]).await
}

/// A bootstrap node on `addr` that joins the DHT of the nodes in `others`
/// (several bootstrap nodes make one network; peers classify their NAT
/// only with answers from three or more nodes).
pub async fn run_bootstrap_node_joining(
    addr: SocketAddr,
    others: &[SocketAddr],
) -> Result<BootstrapNode, BootstrapError> {
    // Bound to every interface, it is reached here at loopback: that is
    // where its id comes from, unless a public IP was given.
    let reachable = crate::net::swarm::bind::reachable_here(addr);
    let bootstrap: Vec<SocketAddrV4> = others
        .iter()
        .filter_map(|a| match a {
            SocketAddr::V4(v4) => Some(*v4),
            SocketAddr::V6(_) => None,
        })
        .collect();
    let IpAddr::V4(public_ip) = reachable.ip() else {
        return Err(BootstrapError::NotIpv4);
    };
    let config = NodeConfig {
        bind: addr,
        bootstrap,
        persistent_ip: Some(public_ip),
    };
    let node = DhtNode::start(config)?;
    tracing::info!(addr = %node.local_addr(), "hosting a DHT bootstrap node");
    Ok(BootstrapNode {
        node: Arc::new(node),
        relay: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unresolvable_names_are_skipped() {
        let list = vec![
            "no-such-host.invalid:49737".to_string(),
            "127.0.0.1:4000".to_string(),
            "not an address".to_string(),
        ];
        assert_eq!(resolve(&list), vec!["127.0.0.1:4000".parse().unwrap()]);
    }

    #[tokio::test]
    async fn a_taken_address_is_refused() {
        let first = run_bootstrap_node("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let taken = run_bootstrap_node(first.local_addr()).await;
        assert!(matches!(taken, Err(BootstrapError::Bind(_))), "{taken:?}");
    }
}
