//! Peers and follows: connection and follow events in the peer state, /peers,
//! and dropping blocks of a log no longer followed.

use super::*;
use crate::domain::ConnectionKey;
use crate::net::PeerRoom;

#[test]
fn peers_command_lists_connected_peers() {
    let mut app = ready_app(vec![FollowEntry {
        key: ANN,
        name: Some("ann".into()),
    }]);
    submit(&mut app, "/peers");
    assert_eq!(last_row(&app), "15:00 * no peers connected");
    app.update(Event::Net(NetEvent::PeerConnected {
        peer: ConnectionKey([0xee; 32]),
        logs: vec![OWN, ANN],
        rooms: vec![],
        route: Default::default(),
    }));
    app.update(Event::Tick(NOW + time::Duration::minutes(3)));
    submit(&mut app, "/peers");
    let text = rows(&app);
    let tail = &text[text.len() - 2..];
    assert_eq!(tail[0], "15:03 * 1 peer connected:");
    assert_eq!(
        tail[1],
        "        eeeeeeee for 3m: you (11111111), ann (a1a1a1a1)"
    );
}

#[test]
fn peers_and_follows_follow_the_events() {
    let mut app = ready_app(vec![FollowEntry {
        key: ANN,
        name: Some("ann".into()),
    }]);
    let peer = ConnectionKey([7; 32]);
    app.update(Event::Net(NetEvent::PeerConnected {
        peer,
        logs: vec![ANN],
        rooms: vec![],
        route: Default::default(),
    }));
    assert!(app.peers().is_online(&ANN));
    app.update(Event::Net(NetEvent::LogProgress {
        log: ANN,
        downloaded: 2,
        length: 9,
    }));
    let followed = app.peers().follow(&ANN).unwrap();
    assert_eq!((followed.downloaded, followed.length), (2, 9));
    app.update(appended(ANN, 3, "annie", "hi", 1));
    assert_eq!(app.peers().follow(&ANN).unwrap().display_name(), "annie");
    app.update(Event::Net(NetEvent::PeerDisconnected { peer }));
    assert!(!app.peers().is_online(&ANN));

    app.update(Event::Tick(NOW + time::Duration::minutes(5)));
    app.update(Event::Net(NetEvent::Followed(FollowEntry {
        key: BOB,
        name: None,
    })));
    assert!(app.peers().is_following(&BOB));
    assert!(rows(&app).join(" ").contains("following b0b0b0b0;"));
    app.update(Event::Net(NetEvent::Unfollowed { log: ANN }));
    assert!(!app.peers().is_following(&ANN));
    assert!(rows(&app).iter().all(|r| !r.contains("annie:")));
    assert!(last_row(&app).contains("stopped following annie"));
}

#[test]
fn blocks_in_flight_for_an_unfollowed_log_are_dropped_until_followed_again() {
    let mut app = ready_app(vec![FollowEntry {
        key: ANN,
        name: None,
    }]);
    app.update(appended(ANN, 0, "ann", "one", 1));
    app.update(Event::Net(NetEvent::Unfollowed { log: ANN }));
    app.update(appended(ANN, 1, "ann", "late", 2));
    assert!(rows(&app).iter().all(|r| !r.contains("ann:")));
    app.update(Event::Net(NetEvent::Followed(FollowEntry {
        key: ANN,
        name: None,
    })));
    app.update(appended(ANN, 0, "ann", "one", 1));
    assert!(rows(&app).iter().any(|r| r.contains("ann: one")));
}

#[test]
fn peers_show_the_rooms_they_were_met_in() {
    let mut app = room_app();
    net(
        &mut app,
        NetEvent::PeerConnected {
            peer: ConnectionKey([0xee; 32]),
            logs: vec![BOB],
            rooms: vec![PeerRoom {
                room: room("rust"),
                member: BOB,
            }],
            route: Default::default(),
        },
    );
    submit(&mut app, "/peers");
    assert_eq!(
        last_row(&app),
        "        eeeeeeee for 0s in #rust: bob (b0b0b0b0)"
    );
}
