//! Who is who, as far as routing cares (`Audience`): our own log, the
//! follows, the mutes, each joined room's members; and where a delivered
//! block is shown (`Audience::destination`) and which logs a channel's
//! history is read from (`Audience::sources`). Pure: no clock, no drawing.

use std::collections::HashSet;

use crate::app::channels::ChannelId;
use crate::domain::{LogKey, Member, RoomName};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::{member, room};

    const OWN: LogKey = LogKey([1; 32]);
    const ANN: LogKey = LogKey([2; 32]);
    const BOB: LogKey = LogKey([3; 32]);

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
}
