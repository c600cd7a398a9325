//! The command line on the real binary: `key`, `send` + `tail` between two
//! storage directories over a loopback bootstrap node, `follow`/`unfollow`/
//! `following`, and the one-sentence failures (bad key, bad flag, storage in
//! use, unwritable storage). Every command gets `--storage <tempdir>` and a
//! loopback `--bootstrap`, so nothing touches the user's directories or the
//! public DHT; every wait is bounded.

use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command as StdCommand, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use tempfile::TempDir;

/// Upper bound for a short, local-only command.
const QUICK: Duration = Duration::from_secs(30);
/// Upper bound for replication between two processes on loopback.
const REPLICATION: Duration = Duration::from_secs(60);

/// Environment variables that would otherwise change what a command does.
const HYCHAT_ENV: [&str; 4] = [
    "HYCHAT_STORAGE",
    "HYCHAT_BOOTSTRAP",
    "HYCHAT_NICK",
    "HYCHAT_LOG",
];

/// A UDP port on 127.0.0.1 that was free a moment ago (and is closed now).
fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
    socket.local_addr().unwrap().port()
}

/// The binary with a storage directory and a loopback bootstrap address.
fn hychat(storage: &Path, bootstrap_port: u16) -> Command {
    let mut command = Command::cargo_bin("hychat").expect("the hychat binary is built");
    for name in HYCHAT_ENV {
        command.env_remove(name);
    }
    command
        .arg("--storage")
        .arg(storage)
        .arg("--bootstrap")
        .arg(format!("127.0.0.1:{bootstrap_port}"))
        .timeout(QUICK);
    command
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `hychat key` and checks it printed one 64-hex-character line.
fn own_key(storage: &Path, bootstrap_port: u16) -> String {
    let output = hychat(storage, bootstrap_port)
        .arg("key")
        .output()
        .expect("run hychat key");
    let stdout = stdout_of(&output);
    assert!(
        output.status.success(),
        "hychat key failed: {:?}\nstdout: {stdout}\nstderr: {}",
        output.status,
        stderr_of(&output)
    );
    assert!(
        stdout.ends_with('\n') && stdout.lines().count() == 1,
        "hychat key should print exactly one line: {stdout:?}"
    );
    let key = stdout.trim_end().to_string();
    assert_eq!(key.len(), 64, "a key is 64 characters: {key:?}");
    assert!(
        key.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "a key is lowercase hex: {key:?}"
    );
    key
}

/// The last lines of a storage directory's log file, for failure messages.
fn log_tail(storage: &Path) -> String {
    let path = storage.join("hychat.log");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            // The protocol crates log every frame at info level; keep ours.
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("hychat") || l.contains(" WARN ") || l.contains(" ERROR "))
                .collect();
            let start = lines.len().saturating_sub(40);
            format!(
                "--- {} (hychat, warning and error lines, tail) ---\n{}",
                path.display(),
                lines[start..].join("\n")
            )
        }
        Err(e) => format!("--- {}: {e} ---", path.display()),
    }
}

/// A long-running hychat process with its stdout read line by line on a
/// thread. Dropping it sends SIGTERM, waits a bounded time, then kills.
struct Background {
    name: &'static str,
    child: Child,
    lines: Receiver<String>,
    stdout_seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Background {
    fn spawn(name: &'static str, storage: &Path, bootstrap_port: u16, args: &[&str]) -> Self {
        let mut command = StdCommand::new(env!("CARGO_BIN_EXE_hychat"));
        for variable in HYCHAT_ENV {
            command.env_remove(variable);
        }
        let mut child = command
            .arg("--storage")
            .arg(storage)
            .arg("--bootstrap")
            .arg(format!("127.0.0.1:{bootstrap_port}"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        Self {
            name,
            child,
            lines,
            stdout_seen: Vec::new(),
            stderr,
        }
    }

    /// The next stdout line, or `None` when `timeout` passes or stdout closes.
    fn next_line(&mut self, timeout: Duration) -> Option<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.stdout_seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Reads stdout until a line satisfies `accept`, for at most `timeout`.
    fn wait_for_line(
        &mut self,
        timeout: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let line = self.next_line(left)?;
            if accept(&line) {
                return Some(line);
            }
        }
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the process printed so far, for failure messages.
    fn describe(&self) -> String {
        format!(
            "--- {} stdout ---\n{}\n--- {} stderr ---\n{}",
            self.name,
            self.stdout_seen.join("\n"),
            self.name,
            self.stderr.lock().unwrap()
        )
    }

    /// SIGTERM, then up to 10 s to exit (the headless commands give the
    /// engine 5 s to close). Returns the exit status, or `None` when the
    /// process had to be killed.
    fn terminate(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling a child we spawned and have not reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    /// Stops the process and checks it left on SIGTERM with status 0.
    fn stop_cleanly(&mut self) {
        let status = self.terminate();
        assert!(
            status.is_some_and(|s| s.success()),
            "{} should exit with status 0 on SIGTERM, got {status:?}\n{}",
            self.name,
            self.describe()
        );
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A bootstrap node on 127.0.0.1, started with the binary itself. The port
/// is picked free and then bound by the child, so a lost race is retried.
fn start_bootstrap(storage: &Path) -> (Background, u16) {
    let mut failures = Vec::new();
    for _ in 0..5 {
        let port = free_udp_port();
        let port_text = port.to_string();
        let mut node = Background::spawn(
            "bootstrap",
            storage,
            port,
            &["bootstrap", "--port", &port_text, "--host", "127.0.0.1"],
        );
        let expected = format!("bootstrap node listening on 127.0.0.1:{port}");
        if node
            .wait_for_line(Duration::from_secs(15), |l| l == expected)
            .is_some()
        {
            return (node, port);
        }
        node.terminate();
        failures.push(node.describe());
    }
    panic!(
        "no bootstrap node came up on loopback in 5 tries:\n{}",
        failures.join("\n")
    );
}

#[test]
fn key_is_64_hex_and_stable_per_storage() {
    let a = TempDir::new().unwrap();
    let b = TempDir::new().unwrap();
    let port = free_udp_port();
    let first = own_key(a.path(), port);
    let second = own_key(a.path(), port);
    assert_eq!(first, second, "the same storage keeps the same key");
    let other = own_key(b.path(), port);
    assert_ne!(first, other, "another storage directory has another key");
}

/// The headless end to end path: A writes two messages offline, seeds them;
/// B (its own storage) tails A's log as JSON with `-n 1`.
#[test]
fn tail_json_prints_only_the_newest_message_of_another_storage() {
    let boot_dir = TempDir::new().unwrap();
    let a = TempDir::new().unwrap();
    let b = TempDir::new().unwrap();
    let (mut bootstrap, port) = start_bootstrap(boot_dir.path());

    let key_a = own_key(a.path(), port);
    let older = "the older message";
    let newest = "the newest message";
    for text in [older, newest] {
        let output = hychat(a.path(), port)
            .args(["--nick", "ann", "send", text])
            .output()
            .expect("run hychat send");
        let stderr = stderr_of(&output);
        assert!(
            output.status.success(),
            "send {text:?} failed: {:?}\n{stderr}",
            output.status
        );
        assert!(
            stderr.contains(&format!("appended 1 message(s) to {key_a}")),
            "send should confirm the append on stderr: {stderr:?}"
        );
    }

    let started = Instant::now();
    let mut seed = Background::spawn("seed A", a.path(), port, &["seed"]);
    let mut tail = Background::spawn(
        "tail on B",
        b.path(),
        port,
        &["tail", &key_a, "--json", "-n", "1"],
    );
    let details = |seed: &Background, tail: &Background, bootstrap: &Background| {
        format!(
            "{}\n{}\n{}\n{}\n{}",
            seed.describe(),
            tail.describe(),
            bootstrap.describe(),
            log_tail(a.path()),
            log_tail(b.path())
        )
    };

    let Some(first) = tail.next_line(REPLICATION) else {
        panic!(
            "tail printed nothing within {REPLICATION:?}\n{}",
            details(&seed, &tail, &bootstrap)
        );
    };
    let replicated_in = started.elapsed();
    let value: serde_json::Value = serde_json::from_str(&first).unwrap_or_else(|e| {
        panic!(
            "tail --json printed a line that is not JSON ({e}): {first:?}\n{}",
            details(&seed, &tail, &bootstrap)
        )
    });
    assert_eq!(
        value["text"], newest,
        "with -n 1 the first line is the newest message: {first}"
    );
    assert_eq!(value["feed"], key_a.as_str(), "feed is A's key: {first}");
    assert_eq!(
        value["seq"], 1,
        "the newest of two messages is seq 1: {first}"
    );
    assert_eq!(value["nickname"], "ann", "the nickname travels: {first}");
    assert_eq!(value["type"], "chat-message", "{first}");

    // Nothing else of the history may follow: -n 1 means one line.
    let extra = tail.next_line(Duration::from_secs(3));
    assert!(
        extra.is_none(),
        "tail -n 1 printed a second history line: {extra:?}\n{}",
        details(&seed, &tail, &bootstrap)
    );
    assert!(
        tail.is_running(),
        "tail keeps running for live messages\n{}",
        details(&seed, &tail, &bootstrap)
    );
    assert!(
        seed.is_running(),
        "seed keeps running\n{}",
        details(&seed, &tail, &bootstrap)
    );
    tail.stop_cleanly();
    seed.stop_cleanly();
    bootstrap.stop_cleanly();
    eprintln!("replicated A's newest message to B in {replicated_in:?}");
}

#[test]
fn a_bad_key_is_one_sentence_and_exit_code_1() {
    let dir = TempDir::new().unwrap();
    let output = hychat(dir.path(), free_udp_port())
        .args(["follow", "nothex"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("is not a log key"), "{stderr}");
    assert!(stderr.contains("64 hex characters"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stdout_of(&output), "", "nothing on stdout");
}

#[test]
fn a_bad_flag_is_a_usage_error_with_exit_code_2() {
    let dir = TempDir::new().unwrap();
    let output = hychat(dir.path(), free_udp_port())
        .arg("--bogus")
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("Usage"), "{stderr}");
    assert!(stderr.contains("--bogus"), "names the bad flag: {stderr}");
}

#[test]
fn a_storage_dir_in_use_is_refused() {
    let dir = TempDir::new().unwrap();
    // Nothing listens on this port: the seed process stays offline.
    let closed = free_udp_port();
    let mut seed = Background::spawn("seed", dir.path(), closed, &["seed"]);
    let started = seed.wait_for_line(QUICK, |l| l.starts_with("seeding every log"));
    assert!(
        started.is_some(),
        "seed did not start\n{}\n{}",
        seed.describe(),
        log_tail(dir.path())
    );
    let lock = dir.path().join("hychat.lock");
    let deadline = Instant::now() + QUICK;
    while !lock.exists() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    assert!(lock.exists(), "seed holds {}", lock.display());
    thread::sleep(Duration::from_secs(1));

    let output = hychat(dir.path(), closed).arg("key").output().unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("already in use"), "{stderr}");
    assert_eq!(stdout_of(&output), "", "no key printed");
    assert!(
        seed.is_running(),
        "the refused process must not disturb the one holding the lock\n{}",
        seed.describe()
    );

    seed.stop_cleanly();
    // The lock goes with the process: the directory is usable again.
    own_key(dir.path(), closed);
}

#[test]
fn an_unwritable_storage_dir_is_one_sentence_without_a_panic() {
    let output = hychat(Path::new("/proc/hychat-test"), free_udp_port())
        .env("RUST_BACKTRACE", "1")
        .arg("key")
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("cannot write to the storage directory"),
        "{stderr}"
    );
    assert!(
        stderr.contains("/proc/hychat-test"),
        "names the directory: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr:?}");
    assert_eq!(stdout_of(&output), "");
}

#[test]
fn help_lists_every_subcommand() {
    let dir = TempDir::new().unwrap();
    let output = hychat(dir.path(), free_udp_port())
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    let stdout = stdout_of(&output);
    let listed: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for command in [
        "key",
        "send",
        "tail",
        "follow",
        "unfollow",
        "following",
        "seed",
        "bootstrap",
    ] {
        assert!(
            listed.contains(&command),
            "--help does not list `{command}`; listed: {listed:?}\n{stdout}"
        );
    }
}

#[test]
fn follow_following_unfollow_round_trip() {
    let dir = TempDir::new().unwrap();
    let friend = TempDir::new().unwrap();
    let port = free_udp_port();
    // A real log key: the engine refuses 64 hex digits that are no public key.
    let friend_key = own_key(friend.path(), port);
    let friend_key = friend_key.as_str();
    let run = |args: &[&str]| {
        let output = hychat(dir.path(), port).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?} failed: {:?}\n{}",
            output.status,
            stderr_of(&output)
        );
        stdout_of(&output)
    };

    assert_eq!(run(&["following"]), "", "a new storage follows nobody");
    assert_eq!(
        run(&["follow", friend_key, "--name", "ann"]),
        format!("following {friend_key}\n")
    );
    assert_eq!(run(&["following"]), format!("{friend_key} ann\n"));
    assert_eq!(
        run(&["unfollow", friend_key]),
        format!("no longer following {friend_key}\n")
    );
    assert_eq!(run(&["following"]), "", "unfollowed logs are not listed");
}
