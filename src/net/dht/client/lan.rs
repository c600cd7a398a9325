//! The client's LAN shortcut, as JS hyperdht's `holepunch()` runs it: when
//! a relay carried the handshake and saw the same public IP for both sides
//! (one router in front of both), ping the server's best-matching LAN
//! address from the DHT socket while the holepunch runs, and if it answers
//! open the stream there, on the DHT socket. Whichever path is ready
//! first wins; the other is dropped (the punch's sockets close, the ping's
//! request is forgotten). `target` is the pure decision; `punch_or_lan`
//! the race.

use std::future::Future;
use std::net::SocketAddrV4;
use std::time::Instant;

use super::punch::{PunchError, Punched};
use crate::net::dht::connection::lan::{is_reserved, match_address, Lan};
use crate::net::dht::encoding::messages::NoisePayload;
use crate::net::dht::encoding::wire;
use crate::net::dht::kademlia::rpc::{Rpc, ATTEMPTS};

/// The server's LAN address to try, if the shortcut applies (JS's `lan`
/// branch): it is on, a relay carried the handshake (`relayed`), the
/// relay saw us (`client_seen`) and the server (`server_seen`) at one
/// public IP, and the server shared an address that is not reserved.
/// Then the best match for `ours` (`match_address`), else the server's
/// first such address.
pub(crate) fn target(
    lan: Lan,
    remote: &NoisePayload,
    relayed: bool,
    client_seen: SocketAddrV4,
    server_seen: SocketAddrV4,
    ours: &[SocketAddrV4],
) -> Option<SocketAddrV4> {
    if !lan.is_on() || !relayed || client_seen.ip() != server_seen.ip() {
        return None;
    }
    let theirs: Vec<SocketAddrV4> = remote
        .addresses4
        .iter()
        .copied()
        .filter(|a| !is_reserved(*a.ip()))
        .collect();
    match_address(ours, &theirs).or_else(|| theirs.first().copied())
}

/// How the stream reaches the server.
pub(crate) enum Way {
    /// On the socket a probe reached, to the probe's source.
    Punched(Punched),
    /// On the DHT socket, to the server's LAN address that answered a ping.
    Lan(SocketAddrV4),
}

/// Runs the holepunch and, when `lan` names an address, a dht-rpc PING to
/// it from the DHT socket (`rpc`; up to 4 sends, 1 s apart, as JS's
/// `dht.ping`) side by side. The first to succeed wins and the other is
/// dropped; a failure waits for the other. When both fail, the punch's
/// error is the one returned (it says more than a silent LAN).
pub(crate) async fn punch_or_lan(
    punching: impl Future<Output = Result<Punched, PunchError>>,
    rpc: &Rpc,
    lan: Option<SocketAddrV4>,
) -> Result<Way, PunchError> {
    let Some(to) = lan else {
        return punching.await.map(Way::Punched);
    };
    let started = Instant::now();
    let pinging = async {
        let answered = rpc.request(wire::ping(0, to), to, ATTEMPTS).await.is_ok();
        tracing::debug!(lan = %to, answered, took = ?started.elapsed(), "LAN shortcut: pinged the server's LAN address");
        answered
    };
    tokio::pin!(punching, pinging);
    let mut punch_failed: Option<PunchError> = None;
    let mut lan_failed = false;
    loop {
        tokio::select! {
            punched = &mut punching, if punch_failed.is_none() => match punched {
                Ok(punched) => return Ok(Way::Punched(punched)),
                Err(e) if lan_failed => return Err(e),
                Err(e) => punch_failed = Some(e),
            },
            answered = &mut pinging, if !lan_failed => {
                if answered {
                    return Ok(Way::Lan(to));
                }
                lan_failed = true;
                if let Some(e) = punch_failed.take() {
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::connection::lan::fixtures::{self, addr, shared, ROUTER};

    /// The outcome: the address tried.
    type Row = fixtures::Row<&'static str>;

    #[test]
    fn the_lan_is_tried_only_behind_one_public_ip_at_the_best_shared_address() {
        let mine: &[&str] = &["10.0.1.3:5000"];
        let table: [Row; 9] = [
            // One router, a relay between: the match on our network.
            (
                Lan::On,
                true,
                ROUTER,
                ROUTER,
                &["192.168.9.9:6000", "10.0.1.2:6000"],
                mine,
                Some("10.0.1.2:6000"),
            ),
            // No match: the server's first address that is not reserved.
            (
                Lan::On,
                true,
                ROUTER,
                ROUTER,
                &["198.51.100.7:6000", "172.16.0.2:6000", "192.168.9.9:6000"],
                mine,
                Some("172.16.0.2:6000"),
            ),
            // A public interface address is kept (only reserved ones go).
            (
                Lan::On,
                true,
                ROUTER,
                ROUTER,
                &["8.8.4.4:6000"],
                mine,
                Some("8.8.4.4:6000"),
            ),
            // Only reserved addresses shared: nothing to try.
            (
                Lan::On,
                true,
                ROUTER,
                ROUTER,
                &["203.0.113.5:6000", "0.0.0.1:6000"],
                mine,
                None,
            ),
            // Nothing shared (a server with the shortcut off).
            (Lan::On, true, ROUTER, ROUTER, &[], mine, None),
            // Two public IPs: two routers, no LAN between.
            (
                Lan::On,
                true,
                ROUTER,
                "203.0.113.12",
                &["10.0.1.2:6000"],
                mine,
                None,
            ),
            // Answered straight, not through a relay.
            (
                Lan::On,
                false,
                ROUTER,
                ROUTER,
                &["10.0.1.2:6000"],
                mine,
                None,
            ),
            // Switched off.
            (
                Lan::Off,
                true,
                ROUTER,
                ROUTER,
                &["10.0.1.2:6000"],
                mine,
                None,
            ),
            // On loopback, as JS does it too.
            (
                Lan::On,
                true,
                "127.0.0.1",
                "127.0.0.1",
                &["127.0.0.1:6000"],
                &["127.0.0.1:5000"],
                Some("127.0.0.1:6000"),
            ),
        ];
        for (lan, relayed, client_ip, server_ip, theirs, ours, expected) in table {
            let ours: Vec<SocketAddrV4> = ours.iter().map(|a| addr(a)).collect();
            let client_seen = addr(&format!("{client_ip}:40000"));
            let server_seen = addr(&format!("{server_ip}:40001"));
            assert_eq!(
                target(
                    lan,
                    &shared(theirs),
                    relayed,
                    client_seen,
                    server_seen,
                    &ours
                ),
                expected.map(addr),
                "{lan:?} relayed={relayed} {client_ip}/{server_ip} {theirs:?}"
            );
        }
    }

    fn punched_err(e: PunchError) -> Result<Punched, PunchError> {
        Err(e)
    }

    /// A socket that answers every PING, and one that answers none.
    async fn answering() -> (Rpc, SocketAddrV4, tokio::task::JoinHandle<()>) {
        use crate::net::dht::encoding::wire::Reply;
        use crate::net::dht::kademlia::rpc::Inbound;
        let (server, mut inbound) = Rpc::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let std::net::SocketAddr::V4(at) = server.local_addr() else {
            unreachable!()
        };
        let task = tokio::spawn(async move {
            while let Some(event) = inbound.recv().await {
                if let Inbound::Request { request, from } = event {
                    server.reply(&Reply::to_request(&request, from), from);
                }
            }
        });
        (
            Rpc::bind("127.0.0.1:0".parse().unwrap()).unwrap().0,
            at,
            task,
        )
    }

    #[tokio::test]
    async fn an_answered_ping_wins_over_a_punch_still_running() {
        let (rpc, at, _server) = answering().await;
        let never = std::future::pending::<Result<Punched, PunchError>>();
        let way = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            punch_or_lan(never, &rpc, Some(at)),
        )
        .await
        .expect("the ping decides within 5 s");
        assert!(matches!(way, Ok(Way::Lan(to)) if to == at));
    }

    #[tokio::test]
    async fn a_failed_punch_waits_for_the_ping_and_a_failed_ping_for_the_punch() {
        let (rpc, at, _server) = answering().await;
        let way = punch_or_lan(async { punched_err(PunchError::Aborted) }, &rpc, Some(at)).await;
        assert!(matches!(way, Ok(Way::Lan(_))));
        // Nobody answers at a closed port: both fail, the punch's error
        // comes back once the ping gave up (4 sends, 1 s apart).
        let (silent, _in) = Rpc::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let std::net::SocketAddr::V4(nobody) = silent.local_addr() else {
            unreachable!()
        };
        drop(_in);
        let way = punch_or_lan(
            async { punched_err(PunchError::DoubleRandomized) },
            &rpc,
            Some(nobody),
        )
        .await;
        assert!(matches!(way, Err(PunchError::DoubleRandomized)));
        // No LAN to try: the punch alone.
        let way = punch_or_lan(async { punched_err(PunchError::Aborted) }, &rpc, None).await;
        assert!(matches!(way, Err(PunchError::Aborted)));
    }
}
