//! Which view a delivered message belongs in. Owns who is who for that
//! decision (`Audience`: our own log, the follows, the mutes, each joined
//! room's members) and the archive of recent blocks, so that when the
//! audience changes the views can be rebuilt from it. Pure: no clock,
//! no drawing; `App` applies the decisions to the channel timelines.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;

use crate::domain::{ChatMessage, LogKey, Member, RoomName, Seq};

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

/// Who is who, as far as routing cares.
#[derive(Debug, Clone, Default)]
pub struct Audience {
    own: Option<LogKey>,
    follows: HashSet<LogKey>,
    muted: HashSet<LogKey>,
    /// Joined rooms in join order, each with the members it knows (never us).
    rooms: Vec<(RoomName, Vec<Member>)>,
}

impl Audience {
    pub fn set_own(&mut self, own: LogKey) {
        self.own = Some(own);
        for (_, members) in &mut self.rooms {
            members.retain(|m| m.key != own);
        }
    }

    pub fn is_own(&self, key: &LogKey) -> bool {
        self.own == Some(*key)
    }

    pub fn set_follows(&mut self, keys: impl IntoIterator<Item = LogKey>) {
        self.follows = keys.into_iter().collect();
    }

    pub fn follow(&mut self, key: LogKey) {
        self.follows.insert(key);
    }

    pub fn unfollow(&mut self, key: &LogKey) {
        self.follows.remove(key);
    }

    pub fn set_muted(&mut self, keys: impl IntoIterator<Item = LogKey>) {
        self.muted = keys.into_iter().collect();
    }

    pub fn mute(&mut self, key: LogKey) {
        self.muted.insert(key);
    }

    pub fn unmute(&mut self, key: &LogKey) {
        self.muted.remove(key);
    }

    pub fn is_muted(&self, key: &LogKey) -> bool {
        self.muted.contains(key)
    }

    /// Joins a room (or refreshes one already joined), merging its members.
    pub fn join(&mut self, room: &RoomName, members: Vec<Member>) {
        if !self.rooms.iter().any(|(name, _)| name == room) {
            self.rooms.push((room.clone(), Vec::new()));
        }
        for member in members {
            self.add_member(room, member);
        }
    }

    pub fn leave(&mut self, room: &RoomName) {
        self.rooms.retain(|(name, _)| name != room);
    }

    pub fn is_joined(&self, room: &RoomName) -> bool {
        self.rooms.iter().any(|(name, _)| name == room)
    }

    /// Joined rooms, in join order.
    pub fn rooms(&self) -> impl Iterator<Item = &RoomName> {
        self.rooms.iter().map(|(name, _)| name)
    }

    /// Adds a member or updates its nickname. True when it is new to the
    /// room. Our own log and rooms not joined are ignored.
    pub fn add_member(&mut self, room: &RoomName, member: Member) -> bool {
        if self.is_own(&member.key) {
            return false;
        }
        let Some((_, members)) = self.rooms.iter_mut().find(|(name, _)| name == room) else {
            return false;
        };
        match members.iter_mut().find(|m| m.key == member.key) {
            Some(known) => {
                if member.nickname.is_some() {
                    known.nickname = member.nickname;
                }
                false
            }
            None => {
                members.push(member);
                true
            }
        }
    }

    /// A room's members in the order they were met; empty when not joined.
    pub fn members(&self, room: &RoomName) -> &[Member] {
        self.rooms
            .iter()
            .find(|(name, _)| name == room)
            .map_or(&[], |(_, members)| members)
    }

    /// The nickname a room member goes by in any room, if one was told.
    pub fn member_nickname(&self, key: &LogKey) -> Option<&str> {
        self.rooms
            .iter()
            .flat_map(|(_, members)| members)
            .find(|m| m.key == *key)
            .and_then(|m| m.nickname.as_deref())
    }

    /// Every room member, with each key once.
    pub fn all_members(&self) -> Vec<&Member> {
        let mut seen = HashSet::new();
        self.rooms
            .iter()
            .flat_map(|(_, members)| members)
            .filter(|m| seen.insert(m.key))
            .collect()
    }

    /// The logs a channel shows, for reading its history: ours and the
    /// follows in home, ours and the members in a room; never a muted one.
    pub fn sources(&self, channel: &ChannelId) -> Vec<LogKey> {
        let mut logs: Vec<LogKey> = self.own.into_iter().collect();
        match channel {
            ChannelId::Home => logs.extend(self.follows.iter().copied()),
            ChannelId::Room(room) => logs.extend(self.members(room).iter().map(|m| m.key)),
        }
        logs.sort_unstable();
        logs.dedup();
        logs.retain(|key| !self.is_muted(key));
        logs
    }

    /// Where a block of `log` written in `room` (as the block says) is
    /// shown, or `None` when nowhere: muted logs nowhere; room-less blocks
    /// in home when the log is ours or followed; a room's blocks in that
    /// room when it is joined and the log is ours or a member's.
    pub fn destination(&self, log: &LogKey, room: Option<&str>) -> Option<ChannelId> {
        if self.is_muted(log) {
            return None;
        }
        match room {
            None => (self.is_own(log) || self.follows.contains(log)).then_some(ChannelId::Home),
            Some(wanted) => {
                let (name, members) = self
                    .rooms
                    .iter()
                    .find(|(name, _)| name.as_str() == wanted)?;
                (self.is_own(log) || members.iter().any(|m| m.key == *log))
                    .then(|| ChannelId::Room(name.clone()))
            }
        }
    }
}

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

    const OWN: LogKey = LogKey([1; 32]);
    const ANN: LogKey = LogKey([2; 32]);
    const BOB: LogKey = LogKey([3; 32]);

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    fn member(key: LogKey, nick: Option<&str>) -> Member {
        Member {
            key,
            nickname: nick.map(str::to_string),
        }
    }

    fn audience() -> Audience {
        let mut audience = Audience::default();
        audience.set_own(OWN);
        audience.set_follows([ANN]);
        audience.join(&room("rust"), vec![member(BOB, Some("bob"))]);
        audience
    }

    #[test]
    fn home_shows_own_and_followed_logs_only() {
        let audience = audience();
        assert_eq!(audience.destination(&OWN, None), Some(ChannelId::Home));
        assert_eq!(audience.destination(&ANN, None), Some(ChannelId::Home));
        // A room member is not followed: its room-less blocks stay hidden.
        assert_eq!(audience.destination(&BOB, None), None);
    }

    #[test]
    fn rooms_show_their_members_and_us() {
        let audience = audience();
        let rust = Some(ChannelId::Room(room("rust")));
        assert_eq!(audience.destination(&BOB, Some("rust")), rust);
        assert_eq!(audience.destination(&OWN, Some("rust")), rust);
        // Followed but not a member of the room: not shown there.
        assert_eq!(audience.destination(&ANN, Some("rust")), None);
        // Room names are case-sensitive; unjoined rooms show nothing.
        assert_eq!(audience.destination(&BOB, Some("Rust")), None);
        assert_eq!(audience.destination(&OWN, Some("go")), None);
    }

    #[test]
    fn muted_logs_are_shown_nowhere_until_unmuted() {
        let mut audience = audience();
        audience.mute(BOB);
        audience.mute(ANN);
        assert_eq!(audience.destination(&BOB, Some("rust")), None);
        assert_eq!(audience.destination(&ANN, None), None);
        audience.unmute(&ANN);
        assert_eq!(audience.destination(&ANN, None), Some(ChannelId::Home));
    }

    #[test]
    fn follows_members_and_rooms_change_the_destination() {
        let mut audience = audience();
        audience.follow(BOB);
        assert_eq!(audience.destination(&BOB, None), Some(ChannelId::Home));
        audience.unfollow(&ANN);
        assert_eq!(audience.destination(&ANN, None), None);
        assert!(audience.add_member(&room("rust"), member(ANN, None)));
        assert!(!audience.add_member(&room("rust"), member(ANN, Some("ann"))));
        assert_eq!(audience.member_nickname(&ANN), Some("ann"));
        // A later introduction without a nickname keeps the known one.
        audience.add_member(&room("rust"), member(ANN, None));
        assert_eq!(audience.member_nickname(&ANN), Some("ann"));
        assert!(audience.destination(&ANN, Some("rust")).is_some());
        // Ourselves and unjoined rooms are not members.
        assert!(!audience.add_member(&room("rust"), member(OWN, None)));
        assert!(!audience.add_member(&room("go"), member(ANN, None)));
        assert_eq!(audience.members(&room("rust")).len(), 2);
        audience.leave(&room("rust"));
        assert_eq!(audience.destination(&BOB, Some("rust")), None);
        assert!(audience.members(&room("rust")).is_empty());
    }

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
