//! Alerts from `App` (`impl App`): a `Command::Notify` for a message placed
//! in a channel not looked at or naming the user (throttled by `Alerts`),
//! and a `Command::Title` when the unread count it shows changed.

use crate::app::timeline::Body;
use crate::app::{App, Command};
use crate::domain::LogKey;

use super::Notice;

impl App {
    /// Tells the user of message `entry` of a channel (throttled; see `Alerts`).
    pub(in crate::app) fn notify(
        &mut self,
        channel: usize,
        entry: usize,
        log: LogKey,
        mention: bool,
    ) {
        let Some(target) = self.channels.list().get(channel) else {
            return;
        };
        let text = match target.timeline.entries().get(entry).map(|e| &e.body) {
            Some(Body::Message { message, .. }) => message.text.clone(),
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

    /// The title follows the unread count (sent only when it changes).
    pub(in crate::app) fn retitle(&mut self) {
        let list = self.channels.list();
        let unread = list.iter().map(|c| c.unread()).sum();
        let mention = list.iter().any(|c| c.mention());
        if let Some(title) = self.alerts.title(unread, mention) {
            self.outbox.push(Command::Title(title));
        }
    }
}
