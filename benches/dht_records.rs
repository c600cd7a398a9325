//! Records benchmark (a bench binary: it prints figures and asserts
//! nothing about them). Run with `cargo bench --bench dht_records`.
//!
//! One DHT node on loopback, hychat's (`hychat bootstrap`) and then JS's
//! (`DHT.bootstrapper`, `tests/js/bootstrap.js`), is filled with
//! `HYCHAT_BENCH_RECORDS` records (10,000 by default) by
//! `tests/js/records-load.js`: half immutable, half mutable, 100-byte
//! values, each put straight to the node by a JS client. For each node the
//! bench prints its resident memory (`VmRSS`, `/proc`) before and after,
//! its peak (`VmHWM`), the puts stored and refused, how long they took,
//! and how many of a sample of the records the node then gives back.

use std::time::Duration;

// This bench uses only `harness::bin`, `harness::js`, `harness::bench`,
// `harness::env` and `harness::process`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bench::proc_status;
use harness::bin::start_bootstrap;
use harness::env;
use harness::js::{run_script, start_js_bootstrap};
use harness::process::Background;

/// The longest the load may take (the script itself stops putting after
/// five minutes).
const LOAD_BOUND: Duration = Duration::from_secs(400);

struct Figures {
    before_mib: f64,
    after_mib: f64,
    peak_mib: f64,
    load: String,
}

fn main() {
    let records = env::count("HYCHAT_BENCH_RECORDS", 10_000);
    println!("records: one node on loopback filled with {records} records (half immutable, half mutable, 100-byte values)");
    let storage = tempfile::tempdir().expect("a temporary directory");
    let (hychat, port) = start_bootstrap(storage.path());
    let ours = fill(hychat, port, records);
    let (js, port) = start_js_bootstrap();
    let theirs = fill(js, port, records);
    println!();
    println!(
        "{:<16} {:>12} {:>12} {:>10} {:>10}  load",
        "node", "RSS before", "RSS after", "added", "peak"
    );
    for (name, f) in [("hychat", &ours), ("JS hyperdht", &theirs)] {
        println!(
            "{name:<16} {:>9.1} MiB {:>9.1} MiB {:>6.1} MiB {:>6.1} MiB  {}",
            f.before_mib,
            f.after_mib,
            f.after_mib - f.before_mib,
            f.peak_mib,
            f.load
        );
    }
}

/// Fills the node at `port` and measures it; stops the node.
fn fill(mut node: Background, port: u16, records: u64) -> Figures {
    let pid = node.pid().to_string();
    let rss = || {
        let field = proc_status(&pid);
        (field("VmRSS:") / 1024.0, field("VmHWM:") / 1024.0)
    };
    let (before_mib, _) = rss();
    let load = match run_script(
        "records-load.js",
        &[format!("127.0.0.1:{port}"), records.to_string()],
        LOAD_BOUND,
    ) {
        Ok(output) => output
            .lines()
            .filter(|l| l.starts_with("DONE ") || l.starts_with("FOUND "))
            .collect::<Vec<_>>()
            .join("; "),
        Err(e) => format!("the load failed: {e}"),
    };
    let (after_mib, peak_mib) = rss();
    node.terminate();
    Figures {
        before_mib,
        after_mib,
        peak_mib,
        load,
    }
}
