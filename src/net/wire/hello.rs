//! The hychat hello: which topics a hychat peer holds (the discovery keys of
//! its logs and the topics of its rooms), sent once per connection, and again
//! when that set changes, as a hypercore-protocol `Extension` message on a
//! shared channel. JS peers ignore unknown extensions, so this is safe with
//! them, and it is how one hychat learns that another holds a log too
//! (docs/architecture.md §2: open a log only when the peer wants it). Discovery keys, not
//! public keys: a peer learns only what it holds already, never a key that
//! would let it read a log. Incoming hellos are picked out of the decrypted
//! frames by `compat::frames`. Pure; never panics on input.

use hypercore_protocol::schema::Extension;
use hypercore_protocol::Message;
use serde::{Deserialize, Serialize};

use crate::domain::keys::DiscoveryKey;
use crate::domain::SessionId;
use crate::net::route::Place;
use crate::net::types::Nat;

/// The extension name every hychat peer sends.
pub(crate) const HELLO_EXTENSION: &str = "hychat/hello";
/// Larger hellos are refused (and the peer disconnected).
pub(crate) const MAX_HELLO_BYTES: usize = 64 * 1024;
/// At most this many topics are read from one hello.
pub(crate) const MAX_HELLO_TOPICS: usize = 1024;

/// A peer's hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hello {
    /// Random per process: two connections with the same session are one peer.
    pub session: SessionId,
    /// What the peer holds: the discovery keys of its logs (its own and the
    /// ones it follows or holds for a room) and the topics of its rooms.
    pub topics: Vec<DiscoveryKey>,
    /// The peer's own log, by discovery key: every other log it serves, it relays.
    pub own: Option<DiscoveryKey>,
    /// Where the peer says it is on the network (hychat 0.1 peers do not say).
    pub place: Option<Place>,
}

#[derive(Serialize, Deserialize)]
struct HelloWire {
    hychat: u32,
    session: String,
    topics: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    own: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    place: Option<PlaceWire>,
}

#[derive(Serialize, Deserialize)]
struct PlaceWire {
    local: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public: Option<String>,
    #[serde(default)]
    nat: String,
}

impl PlaceWire {
    fn from_place(place: &Place) -> Self {
        Self {
            local: place.local.to_string(),
            public: place.public_ip.map(|ip| ip.to_string()),
            nat: match place.nat {
                Nat::Unknown => "unknown",
                Nat::None => "none",
                Nat::Consistent => "consistent",
                Nat::Random => "random",
            }
            .to_string(),
        }
    }

    /// An untrusted place; an unreadable local address drops the whole place.
    fn to_place(&self) -> Option<Place> {
        Some(Place {
            local: self.local.parse().ok()?,
            public_ip: self.public.as_deref().and_then(|p| p.parse().ok()),
            nat: match self.nat.as_str() {
                "none" => Nat::None,
                "consistent" => Nat::Consistent,
                "random" => Nat::Random,
                _ => Nat::Unknown,
            },
        })
    }
}

fn decode_key(text: &str) -> Option<DiscoveryKey> {
    hex::decode(text).ok()?.try_into().ok().map(DiscoveryKey)
}

impl Hello {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let wire = HelloWire {
            hychat: 1,
            session: self.session.to_hex(),
            topics: self.topics.iter().map(|t| hex::encode(t.0)).collect(),
            own: self.own.map(|k| hex::encode(k.0)),
            place: self.place.as_ref().map(PlaceWire::from_place),
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Decodes an untrusted hello; topics that do not parse are dropped.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > MAX_HELLO_BYTES {
            return None;
        }
        let wire: HelloWire = serde_json::from_slice(bytes).ok()?;
        let session = SessionId(hex::decode(&wire.session).ok()?.try_into().ok()?);
        let topics = wire
            .topics
            .iter()
            .take(MAX_HELLO_TOPICS)
            .filter_map(|t| decode_key(t))
            .collect();
        Some(Self {
            session,
            topics,
            own: wire.own.as_deref().and_then(decode_key),
            place: wire.place.as_ref().and_then(PlaceWire::to_place),
        })
    }

    /// The protocol message that carries this hello.
    pub(crate) fn to_message(&self) -> Message {
        Message::Extension(Extension {
            name: HELLO_EXTENSION.to_string(),
            message: self.encode(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Hello {
        Hello {
            session: SessionId([9; 16]),
            topics: vec![DiscoveryKey([1; 32]), DiscoveryKey([3; 32])],
            own: Some(DiscoveryKey([1; 32])),
            place: Some(Place {
                local: "10.0.1.2:40000".parse().unwrap(),
                public_ip: Some("203.0.113.2".parse().unwrap()),
                nat: Nat::Consistent,
            }),
        }
    }

    #[test]
    fn a_hello_of_an_earlier_hychat_still_reads() {
        let old = br#"{"hychat":1,"session":"09090909090909090909090909090909","topics":[]}"#;
        let hello = Hello::decode(old).unwrap();
        assert_eq!((hello.own, hello.place), (None, None));
    }

    #[test]
    fn a_bad_place_or_own_key_is_dropped_not_fatal() {
        let odd = br#"{"hychat":1,"session":"09090909090909090909090909090909","topics":[],"own":"zz","place":{"local":"nowhere","nat":"x"}}"#;
        let hello = Hello::decode(odd).unwrap();
        assert_eq!((hello.own, hello.place), (None, None));
    }

    #[test]
    fn round_trips() {
        assert_eq!(Hello::decode(&hello().encode()), Some(hello()));
    }

    #[test]
    fn hostile_hellos_are_refused_or_trimmed() {
        assert_eq!(Hello::decode(b"\xff\xfe"), None);
        assert_eq!(
            Hello::decode(br#"{"hychat":1,"session":"zz","topics":[]}"#),
            None
        );
        let bad_topic =
            br#"{"hychat":1,"session":"09090909090909090909090909090909","topics":["nope","00"]}"#;
        assert_eq!(Hello::decode(bad_topic).unwrap().topics, vec![]);
        assert_eq!(Hello::decode(&vec![b' '; MAX_HELLO_BYTES + 1]), None);
    }
}
