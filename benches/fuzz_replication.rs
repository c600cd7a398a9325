//! Fuzz run of hostile peers against one log's replication, and of the
//! block decoder (a bench binary: it prints figures, and exits with an
//! error only when something panicked or an invariant broke). Run with
//! `cargo bench --bench fuzz_replication`.
//!
//! 1. Replication: `HYCHAT_FUZZ_INPUTS` hostile inputs (default 1,000,000)
//!    through `net::testing::fuzz`: a real in-memory hypercore under one
//!    `Replication`, driven as the replicator's task drives it, fed
//!    mutated proofs, requests out of range, data never asked for and raw
//!    bytes, 100 inputs per fresh reader (`PER_CASE`), each reader then completed by an
//!    honest peer.
//! 2. Decoder: as many blocks through `ChatMessage::decode`: random bytes,
//!    chat blocks with hostile text, mutated and cut, deep nesting, odd
//!    fields; every decoded message must be sanitized and within limits.
//!
//! Deterministic from `HYCHAT_FUZZ_SEED` (printed; from the clock when
//! unset), bounded by `HYCHAT_FUZZ_BOUND_SECS` (default 1,200) per part.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use hychat::domain::message::MAX_BLOCK_BYTES;
use hychat::domain::ChatMessage;
use hychat::net::testing::{self, fuzz, FuzzPlan, FuzzReport, OUTCOMES};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// Hostile inputs per fresh reader.
const PER_CASE: u64 = 100;

/// Blocks in the writer's log.
const LENGTH: u64 = 64;

#[path = "../tests/harness/env.rs"]
mod env;

fn main() {
    let inputs = env::count("HYCHAT_FUZZ_INPUTS", 1_000_000);
    let seed = env::seed("HYCHAT_FUZZ_SEED");
    let bound = Duration::from_secs(env::count("HYCHAT_FUZZ_BOUND_SECS", 1_200));
    println!("fuzz: seed {seed} (HYCHAT_FUZZ_SEED), {inputs} inputs per part, bound {bound:?}");
    // Panics are caught and counted; their messages would drown the figures.
    std::panic::set_hook(Box::new(|_| {}));

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("no runtime: {e}");
            std::process::exit(2);
        }
    };
    let report = runtime.block_on(fuzz(FuzzPlan {
        seed,
        inputs,
        per_case: PER_CASE,
        length: LENGTH,
        bound,
    }));
    print_replication(&report);

    let decoder = fuzz_decoder(seed, inputs, bound);
    print_decoder(&decoder);

    let failed = report.panics > 0
        || report.violations > 0
        || report.honest_failures > 0
        || decoder.panics > 0
        || decoder.unsanitized > 0;
    if failed {
        std::process::exit(1);
    }
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// One figure on its own line, its label padded.
fn figure(label: &str, value: impl std::fmt::Display) {
    println!("  {label:<46} {value:>9}");
}

fn print_replication(r: &FuzzReport) {
    let bounded = if r.bounded {
        ", stopped at the time bound"
    } else {
        ""
    };
    println!();
    println!(
        "replication: {} hostile inputs in {:.1?} ({:.0} inputs/s), {} readers of a {LENGTH}-block log{bounded}",
        r.inputs,
        r.elapsed,
        per_second(r.inputs, r.elapsed),
        r.cases,
    );
    figure("answered with a proof of ours", r.answered_data);
    figure("answered with a no-data", r.answered_no_data);
    figure("applied (a proof that verified)", r.applied);
    figure("refused (by the checks or by hypercore)", r.refused);
    figure("detached (the peer, as hostile)", r.detached);
    figure("ignored", r.ignored);
    figure("undecodable bytes (dropped)", r.undecodable);
    figure("bytes the crate's decoder cannot take", r.unsafe_bytes);
    figure("panics (any, caught or not)", r.panics);
    figure("broken invariants", r.violations);
    for example in &r.examples {
        println!("    {example}");
    }
    println!(
        "  honest completion: {} of {} readers brought to the writer's {LENGTH} blocks, \
         every block the writer's; {} failed",
        r.honest_completions, r.cases, r.honest_failures
    );
    println!();
    print!("  {:<24}", "by input");
    for outcome in OUTCOMES {
        print!(" {outcome:>12}");
    }
    println!();
    for (input, counts) in &r.by_input {
        print!("  {input:<24}");
        for count in counts {
            print!(" {count:>12}");
        }
        println!();
    }
}

#[derive(Debug, Default)]
struct DecoderReport {
    blocks: u64,
    decoded: u64,
    refused: u64,
    panics: u64,
    unsanitized: u64,
    examples: Vec<String>,
    elapsed: Duration,
    bounded: bool,
}

/// Characters a hostile writer would put in a chat block.
fn nasty_char(rng: &mut StdRng) -> char {
    const NASTY: &[char] = &[
        '\u{1b}', '\u{7}', '\u{0}', '\r', '\n', '\t', '\u{7f}', '\u{9b}', '\u{202e}', '\u{2066}',
        '\u{2069}', '"', '\\', '{', '}', 'é', '漢', '🙂', '\u{fffd}', '\u{200b}', '\u{d7ff}',
    ];
    if rng.gen_ratio(1, 3) {
        NASTY[rng.gen_range(0..NASTY.len())]
    } else if rng.gen_ratio(1, 4) {
        char::from_u32(rng.gen_range(0..0x11_0000)).unwrap_or('x')
    } else {
        rng.gen_range(' '..='~')
    }
}

fn nasty_string(rng: &mut StdRng) -> String {
    let size = if rng.gen_ratio(1, 100) {
        rng.gen_range(0..20_000)
    } else {
        rng.gen_range(0..40)
    };
    (0..size).map(|_| nasty_char(rng)).collect()
}

fn json_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..if depth > 3 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.gen()),
        2 => Value::from(rng.gen::<i64>()),
        3 => serde_json::Number::from_f64(rng.gen::<f64>() * 1e300)
            .map_or(Value::Null, Value::Number),
        4 => Value::String(nasty_string(rng)),
        5 => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| json_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.gen_range(0..4))
                .map(|_| (nasty_string(rng), json_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

/// A block a hostile writer could append.
fn hostile_block(rng: &mut StdRng) -> Vec<u8> {
    match rng.gen_range(0..20) {
        0..=2 => (0..rng.gen_range(0..200)).map(|_| rng.gen()).collect(),
        3 => {
            // Deep nesting.
            let depth = rng.gen_range(1..5_000);
            let open = if rng.gen() { "[" } else { "{\"a\":" };
            open.repeat(depth).into_bytes()
        }
        4 if rng.gen_ratio(1, 50) => vec![b' '; MAX_BLOCK_BYTES + rng.gen_range(0..3)],
        _ => {
            let mut object = serde_json::Map::new();
            for field in ["type", "nickname", "text", "timestamp", "room"] {
                if rng.gen_ratio(4, 5) {
                    let value = match rng.gen_range(0..6) {
                        0 => json_value(rng, 0),
                        1 if field == "type" => Value::from("chat-message"),
                        2 if field == "timestamp" => Value::from(format!(
                            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{}Z",
                            rng.gen_range(-10..12_000),
                            rng.gen_range(0..14),
                            rng.gen_range(0..33),
                            rng.gen_range(0..26),
                            rng.gen_range(0..61),
                            rng.gen_range(0..62),
                            rng.gen_range(0..10_000_000_000u64)
                        )),
                        _ => Value::String(nasty_string(rng)),
                    };
                    object.insert(field.into(), value);
                }
            }
            for _ in 0..rng.gen_range(0..3) {
                object.insert(nasty_string(rng), json_value(rng, 0));
            }
            let mut bytes = serde_json::to_vec(&Value::Object(object)).unwrap_or_default();
            // Mutate: flip, insert, cut.
            let edits = if rng.gen() { 0 } else { rng.gen_range(1..4) };
            for _ in 0..edits {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.gen_range(0..bytes.len());
                match rng.gen_range(0..3) {
                    0 => bytes[at] ^= rng.gen::<u8>().max(1),
                    1 => bytes.insert(at, rng.gen()),
                    _ => bytes.truncate(at),
                }
            }
            bytes
        }
    }
}

/// What must hold of any decoded block: nothing that reaches the terminal
/// carries a control or direction character, and every field is in its
/// limit (`net::testing::sanitized`, the domain tests' own check).
fn sanitized(block: &[u8], message: &ChatMessage) -> bool {
    block.len() <= MAX_BLOCK_BYTES && testing::sanitized(message)
}

fn fuzz_decoder(seed: u64, blocks: u64, bound: Duration) -> DecoderReport {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed ^ 0xdec0_de00);
    let mut report = DecoderReport::default();
    while report.blocks < blocks {
        if report.blocks % 4096 == 0 && started.elapsed() > bound {
            report.bounded = true;
            break;
        }
        let block = hostile_block(&mut rng);
        report.blocks += 1;
        match std::panic::catch_unwind(AssertUnwindSafe(|| ChatMessage::decode(&block))) {
            Ok(Ok(message)) => {
                report.decoded += 1;
                if !sanitized(&block, &message) {
                    report.unsanitized += 1;
                    if report.examples.len() < 5 {
                        report.examples.push(format!("{message:?}"));
                    }
                }
            }
            Ok(Err(_)) => report.refused += 1,
            Err(_) => {
                report.panics += 1;
                if report.examples.len() < 5 {
                    report
                        .examples
                        .push(format!("panic on {:?}", String::from_utf8_lossy(&block)));
                }
            }
        }
    }
    report.elapsed = started.elapsed();
    report
}

fn print_decoder(r: &DecoderReport) {
    let bounded = if r.bounded {
        ", stopped at the time bound"
    } else {
        ""
    };
    println!();
    println!(
        "decoder: {} hostile blocks in {:.1?} ({:.0} blocks/s){bounded}",
        r.blocks,
        r.elapsed,
        per_second(r.blocks, r.elapsed),
    );
    figure(
        "decoded, sanitized and within limits",
        r.decoded - r.unsanitized,
    );
    figure("refused (too large, not UTF-8, not an object)", r.refused);
    figure("decoded but not sanitized", r.unsanitized);
    figure("panics", r.panics);
    for example in &r.examples {
        println!("    {example}");
    }
}
