//! Where a message sorts in a channel: by time, then log, then seq. The
//! timeline orders its messages by it, and pages of history are asked for
//! before or after one.

use time::OffsetDateTime;

use super::keys::{LogKey, Seq};

/// A message's place in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub at: OffsetDateTime,
    pub log: LogKey,
    pub seq: Seq,
}

impl Position {
    /// A place just before every message at this one's time.
    pub fn start_of_time(&self) -> Position {
        Position {
            at: self.at,
            log: LogKey([0; 32]),
            seq: Seq(0),
        }
    }
}
