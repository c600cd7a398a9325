//! Interop latency benchmark (a bench binary: prints figures, asserts no
//! timing). Run with `cargo bench --bench interop`; the JS peers' packages
//! are installed with `npm ci --prefix tests/js` when missing.
//!
//! Three pairs on one loopback DHT, measured in one run, each over
//! `HYCHAT_BENCH_LIVE` (default 100) live messages appended one at a time:
//! - JS writer → hychat reader (the engine in-process);
//! - hychat writer (in-process) → JS viewer;
//! - JS writer → JS viewer, the reference.
//!
//! Wall-clock milliseconds on both sides: the JS peers print `Date.now()`,
//! this process reads the system clock. Same machine, same clock. The JS
//! peers and the engine are the harness's (`harness::js`, `harness::node`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hychat::domain::LogKey;
use hychat::net::NetEvent;
use tokio::sync::mpsc;

// This bench uses only `harness::node`, `harness::js` and `harness::bench`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::env;
use harness::js::{JsViewer, JsWriter, Mode};
use harness::node::{bootstrap_node, Node};

const LINE_WAIT: Duration = Duration::from_secs(60);

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1e3)
        .unwrap_or(0.0)
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
async fn wait_text(events: &mut mpsc::Receiver<NetEvent>, log: LogKey, text: &str) -> f64 {
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

/// A JS writer on `storage`, joined to its topic.
fn js_writer(storage: &std::path::Path, bootstrap: &str) -> JsWriter {
    JsWriter::start(storage, bootstrap, Mode::Both, false).unwrap_or_else(|e| panic!("{e}"))
}

/// The JS writer appends `text` as `seq`; returns its append time in ms.
fn append_timed(writer: &mut JsWriter, seq: u64, text: &str) -> f64 {
    writer
        .append_timed(seq, text)
        .unwrap_or_else(|e| panic!("{e}")) as f64
}

/// Waits for the JS viewer to print `text`; returns its arrival time in ms.
fn received_ms(viewer: &mut JsViewer, text: &str) -> f64 {
    loop {
        let Some(block) = viewer.next_block(LINE_WAIT) else {
            panic!(
                "the JS viewer printed no {text:?} within {LINE_WAIT:?}\n{}",
                viewer.process.describe()
            );
        };
        if block.block["text"] == text {
            return block.received_ms as f64;
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let live = env::count("HYCHAT_BENCH_LIVE", 100);
    let bootstrap = bootstrap_node().await;
    let addr = bootstrap.local_addr();
    let address = addr.to_string();
    let tmp = tempfile::tempdir().expect("temp dir");

    // JS writer → hychat.
    let mut writer = js_writer(&tmp.path().join("js-w1"), &address);
    let key: LogKey = writer.key.parse().expect("writer key");
    writer
        .append(0, "warm-up")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut reader = Node::start(addr).await;
    reader.follow(key).await;
    let mut samples = Vec::new();
    wait_text(&mut reader.events, key, "warm-up").await;
    for i in 0..live {
        let text = format!("js-to-rust {i}");
        let appended = append_timed(&mut writer, i + 1, &text);
        let arrived = wait_text(&mut reader.events, key, &text).await;
        samples.push(arrived - appended);
    }
    summary("JS → hychat", samples);
    drop(writer);

    // hychat → JS viewer.
    let mut rust_writer = Node::start(addr).await;
    rust_writer.append("warm-up").await;
    let mut viewer = JsViewer::start(
        &rust_writer.key.to_hex(),
        &tmp.path().join("js-v1"),
        &address,
    );
    received_ms(&mut viewer, "warm-up");
    let mut samples = Vec::new();
    for i in 0..live {
        let text = format!("rust-to-js {i}");
        let sent = now_ms();
        rust_writer.append(&text).await;
        samples.push(received_ms(&mut viewer, &text) - sent);
        while rust_writer.events.try_recv().is_ok() {}
    }
    summary("hychat → JS", samples);
    drop(viewer);

    // JS → JS, the reference.
    let mut writer = js_writer(&tmp.path().join("js-w2"), &address);
    writer
        .append(0, "warm-up")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut viewer = JsViewer::start(&writer.key, &tmp.path().join("js-v2"), &address);
    received_ms(&mut viewer, "warm-up");
    let mut samples = Vec::new();
    for i in 0..live {
        let text = format!("js-to-js {i}");
        let appended = append_timed(&mut writer, i + 1, &text);
        samples.push(received_ms(&mut viewer, &text) - appended);
    }
    summary("JS → JS (reference)", samples);
}
