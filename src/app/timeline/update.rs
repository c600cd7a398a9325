//! The timelines' side of `App` (`impl App`): the active timeline and its
//! rows for `ui`, lines from hychat in a channel, keeping a scrolled-up
//! view still when an entry lands below it, keeping every view inside its
//! content, and scrolling (PgUp/PgDn, and to an entry). Screen geometry
//! comes from `screen.rs`, rows from `layout.rs`.

use std::sync::Arc;

use crate::app::screen::page;
use crate::app::App;

use super::layout;
use super::{Row, Timeline};

impl App {
    /// The active channel's timeline.
    pub fn timeline(&self) -> &Timeline {
        &self.channels.active().timeline
    }

    /// The active timeline's rows at a width, as the renderer shows them.
    pub fn timeline_rows(&self, width: usize) -> Vec<Row> {
        layout::timeline_rows(self.timeline(), self.me.own, self.screen.offset, width)
    }

    /// The active timeline's rows at a width, laid out again only when
    /// something they show changed: what drawing uses.
    pub fn cached_timeline_rows(&self, width: usize) -> Arc<Vec<Row>> {
        self.rows_of(self.channels.active_index(), width)
    }

    /// The newest `count` rows of the active timeline at a width (what one
    /// screen needs).
    pub fn last_timeline_rows(&self, width: usize, count: usize) -> Vec<Row> {
        let rows =
            layout::cached_timeline_rows(self.timeline(), self.me.own, self.screen.offset, width);
        rows[rows.len().saturating_sub(count)..].to_vec()
    }

    pub(in crate::app) fn active_timeline(&mut self) -> &mut Timeline {
        &mut self.channels.active_mut().timeline
    }

    /// A line from hychat in the active channel.
    pub(in crate::app) fn info(&mut self, text: impl Into<String>) {
        self.system(self.channels.active_index(), text, false);
    }

    /// An error sentence in the active channel.
    pub(in crate::app) fn error(&mut self, text: impl Into<String>) {
        self.system(self.channels.active_index(), text, true);
    }

    /// A line from hychat in channel `channel`.
    pub(in crate::app) fn system(&mut self, channel: usize, text: impl Into<String>, error: bool) {
        let now = self.now;
        let Some(target) = self.channels.get_mut(channel) else {
            return;
        };
        let index = target.timeline.push_system(text, error, now);
        self.after_insert(channel, index);
    }

    pub(in crate::app) fn rows_of(&self, channel: usize, width: usize) -> Arc<Vec<Row>> {
        match self.channels.list().get(channel) {
            Some(c) => {
                layout::cached_timeline_rows(&c.timeline, self.me.own, self.screen.offset, width)
            }
            None => Default::default(),
        }
    }

    /// Keeps a scrolled-up view still when an entry lands below it.
    pub(in crate::app) fn after_insert(&mut self, channel: usize, index: usize) {
        if self
            .channels
            .list()
            .get(channel)
            .is_none_or(|c| c.timeline.is_at_bottom())
        {
            return;
        }
        let (width, _) = self.timeline_size();
        let rows = self.rows_of(channel, width);
        let own_rows = rows.iter().filter(|r| r.entry == index).count();
        let rows_after = rows.iter().filter(|r| r.entry > index).count();
        if let Some(c) = self.channels.get_mut(channel) {
            c.timeline.note_inserted(own_rows, rows_after);
        }
    }

    /// The timeline's width and height on the current screen.
    pub(in crate::app) fn timeline_size(&self) -> (usize, usize) {
        let areas = self.screen.areas(&self.input.editor);
        (
            usize::from(areas.timeline.width),
            usize::from(areas.timeline.height),
        )
    }

    pub(in crate::app) fn max_scroll(&self, channel: usize) -> usize {
        let (width, height) = self.timeline_size();
        self.rows_of(channel, width).len().saturating_sub(height)
    }

    pub(in crate::app) fn clamp_scroll(&mut self, channel: usize) {
        let max = self.max_scroll(channel);
        if let Some(c) = self.channels.get_mut(channel) {
            c.timeline.clamp_scroll(max);
        }
    }

    /// After a resize: every view back inside its content.
    pub(in crate::app) fn clamp_scrolls(&mut self) {
        for index in 0..self.channels.list().len() {
            self.clamp_scroll(index);
        }
    }

    /// PgUp: a screen towards older rows.
    pub(in crate::app) fn page_up(&mut self) {
        let (_, height) = self.timeline_size();
        let max = self.max_scroll(self.channels.active_index());
        self.active_timeline().scroll_up(page(height), max);
    }

    /// PgDn: a screen towards newer rows.
    pub(in crate::app) fn page_down(&mut self) {
        let (_, height) = self.timeline_size();
        self.active_timeline().scroll_down(page(height));
    }

    /// Scrolls so that entry `entry` of channel `channel` is in view, with
    /// a third of the screen below it for context.
    pub(in crate::app) fn scroll_to_entry(&mut self, channel: usize, entry: usize) {
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
