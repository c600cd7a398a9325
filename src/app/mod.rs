//! The application state and its one transition function,
//! `App::update(Event) -> Vec<Command>` (the Elm architecture, docs/architecture.md §4).
//! Pure: no IO, no async, no clock reads; time comes in with `Event::Tick`
//! and effects leave as `Command`s for the runner in `tui.rs` to carry out.
//! Key meaning lives in `action`, editing in `input`, command parsing in
//! `commands`, messages and scrolling in `timeline`, the channel list
//! (home and rooms, unread counts) in `channels`, which view a message
//! belongs in in `routing`, the room and mute commands and events in
//! `rooms`, peers and follows in `peers`, screen geometry and timeline rows
//! in `view`, the help in `help`, the network in words (status facts and
//! the network pane) in `network`, search in `search`, notices and the
//! title in `alerts`.

pub mod action;
pub mod alerts;
pub mod channels;
pub mod commands;
pub mod delivery;
pub mod help;
mod history;
pub mod input;
mod names;
pub mod network;
pub mod peers;
mod rooms;
pub mod routing;
pub mod search;
pub mod text;
pub mod timeline;
pub mod view;

use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use time::{OffsetDateTime, UtcOffset};

use crate::domain::message::MAX_TEXT_CHARS;
use crate::domain::{ChatMessage, LogKey, OwnLogRefusal, ReadMark, RoomName, Seq};
use crate::net::{EngineError, FollowEntry, NetCommand, NetEvent, NetworkReport, NetworkStatus};

pub use action::Action;
use alerts::Alerts;
use channels::Channels;
use commands::{SlashCommand, Target};
use input::{Completion, Input};
use names::Among;
use peers::{Peer, Peers};
use routing::{Archive, Audience, ChannelId};
use search::{Search, Step};
use timeline::Timeline;
use view::{Areas, Row};

/// Everything that can happen to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Key(KeyEvent),
    /// Bracketed paste: the whole text at once, newlines included.
    Paste(String),
    /// The terminal's new size in columns and rows.
    Resize(u16, u16),
    /// The clock, about once a second.
    Tick(OffsetDateTime),
    Net(NetEvent),
}

/// An effect for the runner to carry out.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Net(NetCommand),
    /// Leave: the runner sends `NetCommand::Shutdown`, waits for the engine
    /// to close, and restores the terminal.
    Quit,
    /// Something needs the user: the runner rings the bell and shows a
    /// desktop notification, as the `[notify]` settings allow.
    Notify(Notice),
    /// The terminal's title, which carries the unread count. The runner
    /// sets it (OSC 0) and gives the previous title back on exit.
    Title(String),
}

/// A message worth telling the user about: it names them, or it came into
/// a channel they are not looking at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Where it came in: "home" or "#room".
    pub channel: String,
    /// Who wrote it, as the timeline names them.
    pub from: String,
    /// The message, as written.
    pub text: String,
    /// It names the user.
    pub mention: bool,
}

/// A popup drawn over everything; Esc closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// The full share key, easy to copy.
    Key,
    /// This node's place on the network and every connection.
    Network,
}

/// The whole state of the UI.
#[derive(Debug, Clone)]
pub struct App {
    own: Option<LogKey>,
    nickname: String,
    now: OffsetDateTime,
    offset: UtcOffset,
    size: (u16, u16),
    network: Option<NetworkStatus>,
    /// When the DHT entered its current state (online, offline, …).
    network_since: OffsetDateTime,
    /// When the latest status arrived (an offline one counts its retry from here).
    network_at: OffsetDateTime,
    /// What the engine learned of our addresses, NAT and reachability.
    report: NetworkReport,
    /// Home and the joined rooms, each with its timeline.
    channels: Channels,
    /// Who is who for routing: own, follows, mutes, room members.
    audience: Audience,
    /// Every block delivered, so views can be rebuilt when the audience changes.
    archive: Archive,
    /// A room asked for with `/join` or `--room`: entered once joined.
    pending_join: Option<RoomName>,
    input: Input,
    peers: Peers,
    /// Which peers hold our own messages.
    deliveries: delivery::Deliveries,
    overlay: Option<Overlay>,
    /// Rows the help popup is scrolled down.
    overlay_scroll: usize,
    hint: Option<String>,
    quitting: bool,
    /// Commands decided while handling an event, returned by `update`.
    outbox: Vec<Command>,
    /// The search under way, and the number of the last one asked for.
    search: Option<Search>,
    search_generation: u64,
    /// A long paste waiting for Enter (send) or Esc (take it back).
    paste: Option<PendingPaste>,
    /// Notices given and the title shown.
    alerts: Alerts,
    /// Unread messages changed since what was read was last saved, and when
    /// it was.
    read_dirty: bool,
    read_saved_at: OffsetDateTime,
}

/// Pastes of more lines than this ask before they go out.
pub const PASTE_GUARD_LINES: usize = 5;
/// How often changed unread counts are saved while nothing else saves them.
const READ_SAVE_EVERY: time::Duration = time::Duration::seconds(30);

/// A paste of more than `PASTE_GUARD_LINES` lines, in the input box until
/// Enter sends it or Esc takes it back out.
#[derive(Debug, Clone)]
struct PendingPaste {
    /// Lines of the input with the paste in it.
    lines: usize,
    /// The input as it was before the paste.
    before: Input,
}

impl App {
    /// A fresh app. `now` is the clock until the first `Tick`; times are
    /// shown in UTC until `set_utc_offset` says otherwise. The size is
    /// 80×24 until the first `Resize`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            own: None,
            nickname: String::new(),
            now,
            offset: UtcOffset::UTC,
            size: (80, 24),
            network: None,
            network_since: now,
            network_at: now,
            report: NetworkReport::default(),
            channels: Channels::new(now),
            audience: Audience::default(),
            archive: Archive::default(),
            pending_join: None,
            input: Input::default(),
            peers: Peers::default(),
            deliveries: delivery::Deliveries::default(),
            overlay: None,
            overlay_scroll: 0,
            hint: None,
            quitting: false,
            outbox: Vec::new(),
            search: None,
            search_generation: 0,
            paste: None,
            alerts: Alerts::default(),
            read_dirty: false,
            read_saved_at: now,
        }
    }

    /// Shows times at this offset from UTC (the runner passes the local one).
    pub fn set_utc_offset(&mut self, offset: UtcOffset) {
        self.offset = offset;
    }

    /// The one transition: an event in, state changed, effects out.
    pub fn update(&mut self, event: Event) -> Vec<Command> {
        // Most network events cannot move the view; they skip the layout
        // that deciding on pages costs.
        let view_may_move = !matches!(
            event,
            Event::Tick(_) | Event::Net(NetEvent::Appended { .. } | NetEvent::LogProgress { .. })
        );
        let tick = matches!(event, Event::Tick(_));
        let active = self.channels.active().id.clone();
        let mut commands = self.transition(event);
        if view_may_move && self.own.is_some() {
            self.want_pages();
        }
        self.after_event(&active, tick);
        commands.append(&mut self.outbox);
        commands
    }

    /// What follows any event: leaving a channel ends its search and saves
    /// what was read (as does a clock tick once unread counts changed), and
    /// the title follows the unread count.
    fn after_event(&mut self, active_before: &ChannelId, tick: bool) {
        let switched = self.channels.active().id != *active_before;
        if switched {
            self.end_search();
        }
        let due = tick && self.read_dirty && self.now - self.read_saved_at >= READ_SAVE_EVERY;
        if (switched || due) && self.own.is_some() {
            self.save_read_marks();
        }
        let list = self.channels.list();
        let unread = list.iter().map(|c| c.unread()).sum();
        let mention = list.iter().any(|c| c.mention());
        if let Some(title) = self.alerts.title(unread, mention) {
            self.outbox.push(Command::Title(title));
        }
    }

    /// Has the engine keep what was read of every channel.
    fn save_read_marks(&mut self) {
        self.read_dirty = false;
        self.read_saved_at = self.now;
        self.outbox
            .push(Command::Net(NetCommand::SaveReadMarks(self.read_marks())));
    }

    /// What was read of every channel, as it would be kept now.
    pub fn read_marks(&self) -> Vec<ReadMark> {
        self.channels.read_marks(self.now)
    }

    fn transition(&mut self, event: Event) -> Vec<Command> {
        match event {
            Event::Key(key) => {
                self.hint = None;
                match Action::from_key(key) {
                    Some(action) => self.on_action(action),
                    None => Vec::new(),
                }
            }
            Event::Paste(text) => {
                if self.overlay.is_none() {
                    self.paste_in(&text);
                }
                Vec::new()
            }
            Event::Resize(width, height) => {
                self.size = (width, height);
                for index in 0..self.channels.list().len() {
                    self.clamp_scroll(index);
                }
                self.overlay_scroll = self.overlay_scroll.min(self.overlay_max_scroll());
                Vec::new()
            }
            Event::Tick(now) => {
                self.now = now;
                Vec::new()
            }
            Event::Net(event) => {
                self.on_net(event);
                Vec::new()
            }
        }
    }

    // ---- accessors for the renderer ----

    /// Our own log's key, once the engine said `Ready`.
    pub fn own(&self) -> Option<LogKey> {
        self.own
    }

    pub fn nickname(&self) -> &str {
        &self.nickname
    }

    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    pub fn utc_offset(&self) -> UtcOffset {
        self.offset
    }

    /// The active channel's timeline.
    pub fn timeline(&self) -> &Timeline {
        &self.channels.active().timeline
    }

    /// Home and the joined rooms, and which is active.
    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// Where a message typed now goes.
    pub fn active_channel(&self) -> &ChannelId {
        &self.channels.active().id
    }

    /// Whether a log's messages are hidden by `/mute`.
    pub fn is_muted(&self, key: &LogKey) -> bool {
        self.audience.is_muted(key)
    }

    /// A connected peer's name: the name of the log it says is its own;
    /// `None` when it did not say or nothing is known of that log.
    pub fn peer_name(&self, peer: &Peer) -> Option<String> {
        self.name_of(&peer.own_log()?)
    }

    pub fn input(&self) -> &Input {
        &self.input
    }

    pub fn peers(&self) -> &Peers {
        &self.peers
    }

    /// How many peers hold our own message `seq`.
    pub fn held_by(&self, seq: Seq) -> usize {
        self.deliveries.held_by(seq.0)
    }

    pub fn overlay(&self) -> Option<Overlay> {
        self.overlay
    }

    /// Rows the help popup is scrolled down.
    pub fn overlay_scroll(&self) -> usize {
        self.overlay_scroll
    }

    /// How many lines a long paste waiting for Enter or Esc has.
    pub fn paste_pending(&self) -> Option<usize> {
        self.paste.as_ref().map(|p| p.lines)
    }

    /// A short-lived note for the status bar (completion candidates).
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// True once the user asked to leave.
    pub fn is_quitting(&self) -> bool {
        self.quitting
    }

    /// The network state, `None` until the engine reports one.
    pub fn network(&self) -> Option<&NetworkStatus> {
        self.network.as_ref()
    }

    /// When the DHT entered its current state.
    pub fn network_since(&self) -> OffsetDateTime {
        self.network_since
    }

    /// This node's addresses, NAT and reachability, as far as reported.
    pub fn network_report(&self) -> &NetworkReport {
        &self.report
    }

    /// Seconds left before the next retry while offline.
    pub fn retry_in(&self) -> Option<Duration> {
        match &self.network {
            Some(NetworkStatus::Offline { retry_in, .. }) => {
                let waited = (self.now - self.network_at).whole_milliseconds().max(0);
                let waited = Duration::from_millis(u64::try_from(waited).unwrap_or(u64::MAX));
                Some(retry_in.saturating_sub(waited))
            }
            _ => None,
        }
    }

    /// The active timeline's rows at a width, as the renderer shows them.
    pub fn timeline_rows(&self, width: usize) -> Vec<Row> {
        view::timeline_rows(self.timeline(), self.own, self.offset, width)
    }

    /// The active timeline's rows at a width, laid out again only when
    /// something they show changed: what drawing uses.
    pub fn cached_timeline_rows(&self, width: usize) -> std::sync::Arc<Vec<Row>> {
        self.rows_of(self.channels.active_index(), width)
    }

    /// The newest `count` rows of the active timeline at a width (what one
    /// screen needs).
    pub fn last_timeline_rows(&self, width: usize, count: usize) -> Vec<Row> {
        let rows = view::cached_timeline_rows(self.timeline(), self.own, self.offset, width);
        rows[rows.len().saturating_sub(count)..].to_vec()
    }

    // ---- keys ----

    fn on_action(&mut self, action: Action) -> Vec<Command> {
        if self.overlay.is_some() {
            return self.on_overlay_action(action);
        }
        if self.paste.is_some() {
            return self.on_paste_action(action);
        }
        if self.search.is_some() && self.input.is_empty() {
            let step = match action {
                Action::Submit | Action::Insert('n') => Some(Step::Older),
                Action::Newline | Action::Insert('N') => Some(Step::Newer),
                _ => None,
            };
            if let Some(step) = step {
                self.step_search(step);
                return Vec::new();
            }
        }
        match action {
            Action::Insert(c) => self.input.insert_char(c),
            Action::Newline => self.input.newline(),
            Action::Submit => return self.submit(),
            Action::Backspace => self.input.backspace(),
            Action::Delete => self.input.delete(),
            Action::Left => self.input.left(),
            Action::Right => self.input.right(),
            Action::WordLeft => self.input.word_left(),
            Action::WordRight => self.input.word_right(),
            Action::LineStart => self.input.line_start(),
            Action::LineEnd => self.input.line_end(),
            Action::Up => self.input.up(),
            Action::Down => self.input.down(),
            Action::KillToStart => self.input.kill_to_start(),
            Action::KillToEnd => self.input.kill_to_end(),
            Action::DeleteWordBefore => self.input.delete_word_before(),
            Action::Complete => self.complete(),
            Action::PageUp => {
                let (_, height) = self.timeline_size();
                let max = self.max_scroll(self.channels.active_index());
                self.active_timeline().scroll_up(page(height), max);
            }
            Action::PageDown => {
                let (_, height) = self.timeline_size();
                self.active_timeline().scroll_down(page(height));
            }
            Action::ScrollTop => self.jump_to_top(),
            Action::ScrollBottom | Action::Dismiss => {
                self.end_search();
                self.jump_to_bottom();
            }
            Action::Quit => return self.quit(),
            Action::EndOfInput if self.input.is_empty() => return self.quit(),
            Action::EndOfInput => self.input.delete(),
            Action::Help => self.open(Overlay::Help),
            Action::Network => self.open(Overlay::Network),
            Action::NextChannel => self.channels.next(self.now),
            Action::PreviousChannel => self.channels.previous(self.now),
            Action::Channel(number) => {
                let index = usize::from(number).saturating_sub(1);
                if !self.channels.switch_to(index, self.now) {
                    self.hint = Some(format!("no channel {number}"));
                }
            }
            Action::NextUnread => match self.channels.next_unread() {
                Some(index) => {
                    self.channels.switch_to(index, self.now);
                }
                None => self.hint = Some("nothing unread".into()),
            },
            Action::Search => {
                let again = self.search.as_ref().map(|s| format!("/search {}", s.query));
                if self.input.is_empty() || self.input.text().starts_with("/search") {
                    self.input
                        .set_text(&again.unwrap_or_else(|| "/search ".to_string()));
                } else {
                    self.hint = Some("send or clear the line first, then Ctrl+F".into());
                }
            }
        }
        Vec::new()
    }

    /// A paste goes into the input; one of more than `PASTE_GUARD_LINES`
    /// lines waits there for Enter or Esc.
    fn paste_in(&mut self, text: &str) {
        let before = self.input.clone();
        self.input.insert_str(text);
        let lines = self.input.text().trim_end_matches('\n').lines().count();
        if lines > PASTE_GUARD_LINES {
            let before = self.paste.take().map_or(before, |p| p.before);
            self.paste = Some(PendingPaste { lines, before });
        }
    }

    /// Keys while a long paste waits: Enter sends it, Esc takes it back out.
    fn on_paste_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Submit => {
                self.paste = None;
                self.submit()
            }
            Action::Dismiss => {
                if let Some(paste) = self.paste.take() {
                    self.input = paste.before;
                }
                Vec::new()
            }
            Action::Quit => self.quit(),
            _ => {
                let lines = self.paste.as_ref().map_or(0, |p| p.lines);
                self.hint = Some(format!("send {lines} lines? Enter sends, Esc cancels"));
                Vec::new()
            }
        }
    }

    fn on_overlay_action(&mut self, action: Action) -> Vec<Command> {
        let max = self.overlay_max_scroll();
        let page = page(max.max(1));
        let scroll = &mut self.overlay_scroll;
        match action {
            Action::Dismiss | Action::Submit | Action::Insert('q') => self.overlay = None,
            // The key that opened the network pane closes it again; F1
            // and F2 switch between the popups.
            Action::Network if self.overlay == Some(Overlay::Network) => self.overlay = None,
            Action::Network => self.open(Overlay::Network),
            Action::Help if self.overlay != Some(Overlay::Help) => self.open(Overlay::Help),
            Action::Quit => return self.quit(),
            Action::Up => *scroll = scroll.saturating_sub(1),
            Action::Down => *scroll = (*scroll + 1).min(max),
            Action::PageUp => *scroll = scroll.saturating_sub(page),
            Action::PageDown => *scroll = (*scroll + page).min(max),
            Action::LineStart | Action::ScrollTop => *scroll = 0,
            Action::LineEnd | Action::ScrollBottom => *scroll = max,
            _ => {}
        }
        Vec::new()
    }

    /// Rows the open popup can scroll on the current screen.
    fn overlay_max_scroll(&self) -> usize {
        let screen = Rect::new(0, 0, self.size.0, self.size.1);
        match self.overlay {
            Some(Overlay::Help) => help::max_scroll(screen),
            Some(Overlay::Network) => network::max_scroll(self, screen),
            Some(Overlay::Key) | None => 0,
        }
    }

    fn open(&mut self, overlay: Overlay) {
        self.overlay = Some(overlay);
        self.overlay_scroll = 0;
    }

    fn quit(&mut self) -> Vec<Command> {
        self.quitting = true;
        let mut commands = Vec::new();
        if self.own.is_some() {
            self.read_dirty = false;
            commands.push(Command::Net(NetCommand::SaveReadMarks(self.read_marks())));
        }
        commands.push(Command::Quit);
        commands
    }

    fn submit(&mut self) -> Vec<Command> {
        if self.input.text().trim().is_empty() {
            self.input.submit();
            return Vec::new();
        }
        let line = self.input.submit();
        self.end_search();
        self.jump_to_bottom();
        if let Some(literal) = line.strip_prefix("//") {
            return self.send_text(&format!("/{literal}"));
        }
        if line.starts_with('/') {
            return match commands::parse(&line) {
                Ok(command) => self.run(command),
                Err(error) => {
                    self.error(error.to_string());
                    Vec::new()
                }
            };
        }
        self.send_text(&line)
    }

    fn send_text(&mut self, line: &str) -> Vec<Command> {
        let text = line.trim_start_matches('\n').trim_end();
        let length = text.chars().count();
        if length > MAX_TEXT_CHARS {
            self.error(format!(
                "that message is {length} characters long; the limit is {MAX_TEXT_CHARS}"
            ));
            self.input.set_text(line);
            return Vec::new();
        }
        // The line shows up when the engine echoes it as `Appended`.
        vec![Command::Net(NetCommand::Append {
            text: text.to_string(),
            room: self.active_channel().room().cloned(),
        })]
    }

    fn run(&mut self, command: SlashCommand) -> Vec<Command> {
        let net = |c| vec![Command::Net(c)];
        match command {
            SlashCommand::Follow { key, name } => match OwnLogRefusal::Follow.check(&key, self.own)
            {
                Ok(()) => return net(NetCommand::Follow { key, name }),
                Err(refusal) => self.error(refusal.to_string()),
            },
            SlashCommand::Unfollow(Target::Key(key)) => return net(NetCommand::Unfollow { key }),
            SlashCommand::Unfollow(Target::Name(name)) => {
                match self.resolve(Target::Name(name), "/unfollow", Among::Follows) {
                    Ok(key) => return net(NetCommand::Unfollow { key }),
                    Err(sentence) => self.error(sentence.to_string()),
                }
            }
            SlashCommand::Join(room) => return self.join(room),
            SlashCommand::Leave(room) => return self.leave(room),
            SlashCommand::Members => self.members(),
            SlashCommand::Mute(target) => return self.mute(target),
            SlashCommand::Unmute(target) => return self.unmute(target),
            SlashCommand::Nick(nickname) => return net(NetCommand::SetNick { nickname }),
            SlashCommand::Key => match self.own {
                Some(_) => self.open(Overlay::Key),
                None => self.error("the log is still opening; try /key again in a moment"),
            },
            SlashCommand::Peers => {
                let text = self.peers_summary();
                self.info(text);
            }
            SlashCommand::Net => self.open(Overlay::Network),
            SlashCommand::Search(query) => return self.start_search(query),
            SlashCommand::Clear => self.active_timeline().clear(),
            SlashCommand::Help => self.open(Overlay::Help),
            SlashCommand::Quit => return self.quit(),
        }
        Vec::new()
    }

    fn peers_summary(&self) -> String {
        let peers = self.peers.peers();
        if peers.is_empty() {
            return "no peers connected".to_string();
        }
        let mut lines = vec![match peers.len() {
            1 => "1 peer connected:".to_string(),
            n => format!("{n} peers connected:"),
        }];
        for peer in peers {
            let logs: Vec<String> = peer.logs.iter().map(|f| self.who(f)).collect();
            let rooms: Vec<String> = peer.room_tags();
            let met = if rooms.is_empty() {
                String::new()
            } else {
                format!(" in {}", rooms.join(", "))
            };
            lines.push(format!(
                "{} for {}{met}: {}",
                peer.id.short(),
                peers::short_duration(peer.since, self.now),
                if logs.is_empty() {
                    "no shared logs".to_string()
                } else {
                    logs.join(", ")
                }
            ));
        }
        lines.join("\n")
    }

    fn complete(&mut self) {
        let (start, word) = self.input.word_at_cursor();
        let word = word.to_string();
        let first = self.input.text().split_whitespace().next().unwrap_or("");
        let candidates = if start == 0 && word.starts_with('/') {
            commands::command_names()
        } else if matches!(first, "/join" | "/leave") {
            self.audience.rooms().map(|r| r.to_string()).collect()
        } else {
            self.known_names()
        };
        match self.input.complete(&candidates) {
            Completion::Unique(_) => {}
            Completion::None if word.is_empty() => {}
            Completion::None => self.hint = Some(format!("nothing matches {word}")),
            Completion::Several(options) => self.hint = Some(options.join("  ")),
        }
    }

    // ---- network events ----

    fn on_net(&mut self, event: NetEvent) {
        match event {
            NetEvent::Ready {
                own,
                nickname,
                first_run,
                follows,
                rooms,
                muted,
                read_marks,
            } => {
                self.own = Some(own);
                self.nickname = nickname;
                self.audience.set_own(own);
                self.audience.set_follows(follows.iter().map(|f| f.key));
                self.audience.set_muted(muted);
                self.peers.set_follows(follows);
                for entry in rooms {
                    self.audience.join(&entry.name, entry.members);
                    self.channels.add_room(&entry.name, self.now);
                }
                // What arrives from now on with an older timestamp is history,
                // unless it came after the last look of the last run.
                self.channels.viewed_all(self.now);
                self.channels.restore(&read_marks, self.now);
                self.reroute(None);
                if first_run {
                    let text = welcome(&own, &self.nickname);
                    self.info(text);
                }
            }
            NetEvent::Appended { log, seq, message } => {
                self.peers.saw_nickname(&log, seq, &message.nickname);
                if self.archive.insert(log, seq, &message) {
                    self.place(log, seq, message);
                }
            }
            NetEvent::PeerConnected {
                peer,
                logs,
                rooms,
                route,
            } => self.peers.connected(peer, logs, rooms, route, self.now),
            NetEvent::PeerDisconnected { peer } => {
                self.peers.disconnected(&peer);
            }
            NetEvent::LogProgress {
                log,
                downloaded,
                length,
            } => self.peers.progress(&log, downloaded, length),
            NetEvent::PeerHas { peer, log, length } => {
                if Some(log) == self.own {
                    let holder = self
                        .peers
                        .peers()
                        .iter()
                        .find(|p| p.id == peer)
                        .and_then(|p| p.own_log())
                        .map_or(delivery::Holder::Connection(peer), delivery::Holder::Log);
                    self.deliveries.record(holder, length);
                }
                self.peers.peer_has(peer, log, length)
            }
            NetEvent::NetworkReport(report) => self.report = report,
            NetEvent::NetworkStatus(status) => {
                let same_state = self.network.as_ref().map(std::mem::discriminant)
                    == Some(std::mem::discriminant(&status));
                if !same_state {
                    self.network_since = self.now;
                }
                if self.network.as_ref() != Some(&status) {
                    self.network_at = self.now;
                }
                self.network = Some(status);
            }
            NetEvent::Followed(entry) => self.followed(entry),
            NetEvent::Unfollowed { log } => {
                let shown = self.who(&log);
                self.peers.remove_follow(&log);
                self.audience.unfollow(&log);
                self.reroute(Some(log));
                self.info(format!("stopped following {shown}"));
            }
            NetEvent::NickChanged { nickname } => {
                self.info(format!("your nickname is now {nickname}"));
                self.nickname = nickname;
            }
            NetEvent::RoomJoined(entry) => self.room_joined(entry),
            NetEvent::RoomLeft { room } => self.room_left(room),
            NetEvent::RoomMember { room, member } => self.room_member(room, member),
            NetEvent::Muted { log } => self.muted(log),
            NetEvent::Unmuted { log } => self.unmuted(log),
            NetEvent::Error(EngineError::Stopped) => {
                self.error("the network engine stopped; press Ctrl+C to quit")
            }
            NetEvent::Error(error) => self.error(error.to_string()),
            NetEvent::History(page) => self.on_history(page),
            NetEvent::SearchResults(results) => self.on_search_results(results),
        }
    }

    fn followed(&mut self, entry: FollowEntry) {
        let key = entry.key;
        self.peers.add_follow(entry);
        self.audience.follow(key);
        self.reroute(Some(key));
        let shown = self.who(&key);
        self.info(format!(
            "following {shown}; its messages appear in home as peers serve them"
        ));
    }

    // ---- routing ----

    /// Shows a delivered block in the view it belongs in, if any, counting
    /// it as unread there when it is someone else's and new.
    fn place(&mut self, log: LogKey, seq: Seq, message: ChatMessage) {
        let Some(destination) = self.audience.destination(&log, message.room.as_deref()) else {
            return;
        };
        let Some(channel) = self.channels.index_of(&destination) else {
            return;
        };
        let mentions_us = channels::mentions(&message.text, &self.nickname);
        let Some(timeline) = self.channels.get_mut(channel).map(|c| &mut c.timeline) else {
            return;
        };
        let position = Timeline::position_of(log, seq, &message, self.now);
        if !timeline.takes(position) {
            // It stays on disk: a page brings it when the view gets there.
            if position > timeline.newest_position().unwrap_or(position) {
                timeline.note_left_out();
            }
            return;
        }
        let Some(index) = timeline.insert_at(position, message) else {
            return;
        };
        let at = timeline.entries()[index].at;
        if Some(log) != self.own {
            let unread = self
                .channels
                .note_message(channel, (log, seq), at, mentions_us);
            self.read_dirty |= unread;
            let fresh = at + channels::UNREAD_CLOCK_SLACK > self.now;
            if unread || (mentions_us && fresh) {
                self.notify(channel, index, log, mentions_us);
            }
        }
        self.after_insert(channel, index);
        let over = self
            .channels
            .list()
            .get(channel)
            .is_some_and(|c| c.timeline.message_count() > timeline::WINDOW);
        if over {
            // The end away from the view goes: the oldest when following
            // the newest end, else the newest (and the window leaves it).
            self.anchored(channel, |t| {
                t.trim(!t.is_at_bottom());
            });
        }
    }

    /// Tells the user of message `entry` of a channel (throttled; see `alerts`).
    fn notify(&mut self, channel: usize, entry: usize, log: LogKey, mention: bool) {
        let Some(target) = self.channels.list().get(channel) else {
            return;
        };
        let text = match target.timeline.entries().get(entry).map(|e| &e.body) {
            Some(timeline::Body::Message { message, .. }) => message.text.clone(),
            _ => return,
        };
        let notice = Notice {
            channel: target.id.to_string(),
            from: self.name_of(&log).unwrap_or_else(|| log.short()),
            text,
            mention,
        };
        if let Some(notice) = self.alerts.notice(notice, self.now) {
            self.outbox.push(Command::Notify(notice));
        }
    }

    /// After the audience changed: takes the messages (of one log, or all)
    /// out of views they no longer belong in, puts the archived ones into
    /// the view they now belong in, and asks for the windows' stretch of
    /// history again to fill in the rest.
    fn reroute(&mut self, log: Option<LogKey>) {
        let in_scope = |key: &LogKey| log.is_none_or(|l| l == *key);
        for index in 0..self.channels.list().len() {
            let audience = &self.audience;
            let Some(channel) = self.channels.get_mut(index) else {
                continue;
            };
            let id = channel.id.clone();
            let dropped = channel.timeline.retain_messages(|f, _, message| {
                !in_scope(f)
                    || audience.destination(f, message.room.as_deref()).as_ref() == Some(&id)
            });
            for (log, seq) in &dropped {
                channel.forget(*log, *seq);
            }
            if !dropped.is_empty() {
                self.clamp_scroll(index);
            }
        }
        let scope: Vec<(LogKey, Seq)> = match log {
            Some(log) => self.archive.of_log(log).map(|(f, s, _)| (f, s)).collect(),
            None => self.archive.iter().map(|(f, s, _)| (f, s)).collect(),
        };
        for (log, seq) in scope {
            if let Some(message) = self.archive.get(log, seq).cloned() {
                self.place(log, seq, message);
            }
        }
        self.refill(log);
    }

    // ---- timeline helpers ----

    fn active_timeline(&mut self) -> &mut Timeline {
        &mut self.channels.active_mut().timeline
    }

    /// A line from hychat in the active channel.
    fn info(&mut self, text: impl Into<String>) {
        self.system(self.channels.active_index(), text, false);
    }

    /// An error sentence in the active channel.
    fn error(&mut self, text: impl Into<String>) {
        self.system(self.channels.active_index(), text, true);
    }

    /// A line from hychat in channel `channel`.
    fn system(&mut self, channel: usize, text: impl Into<String>, error: bool) {
        let now = self.now;
        let Some(target) = self.channels.get_mut(channel) else {
            return;
        };
        let index = target.timeline.push_system(text, error, now);
        self.after_insert(channel, index);
    }

    fn rows_of(&self, channel: usize, width: usize) -> std::sync::Arc<Vec<Row>> {
        match self.channels.list().get(channel) {
            Some(c) => view::cached_timeline_rows(&c.timeline, self.own, self.offset, width),
            None => Default::default(),
        }
    }

    /// Keeps a scrolled-up view still when an entry lands below it.
    fn after_insert(&mut self, channel: usize, index: usize) {
        if self
            .channels
            .list()
            .get(channel)
            .is_none_or(|c| c.timeline.is_at_bottom())
        {
            return;
        }
        let (width, _) = self.timeline_size();
        let rows = self.rows_of(channel, width);
        let own_rows = rows.iter().filter(|r| r.entry == index).count();
        let rows_after = rows.iter().filter(|r| r.entry > index).count();
        if let Some(c) = self.channels.get_mut(channel) {
            c.timeline.note_inserted(own_rows, rows_after);
        }
    }

    fn timeline_size(&self) -> (usize, usize) {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let areas = Areas::compute(area, &self.input);
        (
            usize::from(areas.timeline.width),
            usize::from(areas.timeline.height),
        )
    }

    fn max_scroll(&self, channel: usize) -> usize {
        let (width, height) = self.timeline_size();
        self.rows_of(channel, width).len().saturating_sub(height)
    }

    fn clamp_scroll(&mut self, channel: usize) {
        let max = self.max_scroll(channel);
        if let Some(c) = self.channels.get_mut(channel) {
            c.timeline.clamp_scroll(max);
        }
    }
}

/// Rows one PgUp/PgDn moves: a screen, keeping one row of context.
fn page(height: usize) -> usize {
    height.saturating_sub(1).max(1)
}

fn welcome(own: &LogKey, nickname: &str) -> String {
    format!(
        "Welcome to hychat, {nickname}! Your log is ready.\n\
         Your share key (give it to friends; /key shows it again):\n\
         {}\n\
         Friends follow you with /follow and this key; you follow them with /follow THEIR-KEY NAME.\n\
         Type /help for commands and keys.",
        own.to_hex()
    )
}

#[cfg(test)]
mod tests;
