//! What the user has read of one channel, kept across restarts: where the
//! "new since you were here" line stands, when the channel was last looked
//! at, and which messages are still unread or mention the user. The chat
//! decides these (`app/channels/`); the engine stores them
//! (`net/store.rs`, `read.json`). Pure data.

use time::OffsetDateTime;

use super::keys::{LogKey, Seq};
use super::position::Position;
use super::room::RoomName;

/// Most unread messages remembered per channel; the count shown stops
/// growing there.
pub const MAX_REMEMBERED_UNREAD: usize = 10_000;

/// One channel's read state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadMark {
    /// The channel: a room, or `None` for home.
    pub room: Option<RoomName>,
    /// The newest message read: the line marks the first one after it.
    pub read_up_to: Option<Position>,
    /// When the channel was last looked at: only messages newer than this
    /// that arrive later count as unread.
    pub last_viewed: OffsetDateTime,
    /// Messages from others not read yet (at most `MAX_REMEMBERED_UNREAD`).
    pub unread: Vec<(LogKey, Seq)>,
    /// The unread messages that name the user.
    pub mentions: Vec<(LogKey, Seq)>,
}
