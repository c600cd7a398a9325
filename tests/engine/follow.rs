//! Loopback tests of following a log: history, live appends, newest first.

use crate::harness::node::{bootstrap_node, Node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_gets_history_then_live_messages() {
    let bootstrap = bootstrap_node().await;
    let mut a = Node::start(bootstrap.local_addr()).await;
    for i in 1..=3 {
        a.append(&format!("message {i}")).await;
    }
    assert_eq!(
        a.texts_of(a.key, 3).await,
        ["message 1", "message 2", "message 3"]
    );

    let mut b = Node::start(bootstrap.local_addr()).await;
    b.follow(a.key).await;
    let mut history = b.texts_of(a.key, 3).await;
    history.sort();
    assert_eq!(history, ["message 1", "message 2", "message 3"]);

    a.append("message 4").await;
    assert_eq!(b.texts_of(a.key, 1).await, ["message 4"]);
    // A learns from B's replication messages that B now holds all four.
    let a_key = a.key;
    a.seen_or_wait("B to hold the 4th message", |e| match e {
        hychat::net::NetEvent::PeerHas { log, length, .. } if *log == a_key && *length >= 4 => {
            Some(())
        }
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_follower_gets_the_newest_fifty_first() {
    let bootstrap = bootstrap_node().await;
    let mut a = Node::start(bootstrap.local_addr()).await;
    const TOTAL: u64 = 2000;
    for i in 0..TOTAL {
        a.append(&format!("m{i}")).await;
    }
    let last = a
        .wait_for("the writer's own last message", |e| match e {
            hychat::net::NetEvent::Appended { seq, .. } if seq.0 == TOTAL - 1 => Some(seq.0),
            _ => None,
        })
        .await;
    assert_eq!(last, TOTAL - 1);

    let mut b = Node::start(bootstrap.local_addr()).await;
    b.follow(a.key).await;
    let mut seqs = Vec::new();
    while seqs.len() < 70 {
        let seq = b
            .wait_for("a block of A", |e| match e {
                hychat::net::NetEvent::Appended { log, seq, .. } if *log == a.key => Some(seq.0),
                _ => None,
            })
            .await;
        seqs.push(seq);
    }
    assert_eq!(
        &seqs[..50],
        &(TOTAL - 50..TOTAL).collect::<Vec<_>>()[..],
        "newest window first"
    );
    assert!(
        seqs[50..].iter().all(|s| *s < TOTAL - 50 && *s >= 50),
        "history fills in from the top: {:?}",
        &seqs[50..]
    );
    assert!(
        seqs[50..].windows(2).all(|w| w[0] > w[1]),
        "history goes newest to oldest"
    );
}
