//! Time to first message in the network lab (a bench binary: prints
//! figures, asserts nothing beyond what the scenarios check). Needs root,
//! iproute2 and iptables, like the lab tests (`cargo test --test binary
//! lab::`), and `node` with `npm ci --prefix tests/js` for the JS
//! scenarios. Run with `cargo bench --bench lab`.
//!
//! Runs every scenario of `tests/binary/lab.rs` once on one lab of its own
//! (the same code, `harness::lab::scenarios`) with the release binary, and
//! prints a table: each scenario's seconds to its first message, the
//! seconds of the whole scenario, and every measured step. A scenario that
//! fails is reported as such and the others still run; every wait inside
//! a scenario is bounded.

// This bench uses only `harness::lab` (and what it builds on).
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use harness::lab::scene::Timing;
use harness::lab::{scenarios, Lab};

type Scenario = fn(&Lab) -> Vec<Timing>;

fn main() {
    let lab = match Lab::build() {
        Ok(lab) => lab,
        Err(reason) => {
            eprintln!("{reason}");
            std::process::exit(1);
        }
    };
    let runs: [(&str, Scenario); 9] = [
        ("1 LAN pair", scenarios::lan),
        ("2 public <-> cone NAT", scenarios::public_and_cone),
        ("2 cone NAT <-> cone NAT", scenarios::cone_and_cone),
        (
            "3 seed between blocked NATs",
            scenarios::seed_between_blocked_nats,
        ),
        (
            "4 room between blocked NATs",
            scenarios::room_between_blocked_nats,
        ),
        ("5 JS peers, mixed DHT", scenarios::js_on_a_mixed_dht),
        (
            "5 JS peers, hychat-only DHT",
            scenarios::js_on_a_hychat_only_dht,
        ),
        ("network report per host", scenarios::network_report),
        ("TUI behind a cone NAT", scenarios::tui_behind_a_nat),
    ];
    let mut rows = Vec::new();
    for (name, run) in runs {
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| run(&lab)));
        rows.push((name, outcome.ok(), started.elapsed()));
    }
    println!();
    println!(
        "{:<30} {:>14} {:>10}  steps (s)",
        "scenario", "first msg (s)", "total (s)"
    );
    for (name, timings, total) in &rows {
        let total = total.as_secs_f64();
        match timings {
            Some(timings) => {
                let first = timings
                    .first()
                    .map_or("-".to_string(), |t| format!("{:.1}", t.took.as_secs_f64()));
                let steps: Vec<String> = timings
                    .iter()
                    .map(|t| format!("{} {:.1}", t.what, t.took.as_secs_f64()))
                    .collect();
                println!("{name:<30} {first:>14} {total:>10.1}  {}", steps.join("; "));
            }
            None => println!(
                "{name:<30} {:>14} {total:>10.1}  (see the failure above)",
                "FAILED"
            ),
        }
    }
}
