//! The DHT's decoders as the fuzz bench (`benches/fuzz_dht.rs`) drives
//! them: each with a name, valid encodings to mutate, and a run that
//! decodes untrusted bytes and says how it went. A decoded value must be
//! stable: encoded again, it decodes to itself.
//!
//! Support for the bench only (reached through `net::testing`); it owns no
//! protocol logic.

use std::net::{Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::sync::LazyLock;

use super::crypto::SecurePayload;
use super::messages::{
    Announce, Handshake, Holepunch, HolepunchInfo, HolepunchPayload, LookupRawReply, Mode,
    NoisePayload, Peer, RelayInfo, RelayThroughInfo, SecretStreamInfo, UdxInfo,
};
use super::records::{MutablePut, MutableRecord};
use super::wire::{self, Message, Reply, Request};

/// What one decoder made of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhtOutcome {
    Decoded,
    Refused,
    /// Decoded, but the value encoded again does not decode to itself.
    Unstable,
}

/// One decoder under fuzz.
pub struct DhtDecoder {
    pub name: &'static str,
    /// Valid encodings, to mutate.
    pub samples: Vec<Vec<u8>>,
    pub run: fn(&[u8]) -> DhtOutcome,
}

/// Every decoder of the DHT: the envelope, each hyperdht message, and the
/// holepunch box (raw bytes, and hostile plaintexts in a valid box).
pub fn dht_decoders() -> Vec<DhtDecoder> {
    let handshakes = handshakes();
    vec![
        DhtDecoder {
            name: "wire::decode",
            samples: wire_samples(),
            run: run_wire,
        },
        DhtDecoder {
            name: "Handshake::decode",
            samples: handshakes.iter().map(Handshake::encode).collect(),
            run: run_handshake,
        },
        DhtDecoder {
            name: "Holepunch::decode",
            samples: holepunches().iter().map(Holepunch::encode).collect(),
            run: run_holepunch,
        },
        DhtDecoder {
            name: "HolepunchPayload::decode",
            samples: payloads().iter().map(HolepunchPayload::encode).collect(),
            run: run_payload,
        },
        DhtDecoder {
            name: "NoisePayload::decode",
            samples: noise_payloads().iter().map(NoisePayload::encode).collect(),
            run: run_noise,
        },
        DhtDecoder {
            name: "Peer::decode",
            samples: peers().iter().map(Peer::encode).collect(),
            run: run_peer,
        },
        DhtDecoder {
            name: "LookupRawReply::decode",
            samples: lookups().iter().map(LookupRawReply::encode).collect(),
            run: run_lookup,
        },
        DhtDecoder {
            name: "Announce::decode",
            samples: announces().iter().map(Announce::encode).collect(),
            run: run_announce,
        },
        DhtDecoder {
            name: "MutablePut::decode",
            samples: mutable_puts().iter().map(MutablePut::encode).collect(),
            run: run_mutable_put,
        },
        DhtDecoder {
            name: "MutableRecord::decode",
            samples: mutable_puts()
                .iter()
                .map(|put| put.record.encode())
                .collect(),
            run: run_mutable_record,
        },
        DhtDecoder {
            name: "SecurePayload::decrypt",
            samples: payloads().iter().map(|p| BOX.encrypt(p)).collect(),
            run: run_decrypt,
        },
        DhtDecoder {
            name: "SecurePayload::decrypt (sealed)",
            samples: payloads().iter().map(HolepunchPayload::encode).collect(),
            run: run_decrypt_sealed,
        },
    ]
}

static BOX: LazyLock<SecurePayload> =
    LazyLock::new(|| SecurePayload::with_local_secret(&[0x42; 32], [0x24; 32]));

fn stable<T: PartialEq>(
    decoded: Result<T, impl Sized>,
    encode: impl Fn(&T) -> Vec<u8>,
    decode: impl Fn(&[u8]) -> Option<T>,
) -> DhtOutcome {
    match decoded {
        Err(_) => DhtOutcome::Refused,
        Ok(value) if decode(&encode(&value)).as_ref() == Some(&value) => DhtOutcome::Decoded,
        Ok(_) => DhtOutcome::Unstable,
    }
}

fn run_wire(bytes: &[u8]) -> DhtOutcome {
    let encode = |m: &Message| match m {
        Message::Request(r) => wire::encode_request(r),
        Message::Reply(r) => wire::encode_reply(r),
    };
    stable(wire::decode(bytes), encode, |b| wire::decode(b).ok())
}

macro_rules! runner {
    ($name:ident, $ty:ident) => {
        fn $name(bytes: &[u8]) -> DhtOutcome {
            stable($ty::decode(bytes), $ty::encode, |b| $ty::decode(b).ok())
        }
    };
}

runner!(run_handshake, Handshake);
runner!(run_holepunch, Holepunch);
runner!(run_payload, HolepunchPayload);
runner!(run_noise, NoisePayload);
runner!(run_peer, Peer);
runner!(run_lookup, LookupRawReply);
runner!(run_announce, Announce);
runner!(run_mutable_put, MutablePut);
runner!(run_mutable_record, MutableRecord);

fn run_decrypt(bytes: &[u8]) -> DhtOutcome {
    let decoded = BOX.decrypt(bytes).ok_or(());
    stable(decoded, |p| BOX.encrypt(p), |b| BOX.decrypt(b))
}

/// The input as the plaintext of a valid box: the decoder behind the tag.
fn run_decrypt_sealed(bytes: &[u8]) -> DhtOutcome {
    let sealed = BOX.seal(bytes.to_vec(), &[0x33; 24]);
    run_decrypt(&sealed)
}

fn addr(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new([a, b, c, d].into(), port)
}

fn handshakes() -> Vec<Handshake> {
    vec![
        Handshake {
            mode: Mode::FromClient,
            noise: vec![0x5a; 96],
            peer_address: None,
            relay_address: None,
        },
        Handshake {
            mode: Mode::FromSecondRelay,
            noise: vec![1; 300],
            peer_address: Some(addr(198, 51, 100, 1, 49737)),
            relay_address: Some(addr(203, 0, 113, 7, 40000)),
        },
    ]
}

fn holepunches() -> Vec<Holepunch> {
    vec![
        Holepunch {
            mode: Mode::FromRelay,
            id: 3,
            payload: BOX.encrypt(&HolepunchPayload::default()),
            peer_address: Some(addr(198, 51, 100, 20, 5000)),
        },
        Holepunch {
            mode: Mode::Reply,
            id: 0x1_0000,
            payload: vec![7; 90],
            peer_address: None,
        },
    ]
}

fn payloads() -> Vec<HolepunchPayload> {
    vec![
        HolepunchPayload::default(),
        HolepunchPayload {
            error: 0,
            firewall: 2,
            round: 1,
            connected: false,
            punching: true,
            addresses: Some(vec![addr(198, 51, 100, 10, 40000)]),
            remote_address: None,
            token: Some([0xaa; 32]),
            remote_token: None,
        },
        HolepunchPayload {
            error: 3,
            firewall: 3,
            round: 300,
            connected: true,
            punching: true,
            addresses: Some(vec![addr(198, 51, 100, 10, 40000), addr(10, 0, 0, 2, 1)]),
            remote_address: Some(addr(203, 0, 113, 9, 9)),
            token: Some([1; 32]),
            remote_token: Some([2; 32]),
        },
    ]
}

fn noise_payloads() -> Vec<NoisePayload> {
    let relay = RelayInfo {
        relay_address: addr(198, 51, 100, 1, 49737),
        peer_address: addr(198, 51, 100, 10, 40000),
    };
    vec![
        NoisePayload::default(),
        NoisePayload {
            version: 1,
            error: 0,
            firewall: 2,
            holepunch: Some(HolepunchInfo {
                id: 1,
                relays: vec![relay; 3],
            }),
            addresses4: vec![addr(192, 168, 10, 2, 40000), addr(198, 51, 100, 10, 40000)],
            addresses6: vec![SocketAddrV6::new(
                Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
                4000,
                0,
                0,
            )],
            udx: Some(UdxInfo::new(0x0102_0304, true)),
            secret_stream: Some(SecretStreamInfo::default()),
            relay_through: Some(RelayThroughInfo {
                version: 1,
                public_key: [3; 32],
                token: [4; 32],
            }),
            relay_addresses: Some(vec![addr(198, 51, 100, 1, 49737)]),
        },
    ]
}

fn peers() -> Vec<Peer> {
    vec![
        Peer {
            public_key: [0x5a; 32],
            relay_addresses: Vec::new(),
        },
        Peer {
            public_key: [0x11; 32],
            relay_addresses: vec![
                addr(198, 51, 100, 1, 49737),
                addr(203, 0, 113, 7, 40000),
                addr(192, 0, 2, 1, 1),
            ],
        },
    ]
}

fn lookups() -> Vec<LookupRawReply> {
    vec![
        LookupRawReply {
            peers: peers(),
            bump: Some(1_700_000_000_000),
        },
        LookupRawReply {
            peers: vec![peers().remove(1); 20],
            bump: None,
        },
    ]
}

fn mutable_puts() -> Vec<MutablePut> {
    [0, 1, 300, u64::MAX]
        .into_iter()
        .zip([&b"testing"[..], b"", &[0xff; 900], b"x"])
        .map(|(seq, value)| MutablePut {
            public_key: [seq as u8; 32],
            record: MutableRecord {
                seq,
                value: value.to_vec(),
                signature: [7; 64],
            },
        })
        .collect()
}

fn announces() -> Vec<Announce> {
    vec![
        Announce {
            peer: peers().pop(),
            refresh: None,
            signature: Some([9; 64]),
            bump: 0,
        },
        Announce {
            peer: peers().pop(),
            refresh: Some([8; 32]),
            signature: Some([9; 64]),
            bump: 1_700_000_000_000,
        },
    ]
}

fn wire_samples() -> Vec<Vec<u8>> {
    let to = addr(198, 51, 100, 1, 49737);
    let request = Request {
        id: Some([1; 32]),
        token: Some([2; 32]),
        target: Some([3; 32]),
        value: Some(announces().remove(1).encode()),
        ..Request::new(7, to, false, 4)
    };
    let reply = Reply {
        tid: 7,
        to,
        id: Some([1; 32]),
        token: Some([2; 32]),
        closer_nodes: vec![to; 20],
        error: 2,
        value: Some(lookups().remove(0).encode()),
    };
    vec![
        wire::encode_request(&wire::ping(1, to)),
        wire::encode_request(&wire::ping_nat(2, to, 40000)),
        wire::encode_request(&request),
        wire::encode_reply(&reply),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_decodes_stably() {
        for decoder in dht_decoders() {
            assert!(!decoder.samples.is_empty(), "{}", decoder.name);
            for sample in &decoder.samples {
                assert_eq!(
                    (decoder.run)(sample),
                    DhtOutcome::Decoded,
                    "{}",
                    decoder.name
                );
            }
            assert_eq!((decoder.run)(&[]), DhtOutcome::Refused, "{}", decoder.name);
        }
    }
}
