//! One scenario on the lab (`Scene`): hychat users on lab hosts (`Peer`),
//! the hychat and JS processes they run, bounded waits on what those print
//! or store, the timings a scenario records, and the failure report that
//! shows every process's output and the tail of every hychat log. Also the
//! check every scenario ends with (`uncaught_panics`), and the stricter one
//! for bootstrap nodes, which must never panic at all (`panics`).

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::super::bin::{is_key, log_tail, stderr_of, stdout_of, QUICK};
use super::super::js::JS_STARTUP;
use super::super::process::{Background, Transcript};
use super::hosts::DHT_PORT;
use super::Lab;

/// A line a process must print: what it says (for the failure report) and
/// the test of a line.
pub type LineCheck<'a> = (&'a str, &'a dyn Fn(&str) -> bool);

/// One measured step of a scenario.
#[derive(Clone, Debug)]
pub struct Timing {
    pub what: String,
    pub took: Duration,
}

/// A hychat user on a lab host: its storage, its bootstrap list, its nick.
#[derive(Clone, Debug)]
pub struct Peer {
    pub host: &'static str,
    pub storage: PathBuf,
    pub bootstrap: String,
    pub nick: String,
}

impl Peer {
    /// The global options, then `args`.
    pub fn args(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec![
            "--storage".to_string(),
            self.storage
                .to_str()
                .expect("a UTF-8 temp path")
                .to_string(),
            "--bootstrap".to_string(),
            self.bootstrap.clone(),
            "--nick".to_string(),
            self.nick.clone(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        all
    }

    /// `--room ROOM` then `args`.
    pub fn room_args(&self, room: &str, args: &[&str]) -> Vec<String> {
        let mut all = vec!["--room", room];
        all.extend_from_slice(args);
        self.args(&all)
    }
}

/// One scenario's processes, storage directories and timings, and the
/// failure report that shows all of them.
pub struct Scene<'lab> {
    pub lab: &'lab Lab,
    name: String,
    dirs: Vec<TempDir>,
    /// Each storage directory with the processes that ran on it.
    pub(super) storages: Vec<PathBuf>,
    /// The storage directories of the scene's hychat bootstrap nodes.
    nodes: Vec<PathBuf>,
    transcripts: Vec<(PathBuf, Transcript)>,
    timings: Vec<Timing>,
    tag: String,
}

/// What a bootstrap node says before its blind relay's key.
const RELAY_OFFERED: &str = "offering a blind relay, key ";
/// Upper bound for a message to cross the lab, discovery included.
pub const ARRIVAL: Duration = Duration::from_secs(60);
/// How long `send --wait` stays online for a peer.
pub const SEND_WAIT: u64 = 45;

impl<'lab> Scene<'lab> {
    pub fn new(lab: &'lab Lab, name: &str) -> Self {
        Self {
            lab,
            name: name.to_string(),
            dirs: Vec::new(),
            storages: Vec::new(),
            nodes: Vec::new(),
            transcripts: Vec::new(),
            timings: Vec::new(),
            tag: format!("{name} run {}", std::process::id()),
        }
    }

    /// A message text unique to this run.
    pub fn text(&self, what: &str) -> String {
        format!("{what} ({})", self.tag)
    }

    /// A temp directory, removed with the scene unless `HYCHAT_LAB_KEEP`
    /// is set (then its path is printed, for a look at the logs).
    fn temp_dir(&mut self, what: &str) -> PathBuf {
        let dir = tempfile::Builder::new()
            .prefix(&format!("hychat-lab-{what}-"))
            .tempdir()
            .expect("a temp dir");
        if std::env::var_os("HYCHAT_LAB_KEEP").is_some() {
            let path = dir.keep();
            eprintln!("[{}] keeping {}", self.name, path.display());
            return path;
        }
        let path = dir.path().to_path_buf();
        self.dirs.push(dir);
        path
    }

    fn storage(&mut self, what: &str) -> PathBuf {
        let path = self.temp_dir(what);
        self.storages.push(path.clone());
        path
    }

    pub fn peer(&mut self, host: &'static str, nick: &str, bootstrap: &str) -> Peer {
        Peer {
            host,
            storage: self.storage(&format!("{host}-{nick}")),
            bootstrap: bootstrap.to_string(),
            nick: nick.to_string(),
        }
    }

    fn watch(&mut self, storage: &Path, process: &Background) {
        self.transcripts
            .push((storage.to_path_buf(), process.transcript()));
    }

    /// Everything so far, then panics: every process's output and the tail
    /// of every hychat log of the scenario.
    pub fn fail(&self, what: &str) -> ! {
        let mut text = format!("[{}] {what}\n", self.name);
        for (_, transcript) in &self.transcripts {
            text.push_str(&format!("\n{}\n", transcript.describe()));
        }
        for storage in &self.storages {
            text.push_str(&format!("\n{}\n", log_tail(storage)));
        }
        panic!("{text}");
    }

    pub fn record(&mut self, what: &str, took: Duration) {
        eprintln!("[{}] {what}: {:.1} s", self.name, took.as_secs_f64());
        self.timings.push(Timing {
            what: what.to_string(),
            took,
        });
    }

    /// A long-running hychat command of `peer` in the background.
    pub fn spawn(&mut self, peer: &Peer, what: &str, args: Vec<String>) -> Background {
        let name = format!("hychat {what} ({} on {})", peer.nick, peer.host);
        let process = self.lab.spawn(peer.host, &name, &args);
        self.watch(&peer.storage.clone(), &process);
        process
    }

    /// A hychat command of `peer` run to its end; fails the scenario unless
    /// it exits with 0. Returns stdout and stderr.
    pub fn run(&mut self, peer: &Peer, args: Vec<String>, bound: Duration) -> (String, String) {
        let output = self.lab.run(peer.host, &args, bound);
        let stdout = stdout_of(&output);
        let stderr = stderr_of(&output);
        if !output.status.success() {
            self.fail(&format!(
                "`hychat {}` on {} failed with {:?}\nstdout: {stdout}\nstderr: {stderr}",
                args.join(" "),
                peer.host,
                output.status
            ));
        }
        (stdout, stderr)
    }

    /// The peer's key (`hychat key`).
    pub fn key(&mut self, peer: &Peer) -> String {
        let (stdout, _) = self.run(peer, peer.args(&["key"]), QUICK);
        let key = stdout.trim().to_string();
        if !is_key(&key) {
            self.fail(&format!("hychat key printed no key: {stdout:?}"));
        }
        key
    }

    /// `hychat send TEXT` (offline: only appends).
    pub fn send(&mut self, peer: &Peer, room: Option<&str>, text: &str) {
        let args = match room {
            Some(room) => peer.room_args(room, &["send", text]),
            None => peer.args(&["send", text]),
        };
        self.run(peer, args, QUICK);
    }

    /// `hychat send TEXT --wait SEND_WAIT`: appends, stays online until a
    /// peer downloaded it, and fails the scenario if none did. Returns how
    /// long that took.
    pub fn send_and_wait(&mut self, peer: &Peer, room: Option<&str>, text: &str) -> Duration {
        let wait = SEND_WAIT.to_string();
        let command = ["send", text, "--wait", wait.as_str()];
        let args = match room {
            Some(room) => peer.room_args(room, &command),
            None => peer.args(&command),
        };
        let started = Instant::now();
        let (_, stderr) = self.run(peer, args, QUICK + Duration::from_secs(SEND_WAIT));
        if !stderr.contains("✓ held by ") {
            self.fail(&format!(
                "`hychat send {text:?} --wait {SEND_WAIT}` on {} ({}): no peer downloaded it\nstderr: {stderr}",
                peer.host, peer.nick
            ));
        }
        started.elapsed()
    }

    /// `hychat follow KEY`.
    pub fn follow(&mut self, peer: &Peer, key: &str) {
        self.run(peer, peer.args(&["follow", key]), QUICK);
    }

    /// `hychat tail KEY --json` in the background.
    pub fn tail(&mut self, peer: &Peer, key: &str) -> Background {
        let what = format!("tail {}", &key[..8]);
        self.spawn(peer, &what, peer.args(&["tail", key, "--json"]))
    }

    /// `hychat [--room ROOM] seed` in the background, once it says it runs.
    /// On a public host it would offer a blind relay; the lab's seeds
    /// offer none (`--no-relay`), so scenes about seeds see no relay.
    pub fn seed(&mut self, peer: &Peer, room: Option<&str>) -> Background {
        self.seed_with(peer, room, false)
    }

    /// `seed`, offering a blind relay once reachable (the default) when
    /// `relay` says so.
    pub fn seed_with(&mut self, peer: &Peer, room: Option<&str>, relay: bool) -> Background {
        let seed: &[&str] = if relay {
            &["seed"]
        } else {
            &["seed", "--no-relay"]
        };
        let args = match room {
            Some(room) => peer.room_args(room, seed),
            None => peer.args(seed),
        };
        let mut seed = self.spawn(peer, "seed", args);
        if seed
            .wait_for_line(QUICK, |l| l.starts_with("seeding every log"))
            .is_none()
        {
            self.fail(&format!("hychat seed on {} did not start", peer.host));
        }
        seed
    }

    /// `hychat bootstrap` on `host`'s address and `DHT_PORT`, once it
    /// listens. Returns the process and the address to give peers.
    pub fn bootstrap_node(&mut self, host: &'static str) -> (Background, String) {
        self.bootstrap_node_joining(host, &[])
    }

    /// The same, joined to the DHT nodes at `bootstrap` (`--bootstrap`),
    /// so several nodes make one DHT; with none, a DHT of its own.
    pub fn bootstrap_node_joining(
        &mut self,
        host: &'static str,
        bootstrap: &[String],
    ) -> (Background, String) {
        let storage = self.storage(&format!("{host}-bootstrap"));
        self.nodes.push(storage.clone());
        let (node, address, _) = self.node_in(host, &storage, bootstrap, false);
        (node, address)
    }

    /// `bootstrap_node_joining`, offering a blind relay as a bootstrap node
    /// does by default (every other bootstrap node of the lab is started
    /// with `--no-relay`, so that scenes about seeds see no relay): the
    /// process, its address and the relay's key.
    pub fn relaying_bootstrap_node(
        &mut self,
        host: &'static str,
        bootstrap: &[String],
    ) -> (Background, String, String) {
        let storage = self.storage(&format!("{host}-bootstrap"));
        self.nodes.push(storage.clone());
        let (node, address, key) = self.node_in(host, &storage, bootstrap, true);
        (node, address, key.unwrap_or_default())
    }

    /// A bootstrap node of this scene started again on `host` (same
    /// address, port and storage) after it stopped, joined to `bootstrap`.
    pub fn restart_bootstrap_node(
        &mut self,
        host: &'static str,
        bootstrap: &[String],
    ) -> (Background, String) {
        let prefix = format!("hychat-lab-{host}-bootstrap-");
        let Some(storage) = self
            .nodes
            .iter()
            .find(|dir| {
                dir.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(&prefix))
            })
            .cloned()
        else {
            self.fail(&format!("no bootstrap node ran on {host} to restart"));
        };
        let (node, address, _) = self.node_in(host, &storage, bootstrap, false);
        (node, address)
    }

    /// A bootstrap node on `host`: with `relay`, also the key of the blind
    /// relay it offers (from its stdout).
    fn node_in(
        &mut self,
        host: &'static str,
        storage: &Path,
        bootstrap: &[String],
        relay: bool,
    ) -> (Background, String, Option<String>) {
        let ip = self.lab.addr(host).to_string();
        let mut args: Vec<String> = vec![
            "--storage".into(),
            storage.to_str().expect("a UTF-8 temp path").into(),
        ];
        if !bootstrap.is_empty() {
            args.extend(["--bootstrap".into(), bootstrap.join(",")]);
        }
        args.extend(
            ["bootstrap", "--host", &ip, "--port", &DHT_PORT.to_string()].map(str::to_string),
        );
        if !relay {
            args.push("--no-relay".into());
        }
        let name = format!("hychat bootstrap (on {host})");
        let mut node = self.lab.spawn(host, &name, &args);
        self.watch(storage, &node);
        let address = self.lab.dht_addr(host);
        let expected = format!("bootstrap node listening on {address}");
        if node.wait_for_line(QUICK, |l| l == expected).is_none() {
            self.fail(&format!(
                "the hychat bootstrap node on {host} did not start"
            ));
        }
        let key = relay.then(|| {
            let line = node.wait_for_line(QUICK, |l| l.starts_with(RELAY_OFFERED));
            line.and_then(|l| {
                let key = l.strip_prefix(RELAY_OFFERED)?.split_whitespace().next()?;
                Some(key.to_string())
            })
            .unwrap_or_else(|| {
                self.fail(&format!(
                    "the hychat bootstrap node on {host} offered no blind relay"
                ))
            })
        });
        (node, address, key)
    }

    /// A JS DHT node (`bootstrap.js`) on `host`, joined to `bootstrap`.
    pub fn js_dht_node(&mut self, host: &'static str, bootstrap: &str) -> Background {
        self.js_dht_node_at(host, DHT_PORT, bootstrap)
    }

    /// A JS DHT node on `host` and `port` (several can share a host, each
    /// on its own port), joined to `bootstrap` (none when it is empty).
    pub fn js_dht_node_at(&mut self, host: &'static str, port: u16, bootstrap: &str) -> Background {
        let ip = self.lab.addr(host).to_string();
        let address = format!("{ip}:{port}");
        let args = [port.to_string(), ip, bootstrap.to_string()];
        let name = format!("js DHT node (on {host}, {address})");
        let mut node = self.lab.spawn_js(host, &name, "bootstrap.js", &args);
        self.transcripts.push((PathBuf::new(), node.transcript()));
        let expected = format!("BOOTSTRAP {address}");
        if node.wait_for_line(JS_STARTUP, |l| l == expected).is_none() {
            self.fail(&format!("the JS DHT node on {address} did not start"));
        }
        node
    }

    /// A JS process that has no hychat log (writer, viewer).
    pub fn js(
        &mut self,
        host: &'static str,
        name: &str,
        script: &str,
        args: &[String],
    ) -> Background {
        let process = self.lab.spawn_js(host, name, script, args);
        self.transcripts
            .push((PathBuf::new(), process.transcript()));
        process
    }

    /// A fresh storage directory for a JS peer.
    pub fn js_storage(&mut self, what: &str) -> PathBuf {
        self.temp_dir(&format!("js-{what}"))
    }

    /// Reads `tail --json` lines until one carries `text`; fails the
    /// scenario after `bound`. Returns how long it took.
    pub fn expect_text(&self, tail: &mut Background, text: &str, bound: Duration) -> Duration {
        let started = Instant::now();
        let found = tail.wait_for_line(bound, |line| {
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|value| value["text"] == text)
        });
        if found.is_none() {
            self.fail(&format!(
                "{} printed no message {text:?} within {bound:?}",
                tail.name()
            ));
        }
        started.elapsed()
    }

    /// Reads a seed's lines until `accept` takes one; fails after `bound`.
    pub fn expect_line(
        &self,
        process: &mut Background,
        what: &str,
        bound: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> String {
        process.wait_for_line(bound, accept).unwrap_or_else(|| {
            self.fail(&format!(
                "{} never said {what} within {bound:?}",
                process.name()
            ))
        })
    }

    /// Reads a process's lines until every one of `wanted` matched a line
    /// (in any order); fails after `bound`.
    pub fn expect_all(&self, process: &mut Background, bound: Duration, wanted: &[LineCheck]) {
        let deadline = Instant::now() + bound;
        let mut seen = vec![false; wanted.len()];
        while seen.iter().any(|s| !s) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(line) = process.next_line(left) else {
                let missing: Vec<&str> = wanted
                    .iter()
                    .zip(&seen)
                    .filter(|(_, seen)| !**seen)
                    .map(|((what, _), _)| *what)
                    .collect();
                self.fail(&format!(
                    "{} never said {} within {bound:?}",
                    process.name(),
                    missing.join(", ")
                ));
            };
            for (i, (_, accept)) in wanted.iter().enumerate() {
                seen[i] |= accept(&line);
            }
        }
    }

    /// Waits until `peer` holds `text` in its local index of `key`'s log
    /// (`logs/KEY/index.jsonl`), in `room` when given; fails after `bound`.
    pub fn expect_in_index(
        &self,
        peer: &Peer,
        key: &str,
        text: &str,
        room: Option<&str>,
        bound: Duration,
    ) {
        let path = peer.storage.join("feeds").join(key).join("index.jsonl");
        let deadline = Instant::now() + bound;
        loop {
            let index = std::fs::read_to_string(&path).unwrap_or_default();
            let found = index.lines().any(|line| {
                serde_json::from_str::<serde_json::Value>(line).is_ok_and(|value| {
                    line.contains(text)
                        && room.is_none_or(|room| {
                            value["room"] == room
                                || value["message"]["room"] == room
                                || line.contains(&format!("\"room\":\"{room}\""))
                        })
                })
            });
            if found {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "{} ({}) does not hold {text:?} in {} after {bound:?}:\n{index}",
                    peer.nick,
                    peer.host,
                    path.display()
                ));
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// The check every scenario ends with: no hychat of the scenario
    /// panicked without recovering (see `uncaught_panics`).
    pub fn check_no_uncaught_panics(&self) {
        let mut problems = Vec::new();
        for storage in &self.storages {
            let log = std::fs::read_to_string(storage.join("hychat.log")).unwrap_or_default();
            let stderr: Vec<String> = self
                .transcripts
                .iter()
                .filter(|(dir, _)| dir == storage)
                .map(|(_, transcript)| transcript.describe())
                .collect();
            if let Some(problem) = uncaught_panics(&log, &stderr) {
                problems.push(format!(
                    "{}: {problem}",
                    storage.join("hychat.log").display()
                ));
            }
        }
        if !problems.is_empty() {
            self.fail(&format!(
                "a hychat panicked without recovering:\n{}",
                problems.join("\n")
            ));
        }
    }

    /// Fails the scenario if any of its hychat bootstrap nodes panicked,
    /// even one that recovered: its log and its output must show no
    /// `panicked at` (see `panics`).
    pub fn check_nodes_never_panicked(&self) {
        let mut problems = Vec::new();
        for storage in &self.nodes {
            let log = std::fs::read_to_string(storage.join("hychat.log")).unwrap_or_default();
            let outputs: Vec<String> = self
                .transcripts
                .iter()
                .filter(|(dir, _)| dir == storage)
                .map(|(_, transcript)| transcript.describe())
                .collect();
            if let Some(line) = panics(&log, &outputs) {
                problems.push(format!("{}: `{line}`", storage.display()));
            }
        }
        if !problems.is_empty() {
            self.fail(&format!(
                "a hychat bootstrap node panicked:\n{}",
                problems.join("\n")
            ));
        }
    }

    /// Ends the scenario: the panic check, then its timings.
    pub fn finish(self) -> Vec<Timing> {
        self.check_no_uncaught_panics();
        self.timings.clone()
    }
}

/// The phrase hychat logs when it caught a panic and went on.
pub const RECOVERED: &str = "recovered from a panic";

/// Whether a hychat panicked without recovering. In its log file (where
/// the stderr of every command but `bootstrap` goes), each line with
/// `panicked at` must be answered by a recovery line of its own: the next
/// `panicked at` or `recovered from a panic` line after it must be a
/// recovery, so one recovery never excuses two panics, nor a later one an
/// earlier. `hychat bootstrap` keeps its stderr: each panic printed there
/// (in any of `outputs`) needs a recovery line in the log that no other
/// panic took.
pub fn uncaught_panics(log: &str, outputs: &[String]) -> Option<String> {
    let mut pending: Option<&str> = None;
    let mut spare_recoveries = 0usize;
    for line in log.lines() {
        if line.contains("panicked at") {
            if let Some(earlier) = pending {
                return Some(format!(
                    "`{}` is followed by another panic before any recovery line",
                    earlier.trim()
                ));
            }
            pending = Some(line);
        } else if line.contains(RECOVERED) && pending.take().is_none() {
            spare_recoveries += 1;
        }
    }
    if let Some(line) = pending {
        return Some(format!("`{}` is followed by no recovery line", line.trim()));
    }
    let printed: Vec<&str> = outputs
        .iter()
        .flat_map(|output| output.lines())
        .filter(|line| line.contains("panicked at"))
        .collect();
    if printed.len() > spare_recoveries {
        return Some(format!(
            "the process printed {} panics (`{}`) and the log has {spare_recoveries} recovery lines for them",
            printed.len(),
            printed[0].trim()
        ));
    }
    None
}

/// The first line of `log` or of any of `outputs` that says a thread
/// panicked, recovered or not.
pub fn panics(log: &str, outputs: &[String]) -> Option<String> {
    std::iter::once(log)
        .chain(outputs.iter().map(String::as_str))
        .flat_map(str::lines)
        .find(|line| line.contains("panicked at"))
        .map(|line| line.trim().to_string())
}
