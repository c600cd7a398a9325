//! The hychat hello: which logs a hychat peer holds, sent once per
//! connection as a hypercore-protocol `Extension` message on the first shared
//! channel. JS peers ignore unknown extensions, so this is safe with them, and
//! it is how one hychat learns that another follows a key (DESIGN §2: open a
//! log only when the peer wants it). Incoming hellos are picked out of the
//! decrypted frames by `frames`. Pure; never panics on input.

use hypercore_protocol::schema::Extension;
use hypercore_protocol::Message;
use serde::{Deserialize, Serialize};

use super::keys::{DiscoveryKey, FeedKey};

/// The extension name every hychat peer sends.
pub const HELLO_EXTENSION: &str = "hychat/hello";
/// Larger hellos are ignored.
pub const MAX_HELLO_BYTES: usize = 64 * 1024;
/// At most this many logs are read from one hello.
pub const MAX_HELLO_LOGS: usize = 1024;

/// A peer's hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Random per process: two connections with the same session are one peer.
    pub session: [u8; 16],
    /// The logs the peer holds: its own and the ones it follows.
    pub logs: Vec<FeedKey>,
    /// The topics of the rooms the peer is in, so a connection found on a
    /// log's topic opens the rooms both sides are in too. A topic names a
    /// room only to someone who knows the room's name.
    pub rooms: Vec<DiscoveryKey>,
}

#[derive(Serialize, Deserialize)]
struct HelloWire {
    hychat: u32,
    session: String,
    logs: Vec<String>,
    #[serde(default)]
    rooms: Vec<String>,
}

impl Hello {
    pub fn encode(&self) -> Vec<u8> {
        let wire = HelloWire {
            hychat: 1,
            session: hex::encode(self.session),
            logs: self.logs.iter().map(FeedKey::to_hex).collect(),
            rooms: self.rooms.iter().map(|t| hex::encode(t.0)).collect(),
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Decodes an untrusted hello; keys that do not parse are dropped.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > MAX_HELLO_BYTES {
            return None;
        }
        let wire: HelloWire = serde_json::from_slice(bytes).ok()?;
        let session: [u8; 16] = hex::decode(&wire.session).ok()?.try_into().ok()?;
        let logs = wire
            .logs
            .iter()
            .take(MAX_HELLO_LOGS)
            .filter_map(|k| k.parse().ok())
            .collect();
        let rooms = wire
            .rooms
            .iter()
            .take(MAX_HELLO_LOGS)
            .filter_map(|t| hex::decode(t).ok()?.try_into().ok().map(DiscoveryKey))
            .collect();
        Some(Self {
            session,
            logs,
            rooms,
        })
    }

    /// The protocol message that carries this hello.
    pub fn to_message(&self) -> Message {
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
            session: [9; 16],
            logs: vec![FeedKey([1; 32]), FeedKey([2; 32])],
            rooms: vec![DiscoveryKey([3; 32])],
        }
    }

    #[test]
    fn round_trips() {
        assert_eq!(Hello::decode(&hello().encode()), Some(hello()));
    }

    #[test]
    fn hostile_hellos_are_refused_or_trimmed() {
        assert_eq!(Hello::decode(b"\xff\xfe"), None);
        assert_eq!(
            Hello::decode(br#"{"hychat":1,"session":"zz","logs":[]}"#),
            None
        );
        let bad_key =
            br#"{"hychat":1,"session":"09090909090909090909090909090909","logs":["nope"]}"#;
        assert_eq!(Hello::decode(bad_key).unwrap().logs, vec![]);
        assert_eq!(Hello::decode(&vec![b' '; MAX_HELLO_BYTES + 1]), None);
    }
}
