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
//!
//! Then a second table, hychat against JS for each pair of the dial
//! scenario, three runs each (on one DHT of five hychat nodes, fresh
//! processes each time; the median and every run, since the random
//! strategies' times are luck):
//! the seconds from starting `hychat dial` on the dialer's host to its
//! `reached` line (the peer's first message on the secret stream), the
//! path it took, and the seconds from starting a JS viewer on the same
//! host to the JS writer's message on it (discovery, connection and one
//! block), so "hychat <= JS" can be read off per pair.
//!
//! Then a third table, the chat across each pair of NATs with either side
//! dialing (`nat_pairs`), all on one more DHT of five hychat nodes, one
//! run each: for each place of the dialing side and of the dialed side
//! (cone -> cone, cone -> random, random -> cone, public -> random, random
//! -> public, and random -> random, which is refused), the seconds from
//! starting the dialing side's process to the message at the reader, for
//! hychat dialing hychat (`seed` and `tail`, two runs on different hosts),
//! hychat dialing a JS writer, a JS viewer dialing a hychat writer, and a
//! JS viewer dialing a JS writer (the reference, on the hosts of the two
//! JS columns); each hychat cell names the path its hychat took (the
//! dialing one's, or the dialed one's when JS dials), "refused" the time
//! to the refusal.

// This bench uses only `harness::lab` (and what it builds on).
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use harness::lab::nat_pairs::{self, Attempt, Connected, Side};
use harness::lab::scenarios::{self, PairFigures};
use harness::lab::scene::Timing;
use harness::lab::Lab;

type Scenario = fn(&Lab) -> Vec<Timing>;

fn main() {
    let lab = match Lab::build() {
        Ok(lab) => lab,
        Err(reason) => {
            eprintln!("{reason}");
            std::process::exit(1);
        }
    };
    let runs: [(&str, Scenario); 12] = [
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
        (
            "6 hychat dials JS across NATs",
            scenarios::hychat_dials_js_across_nats,
        ),
        ("7 hychats across NATs", nat_pairs::hychats_across_nats),
        (
            "7 hychat <-> JS across NATs",
            nat_pairs::hychat_and_js_across_nats,
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
    let figures = catch_unwind(AssertUnwindSafe(|| {
        scenarios::hychat_dial_and_js_figures(&lab, FIGURE_RUNS)
    }));
    match figures {
        Ok(rows) => print_figures(&rows),
        Err(_) => println!("\nhychat dial vs JS: FAILED (see the failure above)"),
    }
    let pairs = catch_unwind(AssertUnwindSafe(|| nat_pairs::figures(&lab)));
    match pairs {
        Ok(rows) => print_nat_pairs(&rows),
        Err(_) => println!("\nthe chat across NATs: FAILED (see the failure above)"),
    }
}

/// The columns of the NAT-pairs table: who dials, who is dialed.
const COLUMNS: [(Side, Side, &str); 4] = [
    (Side::Hychat, Side::Hychat, "hychat -> hychat"),
    (Side::Hychat, Side::Js, "hychat -> JS"),
    (Side::Js, Side::Hychat, "JS -> hychat"),
    (Side::Js, Side::Js, "JS -> JS (reference)"),
];

/// The rows of the NAT-pairs table, the dialing side's place first.
const NATS: [&str; 6] = [
    "cone -> cone",
    "cone -> random",
    "random -> cone",
    "public -> random",
    "random -> public",
    "random -> random",
];

/// One run in a cell: seconds, and the path of its hychat ("fast" for
/// "punched, fast", "probes" for random probes, "birthday" for birthday
/// sockets), or `F`.
fn cell_run(attempt: &Attempt, result: &Result<Connected, String>) -> String {
    match result {
        Err(_) => "F".to_string(),
        Ok(c) => {
            let path = if attempt.client_side == Side::Hychat {
                &c.client_path
            } else {
                &c.server_path
            };
            let path = path.strip_prefix("punched, ").unwrap_or(path);
            let path = match path {
                "random probes" => "probes",
                "birthday sockets" => "birthday",
                other => other,
            };
            let secs = c.took.as_secs_f64();
            if path == "-" {
                format!("{secs:.2}")
            } else {
                format!("{secs:.2} {path}")
            }
        }
    }
}

/// The NAT-pairs table; every failed run shows its reason's first line
/// below it.
fn print_nat_pairs(rows: &[(Attempt, Result<Connected, String>)]) {
    println!();
    println!(
        "the chat across NATs, either side dialing, one DHT of five hychat nodes: seconds from \
         starting the dialing side to the message at the reader, and the path its hychat \
         took (the dialing one's; the dialed one's when JS dials): fast, consistent, probes \
         (random probes), birthday (birthday sockets), direct"
    );
    print!("{:<18}", "dialing -> dialed");
    for (_, _, name) in COLUMNS {
        print!(" {name:<36}");
    }
    println!();
    let mut notes = Vec::new();
    for nats in NATS {
        print!("{nats:<18}");
        for (client, server, _) in COLUMNS {
            let runs: Vec<String> = rows
                .iter()
                .filter(|(a, _)| a.client_side == client && a.server_side == server)
                .filter(|(a, _)| a.nats() == nats)
                .map(|(a, result)| {
                    if let Err(e) = result {
                        let first = e.lines().next().unwrap_or_default();
                        notes.push(format!("{}: {first}", a.label()));
                    }
                    cell_run(a, result)
                })
                .collect();
            let cell = if runs.is_empty() {
                "-".to_string()
            } else {
                runs.join("; ")
            };
            print!(" {cell:<36}");
        }
        println!();
    }
    for note in notes {
        println!("  {note}");
    }
}

/// Runs of each pair for the hychat-against-JS table.
const FIGURE_RUNS: usize = 3;

/// Seconds: the median, then every run in order; a failed run is `F`.
fn seconds(runs: &[Option<Duration>]) -> String {
    let mut ok: Vec<f64> = runs.iter().flatten().map(Duration::as_secs_f64).collect();
    if ok.is_empty() {
        return if runs.is_empty() {
            "-".into()
        } else {
            "FAILED".into()
        };
    }
    ok.sort_by(f64::total_cmp);
    let each: Vec<String> = runs
        .iter()
        .map(|r| r.map_or("F".to_string(), |d| format!("{:.2}", d.as_secs_f64())))
        .collect();
    format!("{:.2} ({})", ok[ok.len() / 2], each.join(" "))
}

/// The hychat-against-JS table; every failed run shows its reason's
/// first line below it.
fn print_figures(rows: &[PairFigures]) {
    let first_line = |e: &str| e.lines().next().unwrap_or_default().to_string();
    println!();
    println!(
        "hychat dial vs JS pair, {FIGURE_RUNS} runs each: median (each run), seconds from \
         starting the process on the dialer's host"
    );
    println!(
        "{:<56} {:<28} {:<28} paths",
        "pair (dialer <- JS writer)", "hychat dial", "JS pair"
    );
    let mut notes = Vec::new();
    for row in rows {
        let label = row.pair.label();
        let dials: Vec<Option<Duration>> = row
            .dials
            .iter()
            .map(|d| d.as_ref().ok().map(|d| d.took))
            .collect();
        let js: Vec<Option<Duration>> = row.js.iter().map(|r| r.as_ref().ok().copied()).collect();
        let paths: Vec<String> = row
            .dials
            .iter()
            .map(|d| d.as_ref().map_or("-".to_string(), |d| d.path.clone()))
            .collect();
        for e in row.dials.iter().filter_map(|d| d.as_ref().err()) {
            notes.push(format!("{label}: hychat: {}", first_line(e)));
        }
        for e in row.js.iter().filter_map(|r| r.as_ref().err()) {
            notes.push(format!("{label}: JS: {}", first_line(e)));
        }
        println!(
            "{label:<56} {:<28} {:<28} {}",
            seconds(&dials),
            seconds(&js),
            paths.join("; ")
        );
    }
    for note in notes {
        println!("  {note}");
    }
}
