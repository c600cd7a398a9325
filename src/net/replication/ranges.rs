//! A set of block numbers as sorted, disjoint, half-open ranges: what a peer
//! says it holds of a log (from its `range` and `bitfield` messages), and
//! what we hold. Pure. A peer's claims are untrusted, so the set is bounded:
//! every number is below `MAX_BLOCK`, and past `MAX_RANGES` separate runs the
//! smallest runs are forgotten (a claim forgotten costs a `want` or a no-data
//! later, never a wrong block: every block is verified).

use std::collections::BTreeMap;
use std::ops::Range;

/// Highest block number kept: 2^40, far past any chat log, and a bound on
/// the arithmetic a hostile `start + length` can push.
pub(crate) const MAX_BLOCK: u64 = 1 << 40;

/// Separate runs kept per set.
pub(crate) const MAX_RANGES: usize = 4096;

/// Sorted disjoint ranges, keyed by start.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RangeSet {
    runs: BTreeMap<u64, u64>,
}

/// Clips `start..start+length` to `0..MAX_BLOCK`, or `None` when empty.
fn clip(start: u64, length: u64) -> Option<Range<u64>> {
    let end = start.saturating_add(length).min(MAX_BLOCK);
    (start < end).then_some(start..end)
}

impl RangeSet {
    /// Adds `start..start + length` (clipped to `MAX_BLOCK`).
    pub(crate) fn insert(&mut self, start: u64, length: u64) {
        let Some(Range { mut start, mut end }) = clip(start, length) else {
            return;
        };
        // Merge with a run that starts before and reaches `start`.
        if let Some((&s, &e)) = self.runs.range(..=start).next_back() {
            if e >= start {
                if e >= end {
                    return;
                }
                start = s;
                self.runs.remove(&s);
            }
        }
        // Swallow every run that starts within the new one.
        let inside: Vec<(u64, u64)> = self
            .runs
            .range(start..=end)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in inside {
            self.runs.remove(&s);
            end = end.max(e);
        }
        self.runs.insert(start, end);
        self.bound();
    }

    /// Removes `start..start + length`.
    pub(crate) fn remove(&mut self, start: u64, length: u64) {
        let Some(Range { start, end }) = clip(start, length) else {
            return;
        };
        if let Some((&s, &e)) = self.runs.range(..start).next_back() {
            if e > start {
                self.runs.insert(s, start);
                if e > end {
                    self.runs.insert(end, e);
                }
            }
        }
        let inside: Vec<(u64, u64)> = self.runs.range(start..end).map(|(&s, &e)| (s, e)).collect();
        for (s, e) in inside {
            self.runs.remove(&s);
            if e > end {
                self.runs.insert(end, e);
            }
        }
    }

    /// Forgets the shortest runs past `MAX_RANGES`.
    fn bound(&mut self) {
        while self.runs.len() > MAX_RANGES {
            let Some((&s, _)) = self.runs.iter().min_by_key(|(&s, &e)| (e - s, s)) else {
                return;
            };
            self.runs.remove(&s);
        }
    }

    pub(crate) fn contains(&self, block: u64) -> bool {
        self.runs
            .range(..=block)
            .next_back()
            .is_some_and(|(_, &e)| e > block)
    }

    /// The end of the run that starts at 0: every block below it is held.
    pub(crate) fn prefix(&self) -> u64 {
        self.runs.get(&0).copied().unwrap_or(0)
    }

    /// The end of the highest run: no block at or past it is held.
    pub(crate) fn end(&self) -> u64 {
        self.runs.values().next_back().copied().unwrap_or(0)
    }

    /// The runs, lowest first.
    pub(crate) fn runs(&self) -> impl DoubleEndedIterator<Item = Range<u64>> + '_ {
        self.runs.iter().map(|(&s, &e)| s..e)
    }

    /// The runs that meet `range`, clipped to it, lowest first.
    pub(crate) fn within(&self, range: Range<u64>) -> Vec<Range<u64>> {
        let first = self
            .runs
            .range(..=range.start)
            .next_back()
            .map_or(range.start, |(&s, _)| s);
        self.runs
            .range(first..range.end)
            .map(|(&s, &e)| s.max(range.start)..e.min(range.end))
            .filter(|r| r.start < r.end)
            .collect()
    }

    /// Blocks below `below` that are not in the set, highest first.
    pub(crate) fn gaps_below(&self, below: u64) -> impl Iterator<Item = Range<u64>> + '_ {
        let mut top = below.min(MAX_BLOCK);
        let mut runs = self.runs.range(..below).rev();
        let mut done = false;
        std::iter::from_fn(move || loop {
            if done || top == 0 {
                return None;
            }
            match runs.next() {
                Some((&s, &e)) => {
                    let e = e.min(top);
                    let gap = e..top;
                    top = s.min(top);
                    if gap.start < gap.end {
                        return Some(gap);
                    }
                }
                None => {
                    done = true;
                    return Some(0..top);
                }
            }
        })
    }
}

/// The runs of set bits in a `bitfield` message: bit `i` of word `w` stands
/// for block `start + 32 * w + i`. Runs past `MAX_BLOCK` are dropped.
pub(crate) fn bitfield_runs(start: u64, words: &[u32]) -> Vec<Range<u64>> {
    let mut runs: Vec<Range<u64>> = Vec::new();
    for (w, &word) in words.iter().enumerate() {
        if word == 0 {
            continue;
        }
        for bit in 0..32u64 {
            if word & (1 << bit) == 0 {
                continue;
            }
            let Some(block) = start
                .checked_add(32 * w as u64)
                .and_then(|b| b.checked_add(bit))
                .filter(|b| *b < MAX_BLOCK)
            else {
                return runs;
            };
            match runs.last_mut() {
                Some(last) if last.end == block => last.end += 1,
                _ => runs.push(block..block + 1),
            }
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn set(runs: &[(u64, u64)]) -> RangeSet {
        let mut set = RangeSet::default();
        for &(s, l) in runs {
            set.insert(s, l);
        }
        set
    }

    #[test]
    fn inserts_merge_and_removes_split() {
        let mut s = set(&[(0, 5), (10, 5), (5, 5)]);
        assert_eq!(s.runs().collect::<Vec<_>>(), vec![0..15]);
        assert_eq!(s.prefix(), 15);
        s.remove(3, 4);
        assert_eq!(s.runs().collect::<Vec<_>>(), vec![0..3, 7..15]);
        assert!(s.contains(2) && !s.contains(3) && s.contains(7) && !s.contains(15));
        assert_eq!(s.end(), 15);
        assert_eq!(s.within(2..9), vec![2..3, 7..9]);
    }

    #[test]
    fn gaps_come_highest_first() {
        let s = set(&[(2, 3), (8, 1)]);
        assert_eq!(
            s.gaps_below(12).collect::<Vec<_>>(),
            vec![9..12, 5..8, 0..2]
        );
        assert_eq!(s.gaps_below(4).collect::<Vec<_>>(), vec![0..2]);
        assert_eq!(
            RangeSet::default().gaps_below(3).collect::<Vec<_>>(),
            vec![0..3]
        );
        assert_eq!(set(&[(0, 3)]).gaps_below(3).count(), 0);
    }

    #[test]
    fn hostile_claims_stay_bounded() {
        let mut s = RangeSet::default();
        s.insert(u64::MAX - 1, u64::MAX);
        s.insert(MAX_BLOCK - 1, 10);
        assert_eq!(s.end(), MAX_BLOCK);
        for i in 0..(MAX_RANGES as u64 + 100) {
            s.insert(i * 2, 1);
        }
        assert!(s.runs().count() <= MAX_RANGES);
        assert!(s.contains(MAX_BLOCK - 1), "the longest runs are kept");
    }

    #[test]
    fn bitfields_become_runs() {
        assert_eq!(
            bitfield_runs(64, &[0b1011, 0, 1]),
            vec![64..66, 67..68, 128..129]
        );
        assert_eq!(
            bitfield_runs(0, &[u32::MAX, u32::MAX]),
            vec![0..64],
            "runs continue across words"
        );
        assert!(bitfield_runs(u64::MAX - 3, &[u32::MAX]).is_empty());
    }

    proptest! {
        #[test]
        fn behaves_like_a_set_of_numbers(
            ops in proptest::collection::vec((any::<bool>(), 0u64..200, 0u64..40), 0..60),
        ) {
            let mut ranges = RangeSet::default();
            let mut model = BTreeSet::new();
            for (add, start, length) in ops {
                if add {
                    ranges.insert(start, length);
                    model.extend(start..start + length);
                } else {
                    ranges.remove(start, length);
                    for b in start..start + length {
                        model.remove(&b);
                    }
                }
            }
            for b in 0..260 {
                prop_assert_eq!(ranges.contains(b), model.contains(&b), "block {}", b);
            }
            let runs: Vec<_> = ranges.runs().collect();
            for pair in runs.windows(2) {
                prop_assert!(pair[0].end < pair[1].start, "runs are disjoint and apart");
            }
            let gaps: BTreeSet<u64> = ranges.gaps_below(250).flatten().collect();
            let expected: BTreeSet<u64> = (0..250).filter(|b| !model.contains(b)).collect();
            prop_assert_eq!(gaps, expected);
        }

        #[test]
        fn any_claim_is_safe(start in any::<u64>(), length in any::<u64>(), words in proptest::collection::vec(any::<u32>(), 0..8)) {
            let mut ranges = RangeSet::default();
            ranges.insert(start, length);
            ranges.remove(start / 2, length / 2);
            for run in bitfield_runs(start, &words) {
                ranges.insert(run.start, run.end - run.start);
            }
            prop_assert!(ranges.end() <= MAX_BLOCK);
        }
    }
}
