//! What a timeline's window holds of its channel's history (`Window`), and
//! the sizes that bound it: at most `WINDOW` messages, fetched `PAGE` at a
//! time (docs/architecture.md §4, "History"). Plain state: `history.rs`
//! decides when pages are asked for and merged, the timeline trims.

use crate::domain::Position;

/// Most messages a timeline holds; past it, the end away from the view is
/// dropped (it stays on disk).
pub const WINDOW: usize = 1_500;
/// Messages one page asks for.
pub const PAGE: usize = 250;

/// What a timeline's messages are of its channel's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// It reaches the newest end: live messages are added.
    pub live: bool,
    /// Nothing older than its oldest message is left on disk.
    pub complete_below: bool,
    /// Pages asked for and not answered yet, towards older / newer.
    pub asked_older: bool,
    pub asked_newer: bool,
    /// Where the next page towards older / newer starts, when a page
    /// stopped short of a message (a long scan).
    pub older_from: Option<Position>,
    pub newer_from: Option<Position>,
    /// Pages of other generations are stale and dropped.
    pub generation: u64,
    /// The view goes to the top when the page asked for arrives (`Home`).
    pub to_top: bool,
    /// A page has come in: until then nothing is known of what lies
    /// outside, and every message is taken.
    pub paged: bool,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            live: true,
            complete_below: false,
            asked_older: false,
            asked_newer: false,
            older_from: None,
            newer_from: None,
            generation: 0,
            to_top: false,
            paged: false,
        }
    }
}
