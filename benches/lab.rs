//! Time to first message in the network lab (a bench binary: prints
//! figures, asserts nothing beyond what the scenarios check). Needs root,
//! iproute2 and iptables, like the lab tests (`cargo test --test binary
//! lab::`), and `node` with `npm ci --prefix tests/js` for the JS
//! scenarios. Run with `cargo bench --bench lab`.
//!
//! Runs every scenario of `tests/binary/lab.rs` but the first dials (the
//! fourth table's) once on one lab of its own (the same code,
//! `harness::lab::scenarios`) with the release binary, and
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
//! dialing (`nat_pairs`), all on one more DHT of five hychat nodes that
//! offer blind relays, one run each: for each place of the dialing side
//! and of the dialed side (cone -> cone, cone -> random, random -> cone,
//! public -> random, random -> public, and random -> random, through a
//! relay: JS viewers name the first node's), the seconds from
//! starting the dialing side's process to the message at the reader, for
//! hychat dialing hychat (`seed` and `tail`, two runs on different hosts),
//! hychat dialing a JS writer, a JS viewer dialing a hychat writer, and a
//! JS viewer dialing a JS writer (the reference, on the hosts of the two
//! JS columns); each hychat cell names the path its hychat took (the
//! dialing one's, or the dialed one's when JS dials).
//!
//! Then a fourth table, first dials of fresh JS servers (`first_dials`,
//! issue 30): for each pair where a hychat client can reach a JS server,
//! `HYCHAT_LAB_FIRST_DIALS` (default 50; 0 or not a number fails at once)
//! fresh JS servers on a DHT of five JS nodes, each dialed once by a fresh
//! `hychat tail` with no retry: how many delivered on the first try, the
//! seconds to the message, the paths, and each failure in full below.
//!
//! Each table is a section, and names after `--` run only those:
//! `cargo bench --bench lab -- first-dials` (sections: `scenarios`,
//! `dial-vs-js`, `nat-pairs`, `first-dials`; none named: all). A name that
//! is no section is refused.

// This bench uses only `harness::lab` (and what it builds on).
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use harness::env;
use harness::lab::first_dials::{self, PairDials};
use harness::lab::nat_pairs::{self, Attempt, Connected, Side};
use harness::lab::scenarios::{self, PairFigures};
use harness::lab::scene::Timing;
use harness::lab::Lab;

type Scenario = fn(&Lab) -> Vec<Timing>;

/// The bench's sections, in the order they run.
const SECTIONS: [&str; 4] = ["scenarios", "dial-vs-js", "nat-pairs", "first-dials"];

/// The environment variable with the first dials per pair, and its default.
const FIRST_DIALS_VAR: &str = "HYCHAT_LAB_FIRST_DIALS";
const FIRST_DIALS_DEFAULT: u64 = 50;

/// The sections named on the command line (all when none is), or why not.
/// Arguments starting with `--` are cargo's (`--bench`) and skipped.
fn sections() -> Result<Vec<&'static str>, String> {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if named.is_empty() {
        return Ok(SECTIONS.to_vec());
    }
    if let Some(unknown) = named.iter().find(|n| !SECTIONS.contains(&n.as_str())) {
        return Err(format!(
            "the lab bench has no section {unknown:?}; its sections are {}",
            SECTIONS.join(", ")
        ));
    }
    Ok(SECTIONS
        .into_iter()
        .filter(|s| named.iter().any(|n| n == s))
        .collect())
}

fn main() {
    let sections = sections().unwrap_or_else(|reason| {
        eprintln!("{reason}");
        std::process::exit(2);
    });
    // Read before the lab is built: 0 or a typo fails at once (`env::count`).
    let first_dials_runs = env::count(FIRST_DIALS_VAR, FIRST_DIALS_DEFAULT) as usize;
    let lab = match Lab::build() {
        Ok(lab) => lab,
        Err(reason) => {
            eprintln!("{reason}");
            std::process::exit(1);
        }
    };
    if sections.contains(&"scenarios") {
        run_scenarios(&lab);
    }
    if sections.contains(&"dial-vs-js") {
        let figures = catch_unwind(AssertUnwindSafe(|| {
            scenarios::hychat_dial_and_js_figures(&lab, FIGURE_RUNS)
        }));
        match figures {
            Ok(rows) => print_figures(&rows),
            Err(_) => println!("\nhychat dial vs JS: FAILED (see the failure above)"),
        }
    }
    if sections.contains(&"nat-pairs") {
        let pairs = catch_unwind(AssertUnwindSafe(|| nat_pairs::figures(&lab)));
        match pairs {
            Ok(rows) => print_nat_pairs(&rows),
            Err(_) => println!("\nthe chat across NATs: FAILED (see the failure above)"),
        }
    }
    if sections.contains(&"first-dials") {
        let started = Instant::now();
        let dials = catch_unwind(AssertUnwindSafe(|| {
            first_dials::first_dial_figures(&lab, first_dials_runs)
        }));
        match dials {
            Ok(rows) => print_first_dials(&rows, first_dials_runs, started.elapsed()),
            Err(_) => println!("\nfirst dials of fresh JS servers: FAILED (see the failure above)"),
        }
    }
}

/// Every scenario of the tests once, and the table of their timings.
fn run_scenarios(lab: &Lab) {
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
        let outcome = catch_unwind(AssertUnwindSafe(|| run(lab)));
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
                relayed if relayed.starts_with("blind relay") => "relay",
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
         (random probes), birthday (birthday sockets), relay (a blind relay), direct"
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

/// The first-dials table: per pair, the first-try successes of `runs`, the
/// seconds to the message, the paths; then every failure in full.
fn print_first_dials(rows: &[PairDials], runs: usize, took: Duration) {
    println!();
    println!(
        "first dials of fresh JS servers, {runs} per pair, no retries, on a DHT of five JS \
         nodes ({:.0} s in all): first tries, seconds from starting `hychat tail` to the \
         server's message, the paths the tails took",
        took.as_secs_f64()
    );
    println!(
        "{:<38} {:>12} {:>8} {:>8} {:>8} {:>8}  paths",
        "pair (tail <- JS server)", "first tries", "min", "median", "max", "pair s"
    );
    for row in rows {
        let mut times: Vec<Duration> = row.dials.iter().filter_map(|d| d.took).collect();
        times.sort();
        let secs =
            |t: Option<&Duration>| t.map_or("-".to_string(), |t| format!("{:.2}", t.as_secs_f64()));
        println!(
            "{:<38} {:>12} {:>8} {:>8} {:>8} {:>8.1}  {}",
            row.pair.label(),
            format!("{} of {}", row.first_tries(), row.runs),
            secs(times.first()),
            secs(times.get(times.len() / 2)),
            secs(times.last()),
            row.took.as_secs_f64(),
            row.paths()
        );
    }
    let failures: Vec<String> = rows.iter().flat_map(PairDials::failures).collect();
    if !failures.is_empty() {
        println!("\nthe first dials that did not deliver on the first try:\n");
        println!("{}", failures.join("\n\n"));
    }
}
