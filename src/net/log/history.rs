//! One page of a channel's history, read from the message indexes of its
//! logs: the `count` messages just before or after a position, merged
//! across the logs in channel order (time, then log, then seq). A log's
//! messages are taken to be in time order by seq, so a position is found
//! by binary search; a message out of order in its log is still shown,
//! only perhaps a page away from where its time says. Holes (blocks not
//! downloaded yet) are skipped cheaply. A scan stops after `SCAN_BUDGET`
//! entries, so a room whose messages are rare in a long log costs several
//! quick pages instead of one slow one. The merge is pure (`merge_page`,
//! over `PageSource`); `read_page` is its driver over the files.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::path::PathBuf;

use time::OffsetDateTime;

use crate::domain::keys::{LogKey, Seq};
use crate::domain::message::ChatMessage;
use crate::net::history::{HistoryPage, HistoryRequest, PageFrom, Position};
use crate::net::log::index::{IndexEntry, IndexReader};

/// Most index entries one page looks at, matching or not.
pub(crate) const SCAN_BUDGET: usize = 20_000;

/// Where a channel shows an indexed message: at its arrival when the index
/// kept one (no timestamp, or one from the future), else at its timestamp.
pub(crate) fn position_of(log: LogKey, entry: &IndexEntry) -> Position {
    let at = entry
        .arrived
        .or_else(|| entry.message.as_ref().and_then(|m| m.timestamp))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Position {
        at,
        log,
        seq: Seq(entry.seq),
    }
}

/// Random access to one log's index entries, by seq.
pub(crate) trait PageSource {
    /// One past the highest seq that may be indexed.
    fn len(&self) -> u64;
    /// The first indexed seq in `[from, until)`, with its entry.
    fn first_from(&mut self, from: u64, until: u64) -> Option<IndexEntry>;
    /// The last indexed seq in `[from, until)`, with its entry.
    fn last_before(&mut self, until: u64, from: u64) -> Option<IndexEntry>;
}

/// A log's place in the merge: its next entry in the page's direction.
struct Head {
    position: Position,
    entry: IndexEntry,
    source: usize,
    /// Newest first (before a position) or oldest first (after one).
    descending: bool,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.position == other.position
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    /// The heap pops the greatest: the newest when descending, else the oldest.
    fn cmp(&self, other: &Self) -> Ordering {
        let order = self.position.cmp(&other.position);
        if self.descending {
            order
        } else {
            order.reverse()
        }
    }
}

/// A page over `sources` (each with its log key), for messages of `room`
/// (`None`: messages written in no room).
pub(crate) fn merge_page(
    sources: &mut [(LogKey, Box<dyn PageSource + '_>)],
    room: Option<&str>,
    from: PageFrom,
    count: usize,
) -> (Vec<(Position, ChatMessage)>, bool, Option<Position>) {
    let descending = matches!(from, PageFrom::Newest | PageFrom::Before(_));
    let mut heap = BinaryHeap::new();
    // Each log's cursor: the next seq to look at in the page's direction.
    let mut cursors = Vec::with_capacity(sources.len());
    for (index, (log, source)) in sources.iter_mut().enumerate() {
        let len = source.len();
        let start = match from {
            PageFrom::Newest => len,
            PageFrom::Oldest => 0,
            PageFrom::Before(bound) | PageFrom::After(bound) => {
                first_not_before(source.as_mut(), *log, bound, len)
            }
        };
        cursors.push(start);
        if let Some(head) = next_head(
            source.as_mut(),
            *log,
            index,
            &mut cursors[index],
            descending,
            from,
        ) {
            heap.push(head);
        }
    }
    let mut page = Vec::new();
    let mut scanned = 0;
    let mut reached = None;
    while page.len() < count && scanned < SCAN_BUDGET {
        let Some(head) = heap.pop() else {
            break;
        };
        scanned += 1;
        reached = Some(head.position);
        let (log, source) = &mut sources[head.source];
        if let Some(next) = next_head(
            source.as_mut(),
            *log,
            head.source,
            &mut cursors[head.source],
            descending,
            from,
        ) {
            heap.push(next);
        }
        if let Some(message) = head.entry.message {
            if message.room.as_deref() == room {
                page.push((head.position, message));
            }
        }
    }
    let exhausted = heap.is_empty();
    if descending {
        page.reverse();
    }
    (page, exhausted, reached)
}

/// The lowest seq whose position is at or after `bound` (binary search;
/// `len` when none).
fn first_not_before(source: &mut dyn PageSource, log: LogKey, bound: Position, len: u64) -> u64 {
    let (mut low, mut high) = (0, len);
    while low < high {
        let middle = low + (high - low) / 2;
        match source.first_from(middle, high) {
            None => high = middle,
            Some(entry) if position_of(log, &entry) < bound => low = entry.seq + 1,
            Some(_) => high = middle,
        }
    }
    low
}

/// The next entry past `cursor` in the page's direction that lies strictly
/// beyond the bound, moving the cursor past it.
fn next_head(
    source: &mut dyn PageSource,
    log: LogKey,
    index: usize,
    cursor: &mut u64,
    descending: bool,
    from: PageFrom,
) -> Option<Head> {
    loop {
        let entry = if descending {
            let entry = source.last_before(*cursor, 0)?;
            *cursor = entry.seq;
            entry
        } else {
            let entry = source.first_from(*cursor, source.len())?;
            *cursor = entry.seq + 1;
            entry
        };
        let position = position_of(log, &entry);
        let beyond = match from {
            PageFrom::Before(bound) => position < bound,
            PageFrom::After(bound) => position > bound,
            PageFrom::Newest | PageFrom::Oldest => true,
        };
        if beyond {
            return Some(Head {
                position,
                entry,
                source: index,
                descending,
            });
        }
    }
}

/// An index on disk as a `PageSource`, reading its positions a chunk at a
/// time so long runs of holes cost little.
struct DiskSource {
    reader: IndexReader,
    len: u64,
}

impl PageSource for DiskSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn first_from(&mut self, from: u64, until: u64) -> Option<IndexEntry> {
        let mut seq = from;
        while seq < until {
            let (start, stored) = self.reader.positions_from(seq, until);
            for (offset, position) in stored.iter().enumerate() {
                if *position != 0 {
                    if let Some(entry) = self.reader.get(start + offset as u64) {
                        return Some(entry);
                    }
                }
            }
            if stored.is_empty() {
                return None;
            }
            seq = start + stored.len() as u64;
        }
        None
    }

    fn last_before(&mut self, until: u64, from: u64) -> Option<IndexEntry> {
        let mut end = until.min(self.len);
        while end > from {
            let (start, stored) = self.reader.positions_before(end, from);
            for (offset, position) in stored.iter().enumerate().rev() {
                if *position != 0 {
                    if let Some(entry) = self.reader.get(start + offset as u64) {
                        return Some(entry);
                    }
                }
            }
            if stored.is_empty() {
                return None;
            }
            end = start;
        }
        None
    }
}

/// Reads the page `request` asks for from the logs in `dirs` (each log's
/// folder). A log without an index yet adds nothing.
pub(crate) fn read_page(dirs: &[(LogKey, PathBuf)], request: &HistoryRequest) -> HistoryPage {
    let mut sources: Vec<(LogKey, Box<dyn PageSource>)> = dirs
        .iter()
        .filter_map(|(log, dir)| {
            let reader = IndexReader::open(dir)?;
            let len = reader.len();
            Some((
                *log,
                Box::new(DiskSource { reader, len }) as Box<dyn PageSource>,
            ))
        })
        .collect();
    let room = request.room.as_ref().map(|r| r.as_str());
    let (messages, exhausted, reached) =
        merge_page(&mut sources, room, request.from, request.count);
    HistoryPage {
        generation: request.generation,
        room: request.room.clone(),
        from: request.from,
        messages,
        exhausted,
        reached,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    /// A log held in memory: `None` for a hole.
    struct Memory(Vec<Option<IndexEntry>>);

    impl PageSource for Memory {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn first_from(&mut self, from: u64, until: u64) -> Option<IndexEntry> {
            (from..until.min(self.len())).find_map(|s| self.0[s as usize].clone())
        }
        fn last_before(&mut self, until: u64, from: u64) -> Option<IndexEntry> {
            (from..until.min(self.len()))
                .rev()
                .find_map(|s| self.0[s as usize].clone())
        }
    }

    const START: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    /// A log whose block `seq` was written at minute `minutes[seq]`.
    fn log(minutes: &[Option<i64>], room: Option<&str>) -> Memory {
        Memory(
            minutes
                .iter()
                .enumerate()
                .map(|(seq, minute)| {
                    minute.map(|m| {
                        let at = START + time::Duration::minutes(m);
                        let mut message = ChatMessage::new_chat("n", &format!("{seq}@{m}"), at);
                        message.room = room.map(str::to_string);
                        IndexEntry {
                            seq: seq as u64,
                            message: Some(message),
                            arrived: None,
                        }
                    })
                })
                .collect(),
        )
    }

    fn texts(page: &[(Position, ChatMessage)]) -> Vec<String> {
        page.iter().map(|(_, m)| m.text.clone()).collect()
    }

    const A: LogKey = LogKey([1; 32]);
    const B: LogKey = LogKey([2; 32]);

    #[test]
    fn pages_merge_logs_in_time_order_both_ways() {
        let a = log(&[Some(0), Some(2), None, Some(4), Some(6)], None);
        let b = log(&[Some(1), Some(3), Some(5)], None);
        let mut sources: Vec<(LogKey, Box<dyn PageSource>)> =
            vec![(A, Box::new(a)), (B, Box::new(b))];
        let (newest, done, reached) = merge_page(&mut sources, None, PageFrom::Newest, 3);
        assert_eq!(texts(&newest), ["3@4", "2@5", "4@6"]);
        assert!(!done);
        let (older, done, _) =
            merge_page(&mut sources, None, PageFrom::Before(reached.unwrap()), 10);
        assert_eq!(texts(&older), ["0@0", "0@1", "1@2", "1@3"]);
        assert!(done);
        let (oldest, _, reached) = merge_page(&mut sources, None, PageFrom::Oldest, 2);
        assert_eq!(texts(&oldest), ["0@0", "0@1"]);
        let (newer, done, _) = merge_page(&mut sources, None, PageFrom::After(reached.unwrap()), 2);
        assert_eq!(texts(&newer), ["1@2", "1@3"]);
        assert!(!done);
    }

    #[test]
    fn only_the_channels_room_is_taken() {
        let home = log(&[Some(0), Some(1)], None);
        let room = log(&[Some(2)], Some("rust"));
        let mut sources: Vec<(LogKey, Box<dyn PageSource>)> =
            vec![(A, Box::new(home)), (B, Box::new(room))];
        let (page, _, _) = merge_page(&mut sources, Some("rust"), PageFrom::Newest, 5);
        assert_eq!(texts(&page), ["0@2"]);
    }

    #[test]
    fn a_long_scan_stops_at_the_budget_and_says_where() {
        let minutes: Vec<Option<i64>> = (0..(SCAN_BUDGET as i64 + 10)).map(Some).collect();
        let mut sources: Vec<(LogKey, Box<dyn PageSource>)> =
            vec![(A, Box::new(log(&minutes, None)))];
        let (page, done, reached) = merge_page(&mut sources, Some("rare"), PageFrom::Newest, 5);
        assert!(page.is_empty() && !done);
        assert_eq!(reached.map(|p| p.seq), Some(Seq(10)));
    }

    proptest! {
        /// Paging back from the newest end with any page size meets every
        /// message once, in channel order, whatever the holes.
        #[test]
        fn paging_back_meets_every_message_once(
            a in proptest::collection::vec(proptest::option::weighted(0.8, 0i64..5), 0..60),
            b in proptest::collection::vec(proptest::option::weighted(0.8, 0i64..5), 0..60),
            size in 1usize..7,
        ) {
            // Times that never go back within a log.
            let monotone = |v: &[Option<i64>]| {
                let mut at = 0;
                v.iter().map(|m| m.map(|step| { at += step; at })).collect::<Vec<_>>()
            };
            let (a, b) = (monotone(&a), monotone(&b));
            let total = a.iter().chain(&b).filter(|m| m.is_some()).count();
            let mut sources: Vec<(LogKey, Box<dyn PageSource>)> =
                vec![(A, Box::new(log(&a, None))), (B, Box::new(log(&b, None)))];
            let mut seen: Vec<Position> = Vec::new();
            let mut from = PageFrom::Newest;
            for _ in 0..200 {
                let (page, done, reached) = merge_page(&mut sources, None, from, size);
                let mut positions: Vec<Position> = page.iter().map(|(p, _)| *p).collect();
                positions.extend(seen);
                seen = positions;
                if done { break; }
                from = PageFrom::Before(reached.unwrap());
            }
            prop_assert_eq!(seen.len(), total);
            prop_assert!(seen.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
