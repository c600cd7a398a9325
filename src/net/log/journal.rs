//! hychat's own durable record of a log's blocks: one append-only file of
//! framed records, written and synced before an append is acknowledged.
//! A hypercore is rebuilt from it at start (see `own`), so nothing depends on
//! the pinned hypercore reopening its own files (compat: hypercore row).
//!
//! The file is `MAGIC`, then one record per block:
//! `[length: u32 LE][crc32 of the bytes: u32 LE][the block's bytes]`.
//! A crash can only leave a torn last record (a short frame, or bytes whose
//! checksum does not match); reading stops there and the tail is cut off, so
//! every block before it, each of which was synced before it was
//! acknowledged, is kept.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The first bytes of every journal.
pub(crate) const MAGIC: &[u8] = b"hychat-log/1\n";
/// A record longer than this is not a block hychat wrote: the frame is torn.
pub(crate) const MAX_RECORD: usize = 16 * 1024 * 1024;
const FRAME: usize = 8;

/// Why a file is not a journal at all (as opposed to one with a torn tail).
#[derive(Debug, thiserror::Error)]
pub(crate) enum JournalError {
    #[error("{0} is not a hychat log journal")]
    NotAJournal(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The bytes of records holding `blocks`.
pub(crate) fn encode<B: AsRef<[u8]>>(blocks: &[B]) -> Vec<u8> {
    let size = blocks.iter().map(|b| FRAME + b.as_ref().len()).sum();
    let mut out = Vec::with_capacity(size);
    for block in blocks {
        let block = block.as_ref();
        out.extend_from_slice(&(block.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(block).to_le_bytes());
        out.extend_from_slice(block);
    }
    out
}

/// An open journal, positioned to append.
#[derive(Debug)]
pub(crate) struct Journal {
    file: File,
    blocks: u64,
    /// Where the last whole record ends: a failed append is cut back to here.
    end: u64,
    /// Set when a failed append could not be cut back: the file may end in
    /// a partial record, and a record written after it would be lost at the
    /// next start (reading stops at the torn one), so nothing more is.
    broken: Option<String>,
}

impl Journal {
    /// Opens (or creates) a journal and returns it with every block it
    /// holds. A torn tail is cut off, and said so in the log file.
    pub(crate) fn open(path: &Path) -> Result<(Self, Vec<Vec<u8>>), JournalError> {
        Self::open_from(path, 0)
    }

    /// `open`, returning only the blocks from index `skip` on (all of them
    /// are still checked).
    pub(crate) fn open_from(path: &Path, skip: u64) -> Result<(Self, Vec<Vec<u8>>), JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let size = file.metadata()?.len();
        // Read as a stream: a journal of a million messages is not held in
        // memory to be opened.
        let mut reader = io::BufReader::with_capacity(1 << 20, &file);
        let mut head = vec![0; MAGIC.len().min(size as usize)];
        reader.read_exact(&mut head)?;
        if !MAGIC.starts_with(&head) {
            return Err(JournalError::NotAJournal(path.display().to_string()));
        }
        let mut count = 0u64;
        let mut blocks = Vec::new();
        let mut valid_len = head.len() as u64;
        if head.len() == MAGIC.len() {
            let mut frame = [0; FRAME];
            let mut body = Vec::new();
            while reader.read_exact(&mut frame).is_ok() {
                let length = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
                let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
                if length > MAX_RECORD {
                    break;
                }
                body.resize(length, 0);
                if reader.read_exact(&mut body).is_err() || crc32fast::hash(&body) != crc {
                    break;
                }
                if count >= skip {
                    blocks.push(body.clone());
                }
                count += 1;
                valid_len += (FRAME + length) as u64;
            }
        }
        drop(reader);
        if head.len() < MAGIC.len() {
            // Never written, or its first write cut short: start it afresh.
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(MAGIC)?;
            file.sync_all()?;
            sync_parent(path);
        } else if valid_len < size {
            tracing::warn!(
                path = %path.display(),
                kept = count,
                dropped_bytes = size - valid_len,
                "the log journal ends in a torn record (a crash during a write); cutting it off"
            );
            file.set_len(valid_len)?;
            file.sync_all()?;
        }
        let end = file.seek(SeekFrom::End(0))?;
        Ok((
            Self {
                file,
                blocks: count,
                end,
                broken: None,
            },
            blocks,
        ))
    }

    /// Writes a journal holding `blocks` at `path` in one go, replacing any
    /// file there only once the new one is on disk (write, sync, rename).
    pub(crate) fn create_with<B: AsRef<[u8]>>(path: &Path, blocks: &[B]) -> io::Result<()> {
        let staging = path.with_extension("staging");
        {
            let mut file = File::create(&staging)?;
            file.write_all(MAGIC)?;
            file.write_all(&encode(blocks))?;
            file.sync_all()?;
        }
        std::fs::rename(&staging, path)?;
        sync_parent(path);
        Ok(())
    }

    /// How many blocks the journal holds.
    pub(crate) fn len(&self) -> u64 {
        self.blocks
    }

    /// Appends blocks in one write and waits until they are on disk (one
    /// sync for all of them). Only then may they be acknowledged. When the
    /// write or the sync fails, none of them is, and the file is cut back to
    /// its last whole record so later appends are not written after a
    /// partial one.
    pub(crate) fn append<B: AsRef<[u8]>>(&mut self, blocks: &[B]) -> io::Result<()> {
        if let Some(reason) = &self.broken {
            return Err(io::Error::other(reason.clone()));
        }
        let bytes = encode(blocks);
        match self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
        {
            Ok(()) => {
                self.end += bytes.len() as u64;
                self.blocks += blocks.len() as u64;
                Ok(())
            }
            Err(e) => {
                self.cut_back();
                Err(e)
            }
        }
    }

    /// Cuts the file back to its last whole record after a failed append.
    fn cut_back(&mut self) {
        let cut = self
            .file
            .set_len(self.end)
            .and_then(|()| self.file.seek(SeekFrom::Start(self.end)).map(drop))
            .and_then(|()| self.file.sync_data());
        if let Err(e) = cut {
            tracing::error!(error = %e, "cannot cut the log journal back after a failed write");
            self.broken = Some(format!(
                "the log journal could not be repaired after a failed write ({e}); restart hychat"
            ));
        }
    }
}

/// Syncs the directory holding `path`, so a new or renamed file's name is on
/// disk too. Best effort: not every filesystem allows it.
pub(crate) fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `Journal::open` makes of a file holding `bytes`: the blocks it
    /// keeps and the file's length after it cut any torn tail; `None` when it
    /// refuses the file as not a journal.
    fn decode(bytes: &[u8]) -> Option<Decoded> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blocks");
        std::fs::write(&path, bytes).unwrap();
        let (_, blocks) = Journal::open(&path).ok()?;
        let valid_len = std::fs::metadata(&path).unwrap().len() as usize;
        Some(Decoded { blocks, valid_len })
    }

    struct Decoded {
        blocks: Vec<Vec<u8>>,
        valid_len: usize,
    }

    fn owned(blocks: &[&[u8]]) -> Vec<Vec<u8>> {
        blocks.iter().map(|b| b.to_vec()).collect()
    }

    fn journal(blocks: &[&[u8]]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(encode(blocks));
        bytes
    }

    #[test]
    fn records_round_trip() {
        let bytes = journal(&[b"one", b"", b"three"]);
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded.blocks, owned(&[b"one", b"", b"three"]));
        assert_eq!(decoded.valid_len, bytes.len());
    }

    #[test]
    fn a_torn_or_corrupt_tail_is_cut_at_the_last_whole_record() {
        let whole = journal(&[b"one", b"two"]);
        let first_end = MAGIC.len() + FRAME + 3;
        for cut in first_end..whole.len() {
            let decoded = decode(&whole[..cut]).unwrap();
            assert_eq!(decoded.blocks, owned(&[b"one"]), "cut at {cut}");
            assert_eq!(decoded.valid_len, first_end);
        }
        let mut flipped = whole.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped).unwrap().blocks, owned(&[b"one"]));
        assert!(decode(b"something else").is_none());
        // A first write cut short: started afresh, not refused.
        let fresh = decode(&MAGIC[..5]).unwrap();
        assert!(fresh.blocks.is_empty());
        assert_eq!(fresh.valid_len, MAGIC.len());
    }

    #[test]
    fn open_cuts_a_torn_tail_and_appends_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blocks");
        let (mut journal, blocks) = Journal::open(&path).unwrap();
        assert!(blocks.is_empty());
        journal.append(&[b"a".as_slice(), b"bb"]).unwrap();
        drop(journal);
        // A crash in the middle of the next record.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&encode(&[b"ccc"])[..5]).unwrap();
        drop(file);
        let (mut journal, blocks) = Journal::open(&path).unwrap();
        assert_eq!(blocks, vec![b"a".to_vec(), b"bb".to_vec()]);
        journal.append(&[b"d"]).unwrap();
        drop(journal);
        let (journal, blocks) = Journal::open(&path).unwrap();
        assert_eq!(journal.len(), 3);
        assert_eq!(blocks[2], b"d");
    }

    #[test]
    fn a_failed_append_is_cut_back_so_later_appends_survive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blocks");
        let (mut journal, _) = Journal::open(&path).unwrap();
        journal.append(&[b"kept"]).unwrap();
        // What a write that fails half way (a full disk) leaves behind.
        journal.file.write_all(&encode(&[b"lost"])[..6]).unwrap();
        journal.cut_back();
        journal.append(&[b"after"]).unwrap();
        drop(journal);
        let (_, blocks) = Journal::open(&path).unwrap();
        assert_eq!(blocks, vec![b"kept".to_vec(), b"after".to_vec()]);
    }

    #[test]
    fn a_journal_that_cannot_be_cut_back_refuses_further_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blocks");
        let (mut journal, _) = Journal::open(&path).unwrap();
        // A read-only handle: the write fails, and so does the cut.
        journal.file = File::open(&path).unwrap();
        assert!(journal.append(&[b"one"]).is_err());
        let err = journal.append(&[b"two"]).unwrap_err();
        assert!(err.to_string().contains("restart hychat"), "{err}");
    }

    #[test]
    fn create_with_replaces_a_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blocks");
        Journal::create_with(&path, &[b"x"]).unwrap();
        Journal::create_with(&path, &[b"y", b"z"]).unwrap();
        let (_, blocks) = Journal::open(&path).unwrap();
        assert_eq!(blocks, vec![b"y".to_vec(), b"z".to_vec()]);
        assert!(!path.with_extension("staging").exists());
    }

    fn end_of(blocks: &[&[u8]]) -> usize {
        MAGIC.len() + blocks.iter().map(|b| FRAME + b.len()).sum::<usize>()
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut with_magic = MAGIC.to_vec();
            with_magic.extend(&bytes);
            let decoded = decode(&with_magic).unwrap();
            prop_assert!(decoded.valid_len <= with_magic.len());
            let _ = decode(&bytes);
        }

        #[test]
        fn any_prefix_keeps_exactly_the_whole_records(
            blocks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let refs: Vec<&[u8]> = blocks.iter().map(|b| b.as_slice()).collect();
            let bytes = journal(&refs);
            let cut = MAGIC.len() + cut.index(bytes.len() - MAGIC.len() + 1);
            let decoded = decode(&bytes[..cut]).unwrap();
            let mut end = MAGIC.len();
            let whole = refs.iter().take_while(|b| { end += FRAME + b.len(); end <= cut }).count();
            prop_assert_eq!(decoded.blocks, owned(&refs[..whole]));
            prop_assert_eq!(decoded.valid_len, end_of(&refs[..whole]));
        }
    }
}
