//! Group commit of our own appends: which queued commands go into one batch
//! (one journal write and sync, one hypercore append), and the block each
//! append becomes. Only what is already queued joins a batch: nothing waits
//! for more, so a lone append is written at once. Pure; the engine does the
//! IO (`Engine::append_batch`).

use time::OffsetDateTime;

use crate::domain::message::{ChatMessage, MAX_TEXT_CHARS};
use crate::domain::room::RoomName;
use crate::net::types::NetCommand;

/// Most appends written by one batch.
pub(crate) const MAX_BATCH: usize = 4096;

/// One append as the user asked for it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    pub text: String,
    pub room: Option<RoomName>,
}

impl Draft {
    /// The block this append writes, or `None` for a blank line (nothing is
    /// written). Text past `MAX_TEXT_CHARS` is cut off.
    pub(crate) fn block(&self, nickname: &str, now: OffsetDateTime) -> Option<Vec<u8>> {
        let text: String = self.text.chars().take(MAX_TEXT_CHARS).collect();
        if text.trim().is_empty() {
            return None;
        }
        let mut message = ChatMessage::new_chat(nickname, &text, now);
        message.room = self.room.as_ref().map(|room| room.to_string());
        Some(message.encode())
    }
}

/// The appends of one batch, in queue order, and the command that ended it
/// when it was not an append (to handle right after the batch).
#[derive(Debug, PartialEq)]
pub(crate) struct Gathered {
    pub drafts: Vec<Draft>,
    pub after: Option<NetCommand>,
}

/// Gathers a batch: `first`, then the appends `queued` yields, up to `max`
/// in all. Stops at the first command that is not an append, which is
/// returned, or when `queued` has nothing more (the queue is empty).
pub(crate) fn gather(
    first: Draft,
    mut queued: impl FnMut() -> Option<NetCommand>,
    max: usize,
) -> Gathered {
    let mut drafts = vec![first];
    while drafts.len() < max {
        match queued() {
            Some(NetCommand::Append { text, room }) => drafts.push(Draft { text, room }),
            Some(other) => {
                return Gathered {
                    drafts,
                    after: Some(other),
                }
            }
            None => break,
        }
    }
    Gathered {
        drafts,
        after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::LogKey;
    use time::macros::datetime;

    fn append(text: &str) -> NetCommand {
        NetCommand::Append {
            text: text.into(),
            room: None,
        }
    }

    fn draft(text: &str) -> Draft {
        Draft {
            text: text.into(),
            room: None,
        }
    }

    /// `gather` over a queue held in a vector; returns what is left queued.
    fn gather_from(queue: Vec<NetCommand>, max: usize) -> (Gathered, Vec<NetCommand>) {
        let mut queue = queue.into_iter();
        let gathered = gather(draft("first"), || queue.next(), max);
        (gathered, queue.collect())
    }

    #[test]
    fn a_lone_append_is_a_batch_of_one() {
        let (gathered, left) = gather_from(vec![], MAX_BATCH);
        assert_eq!(gathered.drafts, vec![draft("first")]);
        assert_eq!(gathered.after, None);
        assert!(left.is_empty());
    }

    #[test]
    fn queued_appends_join_the_batch_in_order() {
        let (gathered, left) = gather_from(vec![append("a"), append("b")], MAX_BATCH);
        assert_eq!(
            gathered.drafts,
            vec![draft("first"), draft("a"), draft("b")]
        );
        assert_eq!(gathered.after, None);
        assert!(left.is_empty());
    }

    #[test]
    fn another_command_ends_the_batch_and_comes_back_to_be_handled_next() {
        let unfollow = NetCommand::Unfollow {
            key: LogKey([7; 32]),
        };
        let (gathered, left) =
            gather_from(vec![append("a"), unfollow.clone(), append("b")], MAX_BATCH);
        assert_eq!(gathered.drafts, vec![draft("first"), draft("a")]);
        assert_eq!(gathered.after, Some(unfollow));
        assert_eq!(left, vec![append("b")], "the rest stays queued");
    }

    #[test]
    fn shutdown_ends_the_batch_too() {
        let (gathered, _) = gather_from(vec![append("a"), NetCommand::Shutdown], MAX_BATCH);
        assert_eq!(gathered.drafts.len(), 2);
        assert_eq!(gathered.after, Some(NetCommand::Shutdown));
    }

    #[test]
    fn a_batch_holds_at_most_max_appends() {
        let queue: Vec<NetCommand> = (0..10).map(|i| append(&i.to_string())).collect();
        let (gathered, left) = gather_from(queue, 4);
        assert_eq!(
            gathered.drafts,
            vec![draft("first"), draft("0"), draft("1"), draft("2")]
        );
        assert_eq!(gathered.after, None);
        assert_eq!(left.len(), 7, "nothing past the bound is taken");
    }

    #[test]
    fn blank_appends_write_nothing_and_long_ones_are_cut() {
        let now = datetime!(2026-11-27 12:00 UTC);
        assert_eq!(draft(" \t ").block("ann", now), None);
        let long = "x".repeat(MAX_TEXT_CHARS + 10);
        let block = draft(&long).block("ann", now).unwrap();
        let message = ChatMessage::decode(&block).unwrap();
        assert_eq!(message.text.chars().count(), MAX_TEXT_CHARS);
        assert_eq!(message.nickname, "ann");
        assert_eq!(message.timestamp, Some(now));
    }

    #[test]
    fn a_room_append_names_its_room() {
        let room = RoomName::parse("streams-day").unwrap();
        let draft = Draft {
            text: "hi".into(),
            room: Some(room),
        };
        let block = draft.block("ann", datetime!(2026-11-27 12:00 UTC)).unwrap();
        let message = ChatMessage::decode(&block).unwrap();
        assert_eq!(message.room.as_deref(), Some("streams-day"));
    }
}
