//! Replication benchmark on loopback (a bench binary: it prints figures and
//! asserts nothing about time). Run with `cargo bench --bench replication`.
//!
//! 1. Live latency: B follows A; A appends 1,000 messages one at a time; the
//!    time from `Append` on A to `Appended` on B, p50 / p90 / p99.
//! 2. Catch-up: A holds a 10,000-message log; a new follower C gets every
//!    block; time to the newest 50 and to the whole log.
//!
//! `HYCHAT_BENCH_MESSAGES` and `HYCHAT_BENCH_LOG` shrink the runs.

use std::time::{Duration, Instant};

use hychat::domain::LogKey;
use hychat::net::{self, NetCommand, NetEvent};
use tokio::sync::mpsc;

// This bench uses only `harness::node` and `harness::bench`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bench::{env_count, percentile};
use harness::node::{bootstrap_node, Node};

/// Waits (bounded) for an `Appended` of `log`; returns its seq.
async fn next_block(events: &mut mpsc::Receiver<NetEvent>, log: LogKey) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(NetEvent::Appended { log: f, seq, .. })) if f == log => return seq.0,
            Ok(Some(_)) => {}
            _ => panic!("no block of {} within the bound", log.short()),
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
    let messages = env_count("HYCHAT_BENCH_MESSAGES", 1000);
    let log_length = env_count("HYCHAT_BENCH_LOG", 10_000);
    let bootstrap = bootstrap_node().await;
    let addr = bootstrap.local_addr();

    // 1. Live latency.
    let mut a = Node::start(addr).await;
    let mut b = Node::start(addr).await;
    let a_key = a.handle.own_key();
    a.handle
        .send(NetCommand::Append {
            text: "warm-up".into(),
            room: None,
        })
        .await;
    next_block(&mut a.events, a_key).await;
    b.handle
        .send(NetCommand::Follow {
            key: a_key,
            name: None,
        })
        .await;
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
        "live append→arrival over {messages} messages: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.9).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );

    // 2. Catch-up of a long log by a new follower.
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
        "wrote {log_length} messages to disk in {:.1} s ({:.0}/s)",
        fill.elapsed().as_secs_f64(),
        log_length as f64 / fill.elapsed().as_secs_f64()
    );
    let mut c = Node::start(addr).await;
    let start = Instant::now();
    c.handle
        .send(NetCommand::Follow {
            key: w_key,
            name: None,
        })
        .await;
    let mut received = 0;
    let mut newest_window = None;
    while received < log_length {
        next_block(&mut c.events, w_key).await;
        received += 1;
        if received == net::NEWEST_FIRST_WINDOW.min(log_length) {
            newest_window = Some(start.elapsed());
        }
    }
    let total = start.elapsed();
    println!(
        "new follower catch-up of {log_length} messages: newest {} in {:.2} s, all in {:.1} s ({:.0} blocks/s)",
        net::NEWEST_FIRST_WINDOW,
        newest_window.unwrap_or(total).as_secs_f64(),
        total.as_secs_f64(),
        log_length as f64 / total.as_secs_f64()
    );
}
