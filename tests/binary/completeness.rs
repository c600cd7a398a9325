//! Completeness JS → hychat: a JS hypercore 10 writer (`tests/js`) holds a
//! log of 10,000 messages, and each run a fresh `hychat tail --json`
//! follows it and must print every seq, 0..10,000, each once, with its
//! text. `HYCHAT_COMPLETENESS_RUNS` sets the number of runs (1 in the
//! suite; `HYCHAT_COMPLETENESS_RUNS=20 cargo test --release --test binary
//! completeness` for 20), with one writer for all of them; each run's
//! catch-up time is printed. Every wait is bounded, and a failure names
//! the missing seqs and shows the tail of hychat's log.

use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::harness::bin::{log_tail, loopback, spawn_hychat, start_bootstrap};
use crate::harness::completeness::{self, seq_runs};
use crate::harness::js::{ensure_js_peers, JsWriter, Mode};
use crate::harness::process::one_at_a_time;

/// Messages in the JS writer's log.
const TOTAL: u64 = 10_000;
/// Longest wait for the next line of `tail` (discovery included).
const STALL: Duration = Duration::from_secs(60);
/// Bound on one run's whole catch-up.
const RUN_LIMIT: Duration = Duration::from_secs(300);

#[test]
fn completeness_of_a_10000_message_catch_up_js_to_hychat() {
    let _one_at_a_time = one_at_a_time();
    ensure_js_peers();
    let runs = completeness::runs();
    let boot_dir = TempDir::new().unwrap();
    let writer_dir = TempDir::new().unwrap();
    let (_bootstrap, port) = start_bootstrap(boot_dir.path());
    let pid = std::process::id();
    let text = |seq: u64| format!("js message {seq} of run {pid}");

    let mut writer = JsWriter::start(writer_dir.path(), &loopback(port), Mode::Both, false)
        .unwrap_or_else(|e| panic!("{e}"));
    let texts: Vec<String> = (0..TOTAL).map(text).collect();
    let started = Instant::now();
    writer
        .append_many(0, &texts)
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "the JS writer appended {TOTAL} messages in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let key = writer.key.clone();

    let mut times = Vec::new();
    for run in 1..=runs {
        let tail_dir = TempDir::new().unwrap();
        let started = Instant::now();
        let mut tail = spawn_hychat(
            "hychat tail",
            tail_dir.path(),
            port,
            &["tail", &key, "--json"],
        );
        let mut held = vec![false; TOTAL as usize];
        let mut count = 0;
        let fail = |held: &[bool], what: String| -> ! {
            let missing: Vec<u64> = (0..TOTAL).filter(|s| !held[*s as usize]).collect();
            panic!(
                "run {run}: {what}; {} of {TOTAL} seqs missing: {}\n{}",
                missing.len(),
                seq_runs(missing.iter().copied()),
                log_tail(tail_dir.path())
            );
        };
        while count < TOTAL {
            let left = RUN_LIMIT.saturating_sub(started.elapsed());
            let Some(line) = tail.next_line(STALL.min(left)) else {
                fail(
                    &held,
                    format!(
                        "hychat tail printed nothing for {:?} ({:.1} s into the run)",
                        STALL.min(left),
                        started.elapsed().as_secs_f64()
                    ),
                );
            };
            let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                fail(
                    &held,
                    format!("tail --json printed a line that is not JSON ({e}): {line:?}"),
                )
            });
            let Some(seq) = value["seq"].as_u64().filter(|seq| *seq < TOTAL) else {
                fail(&held, format!("a line without a seq below {TOTAL}: {line}"));
            };
            if value["feed"] != key.as_str() || value["text"] != text(seq).as_str() {
                fail(
                    &held,
                    format!("seq {seq} should be {:?} of {key}: {line}", text(seq)),
                );
            }
            if held[seq as usize] {
                fail(&held, format!("seq {seq} printed twice"));
            }
            held[seq as usize] = true;
            count += 1;
        }
        let took = started.elapsed();
        // Not `stop_cleanly`: how it exits is not what this test is about.
        tail.terminate();
        eprintln!(
            "completeness run {run}/{runs}: {TOTAL} of {TOTAL} blocks (0 missing) in {:.2} s",
            took.as_secs_f64()
        );
        times.push(took);
    }
    assert!(writer.process.is_running(), "the JS writer stopped");
    eprintln!(
        "completeness, JS → hychat tail: {runs} run(s) of {TOTAL} blocks, 0 missing; {} \
         (from tail's start, discovery included)",
        completeness::summary(&times)
    );
}
