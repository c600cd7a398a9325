//! A set of block numbers as a bitmap: one bit per block, so a log of a
//! million blocks costs 122 KiB where a tree set cost tens of megabytes.
//! Pure; grows on insert up to `MAX_SEQ`, past which numbers are refused.

/// Highest block number the set takes: 2^32, far past any chat log, and a
/// bound on what a corrupt file or a peer can make it allocate (512 MiB of
/// bits is never reached by a real log; a number beyond is refused).
pub(crate) const MAX_SEQ: u64 = 1 << 32;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SeqSet {
    words: Vec<u64>,
    len: u64,
}

impl SeqSet {
    /// Adds `seq`; false when it was already there or is past `MAX_SEQ`.
    pub(crate) fn insert(&mut self, seq: u64) -> bool {
        if seq > MAX_SEQ {
            return false;
        }
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let mask = 1u64 << bit;
        if self.words[word] & mask != 0 {
            return false;
        }
        self.words[word] |= mask;
        self.len += 1;
        true
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, seq: u64) -> bool {
        let word = (seq / 64) as usize;
        self.words
            .get(word)
            .is_some_and(|w| w & (1u64 << (seq % 64)) != 0)
    }

    /// How many numbers are in the set.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The lowest number at or above `from` that is not in the set.
    pub(crate) fn next_absent(&self, from: u64) -> u64 {
        let mut seq = from;
        loop {
            let word = (seq / 64) as usize;
            let Some(bits) = self.words.get(word) else {
                return seq;
            };
            // Mark the bits below `seq` in this word as present.
            let below = (1u64 << (seq % 64)) - 1;
            let holes = !(bits | below);
            if holes != 0 {
                return word as u64 * 64 + u64::from(holes.trailing_zeros());
            }
            seq = (word as u64 + 1) * 64;
        }
    }

    /// The highest number below `below` that is not in the set, if any.
    pub(crate) fn prev_absent(&self, below: u64) -> Option<u64> {
        let mut seq = below;
        while seq > 0 {
            let last = seq - 1;
            let word = (last / 64) as usize;
            let Some(bits) = self.words.get(word) else {
                return Some(last);
            };
            // Only the bits at or below `last` count.
            let keep = if last % 64 == 63 {
                u64::MAX
            } else {
                (1u64 << (last % 64 + 1)) - 1
            };
            let holes = !bits & keep;
            if holes != 0 {
                return Some(word as u64 * 64 + 63 - u64::from(holes.leading_zeros()));
            }
            seq = word as u64 * 64;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn inserts_counts_and_finds_holes() {
        let mut set = SeqSet::default();
        assert!(set.is_empty());
        for seq in (0..200).filter(|s| s % 7 != 3) {
            assert!(set.insert(seq));
        }
        assert!(!set.insert(0), "twice");
        assert!(!set.insert(MAX_SEQ + 1), "past the bound");
        assert_eq!(set.next_absent(0), 3);
        assert_eq!(set.next_absent(4), 10);
        assert_eq!(set.next_absent(198), 199, "199 is 3 past a multiple of 7");
        assert_eq!(set.next_absent(200), 200);
        assert_eq!(set.prev_absent(199), Some(192));
        assert_eq!(set.prev_absent(3), None);
        assert_eq!(set.prev_absent(0), None);
    }

    proptest! {
        #[test]
        fn agrees_with_a_tree_set(seqs in proptest::collection::vec(0u64..400, 0..300), probe in 0u64..450) {
            let mut set = SeqSet::default();
            let mut model = BTreeSet::new();
            for seq in seqs {
                prop_assert_eq!(set.insert(seq), model.insert(seq));
            }
            prop_assert_eq!(set.len(), model.len() as u64);
            prop_assert_eq!(set.contains(probe), model.contains(&probe));
            let next = (probe..).find(|s| !model.contains(s)).unwrap();
            prop_assert_eq!(set.next_absent(probe), next);
            let prev = (0..probe).rev().find(|s| !model.contains(s));
            prop_assert_eq!(set.prev_absent(probe), prev);
        }
    }
}
