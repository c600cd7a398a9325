//! The channels: home plus one per joined room, in order (`ChannelId`
//! names one), each with its own timeline (and so its own scroll state),
//! its unread count and mention marker, and what was read of it (the "new
//! since you were here" line, kept across restarts as `ReadMark`s); which
//! one is active; switching between them, and to the next one with unread
//! messages; when what was read is due to be saved again. Owns this
//! bookkeeping only: what goes into which channel is `routing`'s decision,
//! and drawing the list is `ui::side`'s. `update.rs` (`impl App`) is the
//! app's side of it: the accessors, the channel keys and saving.

mod update;

use std::collections::HashSet;
use std::fmt;

use time::OffsetDateTime;

use crate::domain::read::MAX_REMEMBERED_UNREAD;
use crate::domain::{LogKey, Position, ReadMark, RoomName, Seq};

use super::timeline::Timeline;

/// A view of the chat: the home view, or one joined room.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChannelId {
    Home,
    Room(RoomName),
}

impl ChannelId {
    /// The room, for the room views.
    pub fn room(&self) -> Option<&RoomName> {
        match self {
            ChannelId::Home => None,
            ChannelId::Room(room) => Some(room),
        }
    }
}

impl fmt::Display for ChannelId {
    /// `home`, or `#name` for a room.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelId::Home => f.write_str("home"),
            ChannelId::Room(room) => write!(f, "#{room}"),
        }
    }
}

/// How often changed unread counts are saved while nothing else saves them.
const READ_SAVE_EVERY: time::Duration = time::Duration::seconds(30);

/// One view of the chat.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: ChannelId,
    pub timeline: Timeline,
    /// Messages from others that came in while it was not active.
    unread: HashSet<(LogKey, Seq)>,
    /// The unread messages that name our nickname.
    mentions: HashSet<(LogKey, Seq)>,
    /// When it was last looked at: only newer messages count as unread.
    last_viewed: OffsetDateTime,
    /// The newest message read, when it was last left.
    read_up_to: Option<Position>,
}

impl Channel {
    fn new(id: ChannelId, now: OffsetDateTime) -> Self {
        Self {
            id,
            timeline: Timeline::default(),
            unread: HashSet::new(),
            mentions: HashSet::new(),
            last_viewed: now,
            read_up_to: None,
        }
    }

    /// What is read of it when it is left (or hychat stops) now: up to the
    /// newest message shown, when the window reaches the newest end.
    fn read_when_left(&self) -> Option<Position> {
        let newest = self
            .timeline
            .window
            .live
            .then(|| self.timeline.newest_position())
            .flatten();
        self.read_up_to.max(newest)
    }

    /// Its read state, for keeping across restarts. `active`: it is being
    /// looked at now.
    fn read_mark(&self, active: bool, now: OffsetDateTime) -> ReadMark {
        let mut unread: Vec<(LogKey, Seq)> = self.unread.iter().copied().collect();
        unread.sort_unstable();
        let mut mentions: Vec<(LogKey, Seq)> = self.mentions.iter().copied().collect();
        mentions.sort_unstable();
        ReadMark {
            room: self.id.room().cloned(),
            read_up_to: if active {
                self.read_when_left()
            } else {
                self.read_up_to
            },
            last_viewed: if active { now } else { self.last_viewed },
            unread,
            mentions,
        }
    }

    /// How many messages from others came in while it was not active.
    pub fn unread(&self) -> usize {
        self.unread.len()
    }

    /// Whether an unread message names our nickname.
    pub fn mention(&self) -> bool {
        !self.mentions.is_empty()
    }

    /// A message left the channel (muted, unfollowed): it is not unread.
    pub fn forget(&mut self, log: LogKey, seq: Seq) {
        self.unread.remove(&(log, seq));
        self.mentions.remove(&(log, seq));
    }

    fn mark_read(&mut self, now: OffsetDateTime) {
        self.unread.clear();
        self.mentions.clear();
        self.last_viewed = now;
    }

    /// Left for another channel at `now`.
    fn leave(&mut self, now: OffsetDateTime) {
        self.last_viewed = now;
        self.read_up_to = self.read_when_left();
    }

    /// Entered: the line stands after what was read (or, in a channel
    /// never read, before its first unread message), and nothing is unread.
    fn enter(&mut self, now: OffsetDateTime) {
        let first_unread = || {
            self.timeline
                .entries()
                .iter()
                .filter_map(|e| e.position())
                .find(|p| self.unread.contains(&(p.log, p.seq)))
                .map(|p| Position {
                    at: p.at - time::Duration::nanoseconds(1),
                    ..p
                })
        };
        let marker = self.read_up_to.or_else(first_unread);
        self.timeline.set_read_marker(marker);
        self.mark_read(now);
    }
}

/// Home first, then the rooms in join order; one of them active.
#[derive(Debug, Clone)]
pub struct Channels {
    list: Vec<Channel>,
    active: usize,
    /// Unread messages changed since what was read was last saved.
    unsaved: bool,
    /// When what was read was last saved.
    saved_at: OffsetDateTime,
}

impl Channels {
    /// Only home, active; nothing to save before `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            list: vec![Channel::new(ChannelId::Home, now)],
            active: 0,
            unsaved: false,
            saved_at: now,
        }
    }

    pub fn list(&self) -> &[Channel] {
        &self.list
    }

    pub fn active_index(&self) -> usize {
        self.active
    }

    pub fn active(&self) -> &Channel {
        &self.list[self.active]
    }

    pub fn active_mut(&mut self) -> &mut Channel {
        &mut self.list[self.active]
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut Channel> {
        self.list.get_mut(index)
    }

    pub fn index_of(&self, id: &ChannelId) -> Option<usize> {
        self.list.iter().position(|c| c.id == *id)
    }

    pub fn room_index(&self, room: &RoomName) -> Option<usize> {
        self.index_of(&ChannelId::Room(room.clone()))
    }

    /// Marks every channel as seen up to `now`: history that comes in
    /// afterwards with older timestamps is not unread.
    pub fn viewed_all(&mut self, now: OffsetDateTime) {
        for channel in &mut self.list {
            channel.last_viewed = now;
        }
    }

    /// Adds a room's channel at the end, or finds the one already there.
    pub fn add_room(&mut self, room: &RoomName, now: OffsetDateTime) -> usize {
        if let Some(index) = self.room_index(room) {
            return index;
        }
        self.list
            .push(Channel::new(ChannelId::Room(room.clone()), now));
        self.list.len() - 1
    }

    /// Removes a room's channel; when it was active, home becomes active.
    pub fn remove_room(&mut self, room: &RoomName, now: OffsetDateTime) -> Option<Channel> {
        let index = self.room_index(room)?;
        if index == self.active {
            self.switch_to(0, now);
        }
        let removed = self.list.remove(index);
        if index < self.active {
            self.active -= 1;
        }
        Some(removed)
    }

    /// Makes channel `index` active: the one left is seen up to now, the
    /// one entered has nothing unread. False when there is no such channel.
    pub fn switch_to(&mut self, index: usize, now: OffsetDateTime) -> bool {
        if index >= self.list.len() {
            return false;
        }
        if index != self.active {
            self.list[self.active].leave(now);
            self.active = index;
            self.list[index].enter(now);
        }
        true
    }

    /// The next channel after the active one (wrapping) with a message that
    /// names the user, else with any unread message; `None` when all are read.
    pub fn next_unread(&self) -> Option<usize> {
        let count = self.list.len();
        let after = (1..count).map(|step| (self.active + step) % count);
        after
            .clone()
            .find(|i| self.list[*i].mention())
            .or_else(|| after.clone().find(|i| self.list[*i].unread() > 0))
    }

    /// Takes the read state kept from the last run: each channel's line,
    /// last look and unread messages. The active channel is being looked
    /// at, so nothing in it is unread, but its line stands where it was.
    pub fn restore(&mut self, marks: &[ReadMark], now: OffsetDateTime) {
        for mark in marks {
            let index = match &mark.room {
                Some(room) => self.room_index(room),
                None => Some(0),
            };
            let Some(channel) = index.and_then(|i| self.list.get_mut(i)) else {
                continue;
            };
            channel.read_up_to = mark.read_up_to;
            channel.last_viewed = mark.last_viewed;
            channel.unread = mark.unread.iter().copied().collect();
            channel.mentions = mark.mentions.iter().copied().collect();
        }
        self.list[self.active].enter(now);
    }

    /// What was read of every channel, to keep for the next run.
    pub fn read_marks(&self, now: OffsetDateTime) -> Vec<ReadMark> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, c)| c.read_mark(i == self.active, now))
            .collect()
    }

    /// Whether unread messages changed and the last save is
    /// `READ_SAVE_EVERY` old: a clock tick saves then.
    pub fn save_due(&self, now: OffsetDateTime) -> bool {
        self.unsaved && now - self.saved_at >= READ_SAVE_EVERY
    }

    /// What was read of every channel, to save now; the next tick's save
    /// is due `READ_SAVE_EVERY` from here.
    pub fn save(&mut self, now: OffsetDateTime) -> Vec<ReadMark> {
        self.saved_at = now;
        self.final_save(now)
    }

    /// What was read of every channel, to save as hychat stops.
    pub fn final_save(&mut self, now: OffsetDateTime) -> Vec<ReadMark> {
        self.unsaved = false;
        self.read_marks(now)
    }

    /// The next channel, wrapping from the last to home.
    pub fn next(&mut self, now: OffsetDateTime) {
        let index = (self.active + 1) % self.list.len();
        self.switch_to(index, now);
    }

    /// The previous channel, wrapping from home to the last.
    pub fn previous(&mut self, now: OffsetDateTime) {
        let count = self.list.len();
        let index = (self.active + count - 1) % count;
        self.switch_to(index, now);
    }

    /// Counts a message from someone else that landed in channel `index`,
    /// written at `at`, when that channel is not being looked at; true when
    /// it is newly unread (what was read is then due to be saved). It arrived
    /// after the last look, so it was not seen; only history written well
    /// before that look (a catch-up) is not counted. The slack keeps a
    /// writer whose clock runs a little slow from being missed.
    pub fn note_message(
        &mut self,
        index: usize,
        (log, seq): (LogKey, Seq),
        at: OffsetDateTime,
        mentions_us: bool,
    ) -> bool {
        if index == self.active {
            return false;
        }
        let Some(channel) = self.list.get_mut(index) else {
            return false;
        };
        if at + UNREAD_CLOCK_SLACK <= channel.last_viewed
            || channel.unread.len() >= MAX_REMEMBERED_UNREAD
        {
            return false;
        }
        let new = channel.unread.insert((log, seq));
        if mentions_us {
            channel.mentions.insert((log, seq));
        }
        self.unsaved |= new;
        new
    }
}

/// How far before the last look a newly arrived message may be dated and
/// still count as unread.
pub const UNREAD_CLOCK_SLACK: time::Duration = time::Duration::minutes(10);

/// Whether `text` names `nickname` as a whole word, ignoring case: not
/// inside a longer word, so `ann` is not found in `annual`.
pub fn mentions(text: &str, nickname: &str) -> bool {
    let nickname: Vec<char> = nickname.trim().to_lowercase().chars().collect();
    if nickname.is_empty() {
        return false;
    }
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let is_word = |c: &char| c.is_alphanumeric() || *c == '_';
    let n = nickname.len();
    (0..text.len().saturating_sub(n - 1)).any(|start| {
        text[start..start + n] == nickname[..]
            && (start == 0 || !is_word(&text[start - 1]))
            && text.get(start + n).is_none_or(|c| !is_word(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::room;
    use time::macros::datetime;
    use time::Duration;

    const NOW: OffsetDateTime = datetime!(2026-11-24 15:00 UTC);

    fn three() -> Channels {
        let mut channels = Channels::new(NOW);
        channels.add_room(&room("a"), NOW);
        channels.add_room(&room("b"), NOW);
        channels
    }

    #[test]
    fn rooms_are_added_once_in_order() {
        let mut channels = three();
        assert_eq!(channels.add_room(&room("a"), NOW), 1);
        let names: Vec<String> = channels.list().iter().map(|c| c.id.to_string()).collect();
        assert_eq!(names, ["home", "#a", "#b"]);
    }

    #[test]
    fn next_and_previous_wrap() {
        let mut channels = three();
        channels.previous(NOW);
        assert_eq!(channels.active_index(), 2);
        channels.next(NOW);
        assert_eq!(channels.active_index(), 0);
        channels.next(NOW);
        assert_eq!(channels.active().id, ChannelId::Room(room("a")));
        assert!(!channels.switch_to(3, NOW));
        assert_eq!(channels.active_index(), 1);
    }

    fn block(seq: u64) -> (LogKey, Seq) {
        (LogKey([2; 32]), Seq(seq))
    }

    fn state(channels: &Channels, index: usize) -> (usize, bool) {
        let channel = &channels.list()[index];
        (channel.unread(), channel.mention())
    }

    #[test]
    fn unread_counts_newer_messages_in_inactive_channels() {
        let mut channels = three();
        let later = NOW + Duration::minutes(1);
        channels.note_message(1, block(0), later, false);
        channels.note_message(1, block(1), later, true);
        channels.note_message(1, block(1), later, true);
        // Written well before the last look (history): not unread.
        channels.note_message(1, block(2), NOW - Duration::minutes(30), true);
        // A writer whose clock is a little slow is not missed.
        channels.note_message(1, block(6), NOW - Duration::seconds(30), false);
        // The active channel never counts.
        channels.note_message(0, block(3), later, true);
        assert_eq!(state(&channels, 1), (3, true));
        assert_eq!(state(&channels, 0), (0, false));
        // A message taken away (muted) is no longer unread.
        channels.get_mut(1).unwrap().forget(block(1).0, block(1).1);
        assert_eq!(state(&channels, 1), (2, false));
        channels.switch_to(1, later);
        assert_eq!(state(&channels, 1), (0, false));
        // Home was left at `later`: history from well before does not count.
        channels.note_message(0, block(4), later - Duration::minutes(20), false);
        channels.note_message(0, block(5), later + Duration::seconds(1), false);
        assert_eq!(state(&channels, 0), (1, false));
    }

    #[test]
    fn removing_the_active_room_goes_home() {
        let mut channels = three();
        channels.switch_to(2, NOW);
        assert!(channels.remove_room(&room("b"), NOW).is_some());
        assert_eq!(channels.active_index(), 0);
        channels.switch_to(1, NOW);
        channels.add_room(&room("c"), NOW);
        channels.switch_to(2, NOW);
        channels.remove_room(&room("a"), NOW);
        assert_eq!(channels.active().id, ChannelId::Room(room("c")));
        assert!(channels.remove_room(&room("zzz"), NOW).is_none());
    }

    #[test]
    fn mentions_are_whole_words_ignoring_case() {
        assert!(mentions("hey Ann, look", "ann"));
        assert!(mentions("@ANN", "ann"));
        assert!(mentions("ann", "ann"));
        assert!(mentions("thanks cat-lover!", "Cat-Lover"));
        assert!(!mentions("annual report", "ann"));
        assert!(!mentions("joanne", "ann"));
        assert!(!mentions("ann_b", "ann"));
        assert!(!mentions("anything", ""));
        assert!(mentions("née Zoë!", "zoë"));
    }
}
