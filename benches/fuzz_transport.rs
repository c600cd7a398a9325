//! Fuzz run of the transport's decoders (a bench binary: it prints
//! figures, and exits with an error only when a decoder panicked, decoded
//! a value that does not survive its own encoding, or broke an
//! invariant). Run with `cargo bench --bench fuzz_transport`.
//!
//! Each decoder of `net::testing::transport_decoders` (the UDX packet
//! codec; the secret stream's frame decoder on any bytes and on valid
//! frames, in any split; the Noise reads of IK and XX on hostile
//! messages; the secret stream's receive path before and after the peer's
//! setup frame; the UDX stream state machine fed scripts of forged packets,
//! alone and among an honest sender's) gets `HYCHAT_FUZZ_INPUTS` inputs
//! (default 1,000,000), random and mutated, each under `catch_unwind`
//! (`tests/harness/fuzz.rs`).
//!
//! Deterministic from `HYCHAT_FUZZ_SEED` (printed; from the clock when
//! unset), bounded by `HYCHAT_FUZZ_BOUND_SECS` (default 600) per decoder.

use hychat::net::testing::{transport_decoders, TransportOutcome};

#[path = "../tests/harness/env.rs"]
mod env;
#[path = "../tests/harness/fuzz.rs"]
mod fuzz;

use fuzz::Verdict;

impl From<TransportOutcome> for Verdict {
    fn from(outcome: TransportOutcome) -> Self {
        match outcome {
            TransportOutcome::Decoded => Verdict::Decoded,
            TransportOutcome::Refused => Verdict::Refused,
            TransportOutcome::Unstable => Verdict::Unstable,
        }
    }
}

fn main() {
    let decoders = transport_decoders();
    fuzz::run_all(
        "fuzz_transport",
        decoders.iter().map(|d| (d.name, &d.samples[..], d.run)),
    );
}
