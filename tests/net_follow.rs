//! Loopback tests of following a log: history, live appends, newest first.

mod common;

use common::{bootstrap_node, Node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_gets_history_then_live_messages() {
    let bootstrap = bootstrap_node().await;
    let mut a = Node::start(bootstrap.local_addr()).await;
    for i in 1..=3 {
        a.append(&format!("message {i}")).await;
    }
    assert_eq!(a.texts_of(a.key, 3).await, ["message 1", "message 2", "message 3"]);

    let mut b = Node::start(bootstrap.local_addr()).await;
    b.follow(a.key).await;
    let mut history = b.texts_of(a.key, 3).await;
    history.sort();
    assert_eq!(history, ["message 1", "message 2", "message 3"]);

    a.append("message 4").await;
    assert_eq!(b.texts_of(a.key, 1).await, ["message 4"]);
}
