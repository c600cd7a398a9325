//! A timeline's layout: which rows it shows at a width (day separators,
//! the "new since you were here" line, nick labels and colour slots,
//! wrapping), whole, from its layout cache, or only the newest rows. Pure
//! and unstyled: `update` uses it for paging and scroll bounds, `ui` turns
//! its tones into colours. It must not draw.

use time::{Date, OffsetDateTime, UtcOffset};

use crate::app::text;
use crate::domain::LogKey;

use super::rows::{Row, Segment, Tone};
use super::{Body, Timeline};

/// Width of `HH:MM `, and the indent of continuation rows.
pub const TIME_WIDTH: usize = 6;
/// Stands after the time of a message whose writer's clock is ahead: it is
/// shown at its arrival time instead of the time it claims.
pub const AHEAD_MARK: char = '~';
/// The line before the first message that came in since the channel was
/// last read.
pub const UNREAD_LINE: &str = "new since you were here";
/// How many nickname colours there are; `ui::theme` maps slots to colours.
pub const NICK_COLOR_SLOTS: usize = 16;

fn segment(text: impl Into<String>, tone: Tone) -> Segment {
    Segment {
        text: text.into(),
        tone,
    }
}

/// How the timeline is laid out: whose log is ours, the time zone, the width.
#[derive(Debug, Clone, Copy)]
struct Style {
    own: Option<LogKey>,
    offset: UtcOffset,
    width: usize,
}

impl Style {
    /// At least one cell wide.
    fn new(own: Option<LogKey>, offset: UtcOffset, width: usize) -> Self {
        Style {
            own,
            offset,
            width: width.max(1),
        }
    }
}

/// The timeline's visible entries as rows of at most `width` cells.
pub fn timeline_rows(
    timeline: &Timeline,
    own: Option<LogKey>,
    offset: UtcOffset,
    width: usize,
) -> Vec<Row> {
    let style = Style::new(own, offset, width);
    let mut rows = Vec::new();
    let mut previous: Option<Date> = None;
    let unread = timeline.first_unread(own);
    for (index, entry) in timeline.entries().iter().enumerate() {
        if timeline.is_visible(entry) {
            let date = entry.at.to_offset(offset).date();
            let lines = Lines {
                new_day: previous != Some(date),
                unread: unread == Some(index),
            };
            entry_rows(timeline, index, lines, style, &mut rows);
            previous = Some(date);
        }
    }
    rows
}

/// `timeline_rows`, from the timeline's layout cache when nothing it
/// depends on changed since the last call.
pub fn cached_timeline_rows(
    timeline: &Timeline,
    own: Option<LogKey>,
    offset: UtcOffset,
    width: usize,
) -> std::sync::Arc<Vec<Row>> {
    let key = (timeline.version(), width, own, offset);
    timeline
        .layout
        .get_or(key, || timeline_rows(timeline, own, offset, width))
}

/// The last `count` rows of `timeline_rows` (fewer when there are fewer),
/// laying out only the newest entries: what drawing needs, at a cost that
/// does not grow with the history.
pub fn last_timeline_rows(
    timeline: &Timeline,
    own: Option<LogKey>,
    offset: UtcOffset,
    width: usize,
    count: usize,
) -> Vec<Row> {
    let style = Style::new(own, offset, width);
    let entries = timeline.entries();
    let visible: Vec<usize> = (0..entries.len())
        .rev()
        .filter(|i| timeline.is_visible(&entries[*i]))
        .collect();
    let unread = timeline.first_unread(own);
    let mut chunks: Vec<Vec<Row>> = Vec::new();
    let mut collected = 0;
    for (position, index) in visible.iter().enumerate() {
        if collected >= count {
            break;
        }
        let date = entries[*index].at.to_offset(offset).date();
        let older = visible
            .get(position + 1)
            .map(|i| entries[*i].at.to_offset(offset).date());
        let mut rows = Vec::new();
        let lines = Lines {
            new_day: older != Some(date),
            unread: unread == Some(*index),
        };
        entry_rows(timeline, *index, lines, style, &mut rows);
        collected += rows.len();
        chunks.push(rows);
    }
    let mut rows: Vec<Row> = chunks.into_iter().rev().flatten().collect();
    let extra = rows.len().saturating_sub(count);
    rows.drain(..extra);
    rows
}

/// The lines an entry may get above it.
#[derive(Debug, Clone, Copy)]
struct Lines {
    /// A day separator: the entry starts a new day.
    new_day: bool,
    /// The "new since you were here" line.
    unread: bool,
}

/// Appends the rows of entry `index`, after the lines above it.
fn entry_rows(timeline: &Timeline, index: usize, lines: Lines, style: Style, rows: &mut Vec<Row>) {
    let Some(entry) = timeline.entries().get(index) else {
        return;
    };
    let width = style.width;
    let local = entry.at.to_offset(style.offset);
    if lines.new_day {
        rows.push(Row {
            segments: vec![segment(day_separator(local, width), Tone::Separator)],
            entry: index,
        });
    }
    if lines.unread {
        rows.push(Row {
            segments: vec![segment(centred(UNREAD_LINE, width), Tone::Unread)],
            entry: index,
        });
    }
    let gap = if entry.dated_ahead() { AHEAD_MARK } else { ' ' };
    let time = format!("{:02}:{:02}{gap}", local.hour(), local.minute());
    let mut add = |segments: Vec<Segment>| {
        rows.push(Row {
            segments,
            entry: index,
        })
    };
    match &entry.body {
        Body::Message { log, message, .. } => {
            let is_own = style.own == Some(*log);
            let label = nick_label(timeline, log, &message.nickname);
            let (head, tone) = if message.is_chat() {
                (": ".to_string(), Tone::Text { own: is_own })
            } else {
                let kind = text::printable_line(&message.kind);
                let kind = if kind.is_empty() {
                    "?".to_string()
                } else {
                    kind
                };
                (format!(" [{}]: ", text::truncate(&kind, 16)), Tone::Other)
            };
            let prefix = vec![
                segment(time, Tone::Time),
                segment(
                    label,
                    Tone::Nick {
                        log: *log,
                        own: is_own,
                        slot: nick_slot_among(timeline, log, &message.nickname),
                    },
                ),
                segment(head, tone),
            ];
            wrap_into(prefix, &message.text, tone, TIME_WIDTH, width, &mut add);
        }
        Body::System { text: body, error } => {
            let (mark, tone) = if *error {
                ("! ", Tone::Error)
            } else {
                ("* ", Tone::Info)
            };
            let prefix = vec![segment(time, Tone::Time), segment(mark, tone)];
            wrap_into(prefix, body, tone, TIME_WIDTH + 2, width, &mut add);
        }
    }
}

/// Lays `body` out after `prefix`, continuation rows indented by `indent`.
fn wrap_into(
    prefix: Vec<Segment>,
    body: &str,
    tone: Tone,
    indent: usize,
    width: usize,
    add: &mut impl FnMut(Vec<Segment>),
) {
    let indent = indent.min(width / 2);
    let prefix_width: usize = prefix.iter().map(|s| text::width(&s.text)).sum();
    let rest = width - indent;
    let mut first_row = Some(prefix);
    let mut first_capacity = width.saturating_sub(prefix_width);
    if first_capacity < 8.min(rest) {
        // The prefix leaves no useful room: give it its own row.
        let alone = first_row.take().unwrap_or_default();
        let clipped = clip_segments(alone, width);
        add(clipped);
        first_capacity = rest;
    }
    for (number, line) in text::printable_lines(body).iter().enumerate() {
        let capacity = if number == 0 { first_capacity } else { rest };
        for piece in text::wrap_line(line, capacity, rest) {
            let mut segments = match first_row.take() {
                Some(prefix) => prefix,
                None => vec![segment(" ".repeat(indent), tone)],
            };
            segments.push(segment(piece, tone));
            add(segments);
        }
    }
}

fn clip_segments(segments: Vec<Segment>, width: usize) -> Vec<Segment> {
    let mut left = width;
    let mut out = Vec::new();
    for mut s in segments {
        if left == 0 {
            break;
        }
        s.text = text::truncate(&s.text, left);
        left -= text::width(&s.text).min(left);
        out.push(s);
    }
    out
}

/// The nickname as shown: printable, the short key when empty, and a
/// `#1a2b` suffix when another log uses the same nickname.
pub fn nick_label(timeline: &Timeline, log: &LogKey, nickname: &str) -> String {
    let nick = text::truncate(&text::printable_line(nickname), 24);
    if nick.is_empty() {
        return log.short();
    }
    if timeline.nick_is_shared(nickname) {
        let short = log.short();
        format!("{nick}#{}", &short[..4.min(short.len())])
    } else {
        nick
    }
}

/// A log's nickname colour slot: FNV-1a over the key bytes, then a final
/// mix so every byte moves the low bits.
pub fn nick_slot(key: &LogKey) -> usize {
    let mut hash = key.0.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    });
    hash ^= hash >> 16;
    hash = hash.wrapping_mul(0x85eb_ca6b);
    hash ^= hash >> 13;
    usize::try_from(hash).unwrap_or(0) % NICK_COLOR_SLOTS
}

/// Like `nick_slot`, but logs sharing a nickname get distinct slots: in key
/// order, each takes its own slot or the next free one.
fn nick_slot_among(timeline: &Timeline, log: &LogKey, nickname: &str) -> usize {
    let Some(group) = timeline.nick_group(nickname).filter(|g| g.len() > 1) else {
        return nick_slot(log);
    };
    let mut used = [false; NICK_COLOR_SLOTS];
    for key in group {
        let mut slot = nick_slot(key);
        for _ in 0..NICK_COLOR_SLOTS {
            if !used[slot] {
                break;
            }
            slot = (slot + 1) % NICK_COLOR_SLOTS;
        }
        used[slot] = true;
        if key == log {
            return slot;
        }
    }
    nick_slot(log)
}

/// `──── Tue 24 Nov 2026 ────`, centred in `width`.
fn day_separator(at: OffsetDateTime, width: usize) -> String {
    const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[weekday repr:short] [day] [month repr:short] [year]");
    let day = at.format(DAY).unwrap_or_else(|_| at.date().to_string());
    centred(&day, width)
}

/// `──── label ────`, centred in `width`.
fn centred(label: &str, width: usize) -> String {
    let label = format!("──── {label} ────");
    let label_width = text::width(&label);
    if label_width >= width {
        return text::truncate(&label, width);
    }
    format!("{}{label}", " ".repeat((width - label_width) / 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChatMessage, Seq};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 15:00 UTC);
    /// The minute before and the minute after the midnight before NOW.
    const BEFORE_MIDNIGHT: OffsetDateTime = datetime!(2026-11-23 23:59 UTC);
    const AFTER_MIDNIGHT: OffsetDateTime = datetime!(2026-11-24 00:01 UTC);

    fn rows_text(timeline: &Timeline, width: usize) -> Vec<String> {
        timeline_rows(timeline, Some(LogKey([1; 32])), UtcOffset::UTC, width)
            .iter()
            .map(Row::text)
            .collect()
    }

    /// `minutes` after NOW.
    fn later(minutes: i64) -> OffsetDateTime {
        NOW + time::Duration::minutes(minutes)
    }

    fn say(timeline: &mut Timeline, log: u8, seq: u64, nick: &str, text: &str, at: OffsetDateTime) {
        let message = ChatMessage::new_chat(nick, text, at);
        timeline.insert_message(LogKey([log; 32]), Seq(seq), message, NOW);
    }

    #[test]
    fn shows_time_nick_text_and_day_separators() {
        let mut timeline = Timeline::default();
        say(&mut timeline, 2, 0, "ann", "late", BEFORE_MIDNIGHT);
        say(&mut timeline, 2, 1, "ann", "early", AFTER_MIDNIGHT);
        assert_eq!(
            rows_text(&timeline, 40),
            vec![
                "       ──── Mon 23 Nov 2026 ────",
                "23:59 ann: late",
                "       ──── Tue 24 Nov 2026 ────",
                "00:01 ann: early",
            ]
        );
    }

    #[test]
    fn wraps_long_messages_under_the_time_column() {
        let mut timeline = Timeline::default();
        say(
            &mut timeline,
            2,
            0,
            "ann",
            "one two three four five six",
            NOW,
        );
        let rows = rows_text(&timeline, 20);
        assert_eq!(
            rows[1..],
            ["15:00 ann: one two", "      three four", "      five six"]
        );
        assert!(rows.iter().all(|r| text::width(r) <= 20));
    }

    #[test]
    fn same_nickname_on_two_keys_gets_a_key_suffix() {
        let mut timeline = Timeline::default();
        say(&mut timeline, 0xab, 0, "bob", "hi", NOW);
        assert_eq!(rows_text(&timeline, 40)[1], "15:00 bob: hi");
        say(&mut timeline, 0xcd, 0, "bob", "me too", NOW);
        let rows = rows_text(&timeline, 40);
        assert_eq!(rows[1], "15:00 bob#abab: hi");
        assert_eq!(rows[2], "15:00 bob#cdcd: me too");
    }

    #[test]
    fn same_nickname_on_two_keys_gets_two_colours() {
        // Find two keys whose plain slots collide, then share a nickname.
        let first = LogKey([0; 32]);
        let second = (1..=255u8)
            .map(|b| LogKey([b; 32]))
            .find(|k| nick_slot(k) == nick_slot(&first))
            .expect("16 slots, 255 keys: some collide");
        let mut timeline = Timeline::default();
        timeline.insert_message(first, Seq(0), ChatMessage::new_chat("bob", "a", NOW), NOW);
        timeline.insert_message(second, Seq(0), ChatMessage::new_chat("bob", "b", NOW), NOW);
        let slot = |row: &Row| match row.segments[1].tone {
            Tone::Nick { slot, .. } => slot,
            other => panic!("not a nick: {other:?}"),
        };
        let rows = timeline_rows(&timeline, None, UtcOffset::UTC, 40);
        assert_ne!(slot(&rows[1]), slot(&rows[2]));
        let colours: std::collections::HashSet<_> =
            (0..=255u8).map(|b| nick_slot(&LogKey([b; 32]))).collect();
        assert!(colours.len() > 8, "only {} slots used", colours.len());
    }

    #[test]
    fn own_messages_and_other_types_have_their_tones() {
        let mut timeline = Timeline::default();
        say(&mut timeline, 1, 0, "me", "mine", NOW);
        let mut reaction = ChatMessage::new_chat("ann", "+1", NOW);
        reaction.kind = "reaction".into();
        timeline.insert_message(LogKey([2; 32]), Seq(0), reaction, NOW);
        let rows = timeline_rows(&timeline, Some(LogKey([1; 32])), UtcOffset::UTC, 40);
        assert!(matches!(
            rows[1].segments[1].tone,
            Tone::Nick { own: true, .. }
        ));
        assert_eq!(rows[2].text(), "15:00 ann [reaction]: +1");
        assert_eq!(rows[2].segments[2].tone, Tone::Other);
    }

    #[test]
    fn multi_line_messages_and_system_lines() {
        let mut timeline = Timeline::default();
        say(&mut timeline, 2, 0, "ann", "line one\nline two", NOW);
        timeline.push_system("oops\u{1b}[2J", true, NOW);
        let rows = rows_text(&timeline, 40);
        assert_eq!(
            rows[1..],
            ["15:00 ann: line one", "      line two", "15:00 ! oops[2J"]
        );
    }

    #[test]
    fn a_long_prefix_gets_its_own_row_when_narrow() {
        let mut timeline = Timeline::default();
        say(&mut timeline, 2, 0, "a-very-long-nickname", "hi there", NOW);
        let rows = rows_text(&timeline, 24);
        assert_eq!(rows[1..], ["15:00 a-very-long-nickn…", "      hi there"]);
    }

    #[test]
    fn the_tail_matches_the_full_layout() {
        let mut timeline = Timeline::default();
        say(&mut timeline, 2, 0, "ann", "late", BEFORE_MIDNIGHT);
        say(
            &mut timeline,
            2,
            1,
            "ann",
            "early and long enough to wrap twice here",
            AFTER_MIDNIGHT,
        );
        timeline.push_system("cleared before this", false, NOW);
        say(&mut timeline, 3, 0, "bob", "hi", NOW);
        let own = Some(LogKey([1; 32]));
        let all = timeline_rows(&timeline, own, UtcOffset::UTC, 20);
        for count in 0..all.len() + 3 {
            let tail = last_timeline_rows(&timeline, own, UtcOffset::UTC, 20, count);
            assert_eq!(
                tail[..],
                all[all.len().saturating_sub(count)..],
                "count {count}"
            );
        }
        timeline.clear();
        say(&mut timeline, 3, 1, "bob", "new", NOW);
        let all = timeline_rows(&timeline, own, UtcOffset::UTC, 20);
        assert_eq!(all.len(), 2, "separator and the one new line");
        assert_eq!(
            last_timeline_rows(&timeline, own, UtcOffset::UTC, 20, 10),
            all
        );
    }

    #[test]
    fn a_message_dated_ahead_is_shown_at_its_arrival_with_a_mark() {
        let mut timeline = Timeline::default();
        say(&mut timeline, 2, 0, "ann", "on time", NOW);
        // Four minutes ahead is a clock a little fast: believed.
        say(&mut timeline, 2, 1, "ann", "a bit fast", later(4));
        // A day ahead: placed at its arrival (NOW), before the one above.
        say(&mut timeline, 3, 0, "bob", "from tomorrow", later(24 * 60));
        assert_eq!(
            rows_text(&timeline, 40)[1..],
            [
                "15:00 ann: on time",
                "15:00~bob: from tomorrow",
                "15:04 ann: a bit fast"
            ]
        );
    }

    #[test]
    fn the_unread_line_stands_before_the_first_message_from_others_after_the_marker() {
        let mut timeline = Timeline::default();
        say(&mut timeline, 2, 0, "ann", "read", NOW);
        say(&mut timeline, 1, 0, "me", "mine", later(1));
        say(&mut timeline, 2, 1, "ann", "new", later(2));
        let marker = timeline.entries()[0].position();
        timeline.set_read_marker(marker);
        let all = rows_text(&timeline, 40);
        assert_eq!(
            all[1..],
            [
                "15:00 ann: read",
                "15:01 me: mine",
                "   ──── new since you were here ────",
                "15:02 ann: new"
            ]
        );
        let own = Some(LogKey([1; 32]));
        for count in 0..all.len() + 1 {
            let tail = last_timeline_rows(&timeline, own, UtcOffset::UTC, 40, count);
            let tail: Vec<String> = tail.iter().map(Row::text).collect();
            assert_eq!(tail[..], all[all.len().saturating_sub(count)..]);
        }
        // Read up to the newest: no line.
        timeline.set_read_marker(timeline.entries()[2].position());
        assert!(rows_text(&timeline, 40)
            .iter()
            .all(|r| !r.contains("new since")));
    }
}
