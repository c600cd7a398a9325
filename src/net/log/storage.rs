//! The files under a log's hypercore: hychat's own storage backend behind the
//! crate's `RandomAccess` interface, in hypercore's own file format (`tree`,
//! `data`, `bitfield`, `oplog`), so logs written by earlier versions open as
//! they are.
//!
//! Tree and data are plain files. What the crate reads when it opens a log is
//! shaped around four defects of hypercore 0.17.0-alpha.1 (compat: hypercore
//! row), none of which changes a byte of the format on disk:
//! - its bitfield reader panics on a file longer than one 4,096-byte page (a
//!   log past 32,768 blocks). The crate is shown an empty bitfield, and the
//!   runs of blocks the file marks as held are shown as oplog entries, which
//!   the crate applies at open like any other;
//! - its entry decoder misreads every entry that does not carry tree nodes,
//!   an upgrade and a bitfield update together ("Compact encoding failed"),
//!   so a log killed between two flushes cannot be reopened. The entries are
//!   read here and shown in that one shape (`oplog.rs`);
//! - after reopening it writes new entries over the ones it has just
//!   replayed but not yet flushed, so a crash before its next flush loses tree
//!   nodes the header already points at ("Could not load node …"). Here the
//!   entries on disk are kept, and the crate's new ones go after them until it
//!   flushes and truncates the oplog;
//! - a torn entry at the end of the oplog fails the whole open with a checksum
//!   error. Reading stops at the first damaged record, and the tail is cut.
//!
//! Every write reaches the file before the next one starts, in the crate's
//! order, so a killed process leaves a prefix of its writes; the tests kill
//! the files at every write count. Nothing here syncs: a followed log can lose
//! its newest blocks to a power cut (they come back from peers); our own log's
//! durability is its journal (`own.rs`).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use hypercore::{Storage, StorageTraits, Store};
use random_access_storage::{BoxFuture, RandomAccess, RandomAccessError};

use crate::net::lock::lock;

use super::oplog::{self, ENTRIES};

/// Why the backend could not open a log's files.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StorageError {
    #[error("{what} in {}: {source}", dir.display())]
    Io {
        what: &'static str,
        dir: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no log in {} (its oplog has no header)", .0.display())]
    NoLog(std::path::PathBuf),
    /// The crate's `Storage::open` refused.
    #[error(transparent)]
    Crate(#[from] hypercore::HypercoreError),
}

/// Opens the four files of the log in `dir`, creating what is missing, and
/// prepares what the crate reads at open. With `may_create` (a log whose key
/// the caller knows), a log whose creation was cut short is emptied and its
/// oplog's torn tail is cut; without it, nothing on disk is changed before
/// the crate reads it.
pub(crate) async fn open_storage(dir: &Path, may_create: bool) -> Result<Storage, StorageError> {
    open_storage_until(dir, may_create, None).await
}

/// `open_storage`, where the files take only `writes` more writes when it is
/// given: the rest are dropped, as if the process had been killed there.
async fn open_storage_until(
    dir: &Path,
    may_create: bool,
    writes: Option<Arc<AtomicI64>>,
) -> Result<Storage, StorageError> {
    let io = |what: &'static str| {
        move |source: std::io::Error| StorageError::Io {
            what,
            dir: dir.to_path_buf(),
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(io("cannot create the log's folder"))?;
    let open = |name: &'static str, what: &'static str| {
        let path = dir.join(name);
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            // Owner-only from the start: an own log's oplog holds its secret key.
            .mode(0o600)
            .open(&path)
            .map_err(io(what))
    };
    let (tree, data, bitfield, oplog) = (
        open("tree", "cannot open tree")?,
        open("data", "cannot open data")?,
        open("bitfield", "cannot open bitfield")?,
        open("oplog", "cannot open oplog")?,
    );
    let read = |file: &File, what: &'static str| -> Result<Vec<u8>, StorageError> {
        let length = file.metadata().map_err(io(what))?.len();
        let mut bytes = vec![0; length as usize];
        file.read_exact_at(&mut bytes, 0).map_err(io(what))?;
        Ok(bytes)
    };
    let oplog_bytes = read(&oplog, "cannot read oplog")?;
    let shown = if has_header(&oplog_bytes) {
        let shown = present_oplog(&oplog_bytes, &read(&bitfield, "cannot read bitfield")?);
        if may_create {
            oplog
                .set_len(shown.stored_len)
                .map_err(io("cannot cut the oplog's torn tail"))?;
        }
        shown
    } else if may_create {
        // No header: the log was never created, or its creation was cut
        // short. Whatever the other files hold belongs to no log.
        for file in [&tree, &data, &bitfield, &oplog] {
            file.set_len(0)
                .map_err(io("cannot reset an unfinished log"))?;
        }
        Presented::default()
    } else {
        return Err(StorageError::NoLog(dir.to_path_buf()));
    };

    let stores: [Arc<dyn StorageTraits>; 4] = [
        Arc::new(FileStore::new(Disk::new(tree, &writes), false).map_err(io("cannot read tree"))?),
        Arc::new(FileStore::new(Disk::new(data, &writes), false).map_err(io("cannot read data"))?),
        Arc::new(
            FileStore::new(Disk::new(bitfield, &writes), true)
                .map_err(io("cannot read bitfield"))?,
        ),
        Arc::new(OplogStore::new(Disk::new(oplog, &writes), shown)),
    ];
    let create = move |store: Store| {
        let chosen = match store {
            Store::Tree => stores[0].clone(),
            Store::Data => stores[1].clone(),
            Store::Bitfield => stores[2].clone(),
            Store::Oplog => stores[3].clone(),
        };
        async move { Ok(chosen) }.boxed()
    };
    Storage::open(create, false)
        .await
        .map_err(StorageError::Crate)
}

/// What the crate reads as its oplog, and where its entries go on disk.
#[derive(Debug, Default, PartialEq)]
struct Presented {
    /// The header slots, the held blocks as entries, then the entries on
    /// disk, all in the shape the crate reads correctly.
    view: Vec<u8>,
    /// The valid entries kept on disk, which the crate's own entries follow.
    shift: u64,
    /// The file's length once its torn tail is cut.
    stored_len: u64,
}

/// The oplog as the crate should read it (see the module header).
fn present_oplog(oplog: &[u8], bitfield: &[u8]) -> Presented {
    let mut view = vec![0; ENTRIES];
    let header_len = oplog.len().min(ENTRIES);
    view[..header_len].copy_from_slice(&oplog[..header_len]);
    let unchanged = |view| Presented {
        view,
        shift: 0,
        stored_len: oplog.len() as u64,
    };
    // Without a header we can read, the crate is shown the file as it is.
    let Some(mut in_force) = oplog::current_header(oplog).and_then(oplog::header_tree) else {
        let mut view = view;
        view.extend_from_slice(oplog.get(ENTRIES..).unwrap_or_default());
        return unchanged(view);
    };
    for (start, length) in held_runs(bitfield) {
        let held = oplog::BitfieldUpdate {
            drop: false,
            start,
            length,
        };
        view.extend(oplog::crate_record(&[], &in_force, Some(held)));
    }
    let entries = oplog.get(ENTRIES..).unwrap_or_default();
    let mut rest = entries;
    while let Some(entry) = oplog::record(rest).and_then(|(value, _, after)| {
        let entry = oplog::decode_entry(value)?;
        rest = after;
        Some(entry)
    }) {
        if let Some(upgrade) = entry.upgrade {
            in_force = upgrade;
        }
        view.extend(oplog::crate_record(entry.nodes, &in_force, entry.bitfield));
    }
    let valid = entries.len() - rest.len();
    Presented {
        view,
        shift: valid as u64,
        stored_len: (ENTRIES + valid) as u64,
    }
}

/// Whether either header slot holds a record with a good checksum.
fn has_header(oplog: &[u8]) -> bool {
    oplog::current_header(oplog).is_some()
}

/// The runs of blocks a bitfield file marks as held: bit `i` is bit `i % 8` of
/// byte `i / 8`.
fn held_runs(bitfield: &[u8]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    let mut open: Option<u64> = None;
    for (byte_index, &byte) in bitfield.iter().enumerate() {
        let base = byte_index as u64 * 8;
        if (byte == 0 && open.is_none()) || (byte == 0xff && open.is_some()) {
            continue;
        }
        for bit in 0..8 {
            let held = byte & (1 << bit) != 0;
            match (held, open) {
                (true, None) => open = Some(base + bit),
                (false, Some(start)) => {
                    runs.push((start, base + bit - start));
                    open = None;
                }
                _ => {}
            }
        }
    }
    if let Some(start) = open {
        runs.push((start, bitfield.len() as u64 * 8 - start));
    }
    runs
}

/// The outcome of an operation already done, handed back after one yield to
/// the scheduler: the crate's replicator loses its wake-up when a storage
/// future is ready on its first poll (a follower then never gets a block), as
/// the crate's own disk storage never is (compat: hypercore row).
fn settled<T: Send + 'static>(outcome: T) -> BoxFuture<T> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        outcome
    })
}

/// Deletes `length` bytes at `offset` of a store `stored` bytes long: a
/// delete reaching the end truncates, one inside writes zeros.
fn delete(
    store: &impl RandomAccess,
    stored: u64,
    offset: u64,
    length: u64,
) -> BoxFuture<Result<(), RandomAccessError>> {
    if offset >= stored || length == 0 {
        return settled(Ok(()));
    }
    if offset.saturating_add(length) >= stored {
        return store.truncate(offset);
    }
    store.write(offset, &vec![0; length as usize])
}

fn out_of_bounds(offset: u64, end: u64, length: u64) -> RandomAccessError {
    RandomAccessError::OutOfBounds {
        offset,
        end: Some(end),
        length,
    }
}

/// One of the files, written in place.
#[derive(Debug)]
struct Disk {
    file: File,
    /// Writes left before the simulated kill (tests only; `None` otherwise).
    writes: Option<Arc<AtomicI64>>,
}

impl Disk {
    fn new(file: File, writes: &Option<Arc<AtomicI64>>) -> Arc<Self> {
        Arc::new(Self {
            file,
            writes: writes.clone(),
        })
    }

    fn alive(&self) -> bool {
        self.writes
            .as_ref()
            .is_none_or(|left| left.fetch_sub(1, Ordering::SeqCst) > 0)
    }

    fn write_all_at(&self, data: &[u8], offset: u64) -> std::io::Result<()> {
        if self.alive() {
            self.file.write_all_at(data, offset)?;
        }
        Ok(())
    }

    fn set_len(&self, length: u64) -> std::io::Result<()> {
        if self.alive() {
            self.file.set_len(length)?;
        }
        Ok(())
    }

    fn read_exact_at(&self, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.file.read_exact_at(buffer, offset)
    }
}

/// A plain file. The bitfield's reports a length of zero, so the crate never
/// reads it (see the module header); it is still written in full.
#[derive(Debug)]
struct FileStore {
    file: Arc<Disk>,
    length: Arc<AtomicU64>,
    hidden: bool,
}

impl FileStore {
    fn new(file: Arc<Disk>, hidden: bool) -> std::io::Result<Self> {
        let length = file.file.metadata()?.len();
        Ok(Self {
            file,
            length: Arc::new(AtomicU64::new(length)),
            hidden,
        })
    }
}

impl RandomAccess for FileStore {
    fn write(&self, offset: u64, data: &[u8]) -> BoxFuture<Result<(), RandomAccessError>> {
        let result = self.file.write_all_at(data, offset);
        if result.is_ok() {
            self.length
                .fetch_max(offset + data.len() as u64, Ordering::SeqCst);
        }
        settled(result.map_err(Into::into))
    }

    fn read(&self, offset: u64, length: u64) -> BoxFuture<Result<Vec<u8>, RandomAccessError>> {
        let stored = self.len();
        let result = if offset + length > stored {
            Err(out_of_bounds(offset, offset + length, stored))
        } else {
            let mut buffer = vec![0; length as usize];
            self.file
                .read_exact_at(&mut buffer, offset)
                .map(|()| buffer)
                .map_err(Into::into)
        };
        settled(result)
    }

    fn del(&self, offset: u64, length: u64) -> BoxFuture<Result<(), RandomAccessError>> {
        delete(self, self.length.load(Ordering::SeqCst), offset, length)
    }

    fn truncate(&self, length: u64) -> BoxFuture<Result<(), RandomAccessError>> {
        let result = self.file.set_len(length);
        if result.is_ok() {
            self.length.store(length, Ordering::SeqCst);
        }
        settled(result.map_err(Into::into))
    }

    fn len(&self) -> u64 {
        if self.hidden {
            0
        } else {
            self.length.load(Ordering::SeqCst)
        }
    }
}

/// The oplog: the crate reads `view`; its header writes go to the file as
/// they are, and its entry writes go `shift` bytes further on, after the
/// entries it was shown but has not yet flushed.
#[derive(Debug)]
struct OplogStore {
    file: Arc<Disk>,
    state: Arc<Mutex<OplogState>>,
}

#[derive(Debug)]
struct OplogState {
    view: Vec<u8>,
    shift: u64,
}

impl OplogStore {
    fn new(file: Arc<Disk>, shown: Presented) -> Self {
        Self {
            file,
            state: Arc::new(Mutex::new(OplogState {
                view: shown.view,
                shift: shown.shift,
            })),
        }
    }

    /// Where the crate's byte `offset` lives in the file.
    fn file_offset(offset: u64, shift: u64) -> u64 {
        if offset < ENTRIES as u64 {
            offset
        } else {
            offset + shift
        }
    }
}

impl RandomAccess for OplogStore {
    fn write(&self, offset: u64, data: &[u8]) -> BoxFuture<Result<(), RandomAccessError>> {
        let mut state = lock(&self.state);
        let end = offset as usize + data.len();
        if state.view.len() < end {
            state.view.resize(end, 0);
        }
        state.view[offset as usize..end].copy_from_slice(data);
        // A header write never reaches into the entries; split one that would.
        let split = (ENTRIES as u64)
            .saturating_sub(offset)
            .min(data.len() as u64) as usize;
        let (head, tail) = data.split_at(split);
        let mut result = Ok(());
        if !head.is_empty() {
            result = self.file.write_all_at(head, offset);
        }
        if result.is_ok() && !tail.is_empty() {
            let at = Self::file_offset(offset + split as u64, state.shift);
            result = self.file.write_all_at(tail, at);
        }
        settled(result.map_err(Into::into))
    }

    fn read(&self, offset: u64, length: u64) -> BoxFuture<Result<Vec<u8>, RandomAccessError>> {
        let state = lock(&self.state);
        let stored = state.view.len() as u64;
        let result = if offset + length > stored {
            Err(out_of_bounds(offset, offset + length, stored))
        } else {
            Ok(state.view[offset as usize..(offset + length) as usize].to_vec())
        };
        settled(result)
    }

    fn del(&self, offset: u64, length: u64) -> BoxFuture<Result<(), RandomAccessError>> {
        let stored = lock(&self.state).view.len() as u64;
        delete(self, stored, offset, length)
    }

    fn truncate(&self, length: u64) -> BoxFuture<Result<(), RandomAccessError>> {
        let mut state = lock(&self.state);
        state.view.resize(length as usize, 0);
        if length <= ENTRIES as u64 {
            // The crate truncates its entries right after flushing what they
            // hold: the ones it was shown are flushed too.
            state.shift = 0;
        }
        let result = self.file.set_len(Self::file_offset(length, state.shift));
        settled(result.map_err(Into::into))
    }

    fn len(&self) -> u64 {
        lock(&self.state).view.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypercore::{Hypercore, HypercoreBuilder, PartialKeypair};
    use hypercore_schema::{RequestBlock, RequestUpgrade};
    use proptest::prelude::*;

    fn block(i: u64) -> Vec<u8> {
        format!("message {i}").into_bytes()
    }

    async fn writer(length: u64) -> Hypercore {
        let core = HypercoreBuilder::new(Storage::new_memory().await.unwrap())
            .build()
            .await
            .unwrap();
        let blocks: Vec<Vec<u8>> = (0..length).map(block).collect();
        for chunk in blocks.chunks(10_000) {
            core.append_batch(chunk).await.unwrap();
        }
        core
    }

    async fn clone_of(writer: &Hypercore, dir: &Path) -> Hypercore {
        let storage = open_storage(dir, true).await.unwrap();
        let exists = dir.join("oplog").metadata().unwrap().len() > 0;
        let builder = HypercoreBuilder::new(storage);
        let builder = if exists {
            builder.open(true)
        } else {
            builder.key_pair(PartialKeypair {
                public: writer.key_pair().public,
                secret: None,
            })
        };
        builder.build().await.unwrap()
    }

    /// Copies blocks `range` from the writer after taking its length, as the
    /// replicator does: the upgrade first, then each block with the tree
    /// nodes the clone lacks. Stops at the first step that fails, and says
    /// which.
    async fn try_download(
        writer: &Hypercore,
        clone: &Hypercore,
        range: impl Iterator<Item = u64>,
    ) -> Result<(), String> {
        let length = writer.info().length;
        let from = clone.info().length;
        if from < length {
            let upgrade = RequestUpgrade {
                start: from,
                length: length - from,
            };
            let proof = writer.create_proof(None, None, None, Some(upgrade)).await;
            let Ok(Some(proof)) = proof else {
                return Err(format!("no proof of the upgrade to {length}"));
            };
            if !matches!(clone.verify_and_apply_proof(proof).await, Ok(true)) {
                return Err(format!("upgrade to {length}"));
            }
        }
        for index in range {
            let nodes = clone
                .missing_nodes(index)
                .await
                .map_err(|e| format!("missing nodes of {index}: {e}"))?;
            let request = RequestBlock { index, nodes };
            let proof = writer.create_proof(Some(request), None, None, None).await;
            let Ok(Some(proof)) = proof else {
                return Err(format!("no proof of block {index}"));
            };
            if !matches!(clone.verify_and_apply_proof(proof).await, Ok(true)) {
                return Err(format!("block {index}"));
            }
        }
        Ok(())
    }

    async fn download(writer: &Hypercore, clone: &Hypercore, range: impl Iterator<Item = u64>) {
        if let Err(step) = try_download(writer, clone, range).await {
            panic!("the download failed at: {step}");
        }
    }

    async fn assert_holds(clone: &Hypercore, length: u64, held: impl Fn(u64) -> bool) {
        assert_eq!(clone.info().length, length);
        for index in 0..length {
            assert_eq!(clone.has(index), held(index), "has({index})");
            if held(index) {
                assert_eq!(clone.get(index).await.unwrap(), Some(block(index)));
            }
        }
    }

    #[tokio::test]
    async fn clones_at_and_past_one_bitfield_page_reopen_with_every_block() {
        for length in [32_767, 32_768, 32_769, 100_000] {
            let source = writer(length).await;
            let dir = tempfile::tempdir().unwrap();
            let clone = clone_of(&source, dir.path()).await;
            download(&source, &clone, 0..length).await;
            drop(clone);
            let bitfield = std::fs::metadata(dir.path().join("bitfield"))
                .unwrap()
                .len();
            if length == 100_000 {
                assert!(bitfield > 4096, "the case the crate's reader panics on");
            }
            let reopened = clone_of(&source, dir.path()).await;
            assert_holds(&reopened, length, |_| true).await;
            // And it keeps growing after the reopen, and reopens again.
            source.append(&block(length)).await.unwrap();
            download(&source, &reopened, [length].into_iter()).await;
            drop(reopened);
            let again = clone_of(&source, dir.path()).await;
            assert_eq!(again.info().length, length + 1);
            assert_eq!(again.get(length).await.unwrap(), Some(block(length)));
        }
    }

    #[tokio::test]
    async fn a_clone_with_holes_reopens_with_exactly_the_blocks_it_held() {
        let length = 40_000;
        let source = writer(length).await;
        let dir = tempfile::tempdir().unwrap();
        let clone = clone_of(&source, dir.path()).await;
        // Newest first, as delivery asks, leaving holes below.
        let held = |i: u64| i >= 35_000 || (i.is_multiple_of(7) && i > 1_000);
        download(&source, &clone, (0..length).rev().filter(|&i| held(i))).await;
        drop(clone);
        let reopened = clone_of(&source, dir.path()).await;
        assert_holds(&reopened, length, held).await;
    }

    #[tokio::test]
    async fn a_reopened_clone_keeps_unflushed_entries_until_the_crate_flushes_them() {
        let source = writer(50).await;
        let dir = tempfile::tempdir().unwrap();
        for round in 0..6u64 {
            // One block per open: each open replays the entries of the last,
            // and a new entry must not overwrite them.
            let clone = clone_of(&source, dir.path()).await;
            download(&source, &clone, [round * 3].into_iter()).await;
        }
        let reopened = clone_of(&source, dir.path()).await;
        assert_holds(&reopened, 50, |i| i % 3 == 0 && i <= 15).await;
    }

    #[tokio::test]
    async fn a_torn_oplog_tail_is_cut_instead_of_failing_the_open() {
        let source = writer(10).await;
        let dir = tempfile::tempdir().unwrap();
        let clone = clone_of(&source, dir.path()).await;
        download(&source, &clone, 0..10).await;
        drop(clone);
        let oplog = dir.path().join("oplog");
        let mut bytes = std::fs::read(&oplog).unwrap();
        bytes.extend([0x55; 21]);
        std::fs::write(&oplog, bytes).unwrap();
        let reopened = clone_of(&source, dir.path()).await;
        assert_eq!(reopened.info().length, 10);
        assert!((0..10).all(|i| reopened.has(i)));
    }

    /// Like `download`, on a core whose process is "killed": stops at the
    /// first failure, since what it reads back may never have been written.
    async fn download_until_killed(writer: &Hypercore, clone: &Hypercore, range: Vec<u64>) {
        let _ = try_download(writer, clone, range.into_iter()).await;
    }

    /// Opens the clone in `dir` with its files cut off after `writes` writes.
    async fn killed_after(writes: i64, dir: &Path) -> Hypercore {
        let budget = Some(Arc::new(AtomicI64::new(writes)));
        let storage = open_storage_until(dir, true, budget).await.unwrap();
        HypercoreBuilder::new(storage)
            .open(true)
            .build()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_kill_at_any_write_leaves_a_clone_that_opens_with_what_it_held() {
        let source = writer(120).await;
        // Deterministic, varied kill points: every write count early on,
        // then spread further.
        for run in 0..60i64 {
            let dir = tempfile::tempdir().unwrap();
            let clone = clone_of(&source, dir.path()).await;
            download(&source, &clone, (90..100).rev()).await;
            drop(clone);
            // Killed while catching up, then killed again soon after the
            // next start (the window in which the crate writes over the
            // entries it has just replayed).
            let first = killed_after(run * 7 % 97, dir.path()).await;
            download_until_killed(&source, &first, (40..90).rev().collect()).await;
            drop(first);
            let second = killed_after(run % 9, dir.path()).await;
            download_until_killed(&source, &second, (0..40).rev().collect()).await;
            drop(second);

            let reopened = clone_of(&source, dir.path()).await;
            assert_eq!(reopened.info().length, 120, "run {run}");
            for index in 0..120 {
                if reopened.has(index) {
                    let got = reopened.get(index).await.unwrap();
                    assert_eq!(got, Some(block(index)), "run {run}, block {index}");
                }
            }
            assert!(
                (90..100).all(|i| reopened.has(i)),
                "run {run}: what the first session held"
            );
            // And it carries on to hold everything.
            let missing: Vec<u64> = (0..120).filter(|&i| !reopened.has(i)).collect();
            download(&source, &reopened, missing.into_iter()).await;
            drop(reopened);
            let last = clone_of(&source, dir.path()).await;
            assert_holds(&last, 120, |_| true).await;
        }
    }

    #[test]
    fn runs_follow_the_bit_order_of_the_file() {
        assert_eq!(held_runs(&[]), vec![]);
        assert_eq!(held_runs(&[0b0000_0001]), vec![(0, 1)]);
        assert_eq!(held_runs(&[0xff, 0xff, 0x0f]), vec![(0, 20)]);
        assert_eq!(
            held_runs(&[0b1010_0000, 0, 0xff]),
            vec![(5, 1), (7, 1), (16, 8)]
        );
    }

    proptest! {
        #[test]
        fn runs_cover_exactly_the_set_bits(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let runs = held_runs(&bytes);
            let mut bits = vec![false; bytes.len() * 8];
            let mut last_end = None;
            for (start, length) in runs {
                prop_assert!(length > 0);
                prop_assert!(last_end.is_none_or(|end| start > end), "runs are apart and ordered");
                for i in start..start + length {
                    bits[i as usize] = true;
                }
                last_end = Some(start + length);
            }
            for (i, bit) in bits.iter().enumerate() {
                prop_assert_eq!(*bit, bytes[i / 8] & (1 << (i % 8)) != 0);
            }
        }

        #[test]
        fn whatever_the_oplog_holds_presenting_it_never_panics(
            oplog in proptest::collection::vec(any::<u8>(), 0..10_000),
            bitfield in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let shown = present_oplog(&oplog, &bitfield);
            prop_assert!(shown.view.len() >= ENTRIES);
            prop_assert!(shown.stored_len <= oplog.len() as u64);
            let _ = has_header(&oplog);
        }

    }
}
