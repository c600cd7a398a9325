//! Loopback tests of rooms: members who exchanged no keys meet through the
//! room's name, see each other's room messages, re-serve them to a member who
//! joins after the writer left, and remember the room across a restart.

use hychat::app::timeline::Body;
use hychat::app::{App, Event};
use hychat::domain::{LogKey, RoomName};
use hychat::net::{EngineError, NetCommand, NetEvent};

use crate::harness::node::{bootstrap_node, Node, WAIT};

const ROOM: &str = "streams-day";

fn room() -> RoomName {
    RoomName::parse(ROOM).unwrap()
}

async fn join(node: &Node) {
    node.send(NetCommand::JoinRoom { room: room() }).await;
}

async fn say_in_room(node: &Node, text: &str) {
    node.send(NetCommand::Append {
        text: text.into(),
        room: Some(room()),
    })
    .await;
}

/// Waits until `node` holds the room message `text` written by `writer`.
async fn wait_for_room_message(node: &mut Node, writer: LogKey, text: &str) {
    node.seen_or_wait(&format!("`{text}` in {ROOM}"), |e| match e {
        NetEvent::Appended { log, message, .. }
            if *log == writer && message.text == text && message.room.as_deref() == Some(ROOM) =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
}

/// Waits until `node` was introduced to `member` in the room.
async fn wait_for_member(node: &mut Node, member: LogKey) {
    node.seen_or_wait(&format!("member {}", member.short()), |e| match e {
        NetEvent::RoomMember { room: r, member: m } if *r == room() && m.key == member => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_meet_by_name_and_a_late_joiner_gets_an_offline_members_messages() {
    let bootstrap = bootstrap_node().await;
    let mut a = Node::start(bootstrap.local_addr()).await;
    let mut b = Node::start(bootstrap.local_addr()).await;
    let mut c = Node::start(bootstrap.local_addr()).await;
    let (a_key, b_key, c_key) = (a.key, b.key, c.key);
    for (node, text) in [(&a, "hi from a"), (&b, "hi from b"), (&c, "hi from c")] {
        join(node).await;
        say_in_room(node, text).await;
    }
    // Nobody followed anybody: the room's name is all they share.
    for (node, others) in [
        (&mut a, [(b_key, "hi from b"), (c_key, "hi from c")]),
        (&mut b, [(a_key, "hi from a"), (c_key, "hi from c")]),
        (&mut c, [(a_key, "hi from a"), (b_key, "hi from b")]),
    ] {
        for (writer, text) in others {
            wait_for_member(node, writer).await;
            wait_for_room_message(node, writer, text).await;
        }
    }
    // The peer panel learns which room a peer was met in.
    a.seen_or_wait("a peer introduced in the room", |e| match e {
        NetEvent::PeerConnected { rooms, .. }
            if rooms
                .iter()
                .any(|r| r.room == room() && (r.member == b_key || r.member == c_key)) =>
        {
            Some(())
        }
        _ => None,
    })
    .await;

    a.shutdown().await;
    let mut d = Node::start(bootstrap.local_addr()).await;
    join(&d).await;
    // A is gone; B or C introduce it and serve its log.
    wait_for_member(&mut d, a_key).await;
    wait_for_room_message(&mut d, a_key, "hi from a").await;
    wait_for_room_message(&mut d, b_key, "hi from b").await;
    wait_for_room_message(&mut d, c_key, "hi from c").await;

    // A restart without any network keeps the room, its members and messages.
    let dir = d.shutdown().await;
    drop((b, c));
    drop(bootstrap);
    let unreachable = "127.0.0.1:9".parse().unwrap();
    let mut d = Node::start_in(dir, unreachable).await;
    let rooms = d
        .wait_for("Ready", |e| match e {
            NetEvent::Ready { rooms, .. } => Some(rooms.clone()),
            _ => None,
        })
        .await;
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].name, room());
    let mut members: Vec<LogKey> = rooms[0].members.iter().map(|m| m.key).collect();
    members.sort();
    let mut expected = vec![a_key, b_key, c_key];
    expected.sort();
    assert_eq!(members, expected);
    wait_for_room_message(&mut d, a_key, "hi from a").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_a_room_stops_holding_its_members_logs() {
    let bootstrap = bootstrap_node().await;
    let mut a = Node::start(bootstrap.local_addr()).await;
    let mut b = Node::start(bootstrap.local_addr()).await;
    let b_key = b.key;
    join(&a).await;
    join(&b).await;
    say_in_room(&b, "before").await;
    wait_for_room_message(&mut a, b_key, "before").await;
    b.seen_or_wait("A as a member", |e| {
        matches!(e, NetEvent::RoomMember { .. }).then_some(())
    })
    .await;

    a.send(NetCommand::LeaveRoom { room: room() }).await;
    a.wait_for("RoomLeft", |e| match e {
        NetEvent::RoomLeft { room: r } if *r == room() => Some(()),
        _ => None,
    })
    .await;
    // A no longer holds B's log: B's next room message never reaches A.
    say_in_room(&b, "after").await;
    b.append("a marker A cannot see either").await;
    let late = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        a.wait_for("anything from B", |e| match e {
            NetEvent::Appended { log, .. } if *log == b_key => Some(()),
            _ => None,
        })
        .await
    })
    .await;
    assert!(late.is_err(), "A still receives B's log after leaving");
    // Leaving twice is a clear error, not a crash.
    a.send(NetCommand::LeaveRoom { room: room() }).await;
    let error = a
        .wait_for("an error", |e| match e {
            NetEvent::Error(text) => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(error, EngineError::NotInRoom(room()));
    assert!(error.to_string().contains(ROOM), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn friends_already_connected_meet_in_a_room_they_join_later() {
    let bootstrap = bootstrap_node().await;
    let mut a = Node::start(bootstrap.local_addr()).await;
    let mut b = Node::start(bootstrap.local_addr()).await;
    let (a_key, b_key) = (a.key, b.key);
    a.follow(b_key).await;
    b.follow(a_key).await;
    b.append("home line").await;
    a.texts_of(b_key, 1).await;
    // The one connection they share was found on a log's topic; the room
    // comes to it through the hello.
    join(&a).await;
    join(&b).await;
    say_in_room(&b, "room line").await;
    wait_for_member(&mut a, b_key).await;
    wait_for_member(&mut b, a_key).await;
    wait_for_room_message(&mut a, b_key, "room line").await;
}

/// Every message text any view of an app shows.
fn texts_in_every_view(app: &App) -> Vec<String> {
    let mut texts = Vec::new();
    for channel in app.channels().list() {
        for entry in channel.timeline.entries() {
            if let Body::Message { message, .. } = &entry.body {
                texts.push(message.text.clone());
            }
        }
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_outside_the_room_sees_none_of_its_messages() {
    let bootstrap = bootstrap_node().await;
    let a = Node::start(bootstrap.local_addr()).await;
    let mut b = Node::start(bootstrap.local_addr()).await;
    let a_key = a.key;
    join(&a).await;
    join(&b).await;
    say_in_room(&a, "only for the room").await;
    a.append("for everyone who follows a").await;
    wait_for_room_message(&mut b, a_key, "only for the room").await;

    // E never joins, but follows A by key: A's blocks, room ones included,
    // reach it, and its views must still keep the room's messages out.
    let mut e = Node::start(bootstrap.local_addr()).await;
    e.follow(a_key).await;
    let mut texts = e.texts_of(a_key, 2).await;
    texts.sort();
    assert_eq!(texts, ["for everyone who follows a", "only for the room"]);
    let mut app = App::new(time::OffsetDateTime::now_utc());
    for event in e.seen.drain(..) {
        app.update(Event::Net(event));
    }
    assert_eq!(app.channels().list().len(), 1, "E joined no room");
    assert_eq!(
        texts_in_every_view(&app),
        ["for everyone who follows a"],
        "only the room-less message shows, in home"
    );
    // And E was never introduced to anyone: the room stays unknown to it.
    assert!(!e
        .seen
        .iter()
        .any(|ev| matches!(ev, NetEvent::RoomMember { .. })));
}

/// A peer that speaks the protocol but sends a room hello that is not one
/// is disconnected; the node stays up and still meets real members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_with_a_malformed_room_hello_is_disconnected() {
    use futures::StreamExt;
    use hychat::domain::ConnectionKey;
    use hypercore_protocol::schema::Extension;
    use hypercore_protocol::{Event, Message, Protocol};

    let bootstrap = bootstrap_node().await;
    let mut a = Node::start(bootstrap.local_addr()).await;
    join(&a).await;

    // The hostile peer: a bare connection to the room's topic, made with
    // hychat's own DHT client (it dials, so it is the client).
    let dialed = hychat::net::testing::dial_topic(bootstrap.local_addr(), room().topic().0, WAIT)
        .await
        .expect("the node can be dialed on the room's topic");
    // How the node names this connection: the key we dialed with.
    let hostile = ConnectionKey(dialed.cipher.local_public_key());
    let client = true;
    let (connection, _keep) = dialed.split();
    let (sent_tx, sent_rx) = tokio::sync::oneshot::channel();
    let peer = tokio::spawn(async move {
        let mut protocol = Protocol::new(connection);
        let room_key = room().channel_key();
        let mut sent = Some(sent_tx);
        // Held, so that the node's messages on them never fail our side.
        let mut channels = Vec::new();
        while let Some(event) = protocol.next().await {
            match event {
                Ok(Event::Handshake(_)) if client => {
                    let _ = protocol.open(room_key).await;
                }
                Ok(Event::DiscoveryKey(_)) => {
                    let _ = protocol.open(room_key).await;
                }
                Ok(Event::Channel(channel)) => {
                    if let Some(sent) = sent.take() {
                        let hello = Message::Extension(Extension {
                            name: "hychat/room".into(),
                            message: br#"{"hychat":1,"me":{"key":"not a key"}}"#.to_vec(),
                        });
                        channel.send(hello).await.unwrap();
                        let _ = sent.send(());
                    }
                    channels.push(channel);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    tokio::time::timeout(WAIT, sent_rx)
        .await
        .expect("the room channel opens")
        .unwrap();
    a.seen_or_wait("the node to drop the hostile peer", |e| match e {
        NetEvent::PeerDisconnected { peer } if *peer == hostile => Some(()),
        _ => None,
    })
    .await;
    assert!(!a
        .seen
        .iter()
        .any(|e| matches!(e, NetEvent::RoomMember { .. })));
    peer.abort();

    // The node is still up: a real member meets it.
    let mut b = Node::start(bootstrap.local_addr()).await;
    join(&b).await;
    wait_for_member(&mut b, a.key).await;
}
