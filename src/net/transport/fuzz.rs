//! The transport's decoders as the fuzz bench (`benches/fuzz_transport.rs`)
//! drives them: each with a name, valid inputs to mutate, and a run that
//! feeds untrusted bytes and says how it went. Covered: the UDX packet
//! codec, the secret stream's frame decoder, the Noise reads of IK and XX,
//! the secret stream's receive path, and the UDX stream state machine fed
//! scripts of forged packets.
//!
//! A decoded value must be stable where there is an encoder: encoded again,
//! it decodes to itself (a Noise message that reads is the one our own
//! writer makes with the keys it names). Where the decoder is a state
//! machine, "unstable" is a broken invariant instead: a result that depends
//! on how the bytes were split, delivered bytes that are not a prefix of
//! what an honest sender sent, a buffer beyond its bound.
//!
//! Support for the bench only (reached through `net::testing`); it owns no
//! protocol logic.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::secret::frame::{self, FrameDecoder, FrameError, MAX_FRAME};
use super::secret::noise::{IkInitiator, IkResponder, KeyPair, Split, XxInitiator, XxResponder};
use super::secret::stream::{SecretError, SecretStream};
use super::udx::stream::{Stream, RWND_MAX};
use super::udx::wire::{
    self, Header, Packet, DATA, DESTROY, END, HEADER_LEN, HEARTBEAT, MAX_DATAGRAM, MESSAGE, SACK,
};
use crate::net::dht::encoding::crypto::NS_PEER_HANDSHAKE;

/// What one decoder made of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportOutcome {
    Decoded,
    Refused,
    /// Decoded, but the value does not survive its own encoding, or an
    /// invariant of the decoder broke (see the module's header).
    Unstable,
}

use TransportOutcome::{Decoded, Refused, Unstable};

/// One decoder under fuzz.
pub struct TransportDecoder {
    pub name: &'static str,
    /// Valid inputs, to mutate.
    pub samples: Vec<Vec<u8>>,
    pub run: fn(&[u8]) -> TransportOutcome,
}

/// Every decoder of the transport that reads what a peer sends.
pub fn transport_decoders() -> Vec<TransportDecoder> {
    vec![
        TransportDecoder {
            name: "udx::wire::decode",
            samples: udx_samples(),
            run: run_udx_wire,
        },
        TransportDecoder {
            name: "FrameDecoder (any bytes, split)",
            samples: frame_samples(),
            run: run_frames,
        },
        TransportDecoder {
            name: "FrameDecoder (valid frames, split)",
            samples: body_samples(),
            run: run_valid_frames,
        },
        TransportDecoder {
            name: "IkResponder::read_first",
            samples: written(&INITIATORS, |i, p| ik_first(i, key(FIRST_EPHEMERAL), p)),
            run: run_ik_read_first,
        },
        TransportDecoder {
            name: "IkInitiator::read_answer",
            samples: written(&EPHEMERALS, |e, p| Some(ik_answer(e, p)?.0)),
            run: run_ik_read_answer,
        },
        TransportDecoder {
            name: "XxResponder::read_first",
            samples: written(&[1], |i, p| xx_initiator(i).write_first(p).ok()),
            run: run_xx_read_first,
        },
        TransportDecoder {
            name: "XxInitiator::read_second",
            samples: XX_RESPONDERS
                .iter()
                .flat_map(|&r| written(&EPHEMERALS, |e, p| xx_second(key(r), e, p)))
                .collect(),
            run: run_xx_read_second,
        },
        TransportDecoder {
            name: "XxResponder::read_third",
            samples: written(&INITIATORS, |i, p| Some(xx_third(i, p)?.0)),
            run: run_xx_read_third,
        },
        TransportDecoder {
            name: "SecretStream::on_bytes (setup)",
            samples: secret_samples(false),
            run: run_secret_setup,
        },
        TransportDecoder {
            name: "SecretStream::on_bytes (messages)",
            samples: secret_samples(true),
            run: run_secret_messages,
        },
        TransportDecoder {
            name: "udx::Stream (forged packets)",
            samples: scripts(Mode::Hostile),
            run: run_stream_hostile,
        },
        TransportDecoder {
            name: "udx::Stream (honest data, forged)",
            samples: scripts(Mode::Honest),
            run: run_stream_honest,
        },
    ]
}

fn outcome(decoded: bool) -> TransportOutcome {
    if decoded {
        Decoded
    } else {
        Refused
    }
}

/// Decoded, and `ok`: every check of the decoded value held.
fn stable(ok: bool) -> TransportOutcome {
    if ok {
        Decoded
    } else {
        Unstable
    }
}

/// A generator seeded from the input itself (its FNV-1a hash), for the
/// choices a run makes about one input (where to split it): the same input
/// always runs the same way, so a failing one replays.
struct Mix(StdRng);

impl Mix {
    fn of(bytes: &[u8]) -> Self {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        Mix(StdRng::seed_from_u64(hash))
    }

    fn next(&mut self) -> u64 {
        self.0.gen()
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        self.0.gen_range(0..n)
    }
}

/// `bytes` cut into pieces of random lengths (some empty, some single
/// bytes, some long), in order.
fn pieces<'a>(bytes: &'a [u8], mix: &mut Mix) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let cap = [1, 2, 3, 4, 7, 60, 1500][mix.below(7)];
        let (piece, tail) = rest.split_at(mix.below(cap + 1).min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// `len` bytes of a pattern that differs at every offset.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

// ---------------------------------------------------------------------------
// The UDX packet codec
// ---------------------------------------------------------------------------

/// The decoded packet lies within the datagram (the header's fields where
/// they stand, the SACK blocks right after the header and inside the data
/// offset when the payload follows it, the payload its tail), and encodes
/// again to itself.
fn run_udx_wire(bytes: &[u8]) -> TransportOutcome {
    let Some(packet) = wire::decode(bytes) else {
        return Refused;
    };
    stable(within(bytes, &packet) && encodes_again(&packet))
}

fn within(bytes: &[u8], packet: &Packet<'_>) -> bool {
    let h = packet.header;
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let fields = bytes.len() >= HEADER_LEN
        && bytes[2] == h.kind
        && bytes[3] == h.data_offset
        && u32_at(4) == Some(h.id)
        && u32_at(8) == Some(h.rwnd)
        && u32_at(12) == Some(h.seq)
        && u32_at(16) == Some(h.ack);
    let start = HEADER_LEN + usize::from(h.data_offset);
    let payload = start <= bytes.len()
        && std::ptr::eq(packet.payload.as_ptr(), bytes[start..].as_ptr())
        && packet.payload.len() == bytes.len() - start;
    // With a payload after the data offset, the blocks are inside it.
    let room = if h.data_offset > 0 && !packet.payload.is_empty() {
        usize::from(h.data_offset)
    } else {
        bytes.len().saturating_sub(HEADER_LEN)
    };
    let sacks = (h.kind & SACK != 0 || packet.sacks.is_empty())
        && packet.sacks.len() * 8 <= room
        && packet.sacks.iter().enumerate().all(|(i, &(start, end))| {
            let at = HEADER_LEN + 8 * i;
            u32_at(at) == Some(start) && u32_at(at + 4) == Some(end)
        });
    fields && payload && sacks
}

/// Encoded by `wire::encode` and decoded again. libudx's wire has two
/// shapes for SACK blocks: inside the data offset, before a payload (and
/// then the rest of the offset is padding), or as the whole payload with
/// data offset 0 (the pure SACK, whose payload is the blocks themselves,
/// and which a data offset reaching the end also reads as).
fn encodes_again(packet: &Packet<'_>) -> bool {
    let h = packet.header;
    let offset = usize::from(h.data_offset);
    let mut out = Vec::new();
    if h.kind & SACK == 0 || (offset > 0 && !packet.payload.is_empty()) {
        let Some(padding) = offset
            .checked_sub(packet.sacks.len() * 8)
            .and_then(|p| u8::try_from(p).ok())
        else {
            return false;
        };
        wire::encode(&h, &packet.sacks, padding, packet.payload, &mut out);
        wire::decode(&out).as_ref() == Some(packet)
    } else {
        wire::encode(&h, &packet.sacks, 0, &[], &mut out);
        wire::decode(&out).is_some_and(|again| {
            again.header
                == Header {
                    data_offset: 0,
                    ..h
                }
                && again.sacks == packet.sacks
        })
    }
}

fn udx_samples() -> Vec<Vec<u8>> {
    let packet = |kind, seq, ack, sacks: &[(u32, u32)], padding, payload: &[u8]| {
        let header = Header {
            kind,
            data_offset: 0,
            id: 0x5566_7788,
            rwnd: RWND_MAX as u32,
            seq,
            ack,
        };
        let mut out = Vec::new();
        wire::encode(&header, sacks, padding, payload, &mut out);
        out
    };
    let blocks = [(4, 5), (7, 9), (12, 40)];
    vec![
        packet(DATA, 0, 0, &[], 0, b"hello"),
        packet(0, 1, 2, &[], 0, b""),
        packet(0, 0, 3, &blocks, 0, b""),
        packet(DATA, 5, 3, &blocks[..2], 0, b"abc"),
        packet(DATA, 30, 0, &[], 32, &pattern(1152)),
        packet(DATA | END, 9, 1, &blocks, 5, &pattern(40)),
        packet(MESSAGE, 1, 1, &[], 0, b"msg"),
        packet(END, 1, 1, &[], 0, b""),
        packet(DESTROY, 1, 0, &[], 0, b""),
        packet(HEARTBEAT, 1, 0, &[], 0, b""),
    ]
}

// ---------------------------------------------------------------------------
// The secret stream's frames
// ---------------------------------------------------------------------------

/// What a frame decoder made of a whole input, however it was fed.
#[derive(Debug, PartialEq, Eq)]
struct Framing {
    frames: Vec<Vec<u8>>,
    error: Option<FrameError>,
    idle: bool,
}

/// Feeds `pieces` in order, one frame at a time, going on after an error
/// (which must then stay); None when the decoder's buffer grew beyond what
/// it was given (at most doubling, plus a little).
fn framing<'a>(limit: usize, pieces: impl IntoIterator<Item = &'a [u8]>) -> Option<Framing> {
    let mut decoder = FrameDecoder::with_limit(limit);
    let mut frames = Vec::new();
    let mut error = None;
    let mut fed = 0;
    for piece in pieces {
        fed += piece.len();
        let mut input = piece;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(frame)) if error.is_none() => frames.push(frame),
                Ok(None) if error.is_none() => break,
                Err(e) if error.as_ref().is_none_or(|first| *first == e) => {
                    error = Some(e);
                    break;
                }
                // Bytes taken after an error, or an error that changed.
                _ => return None,
            }
        }
        if decoder.buffered_capacity() > 2 * fed + 64 {
            return None;
        }
    }
    Some(Framing {
        frames,
        error,
        idle: decoder.is_idle(),
    })
}

/// Arbitrary bytes, whole, in random pieces and byte by byte: the same
/// frames and the same error every way; the frames encoded again are the
/// input up to what is left, which is an unfinished frame (or the one too
/// long). Under the largest limit any bytes are frames (refused: no frame
/// whole); under a small one, from 0 to 299, long frames are refused.
fn run_frames(bytes: &[u8]) -> TransportOutcome {
    let mut mix = Mix::of(bytes);
    let small = mix.below(300);
    match (
        frames_check(bytes, MAX_FRAME, &mut mix),
        frames_check(bytes, small, &mut mix),
    ) {
        (Some(framing), Some(_)) => outcome(framing.error.is_none() && !framing.frames.is_empty()),
        _ => Unstable,
    }
}

/// `run_frames` under one limit; None when a check failed.
fn frames_check(bytes: &[u8], limit: usize, mix: &mut Mix) -> Option<Framing> {
    let whole = framing(limit, [bytes])?;
    let split = framing(limit, pieces(bytes, mix))?;
    let bytewise = framing(limit, bytes.chunks(1))?;
    if split != whole || bytewise != whole {
        return None;
    }
    let mut again = Vec::new();
    for body in &whole.frames {
        frame::encode_into(&mut again, body).ok()?;
    }
    let rest = bytes.strip_prefix(&again[..])?;
    let declared = rest
        .get(..frame::HEADER_LEN)
        .map(|h| usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16);
    let consistent = match &whole.error {
        Some(FrameError::TooLong { len, limit: l }) => {
            declared == Some(*len) && *len > limit && *l == limit
        }
        None => {
            whole.idle == rest.is_empty()
                && declared.is_none_or(|len| rest.len() < frame::HEADER_LEN + len)
        }
    };
    consistent.then_some(whole)
}

/// Any bytes as a sequence of frames with arbitrary split points.
fn frame_samples() -> Vec<Vec<u8>> {
    let mut samples = Vec::new();
    for bodies in [
        vec![b"hello".to_vec()],
        vec![vec![], b"x".to_vec(), pattern(300)],
        vec![pattern(56), pattern(20), vec![], pattern(1)],
    ] {
        let mut wire = Vec::new();
        for body in &bodies {
            let _ = frame::encode_into(&mut wire, body);
        }
        samples.push(wire);
    }
    // A frame, then the largest length; a frame, then one cut short.
    samples.push(vec![1, 0, 0, b'a', 0xff, 0xff, 0xff, 1, 2, 3]);
    samples.push(vec![1, 0, 0, b'a', 10, 0, 0, 1, 2, 3]);
    samples
}

/// The input as bodies (a length byte, then that many bytes), framed, then
/// fed whole, in random pieces and byte by byte: exactly the bodies come
/// out every way, and the decoder ends idle.
fn run_valid_frames(bytes: &[u8]) -> TransportOutcome {
    let mut bodies = Vec::new();
    let mut rest = bytes;
    while let Some((&len, tail)) = rest.split_first() {
        let (body, tail) = tail.split_at(usize::from(len).min(tail.len()));
        bodies.push(body.to_vec());
        rest = tail;
    }
    let mut wire = Vec::new();
    for body in &bodies {
        if frame::encode_into(&mut wire, body).is_err() {
            return Unstable;
        }
    }
    let want = Framing {
        frames: bodies,
        error: None,
        idle: true,
    };
    let mut mix = Mix::of(bytes);
    let every_way = [
        framing(MAX_FRAME, [&wire[..]]),
        framing(MAX_FRAME, pieces(&wire, &mut mix)),
        framing(MAX_FRAME, wire.chunks(1)),
    ];
    if every_way.iter().all(|got| got.as_ref() == Some(&want)) {
        outcome(!want.frames.is_empty())
    } else {
        Unstable
    }
}

/// Length-prefixed bodies, as `run_valid_frames` reads them.
fn body_samples() -> Vec<Vec<u8>> {
    vec![
        vec![5, b'h', b'e', b'l', b'l', b'o', 0, 1, b'x'],
        [&[200][..], &pattern(200), &[56], &pattern(56)].concat(),
        [
            &[0xff][..],
            &pattern(255),
            &[0xff],
            &pattern(255),
            &[3, 1, 2],
        ]
        .concat(),
    ]
}

// ---------------------------------------------------------------------------
// The Noise handshakes
// ---------------------------------------------------------------------------

/// Key pairs from seeds `[n; 32]`, as the transport's tests make them: 1,
/// 2 and 5 are static keys, 3, 4 and 6 ephemeral ones.
static KEYS: LazyLock<Vec<KeyPair>> =
    LazyLock::new(|| (0..7u8).map(|n| KeyPair::from_seed([n; 32])).collect());

fn key(n: usize) -> &'static KeyPair {
    &KEYS[n]
}

/// One of the fixed key pairs, by its public key.
fn known(public: &[u8]) -> Option<&'static KeyPair> {
    KEYS.iter().find(|k| k.public[..] == *public)
}

/// The initiators' static keys.
const INITIATORS: [usize; 2] = [1, 5];
/// The responder's static key (IK's initiator knows it beforehand)...
const RESPONDER: usize = 2;
/// ... and those an XX answer may carry.
const XX_RESPONDERS: [usize; 2] = [RESPONDER, 5];
/// The responders' ephemeral keys.
const EPHEMERALS: [usize; 2] = [4, 6];
/// The initiator's ephemeral key in the handshakes that start fixed.
const FIRST_EPHEMERAL: usize = 3;

/// IK runs with the DHT's prologue.
const PROLOGUE: &[u8] = &NS_PEER_HANDSHAKE;

/// The messages `write` makes with each of the key pairs `keys` for each
/// of three payloads (empty, short, long).
fn written(keys: &[usize], write: impl Fn(&KeyPair, &[u8]) -> Option<Vec<u8>>) -> Vec<Vec<u8>> {
    let payloads = [vec![], b"a hyperdht noise payload".to_vec(), pattern(300)];
    keys.iter()
        .flat_map(|&k| payloads.iter().map(move |p| (k, p)))
        .filter_map(|(k, p)| write(key(k), p))
        .collect()
}

fn ik_initiator(initiator: &KeyPair, ephemeral: &KeyPair) -> Option<IkInitiator> {
    IkInitiator::with_ephemeral(
        initiator,
        &key(RESPONDER).public,
        PROLOGUE,
        ephemeral.clone(),
    )
    .ok()
}

fn ik_responder(ephemeral: &KeyPair) -> IkResponder {
    IkResponder::with_ephemeral(key(RESPONDER), PROLOGUE, ephemeral.clone())
}

/// The IK first message of `initiator` with `ephemeral`.
fn ik_first(initiator: &KeyPair, ephemeral: &KeyPair, payload: &[u8]) -> Option<Vec<u8>> {
    ik_initiator(initiator, ephemeral)?
        .write_first(payload)
        .ok()
}

/// The IK initiator that wrote its first message, and that message, which
/// the answers below reply to (each input starts from a clone).
static IK_STARTED: LazyLock<Option<(IkInitiator, Vec<u8>)>> = LazyLock::new(|| {
    let mut initiator = ik_initiator(key(1), key(FIRST_EPHEMERAL))?;
    let first = initiator.write_first(b"first").ok()?;
    Some((initiator, first))
});

/// The IK answer of the responder with `ephemeral` to that first message.
fn ik_answer(ephemeral: &KeyPair, payload: &[u8]) -> Option<(Vec<u8>, Split)> {
    let (_, first) = IK_STARTED.as_ref()?;
    let mut responder = ik_responder(ephemeral);
    responder.read_first(first).ok()?;
    responder.write_answer(payload).ok()
}

/// Whether `message` is what `write` makes with the key pairs behind the
/// peer's static key `remote` and the ephemeral key the message starts with
/// (None when either is not one of ours: a forgery that read).
fn written_by(
    message: &[u8],
    remote: Option<[u8; 32]>,
    write: impl FnOnce(&KeyPair, &KeyPair) -> Option<Vec<u8>>,
) -> bool {
    let keys = remote.and_then(|public| known(&public));
    let again = keys
        .zip(message.get(..32).and_then(known))
        .and_then(|(static_key, ephemeral)| write(static_key, ephemeral));
    again.as_deref() == Some(message)
}

/// A hostile first message to the IK responder: refused, and then the
/// handshake is spoiled; or it reads, and is the one that the initiator
/// and ephemeral it names write for that payload.
fn run_ik_read_first(bytes: &[u8]) -> TransportOutcome {
    let mut responder = ik_responder(key(EPHEMERALS[0]));
    let Ok(payload) = responder.read_first(bytes) else {
        let goes_on = responder.remote_public().is_some() || responder.write_answer(&[]).is_ok();
        return spoiled(goes_on);
    };
    let again = |initiator: &KeyPair, ephemeral: &KeyPair| ik_first(initiator, ephemeral, &payload);
    stable(
        written_by(bytes, responder.remote_public(), again)
            && responder.write_answer(b"answer").is_ok(),
    )
}

/// A hostile answer to the IK initiator: refused; or it reads, is the
/// answer the ephemeral it names writes for that payload, and both sides
/// hold the same keys.
fn run_ik_read_answer(bytes: &[u8]) -> TransportOutcome {
    let Some((initiator, _)) = IK_STARTED.as_ref() else {
        return Unstable;
    };
    let Ok((payload, split)) = initiator.clone().read_answer(bytes) else {
        return Refused;
    };
    let again = bytes
        .get(..32)
        .and_then(known)
        .and_then(|ephemeral| ik_answer(ephemeral, &payload));
    match again {
        Some((message, theirs)) if message == bytes && agree(&split, &theirs) => Decoded,
        _ => Unstable,
    }
}

/// Two finished handshakes are the two ends of one.
fn agree(ours: &Split, theirs: &Split) -> bool {
    ours.tx == theirs.rx
        && ours.rx == theirs.tx
        && ours.hash == theirs.hash
        && ours.is_initiator != theirs.is_initiator
}

fn xx_initiator(initiator: &KeyPair) -> XxInitiator {
    XxInitiator::with_ephemeral(initiator, key(FIRST_EPHEMERAL).clone())
}

fn xx_responder(responder: &KeyPair, ephemeral: &KeyPair) -> XxResponder {
    XxResponder::with_ephemeral(responder, ephemeral.clone())
}

/// The XX first message (`→ e` and a clear payload), which does not depend
/// on the initiator's static key.
static XX_FIRST: LazyLock<Vec<u8>> =
    LazyLock::new(|| xx_initiator(key(1)).write_first(&[]).unwrap_or_default());

/// The XX second message of `responder` with `ephemeral`, to `XX_FIRST`.
fn xx_second(responder: &KeyPair, ephemeral: &KeyPair, payload: &[u8]) -> Option<Vec<u8>> {
    let mut responder = xx_responder(responder, ephemeral);
    responder.read_first(&XX_FIRST).ok()?;
    responder.write_second(payload).ok()
}

/// The XX responder that read `XX_FIRST` and wrote its answer, and that
/// answer, which the third messages below follow (each input starts from
/// a clone).
static XX_ANSWERED: LazyLock<Option<(XxResponder, Vec<u8>)>> = LazyLock::new(|| {
    let mut responder = xx_responder(key(RESPONDER), key(EPHEMERALS[0]));
    responder.read_first(&XX_FIRST).ok()?;
    let second = responder.write_second(&[]).ok()?;
    Some((responder, second))
});

/// The XX third message of `initiator`, after `XX_FIRST` and that answer.
fn xx_third(initiator: &KeyPair, payload: &[u8]) -> Option<(Vec<u8>, Split)> {
    let (_, second) = XX_ANSWERED.as_ref()?;
    let mut initiator = xx_initiator(initiator);
    initiator.write_first(&[]).ok()?;
    initiator.read_second(second).ok()?;
    initiator.write_third(payload).ok()
}

/// A hostile first message to the XX responder: it is in the clear, so any
/// 32 bytes and more read, as the ephemeral key and the payload; the
/// responder's answer then either goes out or is refused for that key
/// (the DH refuses what libsodium refuses), never anything else.
fn run_xx_read_first(bytes: &[u8]) -> TransportOutcome {
    let mut responder = xx_responder(key(RESPONDER), key(EPHEMERALS[0]));
    let Ok(payload) = responder.read_first(bytes) else {
        return spoiled(responder.write_second(&[]).is_ok());
    };
    if bytes.get(32..) != Some(&payload[..]) {
        return Unstable;
    }
    match responder.write_second(b"second") {
        Ok(_) => Decoded,
        Err(super::secret::noise::NoiseError::BadKey) => Refused,
        Err(_) => Unstable,
    }
}

/// A refused read spoils the handshake: a step that still `goes_on` after
/// it is an invariant broken.
fn spoiled(goes_on: bool) -> TransportOutcome {
    if goes_on {
        Unstable
    } else {
        Refused
    }
}

/// A hostile second message to the XX initiator: refused; or it reads, is
/// the message the responder and ephemeral it names write for that
/// payload, and the third message can be written.
fn run_xx_read_second(bytes: &[u8]) -> TransportOutcome {
    let mut initiator = xx_initiator(key(1));
    if initiator.write_first(&[]).is_err() {
        return Unstable;
    }
    let Ok(payload) = initiator.read_second(bytes) else {
        return spoiled(initiator.write_third(&[]).is_ok());
    };
    let again =
        |responder: &KeyPair, ephemeral: &KeyPair| xx_second(responder, ephemeral, &payload);
    stable(
        written_by(bytes, initiator.remote_public(), again)
            && initiator.write_third(b"third").is_ok(),
    )
}

/// A hostile third message to the XX responder: refused; or it reads, is
/// the message the initiator it names writes for that payload, and both
/// ends hold the same keys.
fn run_xx_read_third(bytes: &[u8]) -> TransportOutcome {
    let Some((responder, _)) = XX_ANSWERED.as_ref() else {
        return Unstable;
    };
    let Ok((payload, split)) = responder.clone().read_third(bytes) else {
        return Refused;
    };
    match known(&split.remote_public).and_then(|initiator| xx_third(initiator, &payload)) {
        Some((message, theirs)) if message == bytes && agree(&split, &theirs) => Decoded,
        _ => Unstable,
    }
}

// ---------------------------------------------------------------------------
// The secret stream's receive path
// ---------------------------------------------------------------------------

/// A secret stream set up from a real IK handshake, and what its honest
/// peer sends.
struct SecretFixture {
    /// Our end's handshake (the responder's).
    ours: Split,
    /// The peer's setup frame, then its messages sealed in order.
    setup: Vec<u8>,
    sealed: Vec<Vec<u8>>,
    /// The messages the peer sealed that are not keepalives, in order.
    messages: Vec<Vec<u8>>,
}

static SECRET: LazyLock<Option<SecretFixture>> = LazyLock::new(|| {
    let mut initiator = ik_initiator(key(1), key(FIRST_EPHEMERAL))?;
    let mut responder = ik_responder(key(EPHEMERALS[0]));
    responder
        .read_first(&initiator.write_first(b"first").ok()?)
        .ok()?;
    let (answer, ours) = responder.write_answer(b"answer").ok()?;
    let (_, theirs) = initiator.read_answer(&answer).ok()?;
    let now = Instant::now();
    let mut peer = SecretStream::with_header(&theirs, [2; 24], now);
    let setup = peer.setup_frame();
    let plaintexts = [
        b"hello".to_vec(),
        vec![],
        pattern(300),
        b"x".to_vec(),
        pattern(1200),
        vec![],
        b"last".to_vec(),
    ];
    let sealed = plaintexts
        .iter()
        .map(|m| peer.seal(m, now).ok())
        .collect::<Option<Vec<_>>>()?;
    let messages = plaintexts.into_iter().filter(|m| !m.is_empty()).collect();
    Some(SecretFixture {
        ours,
        setup,
        sealed,
        messages,
    })
});

/// What our end made of the bytes, however they were split.
#[derive(Debug, PartialEq, Eq)]
struct Received {
    messages: Vec<Vec<u8>>,
    error: Option<SecretError>,
    ready: bool,
}

/// Our end, after the peer's setup frame when `after_setup`, fed `pieces`;
/// None when an error did not stay.
fn receive<'a>(
    fixture: &SecretFixture,
    after_setup: bool,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Option<Received> {
    let mut stream = SecretStream::with_header(&fixture.ours, [1; 24], Instant::now());
    if after_setup {
        stream.on_bytes(&fixture.setup).ok()?;
    }
    let mut error = None;
    for piece in pieces {
        match stream.on_bytes(piece) {
            Ok(()) if error.is_none() => {}
            Err(e) if error.as_ref().is_none_or(|first| *first == e) => error = Some(e),
            _ => return None,
        }
    }
    let messages = std::iter::from_fn(|| stream.next_message()).collect();
    Some(Received {
        messages,
        error,
        ready: stream.ready(),
    })
}

/// Hostile bytes to our end of a secret stream: the same messages and the
/// same error whole and in random pieces, and what comes out is a prefix
/// of what the honest peer sealed (a forged frame never decrypts). Before
/// the setup frame, being ready means the input began with the peer's.
fn run_secret(bytes: &[u8], after_setup: bool) -> TransportOutcome {
    let Some(fixture) = SECRET.as_ref() else {
        return Unstable;
    };
    let whole = receive(fixture, after_setup, [bytes]);
    let split = receive(fixture, after_setup, pieces(bytes, &mut Mix::of(bytes)));
    let Some(got) = whole.filter(|w| Some(w) == split.as_ref()) else {
        return Unstable;
    };
    let prefix = fixture.messages.starts_with(&got.messages);
    // The setup frame's length and id are checked; its header is not (a
    // wrong one fails the first message instead).
    let setup_checked = after_setup || !got.ready || bytes.get(..35) == fixture.setup.get(..35);
    if !prefix || !setup_checked || (!got.ready && !got.messages.is_empty()) {
        return Unstable;
    }
    outcome(got.error.is_none())
}

fn run_secret_setup(bytes: &[u8]) -> TransportOutcome {
    run_secret(bytes, false)
}

fn run_secret_messages(bytes: &[u8]) -> TransportOutcome {
    run_secret(bytes, true)
}

/// The honest peer's bytes at frame boundaries: with its setup frame first,
/// or (`after_setup`) without.
fn secret_samples(after_setup: bool) -> Vec<Vec<u8>> {
    let Some(fixture) = SECRET.as_ref() else {
        return Vec::new();
    };
    let mut wire = if after_setup {
        Vec::new()
    } else {
        fixture.setup.clone()
    };
    let mut samples = vec![wire.clone()];
    for sealed in &fixture.sealed {
        wire.extend_from_slice(sealed);
        samples.push(wire.clone());
    }
    samples.retain(|s| !s.is_empty());
    samples
}

// ---------------------------------------------------------------------------
// The UDX stream state machine
// ---------------------------------------------------------------------------

/// Our stream's id, and the peer's.
const LOCAL_ID: u32 = 0x5566_7788;
const REMOTE_ID: u32 = 0x1122_3344;
/// Bytes the honest sender sends (about 18 packets), then its END.
const HONEST_BYTES: usize = 20_000;
/// Datagrams one `poll_transmit` loop may give before it counts as never
/// stopping (the send buffer holds at most 256 KiB, about 230 packets).
const MAX_BURST: usize = 10_000;
/// Unread bytes a stream may hold (`stream.rs`: twice the window).
const MAX_UNREAD: usize = 2 * RWND_MAX;
/// MESSAGEs a stream keeps for the application.
const MAX_MESSAGES_IN: usize = 256;

/// The bytes the honest sender sends, and our stream writes from.
static SENT: LazyLock<Vec<u8>> = LazyLock::new(|| pattern(HONEST_BYTES));

/// The first transmission of every DATA or END packet a well-behaved sender
/// (a real `Stream`, acked by a real receiver) sends of `HONEST_BYTES`
/// bytes and its END, by sequence number.
static HONEST: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let now = Instant::now();
    let mut sender = Stream::new(REMOTE_ID, now);
    let mut receiver = Stream::new(LOCAL_ID, now);
    sender.connect(LOCAL_ID, now);
    receiver.connect(REMOTE_ID, now);
    sender.write(&SENT);
    sender.end();
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::new();
    for _ in 0..100 {
        while sender.poll_transmit(now, &mut out) {
            let Some(packet) = wire::decode(&out) else {
                continue;
            };
            let seq = packet.header.seq as usize;
            if packet.header.kind & (DATA | END) != 0 && seq == packets.len() {
                packets.push(out.clone());
            }
            receiver.on_packet(&packet, now);
        }
        while receiver.poll_transmit(now, &mut out) {
            if let Some(packet) = wire::decode(&out) {
                sender.on_packet(&packet, now);
            }
        }
        if sender.all_acked() {
            break;
        }
    }
    packets
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Anything goes, our stream writes too.
    Hostile,
    /// The honest sender's packets in any order, duplicated or dropped,
    /// and forged packets without DATA or END (UDX has no authentication:
    /// forged data could only be refused by the secret stream above).
    Honest,
}

/// The operations of a script, one byte each, then their arguments.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// A packet built from fields placed around the stream's own seq and
    /// ack: kind, seq, ack, window, SACK blocks, payload and padding.
    Forged,
    /// A datagram from the script's bytes after `ff 01`.
    Raw,
    /// One of the honest sender's packets.
    Honest,
    Write,
    Read,
    /// Time passes (or jumps to the stream's next deadline).
    Wait,
    /// END, DESTROY or a MESSAGE from our side.
    Close,
}

impl Mode {
    fn op(self, byte: u8) -> Op {
        let table = match self {
            Mode::Hostile => [
                Op::Forged,
                Op::Forged,
                Op::Raw,
                Op::Honest,
                Op::Write,
                Op::Read,
                Op::Wait,
                Op::Close,
            ],
            Mode::Honest => [
                Op::Honest,
                Op::Honest,
                Op::Honest,
                Op::Honest,
                Op::Forged,
                Op::Raw,
                Op::Read,
                Op::Wait,
            ],
        };
        table[usize::from(byte % 8)]
    }
}

/// One script run against our stream.
struct Run<'a> {
    mode: Mode,
    stream: Stream,
    now: Instant,
    script: &'a [u8],
    /// Our stream's next seq and its ack, as it last sent them.
    our_seq: u32,
    our_ack: u32,
    /// Bytes the stream delivered.
    delivered: usize,
    /// Datagrams that decoded and reached the stream.
    packets: u64,
    broken: bool,
}

impl<'a> Run<'a> {
    fn new(mode: Mode, script: &'a [u8]) -> Self {
        let now = Instant::now();
        Run {
            mode,
            stream: Stream::new(LOCAL_ID, now),
            now,
            script,
            our_seq: 0,
            our_ack: 0,
            delivered: 0,
            packets: 0,
            broken: false,
        }
    }

    /// The next byte of the script; 0 once it is used up.
    fn byte(&mut self) -> u8 {
        match self.script.split_first() {
            Some((&byte, rest)) => {
                self.script = rest;
                byte
            }
            None => 0,
        }
    }

    fn bytes(&mut self, len: usize) -> &'a [u8] {
        let (head, rest) = self.script.split_at(len.min(self.script.len()));
        self.script = rest;
        head
    }

    /// A number near `base`: up to 128 below or 127 above.
    fn near(&mut self, base: u32) -> u32 {
        base.wrapping_add(self.byte() as i8 as u32)
    }

    /// The first byte says after how many operations we connect (0: at
    /// once), as a socket registers a stream before it connects.
    fn play(mut self) -> TransportOutcome {
        let connect_after = usize::from(self.byte() % 4);
        let mut done = 0;
        while !self.script.is_empty() && !self.broken {
            if done == connect_after {
                self.stream.connect(REMOTE_ID, self.now);
            }
            let op = self.mode.op(self.byte());
            self.step(op);
            self.settle();
            done += 1;
        }
        self.stream.connect(REMOTE_ID, self.now);
        self.settle();
        if self.mode == Mode::Honest {
            self.finish_honestly();
        }
        if self.broken {
            Unstable
        } else {
            outcome(self.packets > 0)
        }
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Forged => {
                let datagram = self.forged();
                self.deliver(&datagram);
            }
            Op::Raw => {
                let len = usize::from(self.byte());
                let mut datagram = vec![0xff, 0x01];
                datagram.extend_from_slice(self.bytes(len));
                if let Some(kind) = datagram.get_mut(2) {
                    *kind = self.tame(*kind);
                }
                self.deliver(&datagram);
            }
            Op::Honest => {
                let index = usize::from(self.byte());
                if let Some(datagram) = HONEST.get(index % HONEST.len().max(1)) {
                    self.deliver(datagram);
                }
            }
            Op::Write => {
                let len = usize::from(self.byte()) * 37;
                self.stream.write(&SENT[..len]);
            }
            Op::Read => {
                let len = usize::from(self.byte()) * 16;
                self.read(len);
            }
            Op::Wait => {
                let byte = self.byte();
                self.now = match self.stream.poll_timeout() {
                    Some(at) if byte & 0x80 != 0 => at.max(self.now),
                    _ => self.now + Duration::from_millis(u64::from(byte & 0x7f) * 20),
                };
                self.stream.on_timeout(self.now);
            }
            Op::Close => match self.byte() % 8 {
                0 => self.stream.destroy(),
                1..=3 => self.stream.end(),
                _ => {
                    let len = usize::from(self.byte()) * 5;
                    self.stream.send_message(&SENT[..len]);
                }
            },
        }
    }

    /// Forged packets keep DESTROY only alone (else nearly every script
    /// would reset the stream at once), and, honestly, no DATA or END.
    fn tame(&self, kind: u8) -> u8 {
        let kind = if kind == DESTROY {
            kind
        } else {
            kind & !DESTROY
        };
        match self.mode {
            Mode::Hostile => kind,
            Mode::Honest => kind & !(DATA | END),
        }
    }

    fn forged(&mut self) -> Vec<u8> {
        let kind = self.byte();
        let kind = self.tame(kind);
        let seq = self.near(self.our_ack);
        let ack = self.near(self.our_seq);
        let rwnd = [0, 1, 1152, 65_536, RWND_MAX as u32, u32::MAX][usize::from(self.byte() % 6)];
        let mut sacks = Vec::new();
        for _ in 0..self.byte() % 5 {
            let start = self.near(self.our_seq);
            let end = start.wrapping_add(u32::from(self.byte() % 16));
            sacks.push((start, end));
        }
        let len = usize::from(self.byte());
        let payload = self.bytes(len);
        let padding = match self.byte() {
            byte if byte % 4 == 0 => byte / 4,
            _ => 0,
        };
        let header = Header {
            kind,
            data_offset: 0,
            id: LOCAL_ID,
            rwnd,
            seq,
            ack,
        };
        let mut out = Vec::new();
        wire::encode(&header, &sacks, padding, payload, &mut out);
        out
    }

    fn deliver(&mut self, datagram: &[u8]) {
        if let Some(packet) = wire::decode(datagram) {
            self.packets += 1;
            self.stream.on_packet(&packet, self.now);
        }
    }

    /// Reads up to `len` bytes: honestly, they must be the next ones the
    /// honest sender sent.
    fn read(&mut self, len: usize) {
        let mut buf = vec![0; len];
        let n = self.stream.read(&mut buf);
        let from = self.delivered;
        self.delivered += n;
        if self.mode == Mode::Honest && SENT.get(from..self.delivered) != Some(&buf[..n]) {
            self.broken = true;
        }
    }

    /// After every operation: what the stream sends (a bounded number of
    /// datagrams, each of them valid and at most the largest we send), and
    /// its buffers in their bounds.
    fn settle(&mut self) {
        let mut out = Vec::new();
        let mut burst = 0;
        while self.stream.poll_transmit(self.now, &mut out) {
            burst += 1;
            let Some(packet) = wire::decode(&out).filter(|_| out.len() <= MAX_DATAGRAM) else {
                self.broken = true;
                return;
            };
            let h = packet.header;
            let next = if h.kind & (DATA | END) != 0 {
                h.seq.wrapping_add(1)
            } else {
                h.seq
            };
            if next.wrapping_sub(self.our_seq) as i32 > 0 {
                self.our_seq = next;
            }
            self.our_ack = h.ack;
            if burst > MAX_BURST {
                self.broken = true;
                return;
            }
        }
        let messages = std::iter::from_fn(|| self.stream.take_message()).count();
        let _ = self.stream.poll_timeout();
        self.broken |= messages > MAX_MESSAGES_IN || self.stream.readable() > MAX_UNREAD;
    }

    /// Every honest packet in order, then everything read: unless a forged
    /// DESTROY reset the stream, all the honest bytes and the END arrived.
    fn finish_honestly(&mut self) {
        for datagram in HONEST.iter() {
            self.deliver(datagram);
            self.settle();
        }
        self.read(HONEST_BYTES + 1);
        self.settle();
        if self.stream.closed().is_none()
            && (self.delivered != HONEST_BYTES || !self.stream.read_eof())
        {
            self.broken = true;
        }
    }
}

fn run_stream_hostile(bytes: &[u8]) -> TransportOutcome {
    Run::new(Mode::Hostile, bytes).play()
}

fn run_stream_honest(bytes: &[u8]) -> TransportOutcome {
    Run::new(Mode::Honest, bytes).play()
}

/// Scripts of 80 operations with arguments in reach of the stream's
/// numbers, from a fixed generator.
fn scripts(mode: Mode) -> Vec<Vec<u8>> {
    (0..16u8)
        .map(|seed| {
            let mut mix = Mix::of(&[seed, mode as u8]);
            let mut script = vec![seed % 4];
            for _ in 0..80 {
                script.push(mix.next() as u8);
                script.extend((0..8).map(|_| match mix.below(3) {
                    0 => mix.below(8) as u8,
                    1 => (mix.below(16) as u8).wrapping_sub(8),
                    _ => mix.next() as u8,
                }));
            }
            script
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_decodes_stably() {
        for decoder in transport_decoders() {
            assert!(!decoder.samples.is_empty(), "{}", decoder.name);
            for sample in &decoder.samples {
                assert_eq!(
                    (decoder.run)(sample),
                    TransportOutcome::Decoded,
                    "{}: {}",
                    decoder.name,
                    hex::encode(sample)
                );
            }
            assert_ne!(
                (decoder.run)(&[]),
                TransportOutcome::Unstable,
                "{}",
                decoder.name
            );
        }
    }

    #[test]
    fn the_honest_sender_sends_everything_and_its_end() {
        let packets = &*HONEST;
        assert_eq!(packets.len(), HONEST_BYTES.div_ceil(1152));
        let mut data = Vec::new();
        for (seq, datagram) in packets.iter().enumerate() {
            let packet = wire::decode(datagram).expect("an honest packet decodes");
            assert_eq!(packet.header.seq as usize, seq);
            data.extend_from_slice(packet.payload);
        }
        assert_eq!(data, pattern(HONEST_BYTES));
        let last = wire::decode(packets.last().expect("packets")).expect("decodes");
        assert_ne!(last.header.kind & END, 0);
    }

    #[test]
    fn forged_packets_and_mutations_are_never_unstable() {
        let mut mix = Mix::of(b"transport");
        for decoder in transport_decoders() {
            for _ in 0..300 {
                let mut input = decoder.samples[mix.below(decoder.samples.len())].clone();
                for _ in 0..=mix.below(4) {
                    if input.is_empty() {
                        break;
                    }
                    let at = mix.below(input.len());
                    match mix.below(3) {
                        0 => input[at] ^= 1 << mix.below(8),
                        1 => input.truncate(at),
                        _ => input.insert(at, mix.next() as u8),
                    }
                }
                assert_ne!(
                    (decoder.run)(&input),
                    TransportOutcome::Unstable,
                    "{}: {}",
                    decoder.name,
                    hex::encode(&input)
                );
            }
        }
    }
}
