//! The client side of hyperdht's mutable and immutable records, as JS
//! hyperdht's `immutablePut/Get` and `mutablePut/Get` run them: a query of
//! the GET command for the record's target (which also collects each
//! node's token), then, for a put, the PUT to each of the closest nodes
//! that gave a token. A get takes the first value that hashes to the
//! target (immutable) or the highest seq whose signature holds (mutable):
//! nothing a node answers is believed without its proof.

use std::net::SocketAddrV4;

use ed25519_dalek::SigningKey;

use crate::net::dht::encoding::crypto::hash;
use crate::net::dht::encoding::records::{
    encode_seq, sign_mutable, verify_mutable, MutablePut, MutableRecord, IMMUTABLE_GET,
    IMMUTABLE_PUT, MUTABLE_GET, MUTABLE_PUT, SEQ_REUSED, SEQ_TOO_LOW,
};
use crate::net::dht::encoding::wire::{Request, INVALID_TOKEN, UNKNOWN_COMMAND};
use crate::net::dht::kademlia::rpc::{Answer, ATTEMPTS};
use crate::net::dht::kademlia::service::{closest_with_tokens, DhtNode};
use crate::net::dht::kademlia::table::K;

/// What a put came to: the nodes that stored it and those that refused
/// it, with the error code each answered (none when a node stayed silent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutReport {
    pub target: [u8; 32],
    pub stored: Vec<SocketAddrV4>,
    pub refused: Vec<(SocketAddrV4, Option<u64>)>,
}

impl PutReport {
    /// Why a node did not store the put, in words: its error code, or
    /// `None` for a node that did not answer.
    pub fn refusal(error: Option<u64>) -> String {
        match error {
            None => "no answer".into(),
            Some(SEQ_REUSED) => "the seq is in use with another value (SEQ_REUSED)".into(),
            Some(SEQ_TOO_LOW) => "a higher seq is stored (SEQ_TOO_LOW)".into(),
            Some(UNKNOWN_COMMAND) => "it does not keep records (UNKNOWN_COMMAND)".into(),
            Some(INVALID_TOKEN) => "our token was refused (INVALID_TOKEN)".into(),
            Some(code) => format!("error {code}"),
        }
    }
}

/// A value found, and the node that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub value: Vec<u8>,
    /// The record's seq (0 for an immutable value).
    pub seq: u64,
    pub from: SocketAddrV4,
}

/// Stores `value` under its hash on the nodes closest to it.
pub(crate) async fn immutable_put(node: &DhtNode, value: &[u8]) -> PutReport {
    let target = hash(&[value]);
    let answers = node.query(IMMUTABLE_GET, target, None).await;
    commit(node, target, answers, IMMUTABLE_PUT, value.to_vec()).await
}

/// The value stored under `target`, from the first node whose answer
/// hashes to it.
pub(crate) async fn immutable_get(node: &DhtNode, target: [u8; 32]) -> Option<Found> {
    let answers = node.query(IMMUTABLE_GET, target, None).await;
    answers.into_iter().find_map(|answer| {
        let value = answer.reply.value?;
        (hash(&[&value]) == target).then_some(Found {
            value,
            seq: 0,
            from: answer.from,
        })
    })
}

/// Signs `value` at `seq` with `key` and stores it under the hash of the
/// public key on the nodes closest to it.
pub(crate) async fn mutable_put(
    node: &DhtNode,
    key: &SigningKey,
    seq: u64,
    value: &[u8],
) -> PutReport {
    let public_key = key.verifying_key().to_bytes();
    let target = hash(&[&public_key]);
    let put = MutablePut {
        public_key,
        record: MutableRecord {
            seq,
            value: value.to_vec(),
            signature: sign_mutable(seq, value, key),
        },
    };
    let answers = node.query(MUTABLE_GET, target, Some(encode_seq(0))).await;
    commit(node, target, answers, MUTABLE_PUT, put.encode()).await
}

/// The record of `public_key` with the highest seq (at least `seq`) whose
/// signature holds.
pub(crate) async fn mutable_get(node: &DhtNode, public_key: [u8; 32], seq: u64) -> Option<Found> {
    let target = hash(&[&public_key]);
    let answers = node.query(MUTABLE_GET, target, Some(encode_seq(seq))).await;
    answers
        .into_iter()
        .filter_map(|answer| {
            let record = MutableRecord::decode(answer.reply.value.as_deref()?).ok()?;
            let holds = record.seq >= seq
                && verify_mutable(&public_key, record.seq, &record.value, &record.signature);
            holds.then_some(Found {
                value: record.value,
                seq: record.seq,
                from: answer.from,
            })
        })
        .max_by_key(|found| found.seq)
}

/// Sends the put to each of the `K` closest answers that carry a token and
/// an id, as dht-rpc's query commits, and sorts out who stored it.
async fn commit(
    node: &DhtNode,
    target: [u8; 32],
    answers: Vec<Answer>,
    command: u64,
    value: Vec<u8>,
) -> PutReport {
    let answers = closest_with_tokens(answers, &target, K);
    let rpc = node.rpc();
    let rounds = answers.into_iter().map(|answer| {
        let request = Request {
            token: answer.reply.token,
            target: Some(target),
            value: Some(value.clone()),
            ..Request::new(0, answer.from, false, command)
        };
        async move {
            let result = rpc.request(request, answer.from, ATTEMPTS).await;
            (answer.from, result.ok().map(|acked| acked.reply.error))
        }
    });
    let mut report = PutReport {
        target,
        ..PutReport::default()
    };
    for (from, error) in futures::future::join_all(rounds).await {
        match error {
            Some(0) => report.stored.push(from),
            other => report.refused.push((from, other)),
        }
    }
    report
}
