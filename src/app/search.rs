//! Searching a channel's history: `/search TEXT` (Ctrl+F fills it in) asks
//! the engine for every match on disk (`NetCommand::Search`); the answer is
//! a list of positions, and the view jumps from match to match, newest
//! first (Enter or `n` goes older, Shift+Enter or `N` newer), reading the
//! page of history around a match the window does not hold. Esc ends the
//! search and returns to the newest end. Pure decisions over the app's
//! state; the highlight is drawn by `ui::timeline` from `App::search`.

use crate::domain::Position;
use crate::net::history::{PageFrom, SearchRequest, SearchResults};
use crate::net::NetCommand;

use super::history::PAGE;
use super::routing::ChannelId;
use super::{App, Command};

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
pub(super) enum Step {
    Older,
    Newer,
}

impl App {
    /// The search under way, if any.
    pub fn search(&self) -> Option<&Search> {
        self.search.as_ref()
    }

    /// `/search TEXT`: searches the active channel's history.
    pub(super) fn start_search(&mut self, query: String) -> Vec<Command> {
        let query = query.trim().to_string();
        if query.is_empty() {
            self.error("what should /search look for? Type /search and some text");
            return Vec::new();
        }
        self.search_generation += 1;
        let channel = self.channels.active().id.clone();
        let request = SearchRequest {
            generation: self.search_generation,
            room: channel.room().cloned(),
            logs: self.audience.sources(&channel),
            query: query.clone(),
        };
        self.search = Some(Search {
            query,
            channel,
            generation: self.search_generation,
            matches: None,
            capped: false,
            current: 0,
            pending: false,
        });
        vec![Command::Net(NetCommand::Search(request))]
    }

    /// Ends the search (Esc, or leaving the channel).
    pub(super) fn end_search(&mut self) {
        self.search = None;
    }

    /// The engine's answer: the view goes to the newest match.
    pub(super) fn on_search_results(&mut self, results: SearchResults) {
        let Some(search) = self.search.as_mut() else {
            return;
        };
        if search.generation != results.generation {
            return;
        }
        search.matches = Some(results.matches);
        search.capped = results.capped;
        search.current = 0;
        self.show_match();
    }

    /// Enter / `n` (older) and Shift+Enter / `N` (newer).
    pub(super) fn step_search(&mut self, step: Step) {
        let Some(search) = self.search.as_mut() else {
            return;
        };
        let count = search.count();
        if count == 0 {
            return;
        }
        let next = match step {
            Step::Older => search.current + 1,
            Step::Newer => search.current.wrapping_sub(1),
        };
        if next >= count {
            self.hint = Some(match step {
                Step::Older => "that is the oldest match".to_string(),
                Step::Newer => "that is the newest match".to_string(),
            });
            return;
        }
        search.current = next;
        self.show_match();
    }

    /// Brings the current match into view: scrolls to it when the window
    /// holds it, else starts the window afresh at it.
    fn show_match(&mut self) {
        let Some(search) = &self.search else {
            return;
        };
        let Some(position) = search.current() else {
            return;
        };
        let Some(channel) = self.channels.index_of(&search.channel) else {
            return;
        };
        let held = self.channels.list()[channel].timeline.index_of(position);
        if let Some(entry) = held {
            self.scroll_to_entry(channel, entry);
            if let Some(search) = self.search.as_mut() {
                search.pending = false;
            }
            return;
        }
        if let Some(target) = self.channels.get_mut(channel) {
            target.timeline.reset(false);
        }
        self.ask_page(channel, PageFrom::After(position.start_of_time()), PAGE);
        if let Some(search) = self.search.as_mut() {
            search.pending = true;
        }
    }

    /// After a page came into channel `channel`: when it brought the match
    /// being waited for, the view goes there.
    pub(super) fn search_page_arrived(&mut self, channel: usize) {
        let waiting = self
            .search
            .as_ref()
            .is_some_and(|s| s.pending && self.channels.index_of(&s.channel) == Some(channel));
        if waiting {
            self.show_match();
        }
    }

    /// Scrolls so that entry `entry` of channel `channel` is in view, with
    /// a third of the screen below it for context.
    fn scroll_to_entry(&mut self, channel: usize, entry: usize) {
        let (width, height) = self.timeline_size();
        let rows = self.rows_of(channel, width);
        let Some(last) = rows.iter().rposition(|r| r.entry == entry) else {
            return;
        };
        let first = rows.iter().position(|r| r.entry == entry).unwrap_or(last);
        let span = last - first + 1;
        let below = (height / 3).min(height.saturating_sub(span));
        let bottom = (last + below).min(rows.len() - 1);
        if let Some(target) = self.channels.get_mut(channel) {
            target.timeline.set_scroll(rows.len() - 1 - bottom);
        }
        self.clamp_scroll(channel);
    }
}
