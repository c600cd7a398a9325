//! Tests of `App::update` as a whole: events in, state and commands out, no terminal
//! and no network (hand-made net events). Shared fixtures here, a file per
//! topic, along the app's concerns: `channels` (and what was read),
//! `rooms` (and muting), `network` (and peers and follows), `timeline` and
//! `history`, `search`, `input`, `commands`, `overlays`, `alerts`, and
//! `lifecycle` (start and quit).

// Several topic modules share their names with modules of `app` and shadow
// the ones `use super::*` brings in: here write `super::timeline`, and in a
// topic file import the app's module by path (`use crate::app::timeline;`).
mod alerts;
mod channels;
mod commands;
mod history;
mod input;
mod lifecycle;
mod network;
mod overlays;
mod rooms;
mod search;
mod timeline;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};

use super::fixtures::{member, room};
use super::*;
use crate::domain::{ChatMessage, LogKey, RoomEntry, RoomName, Seq};
use crate::net::{FollowEntry, NetCommand, NetEvent};

const NOW: OffsetDateTime = datetime!(2026-11-24 15:00 UTC);
const OWN: LogKey = LogKey([0x11; 32]);
const ANN: LogKey = LogKey([0xa1; 32]);
const BOB: LogKey = LogKey([0xb0; 32]);
const HEX: &str = "8f2c1e9a4b7d3f60c5e1a2b3d4f5061728394a5b6c7d8e9fa0b1c2d3e4f50617";

fn ready_app(follows: Vec<FollowEntry>) -> App {
    ready_app_with(follows, vec![], Vec::new())
}

/// An app at 100x30, told it is ready as "me" with these follows, rooms and
/// what the last run had read.
fn ready_app_with(
    follows: Vec<FollowEntry>,
    rooms: Vec<RoomEntry>,
    read_marks: Vec<crate::domain::ReadMark>,
) -> App {
    let mut app = App::new(NOW);
    app.update(Event::Resize(100, 30));
    app.update(Event::Net(NetEvent::Ready {
        own: OWN,
        nickname: "me".into(),
        first_run: false,
        follows,
        rooms,
        muted: vec![],
        read_marks,
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

/// The commands of an update, without the history pages it asks for, the
/// read state it saves and the title it sets (the tests in `history`,
/// `reading` and `alerts` look at those).
fn without_pages(commands: Vec<Command>) -> Vec<Command> {
    commands
        .into_iter()
        .filter(|c| {
            !matches!(
                c,
                Command::Net(NetCommand::LoadHistory(_) | NetCommand::SaveReadMarks(_))
                    | Command::Title(_)
            )
        })
        .collect()
}

fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
    without_pages(app.update(Event::Key(KeyEvent::new(code, KeyModifiers::NONE))))
}

fn ctrl(app: &mut App, c: char) -> Vec<Command> {
    without_pages(app.update(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    ))))
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

/// Submits `s`, which must send nothing, and gives the last row: the
/// app's answer to it.
fn refused(app: &mut App, s: &str) -> String {
    assert!(submit(app, s).is_empty(), "{s} sent commands");
    last_row(app)
}

// ---- channels and rooms ----

/// A follow of `key`, under `name` if it has one.
fn follow(key: LogKey, name: Option<&str>) -> FollowEntry {
    FollowEntry {
        key,
        name: name.map(str::to_string),
    }
}

/// Following Ann; in room `rust` with Bob as a member.
fn room_app() -> App {
    room_app_read(Vec::new())
}

/// `room_app`, with what the last run had read.
fn room_app_read(read_marks: Vec<crate::domain::ReadMark>) -> App {
    ready_app_with(
        vec![follow(ANN, Some("ann"))],
        vec![RoomEntry {
            name: room("rust"),
            members: vec![member(BOB, Some("bob"))],
        }],
        read_marks,
    )
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
        Some(super::timeline::Body::System { text, .. }) => text.clone(),
        Some(super::timeline::Body::Message { message, .. }) => message.text.clone(),
        None => String::new(),
    }
}

/// The text rows of one channel (0 = home) without switching to it.
fn rows_in(app: &App, channel: usize) -> Vec<String> {
    let timeline = &app.channels().list()[channel].timeline;
    super::timeline::layout::timeline_rows(timeline, app.own(), UtcOffset::UTC, 70)
        .iter()
        .map(|r| r.text())
        .collect()
}
