//! The timeline of one channel, and everything about it. This file is the
//! model: a window of the channel's messages merged in channel order (time,
//! log, seq), system lines in between, deduplication by (log, seq), the
//! `/clear` mark, the scroll state and the "new since you were here"
//! marker. Owns ordering, scrolling and trimming. Beside it:
//! - `window.rs`: what the window holds of the history (`Window`), and its
//!   bounds: at most `WINDOW` messages, the rest on disk, paged back `PAGE`
//!   at a time (docs/architecture.md §4, "History");
//! - `rows.rs`: the rows a timeline is laid out into, and its layout cache;
//! - `layout.rs`: how entries look on screen, as rows at a width;
//! - `history.rs` (`impl App`): asking for pages and merging them in;
//! - `update.rs` (`impl App`): the active timeline for `ui`, lines from
//!   hychat, keeping the view still and in bounds, scrolling.

pub mod layout;
pub mod rows;
mod window;

mod history;
mod update;

use std::collections::{BTreeSet, HashMap, HashSet};

use time::{Duration, OffsetDateTime};

use crate::domain::{ChatMessage, LogKey, Position, Seq};

pub use rows::{LayoutCache, Row, Segment, Tone};
pub use window::{Window, PAGE, WINDOW};

/// How far in the future a writer's timestamp may be before it is not
/// believed: a message cannot pin itself to the bottom with year 9999.
pub const FUTURE_SLACK: Duration = Duration::minutes(5);

/// One line of the timeline before layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When it sorts: the writer's timestamp, or arrival time when missing or
    /// implausible.
    pub at: OffsetDateTime,
    /// Arrival order, unique, increasing.
    pub arrival: u64,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Message {
        log: LogKey,
        seq: Seq,
        message: ChatMessage,
    },
    /// A line from hychat itself; may hold several lines of text.
    System { text: String, error: bool },
}

impl Entry {
    fn sort_key(&self) -> (OffsetDateTime, Option<LogKey>, u64, u64) {
        match &self.body {
            Body::Message { log, seq, .. } => (self.at, Some(*log), seq.0, self.arrival),
            // After the messages of its time, in arrival order.
            Body::System { .. } => (self.at, Some(LogKey([0xff; 32])), u64::MAX, self.arrival),
        }
    }

    /// Where a message sorts in its channel; `None` for system lines.
    pub fn position(&self) -> Option<Position> {
        match &self.body {
            Body::Message { log, seq, .. } => Some(Position {
                at: self.at,
                log: *log,
                seq: *seq,
            }),
            Body::System { .. } => None,
        }
    }

    /// Whether its writer dated it more than `FUTURE_SLACK` after the time
    /// it is shown at: the writer's clock is ahead, so it was placed at its
    /// arrival instead.
    pub fn dated_ahead(&self) -> bool {
        match &self.body {
            Body::Message { message, .. } => message
                .timestamp
                .is_some_and(|t| t > self.at + FUTURE_SLACK),
            Body::System { .. } => false,
        }
    }

    pub fn log(&self) -> Option<&LogKey> {
        match &self.body {
            Body::Message { log, .. } => Some(log),
            Body::System { .. } => None,
        }
    }
}

/// All entries, sorted, plus the view state over them.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Changes whenever what the rows show changes.
    version: u64,
    /// The last layout of the entries.
    pub layout: LayoutCache,
    entries: Vec<Entry>,
    /// What the entries are of the channel's history.
    pub window: Window,
    seen: HashSet<(LogKey, Seq)>,
    next_arrival: u64,
    /// Entries that arrived before this are hidden by `/clear`.
    cleared_before: u64,
    /// Rows hidden below the bottom of the view; 0 follows new messages.
    scroll: usize,
    /// Entries that arrived below the view while scrolled up.
    new_below: usize,
    /// Which logs use each nickname, to tell same-named people apart.
    nick_keys: HashMap<String, BTreeSet<LogKey>>,
    /// The newest message read when the channel was entered: the "new since
    /// you were here" line stands before the first message from others
    /// after it.
    read_marker: Option<Position>,
}

impl Timeline {
    /// Adds a block of some log. Returns its index, or `None` when this
    /// (log, seq) is already shown.
    pub fn insert_message(
        &mut self,
        log: LogKey,
        seq: Seq,
        message: ChatMessage,
        now: OffsetDateTime,
    ) -> Option<usize> {
        let position = Self::position_of(log, seq, &message, now);
        self.insert_at(position, message)
    }

    /// Where a live message would sort: at its timestamp, or at `now` when
    /// it has none or one from the future.
    pub fn position_of(
        log: LogKey,
        seq: Seq,
        message: &ChatMessage,
        now: OffsetDateTime,
    ) -> Position {
        let at = match message.timestamp {
            Some(t) if t <= now + FUTURE_SLACK => t,
            _ => now,
        };
        Position { at, log, seq }
    }

    /// Whether a live message at `position` belongs in the window: not
    /// below it while older history is on disk, not above it while it does
    /// not reach the newest end.
    pub fn takes(&self, position: Position) -> bool {
        if !self.window.paged {
            return true;
        }
        let (Some(oldest), Some(newest)) = (self.oldest_position(), self.newest_position()) else {
            return self.window.live;
        };
        if position > newest {
            return self.window.live;
        }
        position >= oldest || self.window.complete_below
    }

    /// Adds a message at a known place (a page of history). Returns its
    /// index, or `None` when it is already shown.
    pub fn insert_at(&mut self, position: Position, message: ChatMessage) -> Option<usize> {
        if !self.seen.insert((position.log, position.seq)) {
            return None;
        }
        self.insert_known(position.log, position.seq, message, position.at)
    }

    fn insert_known(
        &mut self,
        log: LogKey,
        seq: Seq,
        message: ChatMessage,
        at: OffsetDateTime,
    ) -> Option<usize> {
        self.nick_keys
            .entry(message.nickname.clone())
            .or_default()
            .insert(log);
        Some(self.insert(at, Body::Message { log, seq, message }))
    }

    /// Adds a line from hychat itself, at time `now`.
    pub fn push_system(
        &mut self,
        text: impl Into<String>,
        error: bool,
        now: OffsetDateTime,
    ) -> usize {
        self.insert(
            now,
            Body::System {
                text: text.into(),
                error,
            },
        )
    }

    fn insert(&mut self, at: OffsetDateTime, body: Body) -> usize {
        let entry = Entry {
            at,
            arrival: self.next_arrival,
            body,
        };
        self.next_arrival += 1;
        self.version += 1;
        let key = entry.sort_key();
        let index = self.entries.partition_point(|e| e.sort_key() <= key);
        self.entries.insert(index, entry);
        index
    }

    /// Changes whenever what the rows show changes (for `LayoutCache`).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Where the "new since you were here" line is measured from.
    pub fn read_marker(&self) -> Option<Position> {
        self.read_marker
    }

    /// Moves the "new since you were here" line (after `marker`; none for `None`).
    pub fn set_read_marker(&mut self, marker: Option<Position>) {
        if self.read_marker != marker {
            self.read_marker = marker;
            self.version += 1;
        }
    }

    /// The entry the "new since you were here" line stands before: the
    /// first visible message after the read marker that is not `own`.
    pub fn first_unread(&self, own: Option<LogKey>) -> Option<usize> {
        let marker = self.read_marker?;
        let after = (marker.at, Some(marker.log), marker.seq.0, u64::MAX);
        let start = self.entries.partition_point(|e| e.sort_key() <= after);
        (start..self.entries.len()).find(|i| {
            let entry = &self.entries[*i];
            self.is_visible(entry) && entry.log().is_some_and(|log| Some(*log) != own)
        })
    }

    /// The entry holding the message at `position`, if the window holds it.
    pub fn index_of(&self, position: Position) -> Option<usize> {
        let key = (position.at, Some(position.log), position.seq.0, 0);
        let index = self.entries.partition_point(|e| e.sort_key() < key);
        let entry = self.entries.get(index)?;
        (entry.position() == Some(position)).then_some(index)
    }

    /// The oldest message's place, if any.
    pub fn oldest_position(&self) -> Option<Position> {
        self.entries.iter().find_map(Entry::position)
    }

    /// The newest message's place, if any.
    pub fn newest_position(&self) -> Option<Position> {
        self.entries.iter().rev().find_map(Entry::position)
    }

    /// How many messages (not system lines) it holds.
    pub fn message_count(&self) -> usize {
        self.seen.len()
    }

    /// Drops messages past `WINDOW` at one end: the newest when
    /// `drop_newest` (the view is far up), else the oldest. Returns how
    /// many went.
    pub fn trim(&mut self, drop_newest: bool) -> usize {
        let excess = self.message_count().saturating_sub(WINDOW);
        if excess == 0 {
            return 0;
        }
        let positions: Vec<Position> = self.entries.iter().filter_map(Entry::position).collect();
        let cut = if drop_newest {
            positions[positions.len() - excess]
        } else {
            positions[excess - 1]
        };
        let before = self.entries.len();
        self.entries.retain(|e| match e.position() {
            Some(p) if drop_newest => p < cut,
            Some(p) => p > cut,
            None => true,
        });
        let gone = before - self.entries.len();
        self.reindex();
        if drop_newest {
            self.window.live = false;
            self.window.newer_from = None;
        } else {
            self.window.complete_below = false;
            self.window.older_from = None;
        }
        gone
    }

    /// Empties the window of messages (system lines stay) for a fresh
    /// start at `live`'s end; pages of the old generation are dropped.
    pub fn reset(&mut self, live: bool) {
        self.entries.retain(|e| e.position().is_none());
        self.reindex();
        let generation = self.window.generation + 1;
        self.window = Window {
            live,
            generation,
            ..Window::default()
        };
        self.scroll = 0;
        self.new_below = 0;
    }

    fn reindex(&mut self) {
        self.version += 1;
        self.seen.clear();
        self.nick_keys.clear();
        for entry in &self.entries {
            if let Body::Message { log, seq, message } = &entry.body {
                self.seen.insert((*log, *seq));
                self.nick_keys
                    .entry(message.nickname.clone())
                    .or_default()
                    .insert(*log);
            }
        }
    }

    /// Counts a live message left out of a window that does not reach the
    /// newest end.
    pub fn note_left_out(&mut self) {
        self.new_below += 1;
    }

    /// Whether this block is in the timeline.
    pub fn contains(&self, log: &LogKey, seq: Seq) -> bool {
        self.seen.contains(&(*log, seq))
    }

    /// Keeps only the messages `keep` accepts (system lines all stay), so
    /// a block dropped here can be inserted again later. Returns the
    /// dropped blocks.
    pub fn retain_messages(
        &mut self,
        mut keep: impl FnMut(&LogKey, Seq, &ChatMessage) -> bool,
    ) -> Vec<(LogKey, Seq)> {
        let mut dropped = Vec::new();
        self.entries.retain(|e| match &e.body {
            Body::Message { log, seq, message } => {
                let kept = keep(log, *seq, message);
                if !kept {
                    dropped.push((*log, *seq));
                }
                kept
            }
            Body::System { .. } => true,
        });
        if !dropped.is_empty() {
            self.reindex();
        }
        dropped
    }

    /// `/clear`: hides everything shown so far; the data stays.
    pub fn clear(&mut self) {
        self.version += 1;
        self.cleared_before = self.next_arrival;
        self.scroll = 0;
        self.new_below = 0;
    }

    /// All entries in display order, hidden ones included.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether `/clear` hides this entry.
    pub fn is_visible(&self, entry: &Entry) -> bool {
        entry.arrival >= self.cleared_before
    }

    /// Whether several logs share this nickname.
    pub fn nick_is_shared(&self, nickname: &str) -> bool {
        self.nick_keys
            .get(nickname)
            .is_some_and(|keys| keys.len() > 1)
    }

    /// The logs that use this nickname.
    pub fn nick_group(&self, nickname: &str) -> Option<&BTreeSet<LogKey>> {
        self.nick_keys.get(nickname)
    }

    /// Rows hidden below the view.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// Entries that arrived below the view while scrolled up.
    pub fn new_below(&self) -> usize {
        self.new_below
    }

    pub fn is_at_bottom(&self) -> bool {
        self.scroll == 0
    }

    /// Scrolls towards older entries by `rows`, no further than `max`.
    pub fn scroll_up(&mut self, rows: usize, max: usize) {
        self.scroll = (self.scroll + rows).min(max);
    }

    /// Puts the view `rows` rows above the bottom (keeping a view still).
    pub fn set_scroll(&mut self, rows: usize) {
        self.scroll = rows;
        if rows == 0 {
            self.new_below = 0;
        }
    }

    /// Scrolls towards newer entries; reaching the bottom follows new ones again.
    pub fn scroll_down(&mut self, rows: usize) {
        self.scroll = self.scroll.saturating_sub(rows);
        if self.scroll == 0 {
            self.new_below = 0;
        }
    }

    pub fn scroll_to_bottom(&mut self) {
        self.scroll_down(usize::MAX);
    }

    /// Keeps the scroll inside the content after a resize or a removal.
    pub fn clamp_scroll(&mut self, max: usize) {
        if self.scroll > max {
            self.scroll = max;
        }
        if self.scroll == 0 {
            self.new_below = 0;
        }
    }

    /// Called after an entry of `rows` rows was inserted while scrolled up,
    /// with `rows_after` rows of older content below it. An entry under
    /// the view keeps the view still and counts as new.
    pub fn note_inserted(&mut self, rows: usize, rows_after: usize) {
        if self.scroll > 0 && rows_after <= self.scroll {
            self.scroll += rows;
            self.new_below += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn chat(nick: &str, text: &str, at: Option<OffsetDateTime>) -> ChatMessage {
        let mut message = ChatMessage::new_chat(nick, text, datetime!(2026-11-24 12:00 UTC));
        message.timestamp = at;
        message
    }

    fn texts(timeline: &Timeline) -> Vec<String> {
        timeline
            .entries()
            .iter()
            .map(|e| match &e.body {
                Body::Message { message, .. } => message.text.clone(),
                Body::System { text, .. } => format!("* {text}"),
            })
            .collect()
    }

    const NOW: OffsetDateTime = datetime!(2026-11-24 15:00 UTC);

    #[test]
    fn merges_logs_in_timestamp_order() {
        let mut timeline = Timeline::default();
        let (a, b) = (LogKey([1; 32]), LogKey([2; 32]));
        timeline.insert_message(
            a,
            Seq(1),
            chat("ann", "a2", Some(datetime!(2026-11-24 14:02 UTC))),
            NOW,
        );
        timeline.insert_message(
            b,
            Seq(0),
            chat("bob", "b1", Some(datetime!(2026-11-24 14:01 UTC))),
            NOW,
        );
        timeline.insert_message(
            a,
            Seq(0),
            chat("ann", "a1", Some(datetime!(2026-11-24 14:00 UTC))),
            NOW,
        );
        timeline.insert_message(
            b,
            Seq(1),
            chat("bob", "b3", Some(datetime!(2026-11-24 14:03 UTC))),
            NOW,
        );
        assert_eq!(texts(&timeline), vec!["a1", "b1", "a2", "b3"]);
    }

    #[test]
    fn untimestamped_messages_sort_by_arrival() {
        let mut timeline = Timeline::default();
        let a = LogKey([1; 32]);
        timeline.insert_message(
            a,
            Seq(0),
            chat("ann", "old", Some(datetime!(2026-11-24 14:00 UTC))),
            NOW,
        );
        timeline.insert_message(a, Seq(1), chat("ann", "no time", None), NOW);
        timeline.push_system("hello", false, NOW + Duration::seconds(1));
        timeline.insert_message(
            a,
            Seq(2),
            chat("ann", "later", None),
            NOW + Duration::seconds(2),
        );
        assert_eq!(texts(&timeline), vec!["old", "no time", "* hello", "later"]);
        assert_eq!(timeline.entries()[1].at, NOW);
    }

    #[test]
    fn future_timestamps_are_not_believed() {
        let mut timeline = Timeline::default();
        let a = LogKey([1; 32]);
        timeline.insert_message(
            a,
            Seq(0),
            chat("ann", "from 9999", Some(datetime!(9999-01-01 0:00 UTC))),
            NOW,
        );
        timeline.insert_message(
            a,
            Seq(1),
            chat("ann", "next", None),
            NOW + Duration::seconds(1),
        );
        assert_eq!(texts(&timeline), vec!["from 9999", "next"]);
        assert_eq!(timeline.entries()[0].at, NOW);
    }

    #[test]
    fn dedupes_by_log_and_seq() {
        let mut timeline = Timeline::default();
        let (a, b) = (LogKey([1; 32]), LogKey([2; 32]));
        assert!(timeline
            .insert_message(a, Seq(0), chat("ann", "x", None), NOW)
            .is_some());
        assert!(timeline
            .insert_message(a, Seq(0), chat("ann", "x", None), NOW)
            .is_none());
        assert!(timeline
            .insert_message(b, Seq(0), chat("bob", "x", None), NOW)
            .is_some());
        assert_eq!(timeline.entries().len(), 2);
        assert!(timeline.contains(&a, Seq(0)));
        assert_eq!(timeline.retain_messages(|f, _, _| *f != a), [(a, Seq(0))]);
        assert_eq!(timeline.entries().len(), 1);
        assert!(!timeline.contains(&a, Seq(0)));
        assert!(timeline
            .insert_message(a, Seq(0), chat("ann", "x", None), NOW)
            .is_some());
    }

    #[test]
    fn detects_shared_nicknames() {
        let mut timeline = Timeline::default();
        let (a, b) = (LogKey([1; 32]), LogKey([2; 32]));
        timeline.insert_message(a, Seq(0), chat("bob", "x", None), NOW);
        timeline.insert_message(a, Seq(1), chat("bob", "y", None), NOW);
        assert!(!timeline.nick_is_shared("bob"));
        timeline.insert_message(b, Seq(0), chat("bob", "z", None), NOW);
        assert!(timeline.nick_is_shared("bob"));
        timeline.retain_messages(|f, _, _| *f != b);
        assert!(!timeline.nick_is_shared("bob"));
    }

    #[test]
    fn clear_hides_what_came_before() {
        let mut timeline = Timeline::default();
        timeline.push_system("one", false, NOW);
        timeline.clear();
        timeline.push_system("two", false, NOW);
        let visible: Vec<_> = timeline
            .entries()
            .iter()
            .filter(|e| timeline.is_visible(e))
            .collect();
        assert_eq!(visible.len(), 1);
        assert_eq!(timeline.entries().len(), 2);
    }

    #[test]
    fn scrolling_counts_entries_below_the_view() {
        let mut timeline = Timeline::default();
        timeline.scroll_up(10, 5);
        assert_eq!(timeline.scroll(), 5);
        timeline.note_inserted(2, 0);
        assert_eq!((timeline.scroll(), timeline.new_below()), (7, 1));
        // Inserted above the view: the view and the count stay.
        timeline.note_inserted(1, 30);
        assert_eq!((timeline.scroll(), timeline.new_below()), (7, 1));
        timeline.scroll_down(3);
        assert_eq!(timeline.new_below(), 1);
        timeline.scroll_to_bottom();
        assert_eq!((timeline.scroll(), timeline.new_below()), (0, 0));
        timeline.note_inserted(1, 0);
        assert_eq!(timeline.new_below(), 0);
    }
}
