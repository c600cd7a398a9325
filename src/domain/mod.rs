//! The shared vocabulary every layer speaks: the identifiers (keys, block
//! indexes, connection keys, sessions), the chat message with its block codec
//! and limits, a message's place in a channel, what was read of a channel, room names and members, and
//! the text-cleaning rule. Pure: no
//! IO, no async, and nothing here panics on input.

pub mod keys;
pub mod message;
pub mod position;
pub mod read;
pub mod room;
pub mod text;

pub use keys::{ConnectionKey, DiscoveryKey, KeyParseError, LogKey, OwnLogRefusal, Seq, SessionId};
pub use message::ChatMessage;
pub use position::Position;
pub use read::ReadMark;
pub use room::{Member, RoomEntry, RoomName, RoomNameError};
