//! Opening one log on disk, on hychat's storage backend (`storage.rs`): a
//! clone of a peer's log (created when missing, cloned afresh when its files
//! are damaged), or an older own log on its way to the journal (`own.rs`);
//! its files owner-only.

use std::path::{Path, PathBuf};

use hypercore::{Hypercore, HypercoreBuilder, PartialKeypair, VerifyingKey};

use crate::net::log::storage::open_storage;

use crate::domain::keys::LogKey;

#[derive(Debug, thiserror::Error)]
pub(crate) enum LogError {
    #[error("{0}")]
    Hypercore(String),
    #[error(transparent)]
    Storage(#[from] super::storage::StorageError),
    #[error("opening the log panicked inside hypercore")]
    Panicked,
    #[error("index: {0}")]
    Index(#[from] std::io::Error),
}

/// Opens (or creates) a log on disk, in hychat's storage backend
/// (`storage.rs`). `key` is `None` for a log whose key pair is in its files.
pub(crate) async fn open_core(dir: &Path, key: Option<LogKey>) -> Result<Hypercore, LogError> {
    std::fs::create_dir_all(dir)?;
    restrict_permissions(dir);
    let dir_owned: PathBuf = dir.to_path_buf();
    // Build in its own task so a panic inside hypercore is contained here.
    let opened = tokio::spawn(async move {
        let created = std::fs::metadata(dir_owned.join("oplog")).is_ok_and(|m| m.len() > 0);
        let storage = open_storage(&dir_owned, key.is_some() || !created).await?;
        // The backend empties an oplog without a header: only a created log has one.
        let exists = std::fs::metadata(dir_owned.join("oplog")).is_ok_and(|m| m.len() > 0);
        let builder = HypercoreBuilder::new(storage);
        let builder = match (exists, key) {
            (true, _) => builder.open(true),
            (false, Some(key)) => {
                let public = VerifyingKey::from_bytes(&key.0)
                    .map_err(|e| LogError::Hypercore(format!("not a valid log key: {e}")))?;
                builder.key_pair(PartialKeypair {
                    public,
                    secret: None,
                })
            }
            (false, None) => builder,
        };
        builder
            .build()
            .await
            .map_err(|e| LogError::Hypercore(e.to_string()))
    })
    .await;
    let core = match opened {
        Ok(result) => result?,
        Err(_) => return Err(LogError::Panicked),
    };
    restrict_permissions_of_files(dir);
    Ok(core)
}

/// Opens a clone of a peer's log (followed, or a room member's). When
/// hypercore cannot reopen its files (damaged on disk, by a power cut for
/// example), the clone is discarded and made afresh: the local index still
/// holds every message, newest-first delivery brings the present back
/// quickly, and the rest follows in the background.
// compat: hypercore row (reopening a log)
pub(crate) async fn open_clone(dir: &Path, key: LogKey) -> Result<Hypercore, LogError> {
    match open_core(dir, Some(key)).await {
        Err(e @ (LogError::Hypercore(_) | LogError::Storage(_) | LogError::Panicked))
            if dir.join("oplog").metadata().is_ok_and(|m| m.len() > 0) =>
        {
            tracing::warn!(?key, error = %e, "cannot reopen a cloned log; cloning it afresh");
            discard_clone(dir);
            open_core(dir, Some(key)).await
        }
        other => other,
    }
}

const HYPERCORE_FILES: [&str; 4] = ["oplog", "tree", "bitfield", "data"];

/// Deletes a cloned log's hypercore files, keeping its message index.
pub(crate) fn discard_clone(dir: &Path) {
    for file in HYPERCORE_FILES {
        let _ = std::fs::remove_file(dir.join(file));
    }
}

pub(crate) fn core_key(core: &Hypercore) -> LogKey {
    LogKey(core.key_pair().public.to_bytes())
}

/// The secret key lives in this directory: owner-only access.
pub(crate) fn restrict_permissions(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
}

pub(crate) fn restrict_permissions_of_files(dir: &Path) {
    #[cfg(unix)]
    if let Ok(entries) = std::fs::read_dir(dir) {
        use std::os::unix::fs::PermissionsExt;
        // Files only: a folder needs its search bit (own/core, for one).
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ =
                    std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_damaged_clone_is_cloned_afresh_keeping_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let writer = open_core(&dir.path().join("writer"), None).await.unwrap();
        writer.append(b"one").await.unwrap();
        let key = core_key(&writer);
        let clone = dir.path().join("clone");
        let first = open_clone(&clone, key).await.unwrap();
        let proof = writer
            .create_proof(
                Some(hypercore_schema::RequestBlock { index: 0, nodes: 0 }),
                None,
                None,
                Some(hypercore_schema::RequestUpgrade {
                    start: 0,
                    length: 1,
                }),
            )
            .await
            .unwrap()
            .unwrap();
        assert!(first.verify_and_apply_proof(proof).await.unwrap());
        drop(first);
        // The tree loses the node the header points at.
        std::fs::write(clone.join("tree"), b"").unwrap();
        std::fs::write(clone.join("index.jsonl"), "{\"seq\":0}\n").unwrap();
        assert!(open_core(&clone, Some(key)).await.is_err());
        let reopened = open_clone(&clone, key).await.unwrap();
        assert_eq!(core_key(&reopened), key);
        assert_eq!(reopened.info().length, 0);
        assert!(clone.join("index.jsonl").exists(), "the index survives");
    }
}
