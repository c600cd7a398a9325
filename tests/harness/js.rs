//! The JS reference peers of `tests/js` (hypercore 10 and 11, hyperswarm 4,
//! hyperdht 6 from the npm registry): installing their pinned packages when
//! missing (`npm ci`), and starting the writer, the viewer and a JS DHT
//! bootstrap node as background processes bound to 127.0.0.1, or a script
//! run to its end (`run_script`, the storage bench's reference figures).
//! Used by the interop tests and the interop and storage benches; the lab
//! starts the same scripts on its hosts (`js_dir`, `viewer_args`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use super::bin::{free_udp_port, is_key, loopback, PORT_RACE_TRIES};
use super::process::Background;

/// Upper bound for a JS peer to start (print its key, join the swarm).
pub const JS_STARTUP: Duration = Duration::from_secs(30);
/// Upper bound for `npm ci`.
const NPM_CI: Duration = Duration::from_secs(90);
/// The packages `tests/js/package.json` pins; their presence means installed.
const PACKAGES: [&str; 5] = ["b4a", "hypercore", "hypercore11", "hyperdht", "hyperswarm"];

pub fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("js")
}

fn installed(dir: &Path) -> bool {
    PACKAGES.iter().all(|package| {
        dir.join("node_modules")
            .join(package)
            .join("package.json")
            .is_file()
    })
}

/// Runs a command to its end, at most `limit`; returns its combined output.
fn run_bounded(mut command: Command, limit: Duration) -> Result<String, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let deadline = Instant::now() + limit;
    while matches!(child.try_wait(), Ok(None)) {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let output = child.wait_with_output().map_err(|e| e.to_string())?;
            return Err(format!(
                "{command:?} did not finish within {limit:?}\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!("{command:?} failed with {}\n{text}", output.status))
    }
}

/// Makes sure `node` runs and the JS peers' packages are installed, running
/// `npm ci --prefix tests/js` when they are not. Panics with the reason
/// otherwise: these tests never skip silently. Runs once per test binary.
pub fn ensure_js_peers() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let mut version = Command::new("node");
        version.arg("--version");
        if let Err(e) = run_bounded(version, Duration::from_secs(30)) {
            panic!("the interop tests need Node.js as `node` on PATH: {e}");
        }
        let dir = js_dir();
        if installed(&dir) {
            return;
        }
        let mut npm = Command::new("npm");
        npm.arg("ci").arg("--prefix").arg(&dir);
        if let Err(e) = run_bounded(npm, NPM_CI) {
            panic!(
                "the JS peers' packages are missing from {} and `npm ci --prefix {}` failed; \
                 run it by hand (it needs the npm registry) and try again:\n{e}",
                dir.join("node_modules").display(),
                dir.display()
            );
        }
        assert!(
            installed(&dir),
            "`npm ci --prefix {}` succeeded but {PACKAGES:?} are still not all under node_modules",
            dir.display()
        );
    });
}

/// Runs a script of `tests/js` to its end, at most `limit`; returns its
/// output (stdout, then stderr), or why it failed with that output.
pub fn run_script(script: &str, args: &[String], limit: Duration) -> Result<String, String> {
    ensure_js_peers();
    let mut command = Command::new("node");
    command.arg(js_dir().join(script)).args(args);
    run_bounded(command, limit)
}

/// A script of `tests/js` as a background process named `name`, its stdin a
/// pipe when `with_stdin`.
pub fn node(name: &str, script: &str, args: &[String], with_stdin: bool) -> Background {
    ensure_js_peers();
    let mut command = Command::new("node");
    command.arg(js_dir().join(script)).args(args);
    Background::spawn(name, command, with_stdin)
}

/// Which side of a topic the JS writer takes (`--mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Announces and looks up (the default).
    Both,
    /// Only announces: the other side opens the connection.
    Server,
    /// Only looks up: the JS side opens the connection.
    Client,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Both => "both",
            Mode::Server => "server",
            Mode::Client => "client",
        }
    }
}

/// `writer.js`: appends each stdin line as a chat message (nickname
/// `js-writer`) and serves its log. Prints `KEY <hex>`, `JOINED`,
/// `APPENDED <seq> <ms>`, `PEER <hex>`.
pub struct JsWriter {
    pub process: Background,
    pub key: String,
}

impl JsWriter {
    /// Starts a writer on `storage` and waits until it has joined its topic.
    /// `v11` writes with hypercore 11 in compat mode. The error carries the
    /// writer's output, for the caller's failure report.
    pub fn start(storage: &Path, bootstrap: &str, mode: Mode, v11: bool) -> Result<Self, String> {
        let mut args = vec![
            "--storage".to_string(),
            storage.to_str().expect("a UTF-8 temp path").to_string(),
            "--bootstrap".to_string(),
            bootstrap.to_string(),
            "--mode".to_string(),
            mode.arg().to_string(),
        ];
        if v11 {
            args.push("--v11".to_string());
        }
        let name = format!(
            "js writer (hypercore {}, --mode {})",
            if v11 { "11" } else { "10" },
            mode.arg()
        );
        let mut process = node(&name, "writer.js", &args, true);
        let Some(key) = process
            .wait_for_line(JS_STARTUP, |l| {
                l.starts_with("KEY ") || l.starts_with("FATAL")
            })
            .and_then(|l| l.strip_prefix("KEY ").map(str::to_string))
        else {
            return Err(format!(
                "the JS writer printed no key within {JS_STARTUP:?}\n{}",
                process.describe()
            ));
        };
        if !is_key(&key) {
            return Err(format!(
                "the JS writer's key is not 64 hex characters: {key:?}\n{}",
                process.describe()
            ));
        }
        if process
            .wait_for_line(JS_STARTUP, |l| l == "JOINED" || l.starts_with("FATAL"))
            .is_none_or(|l| l != "JOINED")
        {
            return Err(format!(
                "the JS writer did not join its topic within {JS_STARTUP:?}\n{}",
                process.describe()
            ));
        }
        Ok(Self { process, key })
    }

    /// Appends `text` (a line on stdin) and waits for `APPENDED <seq>`.
    pub fn append(&mut self, seq: u64, text: &str) -> Result<(), String> {
        self.appended_line(seq, text).map(drop)
    }

    /// Like `append`, and returns when the writer appended, in milliseconds
    /// since the Unix epoch (the `<ms>` of `APPENDED <seq> <ms>`).
    pub fn append_timed(&mut self, seq: u64, text: &str) -> Result<u64, String> {
        let line = self.appended_line(seq, text)?;
        line.rsplit(' ')
            .next()
            .and_then(|ms| ms.parse().ok())
            .ok_or_else(|| {
                format!(
                    "the JS writer's `APPENDED` line has no time: {line:?}\n{}",
                    self.process.describe()
                )
            })
    }

    /// Appends every line of `texts` (seqs `first..`), a chunk of lines at
    /// a time: the writer's `APPENDED` lines are read after each chunk, so
    /// neither pipe fills up while the other waits.
    pub fn append_many(&mut self, first: u64, texts: &[String]) -> Result<(), String> {
        const CHUNK: usize = 500;
        for (n, chunk) in texts.chunks(CHUNK).enumerate() {
            for text in chunk {
                self.process.write_line(text);
            }
            let last = first + (n * CHUNK + chunk.len() - 1) as u64;
            let prefix = format!("APPENDED {last} ");
            if self
                .process
                .wait_for_line(JS_STARTUP, |l| l.starts_with(&prefix))
                .is_none()
            {
                return Err(format!(
                    "the JS writer did not append seq {last} within {JS_STARTUP:?}\n{}",
                    self.process.describe()
                ));
            }
        }
        Ok(())
    }

    /// Writes `text` on stdin and returns the writer's `APPENDED <seq> ...` line.
    fn appended_line(&mut self, seq: u64, text: &str) -> Result<String, String> {
        self.process.write_line(text);
        let prefix = format!("APPENDED {seq} ");
        match self
            .process
            .wait_for_line(JS_STARTUP, |l| l.starts_with(&prefix))
        {
            Some(line) => Ok(line),
            None => Err(format!(
                "the JS writer did not append {text:?} as seq {seq} within {JS_STARTUP:?}\n{}",
                self.process.describe()
            )),
        }
    }

    pub fn short(&self) -> &str {
        &self.key[..8]
    }
}

/// `viewer.js KEY`: follows a log and prints each block as one JSON line,
/// `{"seq":n,"block":{...},"received":ms}`, in order.
pub struct JsViewer {
    pub process: Background,
    /// The lines that were not blocks (`JOINED`, `PEER ...`, `FATAL ...`),
    /// for failure reports that cannot show every block.
    pub status: Vec<String>,
}

impl JsViewer {
    pub fn start(key: &str, storage: &Path, bootstrap: &str) -> Self {
        let args = viewer_args(key, storage, bootstrap);
        Self {
            process: node("js viewer", "viewer.js", &args, false),
            status: Vec::new(),
        }
    }

    /// The next block the viewer printed, keeping its status lines aside;
    /// `None` when `timeout` passes first.
    pub fn next_block(&mut self, timeout: Duration) -> Option<ViewerBlock> {
        let deadline = Instant::now() + timeout;
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let line = self.process.next_line(left)?;
            if line.starts_with('{') {
                break line;
            }
            self.status.push(line);
        };
        let mut value: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "the JS viewer printed a line that is not JSON ({e}): {line:?}\n{}",
                self.process.describe()
            )
        });
        Some(ViewerBlock {
            seq: value["seq"].as_u64().unwrap_or_else(|| {
                panic!(
                    "the JS viewer's line has no `seq`: {line:?}\n{}",
                    self.process.describe()
                )
            }),
            block: value["block"].take(),
            received_ms: value["received"].as_u64().unwrap_or_else(|| {
                panic!(
                    "the JS viewer's line has no `received` time: {line:?}\n{}",
                    self.process.describe()
                )
            }),
        })
    }
}

/// One line of the viewer: the block's seq, the decoded block and when it
/// arrived.
pub struct ViewerBlock {
    /// The block's place in the log, counted by the viewer's in-order read.
    pub seq: u64,
    pub block: serde_json::Value,
    /// Milliseconds since the Unix epoch.
    pub received_ms: u64,
}

/// `bootstrap.js PORT`: a JS `DHT.bootstrapper` on 127.0.0.1, on a port
/// picked free (see `PORT_RACE_TRIES`). Returns the process (stopped on
/// drop) and its port.
pub fn start_js_bootstrap() -> (Background, u16) {
    let mut failures = Vec::new();
    for attempt in 1..=PORT_RACE_TRIES {
        let port = free_udp_port();
        let mut node = node("js bootstrap", "bootstrap.js", &[port.to_string()], false);
        let expected = format!("BOOTSTRAP {}", loopback(port));
        if node.wait_for_line(JS_STARTUP, |l| l == expected).is_some() {
            return (node, port);
        }
        node.terminate();
        eprintln!(
            "try {attempt} of {PORT_RACE_TRIES}: no JS bootstrap node came up on port {port}:\n{}",
            node.describe()
        );
        failures.push(node.describe());
    }
    panic!(
        "no JS bootstrap node came up on loopback in {PORT_RACE_TRIES} tries:\n{}",
        failures.join("\n")
    );
}

/// The arguments of `viewer.js`: the key to follow, its storage, its bootstrap list.
pub fn viewer_args(key: &str, storage: &Path, bootstrap: &str) -> [String; 5] {
    [
        key.to_string(),
        "--storage".to_string(),
        storage.to_str().expect("a UTF-8 temp path").to_string(),
        "--bootstrap".to_string(),
        bootstrap.to_string(),
    ]
}

/// `dial-targets.js`: a JS testnet of three DHT nodes on loopback and, on
/// demand, one fresh JS server after another (fresh keys, a one-message
/// log, server only), each stopped when the next starts.
pub struct JsDialTargets {
    pub process: Background,
    /// The testnet's nodes, `host:port,...`.
    pub bootstrap: String,
}

impl JsDialTargets {
    /// Starts the testnet, its first node on `port`, the logs under `storage`.
    pub fn start(port: u16, storage: &Path) -> Result<Self, String> {
        let args = [
            port.to_string(),
            storage.to_str().expect("a UTF-8 temp path").to_string(),
        ];
        let mut process = node("js dial targets", "dial-targets.js", &args, true);
        let Some(bootstrap) = process
            .wait_for_line(JS_STARTUP, |l| {
                l.starts_with("BOOTSTRAP ") || l.starts_with("FATAL")
            })
            .and_then(|l| l.strip_prefix("BOOTSTRAP ").map(str::to_string))
        else {
            return Err(format!(
                "the JS testnet did not start within {JS_STARTUP:?}\n{}",
                process.describe()
            ));
        };
        Ok(Self { process, bootstrap })
    }

    /// Stops the last server and starts server `n`; returns its log's key
    /// once its announcement is flushed. Its one message says `first dial n`.
    pub fn next(&mut self, n: usize) -> Result<String, String> {
        self.process.write_line("next");
        let suffix = format!(" {n}");
        let line = self.process.wait_for_line(JS_STARTUP, |l| {
            (l.starts_with("KEY ") && l.ends_with(&suffix)) || l.starts_with("FATAL")
        });
        match line.as_deref().and_then(|l| l.split(' ').nth(1)) {
            Some(key) if is_key(key) => Ok(key.to_string()),
            _ => Err(format!(
                "JS server {n} did not announce within {JS_STARTUP:?}\n{}",
                self.process.describe()
            )),
        }
    }
}

/// The arguments of `dial-targets.js` serving its fresh JS servers on an
/// existing DHT: the DHT's nodes (`host:port,...`) and the logs' storage.
pub fn dial_targets_args(bootstrap: &str, storage: &Path) -> [String; 3] {
    [
        "--bootstrap".to_string(),
        bootstrap.to_string(),
        storage.to_str().expect("a UTF-8 temp path").to_string(),
    ]
}

impl JsDialTargets {
    /// A `dial-targets.js` started elsewhere with `dial_targets_args` (the
    /// network lab starts it on one of its hosts), once it said it serves
    /// on `bootstrap`. The error carries its output.
    pub fn serving_on(mut process: Background, bootstrap: &str) -> Result<Self, String> {
        let expected = format!("BOOTSTRAP {bootstrap}");
        let line = process.wait_for_line(JS_STARTUP, |l| {
            l.starts_with("BOOTSTRAP ") || l.starts_with("FATAL")
        });
        if line.as_deref() != Some(expected.as_str()) {
            return Err(format!(
                "the JS dial targets did not say {expected:?} within {JS_STARTUP:?}\n{}",
                process.describe()
            ));
        }
        Ok(Self {
            process,
            bootstrap: bootstrap.to_string(),
        })
    }
}
