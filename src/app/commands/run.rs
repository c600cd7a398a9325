//! A submitted line (`impl App`): Enter sends a message to the active
//! channel (`//text` sends a line that begins with `/`) or runs a slash
//! command; a command becomes `NetCommand`s for the engine or acts on the
//! app at once (popups, `/peers`, `/members`, `/search`, `/clear`), and a
//! line it cannot take is an inline error.

use crate::app::names::Among;
use crate::app::overlay::Overlay;
use crate::app::{App, Command};
use crate::domain::message::MAX_TEXT_CHARS;
use crate::domain::OwnLogRefusal;
use crate::net::NetCommand;

use super::{SlashCommand, Target};

impl App {
    /// Enter: the line goes out as a message or runs as a command.
    pub(in crate::app) fn submit(&mut self) -> Vec<Command> {
        if self.input.editor.text().trim().is_empty() {
            self.input.editor.submit();
            return Vec::new();
        }
        let line = self.input.editor.submit();
        self.end_search();
        self.jump_to_bottom();
        if let Some(literal) = line.strip_prefix("//") {
            return self.send_text(&format!("/{literal}"));
        }
        if line.starts_with('/') {
            return match super::parse(&line) {
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
            self.input.editor.set_text(line);
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
            SlashCommand::Follow { key, name } => {
                match OwnLogRefusal::Follow.check(&key, self.me.own) {
                    Ok(()) => return net(NetCommand::Follow { key, name }),
                    Err(refusal) => self.error(refusal.to_string()),
                }
            }
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
            SlashCommand::Key => match self.me.own {
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
}
