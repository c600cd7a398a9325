//! Tests of `App::update` as a whole: events in, state and commands out.
//! No terminal and no network: the net side is played by hand-made events.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::macros::datetime;
use time::OffsetDateTime;

use super::*;
use crate::net::{ChatMessage, FeedKey, FollowEntry, NetCommand, NetEvent, PeerId, Seq};

const NOW: OffsetDateTime = datetime!(2026-11-24 15:00 UTC);
const OWN: FeedKey = FeedKey([0x11; 32]);
const ANN: FeedKey = FeedKey([0xa1; 32]);
const BOB: FeedKey = FeedKey([0xb0; 32]);
const HEX: &str = "8f2c1e9a4b7d3f60c5e1a2b3d4f5061728394a5b6c7d8e9fa0b1c2d3e4f50617";

fn ready_app(follows: Vec<FollowEntry>) -> App {
    let mut app = App::new(NOW);
    app.update(Event::Resize(100, 30));
    app.update(Event::Net(NetEvent::Ready {
        own: OWN,
        nickname: "me".into(),
        first_run: false,
        follows,
        rooms: vec![],
        muted: vec![],
    }));
    app
}

fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.update(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl(app: &mut App, c: char) -> Vec<Command> {
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

fn type_str(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn submit(app: &mut App, s: &str) -> Vec<Command> {
    type_str(app, s);
    press(app, KeyCode::Enter)
}

fn appended(feed: FeedKey, seq: u64, nick: &str, text: &str, minute: u8) -> Event {
    let at = NOW.replace_minute(minute).unwrap_or(NOW);
    Event::Net(NetEvent::Appended {
        feed,
        seq: Seq(seq),
        message: ChatMessage::new_chat(nick, text, at),
    })
}

/// The visible timeline as plain rows.
fn rows(app: &App) -> Vec<String> {
    app.timeline_rows(70).iter().map(|r| r.text()).collect()
}

fn last_row(app: &App) -> String {
    rows(app).last().cloned().unwrap_or_default()
}

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
    let mut app = ready_app(vec![FollowEntry {
        key: ANN,
        name: Some("annabel".into()),
    }]);
    type_str(&mut app, "/fo");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.input().text(), "/follow ");

    let mut app = ready_app(vec![FollowEntry {
        key: ANN,
        name: Some("annabel".into()),
    }]);
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
fn follow_with_a_bad_key_is_an_inline_error_and_sends_nothing() {
    let mut app = ready_app(vec![]);
    let commands = submit(&mut app, "/follow badkey");
    assert!(commands.is_empty());
    let expected = "badkey".parse::<FeedKey>().unwrap_err().to_string();
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
    assert!(submit(&mut app, &format!("/follow {}", OWN.to_hex())).is_empty());
    assert!(last_row(&app).contains("your own log"));
}

#[test]
fn unknown_commands_and_bad_arguments_are_inline_errors() {
    let mut app = ready_app(vec![]);
    assert!(submit(&mut app, "/dance").is_empty());
    assert_eq!(
        last_row(&app),
        "15:00 ! unknown command /dance; type /help for the list"
    );
    assert!(submit(&mut app, "/nick").is_empty());
    assert_eq!(last_row(&app), "15:00 ! usage: /nick NAME");
    assert!(submit(&mut app, "/peers now").is_empty());
    assert_eq!(last_row(&app), "15:00 ! usage: /peers");
}

#[test]
fn unfollow_by_name_resolves_the_key() {
    let mut app = ready_app(vec![
        FollowEntry {
            key: ANN,
            name: Some("ann".into()),
        },
        FollowEntry {
            key: BOB,
            name: None,
        },
    ]);
    app.update(appended(BOB, 0, "bob", "hi", 0));
    assert_eq!(
        submit(&mut app, "/unfollow bob"),
        vec![Command::Net(NetCommand::Unfollow { key: BOB })]
    );
    assert_eq!(
        submit(&mut app, "/unfollow ANN"),
        vec![Command::Net(NetCommand::Unfollow { key: ANN })]
    );
    assert!(submit(&mut app, "/unfollow carol").is_empty());
    assert_eq!(last_row(&app), "15:00 ! you follow nobody called carol");
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

#[test]
fn quit_paths() {
    let mut app = ready_app(vec![]);
    assert_eq!(submit(&mut app, "/quit"), vec![Command::Quit]);
    assert!(app.is_quitting());

    let mut app = ready_app(vec![]);
    assert_eq!(ctrl(&mut app, 'c'), vec![Command::Quit]);

    let mut app = ready_app(vec![]);
    type_str(&mut app, "ab");
    press(&mut app, KeyCode::Left);
    assert!(ctrl(&mut app, 'd').is_empty());
    assert_eq!(app.input().text(), "a");
    ctrl(&mut app, 'u');
    ctrl(&mut app, 'e');
    ctrl(&mut app, 'w');
    assert_eq!(ctrl(&mut app, 'd'), vec![Command::Quit]);
}

#[test]
fn first_run_shows_the_share_key() {
    let mut app = App::new(NOW);
    app.update(Event::Net(NetEvent::Ready {
        own: OWN,
        nickname: "me".into(),
        first_run: true,
        follows: vec![],
        rooms: vec![],
        muted: vec![],
    }));
    let text: Vec<_> = app.timeline_rows(200).iter().map(|r| r.text()).collect();
    assert!(text.iter().any(|r| r.contains(&OWN.to_hex())), "{text:?}");
    assert!(text.iter().any(|r| r.contains("/follow")), "{text:?}");
    assert_eq!(app.own(), Some(OWN));

    let quiet = ready_app(vec![]);
    assert!(quiet.timeline().entries().is_empty());
}

#[test]
fn help_and_key_overlays_open_and_close() {
    let mut app = ready_app(vec![]);
    submit(&mut app, "/help");
    assert_eq!(app.overlay(), Some(Overlay::Help));
    // Typing does not leak into the input behind the popup.
    type_str(&mut app, "x");
    assert!(app.input().is_empty());
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay(), None);
    submit(&mut app, "/key");
    assert_eq!(app.overlay(), Some(Overlay::Key));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay(), None);
    press(&mut app, KeyCode::F(1));
    assert_eq!(app.overlay(), Some(Overlay::Help));
}

#[test]
fn key_before_ready_is_an_error() {
    let mut app = App::new(NOW);
    submit(&mut app, "/key");
    assert_eq!(app.overlay(), None);
    assert!(last_row(&app).starts_with("15:00 ! the log is still opening"));
}

#[test]
fn peers_command_lists_connected_peers() {
    let mut app = ready_app(vec![FollowEntry {
        key: ANN,
        name: Some("ann".into()),
    }]);
    submit(&mut app, "/peers");
    assert_eq!(last_row(&app), "15:00 * no peers connected");
    app.update(Event::Net(NetEvent::PeerConnected {
        peer: PeerId([0xee; 32]),
        feeds: vec![OWN, ANN],
        rooms: vec![],
    }));
    app.update(Event::Tick(NOW + time::Duration::minutes(3)));
    submit(&mut app, "/peers");
    let text = rows(&app);
    let tail = &text[text.len() - 2..];
    assert_eq!(tail[0], "15:03 * 1 peer connected:");
    assert_eq!(
        tail[1],
        "        eeeeeeee for 3m: 11111111 (you), a1a1a1a1 (ann)"
    );
}

#[test]
fn clear_hides_the_view_but_keeps_the_data() {
    let mut app = ready_app(vec![]);
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
    let mut app = ready_app(vec![]);
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
    let mut app = ready_app(vec![]);
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
    let mut app = ready_app(vec![]);
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
        feed: BOB,
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
    let mut app = ready_app(vec![]);
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
    let mut app = ready_app(vec![]);
    app.update(Event::Resize(100, 14));
    fill(&mut app, 30);
    press(&mut app, KeyCode::PageUp);
    assert!(!app.timeline().is_at_bottom());
    submit(&mut app, "back");
    assert!(app.timeline().is_at_bottom());
}

#[test]
fn peers_and_follows_follow_the_events() {
    let mut app = ready_app(vec![FollowEntry {
        key: ANN,
        name: Some("ann".into()),
    }]);
    let peer = PeerId([7; 32]);
    app.update(Event::Net(NetEvent::PeerConnected {
        peer,
        feeds: vec![ANN],
        rooms: vec![],
    }));
    assert!(app.peers().is_online(&ANN));
    app.update(Event::Net(NetEvent::FeedProgress {
        feed: ANN,
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
    app.update(Event::Net(NetEvent::Unfollowed { feed: ANN }));
    assert!(!app.peers().is_following(&ANN));
    assert!(rows(&app).iter().all(|r| !r.contains("annie:")));
    assert!(last_row(&app).contains("stopped following annie"));
}

#[test]
fn network_status_and_errors() {
    let mut app = ready_app(vec![]);
    assert_eq!(app.network(), None);
    app.update(Event::Net(NetEvent::NetworkStatus(
        NetworkStatus::Offline {
            reason: "no route".into(),
            retry_in: Duration::from_secs(10),
        },
    )));
    app.update(Event::Tick(NOW + time::Duration::seconds(4)));
    assert_eq!(app.retry_in(), Some(Duration::from_secs(6)));
    app.update(Event::Net(NetEvent::Error(
        "could not follow: disk full".into(),
    )));
    assert_eq!(last_row(&app), "15:00 ! could not follow: disk full");
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
fn help_scrolls_within_its_length_when_the_screen_is_short() {
    let mut app = ready_app(vec![]);
    app.update(Event::Resize(80, 12));
    press(&mut app, KeyCode::F(1));
    let max = help::max_scroll(ratatui::layout::Rect::new(0, 0, 80, 12));
    assert!(max > 0);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.overlay_scroll(), 1);
    for _ in 0..100 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(app.overlay_scroll(), max);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.overlay_scroll(), max - 1);
    press(&mut app, KeyCode::Home);
    assert_eq!(app.overlay_scroll(), 0);
    press(&mut app, KeyCode::PageDown);
    assert!(app.overlay_scroll() > 1);
    // A taller screen needs less scrolling; reopening starts at the top.
    app.update(Event::Resize(80, 60));
    assert_eq!(app.overlay_scroll(), 0);
    press(&mut app, KeyCode::Esc);
    assert!(app.input().is_empty());
}

#[test]
fn blocks_in_flight_for_an_unfollowed_log_are_dropped_until_followed_again() {
    let mut app = ready_app(vec![FollowEntry {
        key: ANN,
        name: None,
    }]);
    app.update(appended(ANN, 0, "ann", "one", 1));
    app.update(Event::Net(NetEvent::Unfollowed { feed: ANN }));
    app.update(appended(ANN, 1, "ann", "late", 2));
    assert!(rows(&app).iter().all(|r| !r.contains("ann:")));
    app.update(Event::Net(NetEvent::Followed(FollowEntry {
        key: ANN,
        name: None,
    })));
    app.update(appended(ANN, 0, "ann", "one", 1));
    assert!(rows(&app).iter().any(|r| r.contains("ann: one")));
}
