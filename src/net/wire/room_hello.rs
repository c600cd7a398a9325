//! The room hello (`hychat/room`): the introduction two members exchange on
//! a room's channel, with its wire form and limits. Pure; never panics on
//! input.

use hypercore_protocol::schema::Extension;
use hypercore_protocol::Message;
use serde::{Deserialize, Serialize};

use crate::domain::message::MAX_NICK_CHARS;
use crate::domain::room::MAX_ROOM_MEMBERS;
use crate::domain::text::sanitize_line;
use crate::domain::Member;

/// Larger room hellos are refused (and the peer disconnected).
pub(crate) const MAX_ROOM_HELLO_BYTES: usize = 64 * 1024;
/// The extension name of the room hello.
pub(crate) const ROOM_EXTENSION: &str = "hychat/room";
/// What one member tells another on the room channel: who it is, and the
/// members it knows (so someone joining late learns of members now offline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomHello {
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
pub(crate) enum RoomHelloError {
    #[error("room hello of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("room hello is not valid: {0}")]
    Malformed(String),
}

impl RoomHello {
    pub(crate) fn encode(&self) -> Vec<u8> {
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
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, RoomHelloError> {
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
    pub(crate) fn to_message(&self) -> Message {
        Message::Extension(Extension {
            name: ROOM_EXTENSION.to_string(),
            message: self.encode(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LogKey;

    fn member(byte: u8, nick: &str) -> Member {
        Member {
            key: LogKey([byte; 32]),
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
