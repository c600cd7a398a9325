//! kill -9 at random moments while `hychat send --progress` appends a
//! burst, for the crash test (`tests/binary/crash.rs`, the debug binary)
//! and the storage bench (`benches/storage.rs`, the release binary):
//! `kill_runs` kills N bursts into one storage and returns a `KillReport`
//! instead of panicking, so the test asserts on it and the bench prints it.
//!
//! After every kill the own log must open (an empty `hychat send`) with
//! the same key; at the end every message whose append `send --progress`
//! acknowledged must be in the log, in order, in blocks numbered from 0
//! without a gap or a repeat (read by the engine in-process, as it
//! delivers them at start).
//!
//! A burst is written in a few group commits and takes tens of
//! milliseconds, so the moments follow the burst, not the clock: most kills
//! come once a random number of messages is acknowledged, plus up to 2 ms
//! (inside the write and sync of the next batch, or between batches); one
//! run in five is killed at a random moment of its first 50 ms (start-up,
//! opening and repairing the journal). The moments come from a seed
//! (`env::seed`), so a failure can be replayed.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hychat::domain::LogKey;
use hychat::net::{NetCommand, NetConfig, NetEvent};

use super::bin::{free_udp_port, hychat, hychat_command, log_tail, own_key, stderr_of, stdout_of};

/// Lines per burst.
pub const BURST: usize = 300;
/// Bound on waiting for a run to reach its kill moment.
const RUN_BOUND: Duration = Duration::from_secs(60);

/// What `kill_runs` found.
#[derive(Debug)]
pub struct KillReport {
    /// The seed the kill moments came from.
    pub seed: u64,
    /// Kills made: as many as asked, unless the log stopped opening.
    pub runs: u64,
    /// Runs after whose kill the log opened with the same key and whose
    /// acknowledged messages were all in the log at the end, in order, in
    /// blocks numbered from 0 without a gap.
    pub survived: u64,
    /// Messages acknowledged by `send --progress` over all runs.
    pub acknowledged: usize,
    /// Blocks in the log at the end.
    pub in_log: usize,
    /// From the first kill to the end of the final check.
    pub elapsed: Duration,
    /// The first thing found wrong, naming its run and the seed.
    pub first_failure: Option<String>,
}

/// A small deterministic generator, so a seed replays the same kill times.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Every message of the own log in `storage`, in order, as the engine
/// delivers it at start (from the rebuilt log and its index); an error
/// when the log does not open, or opens with another key.
fn messages_in(storage: &Path, key: LogKey, at_least: usize) -> Result<Vec<(u64, String)>, String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut config = NetConfig::new(storage.to_path_buf());
        config.networking = false;
        config.bootstrap = vec![];
        config.host_local_bootstrap = false;
        let (handle, mut events) = hychat::net::spawn(config)
            .await
            .map_err(|e| format!("the log does not open: {e}"))?;
        let opened = handle.own_key();
        let mut seen = Vec::new();
        if opened == key {
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
        }
        handle.send(NetCommand::Shutdown).await;
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        }
        if opened != key {
            return Err(format!(
                "the log opens with another key: {} instead of {}",
                opened.to_hex(),
                key.to_hex()
            ));
        }
        seen.sort();
        Ok(seen)
    })
}

/// Whether the log in `storage` opens with `key`; why not. `hychat key`
/// only reads the key pair file, so the engine is started by a `hychat
/// send` with nothing to send: it opens the log (rebuilding its copy from
/// the journal after a kill) and names the key it opened.
fn opens_with(storage: &Path, port: u16, key: LogKey) -> Result<(), String> {
    let output = hychat(storage, port)
        .arg("send")
        .write_stdin("")
        .output()
        .map_err(|e| format!("cannot run hychat send: {e}"))?;
    let stderr = stderr_of(&output);
    let opened = format!("appended 0 message(s) to {}", key.to_hex());
    if output.status.success() && stderr.contains(&opened) {
        return Ok(());
    }
    Err(format!(
        "hychat send with nothing to send: {:?}, expected {opened:?}\nstdout: {}\nstderr: {stderr}\n{}",
        output.status,
        stdout_of(&output),
        log_tail(storage)
    ))
}

/// Kills `runs` bursts of `hychat send --progress` at random moments drawn
/// from `seed`, all into one new storage, checking after each kill that
/// the log opens with the same key (stopping at the first time it does
/// not), then reads the log and checks every acknowledged message. Prints
/// one line per run when `print_runs`. Panics only when the storage cannot
/// be set up.
pub fn kill_runs(runs: u64, seed: u64, print_runs: bool) -> KillReport {
    let mut state = seed;
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path();
    let port = free_udp_port();
    let key: LogKey = own_key(storage, port).parse().unwrap();
    // Each acknowledged message with its run, in the order acknowledged.
    let mut acknowledged: Vec<(u64, String)> = Vec::new();
    let mut failed: Vec<bool> = Vec::new();
    let mut first_failure: Option<String> = None;
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
        if print_runs {
            println!(
                "run {run}: killed {moment} ({:?} after start), {n} acknowledged",
                spawned.elapsed()
            );
        }
        acknowledged.extend(lines.into_iter().take(n).map(|line| (run, line)));
        // The log opens after every kill, with the same key.
        failed.push(false);
        if let Err(why) = opens_with(storage, port, key) {
            failed[run as usize] = true;
            first_failure = Some(format!(
                "run {run} of seed {seed}: the log did not open with the same key after a kill {moment}; \
                 no further runs were made\n{why}"
            ));
            break;
        }
    }
    let found = match messages_in(storage, key, acknowledged.len()) {
        Ok(found) => found,
        Err(why) => {
            // Nothing could be checked: no run survived.
            failed.iter_mut().for_each(|failed| *failed = true);
            first_failure.get_or_insert(format!(
                "seed {seed}: the log could not be read after {} kills: {why}",
                failed.len()
            ));
            Vec::new()
        }
    };
    let kills = failed.len();
    let mut fail = |run: Option<u64>, what: String| {
        if let Some(run) = run {
            failed[run as usize] = true;
        }
        first_failure.get_or_insert(what);
    };
    // Blocks from 0 up, once each: the prefix where seq == position.
    let contiguous = found
        .iter()
        .enumerate()
        .take_while(|(i, (seq, _))| *seq == *i as u64)
        .count();
    if contiguous < found.len() {
        fail(
            None,
            format!(
                "seed {seed}: the log's blocks are not numbered from 0 up, once each: block {contiguous} \
                 of {} holds seq {} (after {} kills)",
                found.len(),
                found[contiguous].0,
                kills
            ),
        );
    }
    let texts: Vec<&str> = found[..contiguous]
        .iter()
        .map(|(_, text)| text.as_str())
        .collect();
    let mut at = 0;
    for (run, line) in &acknowledged {
        match texts[at..].iter().position(|t| t == line) {
            Some(offset) => at += offset + 1,
            None => fail(
                Some(*run),
                format!(
                    "run {run} of seed {seed}: acknowledged message {line:?} is missing or out of order \
                     ({} acknowledged, {} in the log)",
                    acknowledged.len(),
                    found.len()
                ),
            ),
        }
    }
    KillReport {
        seed,
        runs: failed.len() as u64,
        survived: failed.iter().filter(|failed| !**failed).count() as u64,
        acknowledged: acknowledged.len(),
        in_log: found.len(),
        elapsed: started.elapsed(),
        first_failure,
    }
}
