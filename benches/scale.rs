//! Scale benchmark: the chat over 1,000,000 messages across 20 logs (a
//! bench binary: it prints figures and asserts nothing about time). Run with
//! `cargo bench --bench scale`; `HYCHAT_BENCH_SCALE_MESSAGES` (default
//! 1,000,000) and `HYCHAT_BENCH_SCALE_LOGS` (default 20) change the sizes.
//!
//! 1. The storage: an own log and `LOGS - 1` followed logs of equal length.
//!    Every log is written by `hychat send` (the release binary) from a
//!    pipe, each in a storage of its own; the followed ones are copied into
//!    the chat's storage as a caught-up follower holds them
//!    (`harness::followed::follow_offline`: hypercore proofs, no network),
//!    and the engine then indexes them as it does any held block (in
//!    process, offline). The storage is kept under
//!    `target/bench-scale/<messages>-<logs>/` and reused by the next run.
//! 2. The chat: the release binary in a 120×40 tmux pane, offline
//!    (loopback bind, a bootstrap address nobody answers). Printed: the
//!    time from spawning it to the newest message on screen (tmux polled
//!    every 10 ms), and the runner's own figures, logged at exit
//!    (`src/frames.rs`): when its first frame and its first frame with
//!    history were drawn.
//! 3. Paging back through all of history: PgUp pressed in batches of 20
//!    until the oldest message is on screen, bounded in presses and time.
//!    Printed: presses, elapsed time, and the runner's frame times over the
//!    whole run (p50, p99, slowest, how many over 16 ms).
//! 4. Memory: the chat's resident memory (`VmRSS`) after the first frame
//!    and its peak (`VmHWM`) after paging through everything.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hychat::net::{NetConfig, NetEvent};

// This bench uses only `harness::bin`, `harness::bench`, `harness::tmux`
// and `harness::followed`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bench::proc_status;
use harness::bin::{free_udp_port, hychat_command, BIN};
use harness::env;
use harness::followed::follow_offline;
use harness::tmux::{ensure_tmux, Tmux};

/// PgUp presses sent at once.
const PRESSES: usize = 20;
/// Bounds on paging through everything.
const MAX_PRESSES: usize = 400_000;
const PAGING_LIMIT: Duration = Duration::from_secs(900);
/// Bound on the first frame with the newest message.
const FIRST_FRAME_LIMIT: Duration = Duration::from_secs(60);
/// Bound on indexing the followed logs.
const INDEXING_LIMIT: Duration = Duration::from_secs(1800);

/// The text of message `n` (from 1) of log `log` (0 is the own log).
fn text(log: u64, n: u64) -> String {
    format!("l{log} m{n}")
}

/// Writes `count` messages into the own log of `storage` with `hychat send`.
fn send(storage: &Path, log: u64, count: u64) {
    let lines: String = (1..=count).map(|n| text(log, n) + "\n").collect();
    let mut child = hychat_command(storage, free_udp_port(), &["send"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hychat send");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(lines.as_bytes()).expect("feed hychat send");
    }
    let output = child.wait_with_output().expect("hychat send ran");
    assert!(
        output.status.success(),
        "hychat send failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds the storage (or finds it built): returns it and the oldest
/// message's text.
async fn storage(total: u64, logs: u64) -> (PathBuf, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-scale")
        .join(format!("{total}-{logs}"));
    let chat = root.join("chat");
    let oldest = text(0, 1);
    if root.join("complete").exists() {
        println!("storage: reusing {}", root.display());
        return (chat, oldest);
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("create the bench storage");
    let per = total / logs;
    let started = Instant::now();
    // The own log first, so its first message is the oldest.
    send(&chat, 0, per);
    for log in 1..logs {
        let writer = root.join(format!("writer-{log}"));
        send(&writer, log, per);
    }
    println!(
        "storage: {logs} logs of {per} messages written by hychat send in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for log in 1..logs {
        let writer = root.join(format!("writer-{log}"));
        follow_offline(&writer, &chat)
            .await
            .unwrap_or_else(|e| panic!("copying log {log}: {e}"));
    }
    println!(
        "storage: {} followed copies built in {:.1} s",
        logs - 1,
        started.elapsed().as_secs_f64()
    );
    index(&chat, logs - 1, per).await;
    std::fs::write(root.join("complete"), b"").expect("mark the storage complete");
    (chat, oldest)
}

/// Runs the engine offline until every followed log is indexed.
async fn index(storage: &Path, followed: u64, per: u64) {
    let started = Instant::now();
    let mut config = NetConfig::new(storage.to_path_buf());
    config.networking = false;
    config.replay_history = false;
    let (handle, mut events) = hychat::net::spawn(config).await.expect("engine starts");
    let mut done = std::collections::HashSet::new();
    let deadline = Instant::now() + INDEXING_LIMIT;
    while (done.len() as u64) < followed {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(NetEvent::LogProgress {
                log,
                downloaded,
                length,
            })) if downloaded == length && length == per => {
                done.insert(log);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!(
                "indexing stopped with {} of {followed} logs done",
                done.len()
            ),
        }
    }
    handle.send(hychat::net::NetCommand::Shutdown).await;
    while events.recv().await.is_some() {}
    println!(
        "storage: {followed} followed logs indexed by the engine in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
fn memory(pid: &str) -> (f64, f64) {
    let kb = proc_status(pid);
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

/// The runner's frame line from the log file.
fn frames_line(storage: &Path) -> String {
    std::fs::read_to_string(storage.join("hychat.log"))
        .unwrap_or_default()
        .lines()
        .rev()
        .find_map(|l| {
            l.split_once("hychat::tui: ")
                .map(|(_, rest)| rest.to_string())
        })
        .unwrap_or_else(|| "(no frame figures in the log file)".into())
}

#[tokio::main]
async fn main() {
    let total = env::count("HYCHAT_BENCH_SCALE_MESSAGES", 1_000_000);
    let logs = env::count("HYCHAT_BENCH_SCALE_LOGS", 20);
    println!("scale bench: {total} messages across {logs} logs");
    let (chat, oldest) = storage(total, logs).await;
    let newest = text(logs - 1, total / logs);

    ensure_tmux();
    let mut tmux = Tmux::new();
    let script = format!(
        "exec {BIN} --storage {} --bootstrap 127.0.0.1:{} --bind 127.0.0.1",
        chat.display(),
        free_udp_port()
    );
    let spawned = Instant::now();
    tmux.new_session("chat", 120, 40, &script);
    let pid = tmux.format("chat", "#{pane_pid}");
    let shows = |screen: &str, wanted: &str| {
        screen.lines().any(|l| {
            l.split('│')
                .next()
                .unwrap_or("")
                .trim_end()
                .ends_with(&format!(": {wanted}"))
        })
    };
    while !shows(&tmux.capture("chat"), &newest) {
        assert!(
            spawned.elapsed() < FIRST_FRAME_LIMIT,
            "the newest message never showed:\n{}",
            tmux.try_capture("chat")
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let first = spawned.elapsed();
    let (rss, _) = memory(&pid);
    println!(
        "first frame with the newest message: {:.0} ms from spawn (tmux polled every 10 ms); RSS {rss:.1} MiB",
        first.as_secs_f64() * 1e3
    );

    let started = Instant::now();
    let mut presses = 0;
    let mut peak_rss = rss;
    loop {
        let screen = tmux.capture("chat");
        if shows(&screen, &oldest) {
            break;
        }
        assert!(
            presses < MAX_PRESSES && started.elapsed() < PAGING_LIMIT,
            "the oldest message never showed after {presses} presses:\n{screen}"
        );
        let keys: Vec<&str> = ["send-keys", "-t", "chat"]
            .into_iter()
            .chain(std::iter::repeat_n("PPage", PRESSES))
            .collect();
        tmux.run(&keys);
        presses += PRESSES;
        if presses % 2_000 == 0 {
            peak_rss = peak_rss.max(memory(&pid).0);
        }
    }
    let (rss_end, hwm) = memory(&pid);
    println!(
        "paged back to the oldest message: {presses} PgUp in {:.1} s; RSS sampled at most {:.1} MiB, {rss_end:.1} MiB at the end, peak (VmHWM) {hwm:.1} MiB",
        started.elapsed().as_secs_f64(),
        peak_rss.max(rss_end)
    );
    tmux.run(&["send-keys", "-t", "chat", "C-c"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("the runner's figures: {}", frames_line(&chat));
}
