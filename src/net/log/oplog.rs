//! hypercore's oplog format, read correctly, and its entries written back in
//! the one shape the decoder of hypercore 0.17.0-alpha.1 reads correctly
//! (compat: hypercore row).
//!
//! An oplog is two 4,096-byte header slots, then entries. Every header and
//! entry is a record: a CRC-32 of the rest, a word holding the length shifted
//! left by two past a header bit and a partial bit, then the encoded value.
//! An entry starts with a flag byte: 1 user data, 2 tree nodes, 4 a tree
//! upgrade, 8 a bitfield update, each present in that order when flagged.
//!
//! The crate's decoder tests flag 2 for all of the last three, so it misreads
//! every entry that is not "nodes, upgrade and bitfield" together: a block
//! proof without an upgrade, for one, which makes a log killed before its next
//! flush impossible to reopen. `crate_record` writes each entry with all three,
//! supplying the upgrade in force and an empty bitfield update where the entry
//! had none: replaying an upgrade to the length the tree already has, or an
//! empty bitfield update, changes nothing.
//!
//! Everything here reads bytes from disk: it returns `None` on anything it
//! does not understand and never panics.

use compact_encoding::CompactEncoding;

/// The oplog's two header slots come first; its entries start here.
pub(super) const ENTRIES: usize = 2 * 4096;
const SLOT: usize = 4096;
/// Each record is led by a CRC-32 and a length word.
const LEADER: usize = 8;
const FLAG_USER_DATA: u8 = 1;
const FLAG_NODES: u8 = 2;
const FLAG_UPGRADE: u8 = 4;
const FLAG_BITFIELD: u8 = 8;

/// A signed length of the log, as an entry or the header records it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Upgrade {
    pub(super) fork: u64,
    pub(super) ancestors: u64,
    pub(super) length: u64,
    pub(super) signature: Vec<u8>,
}

/// Blocks marked held (or dropped) from `start`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct BitfieldUpdate {
    pub(super) drop: bool,
    pub(super) start: u64,
    pub(super) length: u64,
}

impl BitfieldUpdate {
    /// Changes nothing when replayed.
    const NONE: Self = Self {
        drop: false,
        start: 0,
        length: 0,
    };
}

/// One entry, its tree nodes kept in their encoding.
#[derive(Debug, PartialEq)]
pub(super) struct Entry<'a> {
    pub(super) nodes: &'a [u8],
    pub(super) upgrade: Option<Upgrade>,
    pub(super) bitfield: Option<BitfieldUpdate>,
}

/// One record's value and header bit, if `bytes` starts with a whole record
/// whose checksum matches; and the bytes after it.
pub(super) fn record(bytes: &[u8]) -> Option<(&[u8], bool, &[u8])> {
    let leader = bytes.get(..LEADER)?;
    let checksum = u32::from_le_bytes(leader[..4].try_into().ok()?);
    let word = u32::from_le_bytes(leader[4..].try_into().ok()?);
    let length = (word >> 2) as usize;
    let end = LEADER.checked_add(length)?;
    let covered = bytes.get(4..end)?;
    if length == 0 || crc32fast::hash(covered) != checksum {
        return None;
    }
    Some((&bytes[LEADER..end], word & 1 == 1, &bytes[end..]))
}

/// The value of the header in force: with both slots valid, the first when
/// their header bits agree and the second when they differ, as the crate
/// chooses.
pub(super) fn current_header(oplog: &[u8]) -> Option<&[u8]> {
    let slot = |at: usize| {
        oplog
            .get(at..oplog.len().min(at + SLOT))
            .and_then(record)
            .map(|(value, bit, _)| (value, bit))
    };
    match (slot(0), slot(SLOT)) {
        (Some((first, a)), Some((second, b))) => Some(if a == b { first } else { second }),
        (Some((first, _)), None) => Some(first),
        (None, Some((second, _))) => Some(second),
        (None, None) => None,
    }
}

/// The signed length a header records: version and flags, the key, the
/// manifest, the key pair and user data come before it.
pub(super) fn header_tree(header: &[u8]) -> Option<Upgrade> {
    let rest = header.get(2 + 32..)?;
    // Manifest: version, hash, type, then the signer's type, namespace and key.
    let rest = rest.get(3 + 1 + 32 + 32..)?;
    let (_public, rest) = buffer(rest)?;
    let (_secret, rest) = buffer(rest)?;
    let rest = skip_strings(rest)?;
    let (fork, rest) = varint(rest)?;
    let (length, rest) = varint(rest)?;
    let (_root_hash, rest) = buffer(rest)?;
    let (signature, _) = buffer(rest)?;
    Some(Upgrade {
        fork,
        ancestors: length,
        length,
        signature: signature.to_vec(),
    })
}

/// Decodes one entry's value, as the format (not the crate) defines it.
pub(super) fn decode_entry(value: &[u8]) -> Option<Entry<'_>> {
    let (&flags, mut rest) = value.split_first()?;
    if flags & FLAG_USER_DATA != 0 {
        rest = skip_strings(rest)?;
    }
    let mut nodes: &[u8] = &[];
    if flags & FLAG_NODES != 0 {
        let after = skip_nodes(rest)?;
        nodes = &rest[..rest.len() - after.len()];
        rest = after;
    }
    let mut upgrade = None;
    if flags & FLAG_UPGRADE != 0 {
        let (fork, after) = varint(rest)?;
        let (ancestors, after) = varint(after)?;
        let (length, after) = varint(after)?;
        let (signature, after) = buffer(after)?;
        upgrade = Some(Upgrade {
            fork,
            ancestors,
            length,
            signature: signature.to_vec(),
        });
        rest = after;
    }
    let mut bitfield = None;
    if flags & FLAG_BITFIELD != 0 {
        let (&drop, after) = rest.split_first()?;
        let (start, after) = varint(after)?;
        let (length, _) = varint(after)?;
        bitfield = Some(BitfieldUpdate {
            drop: drop & 1 == 1,
            start,
            length,
        });
    }
    Some(Entry {
        nodes,
        upgrade,
        bitfield,
    })
}

/// One entry as a record the crate reads correctly: nodes (`[0]` for none,
/// an empty list), an upgrade and a bitfield update, always all three.
pub(super) fn crate_record(
    nodes: &[u8],
    upgrade: &Upgrade,
    bitfield: Option<BitfieldUpdate>,
) -> Vec<u8> {
    let bitfield = bitfield.unwrap_or(BitfieldUpdate::NONE);
    let mut value = vec![FLAG_NODES | FLAG_UPGRADE | FLAG_BITFIELD];
    value.extend_from_slice(if nodes.is_empty() { &[0] } else { nodes });
    for number in [upgrade.fork, upgrade.ancestors, upgrade.length] {
        push(&mut value, &number);
    }
    push(&mut value, &upgrade.signature);
    value.push(u8::from(bitfield.drop));
    push(&mut value, &bitfield.start);
    push(&mut value, &bitfield.length);
    let mut record = vec![0; 4];
    record.extend(((value.len() as u32) << 2).to_le_bytes());
    record.extend(value);
    let checksum = crc32fast::hash(&record[4..]);
    record[..4].copy_from_slice(&checksum.to_le_bytes());
    record
}

/// A compact-encoding unsigned integer: one byte below 0xfd, else a marker
/// byte and 2, 4 or 8 little-endian bytes.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (&first, rest) = bytes.split_first()?;
    let width = match first {
        0xfd => 2,
        0xfe => 4,
        0xff => 8,
        small => return Some((u64::from(small), rest)),
    };
    let (number, rest) = (rest.get(..width)?, &rest[width..]);
    let mut le = [0; 8];
    le[..width].copy_from_slice(number);
    Some((u64::from_le_bytes(le), rest))
}

/// A length-prefixed byte string.
fn buffer(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (length, rest) = varint(bytes)?;
    let length = usize::try_from(length).ok()?;
    Some((rest.get(..length)?, &rest[length..]))
}

/// A counted list of strings; counts are checked against the bytes left, so
/// a hostile count allocates nothing.
fn skip_strings(bytes: &[u8]) -> Option<&[u8]> {
    let (count, mut rest) = varint(bytes)?;
    for _ in 0..count {
        rest = buffer(rest)?.1;
    }
    Some(rest)
}

/// A counted list of tree nodes: index, size, then a 32-byte hash each.
fn skip_nodes(bytes: &[u8]) -> Option<&[u8]> {
    let (count, mut rest) = varint(bytes)?;
    for _ in 0..count {
        let (_index, after) = varint(rest)?;
        let (_size, after) = varint(after)?;
        rest = after.get(32..)?;
    }
    Some(rest)
}

fn push(out: &mut Vec<u8>, value: &impl CompactEncoding) {
    if let Ok(bytes) = value.to_encoded_bytes() {
        out.extend_from_slice(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn upgrade(length: u64) -> Upgrade {
        Upgrade {
            fork: 0,
            ancestors: length,
            length,
            signature: vec![7; 64],
        }
    }

    #[test]
    fn a_written_entry_reads_back_whole() {
        let record_bytes = crate_record(
            &[],
            &upgrade(40_000),
            Some(BitfieldUpdate {
                drop: false,
                start: 32_768,
                length: 7_232,
            }),
        );
        let (value, _, rest) = record(&record_bytes).unwrap();
        assert!(rest.is_empty());
        let entry = decode_entry(value).unwrap();
        assert_eq!(entry.nodes, &[0]);
        assert_eq!(entry.upgrade, Some(upgrade(40_000)));
        assert_eq!(
            entry.bitfield,
            Some(BitfieldUpdate {
                drop: false,
                start: 32_768,
                length: 7_232
            })
        );
    }

    proptest! {
        #[test]
        fn no_bytes_make_the_readers_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = record(&bytes);
            let _ = decode_entry(&bytes);
            let _ = header_tree(&bytes);
            let _ = current_header(&bytes);
        }

        #[test]
        fn entries_round_trip(
            length in any::<u64>(),
            fork in any::<u64>(),
            update in proptest::option::of((any::<bool>(), any::<u64>(), any::<u64>())),
        ) {
            let up = Upgrade { fork, ancestors: length / 2, length, signature: vec![1; 64] };
            let bitfield = update.map(|(drop, start, length)| BitfieldUpdate { drop, start, length });
            let bytes = crate_record(&[], &up, bitfield);
            let (value, _, _) = record(&bytes).unwrap();
            let entry = decode_entry(value).unwrap();
            prop_assert_eq!(entry.upgrade, Some(up));
            prop_assert_eq!(entry.bitfield, Some(bitfield.unwrap_or(BitfieldUpdate::NONE)));
        }
    }
}
