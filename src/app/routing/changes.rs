//! What changes who is who (`impl App`): `/join`, `/leave`, `/members`,
//! `/mute`, `/unmute`, and the engine's answers (`RoomJoined`, `RoomLeft`,
//! `RoomMember`, `Muted`, `Unmuted`, `Followed`, `Unfollowed`). Part of
//! the pure `update`: it changes the audience and returns commands, has
//! `place.rs` put the views right again, and leaves the channel
//! bookkeeping to `channels`.

use crate::app::commands::Target;
use crate::app::names::Among;
use crate::app::{text, App, Command};
use crate::domain::{LogKey, Member, OwnLogRefusal, RoomEntry, RoomName};
use crate::net::{FollowEntry, NetCommand};

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
        if self.me.own.is_some() {
            self.info(format!("joining {}…", label(&room)));
        }
        self.routing.pending_join = Some(room.clone());
        vec![Command::Net(NetCommand::JoinRoom { room })]
    }

    pub(in crate::app) fn leave(&mut self, room: Option<RoomName>) -> Vec<Command> {
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
        if !self.routing.audience.is_joined(&room) {
            self.error(format!("you are not in {}", label(&room)));
            return Vec::new();
        }
        vec![Command::Net(NetCommand::LeaveRoom { room })]
    }

    /// `/members`: you, then each member met, with online or offline.
    pub(in crate::app) fn members(&mut self) {
        let Some(room) = self.active_channel().room().cloned() else {
            self.error("home has no members; /members lists a room's (/join ROOM to enter one)");
            return;
        };
        let members = self.routing.audience.members(&room);
        let mut lines = vec![match members.len() + 1 {
            1 => format!("{}: only you so far", label(&room)),
            n => format!("{}: {n} members", label(&room)),
        }];
        if let Some(own) = self.me.own {
            lines.push(format!(
                "{} (you) {} online",
                text::printable_line(&self.me.nickname),
                own.short()
            ));
        }
        for member in members {
            let online = self.network.peers.is_in_room(&room, &member.key);
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

    pub(in crate::app) fn mute(&mut self, target: Target) -> Vec<Command> {
        let key = match self.resolve(target, "/mute", Among::Everyone) {
            Ok(key) => key,
            Err(sentence) => {
                self.error(sentence.to_string());
                return Vec::new();
            }
        };
        if let Err(refusal) = OwnLogRefusal::Mute.check(&key, self.me.own) {
            self.error(refusal.to_string());
        } else if self.routing.audience.is_muted(&key) {
            self.info(format!(
                "{} is muted already; /unmute shows them again",
                self.who(&key)
            ));
        } else {
            return vec![Command::Net(NetCommand::Mute { key })];
        }
        Vec::new()
    }

    pub(in crate::app) fn unmute(&mut self, target: Target) -> Vec<Command> {
        let key = match self.resolve(target, "/unmute", Among::MutedFirst) {
            Ok(key) => key,
            Err(sentence) => {
                self.error(sentence.to_string());
                return Vec::new();
            }
        };
        if self.routing.audience.is_muted(&key) {
            return vec![Command::Net(NetCommand::Unmute { key })];
        }
        self.error(format!("{} is not muted", self.who(&key)));
        Vec::new()
    }

    // ---- engine answers ----

    pub(in crate::app) fn room_joined(&mut self, entry: RoomEntry) {
        let room = entry.name;
        self.routing.audience.join(&room, entry.members);
        let is_new = self.channels.room_index(&room).is_none();
        let index = self.channels.add_room(&room, self.now);
        self.reroute(None);
        let asked = self.routing.pending_join.as_ref() == Some(&room);
        if asked {
            self.routing.pending_join = None;
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

    pub(in crate::app) fn room_left(&mut self, room: RoomName) {
        self.routing.audience.leave(&room);
        if self.routing.pending_join.as_ref() == Some(&room) {
            self.routing.pending_join = None;
        }
        if self.channels.remove_room(&room, self.now).is_some() {
            self.info(format!("left {}", label(&room)));
        }
    }

    pub(in crate::app) fn room_member(&mut self, room: RoomName, member: Member) {
        let key = member.key;
        if !self.routing.audience.add_member(&room, member) {
            return;
        }
        if let Some(index) = self.channels.room_index(&room) {
            let line = format!("met {}", self.who(&key));
            self.system(index, line, false);
        }
        self.reroute(Some(key));
    }

    pub(in crate::app) fn muted(&mut self, log: LogKey) {
        self.routing.audience.mute(log);
        self.reroute(Some(log));
        self.info(format!(
            "muted {}: their messages are hidden everywhere; /unmute shows them again",
            self.who(&log)
        ));
    }

    pub(in crate::app) fn unmuted(&mut self, log: LogKey) {
        self.routing.audience.unmute(&log);
        self.reroute(Some(log));
        self.info(format!(
            "unmuted {}: their messages show again",
            self.who(&log)
        ));
    }

    pub(in crate::app) fn followed(&mut self, entry: FollowEntry) {
        let key = entry.key;
        self.network.peers.add_follow(entry);
        self.routing.audience.follow(key);
        self.reroute(Some(key));
        let shown = self.who(&key);
        self.info(format!(
            "following {shown}; its messages appear in home as peers serve them"
        ));
    }

    pub(in crate::app) fn unfollowed(&mut self, log: LogKey) {
        let shown = self.who(&log);
        self.network.peers.remove_follow(&log);
        self.routing.audience.unfollow(&log);
        self.reroute(Some(log));
        self.info(format!("stopped following {shown}"));
    }

    // ---- helpers ----

    /// `#name` typed for a joined room `name` means that room.
    fn joined_alias(&self, room: RoomName) -> RoomName {
        if self.routing.audience.is_joined(&room) {
            return room;
        }
        room.as_str()
            .strip_prefix('#')
            .and_then(|bare| RoomName::parse(bare).ok())
            .filter(|bare| self.routing.audience.is_joined(bare))
            .unwrap_or(room)
    }
}

/// `#name`, printable.
fn label(room: &RoomName) -> String {
    format!("#{}", text::printable_line(room.as_str()))
}
