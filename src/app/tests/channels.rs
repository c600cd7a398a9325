//! Channels and routing: which messages show in home and in each room, the
//! room a typed message carries, unread counts and mentions, switching
//! channels; and what was read of each channel: restored from the last run
//! (the "new since you were here" line, unread counts and mentions), kept
//! when channels switch, on quit and on a tick once counts changed, and
//! Alt+A to the next channel with unread messages.

use super::*;
use crate::domain::{Position, ReadMark};

#[test]
fn home_shows_only_own_and_followed_logs_and_follows_reroute_the_archive() {
    let mut app = ready_app(vec![]);
    app.update(appended(ANN, 0, "ann", "before the follow", 1));
    app.update(appended(OWN, 0, "me", "mine", 2));
    assert_eq!(rows(&app)[1..], ["15:02 me: mine"]);
    net(&mut app, NetEvent::Followed(follow(ANN, None)));
    assert!(rows(&app).contains(&"15:01 ann: before the follow".to_string()));
    net(&mut app, NetEvent::Unfollowed { log: ANN });
    assert!(rows(&app).iter().all(|r| !r.contains("before the follow")));
    // Delivered again later: still a duplicate, still hidden.
    app.update(appended(ANN, 0, "ann", "before the follow", 1));
    assert!(rows(&app).iter().all(|r| !r.contains("before the follow")));
}

#[test]
fn room_messages_show_in_their_room_from_members_only() {
    let mut app = room_app();
    assert_eq!(channel_list(&app)[1].0, "#rust");
    app.update(in_room(BOB, 0, "bob", "hello rust", 1, "rust"));
    app.update(in_room(OWN, 0, "me", "hi bob", 2, "rust"));
    // Followed, but not a member: not in the room, and not in home.
    app.update(in_room(ANN, 0, "ann", "sneaking in", 3, "rust"));
    // A member, not followed: room-less messages stay out of home.
    app.update(appended(BOB, 1, "bob", "bob at home", 3));
    // A room not joined: nowhere.
    app.update(in_room(BOB, 2, "bob", "elsewhere", 4, "go"));
    assert_eq!(
        rows_in(&app, 1)[1..],
        ["15:01 bob: hello rust", "15:02 me: hi bob"]
    );
    assert!(rows_in(&app, 0).is_empty());

    // Ann is introduced in the room: her archived room message moves in.
    net(
        &mut app,
        NetEvent::RoomMember {
            room: room("rust"),
            member: member(ANN, Some("ann")),
        },
    );
    let text = rows_in(&app, 1);
    assert!(
        text.contains(&"15:03 ann: sneaking in".to_string()),
        "{text:?}"
    );
    assert!(
        text.contains(&"15:00 * met ann (a1a1a1a1)".to_string()),
        "{text:?}"
    );
    // A nickname update of a known member is no news.
    net(
        &mut app,
        NetEvent::RoomMember {
            room: room("rust"),
            member: member(ANN, Some("annie")),
        },
    );
    assert_eq!(rows_in(&app, 1).len(), text.len());
    // Joining `go` later brings in what Bob wrote there, once he is a member.
    net(
        &mut app,
        NetEvent::RoomJoined(RoomEntry {
            name: room("go"),
            members: vec![member(BOB, None)],
        }),
    );
    assert!(rows_in(&app, 2).contains(&"15:04 bob: elsewhere".to_string()));
}

#[test]
fn messages_typed_in_a_room_carry_it() {
    let mut app = room_app();
    let append = |room: Option<RoomName>| {
        vec![Command::Net(NetCommand::Append {
            text: "hi".into(),
            room,
        })]
    };
    assert_eq!(submit(&mut app, "hi"), append(None));
    alt(&mut app, '2');
    assert_eq!(app.active_channel(), &ChannelId::Room(room("rust")));
    assert_eq!(submit(&mut app, "hi"), append(Some(room("rust"))));
    // System lines land in the active channel.
    submit(&mut app, "/dance");
    assert!(rows_in(&app, 1).last().unwrap().contains("unknown command"));
    assert!(rows_in(&app, 0).is_empty());
}

#[test]
fn unread_counts_and_mentions_per_channel() {
    let mut app = room_app();
    // History from well before start is not unread.
    for (seq, text, age) in [
        (0, "old news", time::Duration::hours(1)),
        (1, "yesterday", time::Duration::days(1)),
    ] {
        app.update(Event::Net(NetEvent::Appended {
            log: BOB,
            seq: Seq(seq),
            message: {
                let mut m = ChatMessage::new_chat("bob", text, NOW - age);
                m.room = Some("rust".into());
                m
            },
        }));
    }
    assert_eq!(channel_list(&app)[1], ("#rust".into(), 0, false));
    app.update(Event::Tick(NOW + time::Duration::minutes(5)));
    app.update(in_room(BOB, 2, "bob", "anyone?", 1, "rust"));
    app.update(in_room(OWN, 0, "me", "my own words", 2, "rust"));
    assert_eq!(channel_list(&app)[1], ("#rust".into(), 1, false));
    app.update(in_room(BOB, 3, "bob", "hey ME, look", 3, "rust"));
    app.update(in_room(BOB, 4, "bob", "meet me", 4, "rust"));
    assert_eq!(channel_list(&app)[1], ("#rust".into(), 3, true));
    // The active channel counts nothing.
    app.update(appended(ANN, 0, "ann", "hi me", 4));
    assert_eq!(channel_list(&app)[0], ("home".into(), 0, false));
    // Switching clears; home now counts what came after it was left.
    alt(&mut app, '2');
    assert_eq!(channel_list(&app)[1], ("#rust".into(), 0, false));
    // History written well before it was left does not count.
    app.update(Event::Net(NetEvent::Appended {
        log: ANN,
        seq: Seq(1),
        message: ChatMessage::new_chat("ann", "long before", NOW - time::Duration::minutes(30)),
    }));
    app.update(Event::Tick(NOW + time::Duration::minutes(9)));
    app.update(appended(ANN, 2, "ann", "me? later", 8));
    assert_eq!(channel_list(&app)[0], ("home".into(), 1, true));
    alt(&mut app, '1');
    assert_eq!(channel_list(&app)[0], ("home".into(), 0, false));
}

#[test]
fn channel_keys_switch_and_wrap() {
    let mut app = room_app();
    net(
        &mut app,
        NetEvent::RoomJoined(RoomEntry {
            name: room("go"),
            members: vec![],
        }),
    );
    let active = |app: &App| app.active_channel().to_string();
    // Joined without asking (another client, --room before start): no switch.
    assert_eq!(active(&app), "home");
    ctrl(&mut app, 'n');
    assert_eq!(active(&app), "#rust");
    ctrl(&mut app, 'n');
    assert_eq!(active(&app), "#go");
    ctrl(&mut app, 'n');
    assert_eq!(active(&app), "home");
    ctrl(&mut app, 'p');
    assert_eq!(active(&app), "#go");
    alt(&mut app, '2');
    assert_eq!(active(&app), "#rust");
    alt(&mut app, '7');
    assert_eq!(active(&app), "#rust");
    assert_eq!(app.hint(), Some("no channel 7"));
    alt(&mut app, '1');
    assert_eq!(active(&app), "home");
    // Each channel keeps its own scroll.
    app.update(Event::Resize(100, 14));
    for seq in 0..30 {
        app.update(in_room(BOB, seq, "bob", &format!("line {seq}"), 1, "rust"));
    }
    alt(&mut app, '2');
    press(&mut app, KeyCode::PageUp);
    assert!(!app.timeline().is_at_bottom());
    alt(&mut app, '1');
    assert!(app.timeline().is_at_bottom());
    alt(&mut app, '2');
    assert!(!app.timeline().is_at_bottom());
}

// ---- what was read ----

fn at(minute: u8) -> OffsetDateTime {
    NOW.replace_minute(minute).unwrap_or(NOW)
}

fn position(log: LogKey, seq: u64, minute: u8) -> Position {
    Position {
        at: at(minute),
        log,
        seq: Seq(seq),
    }
}

/// Following Ann, in #rust with Bob; home read up to Ann's message 1, and
/// #rust left an hour ago with Bob's message 0 unread (it named us).
fn restored() -> App {
    room_app_read(vec![
        ReadMark {
            room: None,
            read_up_to: Some(position(ANN, 1, 1)),
            last_viewed: NOW,
            unread: vec![],
            mentions: vec![],
        },
        ReadMark {
            room: Some(room("rust")),
            read_up_to: None,
            last_viewed: NOW - time::Duration::hours(1),
            unread: vec![(BOB, Seq(0))],
            mentions: vec![(BOB, Seq(0))],
        },
    ])
}

fn saved(commands: &[Command]) -> Option<Vec<ReadMark>> {
    commands.iter().find_map(|c| match c {
        Command::Net(NetCommand::SaveReadMarks(marks)) => Some(marks.clone()),
        _ => None,
    })
}

#[test]
fn the_line_stands_before_the_first_message_after_what_was_read() {
    let mut app = restored();
    assert_eq!(
        channel_list(&app),
        [
            ("home".to_string(), 0, false),
            ("#rust".to_string(), 1, true)
        ]
    );
    app.update(appended(ANN, 0, "ann", "read long ago", 0));
    app.update(appended(ANN, 1, "ann", "read last time", 1));
    // Our own message after the mark is not news.
    app.update(appended(OWN, 0, "me", "mine", 2));
    app.update(appended(ANN, 2, "ann", "new since", 3));
    let shown = rows(&app);
    let line = shown
        .iter()
        .position(|r| r.contains("new since you were here"))
        .expect("the line is drawn");
    assert_eq!(shown[line + 1], "15:03 ann: new since", "{shown:?}");
    assert_eq!(shown[line - 1], "15:02 me: mine", "{shown:?}");
}

#[test]
fn leaving_a_channel_keeps_what_was_read_and_coming_back_moves_the_line() {
    let mut app = restored();
    app.update(appended(ANN, 2, "ann", "seen", 3));
    let commands = alt(&mut app, '2');
    let marks = saved(&commands).expect("switching saves what was read");
    assert_eq!(marks[0].room, None);
    assert_eq!(marks[0].read_up_to, Some(position(ANN, 2, 3)));
    assert_eq!(marks[1].room, Some(room("rust")));
    assert!(marks[1].unread.is_empty(), "#rust is being read now");
    assert_eq!(channel_list(&app)[1], ("#rust".to_string(), 0, false));
    // Something new comes home while #rust is looked at.
    app.update(appended(ANN, 3, "ann", "while away", 4));
    assert_eq!(channel_list(&app)[0], ("home".to_string(), 1, false));
    alt(&mut app, '1');
    let shown = rows(&app);
    let line = shown
        .iter()
        .position(|r| r.contains("new since you were here"))
        .expect("the line is drawn");
    assert_eq!(shown[line + 1], "15:04 ann: while away", "{shown:?}");
    // Quitting keeps home read up to its newest message.
    let commands = app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(commands.last(), Some(&Command::Quit));
    let marks = saved(&commands).expect("quitting saves what was read");
    assert_eq!(marks[0].read_up_to, Some(position(ANN, 3, 4)));
    assert_eq!(marks[1].read_up_to, None, "#rust held no message");
}

#[test]
fn what_came_in_since_the_last_look_of_the_last_run_is_unread() {
    let mut app = restored();
    // Written 30 minutes ago, after #rust was last looked at (an hour ago):
    // it came in while hychat was closed.
    let mut message =
        ChatMessage::new_chat("bob", "while closed", NOW - time::Duration::minutes(30));
    message.room = Some("rust".into());
    app.update(Event::Net(NetEvent::Appended {
        log: BOB,
        seq: Seq(1),
        message,
    }));
    assert_eq!(channel_list(&app)[1], ("#rust".to_string(), 2, true));
    // A tick saves the changed count once it is due, and only then.
    assert!(saved(&app.update(Event::Tick(NOW + time::Duration::seconds(5)))).is_none());
    let marks = saved(&app.update(Event::Tick(NOW + time::Duration::seconds(31))))
        .expect("a changed count is saved");
    assert_eq!(marks[1].unread.len(), 2);
    assert!(saved(&app.update(Event::Tick(NOW + time::Duration::seconds(70)))).is_none());
}

#[test]
fn alt_a_goes_to_mentions_first_then_to_unread_channels() {
    let mut app = room_app();
    net(
        &mut app,
        NetEvent::RoomJoined(RoomEntry {
            name: room("go"),
            members: vec![member(BOB, Some("bob"))],
        }),
    );
    alt(&mut app, '1');
    app.update(in_room(BOB, 0, "bob", "plain news", 1, "rust"));
    app.update(in_room(BOB, 1, "bob", "hey me, look", 2, "go"));
    alt(&mut app, 'a');
    assert_eq!(app.active_channel().to_string(), "#go", "the mention first");
    alt(&mut app, 'a');
    assert_eq!(app.active_channel().to_string(), "#rust");
    alt(&mut app, 'a');
    assert_eq!(app.active_channel().to_string(), "#rust");
    assert_eq!(app.hint(), Some("nothing unread"));
}
