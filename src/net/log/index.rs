//! The local message index of one log: a JSON-lines file of decoded blocks
//! beside the hypercore. Start-up and history come from here, so showing a
//! log never depends on hypercore's slow reads (docs/architecture.md §2, "Disk speed").
//! Owns the file format; knows nothing of the network.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::domain::message::ChatMessage;

const INDEX_FILE: &str = "index.jsonl";

/// One indexed block: its message, or `None` when the block was undecodable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexEntry {
    pub seq: u64,
    pub message: Option<ChatMessage>,
}

#[derive(Serialize)]
struct LineOut<'a> {
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    block: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct LineIn<'a> {
    seq: u64,
    #[serde(borrow, default)]
    block: Option<&'a RawValue>,
}

/// An open index, appended to as blocks are delivered.
#[derive(Debug)]
pub(crate) struct LogIndex {
    writer: BufWriter<File>,
}

impl LogIndex {
    /// Opens (or creates) the index in `dir` and returns what it already holds.
    /// Lines that do not parse (a torn last write) are skipped.
    pub(crate) fn open(dir: &Path) -> io::Result<(Self, Vec<IndexEntry>)> {
        let path = dir.join(INDEX_FILE);
        let mut entries = Vec::new();
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                let line = line?;
                let Ok(parsed) = serde_json::from_str::<LineIn>(&line) else {
                    continue;
                };
                let message = parsed
                    .block
                    .and_then(|raw| ChatMessage::decode(raw.get().as_bytes()).ok());
                entries.push(IndexEntry {
                    seq: parsed.seq,
                    message,
                });
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)?;
        // A torn last line must not swallow the next record.
        if ends_without_newline(&mut file)? {
            file.write_all(b"\n")?;
        }
        let index = Self {
            writer: BufWriter::new(file),
        };
        Ok((index, entries))
    }

    /// Records a delivered block. Call `flush` after a batch.
    pub(crate) fn record(&mut self, seq: u64, message: Option<&ChatMessage>) -> io::Result<()> {
        let encoded = message.map(|m| String::from_utf8_lossy(&m.encode()).into_owned());
        let raw = match &encoded {
            Some(json) => Some(
                RawValue::from_string(json.clone())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
            ),
            None => None,
        };
        let line = LineOut {
            seq,
            block: raw.as_deref(),
        };
        serde_json::to_writer(&mut self.writer, &line)?;
        self.writer.write_all(b"\n")
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

fn ends_without_newline(file: &mut File) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
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

    #[test]
    fn entries_survive_a_reopen_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let message = ChatMessage::new_chat("ann", "hi", datetime!(2026-11-24 10:00 UTC));
        {
            let (mut index, existing) = LogIndex::open(dir.path()).unwrap();
            assert!(existing.is_empty());
            index.record(0, Some(&message)).unwrap();
            index.record(1, None).unwrap();
            index.flush().unwrap();
        }
        let mut raw = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(INDEX_FILE))
            .unwrap();
        raw.write_all(b"{\"seq\":2,\"blo").unwrap();
        let (mut index, entries) = LogIndex::open(dir.path()).unwrap();
        index.record(3, None).unwrap();
        index.flush().unwrap();
        let (_, after) = LogIndex::open(dir.path()).unwrap();
        assert_eq!(after.last().map(|e| e.seq), Some(3));
        assert_eq!(
            entries,
            vec![
                IndexEntry {
                    seq: 0,
                    message: Some(message)
                },
                IndexEntry {
                    seq: 1,
                    message: None
                },
            ]
        );
    }
}
