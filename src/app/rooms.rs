//! The room and mute side of `App`: `/join`, `/leave`, `/members`,
//! `/mute`, `/unmute`, and the engine's answers (`RoomJoined`, `RoomLeft`,
//! `RoomMember`, `Muted`, `Unmuted`). Part of the pure `update`: it changes
//! state and returns commands, and leaves which view a message goes to to
//! `routing` and the channel bookkeeping to `channels`.

use std::collections::BTreeSet;

use crate::domain::{LogKey, Member, RoomEntry, RoomName};
use crate::net::NetCommand;

use super::commands::Target;
use super::{text, App, Command};

impl App {
    /// Enters a room: switches to it when joined already, else asks the
    /// engine to join it and switches once it has (also for `--room`).
    pub fn join(&mut self, room: RoomName) -> Vec<Command> {
        let room = self.joined_alias(room);
        if let Some(index) = self.channels.room_index(&room) {
            if index == self.channels.active_index() {
                self.info(format!("you are in {} already", label(&room)));
            } else {
                self.channels.switch_to(index, self.now);
            }
            return Vec::new();
        }
        // Before `Ready` (`--room`), the room's own first line says enough.
        if self.own.is_some() {
            self.info(format!("joining {}…", label(&room)));
        }
        self.pending_join = Some(room.clone());
        vec![Command::Net(NetCommand::JoinRoom { room })]
    }

    pub(super) fn leave(&mut self, room: Option<RoomName>) -> Vec<Command> {
        let room = match room {
            Some(room) => self.joined_alias(room),
            None => match self.active_channel().room() {
                Some(room) => room.clone(),
                None => {
                    self.error("this is home, not a room; /leave ROOM leaves a room");
                    return Vec::new();
                }
            },
        };
        if !self.audience.is_joined(&room) {
            self.error(format!("you are not in {}", label(&room)));
            return Vec::new();
        }
        vec![Command::Net(NetCommand::LeaveRoom { room })]
    }

    /// `/members`: you, then each member met, with online or offline.
    pub(super) fn members(&mut self) {
        let Some(room) = self.active_channel().room().cloned() else {
            self.error("home has no members; /members lists a room's (/join ROOM to enter one)");
            return;
        };
        let members = self.audience.members(&room);
        let mut lines = vec![match members.len() + 1 {
            1 => format!("{}: only you so far", label(&room)),
            n => format!("{}: {n} members", label(&room)),
        }];
        if let Some(own) = self.own {
            lines.push(format!(
                "{} (you) {} online",
                text::printable_line(&self.nickname),
                own.short()
            ));
        }
        for member in members {
            let online = self.peers.is_in_room(&room, &member.key);
            let name = self
                .name_of(&member.key)
                .map(|n| text::printable_line(&n))
                .filter(|n| !n.is_empty());
            let name = name.map_or(String::new(), |n| format!("{n} "));
            lines.push(format!(
                "{name}{} {}",
                member.key.short(),
                if online { "online" } else { "offline" }
            ));
        }
        self.info(lines.join("\n"));
    }

    pub(super) fn mute(&mut self, target: Target) -> Vec<Command> {
        let key = match self.resolve(target, "/mute", false) {
            Ok(key) => key,
            Err(sentence) => {
                self.error(sentence);
                return Vec::new();
            }
        };
        if Some(key) == self.own {
            self.error("that is you; you cannot mute yourself");
        } else if self.audience.is_muted(&key) {
            self.info(format!(
                "{} is muted already; /unmute shows them again",
                self.who(&key)
            ));
        } else {
            return vec![Command::Net(NetCommand::Mute { key })];
        }
        Vec::new()
    }

    pub(super) fn unmute(&mut self, target: Target) -> Vec<Command> {
        let key = match self.resolve(target, "/unmute", true) {
            Ok(key) => key,
            Err(sentence) => {
                self.error(sentence);
                return Vec::new();
            }
        };
        if self.audience.is_muted(&key) {
            return vec![Command::Net(NetCommand::Unmute { key })];
        }
        self.error(format!("{} is not muted", self.who(&key)));
        Vec::new()
    }

    /// Names Tab completes to: follows, room members, nicknames seen.
    pub(super) fn known_names(&self) -> Vec<String> {
        let mut names = self.peers.names();
        names.extend(
            self.audience
                .all_members()
                .into_iter()
                .filter_map(|m| m.nickname.clone()),
        );
        names.extend(
            self.archive
                .nicknames()
                .into_iter()
                .map(|(_, n)| n.to_string()),
        );
        names.retain(|n| !n.is_empty() && !n.contains(char::is_whitespace));
        names.sort();
        names.dedup();
        names
    }

    // ---- engine answers ----

    pub(super) fn room_joined(&mut self, entry: RoomEntry) {
        let room = entry.name;
        self.audience.join(&room, entry.members);
        let is_new = self.channels.room_index(&room).is_none();
        let index = self.channels.add_room(&room, self.now);
        self.reroute(None);
        let asked = self.pending_join.as_ref() == Some(&room);
        if asked {
            self.pending_join = None;
            self.channels.switch_to(index, self.now);
        }
        if asked || is_new {
            let line = format!(
                "you are in {}: everyone who joins it meets here, no keys needed; \
                 /members lists who is in it, /leave leaves",
                label(&room)
            );
            self.system(index, line, false);
        }
    }

    pub(super) fn room_left(&mut self, room: RoomName) {
        self.audience.leave(&room);
        if self.pending_join.as_ref() == Some(&room) {
            self.pending_join = None;
        }
        if self.channels.remove_room(&room, self.now).is_some() {
            self.info(format!("left {}", label(&room)));
        }
    }

    pub(super) fn room_member(&mut self, room: RoomName, member: Member) {
        let key = member.key;
        if !self.audience.add_member(&room, member) {
            return;
        }
        if let Some(index) = self.channels.room_index(&room) {
            let line = format!("met {}", self.who(&key));
            self.system(index, line, false);
        }
        self.reroute(Some(key));
    }

    pub(super) fn muted(&mut self, log: LogKey) {
        self.audience.mute(log);
        self.reroute(Some(log));
        self.info(format!(
            "muted {}: their messages are hidden everywhere; /unmute shows them again",
            self.who(&log)
        ));
    }

    pub(super) fn unmuted(&mut self, log: LogKey) {
        self.audience.unmute(&log);
        self.reroute(Some(log));
        self.info(format!(
            "unmuted {}: their messages show again",
            self.who(&log)
        ));
    }

    // ---- helpers ----

    /// `bob (b0b0b0b0)`, or the short key alone when no name is known.
    fn who(&self, key: &LogKey) -> String {
        match self.name_of(key).map(|n| text::printable_line(&n)) {
            Some(name) if !name.is_empty() => format!("{name} ({})", key.short()),
            _ => key.short(),
        }
    }

    /// `#name` typed for a joined room `name` means that room.
    fn joined_alias(&self, room: RoomName) -> RoomName {
        if self.audience.is_joined(&room) {
            return room;
        }
        room.as_str()
            .strip_prefix('#')
            .and_then(|bare| RoomName::parse(bare).ok())
            .filter(|bare| self.audience.is_joined(bare))
            .unwrap_or(room)
    }

    /// The one log a name or key means, or a sentence saying why not.
    /// Names are looked up (ignoring case) among follow names, room
    /// members' nicknames and nicknames seen on messages. With
    /// `prefer_muted`, muted logs win over others of the same name.
    fn resolve(&self, target: Target, command: &str, prefer_muted: bool) -> Result<LogKey, String> {
        let name = match target {
            Target::Key(key) => return Ok(key),
            Target::Name(name) => name,
        };
        let wanted = name.to_lowercase();
        let matches = |n: &str| n.to_lowercase() == wanted;
        let mut keys: BTreeSet<LogKey> = self
            .peers
            .find_by_name(&name)
            .iter()
            .map(|f| f.key)
            .collect();
        keys.extend(
            self.audience
                .all_members()
                .into_iter()
                .filter(|m| m.nickname.as_deref().is_some_and(matches))
                .map(|m| m.key),
        );
        keys.extend(
            self.archive
                .nicknames()
                .into_iter()
                .filter(|(_, n)| matches(n))
                .map(|(k, _)| k),
        );
        if let Some(own) = self.own {
            if matches(&self.nickname) {
                keys.insert(own);
            }
            if keys.len() > 1 {
                keys.remove(&own);
            }
        }
        if prefer_muted && keys.iter().any(|k| self.audience.is_muted(k)) {
            keys.retain(|k| self.audience.is_muted(k));
        }
        let keys: Vec<LogKey> = keys.into_iter().collect();
        let shown = text::truncate(&text::printable_line(&name), 40);
        match keys.as_slice() {
            [key] => Ok(*key),
            [] => Err(format!(
                "nobody called {shown} here; {command} takes a name you have seen or a key"
            )),
            many => {
                let shorts: Vec<String> = many.iter().map(LogKey::short).collect();
                Err(format!(
                    "{shown} is {} logs ({}); {command} one by key",
                    many.len(),
                    shorts.join(", ")
                ))
            }
        }
    }
}

/// `#name`, printable.
fn label(room: &RoomName) -> String {
    format!("#{}", text::printable_line(room.as_str()))
}
