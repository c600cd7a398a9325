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

use std::time::Instant;

use hychat::net::NetCommand;

// This bench uses only `harness::node`, `harness::js`, `harness::catch_up`
// and `harness::bench`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bench::{percentile, Pair};
use harness::catch_up::{next_block, Writers};
use harness::env;
use harness::js::ensure_js_peers;
use harness::node::{bootstrap_node, Node};

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
    let writers = Writers::write(addr, tmp.path(), log_length).await;
    writers.catch_up(addr, tmp.path(), &Pair::ALL).await;
}
