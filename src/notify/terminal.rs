//! The escape sequences the runner writes to the terminal between frames,
//! built as plain strings so they can be tested: the bell (BEL), the window
//! title (OSC 0, its text cleaned of every control character), and the
//! XTWINOPS title stack: the title is pushed when the TUI takes the terminal
//! and popped when it gives it back, so the title from before comes back,
//! whatever was set in between. Terminals without a title stack ignore both.
//! Pure.

use crate::domain::text::sanitize_line;

/// The terminal bell.
pub const BELL: &str = "\x07";
/// XTWINOPS: save the window title (and icon name) on the terminal's stack.
pub const PUSH_TITLE: &str = "\x1b[22;0t";
/// XTWINOPS: restore the window title (and icon name) last pushed.
pub const POP_TITLE: &str = "\x1b[23;0t";
/// A title longer than this is cut; a title bar shows far less.
pub const MAX_TITLE_CHARS: usize = 120;

/// OSC 0 (icon name and window title) with `text` as one line of printable
/// characters: no escape, BEL or other control can end the sequence early
/// or start another.
pub fn set_title(text: &str) -> String {
    format!("\x1b]0;{}\x07", sanitize_line(text, MAX_TITLE_CHARS))
}

/// What a batch of the app's commands leaves for the terminal, written in
/// one piece before the next frame is drawn (never while one is half
/// drawn).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BetweenFrames {
    /// Ring the bell once, however many notices the batch held.
    pub bell: bool,
    /// The newest title of the batch.
    pub title: Option<String>,
}

impl BetweenFrames {
    /// The bytes to write; empty when there is nothing to do. Taking them
    /// leaves `self` empty.
    pub fn take(&mut self) -> String {
        let mut out = String::new();
        if let Some(title) = self.title.take() {
            out.push_str(&set_title(&title));
        }
        if std::mem::take(&mut self.bell) {
            out.push_str(BELL);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_osc_0_ended_by_bel() {
        assert_eq!(set_title("(3) hychat"), "\x1b]0;(3) hychat\x07");
        assert_eq!(set_title("hychat"), "\x1b]0;hychat\x07");
    }

    #[test]
    fn a_title_cannot_end_or_start_a_sequence() {
        // ESC, BEL, the C1 string terminator, newlines, direction overrides.
        let title = set_title("a\x1b]0;evil\x07b\u{9c}c\nd\u{202e}e");
        assert_eq!(title, "\x1b]0;a]0;evilbc de\x07");
        let inner = &title[4..title.len() - 1];
        assert!(!inner.chars().any(char::is_control), "{title:?}");
    }

    #[test]
    fn a_long_title_is_cut() {
        let long = "é".repeat(500);
        let title = set_title(&long);
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS + 5);
    }

    #[test]
    fn the_title_stack_sequences_are_xtwinops_22_and_23() {
        assert_eq!(PUSH_TITLE.as_bytes(), b"\x1b[22;0t");
        assert_eq!(POP_TITLE.as_bytes(), b"\x1b[23;0t");
        assert_eq!(BELL.as_bytes(), b"\x07");
    }

    #[test]
    fn a_batch_writes_its_newest_title_and_one_bell() {
        let mut pending = BetweenFrames::default();
        assert_eq!(pending.take(), "");
        pending.bell = true;
        pending.title = Some("(1) hychat".into());
        pending.title = Some("(2) hychat".into());
        assert_eq!(pending.take(), "\x1b]0;(2) hychat\x07\x07");
        assert_eq!(pending, BetweenFrames::default());
        assert_eq!(pending.take(), "");
        pending.bell = true;
        assert_eq!(pending.take(), BELL);
    }
}
