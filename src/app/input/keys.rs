//! Where a key goes (`impl App`): an open popup takes every key, then a
//! waiting paste, then a search's steps; otherwise editing keys go to the
//! line editor and the rest to their concern (scrolling, channels, popups,
//! search, quitting). Tab completes a command, a room after `/join` or
//! `/leave`, or a name.

use crate::app::commands;
use crate::app::overlay::Overlay;
use crate::app::{App, Command};

use super::{Action, Completion, Input};

impl App {
    pub fn input(&self) -> &Input {
        &self.input.editor
    }

    /// What a key's action does.
    pub(in crate::app) fn on_action(&mut self, action: Action) -> Vec<Command> {
        if self.overlay.is_open() {
            return self.on_overlay_action(action);
        }
        if self.input.paste_waiting() {
            return self.on_paste_action(action);
        }
        if self.on_search_key(action) {
            return Vec::new();
        }
        let editor = &mut self.input.editor;
        match action {
            Action::Insert(c) => editor.insert_char(c),
            Action::Newline => editor.newline(),
            Action::Submit => return self.submit(),
            Action::Backspace => editor.backspace(),
            Action::Delete => editor.delete(),
            Action::Left => editor.left(),
            Action::Right => editor.right(),
            Action::WordLeft => editor.word_left(),
            Action::WordRight => editor.word_right(),
            Action::LineStart => editor.line_start(),
            Action::LineEnd => editor.line_end(),
            Action::Up => editor.up(),
            Action::Down => editor.down(),
            Action::KillToStart => editor.kill_to_start(),
            Action::KillToEnd => editor.kill_to_end(),
            Action::DeleteWordBefore => editor.delete_word_before(),
            Action::Complete => self.complete(),
            Action::PageUp => self.page_up(),
            Action::PageDown => self.page_down(),
            Action::ScrollTop => self.jump_to_top(),
            Action::ScrollBottom | Action::Dismiss => {
                self.end_search();
                self.jump_to_bottom();
            }
            Action::Quit => return self.quit(),
            Action::EndOfInput if editor.is_empty() => return self.quit(),
            Action::EndOfInput => editor.delete(),
            Action::Help => self.open(Overlay::Help),
            Action::Network => self.open(Overlay::Network),
            Action::NextChannel => self.channels.next(self.now),
            Action::PreviousChannel => self.channels.previous(self.now),
            Action::Channel(number) => self.go_to_channel(number),
            Action::NextUnread => self.go_to_next_unread(),
            Action::Search => self.fill_in_search(),
        }
        Vec::new()
    }

    /// Tab: completes the word at the cursor, or says what it could be.
    fn complete(&mut self) {
        let (start, word) = self.input.editor.word_at_cursor();
        let word = word.to_string();
        let text = self.input.editor.text();
        let first = text.split_whitespace().next().unwrap_or("");
        let candidates = if start == 0 && word.starts_with('/') {
            commands::command_names()
        } else if matches!(first, "/join" | "/leave") {
            self.routing
                .audience
                .rooms()
                .map(|r| r.to_string())
                .collect()
        } else {
            self.known_names()
        };
        match self.input.editor.complete(&candidates) {
            Completion::Unique(_) => {}
            Completion::None if word.is_empty() => {}
            Completion::None => self.hint = Some(format!("nothing matches {word}")),
            Completion::Several(options) => self.hint = Some(options.join("  ")),
        }
    }
}
