//! Fuzz run of the DHT's decoders (a bench binary: it prints figures, and
//! exits with an error only when a decoder panicked or decoded a value
//! that does not survive its own encoding). Run with
//! `cargo bench --bench fuzz_dht`.
//!
//! Each decoder of `net::testing::dht_decoders` (the dht-rpc envelope,
//! every hyperdht message, and the holepunch box, both as raw bytes and
//! as hostile plaintexts sealed in a valid box) gets `HYCHAT_FUZZ_INPUTS`
//! inputs (default 1,000,000), random and mutated, each under
//! `catch_unwind` (`tests/harness/fuzz.rs`).
//!
//! Deterministic from `HYCHAT_FUZZ_SEED` (printed; from the clock when
//! unset), bounded by `HYCHAT_FUZZ_BOUND_SECS` (default 600) per decoder.

use hychat::net::testing::{dht_decoders, DhtOutcome};

#[path = "../tests/harness/env.rs"]
mod env;
#[path = "../tests/harness/fuzz.rs"]
mod fuzz;

use fuzz::Verdict;

impl From<DhtOutcome> for Verdict {
    fn from(outcome: DhtOutcome) -> Self {
        match outcome {
            DhtOutcome::Decoded => Verdict::Decoded,
            DhtOutcome::Refused => Verdict::Refused,
            DhtOutcome::Unstable => Verdict::Unstable,
        }
    }
}

fn main() {
    let decoders = dht_decoders();
    fuzz::run_all(
        "fuzz_dht",
        decoders.iter().map(|d| (d.name, &d.samples[..], d.run)),
    );
}
