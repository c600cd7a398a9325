//! Typing and editing the input line: sending on Enter, multi-line input and
//! paste, history, editing keys, tab completion and the length limit.

use super::*;
use crate::domain::message::MAX_TEXT_CHARS;

#[test]
fn enter_sends_an_append_and_clears_the_input() {
    let mut app = ready_app(vec![]);
    let commands = submit(&mut app, "hello world");
    assert_eq!(
        commands,
        vec![Command::Net(NetCommand::Append {
            text: "hello world".into(),
            room: None,
        })]
    );
    assert!(app.input().is_empty());
    // Nothing is shown until the engine echoes it.
    assert!(app.timeline().entries().is_empty());
    app.update(appended(OWN, 0, "me", "hello world", 1));
    assert_eq!(last_row(&app), "15:01 me: hello world");
}

#[test]
fn empty_or_blank_lines_send_nothing() {
    let mut app = ready_app(vec![]);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(submit(&mut app, "   ").is_empty());
}

#[test]
fn double_slash_sends_a_literal_slash() {
    let mut app = ready_app(vec![]);
    assert_eq!(
        submit(&mut app, "//shrug"),
        vec![Command::Net(NetCommand::Append {
            text: "/shrug".into(),
            room: None,
        })]
    );
}

#[test]
fn paste_with_newlines_is_one_message() {
    let mut app = ready_app(vec![]);
    app.update(Event::Paste("line one\r\nline two\n".into()));
    assert_eq!(app.input().text(), "line one\nline two\n");
    let commands = press(&mut app, KeyCode::Enter);
    assert_eq!(
        commands,
        vec![Command::Net(NetCommand::Append {
            text: "line one\nline two".into(),
            room: None,
        })]
    );
}

#[test]
fn alt_enter_inserts_a_newline() {
    let mut app = ready_app(vec![]);
    type_str(&mut app, "a");
    let commands = app.update(Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)));
    assert!(commands.is_empty());
    type_str(&mut app, "b");
    assert_eq!(app.input().text(), "a\nb");
}

#[test]
fn up_recalls_history() {
    let mut app = ready_app(vec![]);
    submit(&mut app, "first");
    submit(&mut app, "second");
    press(&mut app, KeyCode::Up);
    assert_eq!(app.input().text(), "second");
    press(&mut app, KeyCode::Up);
    assert_eq!(app.input().text(), "first");
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.input().text(), "");
}

#[test]
fn ctrl_w_deletes_a_word() {
    let mut app = ready_app(vec![]);
    type_str(&mut app, "hello there world");
    ctrl(&mut app, 'w');
    assert_eq!(app.input().text(), "hello there ");
    ctrl(&mut app, 'a');
    type_str(&mut app, "> ");
    ctrl(&mut app, 'e');
    type_str(&mut app, "!");
    assert_eq!(app.input().text(), "> hello there !");
    ctrl(&mut app, 'u');
    assert_eq!(app.input().text(), "");
}

#[test]
fn tab_completes_commands_and_names() {
    let mut app = ready_app(vec![follow(ANN, Some("annabel"))]);
    type_str(&mut app, "/fo");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.input().text(), "/follow ");

    let mut app = ready_app(vec![follow(ANN, Some("annabel"))]);
    type_str(&mut app, "/unfollow ann");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.input().text(), "/unfollow annabel ");

    // Ambiguous: the candidates show as a hint until the next key.
    let mut app = ready_app(vec![]);
    type_str(&mut app, "/");
    press(&mut app, KeyCode::Tab);
    assert!(app
        .hint()
        .is_some_and(|h| h.contains("/follow") && h.contains("/quit")));
    type_str(&mut app, "q");
    assert_eq!(app.hint(), None);
}

#[test]
fn overlong_messages_are_refused_and_kept_in_the_input() {
    let mut app = ready_app(vec![]);
    let long = "x".repeat(MAX_TEXT_CHARS + 1);
    app.update(Event::Paste(long.clone()));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.input().text(), long);
    assert!(last_row(&app).contains("the limit is"));
}

#[test]
fn tab_completes_room_commands_rooms_and_member_names() {
    let mut app = room_app();
    type_str(&mut app, "/mem");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.input().text(), "/members ");
    ctrl(&mut app, 'u');
    type_str(&mut app, "/leave r");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.input().text(), "/leave rust ");
    ctrl(&mut app, 'u');
    type_str(&mut app, "/mute b");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.input().text(), "/mute bob ");
}

#[test]
fn a_paste_of_more_than_five_lines_waits_for_enter_or_esc() {
    let mut app = ready_app(vec![]);
    // Five lines go in as any paste does.
    app.update(Event::Paste("1\n2\n3\n4\n5\n".into()));
    assert_eq!(app.paste_pending(), None);
    assert_eq!(
        press(&mut app, KeyCode::Enter).len(),
        1,
        "sent without asking"
    );
    assert!(app.input().is_empty());

    type_str(&mut app, "draft ");
    let twelve: String = (1..=12).map(|n| format!("line {n}\n")).collect();
    app.update(Event::Paste(twelve.clone()));
    assert_eq!(app.paste_pending(), Some(12));
    // Other keys do nothing but ask again.
    assert!(press(&mut app, KeyCode::Char('x')).is_empty());
    assert_eq!(app.hint(), Some("send 12 lines? Enter sends, Esc cancels"));
    // Esc takes the paste back out; the draft stays.
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.paste_pending(), None);
    assert_eq!(app.input().text(), "draft ");
    // Enter sends it.
    app.update(Event::Paste(twelve.clone()));
    let commands = press(&mut app, KeyCode::Enter);
    assert_eq!(
        commands,
        vec![Command::Net(NetCommand::Append {
            text: format!("draft {}", twelve.trim_end()),
            room: None,
        })]
    );
    assert_eq!(app.paste_pending(), None);
    assert!(app.input().is_empty());
}
