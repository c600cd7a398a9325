//! The run of a fuzz bench over a list of decoders, shared by
//! `benches/fuzz_dht.rs` and `benches/fuzz_transport.rs`: each decoder gets
//! `HYCHAT_FUZZ_INPUTS` inputs (default 1,000,000): random bytes of every
//! length up to 400, and its valid samples mutated (bits flipped, bytes set
//! to varint markers or extremes, inserted, deleted, runs duplicated, cut,
//! spliced with another sample), a few left whole. Every input runs under
//! `catch_unwind`; the figures are printed one line a decoder.
//!
//! Deterministic from `HYCHAT_FUZZ_SEED` (printed; from the clock when
//! unset; decoder `i` runs from seed + i), bounded by
//! `HYCHAT_FUZZ_BOUND_SECS` (default 600) per decoder. The process exits
//! with 1 when any decoder panicked or gave an unstable outcome.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::env;

/// What a decoder made of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Decoded,
    Refused,
    /// Decoded, but not stable under its own encoding (or an invariant of
    /// the decoder broke).
    Unstable,
}

/// One decoder under fuzz: its name, valid inputs to mutate, and its run.
struct Target<'a, O> {
    name: &'a str,
    samples: &'a [Vec<u8>],
    run: fn(&[u8]) -> O,
}

#[derive(Debug, Default)]
struct Report {
    inputs: u64,
    decoded: u64,
    refused: u64,
    unstable: u64,
    panics: u64,
    elapsed: Duration,
    bounded: bool,
    examples: Vec<String>,
}

/// Bytes a decoder treats specially: varint markers, flag bytes, extremes.
const INTERESTING: &[u8] = &[0x00, 0x01, 0x03, 0x13, 0x7f, 0x80, 0xfc, 0xfd, 0xfe, 0xff];

fn random_bytes(rng: &mut StdRng) -> Vec<u8> {
    let len = if rng.gen_ratio(1, 2) {
        rng.gen_range(0..16)
    } else {
        rng.gen_range(0..=400)
    };
    (0..len)
        .map(|_| {
            if rng.gen_ratio(1, 4) {
                INTERESTING[rng.gen_range(0..INTERESTING.len())]
            } else {
                rng.gen()
            }
        })
        .collect()
}

fn mutated(rng: &mut StdRng, samples: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = samples[rng.gen_range(0..samples.len())].clone();
    if rng.gen_ratio(1, 32) {
        return bytes;
    }
    let edits = rng.gen_range(1..=4);
    for _ in 0..edits {
        let len = bytes.len();
        match rng.gen_range(0..8) {
            0 if len > 0 => {
                let at = rng.gen_range(0..len);
                bytes[at] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let at = rng.gen_range(0..len);
                bytes[at] = INTERESTING[rng.gen_range(0..INTERESTING.len())];
            }
            2 => {
                let at = rng.gen_range(0..=len);
                bytes.insert(at, rng.gen());
            }
            3 if len > 0 => {
                bytes.remove(rng.gen_range(0..len));
            }
            4 if len > 0 => {
                // Duplicate a run.
                let from = rng.gen_range(0..len);
                let to = rng.gen_range(from..=len.min(from + 40));
                let run = bytes[from..to].to_vec();
                let at = rng.gen_range(0..=bytes.len());
                bytes.splice(at..at, run);
            }
            5 => bytes.truncate(rng.gen_range(0..=len)),
            6 => {
                // Splice: a head of this one, a tail of another sample.
                let other = &samples[rng.gen_range(0..samples.len())];
                let head = rng.gen_range(0..=len);
                let tail = rng.gen_range(0..=other.len());
                bytes.truncate(head);
                bytes.extend_from_slice(&other[tail..]);
            }
            _ if len > 0 => {
                let at = rng.gen_range(0..len);
                bytes[at] = rng.gen();
            }
            _ => bytes.push(rng.gen()),
        }
    }
    bytes
}

fn run<O: Into<Verdict>>(
    target: &Target<'_, O>,
    seed: u64,
    inputs: u64,
    bound: Duration,
) -> Report {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut report = Report::default();
    while report.inputs < inputs {
        if report.inputs % 4096 == 0 && started.elapsed() > bound {
            report.bounded = true;
            break;
        }
        let input = if rng.gen_ratio(1, 4) || target.samples.is_empty() {
            random_bytes(&mut rng)
        } else {
            mutated(&mut rng, target.samples)
        };
        report.inputs += 1;
        match std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input).into())) {
            Ok(Verdict::Decoded) => report.decoded += 1,
            Ok(Verdict::Refused) => report.refused += 1,
            Ok(Verdict::Unstable) => {
                report.unstable += 1;
                if report.examples.len() < 3 {
                    report.examples.push(format!("unstable: {}", hex(&input)));
                }
            }
            Err(_) => {
                report.panics += 1;
                if report.examples.len() < 3 {
                    report.examples.push(format!("panic: {}", hex(&input)));
                }
            }
        }
    }
    report.elapsed = started.elapsed();
    report
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs every decoder (its name, valid inputs to mutate, and its run) with
/// the settings of the environment, prints the figures under the bench's
/// name, and exits with 1 on any panic or unstable outcome.
pub fn run_all<'a, O: Into<Verdict>>(
    bench: &str,
    decoders: impl IntoIterator<Item = (&'a str, &'a [Vec<u8>], fn(&[u8]) -> O)>,
) {
    let inputs = env::count("HYCHAT_FUZZ_INPUTS", 1_000_000);
    let seed = env::seed("HYCHAT_FUZZ_SEED");
    let bound = Duration::from_secs(env::count("HYCHAT_FUZZ_BOUND_SECS", 600));
    println!(
        "{bench}: seed {seed} (HYCHAT_FUZZ_SEED), {inputs} inputs per decoder, bound {bound:?}"
    );
    // Panics are caught and counted; their messages would drown the figures.
    std::panic::set_hook(Box::new(|_| {}));

    println!(
        "  {:<36} {:>10} {:>10} {:>10} {:>9} {:>7} {:>9}",
        "decoder", "inputs", "decoded", "refused", "unstable", "panics", "elapsed"
    );
    let mut failed = false;
    for (i, (name, samples, run_one)) in decoders.into_iter().enumerate() {
        let target = Target {
            name,
            samples,
            run: run_one,
        };
        let r = run(&target, seed.wrapping_add(i as u64), inputs, bound);
        let bounded = if r.bounded { " (time bound)" } else { "" };
        println!(
            "  {:<36} {:>10} {:>10} {:>10} {:>9} {:>7} {:>8.2?}{bounded}",
            target.name, r.inputs, r.decoded, r.refused, r.unstable, r.panics, r.elapsed
        );
        for example in &r.examples {
            println!("    {example}");
        }
        failed |= r.panics > 0 || r.unstable > 0;
    }
    if failed {
        std::process::exit(1);
    }
}
