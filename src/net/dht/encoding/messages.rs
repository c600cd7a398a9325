//! hyperdht's messages, the values its commands carry inside the dht-rpc
//! envelope (`wire`), laid out as JS hyperdht 6.x lays them out: the
//! handshake and holepunch relay messages, the holepunch payload (the
//! plaintext of `SecurePayload`), the Noise handshake payload, and the
//! announce records (`peer`, `announce`, the lookup reply). Also the
//! command numbers, firewall verdicts and error codes they use.
//!
//! Pure. Decoders take untrusted bytes: every array count is capped (at a
//! bound above what JS sends) before anything is reserved, a field that runs
//! past the end is refused, nothing panics, and bytes after the known fields
//! are ignored, as JS ignores them.

use std::net::{SocketAddrV4, SocketAddrV6};

use super::codec::{put_buffer, put_ipv4, put_ipv4_array, put_ipv6, put_uint, CodecError, Reader};

/// hyperdht's commands (never internal in the envelope).
pub(crate) const PEER_HANDSHAKE: u64 = 0;
pub(crate) const PEER_HOLEPUNCH: u64 = 1;
pub(crate) const FIND_PEER: u64 = 2;
pub(crate) const LOOKUP: u64 = 3;
pub(crate) const ANNOUNCE: u64 = 4;
pub(crate) const UNANNOUNCE: u64 = 5;
// The mutable and immutable record commands (6 to 9) are `records.rs`'s.

/// Firewall verdicts, as the holepunch and Noise payloads carry them.
pub(crate) const FIREWALL_UNKNOWN: u64 = 0;
pub(crate) const FIREWALL_OPEN: u64 = 1;
pub(crate) const FIREWALL_CONSISTENT: u64 = 2;
pub(crate) const FIREWALL_RANDOM: u64 = 3;

/// Error codes of the holepunch and Noise payloads.
pub(crate) const ERROR_NONE: u64 = 0;
pub(crate) const ERROR_ABORTED: u64 = 1;
pub(crate) const ERROR_VERSION_MISMATCH: u64 = 2;
pub(crate) const ERROR_TRY_LATER: u64 = 3;

/// The Noise payload version this code speaks.
pub(crate) const NOISE_PAYLOAD_VERSION: u64 = 1;

/// Decoding bounds. JS sends at most 3 relay addresses and 20 peers; the
/// address lists of a payload hold a host's NAT samples and its local
/// interfaces. Each bound is well above that and well below a datagram.
pub(crate) const MAX_RELAY_ADDRESSES: usize = 32;
pub(crate) const MAX_RELAYS: usize = 32;
pub(crate) const MAX_ADDRESSES: usize = 64;
pub(crate) const MAX_PEERS: usize = 32;

/// Who sent a handshake or holepunch message, and which way it travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Mode {
    FromClient,
    FromServer,
    FromRelay,
    FromSecondRelay,
    Reply,
    /// A mode this code does not know; kept so the caller can drop it.
    Other(u64),
}

impl Mode {
    pub(crate) fn from_u64(n: u64) -> Self {
        match n {
            0 => Mode::FromClient,
            1 => Mode::FromServer,
            2 => Mode::FromRelay,
            3 => Mode::FromSecondRelay,
            4 => Mode::Reply,
            other => Mode::Other(other),
        }
    }

    pub(crate) fn as_u64(self) -> u64 {
        match self {
            Mode::FromClient => 0,
            Mode::FromServer => 1,
            Mode::FromRelay => 2,
            Mode::FromSecondRelay => 3,
            Mode::Reply => 4,
            Mode::Other(n) => n,
        }
    }
}

/// A counted list of entries at least `min_len` bytes each, at most `max`:
/// a count the remaining bytes cannot hold is refused before reserving.
fn list<'a, T>(
    r: &mut Reader<'a>,
    max: usize,
    min_len: usize,
    mut entry: impl FnMut(&mut Reader<'a>) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    let n = r.count(max)?;
    if r.0.len() < n.saturating_mul(min_len) {
        return Err(CodecError::Truncated);
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(entry(r)?);
    }
    Ok(out)
}

fn flag(flags: u64, bit: u64) -> bool {
    flags & bit != 0
}

fn optional<'a, T>(
    r: &mut Reader<'a>,
    present: bool,
    read: impl FnOnce(&mut Reader<'a>) -> Result<T, CodecError>,
) -> Result<Option<T>, CodecError> {
    if present {
        read(r).map(Some)
    } else {
        Ok(None)
    }
}

/// The value of `PEER_HANDSHAKE`: a Noise message relayed between client
/// and server. An empty `noise` is what the wire calls absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handshake {
    pub(crate) mode: Mode,
    pub(crate) noise: Vec<u8>,
    pub(crate) peer_address: Option<SocketAddrV4>,
    pub(crate) relay_address: Option<SocketAddrV4>,
}

impl Handshake {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.noise.len());
        let flags =
            u64::from(self.peer_address.is_some()) | u64::from(self.relay_address.is_some()) << 1;
        put_uint(&mut out, flags);
        put_uint(&mut out, self.mode.as_u64());
        put_buffer(&mut out, &self.noise);
        if let Some(addr) = self.peer_address {
            put_ipv4(&mut out, addr);
        }
        if let Some(addr) = self.relay_address {
            put_ipv4(&mut out, addr);
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader(bytes);
        let flags = r.uint()?;
        let mode = Mode::from_u64(r.uint()?);
        let noise = r.buffer()?.unwrap_or_default().to_vec();
        let peer_address = optional(&mut r, flag(flags, 1), Reader::ipv4)?;
        let relay_address = optional(&mut r, flag(flags, 2), Reader::ipv4)?;
        Ok(Handshake {
            mode,
            noise,
            peer_address,
            relay_address,
        })
    }

    /// The handshake a request carries, if its value is one.
    pub(crate) fn of(request: &super::wire::Request) -> Option<Self> {
        Self::decode(request.value.as_deref()?).ok()
    }
}

/// The value of `PEER_HOLEPUNCH`: an encrypted holepunch payload relayed
/// between client and server. An empty `payload` is what the wire calls
/// absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holepunch {
    pub(crate) mode: Mode,
    pub(crate) id: u64,
    pub(crate) payload: Vec<u8>,
    pub(crate) peer_address: Option<SocketAddrV4>,
}

impl Holepunch {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.payload.len());
        put_uint(&mut out, u64::from(self.peer_address.is_some()));
        put_uint(&mut out, self.mode.as_u64());
        put_uint(&mut out, self.id);
        put_buffer(&mut out, &self.payload);
        if let Some(addr) = self.peer_address {
            put_ipv4(&mut out, addr);
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader(bytes);
        let flags = r.uint()?;
        let mode = Mode::from_u64(r.uint()?);
        let id = r.uint()?;
        let payload = r.buffer()?.unwrap_or_default().to_vec();
        let peer_address = optional(&mut r, flag(flags, 1), Reader::ipv4)?;
        Ok(Holepunch {
            mode,
            id,
            payload,
            peer_address,
        })
    }

    /// The holepunch message a request carries, if its value is one.
    pub(crate) fn of(request: &super::wire::Request) -> Option<Self> {
        Self::decode(request.value.as_deref()?).ok()
    }
}

/// The plaintext of a holepunch round (encrypted with `SecurePayload`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HolepunchPayload {
    pub(crate) error: u64,
    pub(crate) firewall: u64,
    /// Only grows; a receiver ignores stale rounds.
    pub(crate) round: u64,
    pub(crate) connected: bool,
    pub(crate) punching: bool,
    /// The sender's puncher addresses, from its NAT verdict.
    pub(crate) addresses: Option<Vec<SocketAddrV4>>,
    /// "I have opened a session towards this address of yours."
    pub(crate) remote_address: Option<SocketAddrV4>,
    /// The sender's token for the receiver's host.
    pub(crate) token: Option<[u8; 32]>,
    /// The receiver's token, echoed back.
    pub(crate) remote_token: Option<[u8; 32]>,
}

impl HolepunchPayload {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80);
        let flags = u64::from(self.connected)
            | u64::from(self.punching) << 1
            | u64::from(self.addresses.is_some()) << 2
            | u64::from(self.remote_address.is_some()) << 3
            | u64::from(self.token.is_some()) << 4
            | u64::from(self.remote_token.is_some()) << 5;
        put_uint(&mut out, flags);
        put_uint(&mut out, self.error);
        put_uint(&mut out, self.firewall);
        put_uint(&mut out, self.round);
        if let Some(addrs) = &self.addresses {
            put_ipv4_array(&mut out, addrs);
        }
        if let Some(addr) = self.remote_address {
            put_ipv4(&mut out, addr);
        }
        if let Some(token) = &self.token {
            out.extend_from_slice(token);
        }
        if let Some(token) = &self.remote_token {
            out.extend_from_slice(token);
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader(bytes);
        let flags = r.uint()?;
        let error = r.uint()?;
        let firewall = r.uint()?;
        let round = r.uint()?;
        let addresses = optional(&mut r, flag(flags, 4), |r| r.ipv4_array(MAX_ADDRESSES))?;
        let remote_address = optional(&mut r, flag(flags, 8), Reader::ipv4)?;
        let token = optional(&mut r, flag(flags, 16), Reader::fixed32)?;
        let remote_token = optional(&mut r, flag(flags, 32), Reader::fixed32)?;
        Ok(HolepunchPayload {
            error,
            firewall,
            round,
            connected: flag(flags, 1),
            punching: flag(flags, 2),
            addresses,
            remote_address,
            token,
            remote_token,
        })
    }
}

/// One relay a server announced through: the relay, and the server's DHT
/// socket as that relay sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RelayInfo {
    pub(crate) relay_address: SocketAddrV4,
    pub(crate) peer_address: SocketAddrV4,
}

/// How to holepunch to the sender: its holepunch session and its relays.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HolepunchInfo {
    pub(crate) id: u64,
    pub(crate) relays: Vec<RelayInfo>,
}

/// The sender's UDX stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UdxInfo {
    /// 1 from JS (written as this field says).
    pub(crate) version: u64,
    pub(crate) reusable_socket: bool,
    /// The sender's 32-bit stream id.
    pub(crate) id: u64,
    pub(crate) seq: u64,
}

impl UdxInfo {
    pub(crate) fn new(id: u32, reusable_socket: bool) -> Self {
        UdxInfo {
            version: 1,
            reusable_socket,
            id: u64::from(id),
            seq: 0,
        }
    }
}

/// The sender speaks secret-stream (version 1 from JS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SecretStreamInfo {
    pub(crate) version: u64,
}

impl Default for SecretStreamInfo {
    fn default() -> Self {
        SecretStreamInfo { version: 1 }
    }
}

/// The connection goes through a blind relay: its key and token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RelayThroughInfo {
    pub(crate) version: u64,
    pub(crate) public_key: [u8; 32],
    pub(crate) token: [u8; 32],
}

/// The Noise handshake payload, both ways. A `version` other than 1 is a
/// payload from a peer we cannot talk to: it decodes with every other
/// field empty (`version_mismatch()`), as JS decodes it, and encodes back
/// to the version alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoisePayload {
    pub(crate) version: u64,
    pub(crate) error: u64,
    pub(crate) firewall: u64,
    pub(crate) holepunch: Option<HolepunchInfo>,
    /// Written only when non-empty (the wire cannot tell empty from absent).
    pub(crate) addresses4: Vec<SocketAddrV4>,
    pub(crate) addresses6: Vec<SocketAddrV6>,
    pub(crate) udx: Option<UdxInfo>,
    pub(crate) secret_stream: Option<SecretStreamInfo>,
    pub(crate) relay_through: Option<RelayThroughInfo>,
    pub(crate) relay_addresses: Option<Vec<SocketAddrV4>>,
}

impl Default for NoisePayload {
    fn default() -> Self {
        NoisePayload {
            version: NOISE_PAYLOAD_VERSION,
            error: ERROR_NONE,
            firewall: FIREWALL_UNKNOWN,
            holepunch: None,
            addresses4: Vec::new(),
            addresses6: Vec::new(),
            udx: None,
            secret_stream: None,
            relay_through: None,
            relay_addresses: None,
        }
    }
}

impl NoisePayload {
    /// The sender speaks another payload version: nothing else was read.
    pub(crate) fn version_mismatch(&self) -> bool {
        self.version != NOISE_PAYLOAD_VERSION
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        put_uint(&mut out, self.version);
        if self.version_mismatch() {
            return out;
        }
        let flags = u64::from(self.holepunch.is_some())
            | u64::from(!self.addresses4.is_empty()) << 1
            | u64::from(!self.addresses6.is_empty()) << 2
            | u64::from(self.udx.is_some()) << 3
            | u64::from(self.secret_stream.is_some()) << 4
            | u64::from(self.relay_through.is_some()) << 5
            | u64::from(self.relay_addresses.is_some()) << 6;
        put_uint(&mut out, flags);
        put_uint(&mut out, self.error);
        put_uint(&mut out, self.firewall);
        if let Some(info) = &self.holepunch {
            put_uint(&mut out, info.id);
            put_uint(&mut out, info.relays.len() as u64);
            for relay in &info.relays {
                put_ipv4(&mut out, relay.relay_address);
                put_ipv4(&mut out, relay.peer_address);
            }
        }
        if !self.addresses4.is_empty() {
            put_ipv4_array(&mut out, &self.addresses4);
        }
        if !self.addresses6.is_empty() {
            put_uint(&mut out, self.addresses6.len() as u64);
            for addr in &self.addresses6 {
                put_ipv6(&mut out, *addr);
            }
        }
        if let Some(udx) = &self.udx {
            put_uint(&mut out, udx.version);
            put_uint(&mut out, u64::from(udx.reusable_socket));
            put_uint(&mut out, udx.id);
            put_uint(&mut out, udx.seq);
        }
        if let Some(info) = &self.secret_stream {
            put_uint(&mut out, info.version);
        }
        if let Some(info) = &self.relay_through {
            put_uint(&mut out, info.version);
            put_uint(&mut out, 0);
            out.extend_from_slice(&info.public_key);
            out.extend_from_slice(&info.token);
        }
        if let Some(addrs) = &self.relay_addresses {
            put_ipv4_array(&mut out, addrs);
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader(bytes);
        let version = r.uint()?;
        if version != NOISE_PAYLOAD_VERSION {
            return Ok(NoisePayload {
                version,
                ..NoisePayload::default()
            });
        }
        let flags = r.uint()?;
        let error = r.uint()?;
        let firewall = r.uint()?;
        let holepunch = optional(&mut r, flag(flags, 1), |r| {
            let id = r.uint()?;
            let relays = list(r, MAX_RELAYS, 12, |r| {
                Ok(RelayInfo {
                    relay_address: r.ipv4()?,
                    peer_address: r.ipv4()?,
                })
            })?;
            Ok(HolepunchInfo { id, relays })
        })?;
        let addresses4 =
            optional(&mut r, flag(flags, 2), |r| r.ipv4_array(MAX_ADDRESSES))?.unwrap_or_default();
        let addresses6 = optional(&mut r, flag(flags, 4), |r| {
            list(r, MAX_ADDRESSES, 18, Reader::ipv6)
        })?
        .unwrap_or_default();
        let udx = optional(&mut r, flag(flags, 8), |r| {
            let version = r.uint()?;
            let features = r.uint()?;
            Ok(UdxInfo {
                version,
                reusable_socket: flag(features, 1),
                id: r.uint()?,
                seq: r.uint()?,
            })
        })?;
        let secret_stream = optional(&mut r, flag(flags, 16), |r| {
            Ok(SecretStreamInfo { version: r.uint()? })
        })?;
        let relay_through = optional(&mut r, flag(flags, 32), |r| {
            let version = r.uint()?;
            let _flags = r.uint()?;
            Ok(RelayThroughInfo {
                version,
                public_key: r.fixed32()?,
                token: r.fixed32()?,
            })
        })?;
        let relay_addresses = optional(&mut r, flag(flags, 64), |r| {
            r.ipv4_array(MAX_RELAY_ADDRESSES)
        })?;
        Ok(NoisePayload {
            version,
            error,
            firewall,
            holepunch,
            addresses4,
            addresses6,
            udx,
            secret_stream,
            relay_through,
            relay_addresses,
        })
    }
}

/// An announce record: a public key and the relays that reach it. The
/// value of a FIND_PEER reply, and the entries of a LOOKUP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    pub(crate) public_key: [u8; 32],
    pub(crate) relay_addresses: Vec<SocketAddrV4>,
}

impl Peer {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.public_key);
        put_ipv4_array(out, &self.relay_addresses);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(Peer {
            public_key: r.fixed32()?,
            relay_addresses: r.ipv4_array(MAX_RELAY_ADDRESSES)?,
        })
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(33 + 6 * self.relay_addresses.len());
        self.write(&mut out);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Peer::read(&mut Reader(bytes))
    }
}

/// The value of a LOOKUP reply: the records for the target, then the
/// target's bump when the sender wrote one (JS always does).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct LookupRawReply {
    pub(crate) peers: Vec<Peer>,
    pub(crate) bump: Option<u64>,
}

impl LookupRawReply {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 40 * self.peers.len());
        put_uint(&mut out, self.peers.len() as u64);
        for peer in &self.peers {
            peer.write(&mut out);
        }
        if let Some(bump) = self.bump {
            put_uint(&mut out, bump);
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader(bytes);
        let peers = list(&mut r, MAX_PEERS, 33, Peer::read)?;
        let has_bump = !r.is_empty();
        let bump = optional(&mut r, has_bump, Reader::uint)?;
        Ok(LookupRawReply { peers, bump })
    }
}

/// The value of ANNOUNCE and UNANNOUNCE. A `bump` of 0 is absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Announce {
    pub(crate) peer: Option<Peer>,
    pub(crate) refresh: Option<[u8; 32]>,
    pub(crate) signature: Option<[u8; 64]>,
    pub(crate) bump: u64,
}

impl Announce {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        let flags = u64::from(self.peer.is_some())
            | u64::from(self.refresh.is_some()) << 1
            | u64::from(self.signature.is_some()) << 2
            | u64::from(self.bump != 0) << 3;
        put_uint(&mut out, flags);
        if let Some(peer) = &self.peer {
            peer.write(&mut out);
        }
        if let Some(refresh) = &self.refresh {
            out.extend_from_slice(refresh);
        }
        if let Some(signature) = &self.signature {
            out.extend_from_slice(signature);
        }
        if self.bump != 0 {
            put_uint(&mut out, self.bump);
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader(bytes);
        let flags = r.uint()?;
        let peer = optional(&mut r, flag(flags, 1), Peer::read)?;
        let refresh = optional(&mut r, flag(flags, 2), Reader::fixed32)?;
        let signature = optional(&mut r, flag(flags, 4), Reader::fixed64)?;
        let bump = optional(&mut r, flag(flags, 8), Reader::uint)?.unwrap_or(0);
        Ok(Announce {
            peer,
            refresh,
            signature,
            bump,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
