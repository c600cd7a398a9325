//! The command line on the real binary: `key`, `send` + `tail` between two
//! storage directories over a loopback bootstrap node, `tail` printing what
//! the storage holds at once (offline, and of the own log), `follow`/
//! `unfollow`/`following`, the reads beside a running hychat and the writes
//! refused there, `completions`, and the one-sentence failures (bad key, bad
//! flag, unwritable storage). Every command gets `--storage <tempdir>` and a
//! loopback `--bootstrap`, so nothing touches the user's directories or the
//! public DHT; every wait is bounded.

use std::path::Path;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::harness::bin::{
    free_udp_port, hychat, log_tail, own_key, spawn_hychat, start_bootstrap, stderr_of, stdout_of,
    QUICK,
};
use crate::harness::process::Background;

/// Upper bound for replication between two processes on loopback.
const REPLICATION: Duration = Duration::from_secs(60);
/// Upper bound for `tail` to print what the storage holds, or what a
/// process beside it saved: far below the 30 s it used to wait.
const OFFLINE_PRINT: Duration = Duration::from_secs(10);

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
    let mut seed = spawn_hychat("seed A", a.path(), port, &["seed"]);
    let mut tail = spawn_hychat(
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
    assert_eq!(value["feed"], key_a.as_str(), "log is A's key: {first}");
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

/// `hychat record` with nothing to reach (a bootstrap port where no node
/// listens) says so in one sentence and exits 1; a bad hash is refused
/// before any network work.
#[test]
fn a_record_with_no_dht_to_reach_is_one_sentence_and_exit_code_1() {
    let dir = TempDir::new().unwrap();
    let nobody = free_udp_port();
    let key = "ab".repeat(32);
    let output = hychat(dir.path(), nobody)
        .args(["record", "get-mutable", &key])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("no DHT node answered"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let output = hychat(dir.path(), nobody)
        .args(["record", "get", "nothex"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("the hash must be 64 hex characters"),
        "{stderr}"
    );
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

/// `tail KEY` prints what the storage holds at once, with no peer online
/// (it used to wait up to 30 s for one), then stays live.
#[test]
fn tail_prints_held_history_at_once_without_a_peer() {
    let boot_dir = TempDir::new().unwrap();
    let a = TempDir::new().unwrap();
    let b = TempDir::new().unwrap();
    let (mut bootstrap, port) = start_bootstrap(boot_dir.path());
    let key_a = own_key(a.path(), port);
    let texts = ["first held message", "second held message"];
    for text in texts {
        let output = hychat(a.path(), port)
            .args(["--nick", "ann", "send", text])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
    }
    // B fetches A's log once, from A's seed.
    let mut seed = spawn_hychat("seed A", a.path(), port, &["seed"]);
    let mut tail = spawn_hychat("first tail on B", b.path(), port, &["tail", &key_a]);
    for text in texts {
        let line = tail.wait_for_line(REPLICATION, |l| l.ends_with(text));
        assert!(
            line.is_some(),
            "B never printed {text:?}\n{}\n{}\n{}",
            tail.describe(),
            seed.describe(),
            log_tail(b.path())
        );
    }
    tail.stop_cleanly();
    seed.stop_cleanly();
    bootstrap.stop_cleanly();

    // Nobody online now (nothing listens on the bootstrap port).
    let started = Instant::now();
    let mut tail = spawn_hychat("offline tail on B", b.path(), port, &["tail", &key_a]);
    let mut printed = Vec::new();
    while printed.len() < texts.len() {
        match tail.next_line(OFFLINE_PRINT) {
            Some(line) => printed.push(line),
            None => panic!(
                "offline tail printed {printed:?} within {OFFLINE_PRINT:?}, not both held messages\n{}\n{}",
                tail.describe(),
                log_tail(b.path())
            ),
        }
    }
    let took = started.elapsed();
    for (line, text) in printed.iter().zip(texts) {
        assert!(line.ends_with(&format!("ann: {text}")), "{printed:?}");
    }
    assert!(
        tail.is_running(),
        "tail stays live after the history\n{}",
        tail.describe()
    );
    tail.stop_cleanly();
    eprintln!("offline tail printed the held history in {took:?}");
}

/// `tail OWN_KEY` shows your own log: what it holds, then each new message.
#[test]
fn tail_of_your_own_key_prints_your_messages_then_new_ones() {
    let dir = TempDir::new().unwrap();
    let closed = free_udp_port();
    let key = own_key(dir.path(), closed);
    let send = |text: &str| {
        let output = hychat(dir.path(), closed)
            .args(["--nick", "me", "send", text])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
    };
    send("my first message");
    send("my second message");
    let mut tail = spawn_hychat(
        "tail of my own key",
        dir.path(),
        closed,
        &["tail", &key, "--json"],
    );
    for (seq, text) in ["my first message", "my second message"]
        .into_iter()
        .enumerate()
    {
        let Some(line) = tail.next_line(OFFLINE_PRINT) else {
            panic!(
                "tail of the own key did not print {text:?}\n{}\n{}",
                tail.describe(),
                log_tail(dir.path())
            );
        };
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["text"], text, "{line}");
        assert_eq!(value["seq"], seq, "{line}");
        assert_eq!(value["feed"], key.as_str(), "{line}");
    }
    // It holds no lock: `send` still works, and its message shows live.
    send("my live message");
    let live = tail.wait_for_line(OFFLINE_PRINT, |l| l.contains("my live message"));
    assert!(
        live.is_some(),
        "the new message did not show\n{}",
        tail.describe()
    );
    assert!(
        !tail.describe().contains("your own"),
        "no refusal: {}",
        tail.describe()
    );
    tail.stop_cleanly();
}

/// A key that is not one: one sentence on stderr, exit 1, nothing printed.
#[test]
fn tail_of_a_bad_key_is_one_sentence_and_exit_code_1() {
    let dir = TempDir::new().unwrap();
    let output = hychat(dir.path(), free_udp_port())
        .args(["tail", "not-a-key"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("is not a log key"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr:?}");
    assert_eq!(stdout_of(&output), "", "nothing on stdout");
}

/// `completions SHELL` prints a script naming the binary and its
/// subcommands, and needs no storage (here an unwritable one).
#[test]
fn completions_print_a_script_for_each_shell_without_storage() {
    let nowhere = Path::new("/proc/hychat-test");
    for shell in ["bash", "zsh", "fish"] {
        let output = hychat(nowhere, free_udp_port())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{shell}: {:?}\n{}",
            output.status,
            stderr_of(&output)
        );
        let script = stdout_of(&output);
        assert!(script.contains("hychat"), "{shell}: {script}");
        for command in ["tail", "following", "send"] {
            assert!(
                script.contains(command),
                "{shell} lacks {command}: {script}"
            );
        }
        assert_eq!(stderr_of(&output), "", "{shell}");
    }
    let output = hychat(nowhere, free_udp_port())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
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

/// Beside a running hychat (`seed`, holding the storage's lock): the reads
/// `key` and `following` work, from the files; the writes `send` and
/// `follow` are refused with one sentence and disturb nothing.
#[test]
fn reads_work_beside_a_running_hychat_and_writes_are_refused() {
    let dir = TempDir::new().unwrap();
    let friend = TempDir::new().unwrap();
    // Nothing listens on this port: the seed process stays offline.
    let closed = free_udp_port();
    let key = own_key(dir.path(), closed);
    let friend_key = own_key(friend.path(), closed);
    let output = hychat(dir.path(), closed)
        .args(["follow", &friend_key, "--name", "ann"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));

    let mut seed = spawn_hychat("seed", dir.path(), closed, &["seed"]);
    let started = seed.wait_for_line(QUICK, |l| l.starts_with("seeding every log"));
    assert!(
        started.is_some(),
        "seed did not start\n{}\n{}",
        seed.describe(),
        log_tail(dir.path())
    );

    assert_eq!(
        own_key(dir.path(), closed),
        key,
        "`key` prints the same key beside the running seed"
    );
    let output = hychat(dir.path(), closed)
        .arg("following")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`following` beside the running seed: {:?}\n{}",
        output.status,
        stderr_of(&output)
    );
    assert_eq!(stdout_of(&output), format!("{friend_key} ann\n"));

    for args in [vec!["send", "not now"], vec!["follow", key.as_str()]] {
        let output = hychat(dir.path(), closed).args(&args).output().unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("already in use by another hychat process"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr:?}");
        assert_eq!(stdout_of(&output), "", "{args:?} printed nothing");
    }
    assert!(
        seed.is_running(),
        "the refused processes must not disturb the one holding the lock\n{}",
        seed.describe()
    );

    seed.stop_cleanly();
    // The lock goes with the process: the directory takes writes again.
    let output = hychat(dir.path(), closed)
        .args(["send", "now"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
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
        "completions",
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

/// `--room` with `send` joins the room (remembered) and writes into it; a
/// room name that is not one is a usage error.
#[test]
fn send_with_room_writes_into_the_room_and_remembers_it() {
    let dir = TempDir::new().unwrap();
    let port = free_udp_port();
    let output = hychat(dir.path(), port)
        .args(["--room", " streams-day ", "send", "hi room"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let rooms = std::fs::read_to_string(dir.path().join("rooms.json")).unwrap();
    assert!(rooms.contains("\"streams-day\""), "{rooms}");
    let index = std::fs::read_to_string(dir.path().join("own").join("index.jsonl")).unwrap();
    assert!(
        index.contains("\"room\":\"streams-day\"") && index.contains("hi room"),
        "the block carries its room: {index}"
    );

    let long = "x".repeat(65);
    let output = hychat(dir.path(), port)
        .args(["--room", &long, "send", "nope"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("at most 64"),
        "{}",
        stderr_of(&output)
    );
}
