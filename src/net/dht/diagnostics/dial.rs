//! `hychat dial`: the diagnostic that reaches whoever serves a log over
//! hychat's own DHT node, without the swarm. It joins the DHT, looks the
//! log's topic up (LOOKUP), connects to each peer found in turn
//! (`connect`), and proves the secret stream works by waiting for the
//! peer's first message. Every step is reported as it happens.

use std::collections::HashSet;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use hypercore_handshake::CipherEvent;

use crate::net::dht::client::connect_or_relay as connect;
use crate::net::dht::encoding::messages::{LookupRawReply, LOOKUP};
use crate::net::dht::kademlia::service::{DhtNode, NodeConfig};

/// How long the node may take to meet its first DHT node.
const JOIN_WAIT: Duration = Duration::from_secs(5);
/// How long a connected peer may take to send its first message.
const FIRST_MESSAGE: Duration = Duration::from_secs(10);

/// What `dial` found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialReport {
    /// The peer's address on the connection.
    pub remote: SocketAddr,
    /// The DHT node that relayed the handshake.
    pub relay: SocketAddr,
    /// How the connection was made ("direct", "punched (consistent)", ...).
    pub path: String,
    pub connect_ms: u128,
    pub first_message_ms: u128,
}

/// Starts an ephemeral node on `bind` and waits (up to `JOIN_WAIT`) for it
/// to meet a DHT node of `bootstrap`, saying how it went.
pub(super) async fn join(
    bind: SocketAddr,
    bootstrap: Vec<SocketAddr>,
    say: &mut impl FnMut(String),
) -> Result<DhtNode, String> {
    let bootstrap: Vec<SocketAddrV4> = bootstrap
        .into_iter()
        .filter_map(|a| match a {
            SocketAddr::V4(v4) => Some(v4),
            SocketAddr::V6(_) => None,
        })
        .collect();
    if bootstrap.is_empty() {
        return Err("no IPv4 bootstrap node to join the DHT through".into());
    }
    let node = DhtNode::start(NodeConfig {
        bind,
        bootstrap,
        persistent_ip: None,
    })
    .map_err(|e| format!("cannot bind {bind}: {e}"))?;
    say(format!("DHT node on {}", node.local_addr()));
    let joined = tokio::time::timeout(JOIN_WAIT, async {
        while node.table_len() == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    if joined.is_err() {
        say("no DHT node answered yet; looking up anyway".into());
    } else {
        say(format!("joined the DHT ({} nodes known)", node.table_len()));
    }
    Ok(node)
}

/// Dials whoever announces `topic` (a log's discovery key). `say` gets one
/// line per step. Fails with one sentence.
pub async fn dial(
    bind: SocketAddr,
    bootstrap: Vec<SocketAddr>,
    topic: [u8; 32],
    timeout: Duration,
    mut say: impl FnMut(String),
) -> Result<DialReport, String> {
    let started = Instant::now();
    let node = join(bind, bootstrap, &mut say).await?;
    let work = async {
        let answers = node.query(LOOKUP, topic, None).await;
        let mut seen = HashSet::new();
        let peers: Vec<[u8; 32]> = answers
            .iter()
            .filter_map(|a| LookupRawReply::decode(a.reply.value.as_deref()?).ok())
            .flat_map(|reply| reply.peers)
            .map(|peer| peer.public_key)
            .filter(|key| seen.insert(*key))
            .collect();
        say(format!(
            "{} DHT node(s) answered the lookup; {} peer(s) announce the topic",
            answers.len(),
            peers.len()
        ));
        let mut last = String::from("nobody announces this log");
        for key in peers {
            say(format!("connecting to peer {}", hex::encode(key)));
            let attempt = Instant::now();
            let mut connected = match connect(&node, key).await {
                Ok(connected) => connected,
                Err(e) => {
                    say(format!("failed: {e}"));
                    last = e.to_string();
                    continue;
                }
            };
            let connect_ms = attempt.elapsed().as_millis();
            say(format!(
                "connected to {} (key {}) through {} ({}) in {connect_ms} ms",
                connected.stream.remote_addr,
                hex::encode(connected.remote_public_key),
                connected.relay,
                connected.stream.path
            ));
            // Anything sent proves the stream; JS peers answer with their
            // protocol's first message anyway.
            let _ = connected.stream.session.send(b"hychat dial".to_vec()).await;
            let first = tokio::time::timeout(FIRST_MESSAGE, async {
                while let Some(event) = connected.stream.session.next().await {
                    if matches!(event, CipherEvent::Message(_)) {
                        return true;
                    }
                }
                false
            })
            .await;
            if first != Ok(true) {
                last = "connected, but the secret stream carried nothing".into();
                say(last.clone());
                continue;
            }
            return Ok(DialReport {
                remote: SocketAddr::V4(connected.stream.remote_addr),
                relay: SocketAddr::V4(connected.relay),
                path: connected.stream.path.to_string(),
                connect_ms,
                first_message_ms: attempt.elapsed().as_millis(),
            });
        }
        Err(last)
    };
    match tokio::time::timeout(timeout.saturating_sub(started.elapsed()), work).await {
        Ok(result) => result,
        Err(_) => Err(format!("gave up after {} s", timeout.as_secs())),
    }
}
