//! Reading an own log that an earlier hychat kept in hypercore 0.17's files
//! (`oplog`, `tree`, `data`, `bitfield`) without asking hypercore to open
//! them: it panics on a log over 32,768 blocks, and cannot open some logs a
//! crash left behind (compat: hypercore row). Pure functions over the files' bytes;
//! `own` does the IO and the migration.
//!
//! - The key pair is in the oplog's header slots (the first 8 KiB). Rather
//!   than decode the header's layout, we look for its 64-byte secret, which
//!   is a 32-byte seed followed by the public key that seed derives.
//! - The blocks are the `data` file, back to back, each as long as its leaf
//!   in the `tree` file says. Past the last leaf written (a crash can keep
//!   tree nodes from the disk), every block of an own log was written by
//!   hychat and is one JSON object, so the rest splits into them; a torn last
//!   block is left out.
//!
//! `own` asks hypercore to open the files first, and reads them here only
//! when it cannot.

use std::collections::HashMap;

use hypercore::SigningKey;

/// The oplog's two header slots.
pub(crate) const HEADER_SLOTS: usize = 2 * 4096;

/// The signing key whose seed and public key lie side by side in the
/// oplog's header slots, if there is one.
pub(crate) fn signing_key_in_oplog(oplog: &[u8]) -> Option<SigningKey> {
    let header = &oplog[..oplog.len().min(HEADER_SLOTS)];
    if header.len() < 64 {
        return None;
    }
    // The public key appears more than once in a header (as the log's key,
    // in the key pair, and as the secret's second half): only positions
    // followed by a repeated 32-byte window are worth deriving a key for.
    let mut seen: HashMap<&[u8], u32> = HashMap::new();
    for window in header.windows(32) {
        *seen.entry(window).or_default() += 1;
    }
    (0..=header.len() - 64).find_map(|at| {
        let public = &header[at + 32..at + 64];
        if seen.get(public).copied().unwrap_or(0) < 2 || public.iter().all(|b| *b == 0) {
            return None;
        }
        let seed: [u8; 32] = header[at..at + 32].try_into().ok()?;
        let key = SigningKey::from_bytes(&seed);
        (key.verifying_key().as_bytes() == public).then_some(key)
    })
}

/// The blocks of an own log's files: as many as the `tree` file's leaves
/// give sizes for (leaf `i` is node `2i`, 40 bytes at `80 i`: its size as a
/// little-endian u64, then its hash; a leaf never written is all zeros),
/// then the JSON objects in the rest of `data` (blocks whose tree nodes a
/// crash kept from being written).
pub(crate) fn blocks_in_files<'a>(tree: &[u8], data: &'a [u8]) -> Vec<&'a [u8]> {
    let mut blocks = Vec::new();
    let mut at = 0usize;
    for leaf in tree.chunks_exact(80) {
        let node = &leaf[..40];
        if node[8..].iter().all(|b| *b == 0) {
            break;
        }
        let size = u64::from_le_bytes(node[..8].try_into().unwrap_or_default());
        let Some(end) = usize::try_from(size).ok().and_then(|s| at.checked_add(s)) else {
            break;
        };
        let Some(block) = data.get(at..end) else {
            break;
        };
        blocks.push(block);
        at = end;
    }
    blocks.extend(blocks_in_data(&data[at..]));
    blocks
}

/// The JSON objects of (part of) an own log's `data` file, in order, each
/// exactly as written. Stops at the first bytes that are not one.
pub(crate) fn blocks_in_data(data: &[u8]) -> Vec<&[u8]> {
    let mut blocks = Vec::new();
    let mut stream =
        serde_json::Deserializer::from_slice(data).into_iter::<serde::de::IgnoredAny>();
    let mut start = 0;
    while let Some(Ok(_)) = stream.next() {
        let end = stream.byte_offset();
        let raw = &data[start..end];
        // Separating whitespace is not part of a block (hychat writes none).
        let trimmed = raw.trim_ascii_start();
        if !trimmed.starts_with(b"{") {
            break;
        }
        blocks.push(trimmed);
        start = end;
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_key_pair_is_found_wherever_it_sits() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = key.verifying_key().to_bytes();
        let mut header = vec![3u8; 600];
        header[10..42].copy_from_slice(&public);
        header[300..332].copy_from_slice(&[7; 32]);
        header[332..364].copy_from_slice(&public);
        let found = signing_key_in_oplog(&header).unwrap();
        assert_eq!(found.to_bytes(), key.to_bytes());
        assert!(signing_key_in_oplog(&[3u8; 600]).is_none());
        assert!(signing_key_in_oplog(&[]).is_none());
    }

    #[test]
    fn data_splits_into_its_json_blocks_and_drops_a_torn_one() {
        let data = br#"{"a":1}{"b":"}{"}{"c":[1,2]}{"torn":"#;
        assert_eq!(
            blocks_in_data(data),
            vec![&br#"{"a":1}"#[..], br#"{"b":"}{"}"#, br#"{"c":[1,2]}"#]
        );
        assert!(blocks_in_data(b"").is_empty());
        assert!(blocks_in_data(b"[1]{}").is_empty());
    }

    #[test]
    fn tree_leaves_give_the_sizes_then_json_takes_over() {
        let mut tree = vec![0u8; 80 * 3];
        for (i, size) in [3u64, 4].iter().enumerate() {
            tree[80 * i..80 * i + 8].copy_from_slice(&size.to_le_bytes());
            tree[80 * i + 8..80 * i + 40].copy_from_slice(&[1; 32]);
        }
        let data = b"abcde\x00f{\"x\":1}{\"to";
        assert_eq!(
            blocks_in_files(&tree, data),
            vec![&b"abc"[..], b"de\x00f", br#"{"x":1}"#]
        );
        assert_eq!(
            blocks_in_files(&[], br#"{"a":1}"#),
            vec![&br#"{"a":1}"#[..]]
        );
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = signing_key_in_oplog(&bytes);
            let _ = blocks_in_files(&bytes, &bytes);
            let blocks = blocks_in_data(&bytes);
            prop_assert!(blocks.iter().map(|b| b.len()).sum::<usize>() <= bytes.len());
        }
    }
}
