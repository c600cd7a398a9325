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
//! 4. Reopen and start-up at each size: one storage grown by `hychat send`
//!    bursts on stdin (only the difference each time) to 32,767, 32,768,
//!    32,769, 100,000 and 1,000,000 messages (sizes above
//!    `HYCHAT_BENCH_MAX_MESSAGES`, default 1,000,000, are skipped); each
//!    burst's rate is printed, from process start to exit, so it includes
//!    the start-up on the log grown so far (a burst of 1 is all start-up).
//!    At each size, `hychat send` with nothing on stdin stands for a
//!    start-up: it opens the engine, which rebuilds the own log from its
//!    journal, appends nothing and shuts down (`hychat key` only reads the
//!    key file, so it then prints the key to check). It runs 3 times; printed are its median wall time
//!    (spawn to exit), its peak resident memory (`ru_maxrss` of the child,
//!    read with `wait4`, so no `/usr/bin/time` is needed) and the size of
//!    the `own/blocks` journal (and, beside it, of `own/index.jsonl`).
//!    Beside it, a follower of that log: at each size its copy is extended
//!    in-process from the grown log with hypercore proofs
//!    (`harness::followed`, the restart test's builder; the rate is
//!    printed), and the follower's engine runs once on it until every
//!    message is indexed from its own blocks (the time is printed). Then
//!    the followed log's reopen: the open alone
//!    (`net::testing::open_followed_log`, the engine's path for a followed
//!    log, checked to hold every block), median of 3 in-process, and a
//!    start-up of the follower's `hychat send` (the engine opens its own log
//!    and the followed one), median wall time and peak RSS of 3 runs.
//! 5. Kills survived: `HYCHAT_BENCH_KILLS` runs (default 500) of `hychat
//!    send --progress` killed with kill -9 at random moments
//!    (`harness::crash`, the crash test's runs, with the release binary),
//!    seeded by `HYCHAT_CRASH_SEED` or the clock; printed are the runs after
//!    which the log opened with the same key and whose acknowledged
//!    messages were all there at the end, in order, in blocks numbered from
//!    0 without a gap, and the first failure, if any.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use hychat::domain::{LogKey, Seq};
use hychat::net::{testing, NetEvent};

// This bench uses only `harness::bin`, `harness::node`, `harness::js`,
// `harness::crash`, `harness::followed` and `harness::bench`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bench::percentile;
use harness::bin::{free_udp_port, hychat, hychat_command, stderr_of};
use harness::crash::{kill_runs, BURST};
use harness::env;
use harness::followed::follow_offline;
use harness::node::{bootstrap_node, Node};

/// Bound on one burst run or the JS script, so a hang ends the bench.
const RUN_LIMIT: Duration = Duration::from_secs(600);
/// Blocks per append in the JS reference's batched run.
const JS_BATCH: u64 = 1000;
/// The log sizes of the start-up figures, in messages.
const SIZES: [u64; 5] = [32_767, 32_768, 32_769, 100_000, 1_000_000];
/// Start-ups (`hychat send` with nothing to send) at each size.
const STARTS: usize = 3;

/// One `hychat send` of `lines` lines in a new storage; its wall time.
fn burst(lines: u64) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    send(dir.path(), "burst", 0..lines)
}

/// One `hychat send` into `storage` of one line per number of `numbers`,
/// all on stdin; its wall time, from process start to exit.
fn send(storage: &Path, what: &str, numbers: std::ops::Range<u64>) -> Duration {
    let lines = numbers.end - numbers.start;
    let input: String = numbers.map(|i| format!("{what} line {i}\n")).collect();
    let started = Instant::now();
    let output = hychat(storage, free_udp_port())
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

/// One start-up on `storage` (`hychat send` with nothing to send): its
/// wall time from spawn to exit, its peak resident memory in KiB
/// (`ru_maxrss` from `wait4`), and the key `hychat key` prints after it.
fn start_up(storage: &Path) -> (Duration, u64, String) {
    let mut command = hychat_command(storage, free_udp_port(), &["send"]);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    // Reaped below by `wait4`, which also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let mut child = command.spawn().expect("start hychat send");
    let pid = child.id() as libc::pid_t;
    // Kills the child if it outlives RUN_LIMIT, so a hang ends the bench.
    let (exited, watch) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if matches!(
            watch.recv_timeout(RUN_LIMIT),
            Err(RecvTimeoutError::Timeout)
        ) {
            // SAFETY: a plain signal to our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data, filled in by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waits for our own child, with valid pointers.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        assert!(
            error.kind() == std::io::ErrorKind::Interrupted,
            "wait4 on hychat send: {error}"
        );
    }
    let elapsed = started.elapsed();
    let _ = exited.send(());
    watchdog.join().unwrap();
    // The child is reaped: `child.wait()` must not be called any more.
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "hychat send failed (wait status {status:#x}) after {elapsed:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    let key = hychat_command(storage, free_udp_port(), &["key"])
        .stdin(Stdio::null())
        .output()
        .expect("run hychat key");
    assert!(key.status.success(), "hychat key failed: {key:?}");
    (
        elapsed,
        usage.ru_maxrss as u64,
        String::from_utf8_lossy(&key.stdout).trim_end().to_string(),
    )
}

/// The size of a file of the own log, in bytes.
fn own_file_size(storage: &Path, name: &str) -> u64 {
    let path = storage.join("own").join(name);
    std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("no {}: {e}", path.display()))
        .len()
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// A follower of the log that `start_ups` grows, kept beside it.
struct Follower {
    /// Its storage; `None` while an engine runs on it.
    dir: Option<tempfile::TempDir>,
    /// A loopback bootstrap node for its engine (the writer is not online).
    bootstrap: hychat::net::BootstrapNode,
    /// The key `hychat key` prints in its storage.
    own: Option<String>,
}

/// Section 4, the follower at `size` blocks: extends its copy from the own
/// log in `writer`, runs its engine once until every message is indexed,
/// then prints the followed log's reopen figures.
fn follower_at(size: u64, writer: &Path, follower: &mut Follower) {
    let runtime = tokio::runtime::Handle::current();
    let storage = follower.dir.as_ref().unwrap().path().to_path_buf();
    let (key, copied) = runtime
        .block_on(follow_offline(writer, &storage))
        .unwrap_or_else(|e| panic!("could not extend the follower's copy to {size}: {e}"));
    assert_eq!(
        copied.length, size,
        "the follower's copy should hold {size} blocks"
    );
    println!(
        "{}",
        rate_line(
            &format!("follower copy extended to {size}"),
            copied.blocks,
            "blocks",
            copied.elapsed,
            " (hypercore proofs applied in-process, harness::followed)",
        )
    );
    let indexed = runtime.block_on(index_copy(follower, key, size));
    println!(
        "follower's first start on the copy of {size}: every message indexed from its own blocks in {:.2} s",
        indexed.as_secs_f64()
    );
    let mut opens = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let started = Instant::now();
        let core = runtime
            .block_on(testing::open_followed_log(&storage, key))
            .unwrap_or_else(|e| panic!("the followed log of {size} blocks did not reopen: {e}"));
        opens.push(started.elapsed());
        let info = core.info();
        assert_eq!(
            (info.length, info.contiguous_length),
            (size, size),
            "the reopened followed log should hold every block of {size}"
        );
    }
    let first_open = opens[0];
    opens.sort();
    let mut times = Vec::with_capacity(STARTS);
    let mut peak_kib = 0;
    for _ in 0..STARTS {
        let (elapsed, rss_kib, printed) = start_up(&storage);
        let expected = follower.own.get_or_insert_with(|| printed.clone());
        assert_eq!(
            &printed, expected,
            "the follower's hychat key printed another key"
        );
        times.push(elapsed);
        peak_kib = peak_kib.max(rss_kib);
    }
    times.sort();
    println!(
        "followed log reopen at {size} blocks: the open alone {:.1} ms the first time, median \
         {:.1} ms of {STARTS} (every block held); start-up of the follower: median {:.3} s of \
         {STARTS} start-ups (hychat send), max RSS {:.1} MiB",
        first_open.as_secs_f64() * 1e3,
        percentile(&opens, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.5).as_secs_f64(),
        peak_kib as f64 / 1024.0,
    );
}

/// Runs the follower's engine until it has indexed (shown) all `size`
/// blocks of `key`'s copy; how long that took from the engine's start.
async fn index_copy(follower: &mut Follower, key: LogKey, size: u64) -> Duration {
    let dir = follower.dir.take().unwrap();
    let started = Instant::now();
    let mut node = Node::start_in(dir, follower.bootstrap.local_addr()).await;
    // Read here, not with `wait_for`, which keeps every event it reads.
    let deadline = tokio::time::Instant::now() + RUN_LIMIT;
    loop {
        match tokio::time::timeout_at(deadline, node.events.recv()).await {
            Ok(Some(NetEvent::LogProgress {
                log,
                downloaded,
                length,
            })) if log == key && downloaded == size && length == size => break,
            Ok(Some(NetEvent::Error(message))) => panic!("the follower's engine: {message}"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("the follower's engine stopped before indexing {size} blocks"),
            Err(_) => panic!("the follower did not index {size} blocks within {RUN_LIMIT:?}"),
        }
    }
    let elapsed = started.elapsed();
    follower.dir = Some(node.shutdown().await);
    elapsed
}

/// Section 4: grows one storage through `SIZES` up to `max` messages and
/// prints each burst's rate and the start-up figures at each size, and
/// those of a follower of that log.
fn start_ups(max: u64) {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path();
    let mut follower = Follower {
        dir: Some(tempfile::tempdir().unwrap()),
        bootstrap: tokio::runtime::Handle::current().block_on(bootstrap_node()),
        own: None,
    };
    let mut held = 0;
    let mut key: Option<String> = None;
    for size in SIZES.into_iter().filter(|size| *size <= max) {
        let elapsed = send(storage, "size", held..size);
        println!(
            "{}",
            rate_line(
                &format!("grow {held} to {size}"),
                size - held,
                "messages",
                elapsed,
                " (one hychat send, all on stdin)",
            )
        );
        held = size;
        let mut times = Vec::with_capacity(STARTS);
        let mut peak_kib = 0;
        for _ in 0..STARTS {
            let (elapsed, rss_kib, printed) = start_up(storage);
            let expected = key.get_or_insert_with(|| printed.clone());
            assert_eq!(
                &printed, expected,
                "hychat key printed another key at {size} messages"
            );
            times.push(elapsed);
            peak_kib = peak_kib.max(rss_kib);
        }
        times.sort();
        let blocks = own_file_size(storage, "blocks");
        let index = own_file_size(storage, "index.jsonl");
        println!(
            "start-up at {size} messages: median {:.3} s of {STARTS} start-ups (hychat send), \
             max RSS {:.1} MiB (highest of the {STARTS}), own/blocks {:.1} MiB ({:.0} bytes/message), \
             own/index.jsonl {:.1} MiB",
            percentile(&times, 0.5).as_secs_f64(),
            peak_kib as f64 / 1024.0,
            mib(blocks as f64),
            blocks as f64 / size as f64,
            mib(index as f64),
        );
        follower_at(size, storage, &mut follower);
    }
    let skipped: Vec<String> = SIZES
        .into_iter()
        .filter(|size| *size > max)
        .map(|size| size.to_string())
        .collect();
    if !skipped.is_empty() {
        println!(
            "start-up: skipped {} messages (above HYCHAT_BENCH_MAX_MESSAGES={max})",
            skipped.join(", ")
        );
    }
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
    let lines = env::count("HYCHAT_BENCH_BURST", 10_000);
    let runs = env::count("HYCHAT_BENCH_RUNS", 3);
    let appends = env::count("HYCHAT_BENCH_APPENDS", 1000);

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

    // 4. Start-up at each size of one growing log.
    let max = env::count("HYCHAT_BENCH_MAX_MESSAGES", 1_000_000);
    tokio::task::block_in_place(|| start_ups(max));

    // 5. Kills survived.
    let kills = env::count("HYCHAT_BENCH_KILLS", 500);
    let seed = env::seed("HYCHAT_CRASH_SEED");
    let report = tokio::task::block_in_place(|| kill_runs(kills, seed, false));
    println!(
        "kills survived: {} of {kills} ({} acknowledged messages, {})",
        report.survived,
        report.acknowledged,
        if report.survived == kills {
            "all present"
        } else {
            "not all present"
        }
    );
    println!(
        "  (kill -9 of hychat send --progress with {BURST} lines at random moments, seed {seed} \
         (HYCHAT_CRASH_SEED), {} kills made in {:.0} s, {} blocks in the log at the end)",
        report.runs,
        report.elapsed.as_secs_f64(),
        report.in_log
    );
    if let Some(failure) = &report.first_failure {
        println!("  first failure: {failure}");
    }
}
