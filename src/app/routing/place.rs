//! Placing messages (`impl App`): a delivered block goes into the view the
//! audience says it belongs in, if the view's window takes it, counted as
//! unread there when it is someone else's and new (and told of, through
//! `alerts`); when the audience changes, every view is put right again from
//! the archive and its stretch of history is read again.

use crate::app::channels;
use crate::app::timeline::{Timeline, WINDOW};
use crate::app::App;
use crate::domain::{ChatMessage, LogKey, Seq};

impl App {
    /// Whether a log's messages are hidden by `/mute`.
    pub fn is_muted(&self, key: &LogKey) -> bool {
        self.routing.audience.is_muted(key)
    }

    /// A block the engine delivered (`Appended`): kept in the archive and,
    /// the first time, placed.
    pub(in crate::app) fn delivered(&mut self, log: LogKey, seq: Seq, message: ChatMessage) {
        self.network
            .peers
            .saw_nickname(&log, seq, &message.nickname);
        if self.routing.archive.insert(log, seq, &message) {
            self.place(log, seq, message);
        }
    }

    /// Shows a delivered block in the view it belongs in, if any, counting
    /// it as unread there when it is someone else's and new.
    pub(in crate::app) fn place(&mut self, log: LogKey, seq: Seq, message: ChatMessage) {
        let Some(destination) = self
            .routing
            .audience
            .destination(&log, message.room.as_deref())
        else {
            return;
        };
        let Some(channel) = self.channels.index_of(&destination) else {
            return;
        };
        let mentions_us = channels::mentions(&message.text, &self.me.nickname);
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
        if Some(log) != self.me.own {
            let unread = self
                .channels
                .note_message(channel, (log, seq), at, mentions_us);
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
            .is_some_and(|c| c.timeline.message_count() > WINDOW);
        if over {
            // The end away from the view goes: the oldest when following
            // the newest end, else the newest (and the window leaves it).
            self.anchored(channel, |t| {
                t.trim(!t.is_at_bottom());
            });
        }
    }

    /// After the audience changed: takes the messages (of one log, or all)
    /// out of views they no longer belong in, puts the archived ones into
    /// the view they now belong in, and asks for the windows' stretch of
    /// history again to fill in the rest.
    pub(in crate::app) fn reroute(&mut self, log: Option<LogKey>) {
        let in_scope = |key: &LogKey| log.is_none_or(|l| l == *key);
        for index in 0..self.channels.list().len() {
            let audience = &self.routing.audience;
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
        let archive = &self.routing.archive;
        let scope: Vec<(LogKey, Seq)> = match log {
            Some(log) => archive.of_log(log).map(|(f, s, _)| (f, s)).collect(),
            None => archive.iter().map(|(f, s, _)| (f, s)).collect(),
        };
        for (log, seq) in scope {
            if let Some(message) = self.routing.archive.get(log, seq).cloned() {
                self.place(log, seq, message);
            }
        }
        self.refill(log);
    }
}
