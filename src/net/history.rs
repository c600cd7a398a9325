//! The boundary types of history paging: the chat asks for a page of a
//! channel's history (`NetCommand::LoadHistory`) and gets it back as
//! `NetEvent::History`. The engine reads pages from the logs' message
//! indexes off its own task (`log/history.rs`), so the chat holds only a
//! window of its history however long the logs grow (docs/architecture.md
//! §4, "History"). A search of a channel's history
//! (`NetCommand::Search`, answered by `NetEvent::SearchResults`) crosses
//! the same boundary.

pub use crate::domain::Position;
use crate::domain::{ChatMessage, LogKey, RoomName};

/// Which page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFrom {
    /// The newest messages.
    Newest,
    /// The oldest messages.
    Oldest,
    /// The messages just before this position.
    Before(Position),
    /// The messages just after this position.
    After(Position),
}

/// A page of one channel's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRequest {
    /// Echoed in the page, so the chat can drop pages it no longer wants.
    pub generation: u64,
    /// The channel: messages written in this room, or in none (home).
    pub room: Option<RoomName>,
    /// The logs the channel shows.
    pub logs: Vec<LogKey>,
    pub from: PageFrom,
    /// Most messages in the page.
    pub count: usize,
}

/// The answer to a `HistoryRequest`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    pub generation: u64,
    pub room: Option<RoomName>,
    pub from: PageFrom,
    /// Oldest first, each with its place in the channel.
    pub messages: Vec<(Position, ChatMessage)>,
    /// Nothing lies further in the page's direction.
    pub exhausted: bool,
    /// The last position looked at (matching or not): the next page in the
    /// same direction starts there. `None` when nothing was looked at.
    pub reached: Option<Position>,
}

/// Most matches one search returns: past it, the newest are kept and the
/// answer says it was capped.
pub const MAX_MATCHES: usize = 10_000;

/// A search of one channel's whole history, on disk: every message whose
/// text contains `query`, ignoring case.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// Echoed in the answer, so the chat can drop answers it no longer wants.
    pub generation: u64,
    /// The channel: messages written in this room, or in none (home).
    pub room: Option<RoomName>,
    /// The logs the channel shows.
    pub logs: Vec<LogKey>,
    pub query: String,
}

/// The answer to a `SearchRequest`.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub generation: u64,
    pub room: Option<RoomName>,
    pub query: String,
    /// Where each match sorts in the channel, oldest first (at most
    /// `MAX_MATCHES`, the newest ones).
    pub matches: Vec<Position>,
    /// More matched than `matches` holds.
    pub capped: bool,
}
