//! Reading a storage directory without its lock, beside the hychat that
//! holds it (the chat, `seed`, `tail`): the own log's key, the follow list,
//! and a log's messages as its index holds them and then as they are added.
//! Nothing here creates, changes or locks a file, so these reads never get
//! in that process's way. They may catch it mid-write: a line it is still
//! writing is read the next time, and the JSON files and the key pair file
//! are only ever replaced whole.

use std::io;
use std::path::{Path, PathBuf};

use crate::domain::{ChatMessage, LogKey, Seq};
use crate::net::engine::config::NetError;
use crate::net::log::index::IndexFollower;
use crate::net::log::own::read_own_key;
use crate::net::store::{log_dir_in, own_dir_in, read_follows};
use crate::net::store::{FollowEntry, StoreError};

/// A storage directory, read without its lock.
#[derive(Debug, Clone)]
pub struct StorageReader {
    root: PathBuf,
}

impl StorageReader {
    /// Touches nothing: a directory that does not exist reads as empty.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// The own log's key as its files hold it; `None` when this storage
    /// has no own log yet (hychat makes one at its first start).
    pub fn own_key(&self) -> Result<Option<LogKey>, NetError> {
        let dir = own_dir_in(&self.root);
        read_own_key(&dir).map_err(|e| NetError::OpenLog {
            path: dir,
            reason: e.to_string(),
        })
    }

    /// The follow list.
    pub fn follows(&self) -> Result<Vec<FollowEntry>, StoreError> {
        read_follows(&self.root)
    }

    /// The messages this storage holds of the log `key`, which is its own
    /// log when it is `own`.
    pub fn messages(&self, key: LogKey, own: Option<LogKey>) -> LogMessages {
        let dir = if own == Some(key) {
            own_dir_in(&self.root)
        } else {
            log_dir_in(&self.root, &key)
        };
        LogMessages {
            index: IndexFollower::new(&dir),
        }
    }
}

/// One log's messages in its index, read from the start and then again as
/// the process holding the storage adds to it.
#[derive(Debug)]
pub struct LogMessages {
    index: IndexFollower,
}

impl LogMessages {
    /// Hands `each` every message added since the last call (all of them
    /// at the first), in the order they were saved, which is not always
    /// the order of their seqs (a new follow saves the newest first). A
    /// seq can come again (a block delivered twice); blocks that are not
    /// chat messages are left out.
    pub fn read_new(&mut self, mut each: impl FnMut(Seq, ChatMessage)) -> io::Result<()> {
        self.index.read_new(|entry| {
            if let Some(message) = entry.message {
                each(Seq(entry.seq), message);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::log::index::LogIndex;
    use crate::net::store::Store;

    #[tokio::test]
    async fn everything_reads_while_another_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let reader = StorageReader::new(&dir.path().join("storage"));
        assert!(reader.own_key().unwrap().is_none());
        assert!(reader.follows().unwrap().is_empty());
        assert!(
            !dir.path().join("storage").exists(),
            "reading creates nothing"
        );

        let store = Store::open(&dir.path().join("storage")).unwrap();
        let (core, _journal) = crate::net::log::own::open_own(&store.own_dir())
            .await
            .unwrap();
        let own = crate::net::log::core_key(&core);
        let friend = LogKey([7; 32]);
        store
            .save_follows(&[FollowEntry {
                key: friend,
                name: Some("ann".into()),
            }])
            .unwrap();
        let at = time::macros::datetime!(2026-11-27 10:00 UTC);
        let (mut index, _) = LogIndex::open(&store.own_dir()).unwrap();
        index
            .record(0, Some(&ChatMessage::new_chat("me", "mine", at)), at)
            .unwrap();
        index.flush().unwrap();
        std::fs::create_dir_all(store.log_dir(&friend)).unwrap();
        let (mut index, _) = LogIndex::open(&store.log_dir(&friend)).unwrap();
        index
            .record(4, Some(&ChatMessage::new_chat("ann", "hers", at)), at)
            .unwrap();
        index.record(5, None, at).unwrap();
        index.flush().unwrap();

        assert_eq!(reader.own_key().unwrap(), Some(own));
        assert_eq!(reader.follows().unwrap()[0].key, friend);
        let read = |key| {
            let mut seen = Vec::new();
            reader
                .messages(key, Some(own))
                .read_new(|seq, message| seen.push((seq.0, message.text)))
                .unwrap();
            seen
        };
        assert_eq!(read(own), vec![(0, "mine".to_string())]);
        assert_eq!(
            read(friend),
            vec![(4, "hers".to_string())],
            "a block that is no message is left out"
        );
        assert!(read(LogKey([9; 32])).is_empty(), "a log not held");
    }
}
