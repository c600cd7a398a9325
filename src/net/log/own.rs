//! Our own log on disk: its key pair (`keypair`, owner-only), its journal of
//! blocks (`blocks`, see `journal`), which is what an acknowledged message is
//! saved in, and a hypercore in `core/` on hychat's storage backend
//! (`storage`), which is only a copy of the journal.
//!
//! The copy is trusted only after a clean close: the engine's last act syncs
//! its files and writes `clean` with its length, and the next start removes
//! that mark (synced) before anything is appended. Then the hypercore opens
//! as it is and takes the journal's blocks past that length. After any other
//! end (a kill, a power cut, an older hychat) it is rebuilt from the journal:
//! re-appending the same blocks with the same key pair gives the same tree and
//! the same signatures, so peers see the log they already hold. An own log an
//! earlier hychat kept in hypercore's files is migrated once, with the same
//! key and every block (see `legacy`). The journal is what keeps the own
//! log safe from the pinned hypercore's reopen defects (compat: hypercore
//! row).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hypercore::{Hypercore, HypercoreBuilder, PartialKeypair, SigningKey, Storage};

use crate::domain::keys::LogKey;
use crate::net::log::journal::{sync_parent, Journal, JournalError};
use crate::net::log::legacy;
use crate::net::log::open::{
    open_core, restrict_permissions, restrict_permissions_of_files, LogError,
};
use crate::net::log::storage::open_storage;

const KEYPAIR_FILE: &str = "keypair";
const JOURNAL_FILE: &str = "blocks";
/// The hypercore copy of the journal.
const CORE_DIR: &str = "core";
/// Written at a clean close: the copy's length, in decimal.
const CLEAN_FILE: &str = "clean";
/// Where the hypercore files of an earlier hychat go once migrated.
const LEGACY_DIR: &str = "hypercore-0.17";
const LEGACY_FILES: [&str; 5] = ["oplog", "tree", "data", "bitfield", "length"];
/// Blocks re-appended per batch while rebuilding.
const REBUILD_BATCH: usize = 10_000;

/// The own log's journal, shared by whoever appends (the engine).
#[derive(Clone, Debug)]
pub(crate) struct OwnJournal(Arc<Mutex<Journal>>);

impl OwnJournal {
    /// Writes blocks to the journal and waits until they are on disk, off the
    /// runtime's threads. Only then is an append acknowledged.
    pub(crate) async fn append(&self, blocks: Vec<Vec<u8>>) -> std::io::Result<()> {
        let journal = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || crate::net::lock::lock(&journal).append(&blocks))
            .await
            .map_err(std::io::Error::other)?
    }
}

/// Opens our own log: the journal and the hypercore rebuilt from it.
pub(crate) async fn open_own(dir: &Path) -> Result<(Hypercore, OwnJournal), LogError> {
    std::fs::create_dir_all(dir)?;
    restrict_permissions(dir);
    let keypair_path = dir.join(KEYPAIR_FILE);
    if !keypair_path.exists() {
        if dir.join("oplog").exists() {
            migrate(dir).await?;
        } else {
            write_keypair(&keypair_path, &hypercore::generate_signing_key())?;
        }
    }
    let key = read_keypair(&keypair_path)?;
    let journal_path = dir.join(JOURNAL_FILE);
    let journal_error = |e| match e {
        JournalError::Io(e) => LogError::Index(e),
        other => LogError::Hypercore(other.to_string()),
    };
    let clean = take_clean_mark(dir)?;
    let (journal, tail) =
        Journal::open_from(&journal_path, clean.unwrap_or(0)).map_err(journal_error)?;
    restrict_permissions_of_files(dir);
    let started = Instant::now();
    let reopened = match clean {
        Some(length) if length <= journal.len() => {
            match reopen_copy(&dir.join(CORE_DIR), &key, length, &tail).await {
                Ok(core) => Some(core),
                Err(e) => {
                    tracing::warn!(error = %e, "the copy of the own log does not open; rebuilding it from the journal");
                    None
                }
            }
        }
        _ => None,
    };
    let core = match reopened {
        Some(core) => {
            tracing::info!(
                blocks = journal.len(),
                appended = tail.len(),
                ms = started.elapsed().as_millis() as u64,
                "own log opened"
            );
            core
        }
        None => {
            let (_, blocks) = Journal::open(&journal_path).map_err(journal_error)?;
            let storage = fresh_storage(&dir.join(CORE_DIR)).await?;
            rebuild(storage, key, &blocks).await?
        }
    };
    Ok((core, OwnJournal(Arc::new(Mutex::new(journal)))))
}

/// The own log's public key as its files hold it, read without opening,
/// creating or changing anything (so it can be read beside the hychat that
/// has the log open): from the key pair file, or, for an own log an earlier
/// hychat kept in hypercore's files and not yet moved, from the oplog's
/// header. `None` when the directory holds no own log yet.
pub(crate) fn read_own_key(dir: &Path) -> Result<Option<LogKey>, LogError> {
    let keypair_path = dir.join(KEYPAIR_FILE);
    match read_keypair(&keypair_path) {
        Ok(key) => return Ok(Some(LogKey(key.verifying_key().to_bytes()))),
        Err(LogError::Index(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut header = Vec::new();
    match File::open(dir.join("oplog")) {
        Ok(file) => {
            file.take(legacy::HEADER_SLOTS as u64)
                .read_to_end(&mut header)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    // A header without a key pair is left to the engine's start, which
    // moves the log or says why it cannot.
    Ok(legacy::signing_key_in_oplog(&header).map(|key| LogKey(key.verifying_key().to_bytes())))
}

/// Syncs the copy's files and marks it clean with its length. Called by the
/// engine once nothing more will be appended.
pub(crate) fn close_clean(dir: &Path, core: &Hypercore) -> std::io::Result<()> {
    let copy = dir.join(CORE_DIR);
    for name in ["tree", "data", "bitfield", "oplog"] {
        File::open(copy.join(name))?.sync_all()?;
    }
    File::open(&copy)?.sync_all()?;
    let staging = dir.join("clean.staging");
    {
        let mut file = File::create(&staging)?;
        file.write_all(core.info().length.to_string().as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&staging, dir.join(CLEAN_FILE))?;
    sync_parent(&dir.join(CLEAN_FILE));
    Ok(())
}

/// The length a clean close recorded, removing the mark (synced) so the copy
/// is not trusted again until the next clean close.
fn take_clean_mark(dir: &Path) -> Result<Option<u64>, LogError> {
    let path = dir.join(CLEAN_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    std::fs::remove_file(&path)?;
    sync_parent(&path);
    Ok(text.trim().parse().ok())
}

/// Opens the copy, which must be ours and `length` long, and appends the
/// journal's blocks past it.
async fn reopen_copy(
    copy: &Path,
    key: &SigningKey,
    length: u64,
    tail: &[Vec<u8>],
) -> Result<Hypercore, LogError> {
    let core = open_core(copy, None).await?;
    let pair = core.key_pair();
    if pair.public != key.verifying_key() || pair.secret.is_none() {
        return Err(LogError::Hypercore("the copy has another key".into()));
    }
    if core.info().length != length {
        return Err(LogError::Hypercore(format!(
            "the copy has {} blocks where its mark says {length}",
            core.info().length
        )));
    }
    append_all(&core, tail).await?;
    Ok(core)
}

/// An empty copy: whatever was in `copy` is removed first.
async fn fresh_storage(copy: &Path) -> Result<Storage, LogError> {
    if copy.exists() {
        std::fs::remove_dir_all(copy)?;
    }
    std::fs::create_dir_all(copy)?;
    restrict_permissions(copy);
    Ok(open_storage(copy, true).await?)
}

/// A writable hypercore on `storage` holding `blocks`, signed with `key`.
pub(crate) async fn rebuild(
    storage: Storage,
    key: SigningKey,
    blocks: &[Vec<u8>],
) -> Result<Hypercore, LogError> {
    let started = Instant::now();
    let keypair = PartialKeypair {
        public: key.verifying_key(),
        secret: Some(key),
    };
    let core = HypercoreBuilder::new(storage)
        .key_pair(keypair)
        .build()
        .await
        .map_err(|e| LogError::Hypercore(e.to_string()))?;
    append_all(&core, blocks).await?;
    tracing::info!(
        blocks = blocks.len(),
        ms = started.elapsed().as_millis() as u64,
        "own log rebuilt from its journal"
    );
    Ok(core)
}

async fn append_all(core: &Hypercore, blocks: &[Vec<u8>]) -> Result<(), LogError> {
    for batch in blocks.chunks(REBUILD_BATCH) {
        core.append_batch(batch)
            .await
            .map_err(|e| LogError::Hypercore(e.to_string()))?;
    }
    Ok(())
}

/// Moves an own log out of hypercore's files into a journal, then writes
/// the key pair file, last, so a crash before it just runs this again.
/// hypercore opens the files when it can (it reads any block exactly); when
/// it cannot (past 32,768 blocks, or files a crash left behind), they are
/// read without it (`legacy`).
async fn migrate(dir: &Path) -> Result<(), LogError> {
    let (key, blocks) = match read_with_hypercore(dir).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "hypercore cannot open the own log; reading its files directly");
            read_files(dir)?
        }
    };
    tracing::info!(
        blocks = blocks.len(),
        "moving the own log out of hypercore's files into hychat's journal"
    );
    Journal::create_with(&dir.join(JOURNAL_FILE), &blocks)?;
    write_keypair(&dir.join(KEYPAIR_FILE), &key)?;
    let legacy_dir = dir.join(LEGACY_DIR);
    std::fs::create_dir_all(&legacy_dir)?;
    for file in LEGACY_FILES {
        let from = dir.join(file);
        if from.exists() {
            std::fs::rename(&from, legacy_dir.join(file))?;
        }
    }
    sync_parent(&legacy_dir.join("oplog"));
    Ok(())
}

async fn read_with_hypercore(dir: &Path) -> Result<(SigningKey, Vec<Vec<u8>>), LogError> {
    let core = open_core(dir, None).await?;
    let key = core
        .key_pair()
        .secret
        .ok_or_else(|| LogError::Hypercore("the own log has no secret key".into()))?;
    let mut blocks = Vec::new();
    for index in 0..core.info().length {
        match core.get(index).await {
            Ok(Some(block)) => blocks.push(block),
            Ok(None) => return Err(LogError::Hypercore(format!("block {index} is missing"))),
            Err(e) => return Err(LogError::Hypercore(e.to_string())),
        }
    }
    Ok((key, blocks))
}

fn read_files(dir: &Path) -> Result<(SigningKey, Vec<Vec<u8>>), LogError> {
    let oplog = std::fs::read(dir.join("oplog"))?;
    let tree = std::fs::read(dir.join("tree")).unwrap_or_default();
    let data = std::fs::read(dir.join("data")).unwrap_or_default();
    let key = legacy::signing_key_in_oplog(&oplog).ok_or_else(|| {
        LogError::Hypercore(format!(
            "no key pair found in {}; your log cannot be moved to the new format",
            dir.join("oplog").display()
        ))
    })?;
    let blocks = legacy::blocks_in_files(&tree, &data)
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    Ok((key, blocks))
}

fn keypair_bytes(key: &SigningKey) -> Vec<u8> {
    let mut bytes = key.to_bytes().to_vec();
    bytes.extend_from_slice(key.verifying_key().as_bytes());
    bytes
}

/// Writes the key pair file whole (staging file, sync, rename), owner-only.
fn write_keypair(path: &Path, key: &SigningKey) -> Result<(), LogError> {
    use std::io::Write;
    let staging: PathBuf = path.with_extension("staging");
    {
        let mut file = std::fs::File::create(&staging)?;
        restrict_file(&staging);
        file.write_all(&keypair_bytes(key))?;
        file.sync_all()?;
    }
    std::fs::rename(&staging, path)?;
    sync_parent(path);
    Ok(())
}

fn read_keypair(path: &Path) -> Result<SigningKey, LogError> {
    let bytes = std::fs::read(path)?;
    let bad = || {
        LogError::Hypercore(format!(
            "{} is not a hychat key pair file (64 bytes: seed and public key)",
            path.display()
        ))
    };
    let seed: [u8; 32] = bytes
        .get(..32)
        .ok_or_else(bad)?
        .try_into()
        .map_err(|_| bad())?;
    let key = SigningKey::from_bytes(&seed);
    if bytes.len() != 64 || key.verifying_key().as_bytes() != &bytes[32..] {
        return Err(bad());
    }
    Ok(key)
}

fn restrict_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::log::open::core_key;
    use hypercore_schema::{RequestBlock, RequestUpgrade};

    fn block(i: usize) -> Vec<u8> {
        crate::domain::ChatMessage::new_chat(
            "ann",
            &format!("message {i}"),
            time::macros::datetime!(2026-11-27 12:00 UTC),
        )
        .encode()
    }

    async fn signature(core: &Hypercore, length: u64) -> Vec<u8> {
        let proof = core
            .create_proof(
                Some(RequestBlock {
                    index: length - 1,
                    nodes: 0,
                }),
                None,
                None,
                Some(RequestUpgrade { start: 0, length }),
            )
            .await
            .unwrap()
            .unwrap();
        proof.upgrade.unwrap().signature.to_vec()
    }

    #[tokio::test]
    async fn a_new_log_keeps_its_key_and_blocks_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let (core, journal) = open_own(dir.path()).await.unwrap();
        let key = core_key(&core);
        for i in 0..3 {
            journal.append(vec![block(i)]).await.unwrap();
            core.append(&block(i)).await.unwrap();
        }
        let before = signature(&core, 3).await;
        drop((core, journal));
        let (core, _journal) = open_own(dir.path()).await.unwrap();
        assert_eq!(core_key(&core), key);
        assert_eq!(core.info().length, 3);
        assert_eq!(core.get(2).await.unwrap(), Some(block(2)));
        assert_eq!(
            signature(&core, 3).await,
            before,
            "same tree, same signature"
        );
    }

    #[tokio::test]
    async fn after_a_clean_close_the_copy_opens_and_takes_the_journal_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (core, journal) = open_own(dir.path()).await.unwrap();
        let blocks: Vec<Vec<u8>> = (0..50).map(block).collect();
        journal.append(blocks.clone()).await.unwrap();
        core.append_batch(&blocks).await.unwrap();
        close_clean(dir.path(), &core).unwrap();
        assert!(dir.path().join(CLEAN_FILE).exists());
        use std::os::unix::fs::PermissionsExt;
        let oplog = std::fs::metadata(dir.path().join(CORE_DIR).join("oplog")).unwrap();
        assert_eq!(
            oplog.permissions().mode() & 0o777,
            0o600,
            "it holds the secret key"
        );
        // Two more blocks reach the journal only (as a core write that
        // failed after the journal's sync would leave them).
        journal.append(vec![block(50), block(51)]).await.unwrap();
        drop((core, journal));

        let (core, journal) = open_own(dir.path()).await.unwrap();
        assert!(
            !dir.path().join(CLEAN_FILE).exists(),
            "trusted once per clean close"
        );
        assert_eq!(core.info().length, 52);
        assert_eq!(core.get(51).await.unwrap(), Some(block(51)));
        let reopened = signature(&core, 52).await;
        drop((core, journal));
        // Not closed cleanly this time: rebuilt, with the same signature.
        let (core, _journal) = open_own(dir.path()).await.unwrap();
        assert_eq!(core.info().length, 52);
        assert_eq!(signature(&core, 52).await, reopened);
    }

    #[tokio::test]
    async fn a_mark_that_does_not_match_the_copy_means_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let (core, journal) = open_own(dir.path()).await.unwrap();
        journal.append(vec![block(0), block(1)]).await.unwrap();
        core.append_batch(&[block(0), block(1)]).await.unwrap();
        close_clean(dir.path(), &core).unwrap();
        drop((core, journal));
        std::fs::write(dir.path().join(CLEAN_FILE), "1").unwrap();
        let (core, _journal) = open_own(dir.path()).await.unwrap();
        assert_eq!(core.info().length, 2);
        assert_eq!(core.get(1).await.unwrap(), Some(block(1)));
    }

    #[tokio::test]
    async fn an_own_log_in_hypercore_files_moves_with_its_key_and_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let disk = open_core(dir.path(), None).await.unwrap();
        let key = core_key(&disk);
        for i in 0..40 {
            disk.append(&block(i)).await.unwrap();
        }
        let before = signature(&disk, 40).await;
        drop(disk);
        let (core, _journal) = open_own(dir.path()).await.unwrap();
        assert_eq!(core_key(&core), key);
        assert_eq!(core.info().length, 40);
        assert_eq!(signature(&core, 40).await, before);
        assert!(dir.path().join(LEGACY_DIR).join("oplog").exists());
        assert!(!dir.path().join("oplog").exists());
    }

    /// Logs past hypercore's 32,768-block reopen limit, written by the
    /// previous storage path (hypercore's disk files), move with every block
    /// and the same signature; and our journal reopens at any length.
    #[tokio::test]
    async fn logs_at_and_past_the_old_reopen_limit_open_with_every_block() {
        // Writing hypercore's disk files is slow: one log past the limit.
        for length in [32_769usize] {
            let dir = tempfile::tempdir().unwrap();
            let disk = open_core(dir.path(), None).await.unwrap();
            let blocks: Vec<Vec<u8>> = (0..length).map(block).collect();
            for batch in blocks.chunks(4096) {
                disk.append_batch(batch).await.unwrap();
            }
            let before = signature(&disk, length as u64).await;
            drop(disk);
            // What today's log task records when it stops.
            std::fs::write(dir.path().join("length"), length.to_string()).unwrap();
            let (core, journal) = open_own(dir.path()).await.unwrap();
            assert_eq!(core.info().length, length as u64, "{length}");
            assert_eq!(signature(&core, length as u64).await, before, "{length}");
            journal.append(vec![block(length)]).await.unwrap();
            drop((core, journal));
            let (core, _) = open_own(dir.path()).await.unwrap();
            assert_eq!(core.info().length, length as u64 + 1, "{length} + 1");
            assert_eq!(core.get(length as u64).await.unwrap(), Some(block(length)));
        }
        for length in [32_767u64, 32_768, 32_769, 100_000] {
            let dir = tempfile::tempdir().unwrap();
            let blocks: Vec<Vec<u8>> = (0..length as usize).map(block).collect();
            Journal::create_with(&dir.path().join(JOURNAL_FILE), &blocks).unwrap();
            write_keypair(
                &dir.path().join(KEYPAIR_FILE),
                &SigningKey::from_bytes(&[9; 32]),
            )
            .unwrap();
            let (core, _) = open_own(dir.path()).await.unwrap();
            assert_eq!(core.info().length, length);
            assert_eq!(
                core.get(length - 1).await.unwrap(),
                Some(block(length as usize - 1))
            );
        }
    }

    #[tokio::test]
    async fn the_key_is_read_from_the_files_without_changing_them() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own");
        assert!(read_own_key(&own).unwrap().is_none(), "no own log yet");
        assert!(!own.exists(), "reading creates nothing");
        let (core, _journal) = open_own(&own).await.unwrap();
        let key = core_key(&core);
        let listing = |dir: &Path| {
            let mut names: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            names
        };
        let before = listing(&own);
        assert_eq!(read_own_key(&own).unwrap(), Some(key), "while it is open");
        assert_eq!(listing(&own), before);
    }

    #[tokio::test]
    async fn the_key_of_an_own_log_not_yet_moved_is_read_from_its_oplog() {
        let dir = tempfile::tempdir().unwrap();
        let disk = open_core(dir.path(), None).await.unwrap();
        let key = core_key(&disk);
        disk.append(&block(0)).await.unwrap();
        drop(disk);
        assert_eq!(read_own_key(dir.path()).unwrap(), Some(key));
        assert!(
            !dir.path().join(KEYPAIR_FILE).exists(),
            "nothing is moved by a read"
        );
    }

    #[tokio::test]
    async fn a_damaged_key_pair_file_is_one_sentence_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEYPAIR_FILE), b"short").unwrap();
        let err = open_own(dir.path()).await.unwrap_err();
        assert!(
            err.to_string().contains("is not a hychat key pair file"),
            "{err}"
        );
        let err = read_own_key(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("is not a hychat key pair file"),
            "{err}"
        );
    }
}
