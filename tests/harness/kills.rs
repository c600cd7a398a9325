//! kill -9 of the real binary during the catch-up of a followed log
//! (`catchup_kills`, for `tests/binary/kill_catchup.rs`) and during
//! start-up (`startup_kills`, for `tests/binary/kill_startup.rs`), and the
//! checks of what each kill left behind. Both return a report instead of
//! panicking, so the tests assert on it and print its figures; a storage
//! found wrong is kept, and its path is in the failure.
//!
//! After a kill the binary is started on a copy of the storage by default
//! (`open_offline`: `hychat key`, then `hychat seed` offline until the
//! followed log reports itself open), so that the next run starts from
//! exactly what the kill left, not from what a clean start and stop
//! repaired; the start-up test checks in place now and then as well.
//! Index files are read directly (`check_index`): every line names a block
//! the writer wrote, with the writer's exact message; repeats of a seq are
//! allowed as long as they carry the same block, and unparsable lines (a
//! torn last write) no more than one per kill. The log itself is read
//! in-process from a copy whose index files are removed, so the engine
//! delivers every block the log holds (`read_logs`, `held_blocks`): every
//! indexed block must be among them.
//!
//! Kill moments come from a seed (`env::seed`) through a small
//! generator (`Rng`), so a seed replays the same moments. The moments of
//! the catch-up follow what the follower prints (`hychat seed` prints one
//! `log KEY delivered/length` line per delivered batch), not the clock.
//!
//! Every process here is started by this file and stopped by its pid: the
//! killed ones by `Victim` (SIGKILL, then reaped), the others by the
//! harness's `Background` guard. Networking is on 127.0.0.1 only: fresh
//! loopback bootstrap nodes, `--bind 127.0.0.1` on every hychat.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hychat::domain::{ChatMessage, LogKey};
use hychat::net::{NetCommand, NetConfig, NetEvent};

use super::bin::{
    free_udp_port, hychat, hychat_command, log_tail, own_key, spawn_hychat, start_bootstrap,
    stderr_of, stdout_of,
};
use super::process::Background;

/// Every hychat started here binds its socket to loopback.
const BIND: [&str; 2] = ["--bind", "127.0.0.1"];
/// Bound on a hychat seed reaching the network, or an offline one opening its logs.
const STARTUP_BOUND: Duration = Duration::from_secs(20);
/// Bound on a follower seeing the followed log's length in one run.
const SIGHT_BOUND: Duration = Duration::from_secs(20);
/// Bound on the kill moment of one run, from its start.
const RUN_BOUND: Duration = Duration::from_secs(30);
/// Bound on a catch-up that is not killed.
const CATCH_UP_BOUND: Duration = Duration::from_secs(90);
/// How long an in-process read waits for more once everything expected arrived.
const QUIET: Duration = Duration::from_millis(250);
/// What hychat's log file says when a log was not opened as it was left.
const LOST_LOG_WARNINGS: [&str; 3] = [
    "cannot reopen a cloned log",
    "cloning a stuck log afresh",
    "cannot open the log",
];

/// A small deterministic generator (xorshift), so a seed replays the same
/// kill moments.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 would never move, so it is avoided).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True once in `n` draws, on average.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// A duration in `0..max`, in microseconds.
    pub fn up_to(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.below(max.as_micros() as u64))
    }
}

// ---------------------------------------------------------------------------
// Processes

/// A hychat that is going to be killed with SIGKILL: stdout read line by
/// line on a thread, stderr collected. Dropping it kills it too.
pub struct Victim {
    name: String,
    child: Child,
    lines: Receiver<String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    pub spawned: Instant,
}

impl Victim {
    pub fn spawn(name: &str, mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let spawned = Instant::now();
        let stdout_pipe = child.stdout.take().unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stdout: Arc<Mutex<Vec<String>>> = Arc::default();
        let stderr: Arc<Mutex<String>> = Arc::default();
        let (sender, lines) = mpsc::channel();
        let seen = Arc::clone(&stdout);
        let out = thread::spawn(move || {
            for line in BufReader::new(stdout_pipe).lines().map_while(Result::ok) {
                seen.lock().unwrap().push(line.clone());
                let _ = sender.send(line);
            }
        });
        let sink = Arc::clone(&stderr);
        let err = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        Self {
            name: name.to_string(),
            child,
            lines,
            stdout,
            stderr,
            readers: vec![out, err],
            spawned,
        }
    }

    /// The next stdout line, or `None` once `until` passes or stdout closes.
    pub fn next_line(&mut self, until: Instant) -> Option<String> {
        let left = until.saturating_duration_since(Instant::now());
        self.lines.recv_timeout(left).ok()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL by pid, then reaps it and waits for its pipes to close.
    /// Returns how long after its start the signal went.
    pub fn kill(&mut self) -> Duration {
        let at = self.spawned.elapsed();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        at
    }

    /// Everything it printed.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn describe(&self) -> String {
        super::process::describe_output(&self.name, &self.stdout, &self.stderr)
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A storage's log served on a fresh loopback bootstrap node by `hychat
/// seed`. Fresh for every follower run: a killed follower stays in the
/// routing tables of the nodes it met, and every later lookup would wait
/// out the DHT's 3 s request timeout on it.
pub struct Served {
    pub port: u16,
    // Dropped in this order: the seed, then the node.
    seed: Background,
    bootstrap: Background,
    _dir: tempfile::TempDir,
}

impl Served {
    pub fn describe(&self) -> String {
        format!("{}\n{}", self.seed.describe(), self.bootstrap.describe())
    }
}

/// Serves the logs of `storage`: a bootstrap node, then `hychat seed`,
/// returned once the seed is online (and a moment later, for its announce).
pub fn serve(storage: &Path) -> Result<Served, String> {
    let dir = tempfile::tempdir().unwrap();
    let (bootstrap, port) = start_bootstrap(dir.path());
    let mut seed = spawn_hychat("writer seed", storage, port, &[BIND[0], BIND[1], "seed"]);
    if seed
        .wait_for_line(STARTUP_BOUND, |l| l.contains(" network online"))
        .is_none()
    {
        return Err(format!(
            "the writer's seed did not get online within {STARTUP_BOUND:?}\n{}\n{}",
            seed.describe(),
            log_tail(storage)
        ));
    }
    // The announce follows the bootstrap; a follower that looks the topic
    // up before it finds nobody and retries only 3 s later.
    thread::sleep(Duration::from_millis(150));
    Ok(Served {
        port,
        seed,
        bootstrap,
        _dir: dir,
    })
}

/// `serve` on a thread, for `take` later.
pub fn serve_later(storage: &Path) -> JoinHandle<Result<Served, String>> {
    let storage = storage.to_path_buf();
    thread::spawn(move || serve(&storage))
}

/// What `serve_later` served.
pub fn take(served: JoinHandle<Result<Served, String>>) -> Result<Served, String> {
    served
        .join()
        .map_err(|_| "serving the writer's log panicked".to_string())?
}

/// `hychat --nick NICK send` with `texts` on its standard input; checks it
/// reports every one appended.
pub fn send_lines(storage: &Path, nick: &str, texts: &[String]) -> Result<(), String> {
    let mut child = hychat_command(storage, free_udp_port(), &["--nick", nick, "send"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start hychat send: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    let input = texts.join("\n") + "\n";
    let writer = thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = wait_output(child, Duration::from_secs(120))?;
    let _ = writer.join();
    let stderr = stderr_of(&output);
    let expected = format!("appended {} message(s)", texts.len());
    if output.status.success() && stderr.contains(&expected) {
        Ok(())
    } else {
        Err(format!(
            "hychat send of {} lines: {:?}, expected {expected:?}\nstderr: {stderr}\n{}",
            texts.len(),
            output.status,
            log_tail(storage)
        ))
    }
}

/// Waits for a child's output for at most `bound`, killing it past that.
fn wait_output(mut child: Child, bound: Duration) -> Result<std::process::Output, String> {
    let deadline = Instant::now() + bound;
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("a hychat command did not finish within {bound:?}"));
            }
        }
    };
    Ok(std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// `hychat follow KEY` (local only).
pub fn follow(storage: &Path, key: LogKey) -> Result<(), String> {
    let output = hychat(storage, free_udp_port())
        .args(["follow", &key.to_hex()])
        .output()
        .map_err(|e| format!("cannot run hychat follow: {e}"))?;
    if output.status.success() && stdout_of(&output).contains(&key.to_hex()) {
        Ok(())
    } else {
        Err(format!(
            "hychat follow {key}: {:?}\nstdout: {}\nstderr: {}",
            output.status,
            stdout_of(&output),
            stderr_of(&output)
        ))
    }
}

/// `delivered/length` from a `hychat seed` line about the log `short`
/// (`HH:MM:SS log SHORT D/L`).
pub fn progress_of(line: &str, short: &str) -> Option<(u64, u64)> {
    let mut words = line.split_whitespace();
    let _clock = words.next()?;
    if words.next()? != "log" || words.next()? != short {
        return None;
    }
    let (delivered, length) = words.next()?.split_once('/')?;
    Some((delivered.parse().ok()?, length.parse().ok()?))
}

/// Lines of a `hychat seed` transcript that report an error.
fn error_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.split_whitespace().nth(1) == Some("error"))
        .cloned()
        .collect()
}

/// The size of a storage's log file.
fn log_size(storage: &Path) -> u64 {
    std::fs::metadata(storage.join("hychat.log")).map_or(0, |m| m.len())
}

/// What a storage's log file gained past `offset`.
fn log_since(storage: &Path, offset: u64) -> String {
    let bytes = std::fs::read(storage.join("hychat.log")).unwrap_or_default();
    String::from_utf8_lossy(bytes.get(offset as usize..).unwrap_or_default()).into_owned()
}

/// The warnings in a storage's log file saying a log was not opened as it
/// was left (cloned afresh, or not opened at all).
pub fn lost_log_warnings(storage: &Path) -> Vec<String> {
    std::fs::read_to_string(storage.join("hychat.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| LOST_LOG_WARNINGS.iter().any(|w| l.contains(w)))
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// Storage layout and copies

/// The folder of a followed log in a storage (`src/net/store.rs`).
pub fn followed_dir(storage: &Path, key: LogKey) -> PathBuf {
    storage.join("feeds").join(key.to_hex())
}

/// The folder of the own log in a storage.
pub fn own_dir(storage: &Path) -> PathBuf {
    storage.join("own")
}

/// The message index in a log's folder (`src/net/log/index.rs`).
pub fn index_path(log_dir: &Path) -> PathBuf {
    log_dir.join("index.jsonl")
}

/// Copies a storage, without its log file, into a new temp directory;
/// without the message indexes too when `without_indexes`.
pub fn copy_storage(storage: &Path, without_indexes: bool) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path, without_indexes: bool) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            let name = entry.file_name();
            let target = to.join(&name);
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                copy(&entry.path(), &target, without_indexes);
            } else if kind.is_file()
                && name != "hychat.log"
                && !(without_indexes && name == "index.jsonl")
            {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(storage, dir.path(), without_indexes);
    dir
}

// ---------------------------------------------------------------------------
// Checks

/// What one index file holds.
#[derive(Debug, Default, Clone)]
pub struct IndexFacts {
    /// Distinct seqs indexed.
    pub seqs: BTreeSet<u64>,
    /// Lines that name a block (repeats included).
    pub lines: usize,
    /// Lines naming a seq indexed before, with the same block.
    pub repeats: usize,
    /// Lines that do not parse: torn writes.
    pub torn: usize,
}

/// Reads the index file at `path` and checks every line against what the
/// writer wrote (`expected[seq]`). A missing file is an empty index.
pub fn check_index(path: &Path, expected: &[ChatMessage]) -> Result<IndexFacts, String> {
    let mut facts = IndexFacts::default();
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(facts),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            facts.torn += 1;
            continue;
        };
        let Some(seq) = value.get("seq").and_then(|s| s.as_u64()) else {
            return Err(format!(
                "{} line {number} has no seq: {line}",
                path.display()
            ));
        };
        let Some(wanted) = expected.get(seq as usize) else {
            return Err(format!(
                "{} line {number} indexes seq {seq}, but the writer wrote {} blocks: {line}",
                path.display(),
                expected.len()
            ));
        };
        let Some(block) = value.get("block") else {
            return Err(format!(
                "{} line {number} indexes seq {seq} as undecodable, but the writer wrote {:?}",
                path.display(),
                wanted.text
            ));
        };
        match ChatMessage::decode(block.to_string().as_bytes()) {
            Ok(message) if message == *wanted => {}
            Ok(message) => {
                return Err(format!(
                    "{} line {number} holds another block for seq {seq} than the writer wrote: \
                     {message:?} instead of {wanted:?}",
                    path.display()
                ))
            }
            Err(e) => {
                return Err(format!(
                "{} line {number} holds a block for seq {seq} that does not decode ({e}): {line}",
                path.display()
            ))
            }
        }
        facts.lines += 1;
        if !facts.seqs.insert(seq) {
            facts.repeats += 1;
        }
    }
    Ok(facts)
}

/// The first seqs in `0..n` missing from `seqs`, for messages.
fn missing(seqs: &BTreeSet<u64>, n: usize) -> (usize, Vec<u64>) {
    let all: Vec<u64> = (0..n as u64).filter(|s| !seqs.contains(s)).collect();
    let count = all.len();
    (count, all.into_iter().take(10).collect())
}

/// What one log delivered when read in-process.
pub type Delivered = BTreeMap<u64, ChatMessage>;

/// Reads logs of `storage` in-process, with the networking off, as the
/// engine delivers them at start: `wanted` lists each log and how many
/// blocks it must deliver; the read ends once they have and nothing more
/// comes for a moment (or after a bound). A seq delivered twice must carry
/// the same message. With `from_the_logs`, the read is of a copy without
/// the index files, so each log delivers the blocks it holds.
pub fn read_logs(
    storage: &Path,
    wanted: &[(LogKey, usize)],
    from_the_logs: bool,
) -> Result<HashMap<LogKey, Delivered>, String> {
    read(storage, wanted, from_the_logs, false)
}

/// The blocks a followed log of `storage` holds, as its engine delivers
/// them from a copy without the index: its first progress report comes
/// once the blocks held are delivered, and then nothing more for a moment.
pub fn held_blocks(storage: &Path, key: LogKey) -> Result<Delivered, String> {
    Ok(read(storage, &[(key, 0)], true, true)?
        .remove(&key)
        .unwrap_or_default())
}

/// `read_logs`; with `reported`, the read waits for each log's progress
/// report as well, and for a shorter moment after it.
fn read(
    storage: &Path,
    wanted: &[(LogKey, usize)],
    from_the_logs: bool,
    reported: bool,
) -> Result<HashMap<LogKey, Delivered>, String> {
    let quiet = if reported {
        Duration::from_millis(150)
    } else {
        QUIET
    };
    let copy = from_the_logs.then(|| copy_storage(storage, true));
    let root = copy.as_ref().map_or(storage, |c| c.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut config = NetConfig::new(root.to_path_buf());
        config.networking = false;
        config.bootstrap = vec![];
        config.host_local_bootstrap = false;
        let (handle, mut events) = hychat::net::spawn(config)
            .await
            .map_err(|e| format!("the storage does not open: {e}"))?;
        let mut found: HashMap<LogKey, Delivered> = wanted
            .iter()
            .map(|(key, _)| (*key, Delivered::new()))
            .collect();
        let mut trouble = None;
        let mut reports: BTreeSet<LogKey> = BTreeSet::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let complete = wanted
                .iter()
                .all(|(key, n)| found[key].len() >= *n && (!reported || reports.contains(key)));
            let wait = if complete {
                quiet
            } else {
                deadline.saturating_duration_since(tokio::time::Instant::now())
            };
            match tokio::time::timeout(wait, events.recv()).await {
                Ok(Some(NetEvent::Appended { log, seq, message })) => {
                    if let Some(delivered) = found.get_mut(&log) {
                        if let Some(before) = delivered.insert(seq.0, message.clone()) {
                            if before != message {
                                trouble.get_or_insert(format!(
                                    "seq {} of {} was delivered twice with different messages: \
                                     {before:?} and {message:?}",
                                    seq.0,
                                    log.short()
                                ));
                            }
                        }
                    }
                }
                Ok(Some(NetEvent::LogProgress { log, .. })) => {
                    reports.insert(log);
                }
                Ok(Some(NetEvent::Error(message))) => {
                    trouble.get_or_insert(format!("the engine reported: {message}"));
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        handle.send(NetCommand::Shutdown).await;
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        }
        match trouble {
            Some(trouble) => Err(trouble),
            None => Ok(found),
        }
    })
}

/// Checks that `delivered` is exactly `expected`, block for block.
pub fn same_blocks(delivered: &Delivered, expected: &[ChatMessage]) -> Result<(), String> {
    let seqs: BTreeSet<u64> = delivered.keys().copied().collect();
    let (count, first) = missing(&seqs, expected.len());
    if count > 0 {
        return Err(format!(
            "{count} of {} blocks are missing, the first {first:?}",
            expected.len()
        ));
    }
    if let Some(extra) = seqs.iter().find(|s| **s >= expected.len() as u64) {
        return Err(format!(
            "seq {extra} is delivered, but the writer wrote {} blocks",
            expected.len()
        ));
    }
    for (seq, message) in delivered {
        if *message != expected[*seq as usize] {
            return Err(format!(
                "seq {seq} is {message:?}, but the writer wrote {:?}",
                expected[*seq as usize]
            ));
        }
    }
    Ok(())
}

/// What an offline start of a storage showed.
#[derive(Debug, Clone, Copy)]
pub struct Opened {
    /// The followed log's delivered count at its first report.
    pub delivered: u64,
    /// The followed log's length at its first report.
    pub length: u64,
}

/// Starts the binary on `storage`, offline, as a user would after a crash:
/// `hychat key` must print `own`, then `hychat seed` (bootstrap on a closed
/// loopback port) must report the followed log opened, print no error,
/// and stop cleanly on SIGTERM; its log file must not say that a log was
/// cloned afresh or not opened.
pub fn open_offline(storage: &Path, own: LogKey, followed: LogKey) -> Result<Opened, String> {
    let closed = free_udp_port();
    let output = hychat(storage, closed)
        .arg("key")
        .output()
        .map_err(|e| format!("cannot run hychat key: {e}"))?;
    let printed = stdout_of(&output);
    if !output.status.success() || printed.trim_end() != own.to_hex() {
        return Err(format!(
            "hychat key: {:?}, printed {printed:?} instead of {own}\nstderr: {}\n{}",
            output.status,
            stderr_of(&output),
            log_tail(storage)
        ));
    }
    let mut seed = spawn_hychat("offline seed", storage, closed, &[BIND[0], BIND[1], "seed"]);
    let short = followed.short();
    let deadline = Instant::now() + STARTUP_BOUND;
    let mut opened = None;
    while let Some(line) = seed.next_line(deadline.saturating_duration_since(Instant::now())) {
        if let Some((delivered, length)) = progress_of(&line, &short) {
            opened = Some(Opened { delivered, length });
            break;
        }
        if line.split_whitespace().nth(1) == Some("error") {
            break;
        }
    }
    let status = seed.terminate();
    let transcript = seed.describe();
    let errors = error_lines(&transcript.lines().map(str::to_string).collect::<Vec<_>>());
    let warnings = lost_log_warnings(storage);
    let Some(opened) = opened else {
        return Err(format!(
            "hychat seed did not report the followed log {short} opened within {STARTUP_BOUND:?}\n{transcript}\n{}",
            log_tail(storage)
        ));
    };
    if !errors.is_empty() || !warnings.is_empty() {
        return Err(format!(
            "hychat seed opened the storage with errors or a lost log: {errors:?} {warnings:?}\n{transcript}"
        ));
    }
    if !status.is_some_and(|s| s.success()) {
        return Err(format!(
            "the offline hychat seed did not stop cleanly on SIGTERM: {status:?}\n{transcript}\n{}",
            log_tail(storage)
        ));
    }
    Ok(opened)
}

/// The messages a log delivered, in seq order, when it delivered exactly
/// `0..n`; otherwise why not.
fn in_order(delivered: &Delivered, n: usize) -> Result<Vec<ChatMessage>, String> {
    let seqs: BTreeSet<u64> = delivered.keys().copied().collect();
    let (count, first) = missing(&seqs, n);
    if count > 0 || delivered.len() != n {
        return Err(format!(
            "{} blocks delivered instead of {n}; {count} missing, the first {first:?}",
            delivered.len()
        ));
    }
    Ok(delivered.values().cloned().collect())
}

/// Writes `texts` into a new storage with `hychat send` and reads its own
/// log back in-process: the storage, its key and the messages by seq, each
/// checked to carry its text.
fn new_writer(
    nick: &str,
    texts: &[String],
) -> Result<(tempfile::TempDir, LogKey, Vec<ChatMessage>), String> {
    let dir = tempfile::tempdir().unwrap();
    send_lines(dir.path(), nick, texts)?;
    let key: LogKey = own_key(dir.path(), free_udp_port())
        .parse()
        .map_err(|e| format!("hychat key printed no key: {e:?}"))?;
    let read = read_logs(dir.path(), &[(key, texts.len())], false)?;
    let messages = in_order(&read[&key], texts.len())
        .map_err(|e| format!("the writer's own log as read back: {e}"))?;
    for (seq, (message, text)) in messages.iter().zip(texts).enumerate() {
        if message.text != *text || message.nickname != nick {
            return Err(format!(
                "the writer's block {seq} is {message:?}, not {nick}'s {text:?}"
            ));
        }
    }
    Ok((dir, key, messages))
}

// ---------------------------------------------------------------------------
// kill -9 during the catch-up of a followed log

/// What `catchup_kills` is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct CatchupPlan {
    /// Kills that must fall inside the catch-up.
    pub kills: u64,
    /// Blocks in the writer's log.
    pub messages: usize,
    /// Kills into one follower storage at most, before its catch-up is let finish.
    pub per_storage: u64,
    pub seed: u64,
    /// Print one line per run.
    pub print_runs: bool,
}

impl CatchupPlan {
    /// Kills made at most, inside a catch-up or not.
    fn max_kills(&self) -> u64 {
        self.kills * 3 + 10
    }
}

/// What `catchup_kills` found.
#[derive(Debug, Default)]
pub struct CatchupReport {
    pub seed: u64,
    /// Kills made.
    pub kills: u64,
    /// Kills before the killed follower had reported its catch-up complete.
    pub inside: u64,
    /// Kills by moment: at start-up, after the log's length was seen, after arrivals.
    pub by_moment: [u64; 3],
    /// Follower storages, each killed into several times and then let finish.
    pub storages: u64,
    /// Blocks in the writer's log.
    pub messages: usize,
    /// Index lines and delivered blocks compared with the writer's.
    pub checked: usize,
    /// Kills that left blocks in the log that were not indexed yet.
    pub ahead: u64,
    /// Torn index lines seen at the end of each storage, summed.
    pub torn: usize,
    /// Repeated index lines (same seq, same block) at the end of each storage, summed.
    pub repeats: usize,
    pub elapsed: Duration,
    /// The first thing found wrong, naming its run and the seed.
    pub first_failure: Option<String>,
}

/// When a follower run is killed.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// This long after the process started (start-up, the connection).
    Start(Duration),
    /// This long after the run first reported the log's length.
    Sight(Duration),
    /// This long after the run's n-th report of more blocks delivered.
    Arrival(u64, Duration),
}

impl Moment {
    /// The moments fit a catch-up of a few hundred blocks on loopback,
    /// which now takes tens of milliseconds from the length's sight (a
    /// full request window to every peer): later kills would find it done.
    fn draw(rng: &mut Rng) -> Self {
        match rng.below(10) {
            0 | 1 => Moment::Start(rng.up_to(Duration::from_millis(150))),
            2..=4 => Moment::Sight(rng.up_to(Duration::from_millis(60))),
            _ => {
                let after = if rng.one_in(3) {
                    Duration::from_millis(40)
                } else {
                    Duration::from_millis(5)
                };
                Moment::Arrival(1 + rng.below(8), rng.up_to(after))
            }
        }
    }

    fn slot(&self) -> usize {
        match self {
            Moment::Start(_) => 0,
            Moment::Sight(_) => 1,
            Moment::Arrival(..) => 2,
        }
    }

    fn describe(&self) -> String {
        match self {
            Moment::Start(after) => format!("{after:?} after start"),
            Moment::Sight(after) => format!("{after:?} after the log's length was seen"),
            Moment::Arrival(n, after) => format!("{after:?} after arrival report {n}"),
        }
    }
}

/// How a killed follower run went.
struct Killed {
    /// When the signal went, after the start.
    at: Duration,
    /// The last report of the followed log before the kill.
    last: Option<(u64, u64)>,
    /// Whether a report before the kill said the catch-up was complete.
    complete: bool,
    /// What happened to the moment, when it could not be kept.
    note: &'static str,
}

/// Reads a follower's reports until `moment`, then kills it.
fn kill_at(victim: &mut Victim, moment: Moment, short: &str) -> Result<Killed, String> {
    let spawned = victim.spawned;
    let mut sighted: Option<Instant> = None;
    let mut arrivals = 0;
    let mut previous: Option<u64> = None;
    let mut complete = false;
    let mut note = "";
    let mut deadline = match moment {
        Moment::Start(after) => spawned + after,
        Moment::Sight(_) | Moment::Arrival(..) => spawned + SIGHT_BOUND,
    };
    loop {
        let Some(line) = victim.next_line(deadline) else {
            if Instant::now() < deadline {
                // Its output closed early: it is leaving by itself.
                let closed = Instant::now();
                while victim.is_running() && closed.elapsed() < Duration::from_secs(2) {
                    thread::sleep(Duration::from_millis(10));
                }
                victim.kill();
                return Err(format!(
                    "the follower closed its output and exited by itself before its kill\n{}",
                    victim.describe()
                ));
            }
            if sighted.is_none() && !matches!(moment, Moment::Start(_)) {
                victim.kill();
                return Err(format!(
                    "the follower did not see the log's length within {SIGHT_BOUND:?} of its start\n{}",
                    victim.describe()
                ));
            }
            if matches!(moment, Moment::Arrival(..)) {
                note = " (fewer arrivals than drawn)";
            }
            break;
        };
        let Some((delivered, length)) = progress_of(&line, short) else {
            continue;
        };
        if length > 0 && sighted.is_none() {
            sighted = Some(Instant::now());
            match moment {
                Moment::Start(_) => {}
                Moment::Sight(after) => deadline = Instant::now() + after,
                Moment::Arrival(..) => deadline = spawned + RUN_BOUND,
            }
        }
        if previous.is_some_and(|p| delivered > p) {
            arrivals += 1;
        }
        previous = Some(delivered);
        complete |= length > 0 && delivered >= length;
        if let Moment::Arrival(n, after) = moment {
            if arrivals >= n || complete {
                if arrivals < n {
                    note = " (the catch-up ended first)";
                }
                thread::sleep(after);
                break;
            }
        }
        // Past the end of the catch-up, the moment is its end.
        if matches!(moment, Moment::Sight(_)) && complete {
            note = " (at the end of the catch-up, which came first)";
            break;
        }
    }
    let at = victim.kill();
    // Every report printed before the signal counts, read or not.
    let lines = victim.stdout_lines();
    let reports: Vec<(u64, u64)> = lines.iter().filter_map(|l| progress_of(l, short)).collect();
    let complete = reports.iter().any(|(d, l)| *l > 0 && d >= l);
    Ok(Killed {
        at,
        last: reports.last().copied(),
        complete,
        note,
    })
}

/// Kills `hychat seed` of a follower at random moments of its catch-up of
/// a writer's log, many times into each follower storage, checking after
/// every kill what it left (`check_index`, `open_offline` on a copy), then
/// lets the catch-up finish and checks the index and the log itself hold
/// every block the writer wrote. Runs until `plan.kills` kills fell inside
/// a catch-up (within a bound on all kills). Panics only when the writer
/// cannot be set up.
pub fn catchup_kills(plan: CatchupPlan) -> CatchupReport {
    let started = Instant::now();
    let mut report = CatchupReport {
        seed: plan.seed,
        messages: plan.messages,
        ..CatchupReport::default()
    };
    let texts: Vec<String> = (0..plan.messages)
        .map(|i| format!("catch-up message {i} of {}", plan.messages))
        .collect();
    let (writer, key, expected) =
        new_writer("writer", &texts).unwrap_or_else(|e| panic!("cannot set up the writer: {e}"));
    while report.first_failure.is_none()
        && report.inside < plan.kills
        && report.kills < plan.max_kills()
    {
        report.storages += 1;
        // A storage found wrong is kept for a look.
        let dir = tempfile::tempdir().unwrap();
        let run = catchup_storage(
            dir.path(),
            &plan,
            &mut report,
            writer.path(),
            key,
            &expected,
        );
        if let Err(failure) = run {
            report.first_failure = Some(format!(
                "follower storage {} of seed {}: {failure}\n(the follower's storage is kept in {})",
                report.storages,
                plan.seed,
                dir.keep().display()
            ));
        }
    }
    if report.first_failure.is_none() && report.inside < plan.kills {
        report.first_failure = Some(format!(
            "seed {}: only {} of {} kills fell inside a catch-up ({} asked for)",
            plan.seed, report.inside, report.kills, plan.kills
        ));
    }
    report.elapsed = started.elapsed();
    report
}

/// One follower storage and what its followed log must hold.
struct Follower<'a> {
    dir: &'a Path,
    /// The follower's own key, which `hychat key` must print.
    own: LogKey,
    /// The followed log, and every block its writer wrote.
    key: LogKey,
    expected: &'a [ChatMessage],
    index: PathBuf,
}

/// What the checks after a kill found.
struct AfterKill {
    facts: IndexFacts,
    held: usize,
    opened: Opened,
}

/// One follower storage: kills until its catch-up completes in a run (or
/// `plan.per_storage` kills), then the catch-up let finish, and the checks.
fn catchup_storage(
    dir: &Path,
    plan: &CatchupPlan,
    report: &mut CatchupReport,
    writer: &Path,
    key: LogKey,
    expected: &[ChatMessage],
) -> Result<(), String> {
    let mut rng = Rng::new(plan.seed ^ report.storages.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let short = key.short();
    follow(dir, key)?;
    let follower = Follower {
        dir,
        own: own_key(dir, free_udp_port()).parse().unwrap(),
        key,
        expected,
        index: index_path(&followed_dir(dir, key)),
    };
    // What the last check found, which the next must not fall below.
    let mut before = (0, 0);
    let mut kills_here = 0;
    // The writer is served afresh for every run (see `Served`); the next
    // one comes up while the last run is checked.
    let mut next = serve_later(writer);
    while kills_here < plan.per_storage
        && report.inside < plan.kills
        && report.kills < plan.max_kills()
    {
        let run = kills_here + 1;
        let moment = Moment::draw(&mut rng);
        let served = take(next)?;
        let mut victim = Victim::spawn(
            "follower seed",
            hychat_command(dir, served.port, &[BIND[0], BIND[1], "seed"]),
        );
        let killed = kill_at(&mut victim, moment, &short)
            .map_err(|e| format!("run {run}, to be killed {}: {e}", moment.describe()))?;
        drop(served);
        next = serve_later(writer);
        kills_here += 1;
        report.kills += 1;
        report.by_moment[moment.slot()] += 1;
        report.inside += u64::from(!killed.complete);
        let what = format!(
            "run {run}, killed {}{} ({:?} after start, last report {:?})",
            moment.describe(),
            killed.note,
            killed.at,
            killed.last
        );
        let errors = error_lines(&victim.stdout_lines());
        if !errors.is_empty() {
            return Err(format!("{what}: the follower reported errors: {errors:?}"));
        }
        let found =
            after_kill(&follower, kills_here, &mut before).map_err(|e| format!("{what}: {e}"))?;
        report.checked += found.facts.lines + found.held;
        report.ahead += u64::from(found.held > found.facts.seqs.len());
        if plan.print_runs {
            println!(
                "storage {} {what}: {} seqs indexed ({} torn, {} repeated lines), {} blocks held; \
                 reopened offline at {}/{}",
                report.storages,
                found.facts.seqs.len(),
                found.facts.torn,
                found.facts.repeats,
                found.held,
                found.opened.delivered,
                found.opened.length
            );
        }
        if killed.complete {
            break;
        }
    }
    let finished = Instant::now();
    let facts = finish_catchup(&follower, take(next)?, report)
        .map_err(|e| format!("at the end, after {kills_here} kills: {e}"))?;
    if plan.print_runs {
        println!(
            "storage {}: caught up in {:.1} s after {kills_here} kills; {} index lines ({} torn, {} repeated), \
             all {} blocks in the index and in the log",
            report.storages,
            finished.elapsed().as_secs_f64(),
            facts.lines,
            facts.torn,
            facts.repeats,
            expected.len()
        );
    }
    Ok(())
}

/// The checks after a kill of a follower. `before` holds the seqs indexed
/// and the log's length the last check found, and gets this one's.
fn after_kill(
    follower: &Follower,
    kills: u64,
    before: &mut (usize, u64),
) -> Result<AfterKill, String> {
    // The index holds only the writer's blocks, keeps what it held, and
    // tears at most one line per kill.
    let facts = check_index(&follower.index, follower.expected)?;
    if facts.seqs.len() < before.0 {
        return Err(format!(
            "the index lost seqs: {} indexed, {} before",
            facts.seqs.len(),
            before.0
        ));
    }
    if facts.torn as u64 > kills {
        return Err(format!(
            "{} torn index lines after {kills} kills",
            facts.torn
        ));
    }
    // The storage opens, offline, from a copy of exactly what the kill
    // left; the log keeps its length, and nothing is indexed beyond it.
    // Meanwhile the log itself is read, from another copy.
    let copy = copy_storage(follower.dir, false);
    let (dir, key) = (follower.dir.to_path_buf(), follower.key);
    let reading = thread::spawn(move || held_blocks(&dir, key));
    let opened = open_offline(copy.path(), follower.own, follower.key)
        .map_err(|e| format!("after the kill the storage does not open as it was: {e}"))?;
    if opened.length < before.1 {
        return Err(format!(
            "the followed log opens with length {}, {} before the kill",
            opened.length, before.1
        ));
    }
    if let Some(highest) = facts.seqs.last().filter(|h| **h >= opened.length) {
        return Err(format!(
            "the index and the log disagree: seq {highest} is indexed, the log opens with length {}",
            opened.length
        ));
    }
    // Every indexed block is in the log itself, as the writer wrote it.
    let held = reading
        .join()
        .map_err(|_| "reading the log itself panicked".to_string())?
        .map_err(|e| format!("reading the log itself: {e}"))?;
    if let Some(seq) = facts.seqs.iter().find(|s| !held.contains_key(s)) {
        return Err(format!(
            "the index and the log disagree: seq {seq} is indexed, but the log does not hold it \
             ({} indexed, {} held)",
            facts.seqs.len(),
            held.len()
        ));
    }
    if let Some((seq, message)) = held
        .iter()
        .find(|(seq, message)| follower.expected.get(**seq as usize) != Some(*message))
    {
        return Err(format!(
            "the log holds another block for seq {seq} than the writer wrote: {message:?}"
        ));
    }
    *before = (facts.seqs.len(), opened.length);
    Ok(AfterKill {
        facts,
        held: held.len(),
        opened,
    })
}

/// Lets a follower finish its catch-up from `served`, stops it cleanly, and
/// checks every block is in its index once and in the log itself.
fn finish_catchup(
    follower: &Follower,
    served: Served,
    report: &mut CatchupReport,
) -> Result<IndexFacts, String> {
    let n = follower.expected.len();
    let short = follower.key.short();
    let mut seed = spawn_hychat(
        "follower seed, not killed",
        follower.dir,
        served.port,
        &[BIND[0], BIND[1], "seed"],
    );
    let done = seed.wait_for_line(CATCH_UP_BOUND, |l| {
        progress_of(l, &short) == Some((n as u64, n as u64))
    });
    let status = seed.terminate();
    let transcript = seed.describe();
    if done.is_none() {
        return Err(format!(
            "the catch-up did not finish within {CATCH_UP_BOUND:?}\n{transcript}\n{}\n{}",
            served.describe(),
            log_tail(follower.dir)
        ));
    }
    drop(served);
    if !status.is_some_and(|s| s.success()) {
        return Err(format!(
            "the follower's seed did not stop cleanly on SIGTERM: {status:?}\n{transcript}"
        ));
    }
    let errors = error_lines(&transcript.lines().map(str::to_string).collect::<Vec<_>>());
    let warnings = lost_log_warnings(follower.dir);
    if !errors.is_empty() || !warnings.is_empty() {
        return Err(format!(
            "the follower reported errors or a lost log: {errors:?} {warnings:?}"
        ));
    }
    let facts = check_index(&follower.index, follower.expected)?;
    let (count, first) = missing(&facts.seqs, n);
    if count > 0 {
        return Err(format!(
            "{count} of {n} blocks are not indexed, the first {first:?}"
        ));
    }
    report.checked += facts.lines;
    report.torn += facts.torn;
    report.repeats += facts.repeats;
    for (from_the_log, what) in [
        (false, "as delivered at start"),
        (true, "in the log itself"),
    ] {
        let read = read_logs(follower.dir, &[(follower.key, n)], from_the_log)
            .map_err(|e| format!("reading the followed log {what}: {e}"))?;
        same_blocks(&read[&follower.key], follower.expected)
            .map_err(|e| format!("the followed log {what}: {e}"))?;
        report.checked += read[&follower.key].len();
    }
    Ok(facts)
}

// ---------------------------------------------------------------------------
// kill -9 during start-up

/// What `startup_kills` is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct StartupPlan {
    pub kills: u64,
    /// Messages in the storage's own log.
    pub own_messages: usize,
    /// Messages in the followed log.
    pub followed_messages: usize,
    /// Kill moments fall in this much of the start.
    pub window: Duration,
    pub seed: u64,
    /// Print one line per run.
    pub print_runs: bool,
}

/// What `startup_kills` found.
#[derive(Debug, Default)]
pub struct StartupReport {
    pub seed: u64,
    /// Kills made.
    pub kills: u64,
    /// Of them, kills of `hychat tail` (the rest are of `hychat seed`).
    pub tails: u64,
    /// Checks made in place (the rest on a copy of the storage).
    pub in_place: u64,
    /// Kills by how far the start had got: before the own log was open
    /// (reading the journal, rebuilding its copy), after it, and after the
    /// followed log reported itself open (`hychat seed` only).
    pub by_stage: [u64; 3],
    /// Of the kills before the own log was open, those of a start that
    /// found no clean mark, so it was rebuilding the own log's copy from
    /// its journal.
    pub during_rebuild: u64,
    /// Messages in the own log and in the followed log.
    pub own_messages: usize,
    pub followed_messages: usize,
    /// Index lines and delivered blocks compared with what was written.
    pub checked: usize,
    /// Torn and repeated index lines at the end, in both logs.
    pub torn: usize,
    pub repeats: usize,
    pub elapsed: Duration,
    /// The first thing found wrong, naming its run and the seed.
    pub first_failure: Option<String>,
}

/// Builds a storage with an own log of `plan.own_messages` and a followed
/// log of `plan.followed_messages` (downloaded from its writer's seed and
/// closed cleanly), then kills `hychat seed` or `hychat tail KEY` at a
/// random moment of the first `plan.window` of its start, `plan.kills`
/// times into that storage. After every kill, `open_offline` on a copy (or,
/// one time in three, in place): `hychat key` prints the same key, the
/// followed log opens whole; both index files still hold every block, each
/// the one written. At the end both logs deliver every message, as the
/// engine does at start and from the logs themselves. Panics only when the
/// storage cannot be built.
pub fn startup_kills(plan: StartupPlan) -> StartupReport {
    let started = Instant::now();
    let mut report = StartupReport {
        seed: plan.seed,
        own_messages: plan.own_messages,
        followed_messages: plan.followed_messages,
        ..StartupReport::default()
    };
    let built =
        build_startup_storage(&plan).unwrap_or_else(|e| panic!("cannot build the storage: {e}"));
    if let Err(failure) = startup_runs(&plan, &mut report, &built) {
        report.first_failure = Some(format!(
            "seed {}: {failure}\n(the storage is kept in {})",
            plan.seed,
            built.dir.keep().display()
        ));
    }
    report.elapsed = started.elapsed();
    report
}

/// The storage of the start-up kills, with what it must hold.
struct Built {
    _writer: tempfile::TempDir,
    dir: tempfile::TempDir,
    own: LogKey,
    own_messages: Vec<ChatMessage>,
    followed: LogKey,
    followed_messages: Vec<ChatMessage>,
}

fn build_startup_storage(plan: &StartupPlan) -> Result<Built, String> {
    let texts: Vec<String> = (0..plan.followed_messages)
        .map(|i| format!("followed message {i} of {}", plan.followed_messages))
        .collect();
    let (writer, followed, followed_messages) = new_writer("writer", &texts)?;
    let n = plan.followed_messages as u64;
    let texts: Vec<String> = (0..plan.own_messages)
        .map(|i| format!("own message {i} of {}", plan.own_messages))
        .collect();
    let (dir, own, own_messages) = new_writer("subject", &texts)?;
    follow(dir.path(), followed)?;
    let served = serve(writer.path())?;
    let mut seed = spawn_hychat(
        "seed catching up",
        dir.path(),
        served.port,
        &[BIND[0], BIND[1], "seed"],
    );
    let done = seed.wait_for_line(CATCH_UP_BOUND, |l| {
        progress_of(l, &followed.short()) == Some((n, n))
    });
    let status = seed.terminate();
    if done.is_none() || !status.is_some_and(|s| s.success()) {
        return Err(format!(
            "the followed log was not downloaded within {CATCH_UP_BOUND:?} and closed cleanly ({status:?})\n{}\n{}",
            seed.describe(),
            served.describe()
        ));
    }
    drop(served);
    let read = read_logs(dir.path(), &[(followed, plan.followed_messages)], false)?;
    same_blocks(&read[&followed], &followed_messages)
        .map_err(|e| format!("the followed log as downloaded: {e}"))?;
    Ok(Built {
        _writer: writer,
        dir,
        own,
        own_messages,
        followed,
        followed_messages,
    })
}

/// Each index file of the start-up storage, what it must hold, and its name.
type Indexes<'a> = [(PathBuf, &'a Vec<ChatMessage>, &'static str); 2];

/// How far a killed start had got: 0 before the own log was open, 1 with
/// it open, 2 with the followed log reported open (`hychat seed` only).
/// `logged` is what the log file gained meanwhile; it is written from a
/// buffer a kill may lose, and `hychat seed`'s first line says the same
/// sooner.
fn stage_reached(victim: &Victim, logged: &str, followed: LogKey) -> usize {
    let printed = victim.stdout_lines();
    let own_open = logged.contains("own log opened")
        || logged.contains("own log rebuilt")
        || printed
            .iter()
            .any(|l| l.split_whitespace().nth(1) == Some("own"));
    let followed_open = printed
        .iter()
        .any(|l| progress_of(l, &followed.short()).is_some());
    match (own_open, followed_open) {
        (_, true) => 2,
        (true, false) => 1,
        (false, false) => 0,
    }
}

/// The checks after a start-up kill, the `kills`-th: both indexes keep
/// every block, each the one written, and tear at most one line per kill;
/// the storage (a copy of it unless `in_place`) opens with the same key
/// and the followed log whole. Returns the index figures for the run line.
fn after_startup_kill(
    built: &Built,
    indexes: &Indexes,
    kills: u64,
    in_place: bool,
    report: &mut StartupReport,
) -> Result<Vec<String>, String> {
    let storage = built.dir.path();
    let mut figures = Vec::new();
    for (path, expected, which) in indexes {
        let facts =
            check_index(path, expected).map_err(|e| format!("the {which} log's index: {e}"))?;
        let (count, first) = missing(&facts.seqs, expected.len());
        if count > 0 {
            return Err(format!(
                "the {which} log's index lost {count} of {} blocks, the first {first:?}",
                expected.len()
            ));
        }
        if facts.torn as u64 > kills {
            return Err(format!(
                "the {which} log's index has {} torn lines after {kills} kills",
                facts.torn
            ));
        }
        report.checked += facts.lines;
        figures.push(format!("{which} index {} lines", facts.lines + facts.torn));
    }
    let copy = (!in_place).then(|| copy_storage(storage, false));
    let target = copy.as_ref().map_or(storage, |c| c.path());
    let opened = open_offline(target, built.own, built.followed).map_err(|e| {
        format!(
            "the storage does not open{}: {e}",
            if in_place { "" } else { " (a copy)" }
        )
    })?;
    let n = built.followed_messages.len() as u64;
    if (opened.delivered, opened.length) != (n, n) {
        return Err(format!(
            "the followed log opens at {}/{}, not {n}/{n}",
            opened.delivered, opened.length
        ));
    }
    Ok(figures)
}

/// The kills of `startup_kills` and the checks after each, then at the end.
fn startup_runs(
    plan: &StartupPlan,
    report: &mut StartupReport,
    built: &Built,
) -> Result<(), String> {
    let mut rng = Rng::new(plan.seed);
    let storage = built.dir.path();
    let indexes: Indexes = [
        (index_path(&own_dir(storage)), &built.own_messages, "own"),
        (
            index_path(&followed_dir(storage, built.followed)),
            &built.followed_messages,
            "followed",
        ),
    ];
    let node_dir = tempfile::tempdir().unwrap();
    let (_node, port) = start_bootstrap(node_dir.path());
    let followed_hex = built.followed.to_hex();
    for run in 1..=plan.kills {
        let tail = rng.one_in(3);
        let args: Vec<&str> = if tail {
            vec![BIND[0], BIND[1], "tail", &followed_hex, "--json"]
        } else {
            vec![BIND[0], BIND[1], "seed"]
        };
        let name = if tail { "hychat tail" } else { "hychat seed" };
        let moment = rng.up_to(plan.window);
        let in_place = rng.one_in(3);
        let log_before = log_size(storage);
        // Without the clean mark of a clean close (`src/net/log/own.rs`),
        // the start rebuilds the own log's copy from its journal.
        let unclean = !own_dir(storage).join("clean").exists();
        let mut victim = Victim::spawn(name, hychat_command(storage, port, &args));
        let deadline = victim.spawned + moment;
        while Instant::now() < deadline && victim.is_running() {
            thread::sleep(Duration::from_micros(200));
        }
        if !victim.is_running() {
            let at = victim.kill();
            return Err(format!(
                "run {run}: {name} exited by itself {at:?} after its start, before its kill\n{}\n{}",
                victim.describe(),
                log_tail(storage)
            ));
        }
        let at = victim.kill();
        report.kills += 1;
        report.tails += u64::from(tail);
        report.in_place += u64::from(in_place);
        let stage = stage_reached(&victim, &log_since(storage, log_before), built.followed);
        report.by_stage[stage] += 1;
        report.during_rebuild += u64::from(unclean && stage == 0);
        let what = format!(
            "run {run}, {name} killed {at:?} after its start ({})",
            [
                "before the own log was open",
                "with the own log open",
                "with the followed log open"
            ][stage]
        );
        let errors = error_lines(&victim.stdout_lines());
        if !errors.is_empty() {
            return Err(format!("{what}: it reported errors: {errors:?}"));
        }
        let figures = after_startup_kill(built, &indexes, run, in_place, report)
            .map_err(|e| format!("{what}: {e}"))?;
        if plan.print_runs {
            println!(
                "{what}{}: {}; checked {}",
                match (stage, unclean) {
                    (0, true) => ", a start that rebuilds it from its journal",
                    (0, false) => ", a start after a clean close",
                    _ => "",
                },
                figures.join(", "),
                if in_place { "in place" } else { "on a copy" }
            );
        }
    }
    let warnings = lost_log_warnings(storage);
    if !warnings.is_empty() {
        return Err(format!(
            "after {} kills the log file says a log was lost: {warnings:?}",
            report.kills
        ));
    }
    // Every message, as the engine delivers it at start and from the logs.
    let wanted = [
        (built.own, built.own_messages.len()),
        (built.followed, built.followed_messages.len()),
    ];
    for (from_the_logs, how) in [
        (false, "as delivered at start"),
        (true, "in the log itself"),
    ] {
        let read = read_logs(storage, &wanted, from_the_logs)
            .map_err(|e| format!("at the end, reading the logs {how}: {e}"))?;
        same_blocks(&read[&built.own], &built.own_messages)
            .map_err(|e| format!("at the end, the own log {how}: {e}"))?;
        same_blocks(&read[&built.followed], &built.followed_messages)
            .map_err(|e| format!("at the end, the followed log {how}: {e}"))?;
        report.checked += read[&built.own].len() + read[&built.followed].len();
    }
    for (path, expected, _) in &indexes {
        let facts = check_index(path, expected)?;
        report.torn += facts.torn;
        report.repeats += facts.repeats;
    }
    Ok(())
}
