//! The record keeping's decisions, as JS hyperdht's `persistent.js` makes
//! them, one table of requests and answers at a time.

use super::*;
use crate::net::dht::encoding::messages::tests::addr;
use crate::net::dht::encoding::records::{encode_seq, sign_mutable};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

const TOKEN: [u8; 32] = [0x55; 32];

fn request(command: u64, target: [u8; 32], token: bool, value: Option<Vec<u8>>) -> Request {
    Request {
        target: Some(target),
        token: token.then_some(TOKEN),
        value,
        ..Request::new(1, addr("198.51.100.1:49737"), false, command)
    }
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn target_of(key: &SigningKey) -> [u8; 32] {
    hash(&[&key.verifying_key().to_bytes()])
}

fn put(key: &SigningKey, seq: u64, value: &[u8]) -> MutablePut {
    MutablePut {
        public_key: key.verifying_key().to_bytes(),
        record: MutableRecord {
            seq,
            value: value.to_vec(),
            signature: sign_mutable(seq, value, key),
        },
    }
}

fn mutable_put(records: &mut Records, put: &MutablePut, now: Instant) -> Answer {
    let target = hash(&[&put.public_key]);
    records.handle(&request(MUTABLE_PUT, target, true, Some(put.encode())), now)
}

fn mutable_get(records: &mut Records, key: &SigningKey, seq: u64, now: Instant) -> Answer {
    records.handle(
        &request(MUTABLE_GET, target_of(key), false, Some(encode_seq(seq))),
        now,
    )
}

fn stored() -> Answer {
    reply(None)
}

#[test]
fn an_immutable_value_is_kept_under_its_hash_and_only_there() {
    let now = Instant::now();
    let mut records = Records::default();
    let value = b"testing".to_vec();
    let target = hash(&[&value]);
    let get = request(IMMUTABLE_GET, target, false, None);
    assert_eq!(records.handle(&get, now), reply(None), "nothing yet");
    let wrong = request(IMMUTABLE_PUT, [1; 32], true, Some(value.clone()));
    assert_eq!(records.handle(&wrong, now), Answer::Silent);
    assert_eq!(records.last_refusal(), Some(Refusal::WrongTarget));
    let tokenless = request(IMMUTABLE_PUT, target, false, Some(value.clone()));
    assert_eq!(records.handle(&tokenless, now), Answer::Silent);
    assert_eq!(records.last_refusal(), Some(Refusal::Incomplete));
    let right = request(IMMUTABLE_PUT, target, true, Some(value.clone()));
    assert_eq!(records.handle(&right, now), stored());
    assert_eq!(records.handle(&get, now), reply(Some(value)));
    assert_eq!(records.held(), (0, 1));
    assert_eq!(
        records.counts(),
        RecordCounts {
            kept: 1,
            served: 1,
            refused: 2
        }
    );
    // 48 hours after its put, it is gone.
    assert_eq!(records.handle(&get, now + RECORD_TTL), reply(None));
    assert_eq!(records.held(), (0, 0));
}

#[test]
fn a_mutable_record_rises_by_seq_and_refuses_what_js_refuses() {
    let now = Instant::now();
    let mut records = Records::default();
    let alice = key(1);
    let first = put(&alice, 0, b"testing");
    assert_eq!(mutable_put(&mut records, &first, now), stored());
    assert_eq!(
        mutable_get(&mut records, &alice, 0, now),
        reply(Some(first.record.encode()))
    );
    assert_eq!(
        mutable_get(&mut records, &alice, 1, now),
        reply(None),
        "below the seq asked"
    );

    let second = put(&alice, 2, b"testing two");
    let cases = [
        (second.clone(), stored(), None),
        (
            put(&alice, 1, b"older"),
            Answer::Error(SEQ_TOO_LOW),
            Some(Refusal::SeqTooLow),
        ),
        (
            put(&alice, 2, b"another"),
            Answer::Error(SEQ_REUSED),
            Some(Refusal::SeqReused),
        ),
        // The same record again is a refresh.
        (second.clone(), stored(), Some(Refusal::SeqReused)),
        (
            {
                let mut forged = put(&alice, 3, b"forged");
                forged.record.signature = first.record.signature;
                forged
            },
            Answer::Silent,
            Some(Refusal::BadSignature),
        ),
        (
            put(&alice, 4, b""),
            Answer::Silent,
            Some(Refusal::Incomplete),
        ),
    ];
    for (i, (sent, answer, refusal)) in cases.into_iter().enumerate() {
        assert_eq!(mutable_put(&mut records, &sent, now), answer, "case {i}");
        assert_eq!(records.last_refusal(), refusal, "case {i}");
    }
    assert_eq!(
        mutable_get(&mut records, &alice, 2, now),
        reply(Some(second.record.encode()))
    );

    // A put under another key's target is dropped.
    let bob = key(2);
    let misplaced = put(&bob, 0, b"mine");
    let request = request(
        MUTABLE_PUT,
        target_of(&alice),
        true,
        Some(misplaced.encode()),
    );
    assert_eq!(records.handle(&request, now), Answer::Silent);
    assert_eq!(records.last_refusal(), Some(Refusal::WrongTarget));
    assert_eq!(records.held(), (1, 0));
}

#[test]
fn requests_without_their_parts_are_dropped() {
    let now = Instant::now();
    let mut records = Records::default();
    let alice = key(1);
    let target = target_of(&alice);
    for (i, request) in [
        Request {
            target: None,
            ..request(IMMUTABLE_GET, target, false, None)
        },
        request(MUTABLE_GET, target, false, None),
        request(MUTABLE_GET, target, false, Some(vec![0xff])),
        request(MUTABLE_PUT, target, true, Some(vec![1, 2, 3])),
        request(
            MUTABLE_PUT,
            target,
            false,
            Some(put(&alice, 0, b"x").encode()),
        ),
        request(IMMUTABLE_PUT, hash(&[&[] as &[u8]]), true, Some(Vec::new())),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(records.handle(&request, now), Answer::Silent, "case {i}");
    }
    assert_eq!(records.counts().refused, 6);
    assert_eq!(records.held(), (0, 0));
}

#[test]
fn only_external_record_commands_are_the_records() {
    let target = [1; 32];
    assert!(Records::mine(&request(MUTABLE_PUT, target, true, None)));
    assert!(Records::mine(&request(IMMUTABLE_GET, target, false, None)));
    assert!(!Records::mine(&request(10, target, false, None)));
    assert!(!Records::mine(&Request {
        internal: true,
        ..request(MUTABLE_GET, target, false, None)
    }));
}

/// A flood of valid puts: the oldest give way, and neither the count nor
/// the bytes pass JS's bounds and ours.
#[test]
fn a_flood_of_puts_stays_within_the_bounds() {
    let t0 = Instant::now();
    let mut records = Records::default();
    for i in 0..40_000u32 {
        let mut value = vec![0u8; 1000];
        value[..4].copy_from_slice(&i.to_be_bytes());
        let put = request(IMMUTABLE_PUT, hash(&[&value]), true, Some(value));
        assert_eq!(records.handle(&put, t0), stored());
    }
    let (_, immutable) = records.held();
    assert!(records.bytes() <= VALUE_BYTES_PER_KIND);
    assert_eq!(
        immutable,
        VALUE_BYTES_PER_KIND / 1000,
        "the byte budget binds first"
    );
    // Small values: the count binds.
    let mut records = Records::default();
    for i in 0..40_000u32 {
        let value = i.to_be_bytes().to_vec();
        let put = request(IMMUTABLE_PUT, hash(&[&value]), true, Some(value));
        records.handle(&put, t0);
    }
    assert_eq!(records.held(), (0, RECORDS_PER_KIND));
    assert_eq!(records.counts().kept, 40_000);
}

proptest! {
    /// Any requests, well formed or not: no panic, and the bounds hold.
    #[test]
    fn any_requests_keep_the_bounds(
        ops in proptest::collection::vec(
            (6u64..10, 0u8..4, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..80), 0u64..5, any::<bool>()),
            1..60,
        ),
    ) {
        let t0 = Instant::now();
        let bounds = Bounds { entries: 3, bytes: 200, ttl: Duration::from_secs(60) };
        let mut records = Records::new(bounds);
        for (i, (command, who, token, bytes, seq, signed)) in ops.into_iter().enumerate() {
            let now = t0 + Duration::from_secs(i as u64);
            let signer = key(who + 1);
            let (target, value) = match (command, signed) {
                (MUTABLE_PUT, true) => (target_of(&signer), Some(put(&signer, seq, &bytes).encode())),
                (IMMUTABLE_PUT, true) => (hash(&[&bytes]), Some(bytes)),
                _ => (target_of(&signer), Some(bytes)),
            };
            let _ = records.handle(&request(command, target, token, value), now);
            let (mutables, immutables) = records.held();
            prop_assert!(mutables <= 3 && immutables <= 3);
            prop_assert!(records.bytes() <= 400);
        }
    }
}
