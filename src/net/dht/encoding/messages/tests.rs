//! The tests of hyperdht's messages (`messages.rs`): the note's vectors,
//! byte-for-byte cross-checks against the installed JS modules, and
//! round-trip and refusal properties. The helpers for building and checking
//! values against JS (`addr`, `js_*`, `run_js_vectors`) serve the tests of
//! `crypto` and of the record store too.

use super::*;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

pub(crate) fn addr(text: &str) -> SocketAddrV4 {
    text.parse().unwrap()
}

/// Vectors of the note, made with the installed JS modules.
#[test]
fn the_holepunch_payload_vector() {
    let payload = HolepunchPayload {
        firewall: FIREWALL_CONSISTENT,
        round: 1,
        punching: true,
        addresses: Some(vec![addr("198.51.100.10:40000")]),
        token: Some([0xaa; 32]),
        ..HolepunchPayload::default()
    };
    let expected = format!("1600020101c633640a409c{}", "aa".repeat(32));
    assert_eq!(hex::encode(payload.encode()), expected);
    assert_eq!(
        HolepunchPayload::decode(&hex::decode(&expected).unwrap()),
        Ok(payload)
    );
}

#[test]
fn the_holepunch_vector() {
    let holepunch = Holepunch {
        mode: Mode::FromClient,
        id: 3,
        payload: vec![1, 2],
        peer_address: Some(addr("198.51.100.20:5000")),
    };
    let expected = "010003020102c63364148813";
    assert_eq!(hex::encode(holepunch.encode()), expected);
    assert_eq!(
        Holepunch::decode(&hex::decode(expected).unwrap()),
        Ok(holepunch)
    );
}

#[test]
fn the_handshake_vector() {
    let handshake = Handshake {
        mode: Mode::FromRelay,
        noise: vec![0xab, 0xcd],
        peer_address: Some(addr("1.2.3.4:258")),
        relay_address: None,
    };
    let expected = "010202abcd010203040201";
    assert_eq!(hex::encode(handshake.encode()), expected);
    assert_eq!(
        Handshake::decode(&hex::decode(expected).unwrap()),
        Ok(handshake)
    );
}

pub(crate) fn the_noise_payload() -> NoisePayload {
    NoisePayload {
        holepunch: Some(HolepunchInfo {
            id: 0,
            relays: vec![RelayInfo {
                relay_address: addr("198.51.100.1:49737"),
                peer_address: addr("198.51.100.10:40000"),
            }],
        }),
        addresses4: vec![addr("192.168.10.2:40000")],
        udx: Some(UdxInfo::new(0x0102_0304, false)),
        secret_stream: Some(SecretStreamInfo::default()),
        relay_addresses: Some(vec![addr("198.51.100.1:49737")]),
        ..NoisePayload::default()
    }
}

#[test]
fn the_noise_payload_vector() {
    let payload = the_noise_payload();
    let expected =
        "015b00000001c633640149c2c633640a409c01c0a80a02409c0100fe04030201000101c633640149c2";
    assert_eq!(hex::encode(payload.encode()), expected);
    assert_eq!(
        NoisePayload::decode(&hex::decode(expected).unwrap()),
        Ok(payload)
    );
}

#[test]
fn a_noise_payload_of_another_version_reads_as_a_mismatch() {
    let decoded = NoisePayload::decode(&[2, 0xff, 0xff]).unwrap();
    assert!(decoded.version_mismatch());
    assert_eq!(decoded.version, 2);
    assert_eq!(
        decoded,
        NoisePayload {
            version: 2,
            ..NoisePayload::default()
        }
    );
    assert_eq!(decoded.encode(), vec![2]);
    assert!(!NoisePayload::default().version_mismatch());
}

#[test]
fn the_relay_addresses_tail_is_optional() {
    let mut payload = the_noise_payload();
    payload.relay_addresses = None;
    let bytes = payload.encode();
    assert_eq!(bytes[1] & 64, 0);
    assert_eq!(NoisePayload::decode(&bytes), Ok(payload.clone()));
    payload.relay_addresses = Some(Vec::new());
    assert_eq!(NoisePayload::decode(&payload.encode()), Ok(payload));
}

#[test]
fn an_unknown_mode_is_kept() {
    let handshake = Handshake::decode(&[0, 9, 0]).unwrap();
    assert_eq!(handshake.mode, Mode::Other(9));
    assert!(handshake.noise.is_empty());
    assert_eq!(Mode::from_u64(4), Mode::Reply);
    assert_eq!(Mode::Other(77).as_u64(), 77);
}

#[test]
fn a_lookup_reply_without_a_bump_reads_as_none() {
    let peer = Peer {
        public_key: [7; 32],
        relay_addresses: vec![addr("198.51.100.1:49737")],
    };
    let mut bytes = vec![1];
    bytes.extend_from_slice(&peer.encode());
    let reply = LookupRawReply::decode(&bytes).unwrap();
    assert_eq!(reply.bump, None);
    assert_eq!(reply.peers, vec![peer.clone()]);
    bytes.push(5);
    assert_eq!(LookupRawReply::decode(&bytes).unwrap().bump, Some(5));
}

#[test]
fn hostile_counts_are_refused_before_reserving() {
    // A peer claiming u32::MAX relay addresses.
    let mut bytes = vec![0x01];
    bytes.extend_from_slice(&[7; 32]);
    bytes.push(0xfe);
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        Announce::decode(&bytes),
        Err(CodecError::TooMany(u64::from(u32::MAX)))
    );
    // A lookup reply claiming 20 peers in 10 bytes.
    assert_eq!(
        LookupRawReply::decode(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(CodecError::Truncated)
    );
    // Holepunch relays over the bound.
    assert_eq!(
        NoisePayload::decode(&[1, 1, 0, 0, 0, 33]),
        Err(CodecError::TooMany(33))
    );
    // IPv6 addresses the bytes cannot hold.
    assert_eq!(
        NoisePayload::decode(&[1, 4, 0, 0, 2, 0, 0]),
        Err(CodecError::Truncated)
    );
}

#[test]
fn truncated_vectors_are_refused() {
    let full = the_noise_payload().encode();
    for cut in 0..full.len() {
        assert!(NoisePayload::decode(&full[..cut]).is_err(), "{cut}");
    }
}

// Generators.

pub(crate) fn any_addr() -> impl Strategy<Value = SocketAddrV4> {
    (any::<u32>(), any::<u16>()).prop_map(|(ip, port)| SocketAddrV4::new(Ipv4Addr::from(ip), port))
}

fn any_addr6() -> impl Strategy<Value = SocketAddrV6> {
    (any::<u128>(), any::<u16>())
        .prop_map(|(ip, port)| SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0))
}

fn any_mode() -> impl Strategy<Value = Mode> {
    prop_oneof![0u64..6, any::<u64>()].prop_map(Mode::from_u64)
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn addrs(max: usize) -> impl Strategy<Value = Vec<SocketAddrV4>> {
    proptest::collection::vec(any_addr(), 0..=max)
}

prop_compose! {
    fn any_handshake()(
        mode in any_mode(),
        noise in bytes(200),
        peer_address in proptest::option::of(any_addr()),
        relay_address in proptest::option::of(any_addr()),
    ) -> Handshake {
        Handshake { mode, noise, peer_address, relay_address }
    }
}

prop_compose! {
    fn any_holepunch()(
        mode in any_mode(),
        id in any::<u64>(),
        payload in bytes(200),
        peer_address in proptest::option::of(any_addr()),
    ) -> Holepunch {
        Holepunch { mode, id, payload, peer_address }
    }
}

prop_compose! {
    pub(crate) fn any_holepunch_payload()(
        error in any::<u64>(),
        firewall in any::<u64>(),
        round in any::<u64>(),
        connected in any::<bool>(),
        punching in any::<bool>(),
        addresses in proptest::option::of(addrs(MAX_ADDRESSES)),
        remote_address in proptest::option::of(any_addr()),
        token in proptest::option::of(any::<[u8; 32]>()),
        remote_token in proptest::option::of(any::<[u8; 32]>()),
    ) -> HolepunchPayload {
        HolepunchPayload {
            error, firewall, round, connected, punching, addresses,
            remote_address, token, remote_token,
        }
    }
}

prop_compose! {
    fn any_holepunch_info()(
        id in any::<u64>(),
        relays in proptest::collection::vec(
            (any_addr(), any_addr()).prop_map(|(relay_address, peer_address)| {
                RelayInfo { relay_address, peer_address }
            }),
            0..=MAX_RELAYS,
        ),
    ) -> HolepunchInfo {
        HolepunchInfo { id, relays }
    }
}

prop_compose! {
    fn any_noise_payload()(
        error in any::<u64>(),
        firewall in any::<u64>(),
        holepunch in proptest::option::of(any_holepunch_info()),
        addresses4 in addrs(MAX_ADDRESSES),
        addresses6 in proptest::collection::vec(any_addr6(), 0..=MAX_ADDRESSES),
        udx in proptest::option::of(
            (any::<u64>(), any::<bool>(), any::<u64>(), any::<u64>()).prop_map(
                |(version, reusable_socket, id, seq)| UdxInfo { version, reusable_socket, id, seq },
            ),
        ),
        secret_stream in proptest::option::of(any::<u64>().prop_map(|version| SecretStreamInfo { version })),
        relay_through in proptest::option::of(
            (any::<u64>(), any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(
                |(version, public_key, token)| RelayThroughInfo { version, public_key, token },
            ),
        ),
        relay_addresses in proptest::option::of(addrs(MAX_RELAY_ADDRESSES)),
    ) -> NoisePayload {
        NoisePayload {
            version: NOISE_PAYLOAD_VERSION, error, firewall, holepunch, addresses4,
            addresses6, udx, secret_stream, relay_through, relay_addresses,
        }
    }
}

prop_compose! {
    pub(crate) fn any_peer()(
        public_key in any::<[u8; 32]>(),
        relay_addresses in addrs(MAX_RELAY_ADDRESSES),
    ) -> Peer {
        Peer { public_key, relay_addresses }
    }
}

prop_compose! {
    fn any_lookup_reply()(
        peers in proptest::collection::vec(any_peer(), 0..=MAX_PEERS),
        bump in proptest::option::of(any::<u64>()),
    ) -> LookupRawReply {
        LookupRawReply { peers, bump }
    }
}

prop_compose! {
    fn any_announce()(
        peer in proptest::option::of(any_peer()),
        refresh in proptest::option::of(any::<[u8; 32]>()),
        signature in proptest::option::of(any::<[u8; 32]>().prop_map(|half| {
            let mut sig = [0; 64];
            sig[..32].copy_from_slice(&half);
            sig[32..].copy_from_slice(&half);
            sig
        })),
        bump in any::<u64>(),
    ) -> Announce {
        Announce { peer, refresh, signature, bump }
    }
}

// The cross-check with JS itself (`tests/js/dht-vectors.js`).

/// Runs the JS vectors script on `cases`; one result per case. Fails,
/// never skips, when node or the JS modules are missing.
pub(crate) fn run_js_vectors(cases: &serde_json::Value) -> Vec<serde_json::Value> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    const HOW: &str =
        "the JS cross-check needs node and the JS modules: run `npm ci --prefix tests/js`";
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let modules = root.join("tests/js/node_modules/hyperdht/lib/messages.js");
    assert!(modules.exists(), "{HOW}");
    let mut child = Command::new("node")
        .arg("tests/js/dht-vectors.js")
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{HOW} ({e})"));
    let input = serde_json::to_vec(cases).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "dht-vectors.js failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let wanted = cases.as_array().map_or(0, Vec::len);
    assert_eq!(results.len(), wanted, "one result per case");
    for (case, result) in cases.as_array().unwrap().iter().zip(&results) {
        assert!(result.get("error").is_none(), "JS refused {case}: {result}");
    }
    results
}

pub(crate) fn js_hex(bytes: &[u8]) -> serde_json::Value {
    serde_json::Value::String(format!("hex:{}", hex::encode(bytes)))
}

pub(crate) fn js_addr(a: SocketAddrV4) -> serde_json::Value {
    serde_json::json!({ "host": a.ip().to_string(), "port": a.port() })
}

fn js_addr6(a: SocketAddrV6) -> serde_json::Value {
    // All eight groups: the JS parser is simplest with the long form.
    let groups: Vec<String> = a.ip().segments().iter().map(|g| format!("{g:x}")).collect();
    serde_json::json!({ "host": groups.join(":"), "port": a.port() })
}

fn js_addrs(addrs: &[SocketAddrV4]) -> serde_json::Value {
    addrs.iter().map(|a| js_addr(*a)).collect()
}

fn js_opt<T>(v: &Option<T>, f: impl Fn(&T) -> serde_json::Value) -> serde_json::Value {
    v.as_ref().map_or(serde_json::Value::Null, f)
}

pub(crate) fn js_peer(p: &Peer) -> serde_json::Value {
    serde_json::json!({
        "publicKey": js_hex(&p.public_key),
        "relayAddresses": js_addrs(&p.relay_addresses),
    })
}

fn js_handshake(m: &Handshake) -> serde_json::Value {
    serde_json::json!({
        "mode": m.mode.as_u64(),
        "noise": js_hex(&m.noise),
        "peerAddress": js_opt(&m.peer_address, |a| js_addr(*a)),
        "relayAddress": js_opt(&m.relay_address, |a| js_addr(*a)),
    })
}

fn js_holepunch(m: &Holepunch) -> serde_json::Value {
    serde_json::json!({
        "mode": m.mode.as_u64(),
        "id": m.id,
        "payload": js_hex(&m.payload),
        "peerAddress": js_opt(&m.peer_address, |a| js_addr(*a)),
    })
}

pub(crate) fn js_holepunch_payload(m: &HolepunchPayload) -> serde_json::Value {
    serde_json::json!({
        "error": m.error,
        "firewall": m.firewall,
        "round": m.round,
        "connected": m.connected,
        "punching": m.punching,
        "addresses": js_opt(&m.addresses, |a| js_addrs(a)),
        "remoteAddress": js_opt(&m.remote_address, |a| js_addr(*a)),
        "token": js_opt(&m.token, |t| js_hex(t)),
        "remoteToken": js_opt(&m.remote_token, |t| js_hex(t)),
    })
}

fn js_noise_payload(m: &NoisePayload) -> serde_json::Value {
    serde_json::json!({
        "error": m.error,
        "firewall": m.firewall,
        "holepunch": js_opt(&m.holepunch, |h| serde_json::json!({
            "id": h.id,
            "relays": h.relays.iter().map(|r| serde_json::json!({
                "relayAddress": js_addr(r.relay_address),
                "peerAddress": js_addr(r.peer_address),
            })).collect::<Vec<_>>(),
        })),
        "addresses4": js_addrs(&m.addresses4),
        "addresses6": m.addresses6.iter().map(|a| js_addr6(*a)).collect::<Vec<_>>(),
        "udx": js_opt(&m.udx, |u| serde_json::json!({
            "reusableSocket": u.reusable_socket, "id": u.id, "seq": u.seq,
        })),
        "secretStream": js_opt(&m.secret_stream, |_| serde_json::json!({})),
        "relayThrough": js_opt(&m.relay_through, |r| serde_json::json!({
            "publicKey": js_hex(&r.public_key), "token": js_hex(&r.token),
        })),
        "relayAddresses": js_opt(&m.relay_addresses, |a| js_addrs(a)),
    })
}

fn js_lookup_reply(m: &LookupRawReply) -> serde_json::Value {
    serde_json::json!({
        "peers": m.peers.iter().map(|p| js_hex(&p.encode())).collect::<Vec<_>>(),
        "bump": m.bump.unwrap_or(0),
    })
}

pub(crate) fn js_announce(m: &Announce) -> serde_json::Value {
    serde_json::json!({
        "peer": js_opt(&m.peer, js_peer),
        "refresh": js_opt(&m.refresh, |r| js_hex(r)),
        "signature": js_opt(&m.signature, |s| js_hex(s)),
        "bump": m.bump,
    })
}

fn encode_case(kind: &str, value: serde_json::Value, rust: &[u8]) -> serde_json::Value {
    serde_json::json!({ "op": "encode", "type": kind, "value": value, "rust": hex::encode(rust) })
}

/// A case for the script, our bytes, and whether we read JS's bytes right.
type JsCheck = (serde_json::Value, Vec<u8>, Box<dyn Fn(&[u8]) -> bool>);

/// A case per message, each with every optional field set, and a few
/// with none: JS's bytes must be ours, JS must read ours back to the
/// same bytes, and we must read JS's to the same value.
#[test]
fn js_encodes_every_message_as_we_do() {
    let a = addr("198.51.100.1:49737");
    let b = addr("203.0.113.7:40000");
    let peer = Peer {
        public_key: [0x5a; 32],
        relay_addresses: vec![a, b, addr("10.0.0.1:1")],
    };
    let mut all_flags = the_noise_payload();
    all_flags.error = ERROR_TRY_LATER;
    all_flags.firewall = FIREWALL_RANDOM;
    all_flags.holepunch = Some(HolepunchInfo {
        id: 70_000,
        relays: vec![
            RelayInfo {
                relay_address: a,
                peer_address: b
            };
            3
        ],
    });
    all_flags.addresses6 = vec![
        "[2001:db8::1]:4000".parse().unwrap(),
        "[fe80::a:b:c:d]:65535".parse().unwrap(),
    ];
    all_flags.udx = Some(UdxInfo::new(u32::MAX, true));
    all_flags.relay_through = Some(RelayThroughInfo {
        version: 1,
        public_key: [3; 32],
        token: [4; 32],
    });
    all_flags.relay_addresses = Some(vec![a, b]);
    let mut checks: Vec<JsCheck> = Vec::new();
    macro_rules! check {
        ($ty:ident, $kind:expr, $json:expr, $m:expr) => {{
            let m: $ty = $m;
            let bytes = m.encode();
            let expected = m.clone();
            checks.push((
                encode_case($kind, $json(&m), &bytes),
                bytes,
                Box::new(move |js: &[u8]| $ty::decode(js) == Ok(expected.clone())),
            ));
        }};
    }
    check!(
        Handshake,
        "handshake",
        js_handshake,
        Handshake {
            mode: Mode::FromSecondRelay,
            noise: vec![9; 300],
            peer_address: Some(a),
            relay_address: Some(b),
        }
    );
    check!(
        Handshake,
        "handshake",
        js_handshake,
        Handshake {
            mode: Mode::Reply,
            noise: Vec::new(),
            peer_address: None,
            relay_address: None,
        }
    );
    check!(
        Holepunch,
        "holepunch",
        js_holepunch,
        Holepunch {
            mode: Mode::FromServer,
            id: 0x1_0000_0000,
            payload: vec![1; 70],
            peer_address: Some(b),
        }
    );
    check!(
        HolepunchPayload,
        "holepunchPayload",
        js_holepunch_payload,
        HolepunchPayload {
            error: ERROR_ABORTED,
            firewall: FIREWALL_OPEN,
            // JS sizes flags, error, firewall and round as one byte each
            // before encoding: it cannot encode a round above 252.
            round: 252,
            connected: true,
            punching: true,
            addresses: Some(vec![a, b]),
            remote_address: Some(b),
            token: Some([1; 32]),
            remote_token: Some([2; 32]),
        }
    );
    check!(
        HolepunchPayload,
        "holepunchPayload",
        js_holepunch_payload,
        HolepunchPayload {
            addresses: Some(Vec::new()),
            ..HolepunchPayload::default()
        }
    );
    check!(
        NoisePayload,
        "noisePayload",
        js_noise_payload,
        all_flags.clone()
    );
    check!(
        NoisePayload,
        "noisePayload",
        js_noise_payload,
        NoisePayload::default()
    );
    check!(Peer, "peer", js_peer, peer.clone());
    check!(
        LookupRawReply,
        "lookupRawReply",
        js_lookup_reply,
        LookupRawReply {
            peers: vec![
                peer.clone(),
                Peer {
                    public_key: [1; 32],
                    relay_addresses: Vec::new()
                }
            ],
            bump: Some(1_700_000_000_000),
        }
    );
    check!(
        LookupRawReply,
        "lookupRawReply",
        js_lookup_reply,
        LookupRawReply {
            peers: Vec::new(),
            bump: Some(0)
        }
    );
    check!(
        Announce,
        "announce",
        js_announce,
        Announce {
            peer: Some(peer.clone()),
            refresh: Some([6; 32]),
            signature: Some([7; 64]),
            bump: 1_700_000_000_000,
        }
    );
    check!(Announce, "announce", js_announce, Announce::default());

    let cases: Vec<serde_json::Value> = checks.iter().map(|(case, _, _)| case.clone()).collect();
    let results = run_js_vectors(&serde_json::Value::Array(cases));
    for ((case, ours, reads), result) in checks.iter().zip(&results) {
        let js = result["js"].as_str().unwrap();
        assert_eq!(js, hex::encode(ours), "JS encodes {case} differently");
        assert_eq!(
            result["jsOfRust"].as_str().unwrap(),
            js,
            "JS reads our {case} differently"
        );
        assert!(
            reads(&hex::decode(js).unwrap()),
            "we read JS's {case} differently"
        );
    }
}

/// Every strict prefix of `bytes` is refused by `decode`.
fn prefixes_refused<T: std::fmt::Debug>(
    bytes: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, CodecError>,
) -> Result<(), TestCaseError> {
    for cut in 0..bytes.len() {
        prop_assert!(decode(&bytes[..cut]).is_err(), "prefix of {} bytes", cut);
    }
    Ok(())
}

proptest! {
    #[test]
    fn handshakes_round_trip(m in any_handshake()) {
        let bytes = m.encode();
        prop_assert_eq!(Handshake::decode(&bytes), Ok(m));
        prefixes_refused(&bytes, Handshake::decode)?;
    }

    #[test]
    fn holepunches_round_trip(m in any_holepunch()) {
        let bytes = m.encode();
        prop_assert_eq!(Holepunch::decode(&bytes), Ok(m));
        prefixes_refused(&bytes, Holepunch::decode)?;
    }

    #[test]
    fn holepunch_payloads_round_trip(m in any_holepunch_payload()) {
        let bytes = m.encode();
        prop_assert_eq!(HolepunchPayload::decode(&bytes), Ok(m));
        prefixes_refused(&bytes, HolepunchPayload::decode)?;
    }

    #[test]
    fn noise_payloads_round_trip(m in any_noise_payload()) {
        let bytes = m.encode();
        prop_assert_eq!(NoisePayload::decode(&bytes), Ok(m));
        prefixes_refused(&bytes, NoisePayload::decode)?;
    }

    #[test]
    fn noise_payloads_of_other_versions_round_trip(version in any::<u64>()) {
        let m = NoisePayload { version, ..NoisePayload::default() };
        prop_assert_eq!(NoisePayload::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn peers_round_trip(m in any_peer()) {
        let bytes = m.encode();
        prop_assert_eq!(Peer::decode(&bytes), Ok(m));
        prefixes_refused(&bytes, Peer::decode)?;
    }

    #[test]
    fn lookup_replies_round_trip(m in any_lookup_reply()) {
        let bytes = m.encode();
        prop_assert_eq!(LookupRawReply::decode(&bytes), Ok(m.clone()));
        // The bump is an optional tail: a prefix without it is the
        // reply without a bump; any other prefix is refused.
        for cut in 0..bytes.len() {
            let decoded = LookupRawReply::decode(&bytes[..cut]);
            let without_bump = LookupRawReply { bump: None, ..m.clone() };
            prop_assert!(decoded.is_err() || decoded == Ok(without_bump), "prefix of {} bytes", cut);
        }
    }

    #[test]
    fn announces_round_trip(m in any_announce()) {
        let bytes = m.encode();
        prop_assert_eq!(Announce::decode(&bytes), Ok(m));
        prefixes_refused(&bytes, Announce::decode)?;
    }

    #[test]
    fn any_bytes_decode_or_are_refused_without_panicking(bytes in bytes(300)) {
        let _ = Handshake::decode(&bytes);
        let _ = Holepunch::decode(&bytes);
        let _ = HolepunchPayload::decode(&bytes);
        let _ = NoisePayload::decode(&bytes);
        let _ = Peer::decode(&bytes);
        let _ = LookupRawReply::decode(&bytes);
        let _ = Announce::decode(&bytes);
    }

    #[test]
    fn decoded_values_re_encode_to_themselves(bytes in bytes(300)) {
        // What decodes from any bytes encodes to bytes that decode the same.
        if let Ok(m) = NoisePayload::decode(&bytes) {
            prop_assert_eq!(NoisePayload::decode(&m.encode()), Ok(m));
        }
        if let Ok(m) = HolepunchPayload::decode(&bytes) {
            prop_assert_eq!(HolepunchPayload::decode(&m.encode()), Ok(m));
        }
        if let Ok(m) = Announce::decode(&bytes) {
            prop_assert_eq!(Announce::decode(&m.encode()), Ok(m));
        }
    }
}
