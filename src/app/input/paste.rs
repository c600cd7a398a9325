//! Pastes into the input box (`impl App`): a paste goes in whole, newlines
//! included; one of more than `PASTE_GUARD_LINES` lines waits there for
//! Enter (send it) or Esc (take it back out), and other keys only say so.

use crate::app::{App, Command};

use super::{Action, PendingPaste, PASTE_GUARD_LINES};

impl App {
    /// How many lines a long paste waiting for Enter or Esc has.
    pub fn paste_pending(&self) -> Option<usize> {
        self.input.paste.as_ref().map(|p| p.lines)
    }

    /// A paste goes into the input; one of more than `PASTE_GUARD_LINES`
    /// lines waits there for Enter or Esc.
    pub(in crate::app) fn paste_in(&mut self, text: &str) {
        let input = &mut self.input;
        let before = input.editor.clone();
        input.editor.insert_str(text);
        let lines = input.editor.text().trim_end_matches('\n').lines().count();
        if lines > PASTE_GUARD_LINES {
            let before = input.paste.take().map_or(before, |p| p.before);
            input.paste = Some(PendingPaste { lines, before });
        }
    }

    /// Keys while a long paste waits: Enter sends it, Esc takes it back out.
    pub(in crate::app) fn on_paste_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Submit => {
                self.input.paste = None;
                self.submit()
            }
            Action::Dismiss => {
                if let Some(paste) = self.input.paste.take() {
                    self.input.editor = paste.before;
                }
                Vec::new()
            }
            Action::Quit => self.quit(),
            _ => {
                let lines = self.input.paste.as_ref().map_or(0, |p| p.lines);
                self.hint = Some(format!("send {lines} lines? Enter sends, Esc cancels"));
                Vec::new()
            }
        }
    }
}
