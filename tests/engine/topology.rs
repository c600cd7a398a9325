//! Loopback tests of several logs and peers: mutual follows, store and
//! forward through a follower, restart from disk, offline start, hostile data.

use std::time::Duration;

use hychat::net::{NetEvent, NetworkStatus, PeerPath};

use crate::harness::node::{bootstrap_node, Node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_followers_replicate_both_ways() {
    let bootstrap = bootstrap_node().await;
    let mut a = Node::start(bootstrap.local_addr()).await;
    let mut b = Node::start(bootstrap.local_addr()).await;
    a.append("from a").await;
    b.append("from b").await;
    a.follow(b.key).await;
    b.follow(a.key).await;
    assert_eq!(a.texts_of(b.key, 1).await, ["from b"]);
    assert_eq!(b.texts_of(a.key, 1).await, ["from a"]);
    a.append("live from a").await;
    b.append("live from b").await;
    assert_eq!(b.texts_of(a.key, 1).await, ["live from a"]);
    assert_eq!(a.texts_of(b.key, 1).await, ["live from b"]);
    // The hello lets one connection carry both logs.
    let (a_key, b_key) = (a.key, b.key);
    a.seen_or_wait("one connection carrying both logs", |e| match e {
        NetEvent::PeerConnected { logs, .. } if logs.contains(&a_key) && logs.contains(&b_key) => {
            Some(())
        }
        _ => None,
    })
    .await;
    // Each hello says where its sender is and which log is its own.
    a.seen_or_wait("b's route: this machine, writing b's log", |e| match e {
        NetEvent::PeerConnected { route, .. }
            if route.own_log == Some(b_key) && route.path == PeerPath::ThisMachine =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_re_serves_a_log_while_its_writer_is_offline() {
    let bootstrap = bootstrap_node().await;
    let a = Node::start(bootstrap.local_addr()).await;
    for text in ["one", "two", "three"] {
        a.append(text).await;
    }
    let a_key = a.key;
    let mut b = Node::start(bootstrap.local_addr()).await;
    b.follow(a_key).await;
    b.texts_of(a_key, 3).await;
    a.shutdown().await;

    let mut c = Node::start(bootstrap.local_addr()).await;
    c.follow(a_key).await;
    let mut texts = c.texts_of(a_key, 3).await;
    texts.sort();
    assert_eq!(texts, ["one", "three", "two"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_follows_and_messages_without_the_network() {
    let bootstrap = bootstrap_node().await;
    let a = Node::start(bootstrap.local_addr()).await;
    a.append("kept").await;
    let a_key = a.key;
    let mut b = Node::start(bootstrap.local_addr()).await;
    let b_key = b.key;
    b.follow(a_key).await;
    b.texts_of(a_key, 1).await;
    a.shutdown().await;
    let dir = b.shutdown().await;
    drop(bootstrap);

    // No bootstrap node exists any more: everything must come from disk.
    let unreachable = "127.0.0.1:9".parse().unwrap();
    let mut b = Node::start_in(dir, unreachable).await;
    assert_eq!(b.key, b_key, "same identity after a restart");
    let follows = b
        .wait_for("Ready", |e| match e {
            NetEvent::Ready {
                follows, first_run, ..
            } => Some((follows.clone(), *first_run)),
            _ => None,
        })
        .await;
    assert_eq!(follows.0.iter().map(|f| f.key).collect::<Vec<_>>(), [a_key]);
    assert!(!follows.1, "not a first run");
    assert_eq!(b.texts_of(a_key, 1).await, ["kept"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_start_keeps_writing_and_syncs_once_a_bootstrap_node_appears() {
    // Reserve a loopback port, then free it: nothing answers there yet.
    let addr = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap()
    };
    let mut a = Node::start(addr).await;
    a.append("written offline 1").await;
    a.append("written offline 2").await;
    a.wait_for("an offline status", |e| match e {
        NetEvent::NetworkStatus(NetworkStatus::Offline { .. }) => Some(()),
        _ => None,
    })
    .await;

    let _bootstrap = hychat::net::run_bootstrap_node(addr).await.unwrap();
    let mut b = Node::start(addr).await;
    b.follow(a.key).await;
    let mut texts = b.texts_of(a.key, 2).await;
    texts.sort();
    assert_eq!(texts, ["written offline 1", "written offline 2"]);
    let _ = Duration::ZERO;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_blocks_are_skipped_and_escapes_never_come_through() {
    use hypercore::{HypercoreBuilder, Storage};
    let bootstrap = bootstrap_node().await;
    // Write A's log by hand, the way a hostile peer could.
    let a_dir = tempfile::tempdir().unwrap();
    let own = a_dir.path().join("own");
    std::fs::create_dir_all(&own).unwrap();
    let blocks_written = {
        let storage = Storage::new_disk(&own, false).await.unwrap();
        let core = HypercoreBuilder::new(storage).build().await.unwrap();
        let blocks: Vec<Vec<u8>> = vec![
            br#"{"type":"chat-message","nickname":"ok","text":"first"}"#.to_vec(),
            b"not json at all".to_vec(),
            vec![0xff, 0xfe, 0x00, b'{'],
            "{\"type\":\"chat-message\",\"nickname\":\"\\u001b[31mred\",\"text\":\"\\u001b[2J\\u001b]0;title\\u0007cleared\"}".as_bytes().to_vec(),
            br#"{"type":"chat-message","nickname":"ok","text":"last"}"#.to_vec(),
            // Last, so asked first: a block of 1 MiB, far over any chat
            // message, which replicates like the others (and is no chat
            // message, so it shows nowhere).
            vec![b'x'; 1024 * 1024],
        ];
        for block in &blocks {
            core.append(block).await.unwrap();
        }
        blocks.len()
    };
    let a = Node::start_in(a_dir, bootstrap.local_addr()).await;
    let mut b = Node::start(bootstrap.local_addr()).await;
    b.follow(a.key).await;
    let mut texts = b.texts_of(a.key, 3).await;
    let total = u64::try_from(blocks_written).unwrap();
    b.seen_or_wait("all of A's blocks, the 1 MiB one included", |e| match e {
        NetEvent::LogProgress {
            log,
            downloaded,
            length,
        } if *log == a.key && *downloaded == total && *length == total => Some(()),
        _ => None,
    })
    .await;
    texts.sort();
    assert_eq!(texts, ["[2J]0;titlecleared", "first", "last"]);
    // B is still alive and answering.
    b.append("still here").await;
    assert_eq!(b.texts_of(b.key, 1).await, ["still here"]);
    for text in texts {
        assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
    }
}

/// Requests JS peers send (a `PEER_HOLEPUNCH` for a handshake nobody made,
/// the mutable-record commands), replies nobody asked for and garbage, from
/// a bare UDP socket to a peer's DHT socket: the old DHT crate panicked on
/// the first of these. The node must stay online throughout (no restart)
/// and still replicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_dht_datagrams_leave_a_node_online_and_replicating() {
    let bootstrap = bootstrap_node().await;
    let mut a = Node::start(bootstrap.local_addr()).await;
    a.append("before the datagrams").await;
    let port = a
        .seen_or_wait("the DHT socket's address", |e| match e {
            NetEvent::NetworkReport(report) => report.bound.map(|b| b.port()),
            _ => None,
        })
        .await;
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for command in [1u8, 6, 7, 8, 9, 10] {
        // dht-rpc request: type 3, flags target|value, tid, to, the
        // command (not internal), a 32-byte target, a 3-byte value.
        let mut request = vec![0x03, 0x18, 0x34, 0x12, 127, 0, 0, 1];
        request.extend_from_slice(&port.to_le_bytes());
        request.push(command);
        request.extend_from_slice(&[7; 32]);
        request.extend_from_slice(&[3, 1, 2, 3]);
        socket.send_to(&request, ("127.0.0.1", port)).unwrap();
    }
    // A reply nobody asked for, and bytes that are no message at all.
    let stray = [0x13, 0x00, 0x99, 0x99, 127, 0, 0, 1, 0, 0];
    for datagram in [&stray[..], &[], &[0], &[0xff; 64]] {
        socket.send_to(datagram, ("127.0.0.1", port)).unwrap();
    }
    let mut b = Node::start(bootstrap.local_addr()).await;
    b.follow(a.key).await;
    assert_eq!(b.texts_of(a.key, 1).await, ["before the datagrams"]);
    a.append("after the datagrams").await;
    assert_eq!(b.texts_of(a.key, 1).await, ["after the datagrams"]);
    let restarted = a
        .seen
        .iter()
        .any(|e| matches!(e, NetEvent::NetworkStatus(NetworkStatus::Offline { .. })));
    assert!(!restarted, "the node went offline: {:?}", a.seen);
}
