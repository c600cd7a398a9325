//! Rooms: a name everyone types to be in one conversation. Owns the room
//! name rules, the keys derived from a name (the channel key and the swarm
//! topic), and the room hello (`hychat/room`): the introduction two members
//! exchange on the room's channel. Pure; never panics on input.

use std::fmt;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use hypercore_protocol::schema::Extension;
use hypercore_protocol::Message;
use serde::{Deserialize, Serialize};

use super::codec::{is_safe_char, sanitize_line, MAX_NICK_CHARS};
use super::keys::{DiscoveryKey, FeedKey};

/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 64;
/// The extension name of the room hello.
pub const ROOM_EXTENSION: &str = "hychat/room";
/// Larger room hellos are refused (and the peer disconnected).
pub const MAX_ROOM_HELLO_BYTES: usize = 64 * 1024;
/// At most this many members are read from, or sent in, one room hello.
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
        FeedKey(self.channel_key()).discovery_key()
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
    pub key: FeedKey,
    pub nickname: Option<String>,
}

/// A room and the members it remembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEntry {
    pub name: RoomName,
    pub members: Vec<Member>,
}

/// What one member tells another on the room channel: who it is, and the
/// members it knows (so someone joining late learns of members now offline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomHello {
    pub me: Member,
    pub members: Vec<Member>,
}

#[derive(Serialize, Deserialize)]
struct MemberWire {
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nick: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RoomHelloWire {
    hychat: u32,
    me: MemberWire,
    #[serde(default)]
    members: Vec<MemberWire>,
}

impl MemberWire {
    fn from_member(member: &Member) -> Self {
        Self {
            key: member.key.to_hex(),
            nick: member.nickname.clone(),
        }
    }

    fn into_member(self) -> Option<Member> {
        let key = self.key.parse().ok()?;
        let nickname = self
            .nick
            .map(|n| sanitize_line(&n, MAX_NICK_CHARS))
            .filter(|n| !n.is_empty());
        Some(Member { key, nickname })
    }
}

/// Why a room hello was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoomHelloError {
    #[error("room hello of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("room hello is not valid: {0}")]
    Malformed(String),
}

impl RoomHello {
    pub fn encode(&self) -> Vec<u8> {
        let wire = RoomHelloWire {
            hychat: 1,
            me: MemberWire::from_member(&self.me),
            members: self
                .members
                .iter()
                .take(MAX_ROOM_MEMBERS)
                .map(MemberWire::from_member)
                .collect(),
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Decodes an untrusted room hello. The sender's own key must parse;
    /// listed members whose keys do not are dropped.
    pub fn decode(bytes: &[u8]) -> Result<Self, RoomHelloError> {
        if bytes.len() > MAX_ROOM_HELLO_BYTES {
            return Err(RoomHelloError::TooLarge(bytes.len()));
        }
        let wire: RoomHelloWire =
            serde_json::from_slice(bytes).map_err(|e| RoomHelloError::Malformed(e.to_string()))?;
        let me = wire
            .me
            .into_member()
            .ok_or_else(|| RoomHelloError::Malformed("the sender's key does not parse".into()))?;
        let members = wire
            .members
            .into_iter()
            .take(MAX_ROOM_MEMBERS)
            .filter_map(MemberWire::into_member)
            .collect();
        Ok(Self { me, members })
    }

    /// The protocol message that carries this hello.
    pub fn to_message(&self) -> Message {
        Message::Extension(Extension {
            name: ROOM_EXTENSION.to_string(),
            message: self.encode(),
        })
    }
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

    fn member(byte: u8, nick: &str) -> Member {
        Member {
            key: FeedKey([byte; 32]),
            nickname: Some(nick.into()),
        }
    }

    #[test]
    fn hello_round_trips() {
        let hello = RoomHello {
            me: member(1, "ann"),
            members: vec![member(2, "bob"), member(3, "cy")],
        };
        assert_eq!(RoomHello::decode(&hello.encode()), Ok(hello));
    }

    #[test]
    fn hostile_hellos_are_refused_or_cleaned() {
        assert!(RoomHello::decode(b"\xff").is_err());
        assert!(RoomHello::decode(br#"{"hychat":1}"#).is_err());
        assert!(RoomHello::decode(br#"{"hychat":1,"me":{"key":"nope"}}"#).is_err());
        assert!(matches!(
            RoomHello::decode(&vec![b' '; MAX_ROOM_HELLO_BYTES + 1]),
            Err(RoomHelloError::TooLarge(_))
        ));
        let key = "01".repeat(32);
        let text = format!(
            r#"{{"hychat":1,"me":{{"key":"{key}","nick":"a\u001b[31mb"}},"members":[{{"key":"bad"}}]}}"#
        );
        let hello = RoomHello::decode(text.as_bytes()).unwrap();
        assert_eq!(hello.me.nickname.as_deref(), Some("a[31mb"));
        assert!(hello.members.is_empty());
    }
}
