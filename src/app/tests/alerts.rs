//! Notices and the title: what comes into a channel not looked at, or
//! names us, is told (throttled); our own messages and old history are not;
//! the title carries the unread count.

use super::*;

fn notices(commands: &[Command]) -> Vec<Notice> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Notify(notice) => Some(notice.clone()),
            _ => None,
        })
        .collect()
}

fn title(commands: &[Command]) -> Option<String> {
    commands.iter().find_map(|c| match c {
        Command::Title(title) => Some(title.clone()),
        _ => None,
    })
}

#[test]
fn a_message_in_another_channel_is_told_and_counted_in_the_title() {
    let mut app = room_app();
    let commands = app.update(in_room(BOB, 0, "bob", "news in rust", 0, "rust"));
    assert_eq!(
        notices(&commands),
        [Notice {
            channel: "#rust".into(),
            from: "bob".into(),
            text: "news in rust".into(),
            mention: false,
        }]
    );
    assert_eq!(title(&commands).as_deref(), Some("(1) hychat"));
    // A burst rings once.
    let commands = app.update(in_room(BOB, 1, "bob", "more", 0, "rust"));
    assert!(notices(&commands).is_empty());
    assert_eq!(title(&commands).as_deref(), Some("(2) hychat"));
    // A mention gets through, and marks the title.
    let commands = app.update(in_room(BOB, 2, "bob", "me: are you there?", 0, "rust"));
    assert_eq!(notices(&commands).len(), 1);
    assert!(notices(&commands)[0].mention);
    assert_eq!(title(&commands).as_deref(), Some("(3@) hychat"));
    // Reading the room clears the title.
    let commands = alt(&mut app, '2');
    assert_eq!(title(&commands).as_deref(), Some("hychat"));
}

#[test]
fn own_messages_history_and_the_channel_looked_at_are_quiet_unless_named() {
    let mut app = room_app();
    app.update(Event::Tick(NOW + time::Duration::minutes(1)));
    let own = app.update(appended(OWN, 0, "me", "my own", 1));
    assert!(notices(&own).is_empty());
    let looked_at = app.update(appended(ANN, 0, "ann", "in home", 1));
    assert!(notices(&looked_at).is_empty());
    // Written well before the last look: history, not news.
    let mut old = ChatMessage::new_chat("bob", "old", NOW - time::Duration::hours(2));
    old.room = Some("rust".into());
    let history = app.update(Event::Net(NetEvent::Appended {
        log: BOB,
        seq: Seq(0),
        message: old,
    }));
    assert!(notices(&history).is_empty());
    // Named in the channel looked at: told.
    let named = app.update(appended(ANN, 1, "ann", "ME, lunch?", 1));
    assert_eq!(notices(&named).len(), 1);
    assert!(notices(&named)[0].mention);
    assert_eq!(notices(&named)[0].channel, "home");
}
