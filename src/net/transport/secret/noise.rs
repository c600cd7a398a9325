//! The Noise handshakes of the secret stream, byte-compatible with
//! noise-handshake 4.2.0 on noise-curve-ed 2.1.0: IK as hyperdht runs it
//! (the client knows the server's key; prologue and payloads from the
//! caller) and XX, the secret stream's default (empty prologue; the caller
//! frames each message with a u24le length). This file owns the primitives
//! and both state machines; it is pure apart from drawing random ephemerals.
//!
//! The primitives (`Noise_{IK,XX}_Ed25519_ChaChaPoly_BLAKE2b`):
//! - keys are Ed25519 key pairs made from a 32-byte seed;
//! - DH is libsodium's `crypto_scalarmult_ed25519_noclamp` with the scalar
//!   `clamp(SHA-512(seed)[..32])`: the compressed Edwards point of
//!   scalar × remote point, not X25519. Like libsodium, a remote point that
//!   is not canonical, is of small order, or is outside the prime-order
//!   subgroup is refused, and so is an identity result;
//! - the hash is BLAKE2b-512 (HASHLEN 64, block 128) with HMAC and HKDF as
//!   the Noise spec defines them; the handshake hash `h` is 64 bytes;
//! - the cipher is ChaCha20-Poly1305 (IETF) with `h` as additional data and
//!   the nonce `0u32 ‖ counter as u64 LE`; one ciphertext is at most 65,535
//!   bytes (`cipher.js:25`, `:34`);
//! - `split` takes the first 32 bytes of each HKDF(ck, empty) output: the
//!   initiator sends with the first, the responder with the second.
//!
//! Every read takes untrusted bytes: a bad message is an error, never a
//! panic, and it spoils the handshake (any later step is refused).

use blake2::{Blake2b512, Digest};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::SigningKey;
use rand::RngCore;
use sha2::Sha512;

/// The length of the hash and of the handshake hash.
pub(crate) const HASHLEN: usize = 64;
/// BLAKE2b's block, which HMAC pads its key to.
const BLOCKLEN: usize = 128;
/// An Ed25519 public key, a DH output, a ChaCha20 key.
const KEYLEN: usize = 32;
/// The Poly1305 tag after every encrypted field.
const MACLEN: usize = 16;
/// The longest ciphertext noise-handshake encrypts or decrypts.
pub(crate) const MAX_CIPHERTEXT: usize = 65_535;

const PROTOCOL_XX: &[u8] = b"Noise_XX_Ed25519_ChaChaPoly_BLAKE2b";
const PROTOCOL_IK: &[u8] = b"Noise_IK_Ed25519_ChaChaPoly_BLAKE2b";

/// An Ed25519 key pair, as `crypto_sign_seed_keypair` makes it.
#[derive(Clone)]
pub(crate) struct KeyPair {
    pub(crate) public: [u8; 32],
    /// The 32-byte Ed25519 seed (what ed25519-dalek calls the secret key;
    /// the first half of libsodium's 64-byte secret key).
    pub(crate) seed: [u8; 32],
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &hex::encode(self.public))
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    pub(crate) fn from_seed(seed: [u8; 32]) -> Self {
        KeyPair {
            public: SigningKey::from_bytes(&seed).verifying_key().to_bytes(),
            seed,
        }
    }

    pub(crate) fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        Self::from_seed(seed)
    }

    /// `SHA-512(seed)[..32]`, before clamping (libsodium stores the seed,
    /// not the scalar; noise-curve-ed derives it this way).
    fn scalar_bytes(&self) -> [u8; 32] {
        let digest = Sha512::digest(self.seed);
        let mut scalar = [0u8; 32];
        scalar.copy_from_slice(&digest[..32]);
        scalar
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NoiseError {
    #[error("the Noise message is too short")]
    TooShort,
    #[error("a Noise ciphertext is longer than 65,535 bytes")]
    TooLong,
    #[error("a Noise message failed to decrypt")]
    Decrypt,
    #[error("the peer's key is not a valid Ed25519 point")]
    BadKey,
    #[error("the handshake is not in a state to do that")]
    State,
}

/// What a finished handshake gives the secret stream.
#[derive(Clone)]
pub(crate) struct Split {
    pub(crate) is_initiator: bool,
    /// Our sending key.
    pub(crate) tx: [u8; 32],
    /// Our receiving key (the peer's `tx`).
    pub(crate) rx: [u8; 32],
    /// The handshake hash `h`.
    pub(crate) hash: [u8; 64],
    pub(crate) remote_public: [u8; 32],
}

impl std::fmt::Debug for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Split")
            .field("is_initiator", &self.is_initiator)
            .field("remote_public", &hex::encode(self.remote_public))
            .finish_non_exhaustive()
    }
}

/// IK, initiator (the DHT client): knows the server's static key.
#[cfg_attr(any(test, feature = "testing"), derive(Clone))]
pub(crate) struct IkInitiator(Handshake);

impl IkInitiator {
    /// Fails when `remote_public` is not a usable Ed25519 point.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn new(
        local: &KeyPair,
        remote_public: &[u8; 32],
        prologue: &[u8],
    ) -> Result<Self, NoiseError> {
        Self::with_ephemeral(local, remote_public, prologue, KeyPair::generate())
    }

    /// `new` with a chosen ephemeral key (for test vectors).
    pub(crate) fn with_ephemeral(
        local: &KeyPair,
        remote_public: &[u8; 32],
        prologue: &[u8],
        ephemeral: KeyPair,
    ) -> Result<Self, NoiseError> {
        remote_point(remote_public)?;
        Ok(IkInitiator(Handshake::new(
            Kind::Ik,
            true,
            local.clone(),
            ephemeral,
            prologue,
            Some(*remote_public),
        )))
    }

    /// `→ e, es, s, ss` and our encrypted payload.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn write_first(&mut self, payload: &[u8]) -> Result<Vec<u8>, NoiseError> {
        self.0.write(payload)
    }

    /// `← e, ee, se`: the server's payload and the finished handshake.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn read_answer(mut self, message: &[u8]) -> Result<(Vec<u8>, Split), NoiseError> {
        let payload = self.0.read(message)?;
        Ok((payload, self.0.split()?))
    }
}

/// IK, responder (the DHT server). It reads the client's payload before it
/// chooses its own.
pub(crate) struct IkResponder(Handshake);

impl IkResponder {
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn new(local: &KeyPair, prologue: &[u8]) -> Self {
        Self::with_ephemeral(local, prologue, KeyPair::generate())
    }

    /// `new` with a chosen ephemeral key (for test vectors).
    pub(crate) fn with_ephemeral(local: &KeyPair, prologue: &[u8], ephemeral: KeyPair) -> Self {
        IkResponder(Handshake::new(
            Kind::Ik,
            false,
            local.clone(),
            ephemeral,
            prologue,
            None,
        ))
    }

    /// Reads `→ e, es, s, ss`: the client's payload.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn read_first(&mut self, message: &[u8]) -> Result<Vec<u8>, NoiseError> {
        self.0.read(message)
    }

    /// The client's static key, once its first message was read (and
    /// checked: None after a failed read).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn remote_public(&self) -> Option<[u8; 32]> {
        self.0.remote_public()
    }

    /// `← e, ee, se` with our payload, and the finished handshake.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn write_answer(mut self, payload: &[u8]) -> Result<(Vec<u8>, Split), NoiseError> {
        let message = self.0.write(payload)?;
        Ok((message, self.0.split()?))
    }
}

/// XX, initiator: `→ e`; `← e, ee, s, es`; `→ s, se`. Empty prologue.
pub(crate) struct XxInitiator(Handshake);

impl XxInitiator {
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn new(local: &KeyPair) -> Self {
        Self::with_ephemeral(local, KeyPair::generate())
    }

    /// `new` with a chosen ephemeral key (for test vectors).
    pub(crate) fn with_ephemeral(local: &KeyPair, ephemeral: KeyPair) -> Self {
        XxInitiator(Handshake::new(
            Kind::Xx,
            true,
            local.clone(),
            ephemeral,
            &[],
            None,
        ))
    }

    /// `→ e` and our payload (in the clear: no key yet).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn write_first(&mut self, payload: &[u8]) -> Result<Vec<u8>, NoiseError> {
        self.0.write(payload)
    }

    /// Reads `← e, ee, s, es`: the responder's payload.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn read_second(&mut self, message: &[u8]) -> Result<Vec<u8>, NoiseError> {
        self.0.read(message)
    }

    /// The responder's static key, once the second message was read (and
    /// checked: None after a failed read).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn remote_public(&self) -> Option<[u8; 32]> {
        self.0.remote_public()
    }

    /// `→ s, se` with our payload, and the finished handshake.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn write_third(mut self, payload: &[u8]) -> Result<(Vec<u8>, Split), NoiseError> {
        let message = self.0.write(payload)?;
        Ok((message, self.0.split()?))
    }
}

/// XX, responder. Empty prologue.
#[cfg_attr(any(test, feature = "testing"), derive(Clone))]
pub(crate) struct XxResponder(Handshake);

impl XxResponder {
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn new(local: &KeyPair) -> Self {
        Self::with_ephemeral(local, KeyPair::generate())
    }

    /// `new` with a chosen ephemeral key (for test vectors).
    pub(crate) fn with_ephemeral(local: &KeyPair, ephemeral: KeyPair) -> Self {
        XxResponder(Handshake::new(
            Kind::Xx,
            false,
            local.clone(),
            ephemeral,
            &[],
            None,
        ))
    }

    /// Reads `→ e`: the initiator's (clear) payload.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn read_first(&mut self, message: &[u8]) -> Result<Vec<u8>, NoiseError> {
        self.0.read(message)
    }

    /// `← e, ee, s, es` with our payload.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn write_second(&mut self, payload: &[u8]) -> Result<Vec<u8>, NoiseError> {
        self.0.write(payload)
    }

    /// Reads `→ s, se`: the initiator's payload and the finished handshake.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn read_third(mut self, message: &[u8]) -> Result<(Vec<u8>, Split), NoiseError> {
        let payload = self.0.read(message)?;
        Ok((payload, self.0.split()?))
    }
}

// ---------------------------------------------------------------------------
// The handshake state machine, for any pattern of the tokens below
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Token {
    E,
    S,
    Ee,
    Es,
    Se,
    Ss,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Xx,
    /// With the pre-message `← s`.
    Ik,
}

/// The messages of a pattern; the initiator writes the even ones.
type Pattern = &'static [&'static [Token]];

const XX: Pattern = &[
    &[Token::E],
    &[Token::E, Token::Ee, Token::S, Token::Es],
    &[Token::S, Token::Se],
];
/// After the pre-message `← s`.
const IK: Pattern = &[
    &[Token::E, Token::Es, Token::S, Token::Ss],
    &[Token::E, Token::Ee, Token::Se],
];

/// Clone only for tests and the transport fuzz bench, which starts every
/// input from one handshake state: the app never copies its secrets.
#[cfg_attr(any(test, feature = "testing"), derive(Clone))]
struct Handshake {
    sym: Symmetric,
    initiator: bool,
    s: KeyPair,
    e: KeyPair,
    rs: Option<[u8; 32]>,
    re: Option<[u8; 32]>,
    pattern: Pattern,
    /// The index of the next message.
    step: usize,
    /// Set by any failed step: the handshake cannot go on.
    failed: bool,
}

impl Handshake {
    /// `Initialize`: the protocol name as `h`, `ck = h`, the prologue mixed
    /// in, then the pre-message (IK's `← s`: the responder's static key).
    fn new(
        kind: Kind,
        initiator: bool,
        s: KeyPair,
        e: KeyPair,
        prologue: &[u8],
        rs: Option<[u8; 32]>,
    ) -> Self {
        let (protocol, pattern) = match kind {
            Kind::Xx => (PROTOCOL_XX, XX),
            Kind::Ik => (PROTOCOL_IK, IK),
        };
        let mut sym = Symmetric::new(protocol);
        sym.mix_hash(prologue);
        if kind == Kind::Ik {
            let responder_static = if initiator {
                rs.unwrap_or_default()
            } else {
                s.public
            };
            sym.mix_hash(&responder_static);
        }
        Handshake {
            sym,
            initiator,
            s,
            e,
            rs,
            re: None,
            pattern,
            step: 0,
            failed: false,
        }
    }

    /// Whether the next message is ours to write (`writing`) or to read.
    fn turn(&self, writing: bool) -> Result<&'static [Token], NoiseError> {
        let ours = self.step.is_multiple_of(2) == self.initiator;
        match self.pattern.get(self.step) {
            Some(tokens) if !self.failed && ours == writing => Ok(tokens),
            _ => Err(NoiseError::State),
        }
    }

    fn write(&mut self, payload: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let tokens = self.turn(true)?;
        let result = self.write_tokens(tokens, payload);
        self.advance(result)
    }

    fn read(&mut self, message: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let tokens = self.turn(false)?;
        let result = self.read_tokens(tokens, message);
        self.advance(result)
    }

    fn advance<T>(&mut self, result: Result<T, NoiseError>) -> Result<T, NoiseError> {
        match &result {
            Ok(_) => self.step += 1,
            Err(_) => self.failed = true,
        }
        result
    }

    fn write_tokens(&mut self, tokens: &[Token], payload: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let mut out = Vec::with_capacity(2 * KEYLEN + 2 * MACLEN + payload.len());
        for token in tokens {
            match token {
                Token::E => {
                    let public = self.e.public;
                    self.sym.mix_hash(&public);
                    out.extend_from_slice(&public);
                }
                Token::S => {
                    let public = self.s.public;
                    out.extend(self.sym.encrypt_and_hash(&public)?);
                }
                &dh => self.mix_dh(dh)?,
            }
        }
        out.extend(self.sym.encrypt_and_hash(payload)?);
        Ok(out)
    }

    fn read_tokens(&mut self, tokens: &[Token], message: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let mut rest = message;
        for token in tokens {
            match token {
                Token::E => {
                    let re: [u8; 32] = take(&mut rest, KEYLEN)?
                        .try_into()
                        .map_err(|_| NoiseError::TooShort)?;
                    self.sym.mix_hash(&re);
                    self.re = Some(re);
                }
                Token::S => {
                    let len = if self.sym.has_key() {
                        KEYLEN + MACLEN
                    } else {
                        KEYLEN
                    };
                    let field = take(&mut rest, len)?;
                    let rs: [u8; 32] = self
                        .sym
                        .decrypt_and_hash(field)?
                        .try_into()
                        .map_err(|_| NoiseError::TooShort)?;
                    self.rs = Some(rs);
                }
                &dh => self.mix_dh(dh)?,
            }
        }
        self.sym.decrypt_and_hash(rest)
    }

    /// `MixKey(DH(local, remote))` for `ee`, `es`, `se`, `ss`: the first
    /// letter is the initiator's key, the second the responder's.
    fn mix_dh(&mut self, token: Token) -> Result<(), NoiseError> {
        let (local_static, remote_static) = match token {
            Token::Ee => (false, false),
            Token::Es => (!self.initiator, self.initiator),
            Token::Se => (self.initiator, !self.initiator),
            Token::Ss => (true, true),
            Token::E | Token::S => return Err(NoiseError::State),
        };
        let local = if local_static { &self.s } else { &self.e };
        let remote = if remote_static { self.rs } else { self.re };
        let remote = remote.ok_or(NoiseError::State)?;
        let shared = dh(local, &remote)?;
        self.sym.mix_key(&shared);
        Ok(())
    }

    /// The peer's static key once a message carrying it was read whole
    /// (the initiator of IK knows it from the start).
    fn remote_public(&self) -> Option<[u8; 32]> {
        if self.failed {
            return None;
        }
        self.rs
    }

    fn split(&self) -> Result<Split, NoiseError> {
        if self.failed || self.step != self.pattern.len() {
            return Err(NoiseError::State);
        }
        let (k1, k2) = self.sym.split();
        let (tx, rx) = if self.initiator { (k1, k2) } else { (k2, k1) };
        Ok(Split {
            is_initiator: self.initiator,
            tx,
            rx,
            hash: self.sym.h,
            remote_public: self.rs.ok_or(NoiseError::State)?,
        })
    }
}

/// The first `len` bytes of `rest`, which moves past them.
fn take<'a>(rest: &mut &'a [u8], len: usize) -> Result<&'a [u8], NoiseError> {
    if rest.len() < len {
        return Err(NoiseError::TooShort);
    }
    let (head, tail) = rest.split_at(len);
    *rest = tail;
    Ok(head)
}

// ---------------------------------------------------------------------------
// The symmetric state: h, ck and the cipher key
// ---------------------------------------------------------------------------

#[cfg_attr(any(test, feature = "testing"), derive(Clone))]
struct Symmetric {
    h: [u8; HASHLEN],
    ck: [u8; HASHLEN],
    k: Option<[u8; KEYLEN]>,
    n: u64,
}

impl Symmetric {
    /// `h` is the protocol name zero-padded to 64 bytes (or its hash if
    /// longer), and `ck = h`.
    fn new(protocol: &[u8]) -> Self {
        let mut h = [0u8; HASHLEN];
        if protocol.len() <= HASHLEN {
            h[..protocol.len()].copy_from_slice(protocol);
        } else {
            h = hash(&[protocol]);
        }
        Symmetric {
            h,
            ck: h,
            k: None,
            n: 0,
        }
    }

    fn has_key(&self) -> bool {
        self.k.is_some()
    }

    fn mix_hash(&mut self, data: &[u8]) {
        self.h = hash(&[&self.h, data]);
    }

    fn mix_key(&mut self, input: &[u8]) {
        let (ck, temp_k) = hkdf(&self.ck, input);
        self.ck = ck;
        let mut k = [0u8; KEYLEN];
        k.copy_from_slice(&temp_k[..KEYLEN]);
        self.k = Some(k);
        self.n = 0;
    }

    fn nonce(&self) -> Nonce {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&self.n.to_le_bytes());
        nonce.into()
    }

    /// Without a key the plaintext goes out as it is (and is hashed).
    fn encrypt_and_hash(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let ciphertext = match self.k {
            None => plaintext.to_vec(),
            Some(k) => {
                if plaintext.len() + MACLEN > MAX_CIPHERTEXT {
                    return Err(NoiseError::TooLong);
                }
                let mut buffer = Vec::with_capacity(plaintext.len() + MACLEN);
                buffer.extend_from_slice(plaintext);
                let tag = ChaCha20Poly1305::new(Key::from_slice(&k))
                    .encrypt_in_place_detached(&self.nonce(), &self.h, &mut buffer)
                    .map_err(|_| NoiseError::TooLong)?;
                buffer.extend_from_slice(&tag);
                self.n += 1;
                buffer
            }
        };
        self.mix_hash(&ciphertext);
        Ok(ciphertext)
    }

    fn decrypt_and_hash(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let plaintext = match self.k {
            None => ciphertext.to_vec(),
            Some(k) => {
                if ciphertext.len() > MAX_CIPHERTEXT {
                    return Err(NoiseError::TooLong);
                }
                if ciphertext.len() < MACLEN {
                    return Err(NoiseError::TooShort);
                }
                let (body, tag) = ciphertext.split_at(ciphertext.len() - MACLEN);
                let mut buffer = body.to_vec();
                ChaCha20Poly1305::new(Key::from_slice(&k))
                    .decrypt_in_place_detached(
                        &self.nonce(),
                        &self.h,
                        &mut buffer,
                        Tag::from_slice(tag),
                    )
                    .map_err(|_| NoiseError::Decrypt)?;
                self.n += 1;
                buffer
            }
        };
        self.mix_hash(ciphertext);
        Ok(plaintext)
    }

    /// The first 32 bytes of each HKDF(ck, empty) output.
    fn split(&self) -> ([u8; KEYLEN], [u8; KEYLEN]) {
        let (t1, t2) = hkdf(&self.ck, &[]);
        let mut k1 = [0u8; KEYLEN];
        let mut k2 = [0u8; KEYLEN];
        k1.copy_from_slice(&t1[..KEYLEN]);
        k2.copy_from_slice(&t2[..KEYLEN]);
        (k1, k2)
    }
}

// ---------------------------------------------------------------------------
// BLAKE2b-512, HMAC, HKDF and the Ed25519 DH
// ---------------------------------------------------------------------------

fn hash(parts: &[&[u8]]) -> [u8; HASHLEN] {
    let mut hasher = Blake2b512::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// HMAC-BLAKE2b-512: the key zero-padded to the 128-byte block (hashed
/// first if longer).
fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; HASHLEN] {
    let mut block = [0u8; BLOCKLEN];
    if key.len() > BLOCKLEN {
        block[..HASHLEN].copy_from_slice(&hash(&[key]));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner_pad = block.map(|b| b ^ 0x36);
    let outer_pad = block.map(|b| b ^ 0x5c);
    let mut inner = Blake2b512::new();
    inner.update(inner_pad);
    for part in parts {
        inner.update(part);
    }
    let inner: [u8; HASHLEN] = inner.finalize().into();
    hash(&[&outer_pad, &inner])
}

/// The Noise spec's HKDF with two outputs (the info is empty).
fn hkdf(chaining_key: &[u8; HASHLEN], input: &[u8]) -> ([u8; HASHLEN], [u8; HASHLEN]) {
    let prk = hmac(chaining_key, &[input]);
    let t1 = hmac(&prk, &[&[1]]);
    let t2 = hmac(&prk, &[&t1, &[2]]);
    (t1, t2)
}

/// A remote public key as libsodium accepts it for scalar multiplication:
/// a canonical encoding of a point on the curve, not of small order, in
/// the prime-order subgroup.
fn remote_point(bytes: &[u8; 32]) -> Result<EdwardsPoint, NoiseError> {
    let point = CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or(NoiseError::BadKey)?;
    // Re-encoding catches a y at or above p; the only other difference,
    // x = 0 with the sign bit set, is of small order and refused below.
    if point.compress().to_bytes() != *bytes || point.is_small_order() || !point.is_torsion_free() {
        return Err(NoiseError::BadKey);
    }
    Ok(point)
}

/// noise-curve-ed's DH: `clamp(SHA-512(seed)[..32]) × remote`, compressed,
/// the result not clamped or hashed.
pub(crate) fn dh(local: &KeyPair, remote_public: &[u8; 32]) -> Result<[u8; 32], NoiseError> {
    let shared = remote_point(remote_public)?.mul_clamped(local.scalar_bytes());
    if shared.is_identity() {
        return Err(NoiseError::BadKey);
    }
    Ok(shared.compress().to_bytes())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    // The DHT's own namespace and derivation, so the vectors check what
    // the handshake really runs with (tests only: the transport does not
    // depend on the DHT).
    use crate::net::dht::encoding::crypto::{holepunch_secret, NS_PEER_HANDSHAKE};
    use crate::net::dht::encoding::messages::{NoisePayload, FIREWALL_OPEN, FIREWALL_UNKNOWN};
    use proptest::prelude::*;

    fn key(byte: u8) -> KeyPair {
        KeyPair::from_seed([byte; 32])
    }

    fn h(bytes: impl AsRef<[u8]>) -> String {
        hex::encode(bytes)
    }

    #[test]
    fn keys_and_dh_match_the_note() {
        assert_eq!(
            h(key(1).public),
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
        );
        assert_eq!(
            h(key(2).public),
            "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394"
        );
        assert_eq!(
            h(key(3).public),
            "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1"
        );
        assert_eq!(
            h(key(4).public),
            "ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c"
        );
        let ab = dh(&key(1), &key(2).public).unwrap();
        assert_eq!(ab, dh(&key(2), &key(1).public).unwrap());
        assert_eq!(
            h(ab),
            "5612509e82825296cbaaae306ffe1088cbbe200de8ba23dad06f67e607f861df"
        );
    }

    #[test]
    fn dh_refuses_what_libsodium_refuses() {
        let me = key(9);
        // The identity, and a point of order 2 (y = −1).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(dh(&me, &identity), Err(NoiseError::BadKey));
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert_eq!(dh(&me, &minus_one), Err(NoiseError::BadKey));
        // y = p + 1, a non-canonical encoding of the identity's y.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert_eq!(dh(&me, &non_canonical), Err(NoiseError::BadKey));
        // A valid key plus a point of order 2 leaves the prime-order subgroup.
        let torsion = CompressedEdwardsY(minus_one).decompress().unwrap();
        let mixed = CompressedEdwardsY(key(1).public).decompress().unwrap() + torsion;
        assert_eq!(
            dh(&me, &mixed.compress().to_bytes()),
            Err(NoiseError::BadKey)
        );
        // Not on the curve at all (y = 2 has no x).
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(dh(&me, &off_curve), Err(NoiseError::BadKey));
    }

    #[test]
    fn hkdf_is_the_noise_specs() {
        // HKDF output 2 chains on output 1: recomputed by hand.
        let ck = [0x42u8; HASHLEN];
        let (t1, t2) = hkdf(&ck, b"input");
        let prk = hmac(&ck, &[b"input"]);
        assert_eq!(t1, hmac(&prk, &[&[1u8][..]]));
        let mut chained = t1.to_vec();
        chained.push(2);
        assert_eq!(t2, hmac(&prk, &[&chained]));
        // A key longer than the block is hashed first.
        let long = [7u8; 200];
        assert_eq!(hmac(&long, &[b"x"]), hmac(&hash(&[&long]), &[b"x"]));
    }

    /// §7.3: XX with empty prologue and payloads, A (01…) initiating with
    /// ephemeral 03…, B (02…) answering with ephemeral 04….
    #[test]
    fn xx_matches_the_vectors() {
        let mut initiator = XxInitiator::with_ephemeral(&key(1), key(3));
        let mut responder = XxResponder::with_ephemeral(&key(2), key(4));
        let m1 = initiator.write_first(&[]).unwrap();
        assert_eq!(
            h(&m1),
            "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1"
        );
        assert!(responder.read_first(&m1).unwrap().is_empty());
        let m2 = responder.write_second(&[]).unwrap();
        assert_eq!(
            h(&m2),
            concat!(
                "ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c",
                "8924380c5066a7dcffff1174cebcbfefc17dafd675f6dc2e688de867ff96c431",
                "a1fcb7f80997fba29d5bbc64a50e8d74e82bc092a89c62eacaf68db17bb5d0b5"
            )
        );
        assert!(initiator.read_second(&m2).unwrap().is_empty());
        assert_eq!(initiator.remote_public(), Some(key(2).public));
        let (m3, i) = initiator.write_third(&[]).unwrap();
        assert_eq!(
            h(&m3),
            concat!(
                "585b6e8320c9dfc6764d48e242b912333244a85ae8769c90ee632f1d3bf6945d",
                "6d4729ee9c716f0f82946ce191158c480d53f508585c93bb66354bbee6b8bdad"
            )
        );
        let (payload, r) = responder.read_third(&m3).unwrap();
        assert!(payload.is_empty());
        let hash = concat!(
            "aa42bcea44d843e3803e549191ae7eac847a85dccf21ef3918a7cf228d87b788",
            "9b194cdb190b8b2cf82daf543e71e86871532b84ba1d7982489eb3040dcfc412"
        );
        assert_eq!(h(i.hash), hash);
        assert_eq!(h(r.hash), hash);
        let tx = "36e72ba85cd0a2b5e7c9f44704a1757d7230c30dd39736e46f2190fcd1300c13";
        let rx = "29c4a931005b47aaf766f5ec7a119810eb15399b8612e79071f77447826dee17";
        assert_eq!((h(i.tx), h(i.rx)), (tx.to_string(), rx.to_string()));
        assert_eq!((h(r.rx), h(r.tx)), (tx.to_string(), rx.to_string()));
        assert!(i.is_initiator && !r.is_initiator);
        assert_eq!(i.remote_public, key(2).public);
        assert_eq!(r.remote_public, key(1).public);
    }

    /// §7.4: IK as hyperdht runs it, the same keys, prologue
    /// `NS_PEER_HANDSHAKE`, payloads p1 and p2.
    #[test]
    fn ik_matches_the_vectors() {
        let p1 = hex::decode("011a000001c0a8010a49c20100fe443322110001").unwrap();
        let p2 = hex::decode("011a000101cb00710749c20100fe887766550001").unwrap();
        let mut client =
            IkInitiator::with_ephemeral(&key(1), &key(2).public, &NS_PEER_HANDSHAKE, key(3))
                .unwrap();
        let mut server = IkResponder::with_ephemeral(&key(2), &NS_PEER_HANDSHAKE, key(4));
        assert_eq!(server.remote_public(), None);
        let m1 = client.write_first(&p1).unwrap();
        assert_eq!(
            h(&m1),
            concat!(
                "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1",
                "605c88a9067c5f85bd7499907d5c869548dd90bed5350bb2e7cb47efe61f60bc",
                "315838e49205f95b5a618d7c8c212eebf0fd5de91a7dbb77e815cfdd5c45e3c7",
                "b2c9804ed87f8ae8478b80b7126686f36c80f444"
            )
        );
        assert_eq!(server.read_first(&m1).unwrap(), p1);
        assert_eq!(server.remote_public(), Some(key(1).public));
        let (m2, s) = server.write_answer(&p2).unwrap();
        assert_eq!(
            h(&m2),
            concat!(
                "ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c",
                "f6c2821870011f0c0ae135064e8ceeb3cffe66546cb8c33ec5d5e5c8205fd93e",
                "1a075009"
            )
        );
        let (payload, c) = client.read_answer(&m2).unwrap();
        assert_eq!(payload, p2);
        let hash = concat!(
            "edb0f4e358070106ad59e243e1d3f4654d6d09bc51d28214153ef0cd0a326e20",
            "61c2fa5376d41951cfa9887b3c21cf80cd099c4de273a2f3f87743f9a5a504de"
        );
        assert_eq!(h(c.hash), hash);
        assert_eq!(h(s.hash), hash);
        let tx = "cc00d99bd3a15a6779df38fd42fd25a84d73264023e7c1da95cf3bcbdce9c210";
        let rx = "78dd48ecef5d11fd953197694a8ee2d9f8d86d49d56d856e3dd7c8e78047826b";
        assert_eq!((h(c.tx), h(c.rx)), (tx.to_string(), rx.to_string()));
        assert_eq!((h(s.rx), h(s.tx)), (tx.to_string(), rx.to_string()));
        assert_eq!(s.remote_public, key(1).public);
        assert_eq!(c.remote_public, key(2).public);
        assert_eq!(
            h(holepunch_secret(&c.hash)),
            "607e01ba7c1782b7af3732666fd4f4fd1fa361d49e375208e9fc3b43504d6329"
        );
        // The payloads are hyperdht's noisePayload.
        let p1 = NoisePayload::decode(&p1).unwrap();
        assert_eq!(p1.firewall, FIREWALL_UNKNOWN);
        assert_eq!(p1.udx.as_ref().map(|u| u.id), Some(0x1122_3344));
        let p2 = NoisePayload::decode(&p2).unwrap();
        assert_eq!(p2.firewall, FIREWALL_OPEN);
        assert_eq!(p2.udx.as_ref().map(|u| u.id), Some(0x5566_7788));
    }

    fn ik_round_trip(client: &KeyPair, server: &KeyPair) -> (Split, Split) {
        let mut initiator = IkInitiator::new(client, &server.public, b"prologue").unwrap();
        let mut responder = IkResponder::new(server, b"prologue");
        let m1 = initiator.write_first(b"from the client").unwrap();
        assert_eq!(responder.read_first(&m1).unwrap(), b"from the client");
        assert_eq!(responder.remote_public(), Some(client.public));
        let (m2, s) = responder.write_answer(b"from the server").unwrap();
        let (payload, c) = initiator.read_answer(&m2).unwrap();
        assert_eq!(payload, b"from the server");
        (c, s)
    }

    #[test]
    fn ik_round_trips_with_the_callers_keys() {
        for _ in 0..8 {
            let client = KeyPair::generate();
            let server = KeyPair::generate();
            let (c, s) = ik_round_trip(&client, &server);
            assert_eq!(c.tx, s.rx);
            assert_eq!(c.rx, s.tx);
            assert_ne!(c.tx, c.rx);
            assert_eq!(c.hash, s.hash);
            // The server learns the caller's key pair, not a random one.
            assert_eq!(s.remote_public, client.public);
            assert_eq!(c.remote_public, server.public);
        }
    }

    #[test]
    fn xx_round_trips() {
        for _ in 0..8 {
            let a = KeyPair::generate();
            let b = KeyPair::generate();
            let mut initiator = XxInitiator::new(&a);
            let mut responder = XxResponder::new(&b);
            let m1 = initiator.write_first(b"one").unwrap();
            assert_eq!(responder.read_first(&m1).unwrap(), b"one");
            let m2 = responder.write_second(b"two").unwrap();
            assert_eq!(initiator.read_second(&m2).unwrap(), b"two");
            let (m3, i) = initiator.write_third(b"three").unwrap();
            let (payload, r) = responder.read_third(&m3).unwrap();
            assert_eq!(payload, b"three");
            assert_eq!((i.tx, i.rx, i.hash), (r.rx, r.tx, r.hash));
            assert_eq!(i.remote_public, b.public);
            assert_eq!(r.remote_public, a.public);
        }
    }

    #[test]
    fn a_wrong_server_key_is_an_error() {
        let client = key(1);
        let server = key(2);
        let mut initiator = IkInitiator::new(&client, &key(5).public, &[]).unwrap();
        let m1 = initiator.write_first(b"hi").unwrap();
        let mut responder = IkResponder::new(&server, &[]);
        assert_eq!(responder.read_first(&m1), Err(NoiseError::Decrypt));
        assert_eq!(responder.remote_public(), None);
        // A payload that fails after the client's key decrypted: that key
        // is not reported either.
        let mut initiator = IkInitiator::new(&client, &server.public, &[]).unwrap();
        let mut m1 = initiator.write_first(b"hi").unwrap();
        if let Some(last) = m1.last_mut() {
            *last ^= 1;
        }
        let mut tampered = IkResponder::new(&server, &[]);
        assert_eq!(tampered.read_first(&m1), Err(NoiseError::Decrypt));
        assert_eq!(tampered.remote_public(), None);
        // The spoiled handshake refuses to go on.
        assert!(matches!(
            responder.write_answer(b""),
            Err(NoiseError::State)
        ));
        // An invalid server key is refused up front.
        assert!(matches!(
            IkInitiator::new(&client, &[0u8; 32], &[]),
            Err(NoiseError::BadKey)
        ));
        // A different prologue fails as well.
        let mut initiator = IkInitiator::new(&client, &server.public, b"a").unwrap();
        let m1 = initiator.write_first(b"").unwrap();
        assert!(IkResponder::new(&server, b"b").read_first(&m1).is_err());
    }

    #[test]
    fn steps_out_of_order_are_refused() {
        let mut initiator = XxInitiator::new(&key(1));
        assert_eq!(initiator.read_second(&[0; 96]), Err(NoiseError::State));
        initiator.write_first(&[]).unwrap();
        assert_eq!(initiator.write_first(&[]), Err(NoiseError::State));
        let mut responder = XxResponder::new(&key(2));
        assert_eq!(responder.write_second(&[]), Err(NoiseError::State));
        assert!(matches!(
            responder.read_third(&[0; 64]),
            Err(NoiseError::State)
        ));
        let mut ik = IkInitiator::new(&key(1), &key(2).public, &[]).unwrap();
        ik.write_first(&[]).unwrap();
        assert_eq!(ik.write_first(&[]), Err(NoiseError::State));
        let responder = IkResponder::new(&key(2), &[]);
        assert!(matches!(
            responder.write_answer(&[]),
            Err(NoiseError::State)
        ));
    }

    #[test]
    fn short_and_long_messages_are_errors() {
        let server = key(2);
        // A real first message cut short, in the static key or the payload's MAC.
        let m1 = IkInitiator::new(&key(1), &server.public, &[])
            .unwrap()
            .write_first(&[])
            .unwrap();
        assert_eq!(m1.len(), 96);
        for len in [0, 31, 32, 79, 80, 95] {
            let mut responder = IkResponder::new(&server, &[]);
            assert_eq!(responder.read_first(&m1[..len]), Err(NoiseError::TooShort));
        }
        // Zeros are no ephemeral key: the first DH refuses them.
        let mut responder = IkResponder::new(&server, &[]);
        assert_eq!(responder.read_first(&[0; 96]), Err(NoiseError::BadKey));
        let mut initiator = IkInitiator::new(&key(1), &server.public, &[]).unwrap();
        assert_eq!(
            initiator.write_first(&vec![0; MAX_CIPHERTEXT - MACLEN + 1]),
            Err(NoiseError::TooLong)
        );
        let mut initiator = IkInitiator::new(&key(1), &server.public, &[]).unwrap();
        let m1 = initiator
            .write_first(&vec![0; MAX_CIPHERTEXT - MACLEN])
            .unwrap();
        let mut responder = IkResponder::new(&server, &[]);
        assert_eq!(responder.read_first(&m1).unwrap().len(), 65_519);
        let (m2, _) = responder.write_answer(&[]).unwrap();
        assert!(initiator.read_answer(&m2[..m2.len() - 1]).is_err());
    }

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..max)
    }

    proptest! {
        #[test]
        fn noise_reads_never_panic(garbage in bytes(300), cut in 0usize..200) {
            let a = key(1);
            let b = key(2);
            // IK m1 and m2: garbage, and a real message cut short or followed by garbage.
            let _ = IkResponder::new(&b, &[]).read_first(&garbage);
            let mut client = IkInitiator::new(&a, &b.public, &[]).unwrap();
            let m1 = client.write_first(b"payload").unwrap();
            let mut tampered = m1[..cut.min(m1.len())].to_vec();
            tampered.extend_from_slice(&garbage);
            prop_assert!(IkResponder::new(&b, &[]).read_first(&tampered).is_err() || tampered == m1);
            let _ = client.read_answer(&garbage);
            // XX m1, m2, m3.
            let mut responder = XxResponder::new(&b);
            let _ = responder.read_first(&garbage);
            let _ = responder.write_second(&[]);
            let _ = responder.read_third(&garbage);
            let mut initiator = XxInitiator::new(&a);
            let m1 = initiator.write_first(&[]).unwrap();
            let mut responder = XxResponder::new(&b);
            responder.read_first(&m1).unwrap();
            let m2 = responder.write_second(&[]).unwrap();
            let mut tampered = m2[..cut.min(m2.len())].to_vec();
            tampered.extend_from_slice(&garbage);
            prop_assert!(initiator.read_second(&tampered).is_err() || tampered == m2);
            let _ = initiator.write_third(&[]);
            let _ = responder.read_third(&garbage);
        }
    }
}
