//! The application state and its one transition function,
//! `App::update(Event) -> Vec<Command>` (the Elm architecture, docs/architecture.md §4).
//! Pure: no IO, no async, no clock reads; time comes in with `Event::Tick`
//! and effects leave as `Command`s for the runner in `tui.rs` to carry out.
//!
//! `app/` is arranged by concern. `App`'s fields are sub-states, each owned
//! by one folder (or file): there the state and its pure rules, and beside
//! them the `impl App` that changes them and the accessors `ui` reads
//! (`update.rs`, or a file named for its part). So a change to search
//! stays in `search/`.
//! - `input/`: what a key means and where it goes, the line editor, Tab
//!   completion, the paste guard (`input`);
//! - `commands/`: slash commands, parsed, and a submitted line run;
//! - `channels/`: home and the rooms, unread counts and mentions, what was
//!   read and saving it (`channels`);
//! - `timeline/`: one channel's messages, its window and history paging,
//!   its layout into rows, scrolling;
//! - `routing/`: who is who, the archive, which view a message goes to, and
//!   the room, mute and follow changes (`routing`);
//! - `network/`: the DHT's state, our place on the network, peers and
//!   follows, deliveries, the network pane (`network`);
//! - `search/`: a channel's search and stepping through it (`search`);
//! - `alerts/`: notices and the title (`alerts`);
//! - `overlay/`: the popups, the help (`overlay`);
//! - `screen.rs`: the screen's size and time zone (`screen`) and its areas;
//!   `names.rs`: how logs are named; `text.rs`: measuring and wrapping text.
//!
//! This file owns the rest: who we are (`Me`), the clock, the status bar's
//! hint, quitting, the outbox, and the switchboard that hands each event
//! to its concern. Arrows point one way: a concern's state files use only
//! other state files, `text`, `domain` and the boundary types of `net`; this file uses the states; the
//! `impl App` files use this file and any state, never the other way.

pub mod alerts;
pub mod channels;
pub mod commands;
pub mod input;
mod names;
pub mod network;
pub mod overlay;
pub mod routing;
pub mod screen;
pub mod search;
pub mod text;
pub mod timeline;

use crossterm::event::KeyEvent;
use time::{OffsetDateTime, UtcOffset};

use crate::domain::LogKey;
use crate::net::{EngineError, NetCommand, NetEvent};

use alerts::Alerts;
use channels::{ChannelId, Channels};
use input::InputBox;
use network::NetworkView;
use overlay::Overlays;
use routing::Routing;
use screen::Screen;
use search::SearchState;

pub use alerts::Notice;
pub use input::{Action, PASTE_GUARD_LINES};
pub use overlay::Overlay;

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

/// The whole state of the UI: one sub-state per concern, and what every
/// concern reads (who we are, the clock).
#[derive(Debug, Clone)]
pub struct App {
    /// Who we are, once the engine said `Ready`.
    me: Me,
    now: OffsetDateTime,
    /// The terminal's size and the time zone times are shown in (`screen.rs`).
    screen: Screen,
    /// The line being typed and a long paste waiting (`input/`).
    input: InputBox,
    /// Home and the joined rooms, each with its timeline; what was read,
    /// and when it was last saved (`channels/`).
    channels: Channels,
    /// Who is who, the blocks delivered lately, a room asked for (`routing/`).
    routing: Routing,
    /// The DHT's state, our place on the network, peers and follows,
    /// deliveries (`network/`).
    network: NetworkView,
    /// The popup open and its scroll (`overlay/`).
    overlay: Overlays,
    /// The search under way, and the number of the last one asked for (`search/`).
    search: SearchState,
    /// Notices given and the title shown (`alerts/`).
    alerts: Alerts,
    /// A short-lived note for the status bar (completion candidates), until
    /// the next key.
    hint: Option<String>,
    quitting: bool,
    /// Commands decided while handling an event, returned by `update`.
    outbox: Vec<Command>,
}

/// Who we are: our own log and nickname, once the engine said `Ready`.
#[derive(Debug, Clone, Default)]
struct Me {
    own: Option<LogKey>,
    nickname: String,
}

impl App {
    /// A fresh app. `now` is the clock until the first `Tick`; times are
    /// shown in UTC until `set_utc_offset` says otherwise. The size is
    /// 80×24 until the first `Resize`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            me: Me::default(),
            now,
            screen: Screen::default(),
            input: InputBox::default(),
            channels: Channels::new(now),
            routing: Routing::default(),
            network: NetworkView::new(now),
            overlay: Overlays::default(),
            search: SearchState::default(),
            alerts: Alerts::default(),
            hint: None,
            quitting: false,
            outbox: Vec::new(),
        }
    }

    /// Shows times at this offset from UTC (the runner passes the local one).
    pub fn set_utc_offset(&mut self, offset: UtcOffset) {
        self.screen.offset = offset;
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
        if view_may_move && self.me.own.is_some() {
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
        let due = tick && self.channels.save_due(self.now);
        if (switched || due) && self.me.own.is_some() {
            self.save_read_marks();
        }
        self.retitle();
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
                if !self.overlay.is_open() {
                    self.paste_in(&text);
                }
                Vec::new()
            }
            Event::Resize(width, height) => {
                self.screen.size = (width, height);
                self.clamp_scrolls();
                self.clamp_overlay_scroll();
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
        self.me.own
    }

    pub fn nickname(&self) -> &str {
        &self.me.nickname
    }

    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    pub fn utc_offset(&self) -> UtcOffset {
        self.screen.offset
    }

    /// A short-lived note for the status bar (completion candidates).
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// True once the user asked to leave.
    pub fn is_quitting(&self) -> bool {
        self.quitting
    }

    // ---- the switchboard ----

    /// Hands a network event to its concern.
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
                self.me.own = Some(own);
                self.me.nickname = nickname;
                let audience = &mut self.routing.audience;
                audience.set_own(own);
                audience.set_follows(follows.iter().map(|f| f.key));
                audience.set_muted(muted);
                self.network.peers.set_follows(follows);
                for entry in rooms {
                    self.routing.audience.join(&entry.name, entry.members);
                    self.channels.add_room(&entry.name, self.now);
                }
                // What arrives from now on with an older timestamp is history,
                // unless it came after the last look of the last run.
                self.channels.viewed_all(self.now);
                self.channels.restore(&read_marks, self.now);
                self.reroute(None);
                if first_run {
                    let text = welcome(&own, &self.me.nickname);
                    self.info(text);
                }
            }
            NetEvent::Appended { log, seq, message } => self.delivered(log, seq, message),
            NetEvent::PeerConnected {
                peer,
                logs,
                rooms,
                route,
            } => self.on_peer_connected(peer, logs, rooms, route),
            NetEvent::PeerDisconnected { peer } => self.on_peer_disconnected(peer),
            NetEvent::LogProgress {
                log,
                downloaded,
                length,
            } => self.on_log_progress(log, downloaded, length),
            NetEvent::PeerHas { peer, log, length } => self.on_peer_has(peer, log, length),
            NetEvent::NetworkReport(report) => self.on_network_report(report),
            NetEvent::NetworkStatus(status) => self.on_network_status(status),
            NetEvent::Followed(entry) => self.followed(entry),
            NetEvent::Unfollowed { log } => self.unfollowed(log),
            NetEvent::NickChanged { nickname } => {
                self.info(format!("your nickname is now {nickname}"));
                self.me.nickname = nickname;
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
            NetEvent::History(page) => {
                // A page may bring the match a search waits for.
                if let Some(channel) = self.on_history(page) {
                    self.search_page_arrived(channel);
                }
            }
            NetEvent::SearchResults(results) => self.on_search_results(results),
        }
    }

    /// Ctrl+C, Ctrl+D on an empty line, `/quit`: what was read is saved
    /// and the runner told to leave.
    fn quit(&mut self) -> Vec<Command> {
        self.quitting = true;
        let mut commands = Vec::new();
        if self.me.own.is_some() {
            let marks = self.channels.final_save(self.now);
            commands.push(Command::Net(NetCommand::SaveReadMarks(marks)));
        }
        commands.push(Command::Quit);
        commands
    }
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
mod fixtures;
#[cfg(test)]
mod tests;
