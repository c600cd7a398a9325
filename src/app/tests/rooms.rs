//! What changes who is who: the room commands and their answers (/join,
//! also before ready, /leave and /members), and muting (/mute and /unmute
//! by name or key, the engine's answers hiding and showing messages
//! everywhere, and logs muted before start).

use super::*;
use crate::domain::ConnectionKey;
use crate::net::PeerRoom;

#[test]
fn join_validates_sends_and_enters_the_room_once_joined() {
    let mut app = room_app();
    assert_eq!(
        refused(&mut app, &format!("/join {}", "x".repeat(65))),
        "15:00 ! a room name is at most 64 characters"
    );
    assert_eq!(
        submit(&mut app, "/join streams-day"),
        vec![Command::Net(NetCommand::JoinRoom {
            room: room("streams-day")
        })]
    );
    assert_eq!(last_row(&app), "15:00 * joining #streams-day…");
    assert_eq!(app.active_channel(), &ChannelId::Home);
    net(
        &mut app,
        NetEvent::RoomJoined(RoomEntry {
            name: room("streams-day"),
            members: vec![],
        }),
    );
    assert_eq!(app.active_channel().to_string(), "#streams-day");
    assert!(rows(&app).join(" ").contains("you are in #streams-day"));
    // Already joined: /join just switches, also when written with a #.
    assert!(submit(&mut app, "/join #rust").is_empty());
    assert_eq!(app.active_channel().to_string(), "#rust");
    assert_eq!(
        refused(&mut app, "/join rust"),
        "15:00 * you are in #rust already"
    );
    assert_eq!(
        channel_list(&app)
            .iter()
            .map(|c| c.0.as_str())
            .collect::<Vec<_>>(),
        ["home", "#rust", "#streams-day"]
    );
}

#[test]
fn join_before_ready_enters_the_room_when_the_engine_has_joined_it() {
    // What `hychat --room NAME` does.
    let mut app = App::new(NOW);
    assert_eq!(
        app.join(room("rust")),
        vec![Command::Net(NetCommand::JoinRoom { room: room("rust") })]
    );
    net(
        &mut app,
        NetEvent::Ready {
            own: OWN,
            nickname: "me".into(),
            first_run: false,
            follows: vec![],
            rooms: vec![RoomEntry {
                name: room("rust"),
                members: vec![],
            }],
            muted: vec![],
            read_marks: Vec::new(),
        },
    );
    assert_eq!(app.active_channel(), &ChannelId::Home);
    net(
        &mut app,
        NetEvent::RoomJoined(RoomEntry {
            name: room("rust"),
            members: vec![],
        }),
    );
    assert_eq!(app.active_channel().to_string(), "#rust");
    assert_eq!(app.channels().list().len(), 2);
    // Home holds no "joining" line from before the log was open.
    assert!(app.channels().list()[0].timeline.entries().is_empty());
}

#[test]
fn leave_needs_a_room_and_the_answer_closes_its_channel() {
    let mut app = room_app();
    assert_eq!(
        refused(&mut app, "/leave"),
        "15:00 ! this is home, not a room; /leave ROOM leaves a room"
    );
    assert_eq!(refused(&mut app, "/leave go"), "15:00 ! you are not in #go");
    let leave = vec![Command::Net(NetCommand::LeaveRoom { room: room("rust") })];
    assert_eq!(submit(&mut app, "/leave #rust"), leave);
    alt(&mut app, '2');
    assert_eq!(submit(&mut app, "/leave"), leave);
    net(&mut app, NetEvent::RoomLeft { room: room("rust") });
    assert_eq!(app.active_channel(), &ChannelId::Home);
    assert_eq!(app.channels().list().len(), 1);
    assert_eq!(last_row(&app), "15:00 * left #rust");
    // Late blocks of the room are kept out of sight.
    app.update(in_room(BOB, 0, "bob", "late", 1, "rust"));
    assert!(rows(&app).iter().all(|r| !r.contains("late")));
}

#[test]
fn members_lists_you_and_each_member_online_or_not() {
    let mut app = room_app();
    assert!(submit(&mut app, "/members").is_empty());
    assert!(last_entry(&app).starts_with("home has no members"));
    net(
        &mut app,
        NetEvent::RoomMember {
            room: room("rust"),
            member: member(ANN, None),
        },
    );
    net(
        &mut app,
        NetEvent::PeerConnected {
            peer: ConnectionKey([7; 32]),
            logs: vec![BOB],
            rooms: vec![PeerRoom {
                room: room("rust"),
                member: BOB,
            }],
            route: Default::default(),
        },
    );
    alt(&mut app, '2');
    submit(&mut app, "/members");
    let text = rows(&app);
    assert_eq!(
        text[text.len() - 4..],
        [
            "15:00 * #rust: 3 members",
            "        me (you) 11111111 online",
            "        bob b0b0b0b0 online",
            "        ann a1a1a1a1 offline",
        ]
    );
    net(
        &mut app,
        NetEvent::PeerDisconnected {
            peer: ConnectionKey([7; 32]),
        },
    );
    submit(&mut app, "/members");
    assert_eq!(last_row(&app), "        ann a1a1a1a1 offline");
    assert!(rows(&app).contains(&"        bob b0b0b0b0 offline".to_string()));
}

// ---- muting ----

#[test]
fn mute_resolves_names_and_the_answer_hides_messages_everywhere() {
    let mut app = room_app();
    app.update(appended(ANN, 0, "ann", "home line", 1));
    app.update(in_room(BOB, 0, "bob", "room line", 1, "rust"));
    app.update(Event::Tick(NOW + time::Duration::minutes(10)));
    // Bob is known by his member nickname, Ann by her follow name.
    assert_eq!(
        submit(&mut app, "/mute BOB"),
        vec![Command::Net(NetCommand::Mute { key: BOB })]
    );
    assert_eq!(
        submit(&mut app, "/mute ann"),
        vec![Command::Net(NetCommand::Mute { key: ANN })]
    );
    assert_eq!(
        refused(&mut app, "/mute me"),
        "15:10 ! that is you; you cannot mute yourself"
    );
    assert!(refused(&mut app, &format!("/mute {}", OWN.to_hex())).contains("cannot mute yourself"));
    assert!(submit(&mut app, "/mute carol").is_empty());
    assert_eq!(
        last_entry(&app),
        "nobody called carol here; /mute takes a name you have seen or a key"
    );
    assert_eq!(
        refused(&mut app, "/unmute ann"),
        "15:10 ! ann (a1a1a1a1) is not muted"
    );

    net(&mut app, NetEvent::Muted { log: BOB });
    assert_eq!(
        last_entry(&app),
        "muted bob (b0b0b0b0): their messages are hidden everywhere; /unmute shows them again"
    );
    assert!(rows_in(&app, 1).iter().all(|r| !r.contains("room line")));
    // New blocks of a muted log stay hidden.
    app.update(in_room(BOB, 1, "bob", "still talking", 2, "rust"));
    assert!(rows_in(&app, 1)
        .iter()
        .all(|r| !r.contains("still talking")));
    assert_eq!(channel_list(&app)[1].1, 0);
    assert!(app.is_muted(&BOB));
    assert!(refused(&mut app, "/mute bob").contains("muted already"));

    assert_eq!(
        submit(&mut app, "/unmute bob"),
        vec![Command::Net(NetCommand::Unmute { key: BOB })]
    );
    net(&mut app, NetEvent::Unmuted { log: BOB });
    assert_eq!(
        last_row(&app),
        "15:10 * unmuted bob (b0b0b0b0): their messages show again"
    );
    let text = rows_in(&app, 1);
    assert!(text.contains(&"15:01 bob: room line".to_string()));
    assert!(text.contains(&"15:02 bob: still talking".to_string()));
    assert!(rows(&app).contains(&"15:01 ann: home line".to_string()));
}

#[test]
fn an_ambiguous_name_is_an_error_listing_the_keys() {
    let mut app = room_app();
    // Ann's log writes as "bob" too.
    app.update(appended(ANN, 0, "bob", "i am bob", 1));
    app.update(Event::Tick(NOW + time::Duration::minutes(10)));
    assert_eq!(
        refused(&mut app, "/mute bob"),
        "15:10 ! bob is 2 logs (a1a1a1a1, b0b0b0b0); /mute one by key"
    );
    assert_eq!(
        submit(&mut app, &format!("/mute {}", BOB.to_hex())),
        vec![Command::Net(NetCommand::Mute { key: BOB })]
    );
    // Unmuting prefers the muted one of the two.
    net(&mut app, NetEvent::Muted { log: BOB });
    assert_eq!(
        submit(&mut app, "/unmute bob"),
        vec![Command::Net(NetCommand::Unmute { key: BOB })]
    );
}

#[test]
fn logs_muted_before_start_stay_hidden() {
    let mut app = App::new(NOW);
    net(
        &mut app,
        NetEvent::Ready {
            own: OWN,
            nickname: "me".into(),
            first_run: false,
            follows: friends(),
            rooms: vec![],
            muted: vec![BOB],
            read_marks: Vec::new(),
        },
    );
    app.update(appended(BOB, 0, "bob", "shh", 1));
    app.update(appended(ANN, 0, "ann", "hello", 2));
    assert_eq!(rows(&app)[1..], ["15:02 ann: hello"]);
}
