//! `hychat record`: the DHT's mutable and immutable records by hand, as a
//! diagnostic. It joins the DHT with an ephemeral node, runs one put or get
//! (`client::records`), and says what it found, one line per step: where a
//! put was stored and refused, or the value a get found and who gave it.

use std::net::SocketAddr;

use ed25519_dalek::SigningKey;

use super::dial::join;
use crate::net::dht::client::records::{self, Found, PutReport};

/// One record operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOp {
    /// Store a value under its hash.
    Put { value: Vec<u8> },
    /// Fetch the value stored under a hash.
    Get { hash: [u8; 32] },
    /// Sign a value at a seq with the key pair of `seed` and store it under
    /// the public key.
    PutMutable {
        seed: [u8; 32],
        seq: u64,
        value: Vec<u8>,
    },
    /// Fetch the newest record of a public key, at least at `seq`.
    GetMutable { public_key: [u8; 32], seq: u64 },
}

/// What an operation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Stored(PutReport),
    Found(Found),
    NotFound,
    /// No DHT node answered at all: the bootstrap nodes are unreachable.
    Unreachable,
}

/// The public key of the key pair `put-mutable` signs with for `seed`.
pub fn public_key_of(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// Joins the DHT through `bootstrap` and runs `op`. `say` gets one line per
/// step. Fails with one sentence when no node can be started.
pub async fn record(
    bind: SocketAddr,
    bootstrap: Vec<SocketAddr>,
    op: RecordOp,
    mut say: impl FnMut(String),
) -> Result<RecordOutcome, String> {
    let node = join(bind, bootstrap, &mut say).await?;
    let outcome = match op {
        RecordOp::Put { value } => {
            RecordOutcome::Stored(records::immutable_put(&node, &value).await)
        }
        RecordOp::PutMutable { seed, seq, value } => {
            let key = SigningKey::from_bytes(&seed);
            RecordOutcome::Stored(records::mutable_put(&node, &key, seq, &value).await)
        }
        RecordOp::Get { hash } => found(records::immutable_get(&node, hash).await),
        RecordOp::GetMutable { public_key, seq } => {
            found(records::mutable_get(&node, public_key, seq).await)
        }
    };
    // A put that no node answered, or a get that found nothing, with a
    // table still empty: not one DHT node was reached.
    let silent = match &outcome {
        RecordOutcome::Stored(report) => report.stored.is_empty() && report.refused.is_empty(),
        RecordOutcome::NotFound => true,
        _ => false,
    };
    if silent && node.table_len() == 0 {
        return Ok(RecordOutcome::Unreachable);
    }
    Ok(outcome)
}

fn found(found: Option<Found>) -> RecordOutcome {
    found.map_or(RecordOutcome::NotFound, RecordOutcome::Found)
}
