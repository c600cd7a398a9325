//! Own-log append benchmark (a bench binary: it prints figures and asserts
//! nothing about time). Run with `cargo bench --bench storage`; the JS
//! reference's packages are installed with `npm ci --prefix tests/js` when
//! missing.
//!
//! 1. Burst: `hychat send` (the release binary) with `HYCHAT_BENCH_BURST`
//!    lines (default 10,000) on stdin, each run in a new storage, from
//!    process start to exit; the median of `HYCHAT_BENCH_RUNS` runs
//!    (default 3). Every message is synced to the journal before `send`
//!    counts it.
//! 2. Single appends: the engine in-process (release build of the library),
//!    `HYCHAT_BENCH_APPENDS` appends (default 1,000) one at a time with
//!    pauses between them, each timed from `NetCommand::Append` to its
//!    `NetEvent::Appended`; median and p99. (`send` reads all of stdin
//!    before it starts, so lines fed to it slowly cannot time one append.)
//!    The floor under it, measured between those appends so both see the
//!    disk alike: a 120-byte write synced with `sync_data` (fdatasync) in
//!    the same temp directory.
//! 3. The reference: JS hypercore 10 (`tests/js/append-bench.js`) appending
//!    `HYCHAT_BENCH_BURST` blocks in batches of 1,000, then one at a time,
//!    each append awaited. hypercore 10 never calls fsync: its appends are
//!    not on disk when they return.

use std::time::{Duration, Instant};

use hychat::domain::Seq;
use hychat::net::NetEvent;

// This bench uses only `harness::bin`, `harness::node`, `harness::js` and
// `harness::bench`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bench::{env_count, percentile};
use harness::bin::{free_udp_port, hychat, stderr_of};
use harness::node::{bootstrap_node, Node};

/// Bound on one burst run or the JS script, so a hang ends the bench.
const RUN_LIMIT: Duration = Duration::from_secs(600);
/// Blocks per append in the JS reference's batched run.
const JS_BATCH: u64 = 1000;

/// One `hychat send` of `lines` lines in a new storage; its wall time.
fn burst(lines: u64) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let input: String = (0..lines).map(|i| format!("burst line {i}\n")).collect();
    let started = Instant::now();
    let output = hychat(dir.path(), free_udp_port())
        .arg("send")
        .write_stdin(input)
        .timeout(RUN_LIMIT)
        .output()
        .expect("run hychat send");
    let elapsed = started.elapsed();
    let stderr = stderr_of(&output);
    assert!(
        output.status.success() && stderr.contains(&format!("appended {lines} message(s)")),
        "hychat send did not append the burst: {:?}\n{stderr}",
        output.status
    );
    elapsed
}

fn rate_line(what: &str, count: u64, unit: &str, elapsed: Duration, note: &str) -> String {
    let seconds = elapsed.as_secs_f64();
    format!(
        "{what}: {count} {unit} in {seconds:.2} s = {:.0} {unit}/s{note}",
        count as f64 / seconds
    )
}

/// One small write and one `sync_data`: what the disk alone takes for a
/// durable append.
fn disk_sync(file: &mut std::fs::File) -> Duration {
    use std::io::Write;
    let started = Instant::now();
    file.write_all(&[b'x'; 120]).unwrap();
    file.sync_data().unwrap();
    started.elapsed()
}

/// Single appends in-process, each timed from `Append` to its `Appended`,
/// and beside each one (so both see the disk in the same state) a
/// `disk_sync` in the same temp directory: (appends, disk syncs).
async fn single_appends(count: u64) -> (Vec<Duration>, Vec<Duration>) {
    let bootstrap = bootstrap_node().await;
    let mut node = Node::start(bootstrap.local_addr()).await;
    let own = node.key;
    let mut floor_file = std::fs::File::create(node.dir.path().join("floor")).unwrap();
    let mut samples = Vec::with_capacity(count as usize);
    let mut floor = Vec::with_capacity(count as usize);
    // Seq 0 is a warm-up, not timed.
    for seq in 0..=count {
        let started = Instant::now();
        node.append(&format!("single append {seq}")).await;
        node.wait_for(&format!("the echo of append {seq}"), |event| match event {
            NetEvent::Appended { log, seq: got, .. } if *log == own && *got == Seq(seq) => Some(()),
            NetEvent::Error(message) => panic!("append {seq} failed: {message}"),
            _ => None,
        })
        .await;
        if seq > 0 {
            samples.push(started.elapsed());
        }
        node.seen.clear();
        tokio::time::sleep(Duration::from_millis(1)).await;
        if seq > 0 {
            floor.push(tokio::task::block_in_place(|| disk_sync(&mut floor_file)));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    node.shutdown().await;
    (samples, floor)
}

/// The JS reference: (blocks, batch, batched seconds, one-at-a-time seconds).
fn js_reference(blocks: u64) -> (u64, u64, f64, f64) {
    let args = [
        "--blocks".to_string(),
        blocks.to_string(),
        "--batch".to_string(),
        JS_BATCH.to_string(),
    ];
    let output = harness::js::run_script("append-bench.js", &args, RUN_LIMIT)
        .unwrap_or_else(|e| panic!("the JS append bench failed: {e}"));
    let figures: serde_json::Value = output
        .lines()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("the JS append bench printed no figures:\n{output}"));
    let number = |name: &str| {
        figures[name]
            .as_f64()
            .unwrap_or_else(|| panic!("no {name} in the JS figures: {figures}"))
    };
    (
        number("blocks") as u64,
        number("batch") as u64,
        number("batched_s"),
        number("single_s"),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let lines = env_count("HYCHAT_BENCH_BURST", 10_000);
    let runs = env_count("HYCHAT_BENCH_RUNS", 3).max(1);
    let appends = env_count("HYCHAT_BENCH_APPENDS", 1000).max(1);

    // 1. Burst through the binary.
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| tokio::task::block_in_place(|| burst(lines)))
        .collect();
    times.sort();
    println!(
        "{}",
        rate_line(
            "burst append",
            lines,
            "messages",
            percentile(&times, 0.5),
            &format!(
                " (hychat send, median of {runs} runs, process start to exit, each message synced before it is counted)"
            ),
        )
    );

    // 2. Single appends in-process, and the disk alone beside them.
    let (mut samples, mut floor) = single_appends(appends).await;
    samples.sort();
    floor.sort();
    println!(
        "single append: median {:.2} ms, p99 {:.2} ms over {appends} appends (Append to Appended, engine in-process)",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
    );
    println!(
        "disk alone: median {:.2} ms, p99 {:.2} ms over {appends} writes of 120 bytes, each synced, between those appends (the floor of a durable append)",
        percentile(&floor, 0.5).as_secs_f64() * 1e3,
        percentile(&floor, 0.99).as_secs_f64() * 1e3,
    );

    // 3. The JS reference.
    let (blocks, batch, batched, single) = tokio::task::block_in_place(|| js_reference(lines));
    println!(
        "{}",
        rate_line(
            &format!("js hypercore 10, batches of {batch}"),
            blocks,
            "blocks",
            Duration::from_secs_f64(batched),
            " (no fsync)",
        )
    );
    println!(
        "{}",
        rate_line(
            "js hypercore 10, one at a time",
            blocks,
            "blocks",
            Duration::from_secs_f64(single),
            " (each awaited, no fsync)",
        )
    );
}
