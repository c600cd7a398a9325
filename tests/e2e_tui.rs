//! The full-screen chat end to end: two real TUIs in two detached tmux
//! sessions (on a private tmux socket), a loopback bootstrap node, each
//! following the other by typing `/follow KEY`, messages typed in one
//! showing up in the other, the side panel listing the peer, and `/quit`
//! leaving the terminal clean with exit status 0.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_hychat");
const WIDTH: usize = 120;
const HEIGHT: usize = 40;
/// First column of the side panel at WIDTH (see `app::view::Areas`): the
/// panel is a quarter of the width clamped to 24..=32, drawn with a left border.
const SIDE_COLUMN: usize = WIDTH
    - if WIDTH / 4 < 24 {
        24
    } else if WIDTH / 4 > 32 {
        32
    } else {
        WIDTH / 4
    };
/// Upper bound for a message to travel between the two TUIs.
const DELIVERY: Duration = Duration::from_secs(90);
/// Upper bound for a TUI to start, or to leave after `/quit`.
const QUICK: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(500);

/// Environment variables that would otherwise change what a command does.
const HYCHAT_ENV: [&str; 4] = [
    "HYCHAT_STORAGE",
    "HYCHAT_BOOTSTRAP",
    "HYCHAT_NICK",
    "HYCHAT_LOG",
];

fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
    socket.local_addr().unwrap().port()
}

/// Installs tmux when it is missing; panics when that is not possible.
fn ensure_tmux() {
    let present = || {
        Command::new("sh")
            .args(["-c", "command -v tmux"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present() {
        return;
    }
    let update = Command::new("apt-get").arg("update").status();
    let install = Command::new("apt-get")
        .args(["install", "-y", "tmux"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    assert!(
        present(),
        "this test needs tmux, which is not installed, and installing it failed \
         (apt-get update: {update:?}, apt-get install -y tmux: {install:?}); \
         install tmux and run again"
    );
}

/// `hychat --storage DIR key`, run before the TUI takes the storage lock.
fn own_key(storage: &Path, port: u16) -> String {
    let mut command = assert_cmd::Command::cargo_bin("hychat").unwrap();
    for name in HYCHAT_ENV {
        command.env_remove(name);
    }
    let output = command
        .arg("--storage")
        .arg(storage)
        .arg("--bootstrap")
        .arg(format!("127.0.0.1:{port}"))
        .arg("key")
        .timeout(QUICK)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "hychat key failed: {:?}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert_eq!(key.len(), 64, "a key is 64 hex characters: {key:?}");
    key
}

/// A bootstrap node process on 127.0.0.1; killed on drop.
struct Bootstrap {
    child: Child,
    port: u16,
}

impl Bootstrap {
    fn start(storage: &Path) -> Self {
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_udp_port();
            let mut command = Command::new(BIN);
            for name in HYCHAT_ENV {
                command.env_remove(name);
            }
            let mut child = command
                .arg("--storage")
                .arg(storage)
                .args(["bootstrap", "--port", &port.to_string()])
                .args(["--host", "127.0.0.1"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the bootstrap node");
            let stdout = child.stdout.take().unwrap();
            let (sender, lines) = mpsc::channel();
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
            let expected = format!("bootstrap node listening on 127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(15);
            let mut seen = Vec::new();
            while let Ok(line) =
                lines.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                if line == expected {
                    return Self { child, port };
                }
                seen.push(line);
            }
            let _ = child.kill();
            let _ = child.wait();
            failures.push(format!("port {port}: {seen:?}"));
        }
        panic!("no bootstrap node came up on loopback: {failures:?}");
    }
}

impl Drop for Bootstrap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tmux server of our own (`tmux -L <unique>`), killed on drop.
struct Tmux {
    socket: String,
    /// The socket file, known once the server runs; removed on drop.
    socket_path: Option<PathBuf>,
}

impl Tmux {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Self {
            socket: format!("hychat-e2e-{}-{nanos}", std::process::id()),
            socket_path: None,
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command
            .env_remove("TMUX")
            .args(["-L", &self.socket, "-f", "/dev/null"]);
        command
    }

    /// Runs a tmux command with a bounded wait and returns its stdout.
    fn run(&self, args: &[&str]) -> String {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tmux");
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tmux {args:?} did not finish in 10 s");
        }
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn capture(&self, session: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", session])
    }

    fn type_line(&self, session: &str, text: &str) {
        self.run(&["send-keys", "-t", session, "-l", text]);
        self.run(&["send-keys", "-t", session, "Enter"]);
    }

    fn format(&self, session: &str, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", session, format])
            .trim()
            .to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One TUI: its tmux session, storage, key and nickname.
struct Chat {
    session: &'static str,
    storage: PathBuf,
    key: String,
}

impl Chat {
    fn short(&self) -> &str {
        &self.key[..8]
    }
}

/// The side panel's rows of a capture: what is right of its left border.
fn side_panel(capture: &str) -> Vec<String> {
    capture
        .lines()
        .filter_map(|line| {
            let mut cells = line.chars().skip(SIDE_COLUMN);
            (cells.next() == Some('│')).then(|| cells.collect::<String>())
        })
        .collect()
}

/// The number in the side panel's `Peers (N)` heading, when drawn.
fn peer_count(panel: &[String]) -> Option<usize> {
    panel.iter().find_map(|row| {
        row.trim()
            .strip_prefix("Peers (")?
            .strip_suffix(')')?
            .parse()
            .ok()
    })
}

/// Whether the side panel shows `other` as followed and online, and some
/// connected peer serving its log.
fn panel_shows_peer(panel: &[String], other: &str) -> bool {
    let followed_online = panel
        .iter()
        .take_while(|row| !row.trim().starts_with("Peers ("))
        .any(|row| row.contains('●') && row.contains(other));
    let served = panel
        .iter()
        .skip_while(|row| !row.trim().starts_with("Peers ("))
        .skip(1)
        .any(|row| row.split_whitespace().any(|word| word == other));
    followed_online && peer_count(panel).is_some_and(|n| n >= 1) && served
}

/// The last hychat, warning and error lines of a log file: the protocol
/// crates log every frame at info level and would bury them.
fn interesting_log_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("hychat") || l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    format!(
        "({} of {} lines shown)\n{}",
        lines.len().min(40),
        text.lines().count(),
        lines[lines.len().saturating_sub(40)..].join("\n")
    )
}

struct Fixture {
    tmux: Tmux,
    chats: Vec<Chat>,
}

impl Fixture {
    fn log_tail(storage: &Path) -> String {
        let path = storage.join("hychat.log");
        match std::fs::read_to_string(&path) {
            Ok(text) => interesting_log_lines(&text),
            Err(e) => format!("(cannot read: {e})"),
        }
    }

    /// Panics with `what`, both panes and the tail of both log files.
    fn fail(&self, what: &str) -> ! {
        let mut report = format!("{what}\n");
        for chat in &self.chats {
            let pane = self
                .tmux
                .command()
                .args(["capture-pane", "-p", "-t", chat.session])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_else(|e| format!("(cannot capture: {e})"));
            report.push_str(&format!(
                "\n===== pane {} =====\n{pane}\n===== {}/hychat.log (tail) =====\n{}\n",
                chat.session,
                chat.storage.display(),
                Self::log_tail(&chat.storage)
            ));
        }
        panic!("{report}");
    }

    /// Polls a pane until `accept` holds, for at most `timeout`.
    fn wait_for(
        &self,
        chat: usize,
        timeout: Duration,
        what: &str,
        accept: impl Fn(&str) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            if accept(&self.tmux.capture(self.chats[chat].session)) {
                return started.elapsed();
            }
            if started.elapsed() >= timeout {
                self.fail(&format!(
                    "pane {}: {what} did not happen within {timeout:?}",
                    self.chats[chat].session
                ));
            }
            thread::sleep(POLL);
        }
    }
}

#[test]
fn two_tuis_in_tmux_follow_each_other_chat_and_quit_cleanly() {
    ensure_tmux();
    let boot_dir = TempDir::new().unwrap();
    let dir_a = TempDir::new().unwrap();
    let dir_b = TempDir::new().unwrap();
    let bootstrap = Bootstrap::start(boot_dir.path());
    let port = bootstrap.port;
    let key_a = own_key(dir_a.path(), port);
    let key_b = own_key(dir_b.path(), port);
    assert_ne!(key_a, key_b);

    let mut tmux = Tmux::new();
    let mut chats = Vec::new();
    for (session, dir, key, nick) in [
        ("alice", &dir_a, key_a, "alice"),
        ("bob", &dir_b, key_b, "bob"),
    ] {
        let storage = dir.path().to_path_buf();
        let storage_text = storage.to_str().expect("a UTF-8 temp path");
        assert!(!storage_text.contains('\'') && !BIN.contains('\''));
        // The shell reports the exit status and keeps the pane open.
        let script = format!(
            "unset {}; '{BIN}' --storage '{storage_text}' --bootstrap 127.0.0.1:{port} \
             --nick {nick}; echo EXITED:$?; sleep 600",
            HYCHAT_ENV.join(" ")
        );
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            &WIDTH.to_string(),
            "-y",
            &HEIGHT.to_string(),
            "sh",
            "-c",
            &script,
        ]);
        if tmux.socket_path.is_none() {
            let path = tmux.run(&["display-message", "-p", "#{socket_path}"]);
            tmux.socket_path = Some(PathBuf::from(path.trim()));
        }
        chats.push(Chat {
            session,
            storage,
            key,
        });
    }
    let fixture = Fixture { tmux, chats };
    let (a, b) = (0, 1);
    let tmux = &fixture.tmux;
    let session = |i: usize| fixture.chats[i].session;
    let started = Instant::now();

    // Both draw their first frame, on the alternate screen.
    for (i, nick) in [(a, "alice"), (b, "bob")] {
        let short = fixture.chats[i].short().to_string();
        fixture.wait_for(i, QUICK, "the first frame", |pane| {
            side_panel(pane)
                .iter()
                .any(|row| row.trim() == "Following (0)")
                && pane.contains(&format!(" {nick} {short} "))
        });
        if tmux.format(session(i), "#{alternate_on}") != "1" {
            fixture.fail("the TUI does not use the alternate screen");
        }
    }

    tmux.type_line(session(a), &format!("/follow {}", fixture.chats[b].key));
    tmux.type_line(session(b), &format!("/follow {}", fixture.chats[a].key));
    for i in [a, b] {
        fixture.wait_for(i, QUICK, "`/follow` taking effect", |pane| {
            side_panel(pane)
                .iter()
                .any(|row| row.trim() == "Following (1)")
        });
    }

    let from_alice = format!("hello bob, alice here {}", std::process::id());
    tmux.type_line(session(a), &from_alice);
    let a_to_b = fixture.wait_for(b, DELIVERY, "alice's message arriving", |pane| {
        pane.contains(&format!("alice: {from_alice}"))
    });
    let from_bob = format!("hi alice, bob answers {}", std::process::id());
    tmux.type_line(session(b), &from_bob);
    let b_to_a = fixture.wait_for(a, DELIVERY, "bob's message arriving", |pane| {
        pane.contains(&format!("bob: {from_bob}"))
    });
    // Each sees its own message too, under its own nickname.
    fixture.wait_for(a, QUICK, "alice's own message", |pane| {
        pane.contains(&format!("alice: {from_alice}"))
    });
    fixture.wait_for(b, QUICK, "bob's own message", |pane| {
        pane.contains(&format!("bob: {from_bob}"))
    });

    // The side panel: the friend followed and online, a peer serving its log.
    for (i, other) in [(a, b), (b, a)] {
        let other_short = fixture.chats[other].short().to_string();
        fixture.wait_for(i, QUICK, "the side panel listing the peer", |pane| {
            panel_shows_peer(&side_panel(pane), &other_short)
        });
    }

    // /quit leaves the alternate screen and exits with status 0.
    tmux.type_line(session(a), "/quit");
    fixture.wait_for(a, QUICK, "alice's TUI exiting with status 0", |pane| {
        pane.lines().any(|line| line.trim() == "EXITED:0")
    });
    if tmux.format(session(a), "#{alternate_on}") != "0" {
        fixture.fail("after /quit the alternate screen is still on");
    }
    if tmux.format(session(a), "#{cursor_flag}") != "1" {
        fixture.fail("after /quit the cursor is still hidden");
    }
    let after_quit = tmux.capture(session(a));
    if after_quit.contains("Following (") || after_quit.contains("Peers (") {
        fixture.fail("after /quit the chat screen is still drawn on the normal screen");
    }
    // Bob's TUI is unaffected, and quits the same way.
    if tmux.capture(session(b)).contains("EXITED:") {
        fixture.fail("bob's TUI exited when alice quit");
    }
    tmux.type_line(session(b), "/quit");
    fixture.wait_for(b, QUICK, "bob's TUI exiting with status 0", |pane| {
        pane.lines().any(|line| line.trim() == "EXITED:0")
    });
    if tmux.format(session(b), "#{alternate_on}") != "0" {
        fixture.fail("after /quit bob's alternate screen is still on");
    }
    eprintln!(
        "alice→bob in {a_to_b:?}, bob→alice in {b_to_a:?}, whole run {:?}",
        started.elapsed()
    );
    drop(fixture);
    drop(bootstrap);
}
