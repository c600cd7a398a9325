//! Rooms: a name everyone types to be in one conversation. Owns the room
//! name rules, the keys derived from a name (the channel key and the swarm
//! topic), and what a room remembers of its members. Pure; never panics on
//! input. The introduction members exchange is `net::wire::room_hello`.

use std::fmt;

use super::text::is_safe_char;
use crate::domain::keys::{DiscoveryKey, LogKey};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 64;
/// At most this many members a room remembers second-hand, and a room hello
/// carries.
pub const MAX_ROOM_MEMBERS: usize = 256;
/// Hashed in front of every room name, so a room's keys belong to hychat alone.
const ROOM_KEY_PREFIX: &[u8] = b"hychat/room/v1\0";

/// A valid room name: trimmed, 1..=64 characters, none that a block's
/// `room` field would lose (controls, text-direction overrides).
/// Case-sensitive: `Rust` and `rust` are different rooms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomName(String);

/// Why a string is not a room name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoomNameError {
    #[error("a room name needs at least one visible character")]
    Empty,
    #[error("a room name is at most {MAX_ROOM_CHARS} characters")]
    TooLong,
    #[error("a room name cannot hold control or text-direction characters")]
    Control,
}

impl RoomName {
    pub fn parse(input: &str) -> Result<Self, RoomNameError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(RoomNameError::Empty);
        }
        if name.chars().count() > MAX_ROOM_CHARS {
            return Err(RoomNameError::TooLong);
        }
        // Blocks drop these characters from their `room` field, so a name
        // holding one would never match its own messages.
        if !name.chars().all(is_safe_char) {
            return Err(RoomNameError::Control);
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of the room's protocol channel: every member derives the same
    /// one from the name, so either side can open the channel.
    pub fn channel_key(&self) -> [u8; 32] {
        let mut hash = Blake2b::<U32>::new();
        hash.update(ROOM_KEY_PREFIX);
        hash.update(self.0.as_bytes());
        hash.finalize().into()
    }

    /// The room's swarm topic: the channel key's discovery key, as for a log.
    pub fn topic(&self) -> DiscoveryKey {
        LogKey(self.channel_key()).discovery_key()
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for RoomName {
    type Err = RoomNameError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

/// One member of a room: their log and the nickname they go by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub key: LogKey,
    pub nickname: Option<String>,
}

/// A room and the members it remembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEntry {
    pub name: RoomName,
    pub members: Vec<Member>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_case_sensitive_and_checked() {
        assert_eq!(
            RoomName::parse("  streams-day ").unwrap().as_str(),
            "streams-day"
        );
        assert_ne!(
            RoomName::parse("Rust").unwrap().topic(),
            RoomName::parse("rust").unwrap().topic()
        );
        assert_eq!(RoomName::parse("   "), Err(RoomNameError::Empty));
        assert_eq!(RoomName::parse("a\u{1b}b"), Err(RoomNameError::Control));
        assert_eq!(RoomName::parse("a\u{202E}b"), Err(RoomNameError::Control));
        assert_eq!(
            RoomName::parse(&"x".repeat(MAX_ROOM_CHARS + 1)),
            Err(RoomNameError::TooLong)
        );
    }

    #[test]
    fn keys_are_derived_from_the_name_alone() {
        let a = RoomName::parse("streams-day").unwrap();
        let b = RoomName::parse(" streams-day").unwrap();
        assert_eq!(a.channel_key(), b.channel_key());
        assert_eq!(a.topic(), b.topic());
        // The topic is not the channel key itself: the key is never announced.
        assert_ne!(a.topic().0, a.channel_key());
        assert_ne!(a.topic(), RoomName::parse("other").unwrap().topic());
    }
}
