//! The encrypted stream after a Noise handshake, as @hyperswarm/secret-stream
//! 6.9.2 runs it (`index.js`), sans-IO: bytes in, messages out; messages in,
//! bytes out; time passed in as `now`. This file owns the setup frame and
//! its check, libsodium's secretstream (XChaCha20-Poly1305) push and pull,
//! the keepalive and the fatal errors.
//!
//! The wire:
//! - each side first writes its setup frame, `u24le(56) ‖ id ‖ header`:
//!   `id = BLAKE2b-256(key = h, message = NS_INITIATOR or NS_RESPONDER)`
//!   for the writer's own role, `header` the 24 bytes of
//!   `init_push(tx)` (`_setupSecretStream`, `index.js:377-401`). Both sides
//!   write it at once; our messages may follow before the peer's arrives;
//! - the first frame read must be exactly 56 bytes and start with the id of
//!   the peer's role, and its header starts `init_pull(rx)`
//!   (`index.js:308-329`);
//! - every later frame is `u24le(len) ‖ push(plaintext, TAG_MESSAGE)`: the
//!   encrypted tag byte, the ciphertext and a 16-byte MAC, `len(plaintext) +
//!   17` bytes; a body under 17 bytes or a bad MAC is fatal
//!   (`index.js:332-345`); the received tag is otherwise ignored;
//! - an empty message is a keepalive: written when 5 s passed without a
//!   write, dropped on receipt (hyperdht's `keepAlive: 5000`,
//!   `index.js:78`, `107-124`, `349`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use blake2::digest::consts::U32;
use blake2::digest::Mac;
use blake2::Blake2bMac;
use crypto_secretstream::{Header, Key, PullStream, PushStream, Tag};
use rand::RngCore;

use super::frame::{self, FrameDecoder, FrameError, HEADER_LEN, MAX_FRAME};
use super::noise::Split;

/// A message's overhead inside its frame: the tag byte and the MAC.
pub(crate) const ABYTES: usize = 17;
/// The largest plaintext one frame carries: `2^24 − 1 − 17`.
pub(crate) const MAX_PLAINTEXT: usize = MAX_FRAME - ABYTES;
/// How long without a write before a keepalive is due.
pub(crate) const KEEPALIVE: Duration = Duration::from_secs(5);
/// The secretstream header.
pub(crate) const SECRETSTREAM_HEADER: usize = 24;
/// The setup frame's body: the stream id and the secretstream header.
pub(crate) const SETUP_BODY: usize = 32 + SECRETSTREAM_HEADER;

/// `hypercore-crypto.namespace('hyperswarm/secret-stream', 3)[0]`.
pub(crate) const NS_INITIATOR: [u8; 32] = [
    0xa9, 0x31, 0xa0, 0x15, 0x5b, 0x5c, 0x09, 0xe6, 0xd2, 0x86, 0x28, 0x23, 0x6a, 0xf8, 0x3c, 0x4b,
    0x8a, 0x6a, 0xf9, 0xaf, 0x60, 0x98, 0x6e, 0xde, 0xed, 0xe9, 0xdc, 0x5d, 0x63, 0x19, 0x2b, 0xf7,
];
/// `hypercore-crypto.namespace('hyperswarm/secret-stream', 3)[1]`.
pub(crate) const NS_RESPONDER: [u8; 32] = [
    0x74, 0x2c, 0x9d, 0x83, 0x3d, 0x43, 0x0a, 0xf4, 0xc4, 0x8a, 0x87, 0x05, 0xe9, 0x16, 0x31, 0xee,
    0xcf, 0x29, 0x54, 0x42, 0xbb, 0xca, 0x18, 0x99, 0x6e, 0x59, 0x70, 0x97, 0x72, 0x3b, 0x10, 0x61,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SecretError {
    #[error("the peer's setup frame is {len} bytes, not 56")]
    BadSetupLength { len: usize },
    #[error("the peer's setup frame does not match the handshake (wrong stream id)")]
    WrongStreamId,
    #[error("a received message of {len} bytes is too short to be encrypted")]
    TooShort { len: usize },
    #[error("a received message failed to decrypt")]
    Decrypt,
    #[error("a message of {len} bytes is too large to send (at most 16,777,198)")]
    TooLarge { len: usize },
    #[error("a message could not be encrypted")]
    Encrypt,
    #[error("the peer's framing is broken: {0}")]
    Frame(#[from] FrameError),
}

/// `NoiseSecretStream.id(h, isInitiator)`: BLAKE2b-256 keyed with the
/// handshake hash, over the namespace of the role.
pub(crate) fn stream_id(handshake_hash: &[u8; 64], is_initiator: bool) -> [u8; 32] {
    let namespace = if is_initiator {
        &NS_INITIATOR
    } else {
        &NS_RESPONDER
    };
    // A 64-byte key is within BLAKE2b's limit, so this never fails.
    let Ok(mut mac) = <Blake2bMac<U32> as Mac>::new_from_slice(handshake_hash) else {
        return [0; 32];
    };
    mac.update(namespace);
    mac.finalize().into_bytes().into()
}

/// One side of the secret stream. The order of calls: `setup_frame` (its
/// bytes written first), then `seal`/`poll_keepalive` for what we send, and
/// `on_bytes` then `next_message` for what we read. An error from
/// `on_bytes` is fatal: the stream returns it again from then on.
pub(crate) struct SecretStream {
    is_initiator: bool,
    hash: [u8; 64],
    remote_public: [u8; 32],
    rx: [u8; 32],
    header: [u8; SECRETSTREAM_HEADER],
    push: PushStream,
    /// Our setup frame has not been handed out yet.
    setup_pending: bool,
    /// Set by the peer's setup frame.
    pull: Option<PullStream>,
    decoder: FrameDecoder,
    inbox: VecDeque<Vec<u8>>,
    last_write: Instant,
    failed: Option<SecretError>,
}

impl SecretStream {
    /// Our side, ready to send: `setup_frame()` must be written first.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn new(split: &Split, now: Instant) -> Self {
        let mut header = [0u8; SECRETSTREAM_HEADER];
        rand::rngs::OsRng.fill_bytes(&mut header);
        Self::with_header(split, header, now)
    }

    /// `new` with our secretstream header chosen (random in `new`): the
    /// push state is the one `init_push` leaves with that header, so the
    /// bytes are deterministic (for test vectors).
    pub(crate) fn with_header(
        split: &Split,
        header: [u8; SECRETSTREAM_HEADER],
        now: Instant,
    ) -> Self {
        let (_, push) = PushStream::init(ChosenHeader(header), &Key::from(split.tx));
        SecretStream {
            is_initiator: split.is_initiator,
            hash: split.hash,
            remote_public: split.remote_public,
            rx: split.rx,
            header,
            push,
            setup_pending: true,
            pull: None,
            decoder: FrameDecoder::new(),
            inbox: VecDeque::new(),
            last_write: now,
            failed: None,
        }
    }

    /// The 59 bytes to write first (our id and secretstream header). Call
    /// once: later calls return nothing, and so does a call after `seal` or
    /// `poll_keepalive`, which put these bytes in front of their own.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn setup_frame(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + SETUP_BODY);
        self.take_setup(&mut out);
        out
    }

    fn take_setup(&mut self, out: &mut Vec<u8>) {
        if !std::mem::replace(&mut self.setup_pending, false) {
            return;
        }
        let mut body = [0u8; SETUP_BODY];
        body[..32].copy_from_slice(&stream_id(&self.hash, self.is_initiator));
        body[32..].copy_from_slice(&self.header);
        // 56 is far below the u24 limit.
        let _ = frame::encode_into(out, &body);
    }

    /// Feed bytes read from the raw stream, any split. An error is fatal
    /// for the stream.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn on_bytes(&mut self, bytes: &[u8]) -> Result<(), SecretError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let mut input = bytes;
        loop {
            let result = match self.decoder.decode(&mut input) {
                Ok(Some(body)) => self.on_frame(body),
                Ok(None) => return Ok(()),
                Err(error) => Err(error.into()),
            };
            if let Err(error) = result {
                self.failed = Some(error.clone());
                return Err(error);
            }
        }
    }

    fn on_frame(&mut self, mut body: Vec<u8>) -> Result<(), SecretError> {
        match &mut self.pull {
            None => self.on_setup(&body),
            Some(pull) => {
                if body.len() < ABYTES {
                    return Err(SecretError::TooShort { len: body.len() });
                }
                pull.pull(&mut body, &[])
                    .map_err(|_| SecretError::Decrypt)?;
                // An empty message is a keepalive.
                if !body.is_empty() {
                    self.inbox.push_back(body);
                }
                Ok(())
            }
        }
    }

    /// The peer's first frame: its id, then the header to pull with.
    fn on_setup(&mut self, body: &[u8]) -> Result<(), SecretError> {
        let (id, header) = match body.split_at_checked(32) {
            Some(parts) if body.len() == SETUP_BODY => parts,
            _ => return Err(SecretError::BadSetupLength { len: body.len() }),
        };
        if id != stream_id(&self.hash, !self.is_initiator) {
            return Err(SecretError::WrongStreamId);
        }
        let header = Header::try_from(header)
            .map_err(|_| SecretError::BadSetupLength { len: body.len() })?;
        self.pull = Some(PullStream::init(header, &Key::from(self.rx)));
        Ok(())
    }

    /// The next decrypted message (keepalives never come out), oldest first.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn next_message(&mut self) -> Option<Vec<u8>> {
        self.inbox.pop_front()
    }

    /// Encrypts and frames one message; the bytes to write (after our setup
    /// frame, which comes first if `setup_frame` was not called). Errors
    /// only for a message above `MAX_PLAINTEXT`. An empty message is a
    /// keepalive.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn seal(&mut self, plaintext: &[u8], now: Instant) -> Result<Vec<u8>, SecretError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(SecretError::TooLarge {
                len: plaintext.len(),
            });
        }
        let setup = if self.setup_pending {
            HEADER_LEN + SETUP_BODY
        } else {
            0
        };
        let mut out = Vec::with_capacity(setup + HEADER_LEN + ABYTES + plaintext.len());
        self.take_setup(&mut out);
        out.extend_from_slice(&[0; HEADER_LEN]);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let mut buffer = InPlace { out, start };
        self.push
            .push(&mut buffer, &[], Tag::Message)
            .map_err(|_| SecretError::Encrypt)?;
        let InPlace { mut out, start } = buffer;
        let length = frame::header(out.len() - start)?;
        if let Some(prefix) = out.get_mut(start - HEADER_LEN..start) {
            prefix.copy_from_slice(&length);
        }
        self.last_write = now;
        Ok(out)
    }

    /// When a keepalive is due (5 s after the last seal or keepalive).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn keepalive_at(&self) -> Instant {
        self.last_write + KEEPALIVE
    }

    /// The keepalive frame if it is due at `now` (and resets the clock),
    /// else None.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn poll_keepalive(&mut self, now: Instant) -> Option<Vec<u8>> {
        if now < self.keepalive_at() {
            return None;
        }
        self.seal(&[], now).ok()
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn handshake_hash(&self) -> &[u8; 64] {
        &self.hash
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn remote_public(&self) -> [u8; 32] {
        self.remote_public
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn is_initiator(&self) -> bool {
        self.is_initiator
    }

    /// True once the peer's setup frame was read and checked.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn ready(&self) -> bool {
        self.pull.is_some()
    }
}

/// The frame being sealed: what `push` sees is `out[start..]`, the
/// plaintext, which it encrypts in place and extends with the MAC; the
/// length prefix (and our setup frame) sit before it, so nothing is copied.
struct InPlace {
    out: Vec<u8>,
    start: usize,
}

impl AsRef<[u8]> for InPlace {
    fn as_ref(&self) -> &[u8] {
        self.out.get(self.start..).unwrap_or_default()
    }
}

impl AsMut<[u8]> for InPlace {
    fn as_mut(&mut self) -> &mut [u8] {
        self.out.get_mut(self.start..).unwrap_or_default()
    }
}

impl crypto_secretstream::aead::Buffer for InPlace {
    fn extend_from_slice(&mut self, other: &[u8]) -> crypto_secretstream::aead::Result<()> {
        self.out.extend_from_slice(other);
        Ok(())
    }

    fn truncate(&mut self, len: usize) {
        self.out.truncate(self.start + len);
    }
}

/// `PushStream::init` draws the header from the generator it is given; this
/// one hands over the header already chosen, so the push state is exactly
/// libsodium's `init_push` with that header.
struct ChosenHeader([u8; SECRETSTREAM_HEADER]);

impl RngCore for ChosenHeader {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0u8; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for (out, byte) in dest.iter_mut().zip(self.0.iter().cycle()) {
            *out = *byte;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// The bytes it yields were drawn from the OS generator (or fixed by a test).
impl rand::CryptoRng for ChosenHeader {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::encoding::crypto::NS_PEER_HANDSHAKE;
    use crate::net::transport::secret::noise::{
        IkInitiator, IkResponder, KeyPair, XxInitiator, XxResponder,
    };
    use blake2::digest::Digest;
    use blake2::Blake2b;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn key(byte: u8) -> KeyPair {
        KeyPair::from_seed([byte; 32])
    }

    /// §7.3's handshake: (initiator, responder).
    fn xx_vector_splits() -> (Split, Split) {
        let mut i = XxInitiator::with_ephemeral(&key(1), key(3));
        let mut r = XxResponder::with_ephemeral(&key(2), key(4));
        r.read_first(&i.write_first(&[]).unwrap()).unwrap();
        i.read_second(&r.write_second(&[]).unwrap()).unwrap();
        let (m3, i) = i.write_third(&[]).unwrap();
        let (_, r) = r.read_third(&m3).unwrap();
        (i, r)
    }

    /// §7.4's handshake: (client, server).
    fn ik_vector_splits() -> (Split, Split) {
        let p1 = hex::decode("011a000001c0a8010a49c20100fe443322110001").unwrap();
        let p2 = hex::decode("011a000101cb00710749c20100fe887766550001").unwrap();
        let mut c =
            IkInitiator::with_ephemeral(&key(1), &key(2).public, &NS_PEER_HANDSHAKE, key(3))
                .unwrap();
        let mut s = IkResponder::with_ephemeral(&key(2), &NS_PEER_HANDSHAKE, key(4));
        s.read_first(&c.write_first(&p1).unwrap()).unwrap();
        let (m2, s) = s.write_answer(&p2).unwrap();
        let (_, c) = c.read_answer(&m2).unwrap();
        (c, s)
    }

    fn random_splits() -> (Split, Split) {
        let mut i = XxInitiator::new(&KeyPair::generate());
        let mut r = XxResponder::new(&KeyPair::generate());
        r.read_first(&i.write_first(&[]).unwrap()).unwrap();
        i.read_second(&r.write_second(&[]).unwrap()).unwrap();
        let (m3, i) = i.write_third(&[]).unwrap();
        let (_, r) = r.read_third(&m3).unwrap();
        (i, r)
    }

    /// hypercore-crypto's `namespace(name, [id])`: BLAKE2b-256 of
    /// `BLAKE2b-256(name) ‖ id`.
    fn namespace(name: &[u8], id: u8) -> [u8; 32] {
        let inner = Blake2b::<U32>::digest(name);
        let mut outer = Blake2b::<U32>::new();
        outer.update(inner);
        outer.update([id]);
        outer.finalize().into()
    }

    #[test]
    fn the_namespaces_are_secret_streams() {
        assert_eq!(namespace(b"hyperswarm/secret-stream", 0), NS_INITIATOR);
        assert_eq!(namespace(b"hyperswarm/secret-stream", 1), NS_RESPONDER);
    }

    /// The setup frame, "hello" and "" pushed with header 5a×24, and both
    /// ids, for one handshake's vectors.
    fn check_vectors(
        (initiator, responder): (Split, Split),
        id_i: &str,
        id_r: &str,
        hello: &str,
        empty: &str,
    ) {
        let now = Instant::now();
        assert_eq!(hex::encode(stream_id(&initiator.hash, true)), id_i);
        assert_eq!(hex::encode(stream_id(&initiator.hash, false)), id_r);
        let mut i = SecretStream::with_header(&initiator, [0x5a; 24], now);
        assert_eq!(
            hex::encode(i.setup_frame()),
            format!("380000{id_i}{}", "5a".repeat(24))
        );
        assert!(i.setup_frame().is_empty());
        let hello_frame = i.seal(b"hello", now).unwrap();
        assert_eq!(hex::encode(&hello_frame), hello);
        let empty_frame = i.seal(b"", now).unwrap();
        assert_eq!(hex::encode(&empty_frame), empty);
        // The responder's own setup frame carries id (R).
        let mut r = SecretStream::with_header(&responder, [0x33; 24], now);
        let setup_r = r.setup_frame();
        assert_eq!(hex::encode(&setup_r[3..35]), id_r);
        // And it reads the initiator's bytes: "hello", the keepalive dropped.
        let mut i = SecretStream::with_header(&initiator, [0x5a; 24], now);
        assert!(!r.ready());
        r.on_bytes(&i.setup_frame()).unwrap();
        assert!(r.ready());
        r.on_bytes(&hello_frame).unwrap();
        r.on_bytes(&empty_frame).unwrap();
        assert_eq!(r.next_message().unwrap(), b"hello");
        assert_eq!(r.next_message(), None);
        i.on_bytes(&setup_r).unwrap();
        assert!(i.ready());
    }

    #[test]
    fn xx_stream_matches_the_vectors() {
        check_vectors(
            xx_vector_splits(),
            "a1d1ba79814a026a75d3d0d86df2d767c48c1a62a59d9e5d47876ab9b0867673",
            "87964fe510a0eef9766102bc05eb51bd18d4baf59ec0fe2e51fa323b19101cf6",
            "160000384cedbcc6b631fe085fc07f83c8f763a4f298c1759b",
            "1100006e4985401d5fef7f962c05be22e9ac5f52",
        );
    }

    #[test]
    fn ik_stream_matches_the_vectors() {
        check_vectors(
            ik_vector_splits(),
            "482a9640868deb752607f45c7b093471b58d7c07be660bbeac416d4b8dba4bc2",
            "66cb7d9611575e734519702bbcdc899d067848b1371324e27cdb0930e80a3edd",
            "1600004672921d24d20d1c9cfe7e689a5116615b9d60c94e80",
            "110000ac25f7660c3cfdb1376a4ee45d3148e68c",
        );
    }

    #[test]
    fn the_stream_keeps_the_handshakes_facts() {
        let (c, s) = ik_vector_splits();
        let now = Instant::now();
        let client = SecretStream::new(&c, now);
        let server = SecretStream::new(&s, now);
        assert!(client.is_initiator() && !server.is_initiator());
        assert_eq!(client.remote_public(), key(2).public);
        assert_eq!(server.remote_public(), key(1).public);
        assert_eq!(client.handshake_hash(), server.handshake_hash());
        assert_eq!(client.handshake_hash(), &c.hash);
    }

    /// Feeds `bytes` to `to` in random pieces.
    fn deliver(rng: &mut StdRng, to: &mut SecretStream, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let cap = match rng.gen_range(0..4) {
                0 => 3,
                1 => 1500,
                2 => 70_000,
                _ => 1 << 22,
            };
            let n = rng.gen_range(1..=cap).min(rest.len());
            let (piece, tail) = rest.split_at(n);
            to.on_bytes(piece).unwrap();
            rest = tail;
        }
    }

    #[test]
    fn two_streams_talk_both_ways_in_any_split() {
        let (i, r) = random_splits();
        let now = Instant::now();
        let mut a = SecretStream::new(&i, now);
        let mut b = SecretStream::new(&r, now);
        let mut rng = StdRng::seed_from_u64(7);
        let sizes = [0, 1, 65_516, 65_517, 1 << 20, MAX_PLAINTEXT, 0, 5];
        let messages: Vec<Vec<u8>> = sizes
            .iter()
            .map(|&n| (0..n).map(|_| rng.gen()).collect())
            .collect();
        // Each side sends everything before the other's setup frame arrives.
        let mut a_wire = a.setup_frame();
        let mut b_wire = b.setup_frame();
        for message in &messages {
            a_wire.extend(a.seal(message, now).unwrap());
            b_wire.extend(b.seal(message, now).unwrap());
        }
        assert!(!a.ready() && !b.ready());
        deliver(&mut rng, &mut b, &a_wire);
        deliver(&mut rng, &mut a, &b_wire);
        let expected: Vec<&Vec<u8>> = messages.iter().filter(|m| !m.is_empty()).collect();
        for stream in [&mut a, &mut b] {
            assert!(stream.ready());
            for message in &expected {
                assert!(stream.next_message().as_ref() == Some(*message));
            }
            assert_eq!(stream.next_message(), None);
        }
        // Frames of exactly 64 KiB and one byte more.
        assert_eq!(a.seal(&[0; 65_516], now).unwrap().len(), 3 + 65_533);
    }

    #[test]
    fn the_size_limit_is_local() {
        let (i, r) = random_splits();
        let now = Instant::now();
        let mut a = SecretStream::new(&i, now);
        let mut b = SecretStream::new(&r, now);
        b.on_bytes(&a.setup_frame()).unwrap();
        let later = now + Duration::from_secs(1);
        assert_eq!(
            a.seal(&vec![0; MAX_PLAINTEXT + 1], later),
            Err(SecretError::TooLarge {
                len: MAX_PLAINTEXT + 1
            })
        );
        // Refusing touched nothing: not the stream, not the keepalive clock.
        assert_eq!(a.keepalive_at(), now + KEEPALIVE);
        b.on_bytes(&a.seal(b"after", later).unwrap()).unwrap();
        assert_eq!(b.next_message().unwrap(), b"after");
    }

    #[test]
    fn seal_puts_the_setup_frame_first_when_it_was_not_taken() {
        let (i, r) = random_splits();
        let now = Instant::now();
        let mut a = SecretStream::new(&i, now);
        let mut b = SecretStream::new(&r, now);
        let bytes = a.seal(b"first", now).unwrap();
        assert_eq!(bytes.len(), 59 + 3 + 17 + 5);
        assert!(a.setup_frame().is_empty());
        b.on_bytes(&bytes).unwrap();
        assert_eq!(b.next_message().unwrap(), b"first");
    }

    #[test]
    fn a_flipped_bit_is_fatal() {
        let (i, r) = random_splits();
        let now = Instant::now();
        // In the length, the tag byte, the ciphertext and the MAC.
        for position in [0, 3, 4, 10, 3 + 17 + 4 - 1] {
            let mut a = SecretStream::new(&i, now);
            let mut b = SecretStream::new(&r, now);
            b.on_bytes(&a.setup_frame()).unwrap();
            let mut frame = a.seal(b"abcd", now).unwrap();
            frame[position] ^= 0x01;
            let error = b.on_bytes(&frame).unwrap_err();
            // Fatal: the stream stays broken.
            assert_eq!(b.on_bytes(&[]), Err(error));
            assert_eq!(b.next_message(), None);
        }
        // A frame too short to hold a MAC.
        let mut a = SecretStream::new(&i, now);
        let mut b = SecretStream::new(&r, now);
        b.on_bytes(&a.setup_frame()).unwrap();
        let short = frame::encode(&[0; 16]).unwrap();
        assert_eq!(b.on_bytes(&short), Err(SecretError::TooShort { len: 16 }));
        // A message out of order fails too.
        let mut a = SecretStream::new(&i, now);
        let mut b = SecretStream::new(&r, now);
        b.on_bytes(&a.setup_frame()).unwrap();
        let _one = a.seal(b"one", now).unwrap();
        let two = a.seal(b"two", now).unwrap();
        assert_eq!(b.on_bytes(&two), Err(SecretError::Decrypt));
    }

    #[test]
    fn a_wrong_setup_frame_is_fatal() {
        let (i, r) = random_splits();
        let now = Instant::now();
        // The initiator's id where the responder's is expected.
        let mut a = SecretStream::new(&i, now);
        let mut a2 = SecretStream::new(&i, now);
        assert_eq!(
            a.on_bytes(&a2.setup_frame()),
            Err(SecretError::WrongStreamId)
        );
        // Another handshake's id.
        let (_, other) = random_splits();
        let mut b = SecretStream::new(&r, now);
        let mut o = SecretStream::new(&other, now);
        assert_eq!(
            SecretStream::new(&i, now).on_bytes(&o.setup_frame()),
            Err(SecretError::WrongStreamId)
        );
        // Lengths other than 56.
        let mut setup = b.setup_frame();
        for len in [0, 55, 57, 1000] {
            let mut s = SecretStream::new(&i, now);
            let body = vec![1; len];
            assert_eq!(
                s.on_bytes(&frame::encode(&body).unwrap()),
                Err(SecretError::BadSetupLength { len })
            );
        }
        // The right frame, with a bit of the id flipped.
        setup[5] ^= 0x80;
        assert_eq!(
            SecretStream::new(&i, now).on_bytes(&setup),
            Err(SecretError::WrongStreamId)
        );
    }

    #[test]
    fn a_different_header_key_fails_to_decrypt() {
        // The setup frame checks out but the header belongs to another key:
        // the first message fails, it does not come out as garbage.
        let (i, r) = random_splits();
        let now = Instant::now();
        let mut a = SecretStream::new(&i, now);
        let mut b = SecretStream::new(&r, now);
        let mut setup = a.setup_frame();
        setup[40] ^= 1;
        b.on_bytes(&setup).unwrap();
        assert_eq!(
            b.on_bytes(&a.seal(b"x", now).unwrap()),
            Err(SecretError::Decrypt)
        );
    }

    #[test]
    fn keepalives_follow_the_last_write() {
        let (i, r) = random_splits();
        let t0 = Instant::now();
        let mut a = SecretStream::new(&i, t0);
        let mut b = SecretStream::new(&r, t0);
        b.on_bytes(&a.setup_frame()).unwrap();
        assert_eq!(a.keepalive_at(), t0 + KEEPALIVE);
        assert_eq!(a.poll_keepalive(t0 + Duration::from_millis(4999)), None);
        let keepalive = a.poll_keepalive(t0 + KEEPALIVE).unwrap();
        assert_eq!(keepalive.len(), 20);
        assert_eq!(&keepalive[..3], &[17, 0, 0]);
        assert_eq!(a.keepalive_at(), t0 + 2 * KEEPALIVE);
        assert_eq!(a.poll_keepalive(t0 + KEEPALIVE), None);
        // A write pushes it back.
        let t1 = t0 + Duration::from_secs(7);
        let data = a.seal(b"data", t1).unwrap();
        assert_eq!(a.keepalive_at(), t1 + KEEPALIVE);
        assert_eq!(a.poll_keepalive(t0 + 2 * KEEPALIVE), None);
        // Late polling sends one, from the time of the poll.
        let t2 = t1 + Duration::from_secs(60);
        let late = a.poll_keepalive(t2).unwrap();
        assert_eq!(a.keepalive_at(), t2 + KEEPALIVE);
        // The peer drops them and keeps the data.
        b.on_bytes(&keepalive).unwrap();
        b.on_bytes(&data).unwrap();
        b.on_bytes(&late).unwrap();
        assert_eq!(b.next_message().unwrap(), b"data");
        assert_eq!(b.next_message(), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..8),
            after_setup in any::<bool>(),
        ) {
            let (i, r) = ik_vector_splits();
            let now = Instant::now();
            let mut b = SecretStream::with_header(&r, [1; 24], now);
            if after_setup {
                let mut a = SecretStream::with_header(&i, [2; 24], now);
                b.on_bytes(&a.setup_frame()).unwrap();
            }
            for chunk in &chunks {
                if b.on_bytes(chunk).is_err() {
                    prop_assert!(b.on_bytes(&[]).is_err());
                }
            }
            while b.next_message().is_some() {}
        }

        #[test]
        fn a_valid_stream_survives_any_split(
            messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..10),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        ) {
            let (i, r) = ik_vector_splits();
            let now = Instant::now();
            let mut a = SecretStream::with_header(&i, [2; 24], now);
            let mut b = SecretStream::with_header(&r, [1; 24], now);
            let mut wire = a.setup_frame();
            for message in &messages {
                wire.extend(a.seal(message, now).unwrap());
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
            cuts.sort_unstable();
            let mut from = 0;
            for cut in cuts.into_iter().chain([wire.len()]) {
                b.on_bytes(&wire[from..cut]).unwrap();
                from = cut;
            }
            for message in messages.iter().filter(|m| !m.is_empty()) {
                let got = b.next_message();
                prop_assert_eq!(got.as_ref(), Some(message));
            }
            prop_assert_eq!(b.next_message(), None);
        }
    }
}
