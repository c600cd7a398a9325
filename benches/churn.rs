//! Churn benchmark (a bench binary: it prints figures and asserts nothing
//! about time). Run with `cargo bench --bench churn`.
//!
//! The release binary's chat runs in a 120×60 tmux pane, with its own
//! storage, a loopback bootstrap node and `--room churn`. Then, `ROUNDS`
//! times over, the `churn::PEERS` in-process peers of `harness::churn`
//! start, join the room and each say a line; the bench waits (bounded)
//! until the pane has shown all of the round's lines (a line counts once
//! seen, even if later ones push it off the top), has them leave (by
//! `LeaveRoom` then `Shutdown`, or by `Shutdown` alone, in turn), and waits
//! (bounded) until the pane's peer panel reads `Peers (0)`. The peers are
//! the same each round: after the first round the chat holds their logs
//! (room members are remembered), so what the first round adds is by
//! design and what later rounds add is not.
//!
//! Measured on the chat's process (not tmux): RSS, threads and open file
//! descriptors from `/proc`, and the tokio runtime's live tasks from the
//! line the runner logs every 5 s at debug level (`src/tui.rs`), before the
//! first round, after each round, and 10 s and 30 s after the last; then
//! what the whole churn added, and what the rounds after the first added.
//! The same lines give the frames of each 5 s interval (`src/frames.rs`):
//! the bench prints them for the churn, then the slowest frame, the frames
//! over 50 ms and the spread of the intervals' p50 and p99, and the
//! runner's whole-run figures logged at exit. A round whose lines do not
//! all show names the peers missed and what each saw of the room. The chat
//! is then ended with Ctrl+C and the terminal checked: exit status 0,
//! alternate screen off, cursor shown, no chat left on the screen.
//!
//! `HYCHAT_BENCH_ROUNDS` sets the rounds (5 by default).

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use hychat::domain::RoomName;

// This bench uses only `harness::node`, `harness::churn`, `harness::bin`,
// `harness::tmux`, `harness::tui` and `harness::bench`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bench::proc_status;
use harness::bin::{BIN, HYCHAT_ENV};
use harness::churn::{said, Crowd, Leaving, OwnRuntime, PEERS};
use harness::env;
use harness::tmux::{ensure_tmux, Tmux};
use harness::tui::{peer_count, side_panel, WIDTH};

const ROOM: &str = "churn";
const SESSION: &str = "chat";
/// Rows of the pane: the first round's lines and its 20 members met fit.
const HEIGHT: usize = 60;
/// Bound on the first frame, on the chat's exit, and on a fresh report.
const QUICK: Duration = Duration::from_secs(30);
/// Bound on a round's lines reaching the screen, and on the panel emptying.
const ROUND_BOUND: Duration = Duration::from_secs(180);
/// How often the pane is captured while waiting.
const POLL: Duration = Duration::from_millis(200);

/// The runner's periodic report (`src/tui.rs`), parsed.
#[derive(Debug, Clone)]
struct Report {
    /// Seconds since midnight (UTC), from the log line's timestamp.
    at: f64,
    tasks: u64,
    frames: u64,
    p50: f64,
    p99: f64,
    slowest: f64,
    stalls: u64,
}

impl Report {
    /// `2026-01-01T12:00:00.123456Z DEBUG hychat::tui: runner: 57 live
    /// tasks; frames since the last report: 12; p50 0.4 ms, p99 1.2 ms,
    /// slowest 1.3 ms; 0 over 50 ms`.
    fn parse(line: &str) -> Option<Report> {
        let (stamp, rest) = line.split_once(" DEBUG hychat::tui: runner: ")?;
        let clock = stamp.split_once('T')?.1.trim_end_matches('Z');
        let mut parts = clock.split(':');
        let hours: f64 = parts.next()?.parse().ok()?;
        let minutes: f64 = parts.next()?.parse().ok()?;
        let seconds: f64 = parts.next()?.parse().ok()?;
        let number = |after: &str| -> Option<f64> {
            let (_, tail) = rest.split_once(after)?;
            tail.trim_start()
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .next()?
                .parse()
                .ok()
        };
        Some(Report {
            at: hours * 3600.0 + minutes * 60.0 + seconds,
            tasks: rest.split_whitespace().next()?.parse().ok()?,
            frames: number("frames since the last report:")? as u64,
            p50: number("p50")?,
            p99: number("p99")?,
            slowest: number("slowest")?,
            stalls: rest
                .rsplit_once("; ")?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()?,
        })
    }
}

/// The chat's log file.
fn log_text(storage: &Path) -> String {
    std::fs::read_to_string(storage.join("hychat.log")).unwrap_or_default()
}

/// The reports in the log past byte `from` (and before `to`, when given).
fn reports(storage: &Path, from: usize, to: Option<usize>) -> Vec<Report> {
    let text = log_text(storage);
    let end = to.unwrap_or(text.len()).min(text.len());
    text.get(from.min(end)..end)
        .unwrap_or_default()
        .lines()
        .filter_map(Report::parse)
        .collect()
}

/// Waits (bounded by `QUICK`) for a report logged after now.
async fn next_report(storage: &Path) -> Option<Report> {
    let from = log_text(storage).len();
    let deadline = Instant::now() + QUICK;
    while Instant::now() < deadline {
        if let Some(report) = reports(storage, from, None).pop() {
            return Some(report);
        }
        tokio::time::sleep(POLL).await;
    }
    None
}

/// The pid of the chat: the child of the pane's shell named `hychat`.
fn chat_pid(shell: &str) -> Option<String> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid = entry.file_name().into_string().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid ...
            let (comm, rest) = stat.split_once(") ")?;
            let ppid = rest.split_whitespace().nth(1)?;
            (ppid == shell && comm.ends_with("(hychat")).then_some(pid)
        })
}

/// RSS in MiB, threads and open file descriptors of `pid`.
fn process(pid: &str) -> (f64, u64, usize) {
    let field = proc_status(pid);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (field("VmRSS:") / 1024.0, field("Threads:") as u64, fds)
}

/// What `sample` measured.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rss: f64,
    threads: u64,
    fds: usize,
    tasks: Option<u64>,
}

/// Prints and returns the chat's process figures and its next report's
/// live tasks.
async fn sample(what: &str, pid: &str, storage: &Path) -> Sample {
    let tasks = next_report(storage).await.map(|r| r.tasks);
    let (rss, threads, fds) = process(pid);
    let shown = tasks.map_or("(no report)".to_string(), |t| t.to_string());
    println!("{what}: RSS {rss:.1} MiB, {threads} threads, {fds} open files, {shown} live tasks");
    Sample {
        rss,
        threads,
        fds,
        tasks,
    }
}

/// The change from `from` to `to`, in one line.
fn growth(from: Sample, to: Sample) -> String {
    let tasks = match (from.tasks, to.tasks) {
        (Some(a), Some(b)) => format!("{:+}", b as i64 - a as i64),
        _ => "?".to_string(),
    };
    format!(
        "RSS {:+.1} MiB, threads {:+}, open files {:+}, live tasks {tasks}",
        to.rss - from.rss,
        to.threads as i64 - from.threads as i64,
        to.fds as i64 - from.fds as i64,
    )
}

/// Polls the pane until `done` holds or `bound` passed; returns the time
/// taken and whether it held.
async fn wait_pane(tmux: &Tmux, bound: Duration, done: impl Fn(&str) -> bool) -> (Duration, bool) {
    let started = Instant::now();
    loop {
        if done(&tmux.capture(SESSION)) {
            return (started.elapsed(), true);
        }
        if started.elapsed() >= bound {
            return (started.elapsed(), false);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Which of round `round`'s lines the timeline shows, by peer.
fn lines_shown(pane: &str, round: usize) -> impl Iterator<Item = usize> + '_ {
    (0..PEERS).filter(move |peer| {
        let line = format!(": {}", said(round, *peer));
        pane.lines().any(|row| {
            row.split('│')
                .next()
                .unwrap_or("")
                .trim_end()
                .ends_with(&line)
        })
    })
}

/// Polls the pane until it has shown every line of round `round`, or
/// `ROUND_BOUND` passed; returns the time taken and the peers it showed.
async fn wait_for_lines(tmux: &Tmux, round: usize) -> (Duration, HashSet<usize>) {
    let started = Instant::now();
    let mut seen = HashSet::new();
    loop {
        seen.extend(lines_shown(&tmux.capture(SESSION), round));
        if seen.len() == PEERS || started.elapsed() >= ROUND_BOUND {
            return (started.elapsed(), seen);
        }
        tokio::time::sleep(POLL).await;
    }
}

fn ms(value: f64) -> String {
    format!("{value:.1} ms")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds = env::count("HYCHAT_BENCH_ROUNDS", 5) as usize;
    println!("churn bench: cargo bench --bench churn ({rounds} rounds of {PEERS} peers)");
    ensure_tmux();
    let bootstrap_runtime = OwnRuntime::new();
    let bootstrap = bootstrap_runtime.bootstrap_node().await;
    let storage_dir = tempfile::tempdir().unwrap();
    let storage = storage_dir.path();
    let storage_text = storage.to_str().expect("a UTF-8 temp path");
    assert!(!storage_text.contains('\'') && !BIN.contains('\''));
    let command = format!(
        "'{BIN}' --storage '{storage_text}' --bootstrap {} --nick watcher --room {ROOM} \
         --log-level debug",
        bootstrap.local_addr()
    );
    println!("the chat: {command} (in a {WIDTH}x{HEIGHT} tmux pane)");
    let script = format!(
        "unset {}; {command}; echo EXITED:$?; sleep 600",
        HYCHAT_ENV.join(" ")
    );
    let mut tmux = Tmux::new();
    tmux.new_session(SESSION, WIDTH, HEIGHT, &script);
    let shell = tmux.format(SESSION, "#{pane_pid}");
    let (_, drawn) = wait_pane(&tmux, QUICK, |pane| {
        pane.contains(&format!(" message to #{ROOM} "))
    })
    .await;
    assert!(
        drawn,
        "the chat never showed the room:\n{}",
        tmux.try_capture(SESSION)
    );
    let pid = chat_pid(&shell).expect("the chat's process under the pane's shell");
    let before = sample("before the first round", &pid, storage).await;
    let mut after_rounds = Vec::new();

    let room = RoomName::parse(ROOM).unwrap();
    let mut crowd = Crowd::new(bootstrap.local_addr());
    let churn_from = log_text(storage).len();
    let churn_started = Instant::now();
    for round in 0..rounds {
        let started = Instant::now();
        let in_room = crowd.arrive(round, &room).await;
        let (shown_after, shown) = wait_for_lines(&tmux, round).await;
        let how = Leaving::in_round(round);
        let leaving = Instant::now();
        let peers = crowd.leave(in_room, how).await;
        let gone = leaving.elapsed();
        let shown = if shown.len() == PEERS {
            format!(
                "all {PEERS} lines on screen after {:.1} s",
                shown_after.as_secs_f64()
            )
        } else {
            // Who was missed, and what each of them saw of the room.
            let missed: Vec<String> = (0..PEERS)
                .filter(|peer| !shown.contains(peer))
                .map(|peer| {
                    let seen = &peers[peer];
                    format!(
                        "p{peer:02} {} (line in its log: {}, met {} members, {} connections)",
                        seen.key.short(),
                        seen.said,
                        seen.met,
                        seen.connections
                    )
                })
                .collect();
            format!(
                "only {} of {PEERS} lines on screen after {:.0} s, missing {}",
                shown.len(),
                ROUND_BOUND.as_secs_f64(),
                missed.join(", ")
            )
        };
        let (emptied_after, emptied) = wait_pane(&tmux, ROUND_BOUND, |pane| {
            peer_count(&side_panel(pane)) == Some(0)
        })
        .await;
        let emptied = if emptied {
            format!("Peers (0) after {:.1} s", emptied_after.as_secs_f64())
        } else {
            format!(
                "still {:?} peers after {:.0} s",
                peer_count(&side_panel(&tmux.capture(SESSION))),
                ROUND_BOUND.as_secs_f64()
            )
        };
        println!(
            "round {} ({how:?}): {shown}; stopped in {:.1} s; {emptied}; round took {:.1} s",
            round + 1,
            gone.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        let after = sample(&format!("  after round {}", round + 1), &pid, storage).await;
        after_rounds.push(after);
    }
    let churn_to = log_text(storage).len();
    let churn = churn_started.elapsed();
    let last_round = Instant::now();
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(last_round.elapsed())).await;
    sample("10 s after the last round", &pid, storage).await;
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(last_round.elapsed())).await;
    let settled = sample("30 s after the last round", &pid, storage).await;
    println!(
        "from before the first round to 30 s after the last: {} (the first round adds the \
         {PEERS} members' logs, held by design)",
        growth(before, settled)
    );
    if let (Some(first), Some(last), true) = (
        after_rounds.first(),
        after_rounds.last(),
        after_rounds.len() > 1,
    ) {
        println!(
            "from after round 1 to after round {}: {}",
            after_rounds.len(),
            growth(*first, *last)
        );
    }

    // The frames of the churn, 5 s at a time.
    let during = reports(storage, churn_from, Some(churn_to));
    println!(
        "frames during the churn ({:.0} s), per 5 s report (time, live tasks, frames, p50, p99, \
         slowest, over 50 ms):",
        churn.as_secs_f64()
    );
    let first_at = during.first().map_or(0.0, |r| r.at);
    for report in &during {
        println!(
            "  +{:>4.0} s  {:>5} tasks  {:>4} frames  p50 {:>7}  p99 {:>7}  slowest {:>8}  {}",
            report.at - first_at,
            report.tasks,
            report.frames,
            ms(report.p50),
            ms(report.p99),
            ms(report.slowest),
            report.stalls
        );
    }
    if !during.is_empty() {
        let frames: u64 = during.iter().map(|r| r.frames).sum();
        let stalls: u64 = during.iter().map(|r| r.stalls).sum();
        let slowest = during.iter().map(|r| r.slowest).fold(0.0, f64::max);
        let spread = |pick: fn(&Report) -> f64| {
            let mut values: Vec<f64> = during.iter().map(pick).collect();
            values.sort_by(f64::total_cmp);
            (values[values.len() / 2], values[values.len() - 1])
        };
        let (p50_median, p50_worst) = spread(|r| r.p50);
        let (p99_median, p99_worst) = spread(|r| r.p99);
        println!(
            "during the churn: {frames} frames, slowest {}, {stalls} over 50 ms; the intervals' \
             p50: median {}, worst {}; their p99: median {}, worst {}",
            ms(slowest),
            ms(p50_median),
            ms(p50_worst),
            ms(p99_median),
            ms(p99_worst)
        );
    }

    // Ctrl+C ends the chat; the terminal must be as it was.
    tmux.run(&["send-keys", "-t", SESSION, "C-c"]);
    let (_, exited) = wait_pane(&tmux, QUICK, |pane| {
        pane.lines().any(|line| line.trim().starts_with("EXITED:"))
    })
    .await;
    let pane = tmux.capture(SESSION);
    let status = pane
        .lines()
        .find_map(|line| line.trim().strip_prefix("EXITED:"))
        .unwrap_or("none")
        .to_string();
    let alternate = tmux.format(SESSION, "#{alternate_on}");
    let cursor = tmux.format(SESSION, "#{cursor_flag}");
    let leftover = pane.contains("Peers (") || pane.contains("Following (");
    let clean = exited && status == "0" && alternate == "0" && cursor == "1" && !leftover;
    println!(
        "after Ctrl+C: exit status {status}, alternate screen {}, cursor {}, chat left on the \
         screen: {}; the terminal is {}",
        if alternate == "0" { "off" } else { "on" },
        if cursor == "1" { "shown" } else { "hidden" },
        if leftover { "yes" } else { "no" },
        if clean { "clean" } else { "NOT clean" }
    );
    let summary = log_text(storage)
        .lines()
        .rev()
        .find_map(|l| {
            l.split_once("hychat::tui: frames: ")
                .map(|(_, rest)| rest.to_string())
        })
        .unwrap_or_else(|| "(no frame figures in the log file)".into());
    println!("the runner's whole-run figures (logged at exit): frames: {summary}");
}
