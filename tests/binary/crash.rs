//! kill -9 at random moments while `hychat send` appends a burst: after
//! every kill the own log opens with the same key, and at the end every
//! message whose append `send --progress` acknowledged is in the log, in
//! order, with no message twice. 50 runs by default (`HYCHAT_CRASH_RUNS`);
//! the seed of the random moments is printed so a failure can be replayed
//! (`HYCHAT_CRASH_SEED`).
//!
//! A burst is written in a few group commits and takes tens of
//! milliseconds, so the moments follow the burst, not the clock: most kills
//! come once a random number of messages is acknowledged, plus up to 2 ms
//! (inside the write and sync of the next batch, or between batches); one
//! run in five is killed at a random moment of its first 50 ms (start-up,
//! opening and repairing the journal).

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hychat::domain::LogKey;
use hychat::net::{NetCommand, NetConfig, NetEvent};

use crate::harness::bin::{free_udp_port, hychat_command, own_key};

/// Lines per burst.
const BURST: usize = 300;
/// Bound on waiting for a run to reach its kill moment.
const RUN_BOUND: Duration = Duration::from_secs(60);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator, so a seed replays the same kill times.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Every message of the own log in `storage`, in order, as the engine
/// delivers it at start (from the rebuilt log and its index).
fn messages_in(storage: &std::path::Path, key: LogKey, at_least: usize) -> Vec<(u64, String)> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut config = NetConfig::new(storage.to_path_buf());
        config.networking = false;
        config.bootstrap = vec![];
        config.host_local_bootstrap = false;
        let (handle, mut events) = hychat::net::spawn(config).await.expect("the log opens");
        assert_eq!(handle.own_key(), key, "the same key after the kills");
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        // Everything held arrives promptly; stop once it is quiet.
        loop {
            let quiet = if seen.len() >= at_least {
                Duration::from_secs(2)
            } else {
                deadline.saturating_duration_since(tokio::time::Instant::now())
            };
            match tokio::time::timeout(quiet, events.recv()).await {
                Ok(Some(NetEvent::Appended { log, seq, message })) if log == key => {
                    seen.push((seq.0, message.text))
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        handle.send(NetCommand::Shutdown).await;
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        }
        seen.sort();
        seen
    })
}

#[test]
fn kill_9_during_appends_loses_no_acknowledged_message() {
    let runs = env_number("HYCHAT_CRASH_RUNS", 50);
    let mut state = env_number(
        "HYCHAT_CRASH_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1,
    );
    println!("crash test: {runs} runs, seed {state}");
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path();
    let port = free_udp_port();
    let key: LogKey = own_key(storage, port).parse().unwrap();
    let mut acknowledged: Vec<String> = Vec::new();
    let started = Instant::now();
    for run in 0..runs {
        let lines: Vec<String> = (0..BURST).map(|i| format!("run {run} line {i}")).collect();
        let mut child = hychat_command(storage, port, &["send", "--progress"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start hychat send");
        {
            let mut stdin = child.stdin.take().unwrap();
            stdin
                .write_all((lines.join("\n") + "\n").as_bytes())
                .unwrap();
        }
        let acked = Arc::new(AtomicUsize::new(0));
        let stdout = child.stdout.take().unwrap();
        let reader = {
            let acked = Arc::clone(&acked);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Ok(n) = line.trim().parse::<usize>() {
                        acked.store(n, Ordering::SeqCst);
                    }
                }
            })
        };
        let spawned = Instant::now();
        let moment = if next(&mut state).is_multiple_of(5) {
            let wait = Duration::from_micros(next(&mut state) % 50_000);
            std::thread::sleep(wait);
            format!("{wait:?} after start")
        } else {
            let target = (next(&mut state) % BURST as u64) as usize;
            let extra = Duration::from_micros(next(&mut state) % 2_000);
            while acked.load(Ordering::SeqCst) < target
                && matches!(child.try_wait(), Ok(None))
                && spawned.elapsed() < RUN_BOUND
            {
                std::thread::sleep(Duration::from_micros(100));
            }
            std::thread::sleep(extra);
            format!("{extra:?} after acknowledgement {target}")
        };
        let _ = child.kill();
        let _ = child.wait();
        reader.join().unwrap();
        let n = acked.load(Ordering::SeqCst);
        println!(
            "run {run}: killed {moment} ({:?} after start), {n} acknowledged",
            spawned.elapsed()
        );
        acknowledged.extend(lines.into_iter().take(n));
        // The log opens after every kill, with the same key.
        assert_eq!(
            own_key(storage, port),
            key.to_hex(),
            "run {run}: the log did not open after a kill {moment}"
        );
    }
    let found = messages_in(storage, key, acknowledged.len());
    let seqs: Vec<u64> = found.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (0..found.len() as u64).collect::<Vec<_>>(),
        "every block from 0 up, once each"
    );
    let texts: Vec<&str> = found.iter().map(|(_, text)| text.as_str()).collect();
    let mut at = 0;
    for line in &acknowledged {
        match texts[at..].iter().position(|t| t == line) {
            Some(offset) => at += offset + 1,
            None => panic!(
                "acknowledged message {line:?} is missing or out of order ({} acknowledged, {} in the log)",
                acknowledged.len(),
                found.len()
            ),
        }
    }
    println!(
        "crash test: {runs} kills in {:.0} s, {} messages acknowledged, {} in the log, all present",
        started.elapsed().as_secs_f64(),
        acknowledged.len(),
        found.len()
    );
}
