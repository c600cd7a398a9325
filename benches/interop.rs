//! Interop latency benchmark (a bench binary: prints figures, asserts no
//! timing). Run with `cargo bench --bench interop` after
//! `npm ci --prefix tests/js`.
//!
//! Three pairs on one loopback DHT, measured in one run, each over
//! `HYCHAT_BENCH_LIVE` (default 100) live messages appended one at a time:
//! - JS writer → hychat reader (the engine in-process);
//! - hychat writer (in-process) → JS viewer;
//! - JS writer → JS viewer, the reference.
//!
//! Wall-clock milliseconds on both sides: the JS peers print `Date.now()`,
//! this process reads the system clock. Same machine, same clock.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hychat::domain::LogKey;
use hychat::net::{self, NetCommand, NetConfig, NetEvent};

const JS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");
const LINE_WAIT: Duration = Duration::from_secs(60);

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1e3)
        .unwrap_or(0.0)
}

/// A node process whose stdout lines arrive on a channel. Killed on drop.
struct NodeProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std_mpsc::Receiver<String>,
}

impl NodeProcess {
    fn start(script: &str, args: &[&str]) -> Self {
        let mut child = Command::new("node")
            .arg(Path::new(JS_DIR).join(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (npm ci --prefix tests/js first)");
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, lines) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn line_starting(&self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(LINE_WAIT)
                .unwrap_or_else(|_| panic!("no `{prefix}` line from node"));
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// Has the JS writer append `text`; returns its append time in ms.
    fn append_timed(&mut self, text: &str) -> f64 {
        self.write_line(text);
        self.line_starting("APPENDED ")
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("the writer prints its append time")
    }

    /// Waits for the JS viewer to print `text`; returns its arrival time in ms.
    fn received_ms(&self, text: &str) -> f64 {
        loop {
            let line = self
                .lines
                .recv_timeout(LINE_WAIT)
                .expect("the viewer prints the message");
            if let Some((got, received)) = viewer_received_ms(&line) {
                if got == text {
                    return received;
                }
            }
        }
    }

    fn write_line(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{text}").expect("write to node");
        stdin.flush().expect("flush node stdin");
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn summary(name: &str, mut samples: Vec<f64>) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name:<22} n={:<4} median {:>6.1} ms   p90 {:>6.1} ms   max {:>6.1} ms",
        samples.len(),
        at(0.5),
        at(0.9),
        at(1.0)
    );
}

/// Waits for `text` in `log` and returns the arrival time in ms.
async fn wait_text(
    events: &mut tokio::sync::mpsc::Receiver<NetEvent>,
    log: LogKey,
    text: &str,
) -> f64 {
    let arrival = async {
        while let Some(event) = events.recv().await {
            if let NetEvent::Appended {
                log: f, message, ..
            } = event
            {
                if f == log && message.text == text {
                    return now_ms();
                }
            }
        }
        panic!("engine stopped");
    };
    tokio::time::timeout(LINE_WAIT, arrival)
        .await
        .expect("message arrives")
}

fn viewer_received_ms(line: &str) -> Option<(String, f64)> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let text = value["block"]["text"].as_str()?.to_string();
    Some((text, value["received"].as_f64()?))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let live: usize = std::env::var("HYCHAT_BENCH_LIVE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let bootstrap = net::run_bootstrap_node("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bootstrap node");
    let addr = bootstrap.local_addr().to_string();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = |name: &str| tmp.path().join(name).to_string_lossy().into_owned();

    let config = |name: &str| {
        let mut config = NetConfig::new(tmp.path().join(name));
        config.bootstrap = vec![addr.clone()];
        config.host_local_bootstrap = false;
        config.refresh_interval = Duration::from_secs(1);
        config
    };

    // JS writer → hychat.
    let mut writer = NodeProcess::start(
        "writer.js",
        &["--storage", &dir("js-w1"), "--bootstrap", &addr],
    );
    let key: LogKey = writer.line_starting("KEY ")[4..]
        .parse()
        .expect("writer key");
    writer.write_line("warm-up");
    let (reader, mut events) = net::spawn(config("rust-r")).await.expect("engine");
    reader.send(NetCommand::Follow { key, name: None }).await;
    let mut samples = Vec::new();
    wait_text(&mut events, key, "warm-up").await;
    for i in 0..live {
        let text = format!("js-to-rust {i}");
        let appended = writer.append_timed(&text);
        let arrived = wait_text(&mut events, key, &text).await;
        samples.push(arrived - appended);
    }
    summary("JS → hychat", samples);
    drop(writer);

    // hychat → JS viewer.
    let (rust_writer, mut writer_events) = net::spawn(config("rust-w")).await.expect("engine");
    let own = rust_writer.own_key();
    rust_writer
        .send(NetCommand::Append {
            text: "warm-up".into(),
            room: None,
        })
        .await;
    let viewer = NodeProcess::start(
        "viewer.js",
        &[
            &own.to_hex(),
            "--storage",
            &dir("js-v1"),
            "--bootstrap",
            &addr,
        ],
    );
    viewer.line_starting("{");
    let mut samples = Vec::new();
    for i in 0..live {
        let text = format!("rust-to-js {i}");
        let sent = now_ms();
        rust_writer
            .send(NetCommand::Append {
                text: text.clone(),
                room: None,
            })
            .await;
        samples.push(viewer.received_ms(&text) - sent);
        while writer_events.try_recv().is_ok() {}
    }
    summary("hychat → JS", samples);
    drop(viewer);

    // JS → JS, the reference.
    let mut writer = NodeProcess::start(
        "writer.js",
        &["--storage", &dir("js-w2"), "--bootstrap", &addr],
    );
    let key = writer.line_starting("KEY ")[4..].to_string();
    writer.write_line("warm-up");
    let viewer = NodeProcess::start(
        "viewer.js",
        &[&key, "--storage", &dir("js-v2"), "--bootstrap", &addr],
    );
    viewer.line_starting("{");
    let mut samples = Vec::new();
    for i in 0..live {
        let text = format!("js-to-js {i}");
        let appended = writer.append_timed(&text);
        samples.push(viewer.received_ms(&text) - appended);
    }
    summary("JS → JS (reference)", samples);
}
