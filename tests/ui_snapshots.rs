//! Whole-screen render snapshots on ratatui's `TestBackend`: the app is
//! driven with events only (fixed clock, fixed keys, no randomness) and
//! the screen is compared as text with insta.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hychat::app::{App, Command, Event};
use hychat::domain::{ChatMessage, ConnectionKey, LogKey, Member, RoomEntry, RoomName, Seq};
use hychat::net::{
    FollowEntry, Nat, NetCommand, NetEvent, NetworkReport, NetworkStatus, PeerPath, PeerRoom,
    PeerRoute, Reachability,
};
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::Terminal;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-24 14:30 UTC);

fn key(hex: &str) -> LogKey {
    hex.parse().expect("test keys are valid")
}

fn own() -> LogKey {
    key("8f2c1e9a4b7d3f60c5e1a2b3d4f5061728394a5b6c7d8e9fa0b1c2d3e4f50617")
}
fn ann() -> LogKey {
    key("a11ce0d5c0ffee00112233445566778899aabbccddeeff001122334455667788")
}
fn bob() -> LogKey {
    key("b0b5e1f00d0000aa11bb22cc33dd44ee55ff66007711882299aa33bb44cc55dd")
}
fn other_bob() -> LogKey {
    key("2bb0b0b0feedface0123456789abcdef0123456789abcdef0123456789abcdef")
}

fn dee() -> LogKey {
    key("dee0dee0c0c0a0a0112233445566778899aabbccddeeff00112233445566778a")
}
fn eve() -> LogKey {
    key("e7e0e7e0b1b2b3b4112233445566778899aabbccddeeff00112233445566778b")
}
fn fay() -> LogKey {
    key("fa7fa7fa00112233445566778899aabbccddeeff00112233445566778899aabb")
}

fn net(app: &mut App, event: NetEvent) {
    app.update(Event::Net(event));
}

fn say(app: &mut App, log: LogKey, seq: u64, nick: &str, text: &str, at: OffsetDateTime) {
    net(
        app,
        NetEvent::Appended {
            log,
            seq: Seq(seq),
            message: ChatMessage::new_chat(nick, text, at),
        },
    );
}

fn type_line(app: &mut App, line: &str) -> Vec<Command> {
    for c in line.chars() {
        app.update(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )))
}

fn app_sized(width: u16, height: u16) -> App {
    let mut app = App::new(NOW);
    app.update(Event::Resize(width, height));
    app
}

fn ready(app: &mut App, first_run: bool, follows: Vec<FollowEntry>) {
    net(
        app,
        NetEvent::Ready {
            own: own(),
            nickname: "cat-lover".into(),
            first_run,
            follows,
            rooms: vec![],
            muted: vec![],
            read_marks: vec![],
        },
    );
}

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| hychat::ui::draw(frame, app)).unwrap();
    terminal
}

/// Three logs (own, ann, two people called bob) over two days, one long message.
fn chat_app(width: u16, height: u16) -> App {
    let mut app = app_sized(width, height);
    ready(
        &mut app,
        false,
        vec![
            FollowEntry {
                key: ann(),
                name: Some("ann".into()),
            },
            FollowEntry {
                key: bob(),
                name: None,
            },
            FollowEntry {
                key: other_bob(),
                name: Some("work bob".into()),
            },
        ],
    );
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Online { nodes: 23 }),
    );
    let yesterday = NOW - Duration::days(1);
    say(
        &mut app,
        ann(),
        0,
        "ann",
        "anyone around?",
        yesterday.replace_hour(22).unwrap(),
    );
    say(
        &mut app,
        own(),
        0,
        "cat-lover",
        "yes, just setting up hychat",
        yesterday.replace_hour(23).unwrap(),
    );
    say(
        &mut app,
        bob(),
        0,
        "bob",
        "morning all",
        NOW - Duration::minutes(20),
    );
    say(
        &mut app,
        ann(),
        1,
        "ann",
        "I followed both of you. The history came in newest first and then the older messages filled in above, which is exactly what I wanted to see when catching up on a busy log.",
        NOW - Duration::minutes(12),
    );
    say(
        &mut app,
        other_bob(),
        0,
        "bob",
        "different bob here 👋 日本語も大丈夫",
        NOW - Duration::minutes(5),
    );
    say(
        &mut app,
        own(),
        1,
        "cat-lover",
        "two bobs!",
        NOW - Duration::minutes(1),
    );
    app
}

#[test]
fn first_run_welcome() {
    let mut app = app_sized(100, 20);
    // The very first frame, before the engine said anything.
    insta::assert_snapshot!("before_ready", render(&app, 100, 20).backend());
    ready(&mut app, true, vec![]);
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Bootstrapping),
    );
    insta::assert_snapshot!("first_run_welcome", render(&app, 100, 20).backend());
}

#[test]
fn chat_with_three_logs() {
    let app = chat_app(100, 24);
    let terminal = render(&app, 100, 24);
    insta::assert_snapshot!("chat_three_logs", terminal.backend());

    // Own messages are set apart: the nickname is bold, others' are not.
    let buffer = terminal.backend().buffer();
    let row_of = |needle: &str| {
        (0..buffer.area.height)
            .find(|y| {
                let line: String = (0..buffer.area.width)
                    .map(|x| buffer[(x, *y)].symbol().to_string())
                    .collect();
                line.contains(needle)
            })
            .unwrap_or_else(|| panic!("{needle} not on screen"))
    };
    let own_row = row_of("two bobs!");
    assert!(buffer[(6, own_row)].modifier.contains(Modifier::BOLD));
    let other_row = row_of("morning all");
    assert!(!buffer[(6, other_row)].modifier.contains(Modifier::BOLD));
    // Same nickname, different keys: different colours and a key suffix.
    let first_bob = row_of("bob#b0b5");
    let second_bob = row_of("bob#2bb0");
    assert_ne!(buffer[(6, first_bob)].fg, buffer[(6, second_bob)].fg);
}

#[test]
fn peer_panel_with_two_peers() {
    let mut app = chat_app(100, 24);
    net(
        &mut app,
        NetEvent::PeerConnected {
            peer: ConnectionKey([0xe1; 32]),
            logs: vec![own(), ann()],
            rooms: vec![],
            route: Default::default(),
        },
    );
    app.update(Event::Tick(NOW + Duration::minutes(3)));
    net(
        &mut app,
        NetEvent::PeerConnected {
            peer: ConnectionKey([0x5c; 32]),
            logs: vec![bob(), ann(), other_bob()],
            rooms: vec![],
            route: Default::default(),
        },
    );
    net(
        &mut app,
        NetEvent::LogProgress {
            log: other_bob(),
            downloaded: 12,
            length: 40,
        },
    );
    app.update(Event::Tick(
        NOW + Duration::minutes(3) + Duration::seconds(42),
    ));
    insta::assert_snapshot!("peer_panel", render(&app, 100, 24).backend());
}

/// Our own messages say how many peers hold them: ann (who names her own
/// log, and counts once across two connections) holds both, a JS reader
/// (no own log) only the first.
#[test]
fn own_messages_show_who_holds_them() {
    let mut app = chat_app(100, 24);
    let ann_route = hychat::net::PeerRoute {
        link: Default::default(),
        own_log: Some(ann()),
        ..Default::default()
    };
    for (peer, route) in [
        (ConnectionKey([0xa1; 32]), ann_route.clone()),
        (ConnectionKey([0xa2; 32]), ann_route),
        (ConnectionKey([0x15; 32]), Default::default()),
    ] {
        net(
            &mut app,
            NetEvent::PeerConnected {
                peer,
                logs: vec![own()],
                rooms: vec![],
                route,
            },
        );
    }
    let held = |peer: u8, length: u64| NetEvent::PeerHas {
        peer: ConnectionKey([peer; 32]),
        log: own(),
        length,
    };
    net(&mut app, held(0xa1, 1));
    net(&mut app, held(0xa2, 2));
    net(&mut app, held(0x15, 1));
    // A peer leaving still holds what it took.
    net(
        &mut app,
        NetEvent::PeerDisconnected {
            peer: ConnectionKey([0x15; 32]),
        },
    );
    let terminal = render(&app, 100, 24);
    insta::assert_snapshot!("own_messages_held_by", terminal.backend());
    let screen = format!("{:?}", terminal.backend());
    assert!(screen.contains("held by 2"), "{screen}");
    assert!(screen.contains("held by 1"), "{screen}");
}

#[test]
fn help_screen() {
    let mut app = chat_app(100, 30);
    assert!(type_line(&mut app, "/help").is_empty());
    insta::assert_snapshot!("help_screen", render(&app, 100, 30).backend());
}

#[test]
fn help_screen_in_a_narrow_terminal() {
    let mut app = chat_app(50, 20);
    type_line(&mut app, "/help");
    for _ in 0..3 {
        app.update(Event::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)));
    }
    insta::assert_snapshot!("help_screen_narrow", render(&app, 50, 20).backend());
}

#[test]
fn key_popup() {
    let mut app = chat_app(100, 24);
    type_line(&mut app, "/key");
    let terminal = render(&app, 100, 24);
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains(&own().to_hex()),
        "the full key is on one line"
    );
    insta::assert_snapshot!("key_popup", terminal.backend());
}

#[test]
fn narrow_terminal() {
    let mut app = chat_app(50, 20);
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Offline {
            reason: "no bootstrap node answered".into(),
            retry_in: std::time::Duration::from_secs(10),
        }),
    );
    app.update(Event::Tick(NOW + Duration::seconds(3)));
    for c in "a reply that is long enough to wrap in the input box".chars() {
        app.update(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
    let terminal = render(&app, 50, 20);
    insta::assert_snapshot!("narrow_terminal", terminal.backend());
}

#[test]
fn scrolled_up_with_new_messages_below() {
    let mut app = chat_app(100, 12);
    app.update(Event::Tick(NOW + Duration::minutes(10)));
    app.update(Event::Key(KeyEvent::new(
        KeyCode::PageUp,
        KeyModifiers::NONE,
    )));
    say(
        &mut app,
        ann(),
        2,
        "ann",
        "are you still there?",
        NOW + Duration::minutes(9),
    );
    say(
        &mut app,
        bob(),
        1,
        "bob",
        "ping",
        NOW + Duration::minutes(10),
    );
    assert_eq!(app.timeline().new_below(), 2);
    insta::assert_snapshot!("scrolled_up", render(&app, 100, 12).backend());
}

#[test]
fn errors_show_inline_and_nothing_is_sent() {
    let mut app = chat_app(100, 24);
    assert!(type_line(&mut app, "/follow not-a-key").is_empty());
    let sent = type_line(&mut app, "hello");
    assert_eq!(
        sent,
        vec![Command::Net(NetCommand::Append {
            text: "hello".into(),
            room: None,
        })]
    );
    let screen = render(&app, 100, 24).backend().to_string();
    assert!(
        screen.contains("! `not-a-key` is not a log key"),
        "{screen}"
    );
}

fn room(name: &str) -> RoomName {
    RoomName::parse(name).expect("test room names are valid")
}

fn member(key: LogKey, nick: &str) -> Member {
    Member {
        key,
        nickname: Some(nick.to_string()),
    }
}

fn say_in(
    app: &mut App,
    log: LogKey,
    seq: u64,
    nick: &str,
    text: &str,
    at: OffsetDateTime,
    in_room: &str,
) {
    let mut message = ChatMessage::new_chat(nick, text, at);
    message.room = Some(in_room.to_string());
    net(
        app,
        NetEvent::Appended {
            log,
            seq: Seq(seq),
            message,
        },
    );
}

/// The chat of `chat_app`, plus two joined rooms where people talked while
/// home was on screen: three unread in #streams-day (one naming us), one in
/// #rust.
fn rooms_app(width: u16, height: u16) -> App {
    let mut app = chat_app(width, height);
    net(
        &mut app,
        NetEvent::RoomJoined(RoomEntry {
            name: room("streams-day"),
            members: vec![member(dee(), "dee"), member(eve(), "eve")],
        }),
    );
    net(
        &mut app,
        NetEvent::RoomJoined(RoomEntry {
            name: room("rust"),
            members: vec![member(bob(), "bob")],
        }),
    );
    app.update(Event::Tick(NOW + Duration::minutes(4)));
    let at = |minutes| NOW + Duration::minutes(minutes);
    say_in(
        &mut app,
        dee(),
        0,
        "dee",
        "the stream starts at three",
        at(1),
        "streams-day",
    );
    say_in(
        &mut app,
        own(),
        2,
        "cat-lover",
        "I'll be there",
        at(2),
        "streams-day",
    );
    say_in(&mut app, eve(), 0, "eve", "same here", at(2), "streams-day");
    say_in(
        &mut app,
        dee(),
        1,
        "dee",
        "Cat-Lover, can you share the link?",
        at(3),
        "streams-day",
    );
    say_in(
        &mut app,
        bob(),
        2,
        "bob",
        "the borrow checker won again",
        at(3),
        "rust",
    );
    // A room member who is not followed writes outside the room: not shown.
    say(&mut app, eve(), 1, "eve", "eve's home line", at(3));
    app
}

/// The text of one screen row.
fn row_text(terminal: &Terminal<TestBackend>, y: u16) -> String {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol().to_string())
        .collect()
}

#[test]
fn channel_list_with_unread_and_mention_markers() {
    let app = rooms_app(100, 24);
    let terminal = render(&app, 100, 24);
    let screen = terminal.backend().to_string();
    assert!(!screen.contains("eve's home line"), "{screen}");
    let side: Vec<String> = (0..24)
        .map(|y| row_text(&terminal, y).chars().skip(75).collect::<String>())
        .collect();
    assert_eq!(side[0].trim_end(), "│ Channels");
    assert_eq!(side[1].trim_end(), "│▸1 home");
    assert_eq!(side[2].trim_end(), "│ 2 #streams-day      3 @");
    assert_eq!(side[3].trim_end(), format!("│ 3 #rust{} 1", " ".repeat(14)));
    insta::assert_snapshot!("channel_list_unread_mention", terminal.backend());

    // Too narrow for the side panel: the status bar carries the counts.
    let narrow = render(&app, 50, 20).backend().to_string();
    let status = narrow.lines().last().unwrap_or_default();
    assert!(status.contains("unread 2:3@ 3:1"), "{narrow}");
}

#[test]
fn a_room_view() {
    let mut app = rooms_app(100, 24);
    net(
        &mut app,
        NetEvent::PeerConnected {
            peer: ConnectionKey([0xd1; 32]),
            logs: vec![dee(), eve()],
            rooms: vec![
                PeerRoom {
                    room: room("streams-day"),
                    member: dee(),
                },
                PeerRoom {
                    room: room("rust"),
                    member: dee(),
                },
            ],
            route: Default::default(),
        },
    );
    // Alt+2: the room, its unread marks cleared.
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('2'),
        KeyModifiers::ALT,
    )));
    net(
        &mut app,
        NetEvent::RoomMember {
            room: room("streams-day"),
            member: member(fay(), "fay"),
        },
    );
    type_line(&mut app, "/members");
    for c in "on my way".chars() {
        app.update(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
    let terminal = render(&app, 100, 24);
    let screen = terminal.backend().to_string();
    assert!(screen.contains(" message to #streams-day "), "{screen}");
    assert!(!screen.contains("two bobs!"), "home stays home: {screen}");
    insta::assert_snapshot!("room_view", terminal.backend());
}

/// The chat of `chat_app` on a network that is known: behind a
/// port-preserving NAT, not reachable from outside. Four connections: ann's
/// machine on the LAN (relaying our log), a seed on the internet relaying
/// bob's, a JS peer that reported no route, and one that carries nothing.
fn network_app(width: u16, height: u16) -> App {
    let mut app = chat_app(width, height);
    net(
        &mut app,
        NetEvent::NetworkReport(NetworkReport {
            bound: Some("0.0.0.0:49737".parse().unwrap()),
            local_ip: Some("192.168.1.20".parse().unwrap()),
            public_ip: Some("203.0.113.5".parse().unwrap()),
            nat: Nat::Consistent,
            reachable: Reachability::Unreachable,
            punches: hychat::net::PunchStats {
                direct: 1,
                punched: 2,
                relayed: 0,
                failed: 1,
            },
            relay: None,
        }),
    );
    let connect = |app: &mut App, byte: u8, logs: Vec<LogKey>, route: PeerRoute| {
        net(
            app,
            NetEvent::PeerConnected {
                peer: ConnectionKey([byte; 32]),
                logs,
                rooms: vec![],
                route,
            },
        );
    };
    connect(
        &mut app,
        0xa1,
        vec![ann(), own()],
        PeerRoute {
            link: hychat::net::Link::Direct,
            address: Some("192.168.1.30:49737".parse().unwrap()),
            path: PeerPath::Lan,
            own_log: Some(ann()),
        },
    );
    app.update(Event::Tick(NOW + Duration::minutes(2)));
    connect(
        &mut app,
        0x5e,
        vec![bob()],
        PeerRoute {
            link: hychat::net::Link::Punched("consistent"),
            address: Some("198.51.100.7:49737".parse().unwrap()),
            path: PeerPath::Internet,
            own_log: Some(key(
                "5eed5eed00112233445566778899aabbccddeeff00112233445566778899aabb",
            )),
        },
    );
    connect(&mut app, 0x3a, vec![other_bob()], PeerRoute::default());
    connect(
        &mut app,
        0xc0,
        vec![],
        PeerRoute {
            link: Default::default(),
            address: Some("127.0.0.1:40001".parse().unwrap()),
            path: PeerPath::ThisMachine,
            own_log: None,
        },
    );
    app.update(Event::Tick(NOW + Duration::minutes(3)));
    app
}

/// The status bar of a screen this wide.
fn status_bar(app: &App, width: u16) -> String {
    let terminal = render(app, width, 24);
    row_text(&terminal, 23).trim_end().to_string()
}

#[test]
fn network_facts_and_peer_paths() {
    let app = network_app(100, 24);
    let terminal = render(&app, 100, 24);
    let screen = terminal.backend().to_string();
    assert!(
        !screen.contains("c0c0c0c0"),
        "the bare connection: {screen}"
    );
    assert!(screen.contains("+1 connecting"), "{screen}");
    insta::assert_snapshot!("network_facts_peer_paths", terminal.backend());

    // Whole facts only: the least useful go first as the bar narrows.
    let state = " cat-lover 8f2c1e9a │ 3 peers │ Online (23 nodes)";
    assert_eq!(
        status_bar(&app, 130),
        format!("{state} · public 203.0.113.5 · port-preserving NAT · not reachable from outside")
    );
    assert_eq!(
        status_bar(&app, 100),
        format!("{state} · port-preserving NAT · not reachable from outside")
    );
    assert_eq!(
        status_bar(&app, 80),
        format!("{state} · not reachable from outside")
    );
    assert_eq!(status_bar(&app, 60), state);
    assert_eq!(
        status_bar(&app, 50),
        " cat-lover │ 3 peers │ Online (23 nodes)"
    );
    // Offline, the reason is the truth: the facts step aside.
    let mut offline = network_app(100, 24);
    net(
        &mut offline,
        NetEvent::NetworkStatus(NetworkStatus::Offline {
            reason: "no bootstrap node answered".into(),
            retry_in: std::time::Duration::from_secs(10),
        }),
    );
    assert!(!status_bar(&offline, 130).contains("reachable"));
}

#[test]
fn network_pane() {
    let mut app = network_app(100, 30);
    app.update(Event::Key(KeyEvent::new(KeyCode::F(2), KeyModifiers::NONE)));
    insta::assert_snapshot!("network_pane", render(&app, 100, 30).backend());
}

#[test]
fn network_pane_in_a_narrow_terminal() {
    let mut app = network_app(50, 24);
    assert!(type_line(&mut app, "/net").is_empty());
    // Scrolled to the end, where the connections are.
    app.update(Event::Key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE)));
    insta::assert_snapshot!("network_pane_narrow", render(&app, 50, 24).backend());
}

/// The rows of the screen holding `text`, with their y.
fn rows_with(terminal: &Terminal<TestBackend>, text: &str) -> Vec<(u16, String)> {
    let height = terminal.backend().buffer().area.height;
    (0..height)
        .map(|y| (y, row_text(terminal, y)))
        .filter(|(_, row)| row.contains(text))
        .collect()
}

/// The style of the cells where `word` starts in row `y`.
fn style_at(
    terminal: &Terminal<TestBackend>,
    y: u16,
    row: &str,
    word: &str,
) -> ratatui::style::Style {
    let buffer = terminal.backend().buffer();
    let column = row
        .split(word)
        .next()
        .map(|before| before.chars().count())
        .unwrap_or(0);
    buffer[(u16::try_from(column).unwrap(), y)].style()
}

#[test]
fn search_highlight_and_counter() {
    let mut app = chat_app(100, 24);
    let commands = type_line(&mut app, "/search BOB");
    let request = commands
        .iter()
        .find_map(|c| match c {
            Command::Net(NetCommand::Search(request)) => Some(request.clone()),
            _ => None,
        })
        .expect("the search is asked of the engine");
    let position = |log, seq, at| hychat::domain::Position {
        at,
        log,
        seq: Seq(seq),
    };
    net(
        &mut app,
        NetEvent::SearchResults(hychat::net::history::SearchResults {
            generation: request.generation,
            room: None,
            query: request.query.clone(),
            matches: vec![
                position(other_bob(), 0, NOW - Duration::minutes(5)),
                position(own(), 1, NOW - Duration::minutes(1)),
            ],
            capped: false,
        }),
    );
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('n'),
        KeyModifiers::NONE,
    )));
    let terminal = render(&app, 100, 24);
    insta::assert_snapshot!("search_highlight_and_counter", terminal.backend());
    let screen = terminal.backend().to_string();
    assert!(screen.contains("search “BOB”: 2 of 2"), "{screen}");
    // The match shown is highlighted most; the other one too.
    let (y, row) = rows_with(&terminal, "different bob here")[0].clone();
    let current = style_at(&terminal, y, &row, "bob here");
    assert_eq!(current.bg, Some(ratatui::style::Color::Yellow), "{row}");
    let (y, row) = rows_with(&terminal, "two bobs!")[0].clone();
    let other = style_at(&terminal, y, &row, "bobs!");
    assert!(other.add_modifier.contains(Modifier::REVERSED), "{row}");
    let plain = style_at(&terminal, y, &row, "two");
    assert!(!plain.add_modifier.contains(Modifier::REVERSED), "{row}");
}

#[test]
fn read_marker_line_after_a_restart() {
    let mut app = app_sized(100, 24);
    net(
        &mut app,
        NetEvent::Ready {
            own: own(),
            nickname: "cat-lover".into(),
            first_run: false,
            follows: vec![FollowEntry {
                key: ann(),
                name: Some("ann".into()),
            }],
            rooms: vec![],
            muted: vec![],
            read_marks: vec![hychat::domain::ReadMark {
                room: None,
                read_up_to: Some(hychat::domain::Position {
                    at: NOW - Duration::minutes(20),
                    log: ann(),
                    seq: Seq(0),
                }),
                last_viewed: NOW - Duration::minutes(20),
                unread: vec![],
                mentions: vec![],
            }],
        },
    );
    say(
        &mut app,
        ann(),
        0,
        "ann",
        "see you tomorrow",
        NOW - Duration::minutes(20),
    );
    say(
        &mut app,
        ann(),
        1,
        "ann",
        "good morning!",
        NOW - Duration::minutes(3),
    );
    say(
        &mut app,
        ann(),
        2,
        "ann",
        "anyone up?",
        NOW - Duration::minutes(2),
    );
    let terminal = render(&app, 100, 24);
    insta::assert_snapshot!("read_marker_line", terminal.backend());
    let screen = terminal.backend().to_string();
    let lines: Vec<&str> = screen.lines().collect();
    let line = lines
        .iter()
        .position(|l| l.contains("new since you were here"))
        .expect("the line is drawn");
    assert!(lines[line - 1].contains("see you tomorrow"), "{screen}");
    assert!(lines[line + 1].contains("good morning!"), "{screen}");
}

#[test]
fn alt_a_jumps_to_the_unread_channel_with_a_mention() {
    let mut app = rooms_app(100, 24);
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('a'),
        KeyModifiers::ALT,
    )));
    let terminal = render(&app, 100, 24);
    insta::assert_snapshot!("unread_jump", terminal.backend());
    let side: Vec<String> = (0..24)
        .map(|y| row_text(&terminal, y).chars().skip(75).collect::<String>())
        .collect();
    assert_eq!(side[2].trim_end(), "│▸2 #streams-day");
    assert_eq!(side[3].trim_end(), format!("│ 3 #rust{} 1", " ".repeat(14)));
}

#[test]
fn paste_guard() {
    let mut app = chat_app(100, 24);
    let pasted: String = (1..=12).map(|n| format!("log line {n}\n")).collect();
    app.update(Event::Paste(pasted));
    let terminal = render(&app, 100, 24);
    insta::assert_snapshot!("paste_guard", terminal.backend());
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("send 12 lines? Enter sends · Esc cancels"),
        "{screen}"
    );
}

#[test]
fn a_message_dated_in_the_future_is_placed_at_its_arrival() {
    let mut app = chat_app(100, 24);
    say(
        &mut app,
        ann(),
        2,
        "ann",
        "I am from tomorrow",
        NOW + Duration::days(1),
    );
    // A minute later, a message written then sorts below it: the one from
    // "tomorrow" is not pinned to the bottom.
    app.update(Event::Tick(NOW + Duration::minutes(1)));
    say(
        &mut app,
        own(),
        2,
        "cat-lover",
        "and this is now",
        NOW + Duration::minutes(1),
    );
    let terminal = render(&app, 100, 24);
    insta::assert_snapshot!("future_dated_message", terminal.backend());
    let screen = terminal.backend().to_string();
    let lines: Vec<&str> = screen.lines().collect();
    let future = lines
        .iter()
        .position(|l| l.contains("I am from tomorrow"))
        .expect("shown");
    assert!(lines[future].contains("14:30~ann"), "{screen}");
    assert!(
        lines[future + 1].contains("and this is now"),
        "pinned no lower than now: {screen}"
    );
}
