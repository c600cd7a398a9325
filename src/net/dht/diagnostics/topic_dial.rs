//! A connection to a topic's peer made by hand, for tests that play a
//! peer themselves (built only with the `testing` feature): hychat's own
//! DHT client dials the first peer that announces the topic, looking it up
//! again every 200 ms until the peer has announced or the time is up.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::net::dht::client::connect_or_relay as connect;
use crate::net::dht::encoding::messages::{LookupRawReply, LOOKUP};
use crate::net::dht::kademlia::service::{DhtNode, NodeConfig};

/// A connection made by hychat's own DHT client to the first peer that
/// announces `topic` on the DHT of `bootstrap`, for tests that play a peer
/// by hand. Keep it whole: its stream runs on its node's socket.
pub struct TopicDial {
    /// The secret stream, as hypercore-protocol's `Protocol::new` takes it.
    pub cipher: Box<dyn hypercore_handshake::CipherTrait>,
    _node: DhtNode,
}

/// The node under a `TopicDial`'s stream, to be held while it is used.
pub struct KeepAlive {
    _node: DhtNode,
}

impl TopicDial {
    /// The connection, and what must outlive it.
    pub fn split(self) -> (Box<dyn hypercore_handshake::CipherTrait>, KeepAlive) {
        (self.cipher, KeepAlive { _node: self._node })
    }
}

/// Dials whoever announces `topic` (up to `timeout`); `None` if nobody
/// could be reached.
pub async fn dial_topic(
    bootstrap: SocketAddr,
    topic: [u8; 32],
    timeout: Duration,
) -> Option<TopicDial> {
    let SocketAddr::V4(bootstrap) = bootstrap else {
        return None;
    };
    let node = DhtNode::start(NodeConfig {
        bind: "127.0.0.1:0".parse().ok()?,
        bootstrap: vec![bootstrap],
        persistent_ip: None,
    })
    .ok()?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let answers = node.query(LOOKUP, topic, None).await;
        let peers: Vec<[u8; 32]> = answers
            .iter()
            .filter_map(|a| LookupRawReply::decode(a.reply.value.as_deref()?).ok())
            .flat_map(|reply| reply.peers)
            .map(|peer| peer.public_key)
            .collect();
        for key in peers {
            if let Ok(connected) = connect(&node, key).await {
                return Some(TopicDial {
                    cipher: Box::new(connected.stream.session),
                    _node: node,
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}
