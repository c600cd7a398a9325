//! Paging a channel's history through its timeline's window: when the view
//! nears the top (or, away from the newest end, the bottom) of what the
//! window holds, a page is asked of the engine (`NetCommand::LoadHistory`);
//! pages that come back are merged in with the view kept still, and the
//! window is trimmed at the end away from the view. Jumping to the top or
//! the bottom starts the window afresh there. Pure decisions over the
//! app's state (`impl App`; docs/architecture.md §4, "History"). A page
//! merged in names its channel back to `update`, which tells the search
//! (a page may bring the match it waits for): paging knows nothing of it.

use crate::app::channels::ChannelId;
use crate::app::{App, Command};
use crate::domain::LogKey;
use crate::net::history::{HistoryPage, HistoryRequest, PageFrom};
use crate::net::NetCommand;

use super::{Timeline, PAGE, WINDOW};

impl App {
    /// Asks for the pages the active channel's view needs: older ones when
    /// less than a screen of rows is left above it, newer ones when the
    /// window does not reach the newest end and less than a screen is left
    /// below it.
    pub(in crate::app) fn want_pages(&mut self) {
        let channel = self.channels.active_index();
        let (width, height) = self.timeline_size();
        let timeline = &self.channels.active().timeline;
        let window = timeline.window.clone();
        let scroll = timeline.scroll();
        // A window started afresh at a place (a search's match) waits for
        // its first page before it grows older.
        let placing = !window.paged && window.asked_newer;
        if !window.complete_below && !window.asked_older && !placing {
            let need = scroll + 2 * height.max(1);
            let rows = self.rows_of(channel, width).len();
            if rows < need {
                let from = match window.older_from.or_else(|| timeline.oldest_position()) {
                    Some(position) => PageFrom::Before(position),
                    None => PageFrom::Newest,
                };
                self.ask_page(channel, from, PAGE);
            }
        }
        let timeline = &self.channels.active().timeline;
        if !window.live && !window.asked_newer && scroll < height.max(1) {
            let from = match window.newer_from.or_else(|| timeline.newest_position()) {
                Some(position) => PageFrom::After(position),
                None => PageFrom::Oldest,
            };
            self.ask_page(channel, from, PAGE);
        }
    }

    /// Asks for a page of channel `channel`, marking it asked.
    pub(in crate::app) fn ask_page(&mut self, channel: usize, from: PageFrom, count: usize) {
        let Some(target) = self.channels.list().get(channel) else {
            return;
        };
        let request = HistoryRequest {
            generation: target.timeline.window.generation,
            room: target.id.room().cloned(),
            logs: self.routing.audience.sources(&target.id),
            from,
            count,
        };
        if let Some(target) = self.channels.get_mut(channel) {
            match from {
                PageFrom::Newest | PageFrom::Before(_) => target.timeline.window.asked_older = true,
                PageFrom::Oldest | PageFrom::After(_) => target.timeline.window.asked_newer = true,
            }
        }
        self.outbox
            .push(Command::Net(NetCommand::LoadHistory(request)));
    }

    /// After the audience changed: reads the window's stretch of history
    /// again for the channels `log` shows in (all when `None`), so messages
    /// that now belong there fill in where they sort.
    pub(in crate::app) fn refill(&mut self, log: Option<LogKey>) {
        for channel in 0..self.channels.list().len() {
            let target = &self.channels.list()[channel];
            if log.is_some_and(|key| !self.routing.audience.sources(&target.id).contains(&key)) {
                continue;
            }
            match target.timeline.oldest_position() {
                Some(oldest) => {
                    let from = PageFrom::After(oldest.start_of_time());
                    self.ask_page(channel, from, WINDOW);
                }
                None => {
                    if let Some(target) = self.channels.get_mut(channel) {
                        target.timeline.window.asked_older = false;
                    }
                }
            }
        }
    }

    /// `Esc`, `End`, sending: back to the newest end, afresh when the
    /// window has left it.
    pub(in crate::app) fn jump_to_bottom(&mut self) {
        let timeline = &mut self.channels.active_mut().timeline;
        if !timeline.window.live {
            timeline.reset(true);
        }
        timeline.scroll_to_bottom();
    }

    /// `Home`: to the oldest message, afresh when the window does not
    /// reach it.
    pub(in crate::app) fn jump_to_top(&mut self) {
        let channel = self.channels.active_index();
        let window = &self.channels.active().timeline.window;
        // Before any page, the window is what arrived live: scroll in it.
        if window.paged && !window.complete_below {
            let timeline = &mut self.channels.active_mut().timeline;
            timeline.reset(false);
            timeline.window.complete_below = true;
            timeline.window.to_top = true;
            self.ask_page(channel, PageFrom::Oldest, PAGE);
            return;
        }
        let max = self.max_scroll(channel);
        self.channels.active_mut().timeline.scroll_up(max, max);
    }

    /// Merges a page in, keeping the view still, and trims the window at
    /// the end away from the view. Returns the channel that took it, `None`
    /// when the page was for no channel or stale.
    pub(in crate::app) fn on_history(&mut self, page: HistoryPage) -> Option<usize> {
        let id = match &page.room {
            Some(room) => ChannelId::Room(room.clone()),
            None => ChannelId::Home,
        };
        let channel = self.channels.index_of(&id)?;
        if self.channels.list()[channel].timeline.window.generation != page.generation {
            return None;
        }
        let towards_older = matches!(page.from, PageFrom::Newest | PageFrom::Before(_));
        for (position, message) in &page.messages {
            self.network
                .peers
                .saw_nickname(&position.log, position.seq, &message.nickname);
            self.routing
                .archive
                .insert(position.log, position.seq, message);
        }
        let audience = &self.routing.audience;
        let messages: Vec<_> = page
            .messages
            .into_iter()
            .filter(|(p, m)| audience.destination(&p.log, m.room.as_deref()).as_ref() == Some(&id))
            .collect();
        self.anchored(channel, |timeline| {
            for (position, message) in messages {
                timeline.insert_at(position, message);
            }
            let window = &mut timeline.window;
            window.paged = true;
            if towards_older {
                window.asked_older = false;
                window.complete_below |= page.exhausted;
                window.older_from = page.reached.filter(|_| !page.exhausted);
            } else {
                window.asked_newer = false;
                window.live |= page.exhausted;
                window.newer_from = page.reached.filter(|_| !page.exhausted);
            }
            timeline.trim(towards_older);
        });
        let to_top = self
            .channels
            .get_mut(channel)
            .is_some_and(|c| std::mem::take(&mut c.timeline.window.to_top));
        if to_top {
            let max = self.max_scroll(channel);
            if let Some(target) = self.channels.get_mut(channel) {
                target.timeline.scroll_up(max, max);
            }
        }
        Some(channel)
    }

    /// Applies `change` to a channel's timeline so that the row at the
    /// bottom of the view stays where it is (when the view follows the
    /// newest end, it keeps following it).
    pub(in crate::app) fn anchored(&mut self, channel: usize, change: impl FnOnce(&mut Timeline)) {
        let Some(target) = self.channels.list().get(channel) else {
            return;
        };
        let (width, _) = self.timeline_size();
        let scroll = target.timeline.scroll();
        let anchor = if scroll == 0 {
            None
        } else {
            let rows = self.rows_of(channel, width);
            let bottom = rows.len().checked_sub(1 + scroll);
            bottom.and_then(|row| {
                let entry = rows[row].entry;
                let arrival = target.timeline.entries().get(entry)?.arrival;
                let below_in_entry = rows[row + 1..]
                    .iter()
                    .take_while(|r| r.entry == entry)
                    .count();
                Some((arrival, below_in_entry))
            })
        };
        if let Some(target) = self.channels.get_mut(channel) {
            change(&mut target.timeline);
        }
        if let Some((arrival, below_in_entry)) = anchor {
            let rows = self.rows_of(channel, width);
            let entries = self.channels.list()[channel].timeline.entries();
            let last = rows
                .iter()
                .rposition(|r| entries.get(r.entry).is_some_and(|e| e.arrival == arrival));
            if let (Some(last), Some(target)) = (last, self.channels.get_mut(channel)) {
                let bottom = last.saturating_sub(below_in_entry);
                target.timeline.set_scroll(rows.len() - 1 - bottom);
            }
        }
        self.clamp_scroll(channel);
    }
}
