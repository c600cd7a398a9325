//! Who is in each joined room, and how a room hello changes that. Pure: the
//! engine persists and acts on what these transitions return.
//!
//! A member introduced first-hand (a peer on the room's channel, about
//! itself) is always taken, and is passed on to others. A member named
//! second-hand (in someone's list) is taken within limits and never passed
//! on: one peer listing made-up keys then reaches only its own neighbours,
//! cannot fill the room for everyone, and cannot crowd out real newcomers.

use crate::domain::keys::LogKey;
use crate::domain::room::{Member, RoomEntry, RoomName, MAX_ROOM_MEMBERS};
use crate::net::shared::rooms::Introduction;
use crate::net::store::StoredRoom;

/// At most this many members new to us are taken from one hello's list.
pub(crate) const MAX_NEW_SECOND_HAND: usize = 32;

#[derive(Debug, Clone, Default)]
pub(crate) struct Membership {
    rooms: Vec<StoredRoom>,
}

impl Membership {
    pub(crate) fn new(rooms: Vec<StoredRoom>) -> Self {
        Self { rooms }
    }

    /// Every joined room with its members, in join order.
    pub(crate) fn entries(&self) -> Vec<RoomEntry> {
        self.rooms.iter().map(|r| r.entry.clone()).collect()
    }

    /// What is saved to disk.
    pub(crate) fn stored(&self) -> &[StoredRoom] {
        &self.rooms
    }

    pub(crate) fn get(&self, room: &RoomName) -> Option<&RoomEntry> {
        self.find(room).map(|r| &r.entry)
    }

    fn find(&self, room: &RoomName) -> Option<&StoredRoom> {
        self.rooms.iter().find(|r| r.entry.name == *room)
    }

    /// Joins a room; false when already in it.
    pub(crate) fn join(&mut self, room: &RoomName) -> bool {
        if self.find(room).is_some() {
            return false;
        }
        self.rooms.push(StoredRoom {
            entry: RoomEntry {
                name: room.clone(),
                members: Vec::new(),
            },
            met: Vec::new(),
        });
        true
    }

    /// Leaves a room, forgetting its members; false when not in it.
    pub(crate) fn leave(&mut self, room: &RoomName) -> bool {
        let before = self.rooms.len();
        self.rooms.retain(|r| r.entry.name != *room);
        self.rooms.len() != before
    }

    /// Every member of every room.
    pub(crate) fn member_keys(&self) -> impl Iterator<Item = LogKey> + '_ {
        self.rooms
            .iter()
            .flat_map(|r| r.entry.members.iter().map(|m| m.key))
    }

    /// The members we tell a room about: those met first-hand, not muted.
    pub(crate) fn passed_on(&self, room: &RoomName, muted: &[LogKey]) -> Vec<Member> {
        let Some(stored) = self.find(room) else {
            return Vec::new();
        };
        stored
            .entry
            .members
            .iter()
            .filter(|m| stored.met.contains(&m.key) && !muted.contains(&m.key))
            .take(MAX_ROOM_MEMBERS)
            .cloned()
            .collect()
    }

    /// Applies a room hello. Returns the members that are new or renamed,
    /// for the engine to save, announce and hold.
    pub(crate) fn introduce(
        &mut self,
        introduction: Introduction,
        own: LogKey,
        muted: &[LogKey],
    ) -> Vec<Member> {
        let Introduction {
            room,
            sender,
            known,
        } = introduction;
        let Some(stored) = self.rooms.iter_mut().find(|r| r.entry.name == room) else {
            return Vec::new();
        };
        let mut changed = Vec::new();
        if sender.key != own {
            if !stored.met.contains(&sender.key) {
                stored.met.push(sender.key);
            }
            let members = &mut stored.entry.members;
            match members.iter_mut().find(|m| m.key == sender.key) {
                Some(known) if sender.nickname.is_some() && known.nickname != sender.nickname => {
                    known.nickname = sender.nickname.clone();
                    changed.push(sender);
                }
                Some(_) => {}
                None => {
                    members.push(sender.clone());
                    changed.push(sender);
                }
            }
        }
        let second_hand = |stored: &StoredRoom| {
            stored
                .entry
                .members
                .iter()
                .filter(|m| !stored.met.contains(&m.key))
                .count()
        };
        let mut taken = 0;
        for member in known {
            if taken == MAX_NEW_SECOND_HAND || second_hand(stored) >= MAX_ROOM_MEMBERS {
                break;
            }
            let already = stored.entry.members.iter().any(|m| m.key == member.key);
            if member.key == own || already || muted.contains(&member.key) {
                continue;
            }
            stored.entry.members.push(member.clone());
            changed.push(member);
            taken += 1;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: LogKey = LogKey([0; 32]);

    fn room() -> RoomName {
        RoomName::parse("streams-day").unwrap()
    }

    fn member(byte: u8, nick: &str) -> Member {
        Member {
            key: LogKey([byte; 32]),
            nickname: Some(nick.into()),
        }
    }

    fn hello(sender: Member, known: Vec<Member>) -> Introduction {
        Introduction {
            room: room(),
            sender,
            known,
        }
    }

    fn joined() -> Membership {
        let mut membership = Membership::default();
        assert!(membership.join(&room()));
        assert!(!membership.join(&room()), "joining twice is one room");
        membership
    }

    #[test]
    fn a_sender_and_the_members_it_knows_are_taken_but_only_the_sender_is_passed_on() {
        let mut membership = joined();
        let changed = membership.introduce(
            hello(member(1, "bob"), vec![member(2, "cy"), member(0, "me")]),
            OWN,
            &[],
        );
        assert_eq!(changed, vec![member(1, "bob"), member(2, "cy")]);
        assert_eq!(membership.get(&room()).unwrap().members.len(), 2);
        assert_eq!(membership.passed_on(&room(), &[]), vec![member(1, "bob")]);
        // Meeting cy in person makes cy passed on too.
        assert!(membership
            .introduce(hello(member(2, "cy"), vec![]), OWN, &[])
            .is_empty());
        assert_eq!(membership.passed_on(&room(), &[]).len(), 2);
        assert!(membership.passed_on(&room(), &[LogKey([2; 32])]).len() == 1);
    }

    #[test]
    fn only_a_member_renames_itself() {
        let mut membership = joined();
        membership.introduce(hello(member(1, "bob"), vec![]), OWN, &[]);
        // Someone else's list cannot rename bob.
        let changed =
            membership.introduce(hello(member(2, "cy"), vec![member(1, "evil")]), OWN, &[]);
        assert_eq!(changed, vec![member(2, "cy")]);
        let renamed = membership.introduce(hello(member(1, "robert"), vec![]), OWN, &[]);
        assert_eq!(renamed, vec![member(1, "robert")]);
    }

    #[test]
    fn second_hand_lists_are_bounded_and_muted_keys_are_not_taken() {
        let mut membership = joined();
        let flood: Vec<Member> = (10..=200).map(|b| member(b, "x")).collect();
        let changed =
            membership.introduce(hello(member(1, "mallory"), flood), OWN, &[LogKey([10; 32])]);
        assert_eq!(changed.len(), 1 + MAX_NEW_SECOND_HAND);
        assert!(!changed.iter().any(|m| m.key == LogKey([10; 32])), "muted");
        // Many floods fill the second-hand allowance, never the first-hand one.
        for round in 0..20u8 {
            let flood = (0..40u8)
                .map(|i| {
                    let mut key = [1u8; 32];
                    (key[0], key[1]) = (round, i);
                    Member {
                        key: LogKey(key),
                        nickname: None,
                    }
                })
                .collect();
            membership.introduce(hello(member(1, "mallory"), flood), OWN, &[]);
        }
        let members = &membership.get(&room()).unwrap().members;
        assert_eq!(members.len(), 1 + MAX_ROOM_MEMBERS);
        let newcomer = membership.introduce(hello(member(3, "newcomer"), vec![]), OWN, &[]);
        assert_eq!(newcomer, vec![member(3, "newcomer")]);
    }

    #[test]
    fn leaving_forgets_the_room_and_its_members() {
        let mut membership = joined();
        membership.introduce(hello(member(1, "bob"), vec![]), OWN, &[]);
        assert_eq!(membership.member_keys().count(), 1);
        assert!(membership.leave(&room()));
        assert!(!membership.leave(&room()));
        assert_eq!(membership.member_keys().count(), 0);
        assert!(membership
            .introduce(hello(member(1, "bob"), vec![]), OWN, &[])
            .is_empty());
    }
}
