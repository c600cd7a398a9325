//! Tests of `App::update` as a whole: events in, state and commands out.
//! No terminal and no network: the net side is played by hand-made events.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};

use super::*;
use crate::domain::{ChatMessage, ConnectionKey, LogKey, Member, RoomEntry, RoomName, Seq};
use crate::net::{
    FollowEntry, Nat, NetCommand, NetEvent, NetworkReport, PeerPath, PeerRoom, PeerRoute,
    Reachability,
};

const NOW: OffsetDateTime = datetime!(2026-11-24 15:00 UTC);
const OWN: LogKey = LogKey([0x11; 32]);
const ANN: LogKey = LogKey([0xa1; 32]);
const BOB: LogKey = LogKey([0xb0; 32]);
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

/// Ann and Bob, followed: their room-less messages show in home.
fn friends() -> Vec<FollowEntry> {
    [ANN, BOB]
        .into_iter()
        .map(|key| FollowEntry { key, name: None })
        .collect()
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

fn appended(log: LogKey, seq: u64, nick: &str, text: &str, minute: u8) -> Event {
    let at = NOW.replace_minute(minute).unwrap_or(NOW);
    Event::Net(NetEvent::Appended {
        log,
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
        "        eeeeeeee for 3m: 11111111 (you), a1a1a1a1 (ann)"
    );
}

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

// ---- channels and rooms ----

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

fn member(key: LogKey, nick: Option<&str>) -> Member {
    Member {
        key,
        nickname: nick.map(str::to_string),
    }
}

/// Following Ann; in room `rust` with Bob as a member.
fn room_app() -> App {
    let mut app = App::new(NOW);
    app.update(Event::Resize(100, 30));
    app.update(Event::Net(NetEvent::Ready {
        own: OWN,
        nickname: "me".into(),
        first_run: false,
        follows: vec![FollowEntry {
            key: ANN,
            name: Some("ann".into()),
        }],
        rooms: vec![RoomEntry {
            name: room("rust"),
            members: vec![member(BOB, Some("bob"))],
        }],
        muted: vec![],
    }));
    app
}

fn in_room(log: LogKey, seq: u64, nick: &str, text: &str, minute: u8, name: &str) -> Event {
    let at = NOW.replace_minute(minute).unwrap_or(NOW);
    let mut message = ChatMessage::new_chat(nick, text, at);
    message.room = Some(name.to_string());
    Event::Net(NetEvent::Appended {
        log,
        seq: Seq(seq),
        message,
    })
}

fn alt(app: &mut App, c: char) -> Vec<Command> {
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::ALT,
    )))
}

fn net(app: &mut App, event: NetEvent) {
    app.update(Event::Net(event));
}

/// (label, unread, mention) of every channel.
fn channel_list(app: &App) -> Vec<(String, usize, bool)> {
    app.channels()
        .list()
        .iter()
        .map(|c| (c.id.to_string(), c.unread(), c.mention()))
        .collect()
}

/// The text of the active channel's newest entry.
fn last_entry(app: &App) -> String {
    match app.timeline().entries().last().map(|e| &e.body) {
        Some(timeline::Body::System { text, .. }) => text.clone(),
        Some(timeline::Body::Message { message, .. }) => message.text.clone(),
        None => String::new(),
    }
}

/// The text rows of one channel (0 = home) without switching to it.
fn rows_in(app: &App, channel: usize) -> Vec<String> {
    let timeline = &app.channels().list()[channel].timeline;
    view::timeline_rows(timeline, app.own(), UtcOffset::UTC, 70)
        .iter()
        .map(|r| r.text())
        .collect()
}

#[test]
fn home_shows_only_own_and_followed_logs_and_follows_reroute_the_archive() {
    let mut app = ready_app(vec![]);
    app.update(appended(ANN, 0, "ann", "before the follow", 1));
    app.update(appended(OWN, 0, "me", "mine", 2));
    assert_eq!(rows(&app)[1..], ["15:02 me: mine"]);
    net(
        &mut app,
        NetEvent::Followed(FollowEntry {
            key: ANN,
            name: None,
        }),
    );
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

#[test]
fn join_validates_sends_and_enters_the_room_once_joined() {
    let mut app = room_app();
    assert!(submit(&mut app, &format!("/join {}", "x".repeat(65))).is_empty());
    assert_eq!(
        last_row(&app),
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
    assert!(submit(&mut app, "/join rust").is_empty());
    assert_eq!(last_row(&app), "15:00 * you are in #rust already");
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
    assert!(submit(&mut app, "/leave").is_empty());
    assert_eq!(
        last_row(&app),
        "15:00 ! this is home, not a room; /leave ROOM leaves a room"
    );
    assert!(submit(&mut app, "/leave go").is_empty());
    assert_eq!(last_row(&app), "15:00 ! you are not in #go");
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
    assert!(submit(&mut app, "/mute me").is_empty());
    assert_eq!(
        last_row(&app),
        "15:10 ! that is you; you cannot mute yourself"
    );
    assert!(submit(&mut app, &format!("/mute {}", OWN.to_hex())).is_empty());
    assert!(last_row(&app).contains("cannot mute yourself"));
    assert!(submit(&mut app, "/mute carol").is_empty());
    assert_eq!(
        last_entry(&app),
        "nobody called carol here; /mute takes a name you have seen or a key"
    );
    assert!(submit(&mut app, "/unmute ann").is_empty());
    assert_eq!(last_row(&app), "15:10 ! ann (a1a1a1a1) is not muted");

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
    assert!(submit(&mut app, "/mute bob").is_empty());
    assert!(last_row(&app).contains("muted already"));

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
    assert!(submit(&mut app, "/mute bob").is_empty());
    assert_eq!(
        last_row(&app),
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
        },
    );
    app.update(appended(BOB, 0, "bob", "shh", 1));
    app.update(appended(ANN, 0, "ann", "hello", 2));
    assert_eq!(rows(&app)[1..], ["15:02 ann: hello"]);
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
        "        eeeeeeee for 0s in #rust: b0b0b0b0 (bob)"
    );
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

// ---- the network ----

fn report() -> NetworkReport {
    NetworkReport {
        bound: Some("0.0.0.0:49737".parse().unwrap()),
        local_ip: Some("192.168.1.20".parse().unwrap()),
        public_ip: Some("203.0.113.5".parse().unwrap()),
        nat: Nat::Consistent,
        reachable: Reachability::Unreachable,
    }
}

fn route(address: Option<&str>, path: PeerPath, own_log: Option<LogKey>) -> PeerRoute {
    PeerRoute {
        address: address.map(|a| a.parse().unwrap()),
        path,
        own_log,
    }
}

fn connect(app: &mut App, byte: u8, logs: Vec<LogKey>, route: PeerRoute) {
    net(
        app,
        NetEvent::PeerConnected {
            peer: ConnectionKey([byte; 32]),
            logs,
            rooms: vec![],
            route,
        },
    );
}

/// The network pane as plain text at a wide popup's width.
fn pane(app: &App) -> Vec<String> {
    network::lines(app, 76)
        .iter()
        .map(|line| line.iter().map(|(t, _)| t.as_str()).collect())
        .collect()
}

/// The value of a fact in the pane, its wrapped rows joined.
fn fact(pane: &[String], label: &str) -> String {
    let at = pane
        .iter()
        .position(|row| row.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in {pane:#?}"));
    let mut rows = vec![pane[at].trim_start()[label.len()..].trim()];
    rows.extend(
        pane[at + 1..]
            .iter()
            .take_while(|row| row.starts_with(&" ".repeat(25)))
            .map(|row| row.trim()),
    );
    rows.join(" ")
}

#[test]
fn the_network_report_is_stored_and_shown() {
    let mut app = ready_app(vec![]);
    assert_eq!(app.network_report(), &NetworkReport::default());
    let before = pane(&app);
    for label in [
        "listening on",
        "local address",
        "public address",
        "NAT",
        "reachable from outside",
    ] {
        assert_eq!(fact(&before, label), "not known yet", "{before:#?}");
    }
    net(&mut app, NetEvent::NetworkReport(report()));
    assert_eq!(app.network_report(), &report());
    let after = pane(&app);
    assert_eq!(
        fact(&after, "listening on"),
        "0.0.0.0:49737 (every interface)"
    );
    assert_eq!(fact(&after, "local address"), "192.168.1.20");
    assert_eq!(
        fact(&after, "public address"),
        "203.0.113.5 (as DHT nodes see it)"
    );
    assert_eq!(
        fact(&after, "NAT"),
        "port-preserving NAT: peers behind such NATs can reach you"
    );
    assert_eq!(
        fact(&after, "reachable from outside"),
        "no (a NAT or firewall drops unsolicited traffic)"
    );
    assert_eq!(
        network::status_facts(app.network_report()),
        [
            "public 203.0.113.5",
            "port-preserving NAT",
            "not reachable from outside"
        ]
    );
    // A NAT that changes ports says what to do about it.
    net(
        &mut app,
        NetEvent::NetworkReport(NetworkReport {
            nat: Nat::Random,
            ..report()
        }),
    );
    assert_eq!(
        fact(&pane(&app), "NAT"),
        "NAT with a new port per destination: direct connections fail; \
         use a public seed (see README)"
    );
}

#[test]
fn the_dht_state_counts_its_time_from_when_it_changed() {
    let mut app = ready_app(vec![]);
    let at = |seconds| NOW + time::Duration::seconds(seconds);
    app.update(Event::Tick(at(5)));
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Online { nodes: 3 }),
    );
    app.update(Event::Tick(at(65)));
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Online { nodes: 4 }),
    );
    app.update(Event::Tick(at(185)));
    assert_eq!(app.network_since(), at(5));
    let text = pane(&app);
    assert_eq!(fact(&text, "DHT"), "Online (4 nodes)");
    assert_eq!(fact(&text, "since"), "15:00 (3m ago)", "{text:#?}");
    // Offline again and again: the state's time stays, each retry counts anew.
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Offline {
            reason: "no route".into(),
            retry_in: Duration::from_secs(10),
        }),
    );
    app.update(Event::Tick(at(195)));
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Offline {
            reason: "no route".into(),
            retry_in: Duration::from_secs(20),
        }),
    );
    app.update(Event::Tick(at(200)));
    assert_eq!(app.network_since(), at(185));
    assert_eq!(app.retry_in(), Some(Duration::from_secs(15)));
}

#[test]
fn net_command_and_f2_open_the_pane_and_esc_closes_it() {
    let mut app = ready_app(vec![]);
    type_str(&mut app, "/ne");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.input().text(), "/net ");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.overlay(), Some(Overlay::Network));
    // Typing does not leak into the input behind the pane.
    type_str(&mut app, "x");
    assert!(app.input().is_empty());
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay(), None);
    press(&mut app, KeyCode::F(2));
    assert_eq!(app.overlay(), Some(Overlay::Network));
    // F2 again closes it; F1 and F2 switch between help and the pane.
    press(&mut app, KeyCode::F(2));
    assert_eq!(app.overlay(), None);
    press(&mut app, KeyCode::F(2));
    press(&mut app, KeyCode::F(1));
    assert_eq!(app.overlay(), Some(Overlay::Help));
    press(&mut app, KeyCode::F(2));
    assert_eq!(app.overlay(), Some(Overlay::Network));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay(), None);
    assert!(help::lines(76)
        .iter()
        .any(|line| line.iter().any(|(t, _)| t.contains("/net"))));
}

#[test]
fn the_network_pane_scrolls_when_there_are_many_connections() {
    let mut app = ready_app(friends());
    app.update(Event::Resize(80, 16));
    for byte in 1..=6 {
        connect(&mut app, byte, vec![ANN, BOB], PeerRoute::default());
    }
    press(&mut app, KeyCode::F(2));
    let max = network::max_scroll(&app, ratatui::layout::Rect::new(0, 0, 80, 16));
    assert!(max > 0);
    for _ in 0..100 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(app.overlay_scroll(), max);
}

#[test]
fn a_peer_carrying_nothing_is_not_listed() {
    let mut app = ready_app(friends());
    connect(
        &mut app,
        0xc0,
        vec![],
        route(Some("127.0.0.1:40001"), PeerPath::ThisMachine, None),
    );
    assert_eq!(app.peers().peers().len(), 1);
    assert_eq!(app.peers().listed().count(), 0);
    assert_eq!(app.peers().connecting(), 1);
    // The pane still shows the connection, and that it carries nothing.
    let text = pane(&app).join("\n");
    assert!(
        text.contains("  c0c0c0c0 · this machine · 127.0.0.1:40001 · for 0s\n    no logs yet"),
        "{text}"
    );
    // Once it carries a log it is a peer like any other.
    connect(&mut app, 0xc0, vec![ANN], PeerRoute::default());
    assert_eq!(app.peers().listed().count(), 1);
    assert_eq!(app.peers().connecting(), 0);
}

#[test]
fn logs_a_peer_does_not_write_are_marked_relayed() {
    let mut app = ready_app(vec![
        FollowEntry {
            key: ANN,
            name: Some("ann".into()),
        },
        FollowEntry {
            key: BOB,
            name: Some("bob".into()),
        },
    ]);
    // Ann's machine, on the LAN: her log is hers, ours she relays.
    connect(
        &mut app,
        0xa0,
        vec![ANN, OWN],
        route(Some("192.168.1.30:49737"), PeerPath::Lan, Some(ANN)),
    );
    // A seed on the internet behind a NAT that rewrites its port (so the
    // port is not known): its own log is not shared, Bob's it relays.
    let seed = LogKey([0x5e; 32]);
    connect(
        &mut app,
        0x5e,
        vec![BOB],
        route(Some("198.51.100.7:0"), PeerPath::Internet, Some(seed)),
    );
    // A peer that did not say which log is its own: nothing is marked.
    connect(&mut app, 0x3a, vec![BOB], PeerRoute::default());
    let text = pane(&app).join("\n");
    assert!(
        text.contains(
            "Connections (3)\n\
             \x20 ann a0a0a0a0 · LAN · 192.168.1.30:49737 · for 0s\n\
             \x20   ann a1a1a1a1\n\
             \x20   you 11111111\n\
             \x20 5e5e5e5e · internet · 198.51.100.7 · for 0s\n\
             \x20   bob b0b0b0b0 · relayed\n\
             \x20 3a3a3a3a · path unknown · address not reported · for 0s\n\
             \x20   bob b0b0b0b0"
        ),
        "{text}"
    );
    let tags: Vec<Option<&str>> = app
        .peers()
        .listed()
        .map(|p| network::peer_tag(p, app.own()))
        .collect();
    assert_eq!(tags, [Some("lan"), Some("relay"), None]);
}
