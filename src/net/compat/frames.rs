//! Reads decrypted hypercore-protocol frames as they pass by, for the few
//! facts `Protocol` does not expose: hychat hellos (an extension on a
//! channel the peer opened), and, for the test tap, which channel carries
//! which log and the blocks asked for and sent. Frames are
//! one message (`channel, message`), a batch (`0 0 channel`, then
//! length-prefixed messages, with `0 channel` switching channel), or an
//! open/close (`0 1` / `0 3`). Pure; never panics on input.

use compact_encoding::CompactEncoding;
use hypercore_protocol::schema::Open;
use hypercore_protocol::Message;

use crate::net::wire::hello::HELLO_EXTENSION;

/// Wire types of the messages worth decoding. Incoming data messages carry
/// whole blocks and are never decoded twice; outgoing ones are our own small
/// chat blocks.
const REQUEST_TYPE: u64 = 1;
const DATA_TYPE: u64 = 3;
const EXTENSION_TYPE: u64 = 9;

/// Which way a frame travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From the peer: hellos and requests are read.
    Incoming,
    /// To the peer: the blocks we send are read.
    Outgoing,
}

/// Something a peer said, seen in one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// A channel was opened (by the frame's sender) for this discovery key.
    Opened {
        channel: u64,
        discovery_key: [u8; 32],
    },
    /// A hychat hello payload.
    Hello(Vec<u8>),
    /// We sent the peer block `index` of the log on `channel`.
    Sent { channel: u64, index: u64 },
    /// A request for the log on `channel`: for block `block` and/or for an
    /// upgrade of `upgrade` = (start, length) blocks. Incoming, the peer
    /// asks us; outgoing, we ask the peer.
    Requested {
        channel: u64,
        block: Option<u64>,
        upgrade: Option<(u64, u64)>,
    },
}

pub(crate) fn read_frame(frame: &[u8], direction: Direction) -> Vec<Seen> {
    let mut seen = Vec::new();
    if let [0, 1, rest @ ..] = frame {
        if let Ok((open, _)) = Open::decode(rest) {
            if let Ok(discovery_key) = open.discovery_key.try_into() {
                seen.push(Seen::Opened {
                    channel: open.channel,
                    discovery_key,
                });
            }
        }
        return seen;
    }
    for_each_message(frame, |channel, message| {
        read_message(channel, message, direction, &mut seen);
    });
    seen
}

/// Whether every message in an incoming frame is one the protocol's
/// decoder can take without reserving more than its bytes justify
/// (`decoder_guard`). Control frames (open, close) carry no vectors.
pub(crate) fn frame_is_safe(frame: &[u8]) -> bool {
    let mut safe = true;
    for_each_message(frame, |_, message| {
        safe &= super::decoder_guard::message_is_safe(message);
    });
    safe
}

/// Calls `each` with the channel and bytes of every message in a frame: one
/// message, or a batch. Control frames hold none.
fn for_each_message(frame: &[u8], mut each: impl FnMut(u64, &[u8])) {
    match frame {
        [0, 0, rest @ ..] => read_batch(rest, &mut each),
        [0, _, ..] => {}
        _ => {
            if let Ok((channel, message)) = u64::decode(frame) {
                each(channel, message);
            }
        }
    }
}

fn read_batch(rest: &[u8], each: &mut impl FnMut(u64, &[u8])) {
    let Ok((mut channel, mut rest)) = u64::decode(rest) else {
        return;
    };
    while let Some((&first, after_first)) = rest.split_first() {
        if first == 0 {
            // A channel switch: message lengths are never zero.
            match u64::decode(after_first) {
                Ok((next, after)) => (channel, rest) = (next, after),
                Err(_) => return,
            }
            continue;
        }
        let Ok((length, after)) = compact_encoding::decode_usize(rest) else {
            return;
        };
        if length > after.len() {
            return;
        }
        each(channel, &after[..length]);
        rest = &after[length..];
    }
}

fn read_message(channel: u64, message: &[u8], direction: Direction, seen: &mut Vec<Seen>) {
    match (direction, u64::decode(message)) {
        (_, Ok((REQUEST_TYPE, _))) => {}
        (Direction::Incoming, Ok((EXTENSION_TYPE, _))) => {}
        (Direction::Outgoing, Ok((DATA_TYPE, _))) => {}
        _ => return,
    }
    match <Message as CompactEncoding>::decode(message) {
        Ok((Message::Request(request), _)) => {
            seen.push(Seen::Requested {
                channel,
                block: request.block.map(|block| block.index),
                upgrade: request
                    .upgrade
                    .map(|upgrade| (upgrade.start, upgrade.length)),
            });
        }
        Ok((Message::Data(data), _)) => {
            if let Some(block) = data.block {
                seen.push(Seen::Sent {
                    channel,
                    index: block.index,
                });
            }
        }
        Ok((Message::Extension(extension), _)) if extension.name == HELLO_EXTENSION => {
            seen.push(Seen::Hello(extension.message));
        }
        _ => {}
    }
}

/// A request `id` for a block `(index, nodes)` and an upgrade `(start,
/// length)`, nothing else: what the tests of requests ask with.
#[cfg(test)]
pub(crate) fn test_request(
    id: u64,
    block: Option<(u64, u64)>,
    upgrade: Option<(u64, u64)>,
) -> hypercore_protocol::schema::Request {
    use hypercore_schema::{RequestBlock, RequestUpgrade};
    hypercore_protocol::schema::Request {
        id,
        fork: 0,
        block: block.map(|(index, nodes)| RequestBlock { index, nodes }),
        hash: None,
        seek: None,
        upgrade: upgrade.map(|(start, length)| RequestUpgrade { start, length }),
        manifest: false,
        priority: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypercore_protocol::schema::Extension;
    use proptest::prelude::*;

    fn encode<T: CompactEncoding>(value: &T) -> Vec<u8> {
        let mut buffer = vec![0u8; value.encoded_size().unwrap()];
        value.encode(&mut buffer).unwrap();
        buffer
    }

    fn hello_message() -> Message {
        Message::Extension(Extension {
            name: HELLO_EXTENSION.into(),
            message: b"hi".to_vec(),
        })
    }

    #[test]
    fn reads_a_single_message_frame() {
        let mut frame = vec![3u8];
        frame.extend(encode(&hello_message()));
        assert_eq!(
            read_frame(&frame, Direction::Incoming),
            vec![Seen::Hello(b"hi".to_vec())]
        );
    }

    #[test]
    fn reads_a_batch_across_a_channel_switch() {
        let other = Message::Extension(Extension {
            name: "someone/else".into(),
            message: vec![1, 2, 3],
        });
        let (first, second, third) = (
            encode(&other),
            encode(&hello_message()),
            encode(&request(Some(4), None)),
        );
        let mut frame = vec![0, 0, 1, first.len() as u8];
        frame.extend(&first);
        frame.extend([0, 2, second.len() as u8]);
        frame.extend(&second);
        frame.extend([third.len() as u8]);
        frame.extend(&third);
        assert_eq!(
            read_frame(&frame, Direction::Incoming),
            vec![
                Seen::Hello(b"hi".to_vec()),
                Seen::Requested {
                    channel: 2,
                    block: Some(4),
                    upgrade: None
                }
            ]
        );
    }

    #[test]
    fn outgoing_frames_report_the_blocks_we_send_and_nothing_else() {
        let data = Message::Data(hypercore_protocol::schema::Data {
            request: 1,
            fork: 0,
            block: Some(hypercore_schema::DataBlock {
                index: 6,
                value: b"{}".to_vec(),
                nodes: vec![],
            }),
            hash: None,
            seek: None,
            upgrade: None,
        });
        let mut frame = vec![2u8];
        frame.extend(encode(&data));
        assert_eq!(
            read_frame(&frame, Direction::Outgoing),
            vec![Seen::Sent {
                channel: 2,
                index: 6
            }]
        );
        assert!(read_frame(&frame, Direction::Incoming).is_empty());
        let mut hello = vec![3u8];
        hello.extend(encode(&hello_message()));
        assert!(read_frame(&hello, Direction::Outgoing).is_empty());
    }

    #[test]
    fn a_frame_whose_counts_overrun_its_bytes_is_unsafe() {
        // A bitfield (type 7) at start 0 claiming 2^40 words: the decoder
        // would reserve 4 TiB for these 11 bytes.
        let hostile = [7u8, 0, 0xff, 0, 0, 0, 0, 0, 1, 0, 0];
        let mut single = vec![2u8];
        single.extend(hostile);
        assert!(!frame_is_safe(&single));
        let mut batched = vec![0, 0, 1, 2, 1, 0];
        batched.push(hostile.len() as u8);
        batched.extend(hostile);
        assert!(!frame_is_safe(&batched), "also inside a batch");
        let mut honest = vec![3u8];
        honest.extend(encode(&request(Some(4), None)));
        assert!(frame_is_safe(&honest));
        assert!(
            frame_is_safe(&[0, 1, 5, 5]),
            "control frames hold no vectors"
        );
    }

    #[test]
    fn reads_an_open() {
        let open = Open {
            channel: 5,
            protocol: "hypercore/alpha".into(),
            discovery_key: vec![7; 32],
            capability: None,
        };
        let mut frame = vec![0, 1];
        frame.extend(encode(&open));
        assert_eq!(
            read_frame(&frame, Direction::Incoming),
            vec![Seen::Opened {
                channel: 5,
                discovery_key: [7; 32]
            }]
        );
    }

    fn request(block: Option<u64>, upgrade: Option<(u64, u64)>) -> Message {
        let block = block.map(|index| (index, 3));
        Message::Request(test_request(9, block, upgrade))
    }

    #[test]
    fn reads_requests_both_ways() {
        let mut frame = vec![6u8];
        frame.extend(encode(&request(Some(40_000), Some((33_000, 7_001)))));
        let expected = vec![Seen::Requested {
            channel: 6,
            block: Some(40_000),
            upgrade: Some((33_000, 7_001)),
        }];
        assert_eq!(read_frame(&frame, Direction::Incoming), expected);
        assert_eq!(read_frame(&frame, Direction::Outgoing), expected);
        let mut upgrade_only = vec![6u8];
        upgrade_only.extend(encode(&request(None, Some((5, 1)))));
        assert_eq!(
            read_frame(&upgrade_only, Direction::Incoming),
            vec![Seen::Requested {
                channel: 6,
                block: None,
                upgrade: Some((5, 1)),
            }]
        );
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
            &[0, 0, 1, 0],
        ] {
            assert!(
                read_frame(frame, Direction::Incoming).is_empty(),
                "{frame:?}"
            );
            assert!(
                read_frame(frame, Direction::Outgoing).is_empty(),
                "{frame:?}"
            );
        }
    }

    /// Messages of a batch frame (`0 0 channel`, then length-prefixed
    /// messages, `0 channel` switching channel), each on its channel.
    fn batch(first_channel: u64, messages: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let mut frame = vec![0, 0];
        frame.extend(encode(&first_channel));
        let mut current = first_channel;
        for (channel, message) in messages {
            if *channel != current {
                frame.push(0);
                frame.extend(encode(channel));
                current = *channel;
            }
            frame.extend(encode(&(message.len() as u64)));
            frame.extend(message);
        }
        frame
    }

    fn any_request() -> impl Strategy<Value = (u64, Option<u64>, Option<(u64, u64)>)> {
        (
            1..u64::MAX,
            proptest::option::of(any::<u64>()),
            proptest::option::of((any::<u64>(), any::<u64>())),
        )
    }

    proptest! {
        #[test]
        fn any_bytes_read_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_frame(&bytes, Direction::Incoming);
            let _ = read_frame(&bytes, Direction::Outgoing);
        }

        #[test]
        fn any_prefix_of_a_batch_reads_without_panicking(
            requests in proptest::collection::vec(any_request(), 1..6),
            cut in any::<usize>(),
        ) {
            let messages: Vec<(u64, Vec<u8>)> = requests
                .iter()
                .map(|(channel, block, upgrade)| (*channel, encode(&request(*block, *upgrade))))
                .collect();
            let frame = batch(messages[0].0, &messages);
            let cut = cut % (frame.len() + 1);
            let _ = read_frame(&frame[..cut], Direction::Incoming);
            let _ = read_frame(&frame[..cut], Direction::Outgoing);
        }

        #[test]
        fn every_request_of_a_batch_is_read_on_its_channel(
            requests in proptest::collection::vec(any_request(), 1..6),
        ) {
            let messages: Vec<(u64, Vec<u8>)> = requests
                .iter()
                .map(|(channel, block, upgrade)| (*channel, encode(&request(*block, *upgrade))))
                .collect();
            let frame = batch(messages[0].0, &messages);
            let expected: Vec<Seen> = requests
                .iter()
                .map(|(channel, block, upgrade)| Seen::Requested {
                    channel: *channel,
                    block: *block,
                    upgrade: *upgrade,
                })
                .collect();
            prop_assert_eq!(read_frame(&frame, Direction::Incoming), expected.clone());
            prop_assert_eq!(read_frame(&frame, Direction::Outgoing), expected);
        }

        #[test]
        fn a_single_request_or_block_is_read(
            (channel, block, upgrade) in any_request(),
            index in any::<u64>(),
        ) {
            let mut frame = encode(&channel);
            frame.extend(encode(&request(block, upgrade)));
            prop_assert_eq!(
                read_frame(&frame, Direction::Incoming),
                vec![Seen::Requested { channel, block, upgrade }]
            );
            let data = Message::Data(hypercore_protocol::schema::Data {
                request: 1,
                fork: 0,
                block: Some(hypercore_schema::DataBlock {
                    index,
                    value: b"{}".to_vec(),
                    nodes: vec![],
                }),
                hash: None,
                seek: None,
                upgrade: None,
            });
            let mut frame = encode(&channel);
            frame.extend(encode(&data));
            prop_assert_eq!(
                read_frame(&frame, Direction::Outgoing),
                vec![Seen::Sent { channel, index }]
            );
        }
    }
}
