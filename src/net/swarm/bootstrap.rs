//! DHT bootstrap: resolving the bootstrap list (unresolvable names are skipped)
//! and hosting a bootstrap node, either the machine-local one that lets two
//! hychats meet with no internet, or a LAN one for `hychat bootstrap`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use dht_rpc::DhtConfig;
use futures::StreamExt;
use hyperdht::adht::Dht;
use tokio::task::JoinHandle;

use crate::net::compat::dht_panics;
use crate::net::compat::pacing::Paced;

/// The public Hyperswarm bootstrap nodes.
pub const PUBLIC_BOOTSTRAP: [&str; 3] = [
    "node1.hyperdht.org:49737",
    "node2.hyperdht.org:49737",
    "node3.hyperdht.org:49737",
];

/// The machine-local bootstrap node the first hychat on a machine hosts.
pub const DEFAULT_LOCAL_BOOTSTRAP: &str = "127.0.0.1:49737";

const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);
/// The pause before a panicked node is built again.
const REBUILD_PAUSE: Duration = Duration::from_millis(500);

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
pub(crate) async fn resolve_async(list: Vec<String>) -> Vec<SocketAddr> {
    let literal: Vec<SocketAddr> = list.iter().filter_map(|s| s.parse().ok()).collect();
    let task = tokio::task::spawn_blocking(move || resolve(&list));
    match tokio::time::timeout(RESOLVE_TIMEOUT, task).await {
        Ok(Ok(addrs)) => addrs,
        // A hung resolver must not hold us back: keep the literal addresses.
        _ => literal,
    }
}

/// The node id JS peers expect of a bootstrap node: a hash of its address.
fn bootstrap_node_id(addr: SocketAddr) -> Option<[u8; 32]> {
    let IpAddr::V4(ip) = addr.ip() else {
        return None;
    };
    let mut input = ip.octets().to_vec();
    input.extend_from_slice(&addr.port().to_le_bytes());
    Some(dht_rpc::generic_hash(&input))
}

/// A running bootstrap node. Stops when dropped.
#[derive(Debug)]
pub struct BootstrapNode {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl BootstrapNode {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for BootstrapNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds a bootstrap node to `addr` (port 0 picks a free port). Fails when
/// the address is taken, which for the local default means another hychat
/// already hosts it. The node is supervised: a panic inside hyperdht
/// (compat: hyperdht row) is logged and the node is built again on the same
/// address within seconds.
pub async fn run_bootstrap_node(addr: SocketAddr) -> Result<BootstrapNode, String> {
    // Bind first to learn the real port.
    let probe = std::net::UdpSocket::bind(addr).map_err(|e| e.to_string())?;
    let addr = probe.local_addr().map_err(|e| e.to_string())?;
    drop(probe);
    let dht = build_node(addr).await?;
    let task = tokio::spawn(supervise(addr, dht));
    tracing::info!(%addr, "hosting a DHT bootstrap node");
    Ok(BootstrapNode { addr, task })
}

/// A node on `addr` that lists itself as its only bootstrap entry, so it
/// never reaches for the public hosts.
async fn build_node(addr: SocketAddr) -> Result<Dht, String> {
    // Bound to every interface, it is reached here at loopback: that is its
    // own bootstrap entry and, for JS peers on this machine, its id.
    let reachable = crate::net::swarm::bind::reachable_here(addr);
    let mut config = DhtConfig::default()
        .bind(addr)
        .map_err(|e| e.to_string())?
        .add_bootstrap_node(reachable);
    config.local_id = bootstrap_node_id(reachable);
    Dht::with_config(config).await.map_err(|e| e.to_string())
}

/// Drives the node; after a panic, builds it again (the old socket is
/// released with the node, which may take a moment, hence the retries).
async fn supervise(addr: SocketAddr, first: Dht) {
    let mut node = Some(first);
    loop {
        let mut dht = match node.take() {
            Some(dht) => dht,
            None => match build_node(addr).await {
                Ok(dht) => {
                    tracing::info!(%addr, "the DHT bootstrap node is serving again");
                    dht
                }
                Err(e) => {
                    tracing::warn!(%addr, error = %e, "rebuilding the DHT bootstrap node failed; retrying");
                    tokio::time::sleep(REBUILD_PAUSE).await;
                    continue;
                }
            },
        };
        let driven = Paced::new(async move { while dht.next().await.is_some() {} });
        match dht_panics::contain(driven).await {
            Ok(()) => return,
            Err(panicked) => {
                dht_panics::log_recovery("the DHT bootstrap node", &panicked);
                tokio::time::sleep(REBUILD_PAUSE).await;
            }
        }
    }
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

    #[test]
    fn node_id_hashes_ip_and_little_endian_port() {
        let a = bootstrap_node_id("127.0.0.1:49737".parse().unwrap()).unwrap();
        let b = bootstrap_node_id("127.0.0.1:49738".parse().unwrap()).unwrap();
        assert_ne!(a, b);
        let mut input = vec![127, 0, 0, 1];
        input.extend_from_slice(&49737u16.to_le_bytes());
        assert_eq!(a, dht_rpc::generic_hash(&input));
    }

    /// hyperdht 0.1.1 panics on PEER_HOLEPUNCH (1) and on commands 6–10,
    /// which JS peers send: the node must answer pings again afterwards.
    #[tokio::test]
    async fn requests_that_panic_hyperdht_do_not_stop_the_node() {
        use crate::net::dht::wire;
        use std::net::SocketAddrV4;
        let node = run_bootstrap_node("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let SocketAddr::V4(addr) = node.local_addr() else {
            panic!("an IPv4 node");
        };
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let answers_ping = |tid: u16| {
            let socket = &socket;
            async move {
                let ping = wire::encode_request(&wire::ping(tid, addr));
                let mut buf = [0u8; 1500];
                for _ in 0..40 {
                    let _ = socket.send_to(&ping, addr).await;
                    let wait = Duration::from_millis(250);
                    while let Ok(Ok((n, _))) =
                        tokio::time::timeout(wait, socket.recv_from(&mut buf)).await
                    {
                        if wire::decode_reply(&buf[..n]).is_ok_and(|r| r.tid == tid) {
                            return true;
                        }
                    }
                }
                false
            }
        };
        assert!(answers_ping(1).await, "the node answers before");
        for (i, command) in [1u64, 6, 7, 8, 9, 10].into_iter().enumerate() {
            let hostile = wire::Request {
                target: Some([7; 32]),
                value: Some(vec![1, 2, 3]),
                ..wire::Request::new(
                    100 + i as u16,
                    SocketAddrV4::new(*addr.ip(), addr.port()),
                    false,
                    command,
                )
            };
            socket
                .send_to(&wire::encode_request(&hostile), addr)
                .await
                .unwrap();
            assert!(
                answers_ping(200 + i as u16).await,
                "the node answers again after command {command}"
            );
        }
    }

    #[tokio::test]
    async fn a_taken_address_is_refused() {
        let first = run_bootstrap_node("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        assert!(run_bootstrap_node(first.local_addr()).await.is_err());
    }
}
