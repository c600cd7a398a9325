//! Delivery marks: which peers hold our own messages, from what their
//! replication said (their ranges and bitfields, or the blocks written to
//! them). A peer counts once however often it reconnects when it named its
//! own log; a JS peer, which names none, counts per connection. Holders are
//! kept for the session: a peer that leaves still holds what it took.
//! Pure; `App` feeds it and the timeline reads it.

use std::collections::HashMap;

use crate::domain::{ConnectionKey, LogKey};

/// Who holds our messages: a peer by its own log, or a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    Log(LogKey),
    Connection(ConnectionKey),
}

/// How far each holder holds our log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deliveries {
    ends: HashMap<Holder, u64>,
}

impl Deliveries {
    /// `holder` holds our log up to (not including) `end`.
    pub fn record(&mut self, holder: Holder, end: u64) {
        let known = self.ends.entry(holder).or_default();
        *known = (*known).max(end);
    }

    /// How many holders hold our message `seq`.
    pub fn held_by(&self, seq: u64) -> usize {
        self.ends.values().filter(|end| **end > seq).count()
    }
}

/// The mark after one of our messages held by `count` peers, as wide as
/// `room` allows: the full words, a short mark, or nothing.
pub fn mark(count: usize, room: usize) -> Option<String> {
    if count == 0 {
        return None;
    }
    let long = format!("  ✓ held by {count}");
    let short = format!(" ✓{count}");
    [long, short]
        .into_iter()
        .find(|m| m.chars().count() <= room)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_count_once_and_keep_what_they_took() {
        let mut d = Deliveries::default();
        let ann = Holder::Log(LogKey([1; 32]));
        let js = Holder::Connection(ConnectionKey([2; 32]));
        d.record(ann, 3);
        d.record(ann, 2);
        d.record(js, 5);
        // (seq, holders)
        for (seq, expected) in [(0, 2), (2, 2), (3, 1), (4, 1), (5, 0)] {
            assert_eq!(d.held_by(seq), expected, "seq {seq}");
        }
    }

    #[test]
    fn the_mark_shrinks_to_fit() {
        assert_eq!(mark(0, 40), None);
        assert_eq!(mark(2, 40).as_deref(), Some("  ✓ held by 2"));
        assert_eq!(mark(2, 5).as_deref(), Some(" ✓2"));
        assert_eq!(mark(12, 3), None);
    }
}
