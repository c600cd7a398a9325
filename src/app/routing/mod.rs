//! Which view a delivered message belongs in, and what changes that.
//! `App`'s `routing` (`Routing`): who is who (`Audience`, in
//! `audience.rs`), the archive of recent blocks to rebuild the views from
//! (`Archive`, in `archive.rs`), and a room asked for but not joined yet.
//! - `place.rs` (`impl App`): a delivered block into the view it belongs
//!   in, counted as unread there; every view again when the audience changes;
//! - `changes.rs` (`impl App`): what changes the audience: the room, mute
//!   and member commands and the engine's answers, follows and unfollows.

pub mod archive;
pub mod audience;
mod changes;
mod place;

use crate::domain::RoomName;

pub use archive::{Archive, ARCHIVE_CAP};
pub use audience::Audience;

/// Who is who, what was delivered lately, and a room asked for.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// Who is who for routing: own, follows, mutes, room members.
    pub(in crate::app) audience: Audience,
    /// Every block delivered, so views can be rebuilt when the audience changes.
    pub(in crate::app) archive: Archive,
    /// A room asked for with `/join` or `--room`: entered once joined.
    pending_join: Option<RoomName>,
}
