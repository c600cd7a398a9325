//! One log: our own log's journal and key pair, rebuilt into a hypercore at
//! start (`own`, `journal`, `legacy` for older storage), opening a followed
//! log on disk (`open`) on hychat's storage backend (`storage`, with `oplog`
//! for the crate's oplog format), its local message index (`index`) and the pages of history read from it
//! (`history`),
//! the pure plan of what to deliver next (`delivery`), and the task that
//! runs it (`task`).

pub(crate) mod delivery;
pub(crate) mod history;
pub(crate) mod index;
pub(crate) mod journal;
pub(crate) mod legacy;
pub(crate) mod open;
pub(crate) mod oplog;
pub(crate) mod own;
pub(crate) mod search;
pub(crate) mod seqset;
pub(crate) mod storage;
pub(crate) mod task;

pub(crate) use open::{core_key, open_clone};
pub(crate) use task::LogTask;
