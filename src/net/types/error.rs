//! What an engine command can fail with, sent to the chat and the headless
//! commands as it is (`NetEvent::Error`). The variant says what failed and
//! for which log or room, so a caller can tell failures apart without
//! reading their text (`hychat tail` knows its own log's refusal by its
//! key); the sentence a user reads is made from those fields by `Display`,
//! where the edge shows it. A cause from below (the disk, hypercore) crosses
//! as its sentence, `reason`, since events are cloned and compared.

use crate::domain::keys::LogKey;
use crate::domain::room::RoomName;
use crate::domain::OwnLogRefusal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("cannot open the log {}: {reason}", .key.short())]
    OpenLog { key: LogKey, reason: String },
    #[error("could not write {} to your log: {reason}", messages(*.count))]
    Write { count: usize, reason: String },
    #[error(transparent)]
    OwnLog(#[from] OwnLogRefusal),
    /// Saving follows, rooms, mutes or the nickname failed.
    #[error("{reason}")]
    Save { reason: String },
    #[error("you do not follow {}", .0.short())]
    NotFollowed(LogKey),
    #[error("a nickname needs at least one visible character")]
    EmptyNickname,
    #[error("you are not in the room {0}")]
    NotInRoom(RoomName),
    #[error("{} is already muted", .0.short())]
    AlreadyMuted(LogKey),
    #[error("{} is not muted", .0.short())]
    NotMuted(LogKey),
    /// The engine's task ended: nothing more will come.
    #[error("the network engine stopped")]
    Stopped,
}

impl From<crate::net::store::StoreError> for EngineError {
    fn from(e: crate::net::store::StoreError) -> Self {
        EngineError::Save {
            reason: e.to_string(),
        }
    }
}

/// "the message", or "N messages".
fn messages(count: usize) -> String {
    match count {
        1 => "the message".to_string(),
        n => format!("{n} messages"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_reads_as_one_sentence_naming_what_failed() {
        let key = LogKey([0xab; 32]);
        let room = RoomName::parse("streams-day").unwrap();
        let table = [
            (
                EngineError::OpenLog {
                    key,
                    reason: "disk full".into(),
                },
                format!("cannot open the log {}: disk full", key.short()),
            ),
            (
                EngineError::Write {
                    count: 1,
                    reason: "disk full".into(),
                },
                "could not write the message to your log: disk full".to_string(),
            ),
            (
                EngineError::Write {
                    count: 3,
                    reason: "disk full".into(),
                },
                "could not write 3 messages to your log: disk full".to_string(),
            ),
            (
                EngineError::NotInRoom(room),
                "you are not in the room streams-day".to_string(),
            ),
            (
                EngineError::AlreadyMuted(key),
                format!("{} is already muted", key.short()),
            ),
            (
                EngineError::OwnLog(OwnLogRefusal::Mute),
                OwnLogRefusal::Mute.to_string(),
            ),
        ];
        for (error, sentence) in table {
            assert_eq!(error.to_string(), sentence);
        }
    }
}
