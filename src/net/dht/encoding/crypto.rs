//! The cryptography of hyperdht's messages, as JS hyperdht computes it: the
//! command namespaces, the holepunch secret a Noise handshake yields, the
//! `SecurePayload` box around holepunch payloads (XSalsa20-Poly1305, with
//! per-handshake host tokens), the host token itself (`token`, which a
//! node's `Tokens` issue too), DHT node ids, and the Ed25519 signatures of
//! announce and unannounce records.
//!
//! Pure apart from the random secrets and nonces it draws. Decryption and
//! verification take untrusted bytes and answer no, never panic.

use std::net::{Ipv4Addr, SocketAddrV4};

use blake2::digest::consts::U32;
use blake2::digest::{Digest, Mac};
use blake2::{Blake2b, Blake2bMac};
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::{Nonce, Tag, XSalsa20Poly1305};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::RngCore;

use super::codec::put_ipv4;
use super::messages::{Announce, HolepunchPayload, Peer};

/// The name hyperdht derives its namespaces from.
#[cfg(test)]
pub(crate) const NAMESPACE_NAME: &[u8] = b"hyperswarm/dht";

/// `namespace("hyperswarm/dht", [ANNOUNCE])`: prefixes announce signables.
pub(crate) const NS_ANNOUNCE: [u8; 32] = [
    0x36, 0x38, 0x6a, 0xdd, 0xdf, 0x9f, 0x6f, 0xd6, 0x0d, 0xb8, 0x3a, 0x6f, 0x42, 0xfc, 0x15, 0x9d,
    0x11, 0x46, 0xaa, 0x86, 0x44, 0x03, 0x76, 0x64, 0x23, 0x0a, 0xaa, 0x1f, 0x01, 0x79, 0xd4, 0x97,
];
/// Prefixes unannounce signables.
pub(crate) const NS_UNANNOUNCE: [u8; 32] = [
    0xde, 0xd2, 0x93, 0xcd, 0x93, 0xfb, 0x39, 0x5e, 0x75, 0x6e, 0xcf, 0x5f, 0xff, 0x42, 0x65, 0x29,
    0xe7, 0x2c, 0x36, 0xea, 0xcc, 0x22, 0xe5, 0xed, 0x94, 0x4d, 0x90, 0x99, 0xa2, 0x56, 0x1e, 0x32,
];
/// The Noise handshake's prologue.
pub(crate) const NS_PEER_HANDSHAKE: [u8; 32] = [
    0x14, 0xd6, 0xd4, 0xb4, 0x92, 0x14, 0xab, 0x10, 0x33, 0xed, 0x20, 0x49, 0x76, 0xca, 0xa2, 0x58,
    0xba, 0xe9, 0xe1, 0xe8, 0x54, 0x3b, 0x9a, 0xd1, 0xfd, 0x99, 0x6a, 0x91, 0x0b, 0x0c, 0x4e, 0x3a,
];
/// The message hashed under the handshake hash into the holepunch secret.
pub(crate) const NS_PEER_HOLEPUNCH: [u8; 32] = [
    0xf1, 0x19, 0x1c, 0xd5, 0xe6, 0x7b, 0x10, 0xb5, 0x4a, 0x50, 0x70, 0x33, 0x28, 0x0e, 0xd1, 0xff,
    0x0e, 0x12, 0x27, 0x82, 0x68, 0xd5, 0x67, 0x9c, 0x8f, 0x93, 0xd4, 0x17, 0x21, 0x0d, 0x16, 0x8b,
];

/// A `SecurePayload` box: nonce, tag, then the ciphertext.
pub(crate) const NONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;

/// BLAKE2b-256 of the concatenated `parts` (libsodium `crypto_generichash`,
/// unkeyed; for several parts, hypercore's batch hash).
pub(crate) fn hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Blake2b::<U32>::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// BLAKE2b-256 of `message` keyed with `key` (libsodium `crypto_generichash`
/// with a key). `N` is 32 or 64 here; BLAKE2b takes keys of up to 64 bytes.
pub(crate) fn keyed_hash<const N: usize>(key: &[u8; N], message: &[u8]) -> [u8; 32] {
    const { assert!(N >= 1 && N <= 64) };
    // The length is checked above at compile time, so this never fails.
    let Ok(mut mac) = <Blake2bMac<U32> as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A host's token: `BLAKE2b-256(message = host as text, key = secret)`, as
/// dht-rpc's tokens and hyperdht's `SecurePayload` compute it.
pub(crate) fn token(secret: &[u8; 32], host: Ipv4Addr) -> [u8; 32] {
    keyed_hash(secret, host.to_string().as_bytes())
}

/// hypercore-crypto's `namespace(name, [id])`: BLAKE2b-256 of
/// `BLAKE2b-256(name) ‖ id`.
#[cfg(test)]
pub(crate) fn namespace(name: &[u8], id: u8) -> [u8; 32] {
    hash(&[&hash(&[name]), &[id]])
}

/// The key of the holepunch box, from a finished Noise handshake's hash.
pub(crate) fn holepunch_secret(handshake_hash: &[u8; 64]) -> [u8; 32] {
    keyed_hash(handshake_hash, &NS_PEER_HOLEPUNCH)
}

/// A DHT node's id: BLAKE2b-256 of its address as the wire writes it.
pub(crate) fn node_id(addr: SocketAddrV4) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(6);
    put_ipv4(&mut bytes, addr);
    hash(&[&bytes])
}

/// The box around holepunch payloads for one handshake, one side: the
/// shared holepunch secret, and a local secret of this side's own for the
/// host tokens it hands out.
#[derive(Clone)]
pub(crate) struct SecurePayload {
    cipher: XSalsa20Poly1305,
    local_secret: [u8; 32],
}

impl std::fmt::Debug for SecurePayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecurePayload")
    }
}

impl SecurePayload {
    /// A box with a fresh random local secret.
    pub(crate) fn new(holepunch_secret: &[u8; 32]) -> Self {
        let mut local_secret = [0; 32];
        rand::thread_rng().fill_bytes(&mut local_secret);
        Self::with_local_secret(holepunch_secret, local_secret)
    }

    /// A box with a given local secret (deterministic tokens, for tests).
    pub(crate) fn with_local_secret(holepunch_secret: &[u8; 32], local_secret: [u8; 32]) -> Self {
        SecurePayload {
            cipher: XSalsa20Poly1305::new(holepunch_secret.into()),
            local_secret,
        }
    }

    /// `payload`, encrypted under a fresh random nonce.
    pub(crate) fn encrypt(&self, payload: &HolepunchPayload) -> Vec<u8> {
        let mut nonce = [0; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        self.encrypt_with_nonce(payload, &nonce)
    }

    /// `payload`, encrypted under `nonce`: nonce ‖ tag ‖ ciphertext, as
    /// libsodium's `crypto_secretbox_easy` lays out tag and ciphertext.
    pub(crate) fn encrypt_with_nonce(
        &self,
        payload: &HolepunchPayload,
        nonce: &[u8; NONCE_LEN],
    ) -> Vec<u8> {
        self.seal(payload.encode(), nonce)
    }

    /// nonce ‖ tag ‖ `plaintext` encrypted.
    pub(crate) fn seal(&self, mut plaintext: Vec<u8>, nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
        // The cipher refuses only messages of more than 2^38 bytes; a
        // holepunch payload is a few hundred.
        let Ok(tag) =
            self.cipher
                .encrypt_in_place_detached(Nonce::from_slice(nonce), b"", &mut plaintext)
        else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(NONCE_LEN + TAG_LEN + plaintext.len());
        out.extend_from_slice(nonce);
        out.extend_from_slice(&tag);
        out.extend_from_slice(&plaintext);
        out
    }

    /// The plaintext of an untrusted box, if it holds one byte or more and
    /// its tag matches.
    fn open(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        if bytes.len() <= NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let (tag, ciphertext) = rest.split_at(TAG_LEN);
        let mut plaintext = ciphertext.to_vec();
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                b"",
                &mut plaintext,
                Tag::from_slice(tag),
            )
            .ok()?;
        Some(plaintext)
    }

    /// The payload in an untrusted box; `None` when it is too short to hold
    /// one byte of plaintext (40 bytes or less, as JS refuses), when the tag
    /// does not match, or when the plaintext is not a holepunch payload.
    pub(crate) fn decrypt(&self, bytes: &[u8]) -> Option<HolepunchPayload> {
        HolepunchPayload::decode(&self.open(bytes)?).ok()
    }

    /// This side's token for `host`: BLAKE2b-256 of the host as dotted
    /// text, keyed with the local secret. Bound to the host, not the port.
    pub(crate) fn token(&self, host: Ipv4Addr) -> [u8; 32] {
        token(&self.local_secret, host)
    }
}

/// Which of the two records a signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnnounceKind {
    Announce,
    Unannounce,
}

impl AnnounceKind {
    fn namespace(self) -> &'static [u8; 32] {
        match self {
            AnnounceKind::Announce => &NS_ANNOUNCE,
            AnnounceKind::Unannounce => &NS_UNANNOUNCE,
        }
    }
}

/// What an announce signature binds besides the record: the target, the id
/// of the node that stores it, and the token that node gave the announcer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnnounceScope {
    pub(crate) target: [u8; 32],
    pub(crate) node_id: [u8; 32],
    pub(crate) token: [u8; 32],
}

/// The 64 bytes an announcer signs: the namespace, then BLAKE2b-256 of
/// target, node id, token, the encoded peer and the refresh (or nothing).
pub(crate) fn announce_signable(
    kind: AnnounceKind,
    scope: &AnnounceScope,
    peer: &Peer,
    refresh: Option<&[u8; 32]>,
) -> [u8; 64] {
    let peer_bytes = peer.encode();
    let refresh: &[u8] = refresh.map_or(&[], |r| r);
    let digest = hash(&[
        &scope.target,
        &scope.node_id,
        &scope.token,
        &peer_bytes,
        refresh,
    ]);
    let mut signable = [0; 64];
    signable[..32].copy_from_slice(kind.namespace());
    signable[32..].copy_from_slice(&digest);
    signable
}

/// The signature of an announce (or unannounce) of `peer` by its key pair.
pub(crate) fn sign_announce(
    kind: AnnounceKind,
    scope: &AnnounceScope,
    peer: &Peer,
    refresh: Option<&[u8; 32]>,
    key: &SigningKey,
) -> [u8; 64] {
    key.sign(&announce_signable(kind, scope, peer, refresh))
        .to_bytes()
}

/// Whether an untrusted announce carries a peer and a valid signature by
/// that peer's key. The check is strict Ed25519 (weak keys and malleable
/// signatures refused).
pub(crate) fn verify_announce(kind: AnnounceKind, scope: &AnnounceScope, ann: &Announce) -> bool {
    let (Some(peer), Some(signature)) = (&ann.peer, &ann.signature) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&peer.public_key) else {
        return false;
    };
    let signable = announce_signable(kind, scope, peer, ann.refresh.as_ref());
    key.verify_strict(&signable, &Signature::from_bytes(signature))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::encoding::messages::tests::{
        addr, any_holepunch_payload, js_addr, js_announce, js_hex, js_holepunch_payload,
        run_js_vectors,
    };
    use crate::net::dht::encoding::messages::{
        ANNOUNCE, PEER_HANDSHAKE, PEER_HOLEPUNCH, UNANNOUNCE,
    };
    use proptest::prelude::*;
    use serde_json::json;

    /// The note's holepunch payload vector, without its token.
    fn the_payload() -> HolepunchPayload {
        HolepunchPayload {
            firewall: 2,
            round: 1,
            punching: true,
            addresses: Some(vec![addr("198.51.100.10:40000")]),
            ..HolepunchPayload::default()
        }
    }

    #[test]
    fn the_token_matches_js() {
        // hyperdht's SecurePayload.token and dht-rpc's io.token hash the
        // host string with a key; this vector comes from the JS modules.
        assert_eq!(
            hex::encode(token(&[0x22; 32], Ipv4Addr::new(198, 51, 100, 10))),
            "a4e0e6078bd4d2c0765c29ddeeb41d238d7b5db44ed5299d3e28bd25847ce2bf"
        );
    }

    #[test]
    fn the_namespaces_are_hyperdhts() {
        let name = NAMESPACE_NAME;
        assert_eq!(namespace(name, ANNOUNCE as u8), NS_ANNOUNCE);
        assert_eq!(namespace(name, UNANNOUNCE as u8), NS_UNANNOUNCE);
        assert_eq!(namespace(name, PEER_HANDSHAKE as u8), NS_PEER_HANDSHAKE);
        assert_eq!(namespace(name, PEER_HOLEPUNCH as u8), NS_PEER_HOLEPUNCH);
        // The prefixes and suffixes in the note.
        let hexes = [
            (NS_PEER_HANDSHAKE, "14d6d4b4", "0c4e3a"),
            (NS_PEER_HOLEPUNCH, "f1191cd5", "0d168b"),
            (NS_ANNOUNCE, "36386add", "79d497"),
            (NS_UNANNOUNCE, "ded293cd", "561e32"),
        ];
        for (ns, head, tail) in hexes {
            let text = hex::encode(ns);
            assert!(text.starts_with(head) && text.ends_with(tail), "{text}");
        }
    }

    #[test]
    fn the_holepunch_secret_vector() {
        assert_eq!(
            hex::encode(holepunch_secret(&[0x11; 64])),
            "166bd483030ea6b5a1cbbb010cc39aa86a99adb650954c7cb8337697041b2224"
        );
    }

    #[test]
    fn the_token_vector() {
        let secret = holepunch_secret(&[0x11; 64]);
        let box_ = SecurePayload::with_local_secret(&secret, [0x22; 32]);
        assert_eq!(
            hex::encode(box_.token("198.51.100.10".parse().unwrap())),
            "a4e0e6078bd4d2c0765c29ddeeb41d238d7b5db44ed5299d3e28bd25847ce2bf"
        );
    }

    #[test]
    fn the_encrypt_vector() {
        // The note's vector boxes the 11 bytes below (the holepunch payload
        // vector without its token, so they open but do not decode).
        let secret = holepunch_secret(&[0x11; 64]);
        let box_ = SecurePayload::new(&secret);
        let plaintext = hex::decode("1600020101c633640a409c").unwrap();
        let bytes = box_.seal(plaintext.clone(), &[0x33; 24]);
        let expected = format!(
            "{}28edefd4304c9d0f73cc40e7e73b05e970d7a288416dd83728c739",
            "33".repeat(24)
        );
        assert_eq!(hex::encode(&bytes), expected);
        assert_eq!(box_.open(&bytes), Some(plaintext));
        assert_eq!(box_.decrypt(&bytes), None);
        // A whole payload goes the same way through the public calls.
        let payload = the_payload();
        let sealed = box_.encrypt_with_nonce(&payload, &[0x33; 24]);
        assert_eq!(sealed, box_.seal(payload.encode(), &[0x33; 24]));
        assert_eq!(box_.decrypt(&sealed), Some(payload));
    }

    #[test]
    fn the_node_id_vector() {
        assert_eq!(
            hex::encode(node_id(addr("198.51.100.1:49737"))),
            "654e4097265673c3c786c3b88760c042bd59a73be49d28e6dc2cd43eb73cdfb9"
        );
    }

    #[test]
    fn a_tampered_box_is_refused() {
        let box_ = SecurePayload::new(&[9; 32]);
        let bytes = box_.encrypt(&the_payload());
        assert_eq!(bytes.len(), 24 + 16 + 11);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert_eq!(box_.decrypt(&bad), None, "byte {i}");
        }
        // Another handshake's secret cannot open it.
        assert_eq!(SecurePayload::new(&[8; 32]).decrypt(&bytes), None);
    }

    #[test]
    fn short_boxes_are_refused() {
        let box_ = SecurePayload::new(&[9; 32]);
        for len in 0..=40 {
            assert_eq!(box_.decrypt(&vec![0; len]), None, "{len}");
        }
        // A valid box of 41 bytes: one byte of plaintext that is not a
        // whole payload, so it opens but does not decode.
        let bytes = box_.seal(vec![0], &[0; 24]);
        assert_eq!(bytes.len(), 41);
        assert_eq!(box_.open(&bytes), Some(vec![0]));
        assert_eq!(box_.decrypt(&bytes), None);
    }

    #[test]
    fn random_nonces_differ_and_local_secrets_differ() {
        let secret = [9; 32];
        let a = SecurePayload::new(&secret);
        let b = SecurePayload::new(&secret);
        assert_ne!(a.encrypt(&the_payload()), a.encrypt(&the_payload()));
        let host = "203.0.113.1".parse().unwrap();
        assert_ne!(a.token(host), b.token(host));
        assert_eq!(a.token(host), a.token(host));
        // Both sides share the box key: each opens the other's.
        assert_eq!(b.decrypt(&a.encrypt(&the_payload())), Some(the_payload()));
    }

    fn the_scope() -> AnnounceScope {
        AnnounceScope {
            target: hash(&[&[0x44; 32]]),
            node_id: node_id(addr("198.51.100.1:49737")),
            token: [0x55; 32],
        }
    }

    fn the_peer(key: &SigningKey) -> Peer {
        Peer {
            public_key: key.verifying_key().to_bytes(),
            relay_addresses: vec![addr("198.51.100.1:49737"), addr("203.0.113.7:40000")],
        }
    }

    #[test]
    fn an_announce_signature_verifies_and_binds_everything() {
        let key = SigningKey::from_bytes(&[0x66; 32]);
        let scope = the_scope();
        let peer = the_peer(&key);
        let signature = sign_announce(AnnounceKind::Announce, &scope, &peer, None, &key);
        let ann = Announce {
            peer: Some(peer.clone()),
            signature: Some(signature),
            ..Announce::default()
        };
        assert!(verify_announce(AnnounceKind::Announce, &scope, &ann));
        // The bump is not signed: JS does not sign it either.
        let bumped = Announce {
            bump: 7,
            ..ann.clone()
        };
        assert!(verify_announce(AnnounceKind::Announce, &scope, &bumped));
        // Every other field is.
        assert!(!verify_announce(AnnounceKind::Unannounce, &scope, &ann));
        for changed in [
            AnnounceScope {
                target: [1; 32],
                ..scope
            },
            AnnounceScope {
                node_id: [1; 32],
                ..scope
            },
            AnnounceScope {
                token: [1; 32],
                ..scope
            },
        ] {
            assert!(!verify_announce(AnnounceKind::Announce, &changed, &ann));
        }
        let mut moved = ann.clone();
        if let Some(p) = moved.peer.as_mut() {
            p.relay_addresses.pop();
        }
        assert!(!verify_announce(AnnounceKind::Announce, &scope, &moved));
        let refreshed = Announce {
            refresh: Some([3; 32]),
            ..ann.clone()
        };
        assert!(!verify_announce(AnnounceKind::Announce, &scope, &refreshed));
        let mut forged = ann.clone();
        if let Some(s) = forged.signature.as_mut() {
            s[10] ^= 1;
        }
        assert!(!verify_announce(AnnounceKind::Announce, &scope, &forged));
        // Missing parts, and a key that is not a curve point.
        let unsigned = Announce {
            signature: None,
            ..ann.clone()
        };
        assert!(!verify_announce(AnnounceKind::Announce, &scope, &unsigned));
        assert!(!verify_announce(
            AnnounceKind::Announce,
            &scope,
            &Announce::default()
        ));
        let mut bad_key = ann;
        if let Some(p) = bad_key.peer.as_mut() {
            p.public_key = [0xff; 32];
        }
        assert!(!verify_announce(AnnounceKind::Announce, &scope, &bad_key));
    }

    /// JS computes every namespace, secret, token, box, node id and
    /// signature as we do, and opens our boxes.
    #[test]
    fn js_computes_the_crypto_as_we_do() {
        let hh = [0x11; 64];
        let secret = holepunch_secret(&hh);
        let box_ = SecurePayload::with_local_secret(&secret, [0x22; 32]);
        let host: Ipv4Addr = "203.0.113.200".parse().unwrap();
        let payload = HolepunchPayload {
            round: 2,
            punching: true,
            connected: true,
            addresses: Some(vec![addr("203.0.113.200:1234")]),
            remote_address: Some(addr("198.51.100.3:3")),
            token: Some([1; 32]),
            remote_token: Some([2; 32]),
            ..HolepunchPayload::default()
        };
        let nonce = [0x77; 24];
        let sealed = box_.encrypt_with_nonce(&payload, &nonce);
        let node = addr("203.0.113.9:49737");
        let seed = [0x66; 32];
        let key = SigningKey::from_bytes(&seed);
        let scope = the_scope();
        let peer = the_peer(&key);
        let refresh = [0x12; 32];
        let sign_case = |kind: &str, refresh: Option<&[u8; 32]>| {
            json!({
                "op": "sign", "kind": kind, "seed": js_hex(&seed),
                "target": js_hex(&scope.target), "id": js_hex(&scope.node_id),
                "token": js_hex(&scope.token),
                "ann": js_announce(&Announce {
                    peer: Some(peer.clone()), refresh: refresh.copied(), ..Announce::default()
                }),
            })
        };
        let cases = json!([
            { "op": "namespaces" },
            { "op": "holepunchSecret", "hash": js_hex(&hh) },
            { "op": "token", "secret": js_hex(&secret), "localSecret": js_hex(&[0x22; 32]),
              "host": host.to_string() },
            { "op": "encrypt", "secret": js_hex(&secret), "nonce": js_hex(&nonce),
              "payload": js_holepunch_payload(&payload), "rust": hex::encode(&sealed) },
            { "op": "nodeId", "address": js_addr(node) },
            sign_case("announce", None),
            sign_case("unannounce", Some(&refresh)),
        ]);
        let r = run_js_vectors(&cases);
        let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
        assert_eq!(text(&r[0]["announce"]), hex::encode(NS_ANNOUNCE));
        assert_eq!(text(&r[0]["unannounce"]), hex::encode(NS_UNANNOUNCE));
        assert_eq!(text(&r[0]["peerHandshake"]), hex::encode(NS_PEER_HANDSHAKE));
        assert_eq!(text(&r[0]["peerHolepunch"]), hex::encode(NS_PEER_HOLEPUNCH));
        assert_eq!(text(&r[1]["secret"]), hex::encode(secret));
        assert_eq!(text(&r[2]["token"]), hex::encode(box_.token(host)));
        assert_eq!(text(&r[3]["js"]), hex::encode(&sealed));
        assert_eq!(
            text(&r[3]["jsOfRust"]),
            hex::encode(payload.encode()),
            "JS opens our box"
        );
        assert_eq!(
            box_.decrypt(&hex::decode(text(&r[3]["js"])).unwrap()),
            Some(payload)
        );
        assert_eq!(text(&r[4]["id"]), hex::encode(node_id(node)));
        for (i, kind, refresh) in [
            (5, AnnounceKind::Announce, None),
            (6, AnnounceKind::Unannounce, Some(&refresh)),
        ] {
            assert_eq!(text(&r[i]["publicKey"]), hex::encode(peer.public_key));
            let ours = sign_announce(kind, &scope, &peer, refresh, &key);
            assert_eq!(text(&r[i]["signature"]), hex::encode(ours), "{kind:?}");
            let mut theirs = [0; 64];
            theirs.copy_from_slice(&hex::decode(text(&r[i]["signature"])).unwrap());
            let ann = Announce {
                peer: Some(peer.clone()),
                refresh: refresh.copied(),
                signature: Some(theirs),
                bump: 0,
            };
            assert!(verify_announce(kind, &scope, &ann), "{kind:?}");
        }
    }

    proptest! {
        #[test]
        fn boxes_round_trip(payload in any_holepunch_payload(), secret in any::<[u8; 32]>()) {
            let box_ = SecurePayload::new(&secret);
            prop_assert_eq!(box_.decrypt(&box_.encrypt(&payload)), Some(payload));
        }

        #[test]
        fn any_bytes_open_or_are_refused_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let box_ = SecurePayload::new(&[9; 32]);
            prop_assert_eq!(box_.decrypt(&bytes), None);
        }

        #[test]
        fn any_announce_verifies_only_when_signed(
            public_key in any::<[u8; 32]>(),
            signature in any::<[u8; 32]>(),
            refresh in proptest::option::of(any::<[u8; 32]>()),
        ) {
            let mut sig = [0; 64];
            sig[..32].copy_from_slice(&signature);
            let ann = Announce {
                peer: Some(Peer { public_key, relay_addresses: Vec::new() }),
                refresh,
                signature: Some(sig),
                bump: 0,
            };
            prop_assert!(!verify_announce(AnnounceKind::Announce, &the_scope(), &ann));
        }
    }
}
