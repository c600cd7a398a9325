//! What a peer's `request` and `data` must look like before they reach
//! hypercore. Pure. The crate trusts its input: a request for an upgrade of
//! length near `u64::MAX` overflows inside `create_proof`, a request for a
//! block past the end of the upgrade asked with it panics there, a proof
//! node's length near `u64::MAX` overflows inside `verify_and_apply_proof`
//! (each a panic that poisons the log's lock), a block past the length or a
//! node count past the tree fails deep inside it. So every request is
//! checked against what we hold first, and every proof against what we
//! asked for.

// compat: hypercore row (requests checked before they reach the crate)

use hypercore_protocol::schema::{Data, Request};
use hypercore_schema::Node;

use super::ranges::{RangeSet, MAX_BLOCK};

/// Tree nodes a block request may ask for: a tree of 2^40 blocks is 41
/// levels deep.
pub(crate) const MAX_REQUEST_NODES: u64 = 64;

/// Tree nodes a proof may carry in each of its lists.
pub(crate) const MAX_PROOF_NODES: usize = 256;

/// Bytes of one block a proof may carry.
pub(crate) const MAX_BLOCK_BYTES: usize = 8 * 1024 * 1024;

/// Bytes of one block we send: what we accept (a proof with its nodes
/// stays well under the secret stream's 16 MiB message). A larger block
/// gets a no-data. Chat messages stay under 64 KiB (`domain::message`),
/// but a log may hold any block; a 1 MiB one replicates (the hostile-blocks
/// engine test).
pub(crate) const MAX_SERVED_BYTES: usize = MAX_BLOCK_BYTES;

/// Tree node indexes a proof may name: a tree of `MAX_BLOCK` blocks stays
/// below it. The crate's tree arithmetic on an index near `u64::MAX`
/// overflows.
pub(crate) const MAX_NODE_INDEX: u64 = 4 * MAX_BLOCK;

/// Bytes one tree node may span (256 TiB, far past any log). The crate adds
/// up the lengths of a proof's roots unchecked: a length near `u64::MAX`
/// overflows inside `verify_and_apply_proof`, holding the log's lock, and
/// the log is dead (every later call panics on the poisoned lock).
pub(crate) const MAX_NODE_BYTES: u64 = 1 << 48;

/// Bytes of an upgrade's signature (ed25519).
const SIGNATURE_BYTES: usize = 64;

/// Our side of a log: its signed length and fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Local {
    pub length: u64,
    pub fork: u64,
    /// Our own log: never downloaded, only served.
    pub writable: bool,
}

/// Whether we can answer `request` with a proof. `false` means the
/// protocol's answer is a `no-data`.
pub(crate) fn servable(request: &Request, local: &Local, held: &RangeSet) -> bool {
    if request.fork != local.fork || request.hash.is_some() || request.seek.is_some() {
        return false;
    }
    if request.block.is_none() && request.upgrade.is_none() {
        return false;
    }
    if let Some(block) = &request.block {
        if block.index >= local.length
            || block.nodes > MAX_REQUEST_NODES
            || !held.contains(block.index)
        {
            return false;
        }
    }
    if let Some(upgrade) = &request.upgrade {
        let end = upgrade.start.checked_add(upgrade.length);
        if upgrade.length == 0 || end.is_none_or(|end| end > local.length) {
            return false;
        }
        // A block past the upgrade's end: `create_proof` panics on it
        // (`nodes need to be present`) holding the log's lock, and the log
        // is dead. An honest peer asks for blocks below the length it
        // upgrades to.
        if request
            .block
            .as_ref()
            .is_some_and(|block| end.is_none_or(|end| block.index >= end))
        {
            return false;
        }
    }
    true
}

/// What we asked a peer for, to hold its answer against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Asked {
    pub block: Option<u64>,
    /// The upgrade's start and length.
    pub upgrade: Option<(u64, u64)>,
}

/// Why a proof is refused before it reaches hypercore.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadData {
    #[error("a proof carries what was not asked for")]
    Unasked,
    #[error("a proof lacks what was asked for")]
    Missing,
    #[error("a proof is oversized")]
    Oversized,
}

/// Checks a `data` answer against the request it answers.
pub(crate) fn answers(data: &Data, asked: &Asked) -> Result<(), BadData> {
    if data.hash.is_some() || data.seek.is_some() {
        return Err(BadData::Unasked);
    }
    match (&data.block, asked.block) {
        (Some(block), Some(index)) => {
            if block.index != index {
                return Err(BadData::Unasked);
            }
            if block.value.len() > MAX_BLOCK_BYTES || !nodes_fit(&block.nodes) {
                return Err(BadData::Oversized);
            }
        }
        (Some(_), None) => return Err(BadData::Unasked),
        (None, Some(_)) => return Err(BadData::Missing),
        (None, None) => {}
    }
    match (&data.upgrade, asked.upgrade) {
        (Some(upgrade), Some((start, length))) => {
            if upgrade.start != start || upgrade.length != length {
                return Err(BadData::Unasked);
            }
            if !nodes_fit(&upgrade.nodes)
                || !nodes_fit(&upgrade.additional_nodes)
                || upgrade.signature.len() != SIGNATURE_BYTES
            {
                return Err(BadData::Oversized);
            }
        }
        (Some(_), None) => return Err(BadData::Unasked),
        (None, Some(_)) => return Err(BadData::Missing),
        (None, None) => {}
    }
    Ok(())
}

/// A proof's list of tree nodes is short, and each node within the bounds
/// the crate's arithmetic can take.
fn nodes_fit(nodes: &[Node]) -> bool {
    nodes.len() <= MAX_PROOF_NODES
        && nodes
            .iter()
            .all(|node| node.index < MAX_NODE_INDEX && node.length <= MAX_NODE_BYTES)
}

/// A `data` message answering request `id` with an empty-proof block and/or
/// upgrade: the shape `answers` checks, for tests.
#[cfg(test)]
pub(crate) fn data_answering(id: u64, block: Option<u64>, upgrade: Option<(u64, u64)>) -> Data {
    use hypercore_schema::{DataBlock, DataUpgrade};
    Data {
        request: id,
        fork: 0,
        block: block.map(|index| DataBlock {
            index,
            value: b"{}".to_vec(),
            nodes: vec![],
        }),
        hash: None,
        seek: None,
        upgrade: upgrade.map(|(start, length)| DataUpgrade {
            start,
            length,
            nodes: vec![],
            additional_nodes: vec![],
            signature: vec![0; SIGNATURE_BYTES],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(block: Option<(u64, u64)>, upgrade: Option<(u64, u64)>) -> Request {
        crate::net::compat::frames::test_request(1, block, upgrade)
    }

    #[test]
    fn requests_within_what_we_hold_are_served() {
        let local = Local {
            length: 10,
            fork: 0,
            writable: false,
        };
        let mut held = RangeSet::default();
        held.insert(0, 8);
        // (block (index, nodes), upgrade (start, length), servable)
        let table = [
            (Some((3, 4)), None, true),
            (Some((8, 0)), None, false),
            (Some((10, 0)), None, false),
            (Some((3, 65)), None, false),
            (None, Some((0, 10)), true),
            (None, Some((4, 6)), true),
            (None, Some((4, 7)), false),
            (None, Some((10, 0)), false),
            (None, Some((5, u64::MAX)), false),
            (Some((7, 1)), Some((0, 10)), true),
            (Some((7, 1)), Some((5, 3)), true),
            (Some((7, 1)), Some((0, 7)), false),
            (Some((7, 1)), Some((5, 2)), false),
            (None, None, false),
        ];
        for (block, upgrade, expected) in table {
            assert_eq!(
                servable(&request(block, upgrade), &local, &held),
                expected,
                "block {block:?} upgrade {upgrade:?}"
            );
        }
        let mut forked = request(Some((3, 0)), None);
        forked.fork = 1;
        assert!(!servable(&forked, &local, &held));
    }

    fn data(block: Option<u64>, upgrade: Option<(u64, u64)>) -> Data {
        data_answering(1, block, upgrade)
    }

    #[test]
    fn answers_must_match_their_request() {
        let asked = Asked {
            block: Some(5),
            upgrade: Some((3, 4)),
        };
        assert_eq!(answers(&data(Some(5), Some((3, 4))), &asked), Ok(()));
        assert_eq!(
            answers(&data(Some(6), Some((3, 4))), &asked),
            Err(BadData::Unasked)
        );
        assert_eq!(answers(&data(Some(5), None), &asked), Err(BadData::Missing));
        assert_eq!(
            answers(&data(None, Some((3, 4))), &asked),
            Err(BadData::Missing)
        );
        let block_only = Asked {
            block: Some(5),
            upgrade: None,
        };
        assert_eq!(
            answers(&data(Some(5), Some((3, 4))), &block_only),
            Err(BadData::Unasked)
        );
        let mut big = data(Some(5), None);
        if let Some(block) = big.block.as_mut() {
            block.value = vec![0; MAX_BLOCK_BYTES + 1];
        }
        assert_eq!(answers(&big, &block_only), Err(BadData::Oversized));
    }

    #[test]
    fn nodes_past_what_the_crate_can_add_up_are_oversized() {
        let asked = Asked {
            block: None,
            upgrade: Some((3, 4)),
        };
        let with_node = |index: u64, length: u64| {
            let mut proof = data(None, Some((3, 4)));
            if let Some(upgrade) = proof.upgrade.as_mut() {
                upgrade.nodes.push(Node::new(index, vec![1; 32], length));
            }
            answers(&proof, &asked)
        };
        assert_eq!(with_node(6, 1_000), Ok(()));
        assert_eq!(with_node(6, u64::MAX - 2), Err(BadData::Oversized));
        assert_eq!(with_node(MAX_NODE_INDEX, 1), Err(BadData::Oversized));
    }
}
