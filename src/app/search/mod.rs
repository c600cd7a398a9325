//! Searching a channel's history: `/search TEXT` (Ctrl+F fills it in) asks
//! the engine for every match on disk (`NetCommand::Search`); the answer is
//! a list of positions, and the view jumps from match to match, newest
//! first (Enter or `n` goes older, Shift+Enter or `N` newer), reading the
//! page of history around a match the window does not hold. Esc ends the
//! search and returns to the newest end. This file: `App`'s `search`
//! (`SearchState`: the search under way and the number of the last one
//! asked for) and where a search stands in its matches (`Search`);
//! `update.rs` (`impl App`) makes the decisions. The highlight is drawn by
//! `ui::timeline` from `App::search`.

mod update;

use crate::app::channels::ChannelId;
use crate::domain::Position;

/// The search under way, and the number of the last one asked for.
#[derive(Debug, Clone, Default)]
pub struct SearchState {
    /// The search under way, if any.
    current: Option<Search>,
    /// Numbers the searches, so an answer to an older one is dropped.
    generation: u64,
}

/// A search of one channel and where the view stands in its matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub query: String,
    pub channel: ChannelId,
    generation: u64,
    /// Oldest first; `None` while the engine searches.
    matches: Option<Vec<Position>>,
    /// More matched than the engine returned (the oldest are left out).
    capped: bool,
    /// The match shown, counted from the newest (0).
    current: usize,
    /// The page holding the current match was asked for and is awaited.
    pending: bool,
}

impl Search {
    /// The match shown, if any.
    pub fn current(&self) -> Option<Position> {
        let matches = self.matches.as_ref()?;
        let index = matches.len().checked_sub(1 + self.current)?;
        matches.get(index).copied()
    }

    /// "searching…", "no match", "3 of 17", or "3 of 10000+" when capped.
    pub fn counter(&self) -> String {
        match &self.matches {
            None => "searching…".to_string(),
            Some(matches) if matches.is_empty() => "no match".to_string(),
            Some(matches) => {
                let more = if self.capped { "+" } else { "" };
                format!("{} of {}{more}", self.current + 1, matches.len())
            }
        }
    }

    fn count(&self) -> usize {
        self.matches.as_ref().map_or(0, Vec::len)
    }
}

/// Which way a step goes through the matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Older,
    Newer,
}
