//! What a hostile input becomes before the replicator sees it: the request
//! it stands for, made-up data, tree nodes to mutate, and bytes passed
//! through the real wire decoder (catching its panics).

use super::*;

/// The request a `Hostile::Request` stands for.
pub(super) fn request_of(input: &Hostile) -> Option<Request> {
    let Hostile::Request {
        id,
        fork,
        block,
        hash,
        seek,
        upgrade,
    } = input
    else {
        return None;
    };
    Some(Request {
        id: *id,
        fork: *fork,
        block: block.map(|(index, nodes)| RequestBlock { index, nodes }),
        hash: hash.map(|(index, nodes)| RequestBlock { index, nodes }),
        seek: seek.map(|bytes| RequestSeek { bytes }),
        upgrade: upgrade.map(|(start, length)| RequestUpgrade { start, length }),
        manifest: false,
        priority: 0,
    })
}

/// What an input gives the replication.
pub(super) enum Fed {
    Message(Box<Message>),
    /// Nothing to feed (time passed).
    Nothing,
    Undecodable,
    Unsafe,
}

pub(super) fn nodes_of(data: &mut Data, list: Nodes) -> Option<&mut Vec<Node>> {
    match list {
        Nodes::Block => data.block.as_mut().map(|b| &mut b.nodes),
        Nodes::Upgrade => data.upgrade.as_mut().map(|u| &mut u.nodes),
        Nodes::Additional => data.upgrade.as_mut().map(|u| &mut u.additional_nodes),
    }
}

pub(super) fn node_of(data: &mut Data, list: Nodes, at: usize) -> Option<&mut Node> {
    let nodes = nodes_of(data, list)?;
    if nodes.is_empty() {
        return None;
    }
    let at = at % nodes.len();
    nodes.get_mut(at)
}

/// A tree node as the wire decodes it. Its parent is worked out from its
/// index by `flat_tree`, which overflows in debug builds on an index with
/// 62 or more trailing ones, so such an index is kept only in release.
pub(super) fn node(index: u64, hash: Vec<u8>, length: u64) -> Node {
    let index = if cfg!(debug_assertions) && index.trailing_ones() >= 62 {
        index & !(1 << 61)
    } else {
        index
    };
    Node::new(index, hash, length)
}

/// Data with the asked fields and made-up proofs.
pub(super) fn fake_data(id: u64, block: Option<u64>, upgrade: Option<(u64, u64)>) -> Data {
    Data {
        request: id,
        fork: 0,
        block: block.map(|index| DataBlock {
            index,
            value: b"{\"type\":\"chat-message\",\"text\":\"forged\"}".to_vec(),
            nodes: vec![node(index.wrapping_mul(2), vec![3; 32], 40)],
        }),
        hash: None,
        seek: None,
        upgrade: upgrade.map(|(start, length)| DataUpgrade {
            start,
            length,
            nodes: vec![node(0, vec![5; 32], 40)],
            additional_nodes: vec![],
            signature: vec![9; 64],
        }),
    }
}

/// A message as the peer would put it on the wire: encoded, changed,
/// and decoded again. What does not decode is dropped, as the protocol does.
pub(super) fn through_wire(message: &Message, edits: &[(usize, u8)], cut: Option<usize>) -> Fed {
    let Ok(bytes) = message.to_encoded_bytes() else {
        return Fed::Undecodable;
    };
    let mut bytes = bytes.into_vec();
    for &(at, xor) in edits {
        if !bytes.is_empty() {
            let at = at % bytes.len();
            bytes[at] ^= xor;
        }
    }
    if let Some(cut) = cut {
        bytes.truncate(cut);
    }
    decode_hostile(&bytes)
}

/// Decodes bytes from a peer with the protocol's decoder, as the connection
/// does, unless the decoder would reserve more memory for them than
/// `SAFE_RESERVATION` (`wire_reservation`).
pub(super) fn decode_hostile(bytes: &[u8]) -> Fed {
    if wire_reservation(bytes) > SAFE_RESERVATION {
        return Fed::Unsafe;
    }
    match std::panic::catch_unwind(|| Message::decode(bytes)) {
        Ok(Ok((message, _))) => Fed::Message(Box::new(message)),
        Ok(Err(_)) => Fed::Undecodable,
        // The crate's decoder panicked (debug builds: `flat_tree` on a node
        // index with 62 trailing ones): the protocol task would die, not
        // the replicator.
        Err(_) => {
            DECODER_PANICS.with(|p| p.set(p.get() + 1));
            Fed::Unsafe
        }
    }
}
