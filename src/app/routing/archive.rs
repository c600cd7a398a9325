//! The archive of recent blocks (`Archive`): the blocks delivered or paged
//! in lately, once each, so the views can be rebuilt at once when the
//! audience changes, and every nickname each log has used. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::domain::{ChatMessage, LogKey, Seq};

/// The blocks delivered or paged in lately, once each, by (log, seq): at
/// most `ARCHIVE_CAP`, the longest held going first. Views are rebuilt from
/// it at once when the audience changes (older history comes back a page
/// at a time from the engine). The nicknames of every block ever seen are
/// kept apart, and are never dropped.
#[derive(Debug, Clone, Default)]
pub struct Archive {
    messages: BTreeMap<(LogKey, Seq), ChatMessage>,
    /// Insertion order, for dropping the longest held.
    order: VecDeque<(LogKey, Seq)>,
    /// Each log's newest block with a nickname, and that nickname.
    latest: HashMap<LogKey, (Seq, String)>,
    /// Every (log, nickname) pair seen.
    names: BTreeSet<(LogKey, String)>,
}

/// Most blocks the archive holds.
pub const ARCHIVE_CAP: usize = 5_000;

impl Archive {
    /// Keeps a block; false when it was already here.
    pub fn insert(&mut self, log: LogKey, seq: Seq, message: &ChatMessage) -> bool {
        if !message.nickname.is_empty() {
            if self
                .latest
                .get(&log)
                .is_none_or(|(newest, _)| *newest <= seq)
            {
                self.latest.insert(log, (seq, message.nickname.clone()));
            }
            if !self.names.contains(&(log, message.nickname.clone())) {
                self.names.insert((log, message.nickname.clone()));
            }
        }
        if self.messages.contains_key(&(log, seq)) {
            return false;
        }
        self.messages.insert((log, seq), message.clone());
        self.order.push_back((log, seq));
        while self.order.len() > ARCHIVE_CAP {
            if let Some(oldest) = self.order.pop_front() {
                self.messages.remove(&oldest);
            }
        }
        true
    }

    pub fn get(&self, log: LogKey, seq: Seq) -> Option<&ChatMessage> {
        self.messages.get(&(log, seq))
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Every block held, by log and then seq.
    pub fn iter(&self) -> impl Iterator<Item = (LogKey, Seq, &ChatMessage)> {
        self.messages.iter().map(|((f, s), m)| (*f, *s, m))
    }

    /// The blocks held of one log, by seq.
    pub fn of_log(&self, log: LogKey) -> impl Iterator<Item = (LogKey, Seq, &ChatMessage)> {
        self.messages
            .range((log, Seq(0))..=(log, Seq(u64::MAX)))
            .map(|((f, s), m)| (*f, *s, m))
    }

    /// The nickname on a log's newest block that has one.
    pub fn latest_nickname(&self, log: LogKey) -> Option<&str> {
        self.latest.get(&log).map(|(_, nick)| nick.as_str())
    }

    /// Every (log, nickname) pair seen, each once.
    pub fn nicknames(&self) -> Vec<(LogKey, &str)> {
        self.names.iter().map(|(f, n)| (*f, n.as_str())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const ANN: LogKey = LogKey([2; 32]);
    const BOB: LogKey = LogKey([3; 32]);

    #[test]
    fn the_archive_dedupes_and_knows_nicknames() {
        let mut archive = Archive::default();
        let at = datetime!(2026-11-24 15:00 UTC);
        assert!(archive.insert(ANN, Seq(1), &ChatMessage::new_chat("annie", "b", at)));
        assert!(archive.insert(ANN, Seq(0), &ChatMessage::new_chat("ann", "a", at)));
        assert!(!archive.insert(ANN, Seq(0), &ChatMessage::new_chat("ann", "a", at)));
        assert!(archive.insert(BOB, Seq(0), &ChatMessage::new_chat("", "c", at)));
        assert_eq!(archive.len(), 3);
        assert_eq!(archive.latest_nickname(ANN), Some("annie"));
        assert_eq!(archive.latest_nickname(BOB), None);
        assert_eq!(archive.of_log(ANN).count(), 2);
        assert_eq!(archive.nicknames(), vec![(ANN, "ann"), (ANN, "annie")]);
    }
}
