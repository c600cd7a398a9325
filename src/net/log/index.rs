//! The local message index of one log: a JSON-lines file of decoded blocks
//! beside the hypercore (`index.jsonl`, in the order delivered) and where
//! each seq's line starts (`index.pos`). Start-up reads only the positions;
//! history is read a page at a time (`IndexReader`), so showing a log never
//! depends on hypercore's slow reads nor holds the log in memory
//! (docs/architecture.md §2, "Disk speed"; §4, "History"). Owns the file
//! format; knows nothing of the network.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use time::OffsetDateTime;

use crate::domain::message::{ChatMessage, MAX_BLOCK_BYTES};
use crate::net::log::seqset::{SeqSet, MAX_SEQ};

const INDEX_FILE: &str = "index.jsonl";
/// Where each seq's line starts: 8 bytes per seq, little-endian, the line's
/// byte offset in `index.jsonl` plus one; 0 when the seq is not indexed.
const POSITIONS_FILE: &str = "index.pos";
/// Bytes of a position record.
const POSITION_BYTES: u64 = 8;
/// The tail of `index.jsonl` whose lines are checked at open: a power cut
/// can tear what was written last, and a position pointing at a torn line
/// would hide its block for good.
const CHECKED_TAIL: u64 = 64 * 1024;
/// Positions read at once when scanning.
const CHUNK: u64 = 512;
/// Longest line read back: a block is at most `MAX_BLOCK_BYTES`, escaped.
pub(crate) const MAX_LINE: usize = 8 * MAX_BLOCK_BYTES + 1024;

/// One indexed block: its message, or `None` when the block was undecodable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexEntry {
    pub seq: u64,
    pub message: Option<ChatMessage>,
    /// When a block without a timestamp arrived, so history shows it where
    /// it was first seen.
    pub arrived: Option<OffsetDateTime>,
}

#[derive(Serialize)]
struct LineOut<'a> {
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    block: Option<&'a RawValue>,
    /// Unix milliseconds, only for blocks without a timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    arrived: Option<i64>,
}

#[derive(Deserialize)]
struct LineIn<'a> {
    seq: u64,
    #[serde(borrow, default)]
    block: Option<&'a RawValue>,
    #[serde(default)]
    arrived: Option<i64>,
}

impl LineIn<'_> {
    fn entry(&self) -> IndexEntry {
        IndexEntry {
            seq: self.seq,
            message: self
                .block
                .and_then(|raw| ChatMessage::decode(raw.get().as_bytes()).ok()),
            arrived: self.arrived.and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            }),
        }
    }
}

/// An open index, appended to as blocks are delivered.
#[derive(Debug)]
pub(crate) struct LogIndex {
    writer: BufWriter<File>,
    /// Length of `index.jsonl`, buffered bytes included.
    end: u64,
    positions: File,
    /// Positions of lines still in `writer`'s buffer, written after it.
    pending: Vec<(u64, u64)>,
}

impl LogIndex {
    /// Opens (or creates) the index in `dir` and returns which seqs it
    /// holds. Reads only the positions (and the last lines); an index from
    /// an older hychat, without positions, is read once to make them.
    pub(crate) fn open(dir: &Path) -> io::Result<(Self, SeqSet)> {
        let path = dir.join(INDEX_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)?;
        // A torn last line must not swallow the next record.
        if ends_without_newline(&mut file)? {
            file.write_all(b"\n")?;
        }
        let end = file.metadata()?.len();
        let positions_path = dir.join(POSITIONS_FILE);
        let made = !positions_path.exists();
        let positions = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&positions_path)?;
        let held = if made {
            rebuild_positions(&file, &positions)?
        } else {
            read_positions(&file, &positions, end)?
        };
        let index = Self {
            writer: BufWriter::new(file),
            end,
            positions,
            pending: Vec::new(),
        };
        Ok((index, held))
    }

    /// Records a delivered block. Call `flush` after a batch.
    pub(crate) fn record(
        &mut self,
        seq: u64,
        message: Option<&ChatMessage>,
        now: OffsetDateTime,
    ) -> io::Result<()> {
        if seq > MAX_SEQ {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seq out of range",
            ));
        }
        let encoded = message.map(|m| String::from_utf8_lossy(&m.encode()).into_owned());
        let raw = match &encoded {
            Some(json) => Some(
                RawValue::from_string(json.clone())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
            ),
            None => None,
        };
        let arrived = message
            .is_some_and(|m| m.timestamp.is_none())
            .then(|| (now.unix_timestamp_nanos() / 1_000_000) as i64);
        let line = LineOut {
            seq,
            block: raw.as_deref(),
            arrived,
        };
        let mut bytes = serde_json::to_vec(&line)?;
        bytes.push(b'\n');
        self.writer.write_all(&bytes)?;
        self.pending.push((seq, self.end));
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// Writes the buffered lines, then their positions: a position never
    /// points past what was written.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()?;
        for (seq, offset) in self.pending.drain(..) {
            write_position(&self.positions, seq, offset)?;
        }
        Ok(())
    }
}

/// Records that `seq`'s line starts at `offset`.
fn write_position(positions: &File, seq: u64, offset: u64) -> io::Result<()> {
    store_position(positions, seq, offset + 1)
}

/// Writes a stored position as it is (0 clears it).
fn store_position(positions: &File, seq: u64, stored: u64) -> io::Result<()> {
    let at = seq
        .checked_mul(POSITION_BYTES)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seq out of range"))?;
    positions.write_all_at(&stored.to_le_bytes(), at)
}

/// The seqs the positions file names, dropping positions past the end of
/// `index.jsonl` and those in its tail that do not point at their line.
fn read_positions(index: &File, positions: &File, end: u64) -> io::Result<SeqSet> {
    let mut held = SeqSet::default();
    let mut reader = BufReader::with_capacity(1 << 16, positions.try_clone()?);
    reader.seek(SeekFrom::Start(0))?;
    let mut record = [0u8; POSITION_BYTES as usize];
    let mut seq = 0u64;
    loop {
        match reader.read_exact(&mut record) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        let stored = u64::from_le_bytes(record);
        if stored != 0 {
            let offset = stored - 1;
            let whole = offset < end
                && (offset + CHECKED_TAIL < end
                    || read_line(index, offset).is_some_and(|e| e.seq == seq));
            if whole {
                held.insert(seq);
            } else {
                store_position(positions, seq, 0)?;
            }
        }
        seq += 1;
        if seq > MAX_SEQ {
            break;
        }
    }
    Ok(held)
}

/// Makes the positions from `index.jsonl` (an index from an older hychat):
/// the last line of each seq wins, as a later line is a redelivery.
fn rebuild_positions(index: &File, positions: &File) -> io::Result<SeqSet> {
    let mut held = SeqSet::default();
    let mut reader = BufReader::with_capacity(1 << 16, index.try_clone()?);
    reader.seek(SeekFrom::Start(0))?;
    let mut offset = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        if let Ok(parsed) = serde_json::from_slice::<LineIn>(&line) {
            if parsed.seq <= MAX_SEQ {
                held.insert(parsed.seq);
                write_position(positions, parsed.seq, offset)?;
            }
        }
        offset += read as u64;
    }
    Ok(held)
}

/// The line starting at `offset`, parsed; `None` when it is torn or not a line.
fn read_line(index: &File, offset: u64) -> Option<IndexEntry> {
    let mut buffer = vec![0u8; 512];
    let mut filled = 0;
    loop {
        let read = index
            .read_at(&mut buffer[filled..], offset + filled as u64)
            .ok()?;
        if read == 0 {
            return None;
        }
        let start = filled;
        filled += read;
        if let Some(newline) = buffer[start..filled].iter().position(|b| *b == b'\n') {
            return parse_line(&buffer[..start + newline]);
        }
        if filled == buffer.len() {
            if buffer.len() >= MAX_LINE {
                return None;
            }
            buffer.resize(buffer.len() * 2, 0);
        }
    }
}

/// The entry one line of `index.jsonl` holds (its newline left off), or
/// `None` when the line does not parse.
pub(crate) fn parse_line(line: &[u8]) -> Option<IndexEntry> {
    serde_json::from_slice::<LineIn>(line)
        .ok()
        .map(|l| l.entry())
}

/// Whether a stored position (as `IndexReader::positions_from` gives
/// them) names the line starting at byte `offset` of `index.jsonl`: of a
/// redelivered seq's several lines, only that one counts.
pub(crate) fn names_line(stored: u64, offset: u64) -> bool {
    offset.checked_add(1) == Some(stored)
}

/// Read access to a log's index from anywhere, while its task writes it:
/// the entry of any seq, and every entry in the order delivered.
#[derive(Debug)]
pub(crate) struct IndexReader {
    index: File,
    positions: File,
}

impl IndexReader {
    /// `None` when the log has no index yet.
    pub(crate) fn open(dir: &Path) -> Option<Self> {
        Some(Self {
            index: File::open(dir.join(INDEX_FILE)).ok()?,
            positions: File::open(dir.join(POSITIONS_FILE)).ok()?,
        })
    }

    /// One past the highest seq with a position (holes included).
    pub(crate) fn len(&self) -> u64 {
        self.positions
            .metadata()
            .map_or(0, |m| m.len() / POSITION_BYTES)
    }

    /// The stored positions of up to `CHUNK` seqs from `from` (below
    /// `until`), as `(first seq, positions)`; 0 marks a hole. Empty past
    /// the end.
    pub(crate) fn positions_from(&self, from: u64, until: u64) -> (u64, Vec<u64>) {
        let until = until.min(self.len()).min(from.saturating_add(CHUNK));
        (from, self.positions_between(from, until))
    }

    /// The stored positions of up to `CHUNK` seqs just below `end` (not
    /// below `from`), as `(first seq, positions)`.
    pub(crate) fn positions_before(&self, end: u64, from: u64) -> (u64, Vec<u64>) {
        let end = end.min(self.len());
        let start = end.saturating_sub(CHUNK).max(from);
        (start, self.positions_between(start, end))
    }

    fn positions_between(&self, start: u64, end: u64) -> Vec<u64> {
        if end <= start {
            return Vec::new();
        }
        let mut bytes = vec![0u8; ((end - start) * POSITION_BYTES) as usize];
        let mut filled = 0;
        while filled < bytes.len() {
            match self
                .positions
                .read_at(&mut bytes[filled..], start * POSITION_BYTES + filled as u64)
            {
                Ok(0) | Err(_) => break,
                Ok(read) => filled += read,
            }
        }
        bytes[..filled - filled % POSITION_BYTES as usize]
            .chunks_exact(POSITION_BYTES as usize)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect()
    }

    /// Length of `index.jsonl` now.
    pub(crate) fn index_len(&self) -> u64 {
        self.index.metadata().map_or(0, |m| m.len())
    }

    /// Reads `index.jsonl` from byte `offset` into `buffer`, as much as it
    /// holds or the file has; how many bytes were read (fewer only at the
    /// end or on an error).
    pub(crate) fn read_index_at(&self, buffer: &mut [u8], offset: u64) -> usize {
        let mut filled = 0;
        while filled < buffer.len() {
            match self
                .index
                .read_at(&mut buffer[filled..], offset + filled as u64)
            {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        filled
    }

    /// The entry of `seq`, when it is indexed.
    pub(crate) fn get(&self, seq: u64) -> Option<IndexEntry> {
        let mut record = [0u8; POSITION_BYTES as usize];
        self.positions
            .read_exact_at(&mut record, seq.checked_mul(POSITION_BYTES)?)
            .ok()?;
        let stored = u64::from_le_bytes(record);
        let entry = read_line(&self.index, stored.checked_sub(1)?)?;
        (entry.seq == seq).then_some(entry)
    }

    /// Every indexed entry once, in the order the index holds them (the
    /// order delivered), without holding them all.
    pub(crate) fn entries(&self) -> io::Result<impl Iterator<Item = IndexEntry> + '_> {
        let mut reader = BufReader::with_capacity(1 << 16, self.index.try_clone()?);
        reader.seek(SeekFrom::Start(0))?;
        let mut offset = 0u64;
        Ok(std::iter::from_fn(move || loop {
            let mut line = Vec::new();
            let read = reader.read_until(b'\n', &mut line).ok()?;
            if read == 0 {
                return None;
            }
            let start = offset;
            offset += read as u64;
            let Ok(parsed) = serde_json::from_slice::<LineIn>(&line) else {
                continue;
            };
            // A redelivered seq has several lines; the one its position names counts.
            let mut record = [0u8; POSITION_BYTES as usize];
            let current = parsed
                .seq
                .checked_mul(POSITION_BYTES)
                .and_then(|at| self.positions.read_exact_at(&mut record, at).ok())
                .is_some_and(|()| u64::from_le_bytes(record) == start + 1);
            if current {
                return Some(parsed.entry());
            }
        }))
    }
}

/// A log's index read from beginning to end, and then again as it grows,
/// by a process that does not write it (the writer may be another process):
/// only whole lines are taken, so a line being written is read next time.
/// A seq can come more than once (a redelivery writes its line again).
#[derive(Debug)]
pub(crate) struct IndexFollower {
    path: std::path::PathBuf,
    /// Where the next unread line starts.
    offset: u64,
}

impl IndexFollower {
    /// At the start of the index in `dir`, which need not exist yet.
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            path: dir.join(INDEX_FILE),
            offset: 0,
        }
    }

    /// Hands `each` every entry of the whole lines written since the last
    /// call (all of them at the first), in the order written. Lines that
    /// do not parse (torn by a crash) are skipped. A missing index holds
    /// nothing yet; an index that shrank (made afresh) is read again from
    /// its start.
    pub(crate) fn read_new(&mut self, mut each: impl FnMut(IndexEntry)) -> io::Result<()> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let size = file.metadata()?.len();
        if size < self.offset {
            self.offset = 0;
        }
        if size == self.offset {
            return Ok(());
        }
        let mut reader = BufReader::with_capacity(1 << 16, file);
        reader.seek(SeekFrom::Start(self.offset))?;
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if read == 0 || line.last() != Some(&b'\n') {
                // The end, or a line still being written; or more bytes
                // without a newline than any block makes, which are skipped.
                if read > MAX_LINE {
                    self.offset += read as u64;
                    continue;
                }
                return Ok(());
            }
            self.offset += read as u64;
            if let Ok(parsed) = serde_json::from_slice::<LineIn>(&line) {
                each(parsed.entry());
            }
        }
    }
}

fn ends_without_newline(file: &mut File) -> io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    fn entry(seq: u64, message: Option<ChatMessage>) -> IndexEntry {
        IndexEntry {
            seq,
            message,
            arrived: None,
        }
    }

    fn all(dir: &Path) -> Vec<IndexEntry> {
        IndexReader::open(dir).unwrap().entries().unwrap().collect()
    }

    #[test]
    fn entries_survive_a_reopen_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let message = ChatMessage::new_chat("ann", "hi", datetime!(2026-11-24 10:00 UTC));
        {
            let (mut index, held) = LogIndex::open(dir.path()).unwrap();
            assert!(held.is_empty());
            index.record(0, Some(&message), NOW).unwrap();
            index.record(1, None, NOW).unwrap();
            index.flush().unwrap();
        }
        let mut raw = OpenOptions::new()
            .append(true)
            .open(dir.path().join(INDEX_FILE))
            .unwrap();
        raw.write_all(b"{\"seq\":2,\"blo").unwrap();
        let (mut index, held) = LogIndex::open(dir.path()).unwrap();
        assert_eq!((held.len(), held.contains(2)), (2, false));
        index.record(3, None, NOW).unwrap();
        index.flush().unwrap();
        let reader = IndexReader::open(dir.path()).unwrap();
        assert_eq!(reader.len(), 4);
        assert_eq!(reader.get(0), Some(entry(0, Some(message.clone()))));
        assert_eq!(reader.get(2), None);
        assert_eq!(reader.get(3), Some(entry(3, None)));
        assert_eq!(
            all(dir.path()),
            vec![entry(0, Some(message)), entry(1, None), entry(3, None)]
        );
    }

    #[test]
    fn a_redelivered_seq_counts_once_at_its_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let (mut index, _) = LogIndex::open(dir.path()).unwrap();
        let first = ChatMessage::new_chat("ann", "one", NOW);
        index.record(0, Some(&first), NOW).unwrap();
        index.record(1, None, NOW).unwrap();
        index.record(0, Some(&first), NOW).unwrap();
        index.flush().unwrap();
        assert_eq!(all(dir.path()), vec![entry(1, None), entry(0, Some(first))]);
    }

    #[test]
    fn an_index_without_positions_gets_them_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let lines = "{\"seq\":5,\"block\":{\"type\":\"chat-message\",\"nickname\":\"ann\",\"text\":\"x\"}}\n{\"seq\":2}\n";
        std::fs::write(dir.path().join(INDEX_FILE), lines).unwrap();
        let (_, held) = LogIndex::open(dir.path()).unwrap();
        assert_eq!(
            (held.len(), held.contains(5), held.contains(2)),
            (2, true, true)
        );
        let reader = IndexReader::open(dir.path()).unwrap();
        assert_eq!(
            reader.get(5).and_then(|e| e.message).map(|m| m.text),
            Some("x".into())
        );
    }

    #[test]
    fn a_position_past_the_lines_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut index, _) = LogIndex::open(dir.path()).unwrap();
            for seq in 0..3 {
                index.record(seq, None, NOW).unwrap();
            }
            index.flush().unwrap();
        }
        // A power cut kept the positions but lost the last line.
        let path = dir.path().join(INDEX_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        let cut = text.trim_end().rfind('\n').unwrap() + 1;
        std::fs::write(&path, &text[..cut]).unwrap();
        let (_, held) = LogIndex::open(dir.path()).unwrap();
        assert_eq!((held.len(), held.contains(2)), (2, false));
    }

    #[test]
    fn a_follower_reads_whole_lines_as_they_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut follower = IndexFollower::new(dir.path());
        let mut seen = Vec::new();
        follower.read_new(|e| seen.push(e.seq)).unwrap();
        assert!(seen.is_empty(), "no index yet");
        let (mut index, _) = LogIndex::open(dir.path()).unwrap();
        let message = ChatMessage::new_chat("ann", "hi", NOW);
        for seq in [3, 1] {
            index.record(seq, Some(&message), NOW).unwrap();
        }
        index.flush().unwrap();
        follower.read_new(|e| seen.push(e.seq)).unwrap();
        assert_eq!(seen, vec![3, 1], "in the order written");
        // Half a line: taken once it is whole.
        let mut raw = OpenOptions::new()
            .append(true)
            .open(dir.path().join(INDEX_FILE))
            .unwrap();
        raw.write_all(b"{\"seq\":7").unwrap();
        follower.read_new(|e| seen.push(e.seq)).unwrap();
        assert_eq!(seen, vec![3, 1]);
        raw.write_all(b"}\nnot json\n{\"seq\":8}\n").unwrap();
        follower.read_new(|e| seen.push(e.seq)).unwrap();
        assert_eq!(seen, vec![3, 1, 7, 8], "a torn line is skipped");
        // Made afresh: read again from its start.
        std::fs::write(dir.path().join(INDEX_FILE), "{\"seq\":0}\n").unwrap();
        follower.read_new(|e| seen.push(e.seq)).unwrap();
        assert_eq!(seen, vec![3, 1, 7, 8, 0]);
    }

    #[test]
    fn untimestamped_blocks_keep_their_arrival() {
        let dir = tempfile::tempdir().unwrap();
        let (mut index, _) = LogIndex::open(dir.path()).unwrap();
        let mut message = ChatMessage::new_chat("ann", "when?", NOW);
        message.timestamp = None;
        index.record(0, Some(&message), NOW).unwrap();
        index.flush().unwrap();
        let got = IndexReader::open(dir.path()).unwrap().get(0).unwrap();
        assert_eq!(got.arrived, Some(NOW));
    }
}
