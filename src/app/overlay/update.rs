//! The popups from `App` (`impl App`): opening one (from the top), the keys
//! while one is open (Esc, Enter or `q` close; F1 and F2 switch; the
//! arrows, PgUp/PgDn, Home and End scroll), and keeping the scroll inside
//! the popup when the screen changes.

use crate::app::input::Action;
use crate::app::network::pane;
use crate::app::screen::page;
use crate::app::{App, Command};

use super::{help, Overlay};

impl App {
    pub fn overlay(&self) -> Option<Overlay> {
        self.overlay.open
    }

    /// Rows the help popup is scrolled down.
    pub fn overlay_scroll(&self) -> usize {
        self.overlay.scroll
    }

    pub(in crate::app) fn open(&mut self, overlay: Overlay) {
        self.overlay.open = Some(overlay);
        self.overlay.scroll = 0;
    }

    /// Keys while a popup is open.
    pub(in crate::app) fn on_overlay_action(&mut self, action: Action) -> Vec<Command> {
        let max = self.overlay_max_scroll();
        let page = page(max.max(1));
        let scroll = &mut self.overlay.scroll;
        match action {
            Action::Dismiss | Action::Submit | Action::Insert('q') => self.overlay.open = None,
            // The key that opened the network pane closes it again; F1
            // and F2 switch between the popups.
            Action::Network if self.overlay.open == Some(Overlay::Network) => {
                self.overlay.open = None
            }
            Action::Network => self.open(Overlay::Network),
            Action::Help if self.overlay.open != Some(Overlay::Help) => self.open(Overlay::Help),
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

    /// After a resize: the popup's scroll inside what it can scroll.
    pub(in crate::app) fn clamp_overlay_scroll(&mut self) {
        self.overlay.scroll = self.overlay.scroll.min(self.overlay_max_scroll());
    }

    /// Rows the open popup can scroll on the current screen.
    fn overlay_max_scroll(&self) -> usize {
        let screen = self.screen.rect();
        match self.overlay.open {
            Some(Overlay::Help) => help::max_scroll(screen),
            Some(Overlay::Network) => pane::max_scroll(self, screen),
            Some(Overlay::Key) | None => 0,
        }
    }
}
