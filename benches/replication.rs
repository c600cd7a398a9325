//! Replication benchmark on loopback, against the JS reference in the same
//! run (a bench binary: it prints figures and asserts nothing about time).
//! Run with `cargo bench --bench replication`; the JS peers' packages are
//! installed with `npm ci --prefix tests/js` when missing.
//!
//! 1. Live latency: B follows A; A appends 1,000 messages one at a time; the
//!    time from `Append` on A to `Appended` on B, p50 / p90 / p99.
//! 2. Catch-up of a 10,000-message log by a new reader, for the four pairs
//!    JS → JS, JS → hychat, hychat → JS and hychat → hychat: from the
//!    reader's start to its first block, to holding the newest 50, and to
//!    holding every block. The JS viewer reads its log in order (a read
//!    stream from block 0), so its newest 50 come last.
//!
//! `HYCHAT_BENCH_MESSAGES` and `HYCHAT_BENCH_LOG` shrink the runs.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hychat::domain::LogKey;
use hychat::net::{self, NetCommand, NetEvent};
use tokio::sync::mpsc;

// This bench uses only `harness::node`, `harness::js` and `harness::bench`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bench::percentile;
use harness::env;
use harness::js::{ensure_js_peers, JsViewer, JsWriter, Mode};
use harness::node::{bootstrap_node, Node};

/// How long a catch-up may take before the bench gives up on it.
const CATCH_UP_BOUND: Duration = Duration::from_secs(600);

/// Waits (bounded) for an `Appended` of `log`; returns its seq.
async fn next_block(events: &mut mpsc::Receiver<NetEvent>, log: LogKey) -> u64 {
    let deadline = tokio::time::Instant::now() + CATCH_UP_BOUND;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(NetEvent::Appended { log: f, seq, .. })) if f == log => return seq.0,
            Ok(Some(_)) => {}
            _ => panic!("no block of {} within the bound", log.short()),
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Times of one catch-up, from the reader's start.
struct CatchUp {
    first: Duration,
    newest: Duration,
    all: Duration,
    /// When the reader's connection carrying the log came up (hychat
    /// readers only; the JS viewer does not say).
    connected: Option<Duration>,
}

/// Tracks which blocks a reader holds, and when the newest window and the
/// whole log were complete.
struct Progress {
    length: u64,
    seen: BTreeSet<u64>,
    first: Option<Duration>,
    newest: Option<Duration>,
}

impl Progress {
    fn new(length: u64) -> Self {
        Self {
            length,
            seen: BTreeSet::new(),
            first: None,
            newest: None,
        }
    }

    /// Notes block `seq` at `at`; the full result once every block is held.
    fn saw(&mut self, seq: u64, at: Duration) -> Option<CatchUp> {
        self.seen.insert(seq);
        self.first.get_or_insert(at);
        let window = net::NEWEST_FIRST_WINDOW.min(self.length);
        if self.newest.is_none() && self.seen.range(self.length - window..).count() as u64 == window
        {
            self.newest = Some(at);
        }
        (self.seen.len() as u64 == self.length).then(|| CatchUp {
            first: self.first.unwrap_or(at),
            newest: self.newest.unwrap_or(at),
            all: at,
            connected: None,
        })
    }
}

fn report(pair: &str, length: u64, result: &CatchUp) {
    let after_connect = result
        .connected
        .map(|at| {
            format!(
                "   (newest {} {:.0} ms after connecting)",
                net::NEWEST_FIRST_WINDOW,
                result.newest.saturating_sub(at).as_secs_f64() * 1e3
            )
        })
        .unwrap_or_default();
    println!(
        "{pair:<18} first block {:>7.3} s   newest {} {:>7.3} s   all {length} {:>7.2} s   ({:.0} blocks/s){after_connect}",
        result.first.as_secs_f64(),
        net::NEWEST_FIRST_WINDOW,
        result.newest.as_secs_f64(),
        result.all.as_secs_f64(),
        length as f64 / result.all.as_secs_f64()
    );
}

/// A new in-process hychat reader follows `key` until it holds `length`.
async fn hychat_reader(addr: std::net::SocketAddr, key: LogKey, length: u64) -> CatchUp {
    let mut reader = Node::start(addr).await;
    let start = Instant::now();
    reader
        .handle
        .send(NetCommand::Follow { key, name: None })
        .await;
    let mut progress = Progress::new(length);
    let mut connected = None;
    let deadline = tokio::time::Instant::now() + CATCH_UP_BOUND;
    loop {
        let event = match tokio::time::timeout_at(deadline, reader.events.recv()).await {
            Ok(Some(event)) => event,
            _ => panic!("no block of {} within the bound", key.short()),
        };
        match event {
            NetEvent::PeerConnected { logs, .. } if logs.contains(&key) => {
                connected.get_or_insert(start.elapsed());
            }
            NetEvent::Appended { log, seq, .. } if log == key => {
                if let Some(mut done) = progress.saw(seq.0, start.elapsed()) {
                    done.connected = connected;
                    return done;
                }
            }
            _ => {}
        }
    }
}

/// A new JS viewer follows `key` until it printed `length` blocks.
fn js_reader(key: &str, storage: &std::path::Path, bootstrap: &str, length: u64) -> CatchUp {
    let start = now_ms();
    let mut viewer = JsViewer::start(key, storage, bootstrap);
    let mut progress = Progress::new(length);
    loop {
        let Some(block) = viewer.next_block(CATCH_UP_BOUND) else {
            panic!(
                "the JS viewer stopped after {} blocks\n{}",
                progress.seen.len(),
                viewer.process.describe()
            );
        };
        let at = Duration::from_millis(block.received_ms.saturating_sub(start));
        if let Some(done) = progress.saw(block.seq, at) {
            return done;
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // RUST_LOG=hychat=debug shows the engine's log on stderr.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    ensure_js_peers();
    let messages = env::count("HYCHAT_BENCH_MESSAGES", 1000);
    let log_length = env::count("HYCHAT_BENCH_LOG", 10_000);
    let bootstrap = bootstrap_node().await;
    let addr = bootstrap.local_addr();
    let address = addr.to_string();
    let tmp = tempfile::tempdir().expect("temp dir");

    // 1. Live latency.
    let mut a = Node::start(addr).await;
    let mut b = Node::start(addr).await;
    let a_key = a.handle.own_key();
    a.append("warm-up").await;
    b.follow(a_key).await;
    next_block(&mut b.events, a_key).await;
    let mut latencies = Vec::with_capacity(messages as usize);
    for i in 0..messages {
        let start = Instant::now();
        a.handle
            .send(NetCommand::Append {
                text: format!("latency probe {i}"),
                room: None,
            })
            .await;
        next_block(&mut b.events, a_key).await;
        latencies.push(start.elapsed());
        // The writer's own events are not looked at; keep its queue empty.
        while a.events.try_recv().is_ok() {}
    }
    latencies.sort();
    println!(
        "live append→arrival, hychat → hychat, {messages} messages: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.9).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
    drop((a, b));

    // 2. Two writers of the same length, then a new reader of each kind
    // for each.
    let mut writer = Node::start(addr).await;
    let w_key = writer.handle.own_key();
    let fill = Instant::now();
    for i in 0..log_length {
        writer
            .handle
            .send(NetCommand::Append {
                text: format!("history {i}"),
                room: None,
            })
            .await;
    }
    let mut written = 0;
    while written < log_length {
        next_block(&mut writer.events, w_key).await;
        written += 1;
    }
    println!(
        "hychat wrote {log_length} messages in {:.1} s",
        fill.elapsed().as_secs_f64()
    );
    let fill = Instant::now();
    let mut js_writer = JsWriter::start(&tmp.path().join("js-writer"), &address, Mode::Both, false)
        .unwrap_or_else(|e| panic!("{e}"));
    let texts: Vec<String> = (0..log_length).map(|i| format!("history {i}")).collect();
    js_writer
        .append_many(0, &texts)
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "JS wrote {log_length} messages in {:.1} s",
        fill.elapsed().as_secs_f64()
    );
    let j_key: LogKey = js_writer.key.parse().expect("the JS writer's key");

    println!("catch-up of {log_length} messages by a new reader, from its start:");
    let result = js_reader(
        &js_writer.key,
        &tmp.path().join("js-js"),
        &address,
        log_length,
    );
    report("JS → JS", log_length, &result);
    let result = hychat_reader(addr, j_key, log_length).await;
    report("JS → hychat", log_length, &result);
    let result = js_reader(
        &w_key.to_hex(),
        &tmp.path().join("h-js"),
        &address,
        log_length,
    );
    report("hychat → JS", log_length, &result);
    let result = hychat_reader(addr, w_key, log_length).await;
    report("hychat → hychat", log_length, &result);
}
