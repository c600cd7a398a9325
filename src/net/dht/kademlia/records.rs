//! The mutable and immutable records our DHT node keeps, as JS hyperdht's
//! `persistent.js` keeps them, and what it answers to MUTABLE_PUT/GET and
//! IMMUTABLE_PUT/GET.
//!
//! - IMMUTABLE_PUT keeps a value under its BLAKE2b-256 hash (a put whose
//!   target is not the value's hash is dropped); IMMUTABLE_GET answers it.
//! - MUTABLE_PUT keeps a value under the hash of the public key that signed
//!   it with a seq. The signature must bind the seq and the value; a lower
//!   seq than the kept one is answered SEQ_TOO_LOW, the same seq with
//!   another value SEQ_REUSED. MUTABLE_GET answers the kept record unless
//!   its seq is below the one asked for.
//! - Puts need a token this node issued (the node checks it and passes the
//!   verdict in); gets do not. Each kind keeps at most 32,768 records for 48
//!   hours from their last put (JS's bounds), and at most 16 MiB of values,
//!   the oldest giving way: JS bounds only the count, so a flood of
//!   datagram-sized values could hold 90 MB there.
//! - A refused request (bad signature, wrong hash, no value, bytes that do
//!   not decode) gets no answer, as in JS, and is counted; so are the two
//!   refusals JS answers with an error (SEQ_TOO_LOW, SEQ_REUSED).
//!
//! Pure: every call takes `now`; the node does the IO.

use std::time::{Duration, Instant};

use super::aged::{Aged, Bounds};
use super::store::Answer;
use crate::net::dht::encoding::crypto::hash;
use crate::net::dht::encoding::records::{
    decode_seq, verify_mutable, MutablePut, MutableRecord, IMMUTABLE_GET, IMMUTABLE_PUT,
    MUTABLE_GET, MUTABLE_PUT, SEQ_REUSED, SEQ_TOO_LOW,
};
use crate::net::dht::encoding::wire::Request;

/// JS's bounds for each kind: `maxSize / 2` records, 48 hours.
pub(crate) const RECORDS_PER_KIND: usize = 32_768;
pub(crate) const RECORD_TTL: Duration = Duration::from_secs(48 * 3600);
/// Our own bound on the bytes of values each kind keeps.
pub(crate) const VALUE_BYTES_PER_KIND: usize = 16 << 20;

/// Why a request was refused; each is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A request without a target, or a put without a token or a value.
    Incomplete,
    /// Bytes that do not decode.
    Garbled,
    /// An immutable value that does not hash to its target, or a mutable
    /// key that does not.
    WrongTarget,
    /// A signature that does not bind the seq and the value.
    BadSignature,
    /// A seq below the kept one.
    SeqTooLow,
    /// The kept seq with another value.
    SeqReused,
}

/// Counts of what the records saw, for the node's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RecordCounts {
    pub(crate) kept: u64,
    pub(crate) served: u64,
    pub(crate) refused: u64,
}

/// What a node's records hold and have seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordStats {
    pub mutable: usize,
    pub immutable: usize,
    /// Bytes of values held.
    pub bytes: usize,
    /// Puts kept, gets answered with a record, requests refused.
    pub kept: u64,
    pub served: u64,
    pub refused: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Records {
    /// Encoded `MutableRecord`s, as a get answers them.
    mutables: Aged<Vec<u8>>,
    immutables: Aged<Vec<u8>>,
    counts: RecordCounts,
    last_refusal: Option<Refusal>,
}

impl Default for Records {
    fn default() -> Self {
        Self::new(Bounds {
            entries: RECORDS_PER_KIND,
            bytes: VALUE_BYTES_PER_KIND,
            ttl: RECORD_TTL,
        })
    }
}

impl Records {
    pub(crate) fn new(bounds: Bounds) -> Self {
        Records {
            mutables: Aged::new(bounds),
            immutables: Aged::new(bounds),
            counts: RecordCounts::default(),
            last_refusal: None,
        }
    }

    /// Whether `command` is a record command (of an external request).
    pub(crate) fn mine(request: &Request) -> bool {
        !request.internal
            && matches!(
                request.command,
                MUTABLE_PUT | MUTABLE_GET | IMMUTABLE_PUT | IMMUTABLE_GET
            )
    }

    /// Answers a record request whose token, if it carries one, the node has
    /// found to be one it issued.
    pub(crate) fn handle(&mut self, request: &Request, now: Instant) -> Answer {
        self.mutables.expire(now);
        self.immutables.expire(now);
        let answer = match request.command {
            IMMUTABLE_GET => self.immutable_get(request, now),
            MUTABLE_GET => self.mutable_get(request, now),
            IMMUTABLE_PUT => self.immutable_put(request, now),
            MUTABLE_PUT => self.mutable_put(request, now),
            _ => return Answer::NotMine,
        };
        match answer {
            Ok(answer) => answer,
            Err(refusal) => {
                self.counts.refused += 1;
                self.last_refusal = Some(refusal);
                match refusal {
                    Refusal::SeqTooLow => Answer::Error(SEQ_TOO_LOW),
                    Refusal::SeqReused => Answer::Error(SEQ_REUSED),
                    _ => Answer::Silent,
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn counts(&self) -> RecordCounts {
        self.counts
    }

    pub(crate) fn stats(&self) -> RecordStats {
        let (mutable, immutable) = self.held();
        RecordStats {
            mutable,
            immutable,
            bytes: self.bytes(),
            kept: self.counts.kept,
            served: self.counts.served,
            refused: self.counts.refused,
        }
    }

    /// Why the last refused put was refused.
    #[cfg(test)]
    pub(crate) fn last_refusal(&self) -> Option<Refusal> {
        self.last_refusal
    }

    /// Records kept of each kind: (mutable, immutable).
    pub(crate) fn held(&self) -> (usize, usize) {
        (self.mutables.len(), self.immutables.len())
    }

    /// Bytes of values kept, both kinds.
    pub(crate) fn bytes(&self) -> usize {
        self.mutables.bytes() + self.immutables.bytes()
    }

    fn immutable_get(&mut self, request: &Request, now: Instant) -> Result<Answer, Refusal> {
        let target = request.target.ok_or(Refusal::Incomplete)?;
        let value = self.immutables.get(&target, now).cloned();
        self.counts.served += u64::from(value.is_some());
        Ok(reply(value))
    }

    fn mutable_get(&mut self, request: &Request, now: Instant) -> Result<Answer, Refusal> {
        let target = request.target.ok_or(Refusal::Incomplete)?;
        let asked = request.value.as_deref().ok_or(Refusal::Incomplete)?;
        let seq = decode_seq(asked).ok_or(Refusal::Garbled)?;
        let kept = self
            .mutables
            .get(&target, now)
            .filter(|record| decode_seq(record).is_some_and(|kept| kept >= seq))
            .cloned();
        self.counts.served += u64::from(kept.is_some());
        Ok(reply(kept))
    }

    fn immutable_put(&mut self, request: &Request, now: Instant) -> Result<Answer, Refusal> {
        let (target, value) = put_parts(request)?;
        if hash(&[value]) != target {
            return Err(Refusal::WrongTarget);
        }
        self.immutables.insert(target, value.to_vec(), now);
        self.counts.kept += 1;
        Ok(reply(None))
    }

    fn mutable_put(&mut self, request: &Request, now: Instant) -> Result<Answer, Refusal> {
        let (target, bytes) = put_parts(request)?;
        let put = MutablePut::decode(bytes).map_err(|_| Refusal::Garbled)?;
        if hash(&[&put.public_key]) != target {
            return Err(Refusal::WrongTarget);
        }
        let record = &put.record;
        if record.value.is_empty() {
            return Err(Refusal::Incomplete);
        }
        if !verify_mutable(
            &put.public_key,
            record.seq,
            &record.value,
            &record.signature,
        ) {
            return Err(Refusal::BadSignature);
        }
        if let Some(kept) = self.mutables.get(&target, now) {
            // What we keep we encoded ourselves; a record that no longer
            // decodes is replaced.
            if let Ok(kept) = MutableRecord::decode(kept) {
                if kept.seq == record.seq && kept.value != record.value {
                    return Err(Refusal::SeqReused);
                }
                if record.seq < kept.seq {
                    return Err(Refusal::SeqTooLow);
                }
            }
        }
        self.mutables.insert(target, record.encode(), now);
        self.counts.kept += 1;
        Ok(reply(None))
    }
}

/// A put's target and value; a put needs a token (already checked), a
/// target and a value.
fn put_parts(request: &Request) -> Result<([u8; 32], &[u8]), Refusal> {
    match (&request.target, &request.token, request.value.as_deref()) {
        (Some(target), Some(_), Some(value)) if !value.is_empty() => Ok((*target, value)),
        _ => Err(Refusal::Incomplete),
    }
}

/// A reply as JS's `req.reply(value)` sends it: with a token and closer
/// nodes.
fn reply(value: Option<Vec<u8>>) -> Answer {
    Answer::Reply {
        value,
        token_and_nodes: true,
    }
}

#[cfg(test)]
mod tests;
