//! A followed log past 32,768 blocks across restarts of its follower: the
//! follower reopens its copy, nothing below the length it held is asked for
//! or sent again, and the reconnected follower still gets new messages. What
//! crossed the wire is read by the frame reader (`net::testing::tap_wire`,
//! the requests and blocks every connection of this process reads for the
//! log). The follower's copy is built in-process from the writer's log with
//! hypercore proofs (`harness::followed`), since a catch-up of 33,000 blocks
//! over the built-in replicator takes minutes.

use std::future::Future;
use std::time::Instant;

use hychat::domain::LogKey;
use hychat::net::testing::{tap_wire, WireSeen, WireTap};
use hychat::net::{NetCommand, NetEvent};
use tokio::sync::mpsc;

use crate::harness::followed::follow_offline;
use crate::harness::node::{bootstrap_node, Node};

/// Past 32,768 blocks (one page of hypercore's bitfield).
const LENGTH: u64 = 33_000;

/// Appends `count` messages to `node`'s own log, queued as fast as the
/// engine takes them (so they are group-committed), and waits for the last
/// one's echo.
async fn write_messages(node: &mut Node, count: u64) {
    let handle = node.handle.clone();
    let sender = tokio::spawn(async move {
        for i in 0..count {
            let command = NetCommand::Append {
                text: format!("history {i}"),
                room: None,
            };
            if !handle.send(command).await {
                return false;
            }
        }
        true
    });
    let own = node.key;
    node.wait_for(&format!("the echo of message {}", count - 1), |e| match e {
        NetEvent::Appended { log, seq, .. } if *log == own && seq.0 == count - 1 => Some(()),
        NetEvent::Error(message) => panic!("an append failed: {message}"),
        _ => None,
    })
    .await;
    assert!(sender.await.unwrap(), "the engine stopped taking appends");
    node.seen.clear();
}

/// Runs `wait` while reading and dropping the events of another node: an
/// engine whose events nobody reads stalls once its queue is full (a
/// writer replays its whole index as events at start), as it would under a
/// UI that never reads them.
async fn draining<T>(other: &mut mpsc::Receiver<NetEvent>, wait: impl Future<Output = T>) -> T {
    let drain = async {
        while other.recv().await.is_some() {}
        std::future::pending::<T>().await
    };
    tokio::select! {
        found = wait => found,
        never = drain => never,
    }
}

/// Waits until `node` has a connection that carries `log`.
async fn connected_for(node: &mut Node, log: LogKey) {
    node.seen_or_wait(
        &format!("a connection carrying {}", log.short()),
        |e| match e {
            NetEvent::PeerConnected { logs, .. } if logs.contains(&log) => Some(()),
            _ => None,
        },
    )
    .await;
}

/// The writer appends `text`; the follower must get it as block `seq`.
async fn live_message(writer: &mut Node, follower: &mut Node, seq: u64, text: &str) {
    let key = writer.key;
    writer.append(text).await;
    writer
        .wait_for("the writer's echo of the live message", |e| match e {
            NetEvent::Appended { log, seq: got, .. } if *log == key && got.0 == seq => Some(()),
            _ => None,
        })
        .await;
    let arrived = follower
        .wait_for(&format!("block {seq} at the follower"), |e| match e {
            NetEvent::Appended {
                log,
                seq: got,
                message,
            } if *log == key && got.0 == seq => Some(message.text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(arrived, text, "block {seq} at the follower");
}

/// Everything the tap read since it was last taken, checked against
/// `held`, the length the follower already held: no request asks for a
/// block below it or for an upgrade starting below it, and no block below
/// it is sent. Returns what was read, for the caller's own checks.
fn nothing_below(tap: &WireTap, held: u64, phase: &str) -> Vec<WireSeen> {
    let seen = tap.take();
    assert_eq!(tap.missed(), 0, "{phase}: the tap overflowed");
    let again: Vec<&WireSeen> = seen
        .iter()
        .filter(|message| match message {
            WireSeen::Asked { block, upgrade, .. } | WireSeen::Asking { block, upgrade, .. } => {
                block.is_some_and(|b| b < held) || upgrade.is_some_and(|(start, _)| start < held)
            }
            WireSeen::Sent { block, .. } => *block < held,
        })
        .collect();
    assert!(
        again.is_empty(),
        "{phase}: {} of {} messages on the wire are for what the follower held ({held} blocks), \
         first ones: {:?}",
        again.len(),
        seen.len(),
        &again[..again.len().min(10)]
    );
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_log_past_32768_blocks_is_not_asked_for_again_after_a_restart() {
    let started = Instant::now();
    let bootstrap = bootstrap_node().await;
    let address = bootstrap.local_addr();

    // The writer's log, written through its engine, then closed.
    let mut writer = Node::start(address).await;
    write_messages(&mut writer, LENGTH).await;
    let key = writer.key;
    let writer_dir = writer.shutdown().await;
    let written = started.elapsed();

    // The follower's copy: every block, built from the writer's log.
    let follower_dir = tempfile::tempdir().unwrap();
    let (copied_key, copied) = follow_offline(writer_dir.path(), follower_dir.path())
        .await
        .unwrap_or_else(|e| panic!("could not build the follower's copy: {e}"));
    assert_eq!(copied_key, key);
    assert_eq!((copied.blocks, copied.length), (LENGTH, LENGTH));

    // First start of the follower, on its copy: it shows every message
    // from its own blocks and gets a live one.
    let tap = tap_wire(key);
    let mut writer = Node::start_in(writer_dir, address).await;
    let mut follower = Node::start_in(follower_dir, address).await;
    let first_start = Instant::now();
    let every_block = follower.wait_for(
        "the follower to show every block of its copy",
        |e| match e {
            NetEvent::LogProgress {
                log,
                downloaded,
                length,
            } if *log == key && *downloaded == LENGTH && *length == LENGTH => Some(()),
            _ => None,
        },
    );
    draining(&mut writer.events, every_block).await;
    let shown_in = first_start.elapsed();
    draining(&mut writer.events, connected_for(&mut follower, key)).await;
    live_message(&mut writer, &mut follower, LENGTH, "live, first start").await;
    let first = nothing_below(&tap, LENGTH, "first start on the copy");
    let follower_dir = follower.shutdown().await;

    // The restart: the follower reopens a log of LENGTH + 1 blocks.
    let held = LENGTH + 1;
    let mut follower = Node::start_in(follower_dir, address).await;
    let restart = Instant::now();
    draining(&mut writer.events, connected_for(&mut follower, key)).await;
    live_message(&mut writer, &mut follower, held, "live, after the restart").await;
    let reconnected_in = restart.elapsed();
    let second = nothing_below(&tap, held, "after the restart");

    // The tap read that connection: the new block went out on it, asked for.
    let writer_sent = |seen: &[WireSeen], wanted: u64| {
        seen.iter().any(|message| {
            matches!(message, WireSeen::Sent { at: Some(at), block } if *at == key && *block == wanted)
        })
    };
    let writer_asked = |seen: &[WireSeen], wanted: u64| {
        seen.iter().any(|message| {
            matches!(message, WireSeen::Asked { at: Some(at), block: Some(block), .. } if *at == key && *block == wanted)
        })
    };
    assert!(
        writer_sent(&first, LENGTH) && writer_asked(&first, LENGTH),
        "the tap should read the request for block {LENGTH} and its sending: {first:?}"
    );
    assert!(
        writer_sent(&second, held) && writer_asked(&second, held),
        "after the restart, the tap should read the request for block {held} and its sending: {second:?}"
    );
    eprintln!(
        "{LENGTH} blocks written in {:.1} s; copied in {:.1} s; first start showed them in {:.1} s; \
         restart to the live message in {:.1} s; on the wire: {} messages at the first start, {} after \
         the restart, none below the held length; whole test {:.1} s",
        written.as_secs_f64(),
        copied.elapsed.as_secs_f64(),
        shown_in.as_secs_f64(),
        reconnected_in.as_secs_f64(),
        first.len(),
        second.len(),
        started.elapsed().as_secs_f64()
    );
    follower.shutdown().await;
    writer.shutdown().await;
}
