//! Slash commands and their inline errors: /follow, /unfollow by name,
//! /nick, and unknown commands or bad arguments.

use super::*;
use crate::app::timeline;

#[test]
fn follow_with_a_bad_key_is_an_inline_error_and_sends_nothing() {
    let mut app = ready_app(vec![]);
    let commands = submit(&mut app, "/follow badkey");
    assert!(commands.is_empty());
    let expected = "badkey".parse::<LogKey>().unwrap_err().to_string();
    let entry = app.timeline().entries().last().unwrap();
    assert_eq!(
        entry.body,
        timeline::Body::System {
            text: expected,
            error: true
        }
    );
}

#[test]
fn follow_with_a_key_and_name_sends_follow() {
    let mut app = ready_app(vec![]);
    let commands = submit(&mut app, &format!("/follow {HEX} ann"));
    assert_eq!(
        commands,
        vec![Command::Net(NetCommand::Follow {
            key: HEX.parse().unwrap(),
            name: Some("ann".into())
        })]
    );
}

#[test]
fn following_yourself_is_refused() {
    let mut app = ready_app(vec![]);
    assert!(refused(&mut app, &format!("/follow {}", OWN.to_hex())).contains("your own log"));
}

#[test]
fn unknown_commands_and_bad_arguments_are_inline_errors() {
    let mut app = ready_app(vec![]);
    assert_eq!(
        refused(&mut app, "/dance"),
        "15:00 ! unknown command /dance; type /help for the list"
    );
    assert_eq!(refused(&mut app, "/nick"), "15:00 ! usage: /nick NAME");
    assert_eq!(refused(&mut app, "/peers now"), "15:00 ! usage: /peers");
}

#[test]
fn unfollow_by_name_resolves_the_key() {
    let mut app = ready_app(vec![follow(ANN, Some("ann")), follow(BOB, None)]);
    app.update(appended(BOB, 0, "bob", "hi", 0));
    assert_eq!(
        submit(&mut app, "/unfollow bob"),
        vec![Command::Net(NetCommand::Unfollow { key: BOB })]
    );
    assert_eq!(
        submit(&mut app, "/unfollow ANN"),
        vec![Command::Net(NetCommand::Unfollow { key: ANN })]
    );
    assert_eq!(
        refused(&mut app, "/unfollow carol"),
        "15:00 ! you follow nobody called carol"
    );
}

#[test]
fn nick_sends_set_nick_and_the_echo_updates_state() {
    let mut app = ready_app(vec![]);
    assert_eq!(
        submit(&mut app, "/nick cat-lover"),
        vec![Command::Net(NetCommand::SetNick {
            nickname: "cat-lover".into()
        })]
    );
    assert_eq!(app.nickname(), "me");
    app.update(Event::Net(NetEvent::NickChanged {
        nickname: "cat-lover".into(),
    }));
    assert_eq!(app.nickname(), "cat-lover");
    assert_eq!(last_row(&app), "15:00 * your nickname is now cat-lover");
}
