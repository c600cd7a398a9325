//! Rooms benchmark on loopback (a bench binary: it prints figures and
//! asserts nothing about time). Run with `cargo bench --bench rooms`.
//!
//! 1. Meeting: two fresh nodes join the same room at once; the time until
//!    each has been introduced to the other, over several rounds.
//! 2. Live latency: `Append` in the room on A to `Appended` on B, p50/p90/p99.
//! 3. Late joiner: A has written a room history; B joins; the time until B
//!    holds all of it.
//!
//! `HYCHAT_BENCH_ROUNDS`, `HYCHAT_BENCH_MESSAGES` and `HYCHAT_BENCH_LOG`
//! shrink the runs.

use std::time::{Duration, Instant};

use hychat::domain::{LogKey, RoomName};
use hychat::net::{NetCommand, NetEvent};

// This bench uses only `harness::node` and `harness::bench`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bench::percentile;
use harness::env;
use harness::node::{bootstrap_node, Node};

const BOUND: Duration = Duration::from_secs(120);

fn introduced(room: &RoomName, who: LogKey) -> impl FnMut(&NetEvent) -> Option<()> + '_ {
    move |e| match e {
        NetEvent::RoomMember { room: r, member } if r == room && member.key == who => Some(()),
        _ => None,
    }
}

/// Waits until `node` was introduced to `who` in `room`.
async fn wait_introduced(node: &mut Node, room: &RoomName, who: LogKey) {
    node.wait_within(BOUND, "an introduction", introduced(room, who))
        .await;
}

async fn join(node: &Node, room: &RoomName) {
    node.handle
        .send(NetCommand::JoinRoom { room: room.clone() })
        .await;
}

async fn say(node: &Node, room: &RoomName, text: String) {
    node.handle
        .send(NetCommand::Append {
            text,
            room: Some(room.clone()),
        })
        .await;
}

async fn stop(node: Node) {
    node.shutdown().await;
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: n={} p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.9).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds = env::count("HYCHAT_BENCH_ROUNDS", 5);
    let messages = env::count("HYCHAT_BENCH_MESSAGES", 200);
    let history = env::count("HYCHAT_BENCH_LOG", 500);
    let bootstrap = bootstrap_node().await;
    let addr = bootstrap.local_addr();

    // 1. Meeting.
    let mut meetings = Vec::new();
    for round in 0..rounds {
        let room = RoomName::parse(&format!("bench-meet-{round}")).unwrap();
        let mut a = Node::start(addr).await;
        let mut b = Node::start(addr).await;
        let (a_key, b_key) = (a.handle.own_key(), b.handle.own_key());
        let started = Instant::now();
        join(&a, &room).await;
        join(&b, &room).await;
        wait_introduced(&mut a, &room, b_key).await;
        wait_introduced(&mut b, &room, a_key).await;
        meetings.push(started.elapsed());
        stop(a).await;
        stop(b).await;
    }
    report("meeting: both joined -> both introduced", meetings);

    // 2. Live latency in a room.
    let room = RoomName::parse("bench-live").unwrap();
    let a = Node::start(addr).await;
    let mut b = Node::start(addr).await;
    let a_key = a.handle.own_key();
    join(&a, &room).await;
    join(&b, &room).await;
    wait_introduced(&mut b, &room, a_key).await;
    let mut latencies = Vec::new();
    for i in 0..messages {
        let text = format!("live {i}");
        let sent = Instant::now();
        say(&a, &room, text.clone()).await;
        b.wait_within(BOUND, "a room message", |e| match e {
            NetEvent::Appended { log, message, .. } if *log == a_key && message.text == text => {
                Some(())
            }
            _ => None,
        })
        .await;
        latencies.push(sent.elapsed());
    }
    report("live: room Append on A -> Appended on B", latencies);
    stop(a).await;
    stop(b).await;

    // 3. Late joiner.
    let room = RoomName::parse("bench-late").unwrap();
    let mut a = Node::start(addr).await;
    let a_key = a.handle.own_key();
    join(&a, &room).await;
    for i in 0..history {
        say(&a, &room, format!("history {i}")).await;
    }
    a.wait_within(BOUND, "the last append", |e| match e {
        NetEvent::Appended { seq, .. } if seq.0 + 1 == history => Some(()),
        _ => None,
    })
    .await;
    let mut b = Node::start(addr).await;
    let started = Instant::now();
    join(&b, &room).await;
    wait_introduced(&mut b, &room, a_key).await;
    let met = started.elapsed();
    let mut held = 0;
    while held < history {
        b.wait_within(BOUND * 5, "a history block", |e| match e {
            NetEvent::Appended { log, .. } if *log == a_key => Some(()),
            _ => None,
        })
        .await;
        held += 1;
    }
    println!(
        "late joiner: introduced after {:.2} s, all {history} room messages after {:.2} s",
        met.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    stop(a).await;
    stop(b).await;
}
