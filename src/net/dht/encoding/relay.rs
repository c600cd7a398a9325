//! The bytes of the blind relay, as JS `protomux` and `blind-relay` lay
//! them out: each secret-stream message is one protomux frame (a channel
//! id, a message type, a body), and the `blind-relay` channel carries two
//! messages, `pair` and `unpair`. Pure; every decoder takes untrusted
//! bytes and refuses what it cannot read, never panicking.
//!
//! protomux frames: channel 0 is the control channel, whose types are
//! `batch` (0: several messages in one frame), `open` (1), `reject` (2)
//! and `close` (3); any other channel id is the *sender's* local id of an
//! open channel, and the type picks one of that channel's messages.
//!
//! | frame | body |
//! |---|---|
//! | open | `uint localId, string protocol, buffer id [, handshake]` |
//! | reject | `uint remoteId` (the id the peer opened with) |
//! | close | `uint localId` |
//! | batch | `uint localId`, then repeated `uint len, bytes`, where `len = 0` switches channel (`uint id`) |
//! | pair (blind-relay type 0) | `flags` (bit 0: initiator), `fixed32 token`, `uint id` (a UDX stream id), `uint seq` |
//! | unpair (blind-relay type 1) | `flags`, `fixed32 token` |

/// Why relay bytes could not be read.
pub(crate) use super::codec::CodecError as RelayError;
use super::codec::{put_buffer, put_uint, Reader};
use RelayError as CodecError;

/// The protocol name of the blind relay's channel.
pub(crate) const BLIND_RELAY: &str = "blind-relay";
/// A protocol name longer than this is refused (JS names are short).
const MAX_PROTOCOL: usize = 256;
/// A batch holds at most this many messages.
const MAX_BATCH: usize = 64;

/// One protomux frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// The sender opens its channel `local_id` for `protocol` (and `id`).
    Open {
        local_id: u64,
        protocol: String,
        id: Option<Vec<u8>>,
    },
    /// The sender refuses the channel the peer opened as `remote_id`.
    Reject { remote_id: u64 },
    /// The sender closes its channel `local_id`.
    Close { local_id: u64 },
    /// A message of type `kind` on the sender's channel `channel`.
    Message {
        channel: u64,
        kind: u64,
        body: Vec<u8>,
    },
}

impl Frame {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Frame::Open {
                local_id,
                protocol,
                id,
            } => {
                out.extend_from_slice(&[0, 1]);
                put_uint(&mut out, *local_id);
                put_buffer(&mut out, protocol.as_bytes());
                put_buffer(&mut out, id.as_deref().unwrap_or_default());
            }
            Frame::Reject { remote_id } => {
                out.extend_from_slice(&[0, 2]);
                put_uint(&mut out, *remote_id);
            }
            Frame::Close { local_id } => {
                out.extend_from_slice(&[0, 3]);
                put_uint(&mut out, *local_id);
            }
            Frame::Message {
                channel,
                kind,
                body,
            } => {
                put_uint(&mut out, *channel);
                put_uint(&mut out, *kind);
                out.extend_from_slice(body);
            }
        }
        out
    }

    /// The frames of one secret-stream message: one, or a batch's
    /// messages in order. An empty message is no frame (JS ignores it);
    /// an unknown control type is none either (JS ignores it too).
    pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<Frame>, CodecError> {
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        let mut r = Reader(bytes);
        let channel = r.uint()?;
        if channel != 0 {
            return Ok(vec![message(channel, r)?]);
        }
        match r.uint()? {
            0 => batch(r),
            1 => {
                let local_id = r.uint()?;
                let protocol = match r.buffer()? {
                    Some(name) if name.len() > MAX_PROTOCOL => {
                        return Err(CodecError::TooMany(name.len() as u64))
                    }
                    Some(name) => String::from_utf8_lossy(name).into_owned(),
                    None => String::new(),
                };
                let id = r.buffer()?.map(<[u8]>::to_vec);
                // A handshake may follow; the blind relay has none.
                Ok(vec![Frame::Open {
                    local_id,
                    protocol,
                    id,
                }])
            }
            2 => Ok(vec![Frame::Reject {
                remote_id: r.uint()?,
            }]),
            3 => Ok(vec![Frame::Close {
                local_id: r.uint()?,
            }]),
            _ => Ok(Vec::new()),
        }
    }
}

fn message(channel: u64, mut r: Reader<'_>) -> Result<Frame, CodecError> {
    let kind = r.uint()?;
    Ok(Frame::Message {
        channel,
        kind,
        body: r.0.to_vec(),
    })
}

/// A batch: messages of one channel after another, `len = 0` switching
/// the channel. Control messages inside a batch are read as JS reads them.
fn batch(mut r: Reader<'_>) -> Result<Vec<Frame>, CodecError> {
    let mut channel = r.uint()?;
    let mut frames = Vec::new();
    while !r.is_empty() {
        let len = r.uint()?;
        if len == 0 {
            channel = r.uint()?;
            continue;
        }
        if frames.len() >= MAX_BATCH {
            return Err(CodecError::TooMany(frames.len() as u64 + 1));
        }
        let len = usize::try_from(len).map_err(|_| CodecError::Truncated)?;
        let inner = r.take(len)?;
        if channel == 0 {
            // A control message in a batch: its type and body, re-framed.
            let mut framed = vec![0];
            framed.extend_from_slice(inner);
            frames.extend(Frame::decode(&framed)?);
        } else {
            frames.push(message(channel, Reader(inner))?);
        }
    }
    Ok(frames)
}

/// The blind relay's `pair` (message type 0) and `unpair` (type 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RelayMessage {
    /// Pair the UDX stream `id` with whoever sends the same `token` in the
    /// other role; from the relay, `id` is the link's stream at the relay.
    Pair {
        initiator: bool,
        token: [u8; 32],
        id: u32,
        seq: u64,
    },
    /// Cancel a pairing, pending or active.
    Unpair { token: [u8; 32] },
}

pub(crate) const PAIR: u64 = 0;
pub(crate) const UNPAIR: u64 = 1;

impl RelayMessage {
    /// The message's type and body.
    pub(crate) fn encode(&self) -> (u64, Vec<u8>) {
        let mut out = Vec::new();
        match self {
            RelayMessage::Pair {
                initiator,
                token,
                id,
                seq,
            } => {
                out.push(u8::from(*initiator));
                out.extend_from_slice(token);
                put_uint(&mut out, u64::from(*id));
                put_uint(&mut out, *seq);
                (PAIR, out)
            }
            RelayMessage::Unpair { token } => {
                out.push(0);
                out.extend_from_slice(token);
                (UNPAIR, out)
            }
        }
    }

    /// A message of `kind` with `body`; `None` for a type the blind relay
    /// does not have. A stream id beyond 32 bits is refused.
    pub(crate) fn decode(kind: u64, body: &[u8]) -> Result<Option<RelayMessage>, CodecError> {
        let mut r = Reader(body);
        match kind {
            PAIR => {
                let flags = r.u8()?;
                let token = r.fixed32()?;
                let id = u32::try_from(r.uint()?).map_err(|_| CodecError::TooMany(u64::MAX))?;
                let seq = r.uint()?;
                Ok(Some(RelayMessage::Pair {
                    initiator: flags & 1 == 1,
                    token,
                    id,
                    seq,
                }))
            }
            UNPAIR => {
                let _flags = r.u8()?;
                Ok(Some(RelayMessage::Unpair {
                    token: r.fixed32()?,
                }))
            }
            _ => Ok(None),
        }
    }

    /// The whole frame on the sender's channel `channel`.
    pub(crate) fn frame(&self, channel: u64) -> Frame {
        let (kind, body) = self.encode();
        Frame::Message {
            channel,
            kind,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The frames a JS blind-relay client writes (the shared transport
    /// note, 7.5): client key aa×32, token bb×32, stream id 0x11223344.
    #[test]
    fn the_js_clients_frames_match_byte_for_byte() {
        let open = Frame::Open {
            local_id: 1,
            protocol: BLIND_RELAY.to_string(),
            id: Some(vec![0xaa; 32]),
        };
        let expected = format!("00 01 01 0b 626c696e642d72656c6179 20 {}", "aa".repeat(32));
        assert_eq!(open.encode(), hex(&expected));
        assert_eq!(Frame::decode(&hex(&expected)).unwrap(), vec![open]);

        let pair = RelayMessage::Pair {
            initiator: true,
            token: [0xbb; 32],
            id: 0x1122_3344,
            seq: 0,
        };
        let expected = format!("01 00 01 {} fe44332211 00", "bb".repeat(32));
        assert_eq!(pair.frame(1).encode(), hex(&expected));
        let frames = Frame::decode(&hex(&expected)).unwrap();
        let [Frame::Message {
            channel: 1,
            kind,
            body,
        }] = frames.as_slice()
        else {
            panic!("not one message on channel 1");
        };
        assert_eq!(RelayMessage::decode(*kind, body).unwrap(), Some(pair));

        let unpair = RelayMessage::Unpair { token: [0xbb; 32] };
        let expected = format!("01 01 00 {}", "bb".repeat(32));
        assert_eq!(unpair.frame(1).encode(), hex(&expected));

        let answer = RelayMessage::Pair {
            initiator: false,
            token: [0xbb; 32],
            id: 7,
            seq: 0,
        };
        assert_eq!(
            answer.encode().1,
            hex(&format!("00 {} 07 00", "bb".repeat(32)))
        );
    }

    #[test]
    fn a_batch_is_read_message_by_message_across_channels() {
        // batch: channel 1, a 3-byte message, switch to channel 2, a
        // 1-byte message; then an open inside a batch on channel 0.
        let bytes = hex("00 00 01 03 00 aa bb 00 02 01 05");
        assert_eq!(
            Frame::decode(&bytes).unwrap(),
            vec![
                Frame::Message {
                    channel: 1,
                    kind: 0,
                    body: vec![0xaa, 0xbb]
                },
                Frame::Message {
                    channel: 2,
                    kind: 5,
                    body: vec![]
                },
            ]
        );
        let open = Frame::Open {
            local_id: 3,
            protocol: "x".into(),
            id: None,
        }
        .encode();
        let mut batched = hex("00 00 00");
        batched.push(u8::try_from(open.len() - 1).unwrap());
        batched.extend_from_slice(&open[1..]);
        assert_eq!(
            Frame::decode(&batched).unwrap(),
            vec![Frame::Open {
                local_id: 3,
                protocol: "x".into(),
                id: None
            }]
        );
    }

    #[test]
    fn what_cannot_be_read_is_refused() {
        for bad in [
            hex("00 01"),          // open without an id
            hex("00 01 01 05 61"), // protocol cut short
            hex("00 00 01 05 00"), // batch entry cut short
            hex("01"),             // message without a type
            hex("fe 01"),          // channel id cut short
        ] {
            assert!(Frame::decode(&bad).is_err(), "{bad:02x?}");
        }
        assert!(RelayMessage::decode(PAIR, &[1; 20]).is_err());
        assert!(RelayMessage::decode(UNPAIR, &[0; 10]).is_err());
        // A stream id beyond 32 bits.
        let mut body = vec![1];
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0xff, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert!(RelayMessage::decode(PAIR, &body).is_err());
        assert_eq!(RelayMessage::decode(9, &[]).unwrap(), None);
        assert_eq!(Frame::decode(&[]).unwrap(), vec![]);
        assert_eq!(Frame::decode(&hex("00 09 01")).unwrap(), vec![]);
    }

    fn any_frame() -> impl Strategy<Value = Frame> {
        prop_oneof![
            (
                1..u64::MAX,
                "[a-z-]{1,20}",
                proptest::option::of(proptest::collection::vec(any::<u8>(), 1..40))
            )
                .prop_map(|(local_id, protocol, id)| Frame::Open {
                    local_id,
                    protocol,
                    id
                }),
            any::<u64>().prop_map(|remote_id| Frame::Reject { remote_id }),
            any::<u64>().prop_map(|local_id| Frame::Close { local_id }),
            (
                1..u64::MAX,
                any::<u64>(),
                proptest::collection::vec(any::<u8>(), 0..80)
            )
                .prop_map(|(channel, kind, body)| Frame::Message {
                    channel,
                    kind,
                    body
                }),
        ]
    }

    fn any_relay_message() -> impl Strategy<Value = RelayMessage> {
        prop_oneof![
            (any::<bool>(), any::<[u8; 32]>(), any::<u32>(), any::<u64>()).prop_map(
                |(initiator, token, id, seq)| RelayMessage::Pair {
                    initiator,
                    token,
                    id,
                    seq
                }
            ),
            any::<[u8; 32]>().prop_map(|token| RelayMessage::Unpair { token }),
        ]
    }

    proptest! {
        #[test]
        fn frames_round_trip(frame in any_frame()) {
            prop_assert_eq!(Frame::decode(&frame.encode()).unwrap(), vec![frame]);
        }

        #[test]
        fn relay_messages_round_trip(message in any_relay_message()) {
            let (kind, body) = message.encode();
            prop_assert_eq!(RelayMessage::decode(kind, &body).unwrap(), Some(message));
        }

        #[test]
        fn any_bytes_decode_or_refuse(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(frames) = Frame::decode(&bytes) {
                for frame in frames {
                    if let Frame::Message { kind, body, .. } = frame {
                        let _ = RelayMessage::decode(kind, &body);
                    }
                }
            }
        }
    }
}
