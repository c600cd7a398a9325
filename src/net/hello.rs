//! The hychat hello: which logs a hychat peer holds, sent once per
//! connection as a hypercore-protocol `Extension` message on the first shared
//! channel. JS peers ignore unknown extensions, so this is safe with them, and
//! it is how one hychat learns that another follows a key (DESIGN §2: open a
//! log only when the peer wants it). The replication code consumes channel
//! messages itself, so incoming hellos are picked out of the decrypted frames.
//! Pure: encoding, decoding and frame sniffing; never panics on input.

use compact_encoding::CompactEncoding;
use hypercore_protocol::schema::Extension;
use hypercore_protocol::Message;
use serde::{Deserialize, Serialize};

use super::keys::FeedKey;

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
}

#[derive(Serialize, Deserialize)]
struct HelloWire {
    hychat: u32,
    session: String,
    logs: Vec<String>,
}

impl Hello {
    pub fn encode(&self) -> Vec<u8> {
        let wire = HelloWire {
            hychat: 1,
            session: hex::encode(self.session),
            logs: self.logs.iter().map(FeedKey::to_hex).collect(),
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
        Some(Self { session, logs })
    }

    /// The protocol message that carries this hello.
    pub fn to_message(&self) -> Message {
        Message::Extension(Extension {
            name: HELLO_EXTENSION.to_string(),
            message: self.encode(),
        })
    }
}

/// Payloads of hello extensions found in one decrypted protocol frame.
/// Frames are one message (`channel, message`), a batch (`0 0 channel`
/// then length-prefixed messages, `0 channel` switching channel), or an
/// open/close (`0 1` / `0 3`), which never carry extensions.
pub fn hellos_in_frame(frame: &[u8]) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    match frame {
        [0, 0, rest @ ..] => {
            let Ok((_, mut rest)) = u64::decode(rest) else {
                return found;
            };
            while !rest.is_empty() {
                if rest[0] == 0 {
                    // A channel switch: lengths are never zero.
                    match u64::decode(&rest[1..]) {
                        Ok((_, after)) => rest = after,
                        Err(_) => break,
                    }
                    continue;
                }
                let Ok((length, after)) = compact_encoding::decode_usize(rest) else {
                    break;
                };
                if length > after.len() {
                    break;
                }
                collect_hello(&after[..length], &mut found);
                rest = &after[length..];
            }
        }
        [0, _, ..] => {}
        _ => {
            if let Ok((_, message)) = u64::decode(frame) {
                collect_hello(message, &mut found);
            }
        }
    }
    found
}

/// The wire type of `Message::Extension`.
const EXTENSION_TYPE: u64 = 9;

fn collect_hello(message: &[u8], found: &mut Vec<Vec<u8>>) {
    // Only extensions are decoded: data messages carry whole blocks.
    if !matches!(u64::decode(message), Ok((EXTENSION_TYPE, _))) {
        return;
    }
    if let Ok((Message::Extension(extension), _)) = <Message as CompactEncoding>::decode(message) {
        if extension.name == HELLO_EXTENSION {
            found.push(extension.message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Hello {
        Hello {
            session: [9; 16],
            logs: vec![FeedKey([1; 32]), FeedKey([2; 32])],
        }
    }

    fn encode_message(message: &Message) -> Vec<u8> {
        let size = message.encoded_size().unwrap();
        let mut buffer = vec![0u8; size];
        message.encode(&mut buffer).unwrap();
        buffer
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

    #[test]
    fn finds_a_hello_in_a_single_message_frame() {
        let mut frame = vec![3u8]; // channel 3
        frame.extend(encode_message(&hello().to_message()));
        assert_eq!(hellos_in_frame(&frame), vec![hello().encode()]);
    }

    #[test]
    fn finds_a_hello_in_a_batch_after_a_channel_switch() {
        let other = Message::Extension(Extension {
            name: "someone/else".into(),
            message: vec![1, 2, 3],
        });
        let first = encode_message(&other);
        let second = encode_message(&hello().to_message());
        let mut frame = vec![0, 0, 1, first.len() as u8];
        frame.extend(&first);
        frame.extend([0, 2, second.len() as u8]);
        frame.extend(&second);
        assert_eq!(hellos_in_frame(&frame), vec![hello().encode()]);
    }

    #[test]
    fn garbage_frames_yield_nothing() {
        for frame in [
            &[][..],
            &[0],
            &[0, 0],
            &[0, 0, 1, 200, 1],
            &[0, 1, 5],
            &[7, 9, 200, 200],
        ] {
            assert!(hellos_in_frame(frame).is_empty());
        }
    }
}
