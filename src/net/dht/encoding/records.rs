//! The messages of hyperdht's mutable and immutable records, laid out as JS
//! hyperdht 6.x lays them out, and the signature that binds a mutable
//! record: `MUTABLE_PUT`'s request (`MutablePut`: key, seq, value,
//! signature), `MUTABLE_GET`'s reply (`MutableRecord`: seq, value,
//! signature), the signable (the namespace, then BLAKE2b-256 of the seq and
//! the value), and the command numbers and error codes.
//!
//! Pure. Decoders take untrusted bytes: a field that runs past the end is
//! refused and nothing panics; bytes after the known fields are ignored,
//! as JS ignores them. A value of length 0 is JS's "no value".

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::codec::{put_buffer, put_uint, CodecError, Reader};
use super::crypto::hash;

pub(crate) const MUTABLE_PUT: u64 = 6;
pub(crate) const MUTABLE_GET: u64 = 7;
pub(crate) const IMMUTABLE_PUT: u64 = 8;
pub(crate) const IMMUTABLE_GET: u64 = 9;

/// A mutable put whose seq is the record's but whose value differs.
pub(crate) const SEQ_REUSED: u64 = 16;
/// A mutable put whose seq is below the record's.
pub(crate) const SEQ_TOO_LOW: u64 = 17;

/// `namespace("hyperswarm/dht", [MUTABLE_PUT])`: prefixes mutable signables.
pub(crate) const NS_MUTABLE_PUT: [u8; 32] = [
    0x66, 0x8e, 0x82, 0x3e, 0xdd, 0x5c, 0xe7, 0xf5, 0x33, 0x8d, 0x68, 0xbf, 0x11, 0x61, 0xf4, 0xa3,
    0xc2, 0x8c, 0xe4, 0x37, 0xee, 0x2a, 0xb4, 0x9e, 0xfd, 0x30, 0xd9, 0x93, 0x66, 0x03, 0x9b, 0x1e,
];

/// A `MUTABLE_PUT` request's value: the signer's key, then the record as
/// a get answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MutablePut {
    pub(crate) public_key: [u8; 32],
    pub(crate) record: MutableRecord,
}

impl MutablePut {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 10 + self.record.value.len() + 64);
        out.extend_from_slice(&self.public_key);
        self.record.write(&mut out);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader(bytes);
        let public_key = r.fixed32()?;
        let record = MutableRecord::read(&mut r)?;
        Ok(MutablePut { public_key, record })
    }
}

/// A `MUTABLE_GET` reply's value: a mutable record as a node keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MutableRecord {
    pub(crate) seq: u64,
    /// Empty when the sender gave none (JS then ignores the put).
    pub(crate) value: Vec<u8>,
    pub(crate) signature: [u8; 64],
}

impl MutableRecord {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + self.value.len() + 64);
        self.write(&mut out);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Self::read(&mut Reader(bytes))
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_uint(out, self.seq);
        put_buffer(out, &self.value);
        out.extend_from_slice(&self.signature);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let seq = r.uint()?;
        let value = r.buffer()?.map(<[u8]>::to_vec).unwrap_or_default();
        let signature = r.fixed64()?;
        Ok(MutableRecord {
            seq,
            value,
            signature,
        })
    }
}

/// A `MUTABLE_GET` request's value: the lowest seq wanted.
pub(crate) fn encode_seq(seq: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(9);
    put_uint(&mut out, seq);
    out
}

/// A `MUTABLE_GET` request's value (the lowest seq wanted), or the seq at
/// the front of an encoded `MutableRecord`.
pub(crate) fn decode_seq(bytes: &[u8]) -> Option<u64> {
    Reader(bytes).uint().ok()
}

/// The 64 bytes a mutable record's key signs: the namespace, then
/// BLAKE2b-256 of the seq and the value as `mutableSignable` encodes them.
pub(crate) fn mutable_signable(seq: u64, value: &[u8]) -> [u8; 64] {
    let mut encoded = Vec::with_capacity(10 + value.len());
    put_uint(&mut encoded, seq);
    put_buffer(&mut encoded, value);
    let mut signable = [0; 64];
    signable[..32].copy_from_slice(&NS_MUTABLE_PUT);
    signable[32..].copy_from_slice(&hash(&[&encoded]));
    signable
}

/// The signature of a mutable record of `seq` and `value` by `key`.
pub(crate) fn sign_mutable(seq: u64, value: &[u8], key: &SigningKey) -> [u8; 64] {
    key.sign(&mutable_signable(seq, value)).to_bytes()
}

/// Whether `signature` by `public_key` binds `seq` and `value` (strict
/// Ed25519: weak keys and malleable signatures refused).
pub(crate) fn verify_mutable(
    public_key: &[u8; 32],
    seq: u64,
    value: &[u8],
    signature: &[u8; 64],
) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    key.verify_strict(
        &mutable_signable(seq, value),
        &Signature::from_bytes(signature),
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dht::encoding::crypto::{namespace, NAMESPACE_NAME};
    use proptest::prelude::*;

    #[test]
    fn the_namespace_is_hyperdhts() {
        assert_eq!(NS_MUTABLE_PUT, namespace(NAMESPACE_NAME, MUTABLE_PUT as u8));
    }

    /// JS signs, encodes and verifies mutable records as we do, byte for byte.
    #[test]
    fn mutable_records_are_hyperdhts_byte_for_byte() {
        use crate::net::dht::encoding::messages::tests::run_js_vectors;
        let cases: Vec<(u64, Vec<u8>)> = vec![
            (0, b"testing".to_vec()),
            (2, b"testing two".to_vec()),
            (300, vec![0xab; 700]),
            (u64::from(u32::MAX) + 7, b"x".to_vec()),
        ];
        let seed = [0x5a; 32];
        let key = SigningKey::from_bytes(&seed);
        let ours: Vec<MutablePut> = cases
            .iter()
            .map(|(seq, value)| MutablePut {
                public_key: key.verifying_key().to_bytes(),
                record: MutableRecord {
                    seq: *seq,
                    value: value.clone(),
                    signature: sign_mutable(*seq, value, &key),
                },
            })
            .collect();
        let asked: Vec<serde_json::Value> = ours
            .iter()
            .map(|put| {
                serde_json::json!({
                    "op": "mutable",
                    "seed": format!("hex:{}", hex::encode(seed)),
                    "seq": put.record.seq,
                    "value": format!("hex:{}", hex::encode(&put.record.value)),
                    "rust": hex::encode(put.encode()),
                })
            })
            .collect();
        let results = run_js_vectors(&serde_json::Value::Array(asked));
        for (put, js) in ours.iter().zip(&results) {
            let text = |field: &str| js[field].as_str().unwrap_or_default().to_string();
            assert_eq!(text("publicKey"), hex::encode(put.public_key), "{js}");
            let seq = put.record.seq;
            assert_eq!(
                text("signature"),
                hex::encode(put.record.signature),
                "seq {seq}"
            );
            assert_eq!(text("put"), hex::encode(put.encode()), "seq {seq}");
            assert_eq!(
                text("record"),
                hex::encode(put.record.encode()),
                "seq {seq}"
            );
            let verified = js["verifiesRust"].as_bool();
            assert_eq!(verified, Some(true), "seq {seq}");
        }
    }

    #[test]
    fn a_signed_record_verifies_and_nothing_else_does() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public_key = key.verifying_key().to_bytes();
        let signature = sign_mutable(3, b"hello", &key);
        assert!(verify_mutable(&public_key, 3, b"hello", &signature));
        assert!(!verify_mutable(&public_key, 4, b"hello", &signature));
        assert!(!verify_mutable(&public_key, 3, b"hellO", &signature));
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key().to_bytes();
        assert!(!verify_mutable(&other, 3, b"hello", &signature));
        assert!(!verify_mutable(&[0; 32], 3, b"hello", &signature));
    }

    proptest! {
        #[test]
        fn puts_and_records_round_trip(
            public_key in any::<[u8; 32]>(),
            seq in any::<u64>(),
            value in proptest::collection::vec(any::<u8>(), 0..300),
            signature in proptest::collection::vec(any::<u8>(), 64),
        ) {
            let signature: [u8; 64] = signature.try_into().unwrap();
            let record = MutableRecord { seq, value, signature };
            prop_assert_eq!(MutableRecord::decode(&record.encode()), Ok(record.clone()));
            let put = MutablePut { public_key, record };
            prop_assert_eq!(MutablePut::decode(&put.encode()), Ok(put));
        }

        /// Any bytes: a value or a refusal, never a panic.
        #[test]
        fn decoders_take_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = MutablePut::decode(&bytes);
            let _ = MutableRecord::decode(&bytes);
        }
    }
}
