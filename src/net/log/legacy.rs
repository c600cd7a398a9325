//! Reading an own log that an earlier hychat kept in hypercore 0.17's files
//! (`oplog`, `tree`, `data`, `bitfield`) without asking hypercore to open
//! them: it panics on a log over 32,768 blocks, and cannot open some logs a
//! crash left behind (see `compat`). Pure functions over the files' bytes;
//! `own` does the IO and the migration.
//!
//! - The key pair is in the oplog's header slots (the first 8 KiB). Rather
//!   than decode the header's layout, we look for its 64-byte secret, which
//!   is a 32-byte seed followed by the public key that seed derives.
//! - The blocks are the `data` file, back to back. Every block of an own log
//!   was written by hychat and is one JSON object, so the file splits into
//!   them exactly; a torn last block (a crash mid-write) is left out.

use std::collections::HashMap;

use hypercore::SigningKey;

/// The oplog's two header slots.
const HEADER_SLOTS: usize = 2 * 4096;

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

/// The blocks of an own log's `data` file: its JSON objects, in order,
/// each exactly as written. Stops at the first bytes that are not one.
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

    proptest! {
        #[test]
        fn any_bytes_are_read_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = signing_key_in_oplog(&bytes);
            let blocks = blocks_in_data(&bytes);
            prop_assert!(blocks.iter().map(|b| b.len()).sum::<usize>() <= bytes.len());
        }
    }
}
