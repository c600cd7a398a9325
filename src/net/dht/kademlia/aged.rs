//! A map from 32-byte keys to values that each live a fixed time from
//! their last write, capped in count and, optionally, in the bytes its
//! values hold: when full, the oldest entry gives way. It is how our node
//! keeps what JS hyperdht keeps in its size- and age-bounded caches
//! (`xache`): the bumps of announced targets, and the mutable and
//! immutable records.
//!
//! Pure: every call takes `now`. JS's cache forgets an entry between 2/3
//! and 4/3 of its age after the entry was last touched (two generations
//! turned every 2/3 of the age); this one forgets it exactly `ttl` after
//! its last write, which keeps an entry at least as long as JS promises
//! the shortest.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Orders entries by age; the counter breaks ties between equal instants.
type Stamp = (Instant, u64);

/// An entry's weight against the byte budget.
pub(crate) trait Weigh {
    fn weight(&self) -> usize;
}

impl Weigh for u64 {
    fn weight(&self) -> usize {
        0
    }
}

impl Weigh for Vec<u8> {
    fn weight(&self) -> usize {
        self.len()
    }
}

/// How much an `Aged` map may hold, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    /// Entries at most.
    pub(crate) entries: usize,
    /// Bytes of values at most (`Weigh`), all entries together.
    pub(crate) bytes: usize,
    /// How long an entry lives after its last write.
    pub(crate) ttl: Duration,
}

#[derive(Debug, Clone)]
pub(crate) struct Aged<V> {
    bounds: Bounds,
    entries: HashMap<[u8; 32], (V, Stamp)>,
    order: BTreeMap<Stamp, [u8; 32]>,
    bytes: usize,
    counter: u64,
}

impl<V: Weigh> Aged<V> {
    pub(crate) fn new(bounds: Bounds) -> Self {
        Aged {
            bounds,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            bytes: 0,
            counter: 0,
        }
    }

    /// The value of `key`, if it was written less than `ttl` ago.
    pub(crate) fn get(&self, key: &[u8; 32], now: Instant) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|(_, stamp)| self.fresh(*stamp, now))
            .map(|(value, _)| value)
    }

    /// Writes `value` under `key`, which lives `ttl` from `now`. The oldest
    /// entries give way until it fits; a value heavier than the whole budget
    /// is not kept (false).
    pub(crate) fn insert(&mut self, key: [u8; 32], value: V, now: Instant) -> bool {
        self.remove(&key);
        let weight = value.weight();
        if weight > self.bounds.bytes || self.bounds.entries == 0 {
            return false;
        }
        while self.entries.len() >= self.bounds.entries || self.bytes + weight > self.bounds.bytes {
            let Some((_, &oldest)) = self.order.first_key_value() else {
                break;
            };
            self.remove(&oldest);
        }
        self.counter = self.counter.wrapping_add(1);
        let stamp = (now, self.counter);
        self.order.insert(stamp, key);
        self.bytes += weight;
        self.entries.insert(key, (value, stamp));
        true
    }

    pub(crate) fn remove(&mut self, key: &[u8; 32]) -> Option<V> {
        let (value, stamp) = self.entries.remove(key)?;
        self.order.remove(&stamp);
        self.bytes -= value.weight();
        Some(value)
    }

    /// Drops every entry older than `ttl`.
    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some((&stamp, &key)) = self.order.first_key_value() {
            if self.fresh(stamp, now) {
                break;
            }
            self.remove(&key);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of values held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    fn fresh(&self, stamp: Stamp, now: Instant) -> bool {
        now.saturating_duration_since(stamp.0) < self.bounds.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn key(n: u8) -> [u8; 32] {
        [n; 32]
    }

    fn bounds(entries: usize, bytes: usize) -> Bounds {
        Bounds {
            entries,
            bytes,
            ttl: HOUR,
        }
    }

    #[test]
    fn an_entry_lives_its_ttl_from_its_last_write() {
        let t0 = Instant::now();
        let mut map = Aged::new(bounds(4, 100));
        map.insert(key(1), vec![1], t0);
        assert_eq!(
            map.get(&key(1), t0 + HOUR - Duration::from_millis(1)),
            Some(&vec![1])
        );
        assert_eq!(map.get(&key(1), t0 + HOUR), None);
        map.insert(key(1), vec![2], t0 + HOUR / 2);
        assert_eq!(map.get(&key(1), t0 + HOUR), Some(&vec![2]));
        map.expire(t0 + HOUR * 2);
        assert_eq!(map.len(), 0);
        assert_eq!(map.bytes(), 0);
    }

    #[test]
    fn the_oldest_gives_way_to_the_count_and_the_byte_budget() {
        let t0 = Instant::now();
        let mut map = Aged::new(bounds(3, 10));
        for n in 0..4u8 {
            map.insert(key(n), vec![n], t0 + Duration::from_secs(u64::from(n)));
        }
        assert_eq!(map.len(), 3);
        assert_eq!(map.get(&key(0), t0), None, "the oldest went first");
        // Nine bytes beside three of one: the count and then the budget
        // push out the two oldest.
        assert!(map.insert(key(9), vec![0; 9], t0 + Duration::from_secs(9)));
        assert_eq!(map.len(), 2);
        assert_eq!(map.bytes(), 10);
        assert!(map.get(&key(3), t0 + Duration::from_secs(9)).is_some());
        assert!(
            !map.insert(key(10), vec![0; 11], t0),
            "heavier than the budget"
        );
        assert_eq!(map.get(&key(10), t0), None);
    }

    proptest! {
        /// Whatever is written, the map holds at most its bounds, and its
        /// byte count is the sum of what it holds.
        #[test]
        fn bounds_hold(ops in proptest::collection::vec((0u8..16, 0usize..40, 0u64..10_000), 1..200)) {
            let t0 = Instant::now();
            let mut map = Aged::new(Bounds { entries: 8, bytes: 100, ttl: Duration::from_secs(3600) });
            for (k, len, at) in ops {
                let now = t0 + Duration::from_secs(at);
                if len == 0 {
                    map.remove(&key(k));
                } else {
                    map.insert(key(k), vec![0; len], now);
                }
                map.expire(now);
                prop_assert!(map.len() <= 8);
                prop_assert!(map.bytes() <= 100);
                let sum: usize = map.entries.values().map(|(v, _)| v.len()).sum();
                prop_assert_eq!(sum, map.bytes());
                prop_assert_eq!(map.order.len(), map.entries.len());
            }
        }
    }
}
