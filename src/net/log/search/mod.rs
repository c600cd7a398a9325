//! A search of one channel's history over the message indexes of its logs:
//! every message of the channel's room whose text contains the query,
//! ignoring case, with the place it sorts at in the channel
//! (docs/architecture.md §4, "Search").
//!
//! Case is ignored by Unicode simple case folding (the `regex` crate's
//! `(?i)`): "zoë" finds "ZOË", "σ" finds "ς". The scan reads `index.jsonl`
//! a megabyte at a time, in pieces shared by a thread per core, and looks
//! for the query in the raw bytes first, escaped as JSON writes it: the
//! index holds each block as hychat decoded and re-encoded it, so a text's
//! bytes in a line are its decoded text, JSON-escaped, and a line whose
//! text holds the query holds those bytes inside its `"text":"…"` value.
//! Only such lines are read, and each is confirmed on its decoded text,
//! room and position (`fast_line::read_fast`, a borrowed reading that gives up on
//! anything unusual and leaves it to the index's own `parse_line`). Where
//! most lines hold those bytes (in a key, a date, a nickname), a piece
//! looks at each line's text value instead of finding each line. A
//! line longer than any the index writes is skipped, as reading it back
//! is. Past `MAX_MATCHES`, the newest are kept and the rest only counted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use regex::bytes::{Regex as BytesRegex, RegexBuilder as BytesRegexBuilder};
use regex::{Regex, RegexBuilder};

use crate::domain::keys::LogKey;
use crate::domain::message::MAX_TEXT_CHARS;
use crate::net::history::{Position, SearchRequest, SearchResults, MAX_MATCHES};
use crate::net::log::history::position_of;
use crate::net::log::index::{self, IndexReader};

/// Most compiled size of either pattern: a query of `MAX_TEXT_CHARS`
/// characters, each with its case variants, fits.
const REGEX_LIMIT: usize = 64 << 20;

/// How a scan cuts its work.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Bytes of `index.jsonl` one thread takes at a time.
    piece: u64,
    /// Bytes read at once.
    read: usize,
}

/// When the lines holding the query's bytes come at least this close
/// (bytes per line, about four lines), a piece looks at every line.
const EVERY_LINE_BYTES: usize = 600;

/// The sizes every search uses (the tests also try tiny ones).
const SIZES: Sizes = Sizes {
    piece: 8 << 20,
    read: 1 << 20,
};

/// Every match of `request` in the indexes in `dirs`, oldest first.
pub(crate) fn search(dirs: &[(LogKey, PathBuf)], request: &SearchRequest) -> SearchResults {
    search_with(dirs, request, SIZES)
}

fn search_with(dirs: &[(LogKey, PathBuf)], request: &SearchRequest, sizes: Sizes) -> SearchResults {
    let room = request.room.as_ref().map(|r| r.as_str());
    let found = match Matcher::new(&request.query) {
        Some(matcher) => scan(dirs, &matcher, room, sizes),
        None => Found::default(),
    };
    let (matches, capped) = found.finish();
    answer(request, matches, capped)
}

/// The answer to `request`: its `matches`, oldest first, and whether older
/// ones were cut.
fn answer(request: &SearchRequest, matches: Vec<Position>, capped: bool) -> SearchResults {
    SearchResults {
        generation: request.generation,
        room: request.room.clone(),
        query: request.query.clone(),
        matches,
        capped,
    }
}

/// The query, compiled twice. Each thread searches with its own clone,
/// which has its own caches.
#[derive(Clone)]
struct Matcher {
    /// The query as JSON writes it, any case: finds the candidate lines.
    raw: BytesRegex,
    /// The key of a text value, up to the value's opening quote.
    text_key: BytesRegex,
    /// The query in a decoded text, any case: confirms a candidate.
    text: Regex,
}

impl Matcher {
    /// `None` when nothing can match: an empty query, or one longer than
    /// any text.
    fn new(query: &str) -> Option<Self> {
        if query.is_empty() || query.chars().count() > MAX_TEXT_CHARS {
            return None;
        }
        let json = serde_json::to_string(query).ok()?;
        let escaped = json.get(1..json.len().saturating_sub(1))?;
        let compiled = (|| {
            let raw = BytesRegexBuilder::new(&format!("(?i){}", regex::escape(escaped)))
                .size_limit(REGEX_LIMIT)
                .build()?;
            let text = RegexBuilder::new(&format!("(?i){}", regex::escape(query)))
                .size_limit(REGEX_LIMIT)
                .build()?;
            let text_key = BytesRegex::new(&regex::escape("\"text\":\""))?;
            Ok::<_, regex::Error>(Self {
                raw,
                text_key,
                text,
            })
        })();
        compiled
            .map_err(|e| tracing::warn!(error = %e, "cannot compile a search query"))
            .ok()
    }

    /// Whether a text value of `line` holds the query's raw bytes.
    fn in_a_text(&self, line: &[u8]) -> bool {
        self.text_key.find_iter(line).any(|key| {
            let value = &line[key.end()..string_end(line, key.end())];
            self.raw.is_match(value)
        })
    }
}

/// Where the JSON string whose contents start at `from` ends (its closing
/// quote, or the end of the line).
fn string_end(line: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(found) = line
        .get(at..)
        .and_then(|rest| find_either(rest, b'"', b'\\'))
    {
        at += found;
        if line[at] == b'"' {
            return at;
        }
        at += 2;
    }
    line.len()
}

/// Eight bytes, as one word.
type Word = u64;
const LOW_SEVEN: Word = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of every zero byte of `word`, and no other bit.
fn zero_bytes(word: Word) -> Word {
    !(((word & LOW_SEVEN).wrapping_add(LOW_SEVEN)) | word | LOW_SEVEN)
}

fn word(bytes: &[u8]) -> Word {
    Word::from_le_bytes(bytes.try_into().unwrap_or_default())
}

/// The first `a` or `b` in `haystack`, looked for a word at a time.
fn find_either(haystack: &[u8], a: u8, b: u8) -> Option<usize> {
    let (a_word, b_word) = (Word::from_ne_bytes([a; 8]), Word::from_ne_bytes([b; 8]));
    let mut chunks = haystack.chunks_exact(8);
    for (index, chunk) in chunks.by_ref().enumerate() {
        let w = word(chunk);
        let found = zero_bytes(w ^ a_word) | zero_bytes(w ^ b_word);
        if found != 0 {
            return Some(index * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let done = haystack.len() - chunks.remainder().len();
    chunks
        .remainder()
        .iter()
        .position(|c| *c == a || *c == b)
        .map(|at| done + at)
}

/// The first `byte` in `haystack`.
fn find_byte(haystack: &[u8], byte: u8) -> Option<usize> {
    find_either(haystack, byte, byte)
}

/// The last `byte` in `haystack`, looked for a word at a time.
fn rfind_byte(haystack: &[u8], byte: u8) -> Option<usize> {
    let pattern = Word::from_ne_bytes([byte; 8]);
    let mut chunks = haystack.rchunks_exact(8);
    for (index, chunk) in chunks.by_ref().enumerate() {
        let found = zero_bytes(word(chunk) ^ pattern);
        if found != 0 {
            let end = haystack.len() - index * 8;
            return Some(end - 1 - (found.leading_zeros() / 8) as usize);
        }
    }
    chunks.remainder().iter().rposition(|c| *c == byte)
}

/// One log's index, open for the scan.
struct Source {
    log: LogKey,
    reader: IndexReader,
    /// Length of `index.jsonl` when the search began: lines written since
    /// are left for the next search.
    len: u64,
}

/// The matches found so far: the newest, and how many in all.
#[derive(Debug, Default)]
struct Found {
    newest: Vec<Position>,
    total: usize,
}

impl Found {
    fn push(&mut self, position: Position) {
        self.total += 1;
        self.newest.push(position);
        if self.newest.len() >= 2 * MAX_MATCHES {
            self.keep_newest();
        }
    }

    fn keep_newest(&mut self) {
        if self.newest.len() > MAX_MATCHES {
            let cut = self.newest.len() - MAX_MATCHES;
            self.newest.select_nth_unstable(cut);
            self.newest.drain(..cut);
        }
    }

    fn merge(&mut self, other: Found) {
        self.total += other.total;
        self.newest.extend(other.newest);
        self.keep_newest();
    }

    /// The newest matches, oldest first, and whether others were left out.
    fn finish(mut self) -> (Vec<Position>, bool) {
        self.keep_newest();
        self.newest.sort_unstable();
        (self.newest, self.total > MAX_MATCHES)
    }
}

/// Scans every index in `dirs`, a piece at a time, on up to a thread per
/// core.
fn scan(dirs: &[(LogKey, PathBuf)], matcher: &Matcher, room: Option<&str>, sizes: Sizes) -> Found {
    let sources: Vec<Source> = dirs
        .iter()
        .filter_map(|(log, dir)| {
            let reader = IndexReader::open(dir)?;
            let len = reader.index_len();
            Some(Source {
                log: *log,
                reader,
                len,
            })
        })
        .collect();
    let piece = sizes.piece.max(1);
    let mut pieces = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        let mut start = 0;
        while start < source.len {
            let end = start.saturating_add(piece).min(source.len);
            pieces.push((index, start, end));
            start = end;
        }
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let matcher = &matcher.clone();
        let mut found = Found::default();
        let mut buffer = Vec::new();
        let mut window = Window::default();
        while let Some(&(index, start, end)) = pieces.get(next.fetch_add(1, Ordering::Relaxed)) {
            let mut piece = Piece {
                index,
                source: &sources[index],
                matcher,
                room,
                end,
                window: &mut window,
                found: &mut found,
                every_line: false,
            };
            piece.scan(start, sizes.read, &mut buffer);
        }
        found
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(pieces.len());
    if threads <= 1 {
        return work();
    }
    std::thread::scope(|scope| {
        // A thread that cannot start leaves its pieces to the others.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut found = work();
        for helper in helpers {
            if let Ok(other) = helper.join() {
                found.merge(other);
            }
        }
        found
    })
}

/// A run of stored positions of one index, kept across lines: lines come
/// mostly in seq order, so a read serves many.
#[derive(Debug, Default)]
struct Window {
    /// Which index's positions these are (its place in `scan`'s sources).
    source: Option<usize>,
    first: u64,
    stored: Vec<u64>,
}

impl Window {
    /// The stored position of `seq` (0 for a hole) in the index
    /// `source`, the `index`th of the scan's.
    fn stored(&mut self, index: usize, source: &Source, seq: u64) -> Option<u64> {
        let held = self.source == Some(index)
            && seq >= self.first
            && seq - self.first < self.stored.len() as u64;
        if !held {
            let (first, stored) = source.reader.positions_from(seq, u64::MAX);
            self.source = Some(index);
            self.first = first;
            self.stored = stored;
        }
        let at = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.stored.get(at).copied()
    }
}

/// One piece of one index being scanned: the lines that start in it.
struct Piece<'a> {
    /// The index's place in the scan's sources.
    index: usize,
    source: &'a Source,
    matcher: &'a Matcher,
    room: Option<&'a str>,
    /// The piece ends before this byte; the line that starts before it and
    /// crosses it is the piece's.
    end: u64,
    window: &'a mut Window,
    found: &'a mut Found,
    /// Most lines hold the query's bytes: every line is looked at.
    every_line: bool,
}

impl Piece<'_> {
    /// Reads the piece from `start`, `read` bytes at a time, into `buffer`.
    fn scan(&mut self, start: u64, read: usize, buffer: &mut Vec<u8>) {
        let read = read.max(1);
        let len = self.source.len;
        // `buffer[..filled]` holds the file from byte `base`; the buffer
        // keeps its size between reads, so it is not cleared each time.
        let mut filled = 0;
        // Read from the byte before `start`: a line starting at `start`
        // follows a newline there.
        let mut base = start.saturating_sub(1);
        let mut next = base;
        // The line that starts before the piece is the piece before's.
        let mut skipping = start > 0;
        loop {
            let want = if next < self.end {
                (self.end - next).min(read as u64)
            } else {
                // Past the end, only the last line's rest is wanted.
                (read as u64).min(4096)
            }
            .min(len.saturating_sub(next)) as usize;
            if buffer.len() < filled + want {
                buffer.resize(filled + want, 0);
            }
            let got = self
                .source
                .reader
                .read_index_at(&mut buffer[filled..filled + want], next);
            let old = filled;
            filled += got;
            next += got as u64;
            let at_end = got < want || want == 0 || next >= len;
            let mut from = 0;
            if skipping {
                match find_byte(&buffer[..filled], b'\n') {
                    Some(newline) => {
                        from = newline + 1;
                        skipping = false;
                    }
                    // A line starting after this newline starts past the piece.
                    None if at_end || next >= self.end => return,
                    None => {
                        base += filled as u64;
                        filled = 0;
                        continue;
                    }
                }
            }
            // The whole lines read (the bytes kept from before hold no
            // newline); at the end of the file, a torn last line counts as
            // one, as the index's own reading takes it.
            let fresh = from.max(old);
            let whole = if at_end {
                filled
            } else {
                rfind_byte(&buffer[fresh..filled], b'\n')
                    .map_or(from, |newline| fresh + newline + 1)
            };
            if self.lines(&buffer[from..whole], base + from as u64) || at_end {
                return;
            }
            buffer.copy_within(whole..filled, 0);
            filled -= whole;
            base += whole as u64;
            if filled > index::MAX_LINE {
                // Longer than any line the index writes: skipped.
                base += filled as u64;
                filled = 0;
                skipping = true;
            }
        }
    }

    /// Looks at the lines in `region` (whole lines, starting at byte
    /// `base`) that hold the query's bytes, or at every line once most
    /// do. True once a line starts at or past the piece's end.
    fn lines(&mut self, region: &[u8], base: u64) -> bool {
        let mut at = 0;
        let mut looked = 0usize;
        while at < region.len() {
            if base + at as u64 >= self.end {
                return true;
            }
            let (start, inside) = if self.every_line {
                (at, at)
            } else {
                let Some(hit) = self.matcher.raw.find_at(region, at) else {
                    break;
                };
                let start = rfind_byte(&region[at..hit.start()], b'\n')
                    .map_or(at, |newline| at + newline + 1);
                (start, hit.start())
            };
            if base + start as u64 >= self.end {
                return true;
            }
            let stop = find_byte(&region[inside..], b'\n')
                .map_or(region.len(), |newline| inside + newline);
            let line = &region[start..stop];
            if line.len() <= index::MAX_LINE && self.matcher.in_a_text(line) {
                self.confirm(line, base + start as u64);
            }
            looked += 1;
            at = stop + 1;
        }
        // A query that a key, a date or a nickname holds is in nearly
        // every line: looking at each then costs less than finding each.
        self.every_line |= looked.saturating_mul(EVERY_LINE_BYTES) > region.len();
        false
    }

    /// Counts the line starting at byte `offset` when it is its seq's,
    /// decodes, is in the room and its text holds the query.
    fn confirm(&mut self, line: &[u8], offset: u64) {
        let source = self.source;
        if let Some(fast) = read_fast(line) {
            if !self.counts(fast.seq, offset) {
                return;
            }
            let Some(block) = &fast.block else {
                return;
            };
            if block.room().as_deref() != self.room || !self.matcher.text.is_match(&block.text()) {
                return;
            }
            self.found.push(fast.position(source.log));
        } else if let Some(entry) = index::parse_line(line) {
            if !self.counts(entry.seq, offset) {
                return;
            }
            let Some(message) = &entry.message else {
                return;
            };
            if message.room.as_deref() != self.room || !self.matcher.text.is_match(&message.text) {
                return;
            }
            self.found.push(position_of(source.log, &entry));
        }
    }

    /// Whether the line at `offset` is the one `seq`'s position names.
    fn counts(&mut self, seq: u64, offset: u64) -> bool {
        self.window
            .stored(self.index, self.source, seq)
            .is_some_and(|stored| index::names_line(stored, offset))
    }
}

mod fast_line;

use fast_line::*;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;
    use time::macros::datetime;
    use time::OffsetDateTime;

    use super::*;
    use crate::domain::message::ChatMessage;
    use crate::domain::RoomName;
    use crate::net::log::index::LogIndex;

    const NOW: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);
    const ANN: LogKey = LogKey([1; 32]);
    const BOB: LogKey = LogKey([2; 32]);

    /// Small pieces and reads, so lines cross both.
    const TINY: Sizes = Sizes {
        piece: 97,
        read: 13,
    };

    /// A message as a log's task records it: decoded from its block.
    fn message(nickname: &str, text: &str, room: Option<&str>, minute: i64) -> ChatMessage {
        let mut message =
            ChatMessage::new_chat(nickname, text, NOW + time::Duration::minutes(minute));
        message.room = room.map(str::to_string);
        ChatMessage::decode(&message.encode()).expect("a block we wrote decodes")
    }

    fn write(dir: &Path, records: &[(u64, Option<ChatMessage>)]) {
        let (mut index, _) = LogIndex::open(dir).unwrap();
        for (seq, message) in records {
            index.record(*seq, message.as_ref(), NOW).unwrap();
        }
        index.flush().unwrap();
    }

    fn request(room: Option<&str>, logs: &[LogKey], query: &str) -> SearchRequest {
        SearchRequest {
            generation: 7,
            room: room.map(|r| RoomName::parse(r).unwrap()),
            logs: logs.to_vec(),
            query: query.to_string(),
        }
    }

    /// Whether two characters are alike ignoring case, for the characters
    /// the tests use.
    fn alike(a: char, b: char) -> bool {
        a == b || a.to_lowercase().eq(b.to_lowercase()) || a.to_uppercase().eq(b.to_uppercase())
    }

    fn naive_contains(text: &str, query: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let query: Vec<char> = query.chars().collect();
        !query.is_empty()
            && text
                .windows(query.len())
                .any(|w| w.iter().zip(&query).all(|(a, b)| alike(*a, *b)))
    }

    /// The plain scan: every entry decoded, compared character by character.
    fn reference(dirs: &[(LogKey, PathBuf)], request: &SearchRequest) -> SearchResults {
        let room = request.room.as_ref().map(|r| r.as_str());
        let mut matches = Vec::new();
        for (log, dir) in dirs {
            let Some(reader) = IndexReader::open(dir) else {
                continue;
            };
            for entry in reader.entries().unwrap() {
                let Some(message) = &entry.message else {
                    continue;
                };
                if message.room.as_deref() == room && naive_contains(&message.text, &request.query)
                {
                    matches.push(position_of(*log, &entry));
                }
            }
        }
        matches.sort_unstable();
        let capped = matches.len() > MAX_MATCHES;
        matches.drain(..matches.len().saturating_sub(MAX_MATCHES));
        answer(request, matches, capped)
    }

    /// The search, with the usual and with tiny pieces, which must agree.
    fn find(dirs: &[(LogKey, PathBuf)], room: Option<&str>, query: &str) -> SearchResults {
        let logs: Vec<LogKey> = dirs.iter().map(|(log, _)| *log).collect();
        let request = request(room, &logs, query);
        let found = search(dirs, &request);
        assert_eq!(
            search_with(dirs, &request, TINY),
            found,
            "tiny pieces, {query:?}"
        );
        found
    }

    fn seqs(results: &SearchResults) -> Vec<u64> {
        results.matches.iter().map(|p| p.seq.0).collect()
    }

    fn one_log(
        records: &[(u64, Option<ChatMessage>)],
    ) -> (tempfile::TempDir, Vec<(LogKey, PathBuf)>) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), records);
        let dirs = vec![(ANN, dir.path().to_path_buf())];
        (dir, dirs)
    }

    #[test]
    fn case_is_ignored() {
        let (_dir, dirs) = one_log(&[
            (0, Some(message("ann", "Hello World", None, 0))),
            (1, Some(message("ann", "nothing here", None, 1))),
            (2, Some(message("ann", "HELLO again", None, 2))),
        ]);
        assert_eq!(seqs(&find(&dirs, None, "hello")), vec![0, 2]);
        assert_eq!(seqs(&find(&dirs, None, "wORLD")), vec![0]);
        assert_eq!(seqs(&find(&dirs, None, "o w")), vec![0]);
        let found = find(&dirs, None, "hello");
        assert_eq!(
            (found.generation, found.query.as_str(), found.capped),
            (7, "hello", false)
        );
    }

    #[test]
    fn escaped_and_non_ascii_characters_are_found() {
        let text = "Zoë said \"hi\" to C:\\path\nnext line";
        let (_dir, dirs) = one_log(&[
            (0, Some(message("ann", text, None, 0))),
            (1, Some(message("ann", "zoe said hi", None, 1))),
        ]);
        for query in [
            "zoË",
            "ZOË SAID",
            "\"hi\"",
            "said \"",
            "c:\\PATH",
            "path\nnext",
            "\\",
            "\n",
            "ë",
        ] {
            assert_eq!(seqs(&find(&dirs, None, query)), vec![0], "{query:?}");
        }
        assert_eq!(seqs(&find(&dirs, None, "zoe")), vec![1]);
        // What a line holds only escaped is not in the text.
        for query in ["\\n", "\\\"", "u00eb", "\\\\"] {
            assert_eq!(
                seqs(&find(&dirs, None, query)),
                Vec::<u64>::new(),
                "{query:?}"
            );
        }
    }

    #[test]
    fn only_the_channels_room_is_searched() {
        let (_dir, dirs) = one_log(&[
            (0, Some(message("ann", "apple pie", Some("food"), 0))),
            (1, Some(message("ann", "apple tree", None, 1))),
            (2, Some(message("ann", "apple juice", Some("drinks"), 2))),
        ]);
        assert_eq!(seqs(&find(&dirs, Some("food"), "apple")), vec![0]);
        assert_eq!(seqs(&find(&dirs, None, "apple")), vec![1]);
        assert_eq!(seqs(&find(&dirs, Some("drinks"), "apple")), vec![2]);
        assert_eq!(
            seqs(&find(&dirs, Some("other"), "apple")),
            Vec::<u64>::new()
        );
    }

    #[test]
    fn only_the_text_is_searched() {
        let (_dir, dirs) = one_log(&[
            (0, Some(message("queryfan", "nothing", Some("general"), 0))),
            (1, Some(message("ann", "the query", Some("general"), 1))),
        ]);
        assert_eq!(seqs(&find(&dirs, Some("general"), "query")), vec![1]);
        // Keys, the type, the room and the timestamp are in every line.
        for query in [
            "nickname",
            "text",
            "chat-message",
            "general",
            "2026",
            "seq",
            "block",
            "\":\"",
        ] {
            assert_eq!(
                seqs(&find(&dirs, Some("general"), query)),
                Vec::<u64>::new(),
                "{query:?}"
            );
        }
    }

    #[test]
    fn a_redelivered_seq_counts_once_as_its_last_line() {
        let first = message("ann", "old apple", None, 0);
        let again = message("ann", "new banana", None, 0);
        let (_dir, dirs) = one_log(&[
            (0, Some(first)),
            (1, Some(message("ann", "banana bread", None, 1))),
            (0, Some(again.clone())),
            (1, Some(message("ann", "banana bread", None, 1))),
            (2, None),
        ]);
        assert_eq!(seqs(&find(&dirs, None, "apple")), Vec::<u64>::new());
        assert_eq!(seqs(&find(&dirs, None, "banana")), vec![0, 1]);
    }

    #[test]
    fn matches_sort_across_logs_and_keep_their_arrival() {
        let ann = tempfile::tempdir().unwrap();
        let bob = tempfile::tempdir().unwrap();
        let mut undated = message("bob", "tea, undated", None, 0);
        undated.timestamp = None;
        write(
            ann.path(),
            &[
                (0, Some(message("ann", "tea at 5", None, 5))),
                (1, Some(message("ann", "tea at -5", None, -5))),
            ],
        );
        write(
            bob.path(),
            &[
                (0, Some(message("bob", "tea at 1", None, 1))),
                (1, Some(undated)),
            ],
        );
        let dirs = vec![
            (ANN, ann.path().to_path_buf()),
            (BOB, bob.path().to_path_buf()),
        ];
        let found = find(&dirs, None, "tea");
        let places: Vec<(LogKey, u64)> = found.matches.iter().map(|p| (p.log, p.seq.0)).collect();
        assert_eq!(places, vec![(ANN, 1), (BOB, 1), (BOB, 0), (ANN, 0)]);
        assert_eq!(found.matches[1].at, NOW);
        assert_eq!(found, reference(&dirs, &request(None, &[ANN, BOB], "tea")));
    }

    #[test]
    fn past_the_cap_the_newest_are_kept() {
        let many = |count: u64| -> Vec<(u64, Option<ChatMessage>)> {
            let template = message("ann", "spam", None, 0);
            (0..count)
                .map(|seq| {
                    let mut m = template.clone();
                    m.timestamp = Some(NOW + time::Duration::seconds(seq as i64));
                    (seq, Some(m))
                })
                .collect()
        };
        let (_dir, dirs) = one_log(&many(MAX_MATCHES as u64 + 5));
        let found = find(&dirs, None, "SPAM");
        assert!(found.capped);
        assert_eq!(found.matches.len(), MAX_MATCHES);
        assert_eq!(found.matches.first().map(|p| p.seq.0), Some(5));
        assert_eq!(
            found.matches.last().map(|p| p.seq.0),
            Some(MAX_MATCHES as u64 + 4)
        );
        let (_dir, dirs) = one_log(&many(MAX_MATCHES as u64));
        let found = find(&dirs, None, "spam");
        assert_eq!((found.capped, found.matches.len()), (false, MAX_MATCHES));
    }

    #[test]
    fn an_empty_or_impossible_query_finds_nothing() {
        let (_dir, dirs) = one_log(&[(0, Some(message("ann", "anything", None, 0)))]);
        assert_eq!(
            find(&dirs, None, ""),
            SearchResults {
                generation: 7,
                room: None,
                query: String::new(),
                matches: vec![],
                capped: false,
            }
        );
        let long = "k".repeat(MAX_TEXT_CHARS + 1);
        assert!(find(&dirs, None, &long).matches.is_empty());
        // The longest query that could match still compiles.
        assert!(Matcher::new(&"kſσ".repeat(MAX_TEXT_CHARS / 3)).is_some());
    }

    #[test]
    fn missing_or_damaged_indexes_do_not_stop_the_search() {
        let (dir, mut dirs) = one_log(&[
            (0, Some(message("ann", "needle one", None, 0))),
            (1, Some(message("ann", "needle two", None, 1))),
        ]);
        dirs.push((BOB, dir.path().join("missing")));
        // A damaged tail: bytes that are not UTF-8, a torn line, a line
        // longer than any the index writes, and no final newline.
        let mut tail = b"\xff\xfe needle \x00\n{\"seq\":1,\"block\":{\"text\":\"needle".to_vec();
        tail.extend_from_slice(b"\n{\"seq\":3,\"block\":{\"text\":\"");
        tail.extend(std::iter::repeat_n(b'n', index::MAX_LINE + 10));
        tail.extend_from_slice(b"needle\"}}\n{\"seq\":4,\"block\":{\"text\":\"needle");
        let path = dir.path().join("index.jsonl");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&tail);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(seqs(&find(&dirs, None, "needle")), vec![0, 1]);

        // Positions that point anywhere.
        let garbage = tempfile::tempdir().unwrap();
        std::fs::write(garbage.path().join("index.jsonl"), &bytes).unwrap();
        let positions: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37)).collect();
        std::fs::write(garbage.path().join("index.pos"), positions).unwrap();
        let dirs = vec![(ANN, garbage.path().to_path_buf())];
        assert!(find(&dirs, None, "needle").matches.is_empty());
        // An index file that is only a long line.
        std::fs::write(
            garbage.path().join("index.jsonl"),
            vec![b'n'; 3 * index::MAX_LINE],
        )
        .unwrap();
        assert!(find(&dirs, None, "n").matches.is_empty());
    }

    /// What the fast reading makes of `line`, beside the index's own
    /// reading: equal wherever the fast one answers.
    fn check_fast_reading(line: &str) -> bool {
        let Some(fast) = read_fast(line.as_bytes()) else {
            return false;
        };
        let slow = index::parse_line(line.as_bytes())
            .expect("the fast reading answers only for lines that parse");
        assert_eq!(fast.seq, slow.seq, "{line}");
        assert_eq!(fast.block.is_some(), slow.message.is_some(), "{line}");
        if let (Some(block), Some(message)) = (&fast.block, &slow.message) {
            assert_eq!(block.text(), message.text, "{line}");
            assert_eq!(block.room().as_deref(), message.room.as_deref(), "{line}");
        }
        assert_eq!(fast.position(ANN), position_of(ANN, &slow), "{line}");
        true
    }

    #[test]
    fn the_fast_reading_answers_as_the_index_does_or_not_at_all() {
        let answered = [
            r#"{"seq":1,"block":{"text":"a","text":"b"}}"#,
            r#"{"seq":1,"block":{"te\u0078t":"hi","room":" ab\tc "}}"#,
            r#"{"seq":1,"block":{"text":"a\u001bb\tc\u202ed\r\ne","room":"   "}}"#,
            r#"{"seq":1,"block":null}"#,
            r#"{"seq":1}"#,
            r#"{"seq":1,"other":[1e400],"block":{"text":"x"}}"#,
            r#"{"seq":2,"block":{"timestamp":"2026-11-24T14:26:00.123Z"}}"#,
            r#"{"seq":2,"block":{"timestamp":"2016-12-31T23:59:60.000Z"}}"#,
            r#"{"seq":2,"block":{"timestamp":"2026-02-30T00:00:00.000Z"}}"#,
            r#"{"seq":2,"block":{"timestamp":"2026-11-24t14:26:00.1z"}}"#,
            r#"{"seq":2,"block":{"timestamp":" 2026-11-24T14:26:00+01:00 "}}"#,
            r#"{"seq":2,"block":{"timestamp":"0000-01-01T00:00:00.000Z"}}"#,
            r#"{"seq":3,"arrived":1700000000000,"block":{"timestamp":"2026-11-24T14:26:00.000Z"}}"#,
            r#"{"seq":3,"arrived":-99999999999999999,"block":{"timestamp":"2026-11-24T14:26:00.000Z"}}"#,
            r#"{"seq":4,"block":{"nested":{"a":[1,2,{"b":null}]},"text":"ok"}}  "#,
        ];
        for line in answered {
            assert!(check_fast_reading(line), "{line}");
        }
        let left_to_the_index = [
            r#"{"seq":1,"block":{"text":5}}"#,
            r#"{"seq":1,"block":{"$serde_json::private::RawValue":"{\"text\":\"hi\"}"}}"#,
            r#"{"seq":1,"block":{"x":1e400,"text":"hi"}}"#,
            r#"{"seq":1,"block":{"text":"hi","nested":{"$k":1}}}"#,
            r#"{"seq":1,"block":{"text":"\ud800"}}"#,
            r#"{"seq":1,"block":"text"}"#,
            r#"{"seq":1,"seq":2}"#,
            r#"[1,null,null]"#,
            r#"{"seq":1,"block":{"text":"hi"}} trailing"#,
            r#"{"block":{"text":"hi"}}"#,
        ];
        for line in left_to_the_index {
            assert!(read_fast(line.as_bytes()).is_none(), "{line}");
        }
    }

    /// Strings from characters that case, escaping and cleaning treat apart.
    fn tricky(max: usize) -> impl Strategy<Value = String> {
        let chars = prop::sample::select(vec![
            'a', 'b', 'e', 'A', 'B', 'E', 'ë', 'Ë', 'é', 'σ', 'Σ', 'ς', 'k', 'K', '\u{212A}', 's',
            'ſ', 'ß', 'ẞ', 'i', 'I', 'İ', ' ', '"', '\\', '\n', '\t', '\u{1b}', '/', ':', '{',
        ]);
        proptest::collection::vec(chars, 0..max).prop_map(String::from_iter)
    }

    /// One record of a log: a message, an undecodable block, a hole before
    /// it, or a redelivery of an earlier seq.
    fn record() -> impl Strategy<Value = (u8, usize, ChatMessage)> {
        let message = (
            tricky(4),
            tricky(12),
            0..3usize,
            prop::option::of(-100i64..100),
        )
            .prop_map(|(nickname, text, room, minute)| {
                let room = [None, Some("a"), Some("b")][room];
                let mut m = message(&nickname, &text, room, minute.unwrap_or(0));
                if minute.is_none() {
                    m.timestamp = None;
                }
                m
            });
        (0u8..10, any::<usize>(), message)
    }

    fn records(plan: &[(u8, usize, ChatMessage)]) -> Vec<(u64, Option<ChatMessage>)> {
        let mut next = 0u64;
        let mut out = Vec::new();
        for (kind, pick, message) in plan {
            let seq = match kind {
                0 if next > 0 => *pick as u64 % next,
                1 => {
                    next += 2;
                    next - 1
                }
                _ => {
                    next += 1;
                    next - 1
                }
            };
            out.push((seq, (*kind != 2).then(|| message.clone())));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn bytes_are_found_a_word_at_a_time_as_one_at_a_time(
            haystack in proptest::collection::vec(prop::sample::select(vec![b'a', b'"', b'\\', b'\n', 0, 0x80, 0xff]), 0..40),
        ) {
            for byte in [b'a', b'"', b'\n', 0, 0x80, 0xff, b'z'] {
                prop_assert_eq!(find_byte(&haystack, byte), haystack.iter().position(|c| *c == byte));
                prop_assert_eq!(rfind_byte(&haystack, byte), haystack.iter().rposition(|c| *c == byte));
            }
            prop_assert_eq!(
                find_either(&haystack, b'"', b'\\'),
                haystack.iter().position(|c| *c == b'"' || *c == b'\\')
            );
        }

        #[test]
        fn the_search_finds_what_a_plain_scan_finds(
            ann in proptest::collection::vec(record(), 0..30),
            bob in proptest::collection::vec(record(), 0..30),
            query in tricky(3),
            room in 0..2usize,
            piece in 1u64..300,
            read in 1usize..80,
        ) {
            let ann_dir = tempfile::tempdir().unwrap();
            let bob_dir = tempfile::tempdir().unwrap();
            write(ann_dir.path(), &records(&ann));
            write(bob_dir.path(), &records(&bob));
            let dirs = vec![(ANN, ann_dir.path().to_path_buf()), (BOB, bob_dir.path().to_path_buf())];
            let request = request([None, Some("a")][room], &[ANN, BOB], &query);
            let expected = reference(&dirs, &request);
            prop_assert_eq!(&search(&dirs, &request), &expected);
            prop_assert_eq!(&search_with(&dirs, &request, Sizes { piece, read }), &expected);
        }

        #[test]
        fn the_fast_reading_of_hostile_blocks_agrees(
            nickname in ".{0,8}",
            text in ".{0,40}",
            room in prop::option::of(".{0,8}"),
            extra in prop::option::of(".{0,8}"),
            timestamp in prop::option::of(-5_000_000_000i64..5_000_000_000),
            arrived in prop::option::of(any::<i64>()),
            seq in any::<u64>(),
        ) {
            let mut block = serde_json::Map::new();
            block.insert("type".into(), "chat-message".into());
            block.insert("nickname".into(), nickname.into());
            block.insert("text".into(), text.into());
            if let Some(room) = room {
                block.insert("room".into(), room.into());
            }
            let key_with_dollar = extra.as_ref().is_some_and(|k| k.starts_with('$'));
            if let Some(extra) = extra {
                block.insert(extra.clone(), serde_json::json!({ "k": [extra, 1.5, null] }));
            }
            if let Some(seconds) = timestamp {
                let at = OffsetDateTime::from_unix_timestamp(seconds).unwrap();
                block.insert("timestamp".into(), crate::domain::message::format_timestamp(at).into());
            }
            let mut line = serde_json::json!({ "seq": seq, "block": block });
            if let Some(arrived) = arrived {
                line["arrived"] = arrived.into();
            }
            let line = line.to_string();
            // A block key starting with `$` is left to the index's reading.
            prop_assert!(check_fast_reading(&line) || key_with_dollar);
        }
    }
}
