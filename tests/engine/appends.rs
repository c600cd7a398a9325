//! Loopback tests of our own appends: a burst of queued appends is written
//! in batches (one journal sync each) and comes back whole, in order, with
//! contiguous seqs, before and after a restart.

use hychat::domain::ChatMessage;
use hychat::net::{NetCommand, NetEvent};

use crate::harness::node::{bootstrap_node, Node};

/// The next `count` messages of the node's own log, with their seqs.
async fn own_messages(node: &mut Node, count: u64) -> Vec<(u64, ChatMessage)> {
    let own = node.key;
    let mut messages = Vec::new();
    while messages.len() < count as usize {
        let what = format!("own message {} of {count}", messages.len() + 1);
        let found = node
            .wait_for(&what, |event| match event {
                NetEvent::Appended { log, seq, message } if *log == own => {
                    Some((seq.0, message.clone()))
                }
                NetEvent::Error(message) => panic!("an append failed: {message}"),
                _ => None,
            })
            .await;
        messages.push(found);
    }
    node.seen.clear();
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_queued_appends_is_all_in_the_log_in_order() {
    const TOTAL: u64 = 2000;
    // A command between appends is handled between them, in queue order.
    const RENAMED_AT: u64 = 1000;
    let bootstrap = bootstrap_node().await;
    let mut a = Node::start(bootstrap.local_addr()).await;
    let handle = a.handle.clone();
    let sender = tokio::spawn(async move {
        for i in 0..TOTAL {
            if i == RENAMED_AT {
                let nickname = "renamed".to_string();
                assert!(handle.send(NetCommand::SetNick { nickname }).await);
            }
            let text = format!("burst {i}");
            assert!(handle.send(NetCommand::Append { text, room: None }).await);
        }
    });
    let written = own_messages(&mut a, TOTAL).await;
    sender.await.unwrap();
    let seqs: Vec<u64> = written.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (0..TOTAL).collect::<Vec<_>>(), "contiguous, in order");
    for (seq, message) in &written {
        assert_eq!(message.text, format!("burst {seq}"));
        let nickname = if *seq < RENAMED_AT {
            "tester"
        } else {
            "renamed"
        };
        assert_eq!(message.nickname, nickname, "seq {seq}");
    }

    // After a restart the log is rebuilt from the journal: the same
    // messages, and the next append goes right after them.
    let dir = a.shutdown().await;
    let mut again = Node::start_in(dir, bootstrap.local_addr()).await;
    let replayed = own_messages(&mut again, TOTAL).await;
    assert_eq!(replayed, written);
    again.append("after the restart").await;
    let next = own_messages(&mut again, 1).await;
    assert_eq!(next[0].0, TOTAL);
    assert_eq!(next[0].1.text, "after the restart");
}
