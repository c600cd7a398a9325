//! The address probe: from two sockets of its own, asks the bootstrap
//! nodes where our packets come from (PING) and whether they can reach us
//! unasked (PING_NAT toward the second socket), then hands the samples to
//! `nat` for the verdict. A thin driver, bounded in time; every datagram it
//! reads is untrusted and goes through `wire::decode_reply`.
//!
//! It uses sockets of its own, not the DHT node's. Behind a NAT the public
//! port it sees is the probe's, not the DHT socket's, so it reports the
//! public IP and the NAT kind only.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tokio::net::UdpSocket;

use super::nat::{self, Sample};
use crate::net::dht::encoding::wire;
use crate::net::types::NetworkReport;

/// How long the probe listens for answers in all.
const LISTEN: Duration = Duration::from_millis(1500);
/// Requests are sent again after this, once (UDP may lose the first).
const RESEND: Duration = Duration::from_millis(500);
/// At most this many nodes are asked.
const MAX_NODES: usize = 5;
/// PING_NAT transaction ids start here, to tell them from pings.
const NAT_TID: u16 = 0x100;

/// Probes `nodes` from `bind_ip`. Never fails: what could not be learned is
/// left unknown in the report (`bound` is the caller's to fill).
pub(crate) async fn probe(bind_ip: IpAddr, nodes: &[SocketAddr]) -> NetworkReport {
    let nodes: Vec<SocketAddrV4> = nodes
        .iter()
        .filter_map(|n| match n {
            SocketAddr::V4(v4) => Some(*v4),
            SocketAddr::V6(_) => None,
        })
        .take(MAX_NODES)
        .collect();
    let mut report = NetworkReport {
        local_ip: nodes
            .first()
            .and_then(|n| route_source(bind_ip, SocketAddr::V4(*n))),
        ..NetworkReport::default()
    };
    let (Ok(asking), Ok(other)) = (
        UdpSocket::bind((bind_ip, 0)).await,
        UdpSocket::bind((bind_ip, 0)).await,
    ) else {
        return report;
    };
    let (Ok(asking_addr), Ok(other_addr)) = (asking.local_addr(), other.local_addr()) else {
        return report;
    };
    if nodes.is_empty() {
        return report;
    }
    let send_all = || async {
        for (i, node) in nodes.iter().enumerate() {
            let i = i as u16;
            let ping = wire::encode_request(&wire::ping(i, *node));
            let ping_nat =
                wire::encode_request(&wire::ping_nat(NAT_TID + i, *node, other_addr.port()));
            let _ = asking.send_to(&ping, *node).await;
            let _ = asking.send_to(&ping_nat, *node).await;
        }
    };
    send_all().await;
    let mut samples = Vec::new();
    let mut answered_there = HashSet::new();
    let mut buf = vec![0u8; 2048];
    let mut other_buf = vec![0u8; 2048];
    let deadline = tokio::time::Instant::now() + LISTEN;
    let resend = tokio::time::sleep(RESEND);
    tokio::pin!(resend);
    let mut resent = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = &mut resend, if !resent => {
                resent = true;
                send_all().await;
            }
            Ok((n, from)) = asking.recv_from(&mut buf) => {
                if let Ok(reply) = wire::decode_reply(&buf[..n]) {
                    if let Some(node) = nodes.get(usize::from(reply.tid)) {
                        if SocketAddr::V4(*node) == from {
                            samples.push(Sample { node: from, seen_as: reply.to });
                        }
                    }
                }
            }
            Ok((n, from)) = other.recv_from(&mut other_buf) => {
                if let Ok(reply) = wire::decode_reply(&other_buf[..n]) {
                    let asked = reply.tid.checked_sub(NAT_TID).map(usize::from);
                    if asked.and_then(|i| nodes.get(i)).is_some_and(|n| n.ip() == &ip_v4(from)) {
                        answered_there.insert(from);
                    }
                }
            }
        }
    }
    let local = SocketAddr::new(
        report.local_ip.unwrap_or(asking_addr.ip()),
        asking_addr.port(),
    );
    let verdict = nat::classify(&samples, local);
    report.public_ip = verdict.public_ip;
    report.nat = verdict.nat;
    let answered: HashSet<SocketAddr> = samples.iter().map(|s| s.node).collect();
    report.reachable = nat::reachability(answered.len(), answered_there.len());
    report
}

fn ip_v4(addr: SocketAddr) -> std::net::Ipv4Addr {
    match addr {
        SocketAddr::V4(v4) => *v4.ip(),
        SocketAddr::V6(v6) => v6
            .ip()
            .to_ipv4_mapped()
            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
    }
}

/// This host's address on the route to `node`: a UDP socket that is only
/// connected (nothing is sent) learns which source address the kernel picks.
fn route_source(bind_ip: IpAddr, node: SocketAddr) -> Option<IpAddr> {
    if !bind_ip.is_unspecified() {
        return Some(bind_ip);
    }
    let socket = std::net::UdpSocket::bind((bind_ip, 0)).ok()?;
    socket.connect(node).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::types::{Nat, Reachability};

    /// A node that answers like dht-rpc: PING to the sender, PING_NAT to
    /// the sender's host at the asked port.
    async fn fake_node() -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, SocketAddr::V4(from))) = socket.recv_from(&mut buf).await {
                let tid = u16::from_le_bytes([buf[2], buf[3]]);
                let flags = buf[1];
                let mut to = from;
                if flags & 0x10 != 0 && n >= 3 {
                    to.set_port(u16::from_le_bytes([buf[n - 2], buf[n - 1]]));
                }
                let reply = wire::Reply {
                    tid,
                    to: from,
                    id: None,
                    token: None,
                    closer_nodes: vec![],
                    error: 0,
                    value: None,
                };
                let _ = socket.send_to(&wire::encode_reply(&reply), to).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_host_with_no_nat_is_public_and_reachable() {
        let nodes = [fake_node().await, fake_node().await];
        let report = probe("0.0.0.0".parse().unwrap(), &nodes).await;
        assert_eq!(report.local_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(report.public_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(report.nat, Nat::None);
        assert_eq!(report.reachable, Reachability::Reachable);
    }

    #[tokio::test]
    async fn no_answer_leaves_everything_unknown() {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let report = probe("0.0.0.0".parse().unwrap(), &[silent.local_addr().unwrap()]).await;
        assert_eq!(report.public_ip, None);
        assert_eq!(report.nat, Nat::Unknown);
        assert_eq!(report.reachable, Reachability::Unknown);
    }
}
