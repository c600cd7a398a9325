//! Typing. `App`'s input box (`InputBox`): the line being typed and a long
//! paste waiting for Enter or Esc (the paste guard). Beside it:
//! - `action.rs`: what a key means (`Action`), apart from any state;
//! - `editor.rs`: the line editor (`Input`): text, cursor, the lines sent
//!   before, completing a word;
//! - `keys.rs` (`impl App`): where each key's action goes, and Tab
//!   completion's candidates;
//! - `paste.rs` (`impl App`): pastes into the box, and the guard on long ones.

pub mod action;
pub mod editor;
mod keys;
mod paste;

pub use action::Action;
pub use editor::{Completion, Input, InputLayout};

/// Pastes of more lines than this ask before they go out.
pub const PASTE_GUARD_LINES: usize = 5;

/// The input box: the line being typed, and a long paste waiting.
#[derive(Debug, Clone, Default)]
pub struct InputBox {
    pub(in crate::app) editor: Input,
    /// A long paste waiting for Enter (send) or Esc (take it back).
    paste: Option<PendingPaste>,
}

/// A paste of more than `PASTE_GUARD_LINES` lines, in the input box until
/// Enter sends it or Esc takes it back out.
#[derive(Debug, Clone)]
struct PendingPaste {
    /// Lines of the input with the paste in it.
    lines: usize,
    /// The input as it was before the paste.
    before: Input,
}

impl InputBox {
    /// Whether a long paste waits for Enter or Esc.
    pub fn paste_waiting(&self) -> bool {
        self.paste.is_some()
    }
}
