//! Opening one log on disk: our own writable log or a clone of a peer's,
//! created when missing, its files owner-only, and the workaround for logs
//! hypercore 0.17.0-alpha.1 cannot reopen (see `compat`).

use std::path::{Path, PathBuf};

use hypercore::{Hypercore, HypercoreBuilder, PartialKeypair, Storage, VerifyingKey};

use crate::domain::keys::LogKey;

/// hypercore 0.17.0-alpha.1 panics reopening a log longer than this (docs/architecture.md §2).
pub(crate) const REOPEN_LIMIT: u64 = 32_768;
/// The length a log had when its task last stopped (read before opening).
pub(crate) const LENGTH_FILE: &str = "length";

#[derive(Debug, thiserror::Error)]
pub(crate) enum LogError {
    #[error("{0}")]
    Hypercore(String),
    #[error(
        "your log {key} has {length} blocks; this hypercore version cannot reopen logs over {REOPEN_LIMIT} blocks"
    )]
    TooLongToReopen { key: LogKey, length: u64 },
    #[error("opening the log panicked inside hypercore")]
    Panicked,
    #[error("index: {0}")]
    Index(#[from] std::io::Error),
}

/// Opens (or creates) a disk hypercore. `key` is `None` for our own writable
/// log, whose keypair lives in the hypercore's own storage.
pub(crate) async fn open_core(dir: &Path, key: Option<LogKey>) -> Result<Hypercore, LogError> {
    let exists = dir.join("oplog").exists();
    if exists {
        if let Some(length) = recorded_length(dir) {
            if length > REOPEN_LIMIT {
                let key = key.unwrap_or(LogKey([0; 32]));
                return Err(LogError::TooLongToReopen { key, length });
            }
        }
    }
    std::fs::create_dir_all(dir)?;
    restrict_permissions(dir);
    let dir_owned: PathBuf = dir.to_path_buf();
    // Build in its own task so a panic inside hypercore is contained here.
    let opened = tokio::spawn(async move {
        let storage = Storage::new_disk(&dir_owned, false)
            .await
            .map_err(|e| LogError::Hypercore(e.to_string()))?;
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
/// hypercore cannot reopen its own files (this alpha fails on some cloned
/// logs, and on any log over `REOPEN_LIMIT` blocks), the clone is discarded and made afresh: the local index still
/// holds every message, newest-first delivery brings the present back
/// quickly, and the rest follows in the background.
// compat: hypercore row (logs it cannot reopen)
pub(crate) async fn open_clone(dir: &Path, key: LogKey) -> Result<Hypercore, LogError> {
    match open_core(dir, Some(key)).await {
        Err(
            e @ (LogError::Hypercore(_) | LogError::Panicked | LogError::TooLongToReopen { .. }),
        ) if dir.join("oplog").exists() => {
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
    for file in HYPERCORE_FILES.iter().chain([&LENGTH_FILE]) {
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
        for entry in entries.flatten() {
            let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600));
        }
    }
}

fn recorded_length(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join(LENGTH_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_followed_log_too_long_to_reopen_is_cloned_afresh_keeping_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let writer = open_core(&dir.path().join("writer"), None).await.unwrap();
        let key = core_key(&writer);
        let clone = dir.path().join("clone");
        drop(open_clone(&clone, key).await.unwrap());
        std::fs::write(clone.join(LENGTH_FILE), (REOPEN_LIMIT + 1).to_string()).unwrap();
        std::fs::write(clone.join("index.jsonl"), "{\"seq\":0}\n").unwrap();
        assert!(matches!(
            open_core(&clone, Some(key)).await,
            Err(LogError::TooLongToReopen { .. })
        ));
        let reopened = open_clone(&clone, key).await.unwrap();
        assert_eq!(core_key(&reopened), key);
        assert_eq!(reopened.info().length, 0);
        assert!(clone.join("index.jsonl").exists(), "the index survives");
    }
}
