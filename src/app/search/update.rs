//! Searching from `App` (`impl App`): `/search` asks the engine, its
//! answer shows the newest match, Enter / `n` and Shift+Enter / `N` step
//! while the line is empty, Ctrl+F fills the line in, leaving the channel
//! or Esc ends it. A match the window holds is scrolled to; one it does not
//! starts the window afresh there (`PageFrom::After`), and the view goes
//! there when `update` says that page came.

use crate::app::input::Action;
use crate::app::timeline::PAGE;
use crate::app::{App, Command};
use crate::net::history::{PageFrom, SearchRequest, SearchResults};
use crate::net::NetCommand;

use super::{Search, Step};

impl App {
    /// The search under way, if any.
    pub fn search(&self) -> Option<&Search> {
        self.search.current.as_ref()
    }

    /// `/search TEXT`: searches the active channel's history.
    pub(in crate::app) fn start_search(&mut self, query: String) -> Vec<Command> {
        let query = query.trim().to_string();
        if query.is_empty() {
            self.error("what should /search look for? Type /search and some text");
            return Vec::new();
        }
        self.search.generation += 1;
        let channel = self.channels.active().id.clone();
        let request = SearchRequest {
            generation: self.search.generation,
            room: channel.room().cloned(),
            logs: self.routing.audience.sources(&channel),
            query: query.clone(),
        };
        self.search.current = Some(Search {
            query,
            channel,
            generation: self.search.generation,
            matches: None,
            capped: false,
            current: 0,
            pending: false,
        });
        vec![Command::Net(NetCommand::Search(request))]
    }

    /// Ends the search (Esc, or leaving the channel).
    pub(in crate::app) fn end_search(&mut self) {
        self.search.current = None;
    }

    /// The engine's answer: the view goes to the newest match.
    pub(in crate::app) fn on_search_results(&mut self, results: SearchResults) {
        let Some(search) = self.search.current.as_mut() else {
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

    /// While a search is under way and the line is empty, Enter / `n` and
    /// Shift+Enter / `N` step through its matches. True when the key was
    /// such a step.
    pub(in crate::app) fn on_search_key(&mut self, action: Action) -> bool {
        if self.search.current.is_none() || !self.input.editor.is_empty() {
            return false;
        }
        let step = match action {
            Action::Submit | Action::Insert('n') => Step::Older,
            Action::Newline | Action::Insert('N') => Step::Newer,
            _ => return false,
        };
        self.step_search(step);
        true
    }

    /// Ctrl+F: `/search ` in the line, with the query of the search under
    /// way, unless something else is being typed.
    pub(in crate::app) fn fill_in_search(&mut self) {
        let again = self
            .search
            .current
            .as_ref()
            .map(|s| format!("/search {}", s.query));
        let editor = &mut self.input.editor;
        if editor.is_empty() || editor.text().starts_with("/search") {
            editor.set_text(&again.unwrap_or_else(|| "/search ".to_string()));
        } else {
            self.hint = Some("send or clear the line first, then Ctrl+F".into());
        }
    }

    /// Enter / `n` (older) and Shift+Enter / `N` (newer).
    fn step_search(&mut self, step: Step) {
        let Some(search) = self.search.current.as_mut() else {
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
        let Some(search) = &self.search.current else {
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
            if let Some(search) = self.search.current.as_mut() {
                search.pending = false;
            }
            return;
        }
        if let Some(target) = self.channels.get_mut(channel) {
            target.timeline.reset(false);
        }
        self.ask_page(channel, PageFrom::After(position.start_of_time()), PAGE);
        if let Some(search) = self.search.current.as_mut() {
            search.pending = true;
        }
    }

    /// After a page came into channel `channel`: when it brought the match
    /// being waited for, the view goes there.
    pub(in crate::app) fn search_page_arrived(&mut self, channel: usize) {
        let waiting = self
            .search
            .current
            .as_ref()
            .is_some_and(|s| s.pending && self.channels.index_of(&s.channel) == Some(channel));
        if waiting {
            self.show_match();
        }
    }
}
