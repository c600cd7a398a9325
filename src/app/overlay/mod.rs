//! The popups drawn over everything (`Overlay`: the help, the share key,
//! the network pane) and `App`'s `overlay` (`Overlays`: which one is open
//! and how far it is scrolled), and where a popup of text sits on a screen.
//! `help.rs` is the help's content; the network pane's is
//! `network/pane.rs`. `update.rs` (`impl App`) opens, scrolls and closes
//! them.

pub mod help;
mod update;

use ratatui::layout::Rect;

/// A popup drawn over everything; Esc closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// The full share key, easy to copy.
    Key,
    /// This node's place on the network and every connection.
    Network,
}

/// The popup open, if any, and how far it is scrolled.
#[derive(Debug, Clone, Default)]
pub struct Overlays {
    open: Option<Overlay>,
    /// Rows the open popup is scrolled down.
    scroll: usize,
}

impl Overlays {
    /// Whether a popup is open (it takes every key).
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }
}

/// Widest a popup of text gets, borders included.
const POPUP_MAX_WIDTH: u16 = 80;

/// Where a popup of `line_count` lines of text (the help, the network
/// pane) goes on a screen: centred, at most `POPUP_MAX_WIDTH` wide, its
/// text inside the borders and a one-cell margin on each side.
pub fn popup_area(screen: Rect, line_count: usize) -> Rect {
    let width = screen.width.min(POPUP_MAX_WIDTH);
    let height = u16::try_from(line_count + 2)
        .unwrap_or(u16::MAX)
        .min(screen.height);
    Rect::new(
        screen.x + (screen.width - width) / 2,
        screen.y + (screen.height - height) / 2,
        width,
        height,
    )
}

/// Text width of a popup of text on a screen this wide.
pub fn text_width(screen_width: u16) -> usize {
    usize::from(screen_width.min(POPUP_MAX_WIDTH).saturating_sub(4)).max(1)
}
