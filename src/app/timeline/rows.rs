//! The rows a timeline is laid out into (`Row`: runs of text, each in a
//! `Tone`) and the cache of a timeline's last layout (`LayoutCache`). They
//! sit below both the timeline model, which keeps the cache, and its
//! layout (`layout.rs`), which fills it, so those two files never need
//! each other for them. Plain data: no layout, no styling.

use std::cell::RefCell;
use std::sync::Arc;

use crate::domain::LogKey;

/// How a piece of a timeline row should look; `ui` maps these to styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Time,
    /// `slot` is the nickname colour, below `layout::NICK_COLOR_SLOTS`.
    Nick {
        log: LogKey,
        own: bool,
        slot: usize,
    },
    Text {
        own: bool,
    },
    /// A block of a type other than chat-message.
    Other,
    Info,
    Error,
    Separator,
    /// The "new since you were here" line.
    Unread,
}

/// A run of text in one tone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub tone: Tone,
}

/// One screen row of the timeline, and the index of the entry it belongs
/// to (a day separator belongs to the entry under it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub segments: Vec<Segment>,
    pub entry: usize,
}

impl Row {
    /// The row as plain text, for tests and measuring.
    pub fn text(&self) -> String {
        self.segments.iter().map(|s| s.text.as_str()).collect()
    }
}

/// The rows of the last layout, and what they were laid out for: the
/// timeline's version and the width, own key and UTC offset of the view.
/// Layout is the costly part of a frame; it is redone only when one of
/// those changed. A clone starts empty.
#[derive(Debug, Default)]
pub struct LayoutCache(RefCell<Option<(LayoutKey, Arc<Vec<Row>>)>>);

/// What a layout depends on besides the entries.
pub type LayoutKey = (u64, usize, Option<LogKey>, time::UtcOffset);

impl Clone for LayoutCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl LayoutCache {
    /// The cached rows for `key`, or the ones `layout` makes (then kept).
    pub fn get_or(&self, key: LayoutKey, layout: impl FnOnce() -> Vec<Row>) -> Arc<Vec<Row>> {
        if let Some((cached, rows)) = &*self.0.borrow() {
            if *cached == key {
                return rows.clone();
            }
        }
        let rows = Arc::new(layout());
        *self.0.borrow_mut() = Some((key, rows.clone()));
        rows
    }
}
