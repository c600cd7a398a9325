//! The channels' side of `App` (`impl App`): the channel list and the
//! active channel for `ui`, the keys that switch channels (Alt+N, Alt+A),
//! and saving what was read (`NetCommand::SaveReadMarks`).

use crate::app::{App, Command};
use crate::domain::ReadMark;
use crate::net::NetCommand;

use super::{ChannelId, Channels};

impl App {
    /// Home and the joined rooms, and which is active.
    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// Where a message typed now goes.
    pub fn active_channel(&self) -> &ChannelId {
        &self.channels.active().id
    }

    /// What was read of every channel, as it would be kept now.
    pub fn read_marks(&self) -> Vec<ReadMark> {
        self.channels.read_marks(self.now)
    }

    /// Has the engine keep what was read of every channel.
    pub(in crate::app) fn save_read_marks(&mut self) {
        let marks = self.channels.save(self.now);
        self.outbox
            .push(Command::Net(NetCommand::SaveReadMarks(marks)));
    }

    /// Alt+N: to channel N (1 is home).
    pub(in crate::app) fn go_to_channel(&mut self, number: u8) {
        let index = usize::from(number).saturating_sub(1);
        if !self.channels.switch_to(index, self.now) {
            self.hint = Some(format!("no channel {number}"));
        }
    }

    /// Alt+A: to the next channel with a mention, else with anything unread.
    pub(in crate::app) fn go_to_next_unread(&mut self) {
        match self.channels.next_unread() {
            Some(index) => {
                self.channels.switch_to(index, self.now);
            }
            None => self.hint = Some("nothing unread".into()),
        }
    }
}
