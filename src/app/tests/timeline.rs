//! The timeline of a channel: ordering by timestamp, telling nicknames apart,
//! /clear, and scrolling with the count of new messages below.

use super::*;

#[test]
fn clear_hides_the_view_but_keeps_the_data() {
    let mut app = ready_app(friends());
    app.update(appended(ANN, 0, "ann", "one", 1));
    submit(&mut app, "/clear");
    assert!(rows(&app).is_empty());
    assert_eq!(app.timeline().entries().len(), 1);
    // A duplicate still does not reappear, a new one does.
    app.update(appended(ANN, 0, "ann", "one", 1));
    assert!(rows(&app).is_empty());
    app.update(appended(ANN, 1, "ann", "two", 2));
    assert_eq!(rows(&app)[1], "15:02 ann: two");
}

#[test]
fn messages_merge_by_timestamp_across_logs() {
    let mut app = ready_app(friends());
    app.update(appended(ANN, 1, "ann", "third", 3));
    app.update(appended(BOB, 0, "bob", "second", 2));
    app.update(appended(ANN, 0, "ann", "first", 1));
    app.update(appended(OWN, 0, "me", "fourth", 4));
    assert_eq!(
        rows(&app)[1..],
        [
            "15:01 ann: first",
            "15:02 bob: second",
            "15:03 ann: third",
            "15:04 me: fourth"
        ]
    );
}

#[test]
fn same_nick_on_two_keys_is_told_apart() {
    let mut app = ready_app(friends());
    app.update(appended(ANN, 0, "bob", "i am bob", 1));
    app.update(appended(BOB, 0, "bob", "no, i am bob", 2));
    let text = rows(&app);
    assert_eq!(text[1], "15:01 bob#a1a1: i am bob");
    assert_eq!(text[2], "15:02 bob#b0b0: no, i am bob");
}

fn fill(app: &mut App, count: u64) {
    for seq in 0..count {
        app.update(appended(ANN, seq, "ann", &format!("message {seq}"), 0));
    }
}

#[test]
fn scrolled_up_view_counts_new_messages_and_stays_still() {
    let mut app = ready_app(friends());
    app.update(Event::Resize(100, 14)); // timeline of 10 rows
    app.update(Event::Tick(NOW + time::Duration::hours(1)));
    fill(&mut app, 40);
    assert!(app.timeline().is_at_bottom());
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.timeline().scroll(), 9);
    app.update(appended(BOB, 0, "bob", "new one", 30));
    app.update(appended(BOB, 1, "bob", "new two", 31));
    assert_eq!(app.timeline().new_below(), 2);
    assert_eq!(app.timeline().scroll(), 11);
    // An older message (history) lands above the view and is not counted.
    app.update(Event::Net(NetEvent::Appended {
        log: BOB,
        seq: Seq(99),
        message: ChatMessage::new_chat("bob", "old", NOW - time::Duration::hours(1)),
    }));
    assert_eq!(app.timeline().new_below(), 2);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.timeline().new_below(), 2);
    press(&mut app, KeyCode::PageDown);
    assert!(app.timeline().is_at_bottom());
    assert_eq!(app.timeline().new_below(), 0);
}

#[test]
fn scroll_is_bounded_by_the_content() {
    let mut app = ready_app(friends());
    app.update(Event::Resize(100, 14));
    fill(&mut app, 15);
    // 16 rows (separator + 15) in 10: at most 6 up.
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Home,
        KeyModifiers::CONTROL,
    )));
    assert_eq!(app.timeline().scroll(), 6);
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.timeline().scroll(), 6);
    app.update(Event::Key(KeyEvent::new(
        KeyCode::End,
        KeyModifiers::CONTROL,
    )));
    assert!(app.timeline().is_at_bottom());
    // Growing the window clamps the scroll.
    press(&mut app, KeyCode::PageUp);
    app.update(Event::Resize(100, 40));
    assert!(app.timeline().is_at_bottom());
}

#[test]
fn sending_jumps_back_to_the_bottom() {
    let mut app = ready_app(friends());
    app.update(Event::Resize(100, 14));
    fill(&mut app, 30);
    press(&mut app, KeyCode::PageUp);
    assert!(!app.timeline().is_at_bottom());
    submit(&mut app, "back");
    assert!(app.timeline().is_at_bottom());
}
