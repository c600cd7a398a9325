//! The client role of a DHT connection, as JS hyperdht's `connect` runs it:
//! find the nodes that know a route to the server (FIND_PEER), send the
//! first Noise message through them (PEER_HANDSHAKE), read the server's
//! answer, then open the UDX stream on the path the answer allows and hand
//! back the secret stream.
//!
//! Paths: a server that is OPEN, or that answered through a relay but offers
//! no holepunch, is connected to straight (JS's first case); one that
//! offers a holepunch is punched (`punch`), and the stream opens on the
//! socket the probe reached. Behind the same public IP as the server, its
//! LAN address is tried from the DHT socket while the punch runs (`lan`),
//! and the first path that works is taken. `path` is the pure decision.
//!
//! When either side's payload names a blind relay (`relayThrough`), the
//! stream goes through it instead (`relayed.rs`): the server's relay if it
//! named one, else ours.
//!
//! Our payload's `addresses4` are this host's interface addresses with the
//! DHT socket's port (JS `localAddresses`), so a server behind our router
//! can tell we are on its network; `Lan::Off` shares none and tries none
//! (JS `localConnection: false`).

use std::net::{SocketAddr, SocketAddrV4};

use super::lan::{punch_or_lan, Way};
use super::punch::{pick_server_relay, punch, Plan, PunchError};
use super::relayed::{pair_through, RelayError};
use crate::net::dht::connection::handshake::{ClientHandshake, HandshakeError};
use crate::net::dht::connection::lan::{self, is_bogon, Lan};
use crate::net::dht::connection::sampler::Firewall;
use crate::net::dht::connection::stream::{DhtStream, Taken};
use crate::net::dht::encoding::crypto::hash;
use crate::net::dht::encoding::messages::{
    Handshake, Mode, NoisePayload, Peer, RelayThroughInfo, SecretStreamInfo, UdxInfo, FIND_PEER,
    FIREWALL_OPEN, PEER_HANDSHAKE,
};
use crate::net::dht::encoding::wire::Request;
use crate::net::dht::kademlia::rpc::{RpcError, ATTEMPTS};
use crate::net::dht::kademlia::service::DhtNode;

/// Relays tried for one handshake, in turn (JS tries 2 or 3 at a time).
const MAX_RELAYS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("no DHT node knows the peer (it is offline or not announced yet)")]
    NotFound,
    #[error("no relay answered the handshake ({0})")]
    NoAnswer(String),
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("holepunching failed: {0}")]
    Punch(#[from] PunchError),
    #[error("the peer offers no way to connect")]
    CannotConnect,
    #[error("the UDX stream could not open: {0}")]
    Stream(String),
    #[error(transparent)]
    Relay(#[from] RelayError),
}

/// How to reach the server once the handshake is through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// Send UDX straight to this address from the DHT socket.
    Direct(SocketAddrV4),
    /// The server waits for a holepunch.
    Punch,
}

/// JS `holepunch()`'s first decision. `server_address` is the server as
/// the relay saw it (or the relay itself when the answer was not relayed),
/// `relay` is the node we asked.
pub(crate) fn path(
    remote: &NoisePayload,
    server_address: SocketAddrV4,
    relay: SocketAddrV4,
) -> Option<Path> {
    let holepunchable = remote
        .holepunch
        .as_ref()
        .is_some_and(|h| !h.relays.is_empty());
    let relayed = server_address != relay;
    if remote.firewall == FIREWALL_OPEN || (relayed && !holepunchable) {
        let first = remote
            .addresses4
            .iter()
            .copied()
            .find(|a| !is_bogon(*a.ip()))
            .unwrap_or(server_address);
        return Some(Path::Direct(first));
    }
    if !holepunchable {
        return None;
    }
    Some(Path::Punch)
}

/// A connection we dialed, and whose relay carried its handshake.
#[derive(Debug)]
pub(crate) struct Connected {
    pub(crate) stream: DhtStream,
    pub(crate) remote_public_key: [u8; 32],
    /// The node whose relay carried the handshake.
    pub(crate) relay: SocketAddrV4,
}

/// Connects to the server with `public_key` through the DHT `node` is in,
/// with the LAN shortcut on or off and no blind relay (hychat dials with
/// `relayed::connect_or_relay`).
#[cfg(test)]
pub(crate) async fn connect_with(
    node: &DhtNode,
    public_key: [u8; 32],
    lan: Lan,
) -> Result<Connected, ConnectError> {
    connect_via(node, public_key, lan, None).await
}

/// `connect_with`, asking the server to go through the blind relay
/// `relay` (JS's `relayThrough`) when one is given.
pub(crate) async fn connect_via(
    node: &DhtNode,
    public_key: [u8; 32],
    lan: Lan,
    relay_through: Option<[u8; 32]>,
) -> Result<Connected, ConnectError> {
    let target = hash(&[&public_key]);
    let answers = node.query(FIND_PEER, target, None).await;
    let relays: Vec<SocketAddrV4> = answers
        .iter()
        .filter(|a| {
            a.reply
                .value
                .as_deref()
                .and_then(|v| Peer::decode(v).ok())
                .is_some_and(|peer| peer.public_key == public_key)
        })
        .map(|a| a.from)
        .take(MAX_RELAYS)
        .collect();
    if relays.is_empty() {
        return Err(ConnectError::NotFound);
    }

    let rpc = node.rpc();
    let local_id: u32 = rand::random();
    let half = rpc
        .socket()
        .create_stream(local_id)
        .map_err(|e| ConnectError::Stream(e.to_string()))?;
    let local_addresses = if lan.is_on() {
        lan::local_addresses(rpc.local_addr(), &lan::interfaces())
    } else {
        Vec::new()
    };
    let ours = NoisePayload {
        addresses4: local_addresses.clone(),
        udx: Some(UdxInfo::new(local_id, false)),
        secret_stream: Some(SecretStreamInfo::default()),
        relay_through: relay_through.map(|public_key| RelayThroughInfo {
            version: 1,
            public_key,
            token: rand::random(),
        }),
        ..NoisePayload::default()
    };
    let mut failures = Vec::new();
    for relay in relays {
        let handshake = ClientHandshake::start(&node.key_pair(), &public_key, &ours)?;
        let request = Request {
            target: Some(target),
            value: Some(
                Handshake {
                    mode: Mode::FromClient,
                    noise: handshake.first_message().to_vec(),
                    peer_address: None,
                    relay_address: None,
                }
                .encode(),
            ),
            ..Request::new(0, relay, false, PEER_HANDSHAKE)
        };
        let asked = std::time::Instant::now();
        let answer = match rpc.request(request, relay, ATTEMPTS).await {
            Ok(answer) => answer,
            Err(e @ (RpcError::Timeout(_) | RpcError::Busy | RpcError::Closed)) => {
                failures.push(e.to_string());
                continue;
            }
        };
        let handshake_rtt = asked.elapsed();
        let Some(reply) = answer
            .reply
            .value
            .as_deref()
            .and_then(|v| Handshake::decode(v).ok())
            .filter(|h| h.mode == Mode::Reply && !h.noise.is_empty())
        else {
            failures.push(format!("{relay} gave no handshake answer"));
            continue;
        };
        let server_address = reply.peer_address.unwrap_or(relay);
        let client_address = answer.reply.to;
        let done = handshake.finish(&reply.noise)?;
        let Some(remote_udx) = done.remote.udx.as_ref().map(|u| u.id) else {
            return Err(HandshakeError::NoUdx.into());
        };
        let remote_udx = u32::try_from(remote_udx)
            .map_err(|_| ConnectError::Stream("the peer's stream id is too large".into()))?;
        // A relay either side named: the server's, which pairs first.
        let blind = match (&done.remote.relay_through, &ours.relay_through) {
            (Some(theirs), _) => Some((theirs.public_key, theirs.token, false)),
            (None, Some(ours)) => Some((ours.public_key, ours.token, true)),
            (None, None) => None,
        };
        if let Some((relay_key, token, initiator)) = blind {
            // The stream is made again on the relay connection's socket.
            drop(half);
            let relayed = pair_through(node, relay_key, initiator, token, local_id).await?;
            let stream = DhtStream::open(
                &done.split,
                done.local_public_key,
                relayed.stream,
                relayed.relay_addr,
                Taken::Relayed(relay_key),
                None,
            )
            .holding(relayed.hold);
            return Ok(Connected {
                remote_public_key: done.remote_public_key.unwrap_or(public_key),
                stream,
                relay,
            });
        }
        let (half, to, taken, socket) = match path(&done.remote, server_address, relay) {
            Some(Path::Direct(to)) => (half, to, Taken::Direct, None),
            Some(Path::Punch) => {
                let server_relay = done
                    .remote
                    .holepunch
                    .as_ref()
                    .and_then(|h| Some((h.id, pick_server_relay(&h.relays, relay)?)))
                    .ok_or(ConnectError::CannotConnect)?;
                let plan = Plan {
                    target,
                    id: server_relay.0,
                    server_relay: server_relay.1,
                    handshake_relay: relay,
                    server_address,
                    remote_firewall: Firewall::from_u64(done.remote.firewall),
                    holepunch_secret: done.holepunch_secret,
                    handshake_rtt,
                };
                let lan_address = super::lan::target(
                    lan,
                    &done.remote,
                    server_address != relay,
                    client_address,
                    server_address,
                    &local_addresses,
                );
                let punching = punch(node, plan, rpc.local_addr().ip());
                match punch_or_lan(punching, rpc, lan_address).await? {
                    // The stream runs on the DHT socket, to the LAN address.
                    Way::Lan(to) => {
                        tracing::debug!(%to, "LAN shortcut: connecting to the server's LAN address");
                        (half, to, Taken::Direct, None)
                    }
                    // The stream runs on the socket the probe reached.
                    Way::Punched(punched) => {
                        let half = punched
                            .socket
                            .socket()
                            .create_stream(local_id)
                            .map_err(|e| ConnectError::Stream(e.to_string()))?;
                        let taken = Taken::Punched(punched.strategy);
                        (half, punched.remote, taken, Some(punched.socket))
                    }
                }
            }
            None => return Err(ConnectError::CannotConnect),
        };
        let stream = half
            .connect(SocketAddr::V4(to), remote_udx)
            .map_err(|e| ConnectError::Stream(e.to_string()))?;
        return Ok(Connected {
            remote_public_key: done.remote_public_key.unwrap_or(public_key),
            stream: DhtStream::open(
                &done.split,
                done.local_public_key,
                stream,
                to,
                taken,
                socket,
            ),
            relay,
        });
    }
    Err(ConnectError::NoAnswer(failures.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::encoding::messages::{HolepunchInfo, RelayInfo, FIREWALL_CONSISTENT};
    use std::net::Ipv4Addr;

    fn addr(text: &str) -> SocketAddrV4 {
        text.parse().unwrap()
    }

    const SERVER: &str = "203.0.113.7:4000";
    const RELAY: &str = "198.51.100.1:49737";

    fn punchable() -> Option<HolepunchInfo> {
        Some(HolepunchInfo {
            id: 0,
            relays: vec![RelayInfo {
                relay_address: addr(RELAY),
                peer_address: addr(SERVER),
            }],
        })
    }

    #[test]
    fn an_open_server_is_reached_at_its_first_public_address() {
        let remote = NoisePayload {
            firewall: FIREWALL_OPEN,
            addresses4: vec![addr("192.168.1.5:4000"), addr("8.8.4.4:4001")],
            ..NoisePayload::default()
        };
        assert_eq!(
            path(&remote, addr(SERVER), addr(RELAY)),
            Some(Path::Direct(addr("8.8.4.4:4001")))
        );
        let only_private = NoisePayload {
            addresses4: vec![addr("10.0.0.2:4000")],
            ..remote
        };
        assert_eq!(
            path(&only_private, addr(SERVER), addr(RELAY)),
            Some(Path::Direct(addr(SERVER)))
        );
    }

    #[test]
    fn a_relayed_server_without_holepunch_info_is_dialed_where_the_relay_saw_it() {
        let remote = NoisePayload::default();
        assert_eq!(
            path(&remote, addr(SERVER), addr(RELAY)),
            Some(Path::Direct(addr(SERVER)))
        );
    }

    #[test]
    fn a_firewalled_server_with_relays_wants_a_holepunch() {
        let remote = NoisePayload {
            firewall: FIREWALL_CONSISTENT,
            holepunch: punchable(),
            ..NoisePayload::default()
        };
        assert_eq!(path(&remote, addr(SERVER), addr(RELAY)), Some(Path::Punch));
    }

    #[test]
    fn a_server_answering_directly_without_relays_cannot_be_reached() {
        let remote = NoisePayload::default();
        assert_eq!(path(&remote, addr(SERVER), addr(SERVER)), None);
    }

    #[test]
    fn bogons_are_what_js_calls_bogons() {
        for bogon in [
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "172.16.0.1",
            "192.168.0.1",
            "0.1.2.3",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.2",
            "203.0.113.1",
            "224.0.0.1",
        ] {
            assert!(is_bogon(bogon.parse().unwrap()), "{bogon}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1"] {
            assert!(!is_bogon(public.parse().unwrap()), "{public}");
        }
    }

    /// A JS hyperdht server that echoes, found and reached through three of
    /// our nodes as its only DHT: our node stores its announcement, relays
    /// the handshake, and the secret stream carries bytes both ways. An
    /// open server is dialed directly.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reaches_an_open_js_server_through_our_nodes_and_talks_over_the_secret_stream() {
        let (path, punches) = echo_through_a_js_server(false, Lan::On).await;
        assert_eq!(path, Taken::Direct);
        assert!(punches.contains("\"consistent\":0"), "{punches}");
    }

    /// The same with a server that believes it is firewalled: it answers
    /// from a puncher socket and waits to be punched, so the connection
    /// only opens if our rounds, NAT sampling and probes work with JS's.
    /// On one machine both sides are "consistent": the server's fast-mode
    /// probe answers our first round (JS counts no punch for that), or the
    /// consistent strategy does; the lab covers the random ones. The LAN
    /// shortcut is off: on loopback it would win.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn punches_through_to_a_firewalled_js_server() {
        let (path, punches) = echo_through_a_js_server(true, Lan::Off).await;
        assert!(
            matches!(path, Taken::Punched("fast" | "consistent")),
            "{path}"
        );
        assert!(punches.contains("\"open\":0"), "{punches}");
        assert!(punches.contains("\"random\":0"), "{punches}");
    }

    /// The same server with the LAN shortcut on: on loopback the relay sees
    /// both sides at 127.0.0.1, so the JS server takes its LAN rule (our
    /// payload shares 127.0.0.1 with our DHT port) and answers from its
    /// DHT socket, and we ping its shared address and open the stream
    /// there, on our DHT socket, before any probe gets through, as a JS
    /// client would.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reaches_a_firewalled_js_server_over_the_lan_shortcut_on_loopback() {
        let (path, punches) = echo_through_a_js_server(true, Lan::On).await;
        assert_eq!(path, Taken::Direct);
        assert!(punches.contains("\"consistent\":0"), "{punches}");
        assert!(punches.contains("\"random\":0"), "{punches}");
    }

    /// Runs the echo exchange; returns how we connected and the JS
    /// server's punch statistics.
    async fn echo_through_a_js_server(firewalled: bool, lan: Lan) -> (Taken, String) {
        use crate::net::dht::connection::stream::echo_round_trip;
        use crate::net::dht::kademlia::service::NodeConfig;
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        use std::time::Duration;

        const HOW: &str = "this test runs a JS server: run `npm ci --prefix tests/js`";
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            root.join("tests/js/node_modules/hyperdht").exists(),
            "{HOW}"
        );
        let start = |bootstrap: Vec<SocketAddrV4>, persistent: bool| {
            DhtNode::start(NodeConfig {
                bind: "127.0.0.1:0".parse().unwrap(),
                bootstrap,
                persistent_ip: persistent.then_some(Ipv4Addr::LOCALHOST),
            })
            .unwrap()
        };
        let v4 = |node: &DhtNode| match node.local_addr() {
            SocketAddr::V4(v4) => v4,
            SocketAddr::V6(_) => unreachable!("bound to IPv4"),
        };
        let first = start(Vec::new(), true);
        let second = start(vec![v4(&first)], true);
        let third = start(vec![v4(&first)], true);
        let list = [&first, &second, &third].map(v4).to_vec();
        let bootstrap: Vec<String> = list.iter().map(ToString::to_string).collect();

        let mut server = Command::new("node")
            .arg("tests/js/dht-echo.js")
            .arg(bootstrap.join(","))
            .arg(if firewalled { "firewalled" } else { "open" })
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{HOW} ({e})"));
        struct Kill(std::process::Child);
        impl Drop for Kill {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let stdout = server.stdout.take().unwrap();
        let stdin = server.stdin.take();
        let _server = Kill(server);
        let (lines_tx, lines_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    return;
                }
            }
        });
        let key_line = lines_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the JS server prints its key");
        let key_hex = key_line
            .strip_prefix("KEY ")
            .unwrap_or_else(|| panic!("the JS server said {key_line:?}"));
        let key: [u8; 32] = hex::decode(key_hex).unwrap().try_into().unwrap();

        let client = start(list.clone(), false);
        // One dial, no retry: the JS server prints its key once its
        // announcement is done, so the first dial must reach it.
        let mut connected = connect_with(&client, key, lan)
            .await
            .unwrap_or_else(|e| panic!("our one dial to the JS server failed: {e}"));
        assert_eq!(connected.remote_public_key, key);
        assert!(
            list.contains(&connected.relay),
            "the handshake went through our node"
        );
        let echoed = echo_round_trip(&mut connected.stream, b"hello from hychat").await;
        assert_eq!(
            echoed.as_deref(),
            Some(&b"hello from hychat"[..]),
            "the echo arrives within 10 s"
        );
        let seen = lines_rx
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        assert!(
            seen.starts_with("CONNECTION "),
            "the JS server saw us: {seen:?}"
        );
        drop(stdin);
        let punches = lines_rx
            .recv_timeout(Duration::from_secs(5))
            .ok()
            .and_then(|l| l.strip_prefix("PUNCHES ").map(str::to_string))
            .expect("the JS server reports its punch statistics");
        (connected.stream.path, punches)
    }
}
