//! The real `hychat` binary, for the tests of `tests/binary` and the lab:
//! the binary (`BIN`) with a clean environment, a temp storage
//! directory and a loopback bootstrap address (`hychat`, `hychat_command`,
//! `spawn_hychat`); its own key (`own_key`); a bootstrap node started from
//! the binary (`start_bootstrap`); free loopback ports; and the tail of a
//! storage directory's log file for failure messages (`log_tail`).

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;

use assert_cmd::Command;

use super::process::Background;

/// The binary under test: the debug build for the tests, the release
/// build for the benches.
pub const BIN: &str = env!("CARGO_BIN_EXE_hychat");

/// Upper bound for a short, local-only command.
pub const QUICK: Duration = Duration::from_secs(30);

/// Environment variables that would otherwise change what a command does.
pub const HYCHAT_ENV: [&str; 5] = [
    "HYCHAT_STORAGE",
    "HYCHAT_BOOTSTRAP",
    "HYCHAT_NICK",
    "HYCHAT_ROOM",
    "HYCHAT_LOG",
];

/// A UDP port on 127.0.0.1 that was free a moment ago (and is closed now).
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
    socket.local_addr().unwrap().port()
}

/// `127.0.0.1:PORT`, the only kind of address these tests use.
pub fn loopback(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// The binary with a storage directory and a loopback bootstrap address,
/// for commands that finish on their own (bounded by `QUICK`).
pub fn hychat(storage: &Path, bootstrap_port: u16) -> Command {
    let mut command = Command::from_std(hychat_command(storage, bootstrap_port, &[]));
    command.timeout(QUICK);
    command
}

/// The same as `hychat`, as a plain command for a background process.
pub fn hychat_command(storage: &Path, bootstrap_port: u16, args: &[&str]) -> StdCommand {
    hychat_command_on(storage, &loopback(bootstrap_port), args)
}

/// The same with a whole bootstrap list (`host:port,...`).
pub fn hychat_command_on(storage: &Path, bootstrap: &str, args: &[&str]) -> StdCommand {
    let mut command = StdCommand::new(BIN);
    for name in HYCHAT_ENV {
        command.env_remove(name);
    }
    command
        .arg("--storage")
        .arg(storage)
        .arg("--bootstrap")
        .arg(bootstrap)
        .args(args);
    command
}

/// A long-running hychat subcommand (`seed`, `tail`, ...) in the background.
pub fn spawn_hychat(name: &str, storage: &Path, bootstrap_port: u16, args: &[&str]) -> Background {
    Background::spawn(name, hychat_command(storage, bootstrap_port, args), false)
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Whether `key` is 64 lowercase hex characters.
pub fn is_key(key: &str) -> bool {
    key.len() == 64
        && key
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// Runs `hychat key` and checks it printed one 64-hex-character line.
pub fn own_key(storage: &Path, bootstrap_port: u16) -> String {
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
    assert!(is_key(&key), "a key is lowercase hex: {key:?}");
    key
}

/// The last hychat, warning and error lines of a storage directory's log
/// file, for failure messages: the protocol crates log every frame at info
/// level and would bury them.
pub fn log_tail(storage: &Path) -> String {
    let path = storage.join("hychat.log");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("hychat") || l.contains(" WARN ") || l.contains(" ERROR "))
                .collect();
            let start = lines.len().saturating_sub(40);
            format!(
                "--- {} (hychat, warning and error lines, tail: {} of {} lines shown) ---\n{}",
                path.display(),
                lines.len() - start,
                text.lines().count(),
                lines[start..].join("\n")
            )
        }
        Err(e) => format!("--- {}: {e} ---", path.display()),
    }
}

/// How many times a loopback node is started on a port picked free. The
/// one legitimate reason to start it again: the port was free a moment
/// ago, and another process of the parallel suite may bind it before the
/// child does. Each failed try is printed with what the child said.
pub const PORT_RACE_TRIES: usize = 3;

/// A bootstrap node on 127.0.0.1, started with the binary itself, on a
/// port picked free (see `PORT_RACE_TRIES`). Returns the process (stopped
/// on drop) and its port.
pub fn start_bootstrap(storage: &Path) -> (Background, u16) {
    start_bootstrap_joining(storage, &[])
}

/// The same, joined (`--bootstrap`) to the loopback nodes at `others`, so
/// several nodes make one DHT; with none, its list names itself.
pub fn start_bootstrap_joining(storage: &Path, others: &[u16]) -> (Background, u16) {
    start_bootstrap_with(storage, others, &[])
}

/// The same, with the global options `global` (such as `--log-level
/// debug`) before the subcommand.
pub fn start_bootstrap_with(storage: &Path, others: &[u16], global: &[&str]) -> (Background, u16) {
    let mut failures = Vec::new();
    for attempt in 1..=PORT_RACE_TRIES {
        let port = free_udp_port();
        let port_text = port.to_string();
        let list: Vec<String> = if others.is_empty() {
            vec![loopback(port)]
        } else {
            others.iter().map(|p| loopback(*p)).collect()
        };
        let command = hychat_command_on(
            storage,
            &list.join(","),
            &[
                global,
                &["bootstrap", "--port", &port_text, "--host", "127.0.0.1"],
            ]
            .concat(),
        );
        let mut node = Background::spawn("hychat bootstrap", command, false);
        let expected = format!("bootstrap node listening on {}", loopback(port));
        if node
            .wait_for_line(Duration::from_secs(15), |l| l == expected)
            .is_some()
        {
            return (node, port);
        }
        node.terminate();
        eprintln!(
            "try {attempt} of {PORT_RACE_TRIES}: no bootstrap node came up on port {port}:\n{}",
            node.describe()
        );
        failures.push(node.describe());
    }
    panic!(
        "no bootstrap node came up on loopback in {PORT_RACE_TRIES} tries:\n{}",
        failures.join("\n")
    );
}

/// Loopback bootstrap nodes joined into one DHT, one per storage directory:
/// each is started as `start_bootstrap_joining` starts it, joined to every
/// node started before it (the first names itself). Returns the processes
/// (each stopped on drop) and their ports, in the order started.
pub fn start_bootstrap_dht(storages: &[&Path]) -> (Vec<Background>, Vec<u16>) {
    let mut nodes = Vec::new();
    let mut ports = Vec::new();
    for storage in storages {
        let (node, port) = start_bootstrap_joining(storage, &ports);
        nodes.push(node);
        ports.push(port);
    }
    (nodes, ports)
}

/// The first line of a panic in a hychat process's log in `storage` or in
/// what it printed, if any.
pub fn panic_line(process: &Background, storage: &Path) -> Option<String> {
    let log = std::fs::read_to_string(storage.join("hychat.log")).unwrap_or_default();
    let printed = process.describe();
    log.lines()
        .chain(printed.lines())
        .find(|l| l.contains("panicked at"))
        .map(str::to_string)
}
