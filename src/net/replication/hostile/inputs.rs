//! Hostile inputs drawn from a seed: what a hostile peer says first, the
//! kinds of input and their generators (wild numbers, mutated nodes, raw
//! bytes), for the property tests and the fuzz run.

use super::*;

/// What a hostile peer says first: the writer's length, every block held.
pub(crate) fn opening(length: u64) -> Vec<Hostile> {
    vec![
        Hostile::Sync { fork: 0, length },
        Hostile::Range {
            drop: false,
            start: 0,
            length,
        },
    ]
}

/// Brings `core`, a copy of the log of the writer of `seed`, to the
/// writer's first `head` blocks, from an honest peer: a writer of the same
/// seed and fewer blocks has the same key and the same first blocks.
pub(crate) async fn head_start(seed: u64, head: u64, core: &Hypercore) -> Result<(), Broken> {
    let older = Writer::new(seed, head).await?;
    let mut harness = Harness::new(&older, core.clone()).await?;
    harness.complete().await.map(|_| ())
}

/// A number a hostile peer would pick for a field of a log of `length`.
pub(super) fn wild(rng: &mut StdRng, length: u64) -> u64 {
    match rng.gen_range(0..12) {
        0 => 0,
        1 => length,
        2 => length.saturating_sub(1),
        3 => length + 1,
        4 => u64::MAX,
        5 => u64::MAX - rng.gen_range(0..4),
        6 => (1 << 40) + rng.gen_range(0..3) - 1,
        7 => 1 << 63,
        8 => rng.gen(),
        _ => rng.gen_range(0..length.max(1) * 2 + 2),
    }
}

pub(super) fn nodes(rng: &mut StdRng) -> Nodes {
    match rng.gen_range(0..3) {
        0 => Nodes::Block,
        1 => Nodes::Upgrade,
        _ => Nodes::Additional,
    }
}

pub(super) fn mutation(rng: &mut StdRng, length: u64) -> Mutation {
    match rng.gen_range(0..22) {
        0 => Mutation::RequestId(wild(rng, 64)),
        1 => Mutation::Fork(wild(rng, 2).max(1)),
        2 => Mutation::BlockIndex(wild(rng, length)),
        3 | 4 => Mutation::Value {
            at: rng.gen(),
            xor: rng.gen(),
        },
        5 => Mutation::ValueLength(match rng.gen_range(0..64) {
            0 => checks::MAX_BLOCK_BYTES + 1,
            1..=8 => 0,
            _ => rng.gen_range(0..300),
        }),
        6 => Mutation::DropNode(nodes(rng), rng.gen()),
        7 => Mutation::ExtraNode(nodes(rng), wild(rng, length * 2), wild(rng, 200)),
        8 | 9 => Mutation::NodeHash(nodes(rng), rng.gen(), rng.gen()),
        10 => Mutation::NodeIndex(nodes(rng), rng.gen(), wild(rng, length * 2)),
        11 => Mutation::NodeLength(nodes(rng), rng.gen(), wild(rng, 200)),
        12 => Mutation::SwapNodes(nodes(rng), rng.gen(), rng.gen()),
        13 => Mutation::Signature {
            at: rng.gen(),
            xor: rng.gen(),
        },
        14 => Mutation::SignatureLength(rng.gen_range(0..130)),
        15 => Mutation::UpgradeStart(wild(rng, length)),
        16 => Mutation::UpgradeLength(wild(rng, length)),
        17 => Mutation::AddBlock(wild(rng, length)),
        18 => Mutation::AddUpgrade,
        19 => Mutation::DropBlock,
        20 => Mutation::DropUpgrade,
        _ => {
            if rng.gen() {
                Mutation::AddHash(wild(rng, length))
            } else {
                Mutation::AddSeek(wild(rng, 10_000))
            }
        }
    }
}

/// Raw bytes that look a little like a message: a known type first, then
/// fields with signifiers for wide numbers.
pub(super) fn raw_bytes(rng: &mut StdRng) -> Vec<u8> {
    let size = if rng.gen_ratio(1, 50) {
        rng.gen_range(64..2_048)
    } else {
        rng.gen_range(0..48)
    };
    let mut bytes: Vec<u8> = (0..size)
        .map(|_| match rng.gen_range(0..8) {
            0 => 0xfd + rng.gen_range(0..3),
            1 => 0,
            2 => 1,
            _ => rng.gen(),
        })
        .collect();
    if let Some(first) = bytes.first_mut() {
        if rng.gen_ratio(7, 8) {
            *first = rng.gen_range(0..10);
        }
    }
    bytes
}

/// The kinds of hostile input, for tests that dwell on one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Sync, range, bitfield, want and chatter: claims about the log.
    Claim,
    Request,
    NoData,
    /// The writer's proof of an open request, unchanged.
    Honest,
    /// The writer's proof of an open request, mutated.
    Mutated,
    Unasked,
    Raw,
    Mangled,
    Wait,
}

/// One hostile input, weighted toward answers to open requests.
pub(crate) fn arbitrary(rng: &mut StdRng, length: u64) -> Hostile {
    let kind = match rng.gen_range(0..100) {
        0..=13 => Kind::Claim,
        14..=25 => Kind::Request,
        26..=29 => Kind::NoData,
        30..=37 => Kind::Honest,
        38..=74 => Kind::Mutated,
        75..=80 => Kind::Unasked,
        81..=88 => Kind::Raw,
        89..=95 => Kind::Mangled,
        _ => Kind::Wait,
    };
    input_of(kind, rng, length)
}

/// One hostile input of a kind.
pub(crate) fn input_of(kind: Kind, rng: &mut StdRng, length: u64) -> Hostile {
    match kind {
        Kind::Claim => match rng.gen_range(0..14) {
            0..=4 => Hostile::Sync {
                fork: if rng.gen_ratio(1, 8) { wild(rng, 2) } else { 0 },
                length: if rng.gen_ratio(2, 3) {
                    length
                } else {
                    wild(rng, length)
                },
            },
            5..=8 => Hostile::Range {
                drop: rng.gen_ratio(1, 4),
                start: wild(rng, length),
                length: wild(rng, length),
            },
            9..=10 => Hostile::Bitfield {
                start: wild(rng, length),
                words: (0..rng.gen_range(0..6)).map(|_| rng.gen()).collect(),
            },
            11..=12 => Hostile::Want {
                start: wild(rng, length),
                length: wild(rng, length),
            },
            _ => Hostile::Chatter(rng.gen()),
        },
        Kind::Request if rng.gen_ratio(2, 5) => {
            // Plausible: a block of the log with few nodes, or its upgrade.
            let block = rng.gen_range(0..length.max(1));
            Hostile::Request {
                id: rng.gen_range(0..1_000),
                fork: 0,
                block: rng.gen_ratio(3, 4).then(|| (block, rng.gen_range(0..6))),
                hash: None,
                seek: None,
                upgrade: rng.gen_ratio(1, 3).then(|| {
                    (
                        rng.gen_range(0..length.max(1)),
                        rng.gen_range(1..=length.max(1)),
                    )
                }),
            }
        }
        Kind::Request => {
            let maybe = |rng: &mut StdRng, p: u32| rng.gen_ratio(p, 8);
            let block = maybe(rng, 5).then(|| (wild(rng, length), wild(rng, 40)));
            let hash = maybe(rng, 1).then(|| (wild(rng, length), wild(rng, 40)));
            let seek = maybe(rng, 1).then(|| wild(rng, 100_000));
            let upgrade = maybe(rng, 4).then(|| (wild(rng, length), wild(rng, length)));
            let request = Hostile::Request {
                id: wild(rng, 100),
                fork: if rng.gen_ratio(1, 8) { wild(rng, 2) } else { 0 },
                block,
                hash,
                seek,
                upgrade,
            };
            // A quarter arrive truncated.
            let encoded =
                request_of(&request).and_then(|r| Message::Request(r).to_encoded_bytes().ok());
            match encoded {
                Some(bytes) if rng.gen_ratio(1, 4) => {
                    let cut = rng.gen_range(0..bytes.len());
                    Hostile::Raw(bytes[..cut].to_vec())
                }
                _ => request,
            }
        }
        Kind::NoData => Hostile::NoData { pick: rng.gen() },
        Kind::Honest => Hostile::Answer {
            pick: rng.gen(),
            mutations: vec![],
        },
        Kind::Mutated => Hostile::Answer {
            pick: rng.gen(),
            mutations: (0..rng.gen_range(1..4))
                .map(|_| mutation(rng, length))
                .collect(),
        },
        Kind::Unasked => Hostile::Unasked {
            id: wild(rng, 100),
            block: rng.gen_ratio(3, 4).then(|| wild(rng, length)),
        },
        Kind::Raw => Hostile::Raw(raw_bytes(rng)),
        Kind::Mangled => Hostile::Mangled {
            pick: rng.gen(),
            edits: (0..rng.gen_range(0..4))
                .map(|_| (rng.gen(), rng.gen::<u8>().max(1)))
                .collect(),
            cut: rng.gen_ratio(1, 2).then(|| rng.gen_range(0..200)),
        },
        Kind::Wait => Hostile::Wait {
            secs: if rng.gen() { 1 } else { 9 },
        },
    }
}
