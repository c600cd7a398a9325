//! The server's LAN shortcut, as JS hyperdht's `server.js` plays it: a
//! client behind our own router (a relay saw both of us at one public IP)
//! pings our shared LAN address and sends its first UDX packet to our DHT
//! socket from its own LAN address; our router may not hairpin, so that is
//! the only way in.
//!
//! - `plan`, pure: whether the client may come over the LAN, where to meet
//!   it, and whether JS's LAN rule holds (it shared private addresses and
//!   one matches ours: we then answer from the DHT socket, not a puncher,
//!   so the client's view of us is the socket it will reach).
//! - `first_bytes`: the wait for the client's first packet on the stream
//!   we hold open on the DHT socket for it.
//!
//! JS lets the first UDX packet of a pending handshake connect its stream
//! from wherever it comes (the firewall hook). udx 0.2 has no such hook
//! (its `on_firewall` is private) and the DHT socket's stray packets go to
//! the node, which drops them, so we connect the stream on the DHT socket
//! up front, to the client's address that best matches ours: the client
//! sends from its DHT socket, whose port every address it shared carries,
//! so on one network that is where its packets come from. The stream
//! takes packets from any source; until the first arrives it is not
//! handed on, and the punch goes on beside it (the client may punch
//! instead: a router that does hairpin, or no answer to its ping).

use std::future::Future;
use std::net::SocketAddrV4;
use std::pin::Pin;

use tokio::io::AsyncReadExt;

use crate::net::dht::connection::lan::{is_private, is_reserved, match_address, Lan};
use crate::net::dht::encoding::messages::NoisePayload;
use crate::net::transport::udx::socket::UdxStream;

/// How much of the client's first packets the wait reads (the rest stays
/// in the stream).
const FIRST_READ: usize = 16 * 1024;

/// What the server does for a client that may come over the LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LanPlan {
    /// Where the stream on the DHT socket is connected to: the client's
    /// LAN address.
    pub(crate) client: SocketAddrV4,
    /// JS's LAN rule holds: answer the handshake from the DHT socket.
    pub(crate) answer_from_dht: bool,
}

/// Whether a client that came through a relay (`relayed`) may reach us over
/// the LAN, and how to meet it. The client tries when the relay saw both
/// sides at one public IP (`client_seen`, and `server_seen`: where the
/// relay sent us the handshake) and we shared an address that is not
/// reserved (`ours`, our payload's `addresses4`): then we hold a stream
/// for it at the best match for ours among the addresses it shared (its
/// private ones first, as JS's rule takes only those), else at its first
/// address that is not reserved. JS's rule (`answer_from_dht`): the
/// client shared private addresses and one matches ours. Nothing when the
/// shortcut is off or the client shared nothing to meet it at.
pub(crate) fn plan(
    lan: Lan,
    relayed: bool,
    client_seen: SocketAddrV4,
    server_seen: SocketAddrV4,
    client: &NoisePayload,
    ours: &[SocketAddrV4],
) -> Option<LanPlan> {
    if !lan.is_on() || !relayed || client_seen.ip() != server_seen.ip() {
        return None;
    }
    if !ours.iter().any(|a| !is_reserved(*a.ip())) {
        return None;
    }
    let private: Vec<SocketAddrV4> = client
        .addresses4
        .iter()
        .copied()
        .filter(|a| is_private(*a.ip()))
        .collect();
    if let Some(matched) = match_address(ours, &private) {
        return Some(LanPlan {
            client: matched,
            answer_from_dht: true,
        });
    }
    let usable: Vec<SocketAddrV4> = client
        .addresses4
        .iter()
        .copied()
        .filter(|a| !is_reserved(*a.ip()))
        .collect();
    let client = match_address(ours, &usable).or_else(|| usable.first().copied())?;
    Some(LanPlan {
        client,
        answer_from_dht: false,
    })
}

/// A wait that ends with the first bytes the client sent on `stream`.
/// It never ends if the stream ends or fails first (the punch may still
/// connect).
pub(crate) type FirstBytes = Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;

/// Waits for the first bytes on `stream` (a handle of it: the caller
/// keeps its own, and puts the bytes back in front when it opens it).
pub(crate) fn first_bytes(stream: UdxStream) -> FirstBytes {
    Box::pin(async move {
        let mut stream = stream;
        let mut buffer = vec![0; FIRST_READ];
        match stream.read(&mut buffer).await {
            Ok(read) if read > 0 => {
                buffer.truncate(read);
                buffer
            }
            _ => std::future::pending().await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::connection::lan::fixtures::{self, addr, shared, ROUTER};

    /// The outcome: the plan (the client's address, and whether JS's rule
    /// holds). The public IPs are the client's, then ours.
    type Row = fixtures::Row<(&'static str, bool)>;

    #[test]
    fn a_client_behind_our_router_is_met_at_its_lan_address() {
        let ours: &[&str] = &["10.0.1.2:49737"];
        let table: [Row; 9] = [
            // JS's rule: a private match.
            (
                Lan::On,
                true,
                ROUTER,
                ROUTER,
                &["192.168.7.7:5000", "10.0.1.3:5000"],
                ours,
                Some(("10.0.1.3:5000", true)),
            ),
            // Private but no octet in common: JS's rule does not hold, but
            // the client still tries us, so we hold a stream for it.
            (
                Lan::On,
                true,
                ROUTER,
                ROUTER,
                &["192.168.7.7:5000"],
                ours,
                Some(("192.168.7.7:5000", false)),
            ),
            // A public interface address only: the same.
            (
                Lan::On,
                true,
                ROUTER,
                ROUTER,
                &["8.8.4.4:5000"],
                ours,
                Some(("8.8.4.4:5000", false)),
            ),
            // The client shared nothing (its shortcut is off).
            (Lan::On, true, ROUTER, ROUTER, &[], ours, None),
            // Only reserved addresses.
            (
                Lan::On,
                true,
                ROUTER,
                ROUTER,
                &["203.0.113.9:5000"],
                ours,
                None,
            ),
            // We shared only reserved ones: the client will not try.
            (
                Lan::On,
                true,
                ROUTER,
                ROUTER,
                &["10.0.1.3:5000"],
                &["198.51.100.11:49737"],
                None,
            ),
            // Two public IPs.
            (
                Lan::On,
                true,
                "203.0.113.12",
                ROUTER,
                &["10.0.1.3:5000"],
                ours,
                None,
            ),
            // Straight to us, not relayed.
            (
                Lan::On,
                false,
                ROUTER,
                ROUTER,
                &["10.0.1.3:5000"],
                ours,
                None,
            ),
            // Switched off.
            (
                Lan::Off,
                true,
                ROUTER,
                ROUTER,
                &["10.0.1.3:5000"],
                ours,
                None,
            ),
        ];
        for (lan, relayed, client_ip, server_ip, theirs, ours, expected) in table {
            let ours: Vec<SocketAddrV4> = ours.iter().map(|a| addr(a)).collect();
            let client_seen = addr(&format!("{client_ip}:40000"));
            let server_seen = addr(&format!("{server_ip}:40001"));
            let expected = expected.map(|(client, answer_from_dht)| LanPlan {
                client: addr(client),
                answer_from_dht,
            });
            assert_eq!(
                plan(
                    lan,
                    relayed,
                    client_seen,
                    server_seen,
                    &shared(theirs),
                    &ours
                ),
                expected,
                "{lan:?} relayed={relayed} {client_ip}/{server_ip} {theirs:?}"
            );
        }
    }
}
