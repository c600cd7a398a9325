//! Announcing a server on the DHT, as JS hyperdht's announcer does: find
//! the nodes closest to the server's target (FIND_PEER), send the three
//! closest a signed ANNOUNCE of our public key, and remember each relay
//! that took it with the address it saw us at (`RelayInfo`). Those relays
//! route handshakes to us; holepunch clients go through them first; and a
//! holepunch message that arrives through one of them (in the last three
//! generations of relays) is trusted with a token.
//!
//! `Relays` is the pure bookkeeping; `announce` is one round of IO.

use std::net::SocketAddrV4;

use ed25519_dalek::SigningKey;

use crate::net::dht::encoding::crypto::{sign_announce, AnnounceKind, AnnounceScope};
use crate::net::dht::encoding::messages::{
    Announce, Peer, RelayInfo, ANNOUNCE, LOOKUP, UNANNOUNCE,
};
use crate::net::dht::encoding::wire::Request;
use crate::net::dht::kademlia::rpc::Answer;
use crate::net::dht::kademlia::rpc::ATTEMPTS;
use crate::net::dht::kademlia::service::{closest_with_tokens, DhtNode};

/// Relays announced to per round (JS `pickBest`: 3).
pub(crate) const RELAYS: usize = 3;
/// Generations of relays remembered for `is_relay` (JS keeps 3).
const GENERATIONS: usize = 3;

/// The relays of the last few announce rounds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Relays {
    /// Newest first.
    generations: Vec<Vec<RelayInfo>>,
}

impl Relays {
    /// A round's relays become the current generation.
    pub(crate) fn update(&mut self, relays: Vec<RelayInfo>) {
        if relays.is_empty() {
            return;
        }
        self.generations.insert(0, relays);
        self.generations.truncate(GENERATIONS);
    }

    /// The current relays, for handshake payloads.
    pub(crate) fn current(&self) -> &[RelayInfo] {
        self.generations.first().map_or(&[], Vec::as_slice)
    }

    /// Whether `addr` is one of our relays of the last generations.
    pub(crate) fn is_relay(&self, addr: SocketAddrV4) -> bool {
        self.generations
            .iter()
            .flatten()
            .any(|r| r.relay_address == addr)
    }
}

/// One announce round for `key` under `target`: a server announces the
/// hash of its public key after a FIND_PEER query; a topic is announced
/// after a LOOKUP (`query` names which), listing the relays that reach the
/// server. Returns the relays that acknowledged.
pub(crate) async fn announce(
    node: &DhtNode,
    key: &SigningKey,
    target: [u8; 32],
    query: u64,
    relay_addresses: Vec<SocketAddrV4>,
) -> Vec<RelayInfo> {
    let answers = node.query(query, target, None).await;
    announce_to(node, key, target, answers, relay_addresses).await
}

/// Announces to the three closest of `answers` (replies of a query for
/// `target` that carry a token and an id).
pub(crate) async fn announce_to(
    node: &DhtNode,
    key: &SigningKey,
    target: [u8; 32],
    answers: Vec<Answer>,
    relay_addresses: Vec<SocketAddrV4>,
) -> Vec<RelayInfo> {
    let answers = closest_with_tokens(answers, &target, RELAYS);
    let peer = Peer {
        public_key: key.verifying_key().to_bytes(),
        relay_addresses,
    };
    let rpc = node.rpc();
    let rounds = answers.into_iter().filter_map(|answer| {
        let request = signed(AnnounceKind::Announce, &answer, target, &peer, key)?;
        let relay = answer.from;
        Some(async move {
            let acked = rpc.request(request, relay, ATTEMPTS).await.ok()?;
            (acked.reply.error == 0).then_some(RelayInfo {
                relay_address: relay,
                peer_address: acked.reply.to,
            })
        })
    });
    futures::future::join_all(rounds)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Withdraws `key`'s record under `target` from the nodes closest to it
/// (a LOOKUP for fresh tokens, then a signed UNANNOUNCE to each).
pub(crate) async fn unannounce(node: &DhtNode, key: &SigningKey, target: [u8; 32]) {
    let answers = node.query(LOOKUP, target, None).await;
    let peer = Peer {
        public_key: key.verifying_key().to_bytes(),
        relay_addresses: Vec::new(),
    };
    let rpc = node.rpc();
    let rounds = answers.into_iter().filter_map(|answer| {
        let request = signed(AnnounceKind::Unannounce, &answer, target, &peer, key)?;
        let to = answer.from;
        Some(async move {
            let _ = rpc.request(request, to, 2).await;
        })
    });
    futures::future::join_all(rounds).await;
}

/// The signed ANNOUNCE or UNANNOUNCE of `peer` under `target` for the node
/// that gave `answer` (its token and id are what the signature binds).
fn signed(
    kind: AnnounceKind,
    answer: &Answer,
    target: [u8; 32],
    peer: &Peer,
    key: &SigningKey,
) -> Option<Request> {
    let token = answer.reply.token?;
    let scope = AnnounceScope {
        target,
        node_id: answer.reply.id?,
        token,
    };
    let value = Announce {
        peer: Some(peer.clone()),
        refresh: None,
        signature: Some(sign_announce(kind, &scope, peer, None, key)),
        bump: 0,
    }
    .encode();
    let command = match kind {
        AnnounceKind::Announce => ANNOUNCE,
        AnnounceKind::Unannounce => UNANNOUNCE,
    };
    Some(Request {
        token: Some(token),
        target: Some(target),
        value: Some(value),
        ..Request::new(0, answer.from, false, command)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(n: u8) -> RelayInfo {
        RelayInfo {
            relay_address: SocketAddrV4::new([198, 51, 100, n].into(), 49737),
            peer_address: SocketAddrV4::new([203, 0, 113, 1].into(), 4000),
        }
    }

    #[test]
    fn relays_of_three_generations_are_trusted() {
        let mut relays = Relays::default();
        assert!(relays.current().is_empty());
        relays.update(vec![relay(1), relay(2)]);
        relays.update(vec![relay(3)]);
        relays.update(vec![]);
        relays.update(vec![relay(4)]);
        assert_eq!(relays.current(), &[relay(4)]);
        for n in [2, 3, 4] {
            assert!(relays.is_relay(relay(n).relay_address), "{n}");
        }
        relays.update(vec![relay(5)]);
        assert!(!relays.is_relay(relay(1).relay_address));
        assert!(
            !relays.is_relay(relay(2).relay_address),
            "four generations back"
        );
    }
}
