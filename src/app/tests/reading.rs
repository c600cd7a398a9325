//! What was read of each channel: restored from the last run (the "new
//! since you were here" line, unread counts and mentions), kept when
//! channels switch, on quit and on a tick once counts changed, and Alt+A
//! to the next channel with unread messages.

use super::*;
use crate::domain::{Position, ReadMark};

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
