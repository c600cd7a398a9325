//! The fast reading of a line: what `index::parse_line` and
//! `ChatMessage::decode` would make of it, for the fields a search needs,
//! without building the message. It gives up (`None`) on anything unusual
//! (a duplicate line key, a non-string text, room or timestamp, a block
//! key starting with `$`, which serde_json's own value reading treats
//! apart, a line longer than a block may be), and the slow reading answers
//! instead; where it answers, it answers alike (tested in `search/mod.rs`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::domain::keys::{LogKey, Seq};
use crate::domain::message::{MAX_BLOCK_BYTES, MAX_TEXT_CHARS};
use crate::domain::room::MAX_ROOM_CHARS;
use crate::domain::text::{is_safe_char, sanitize_line, sanitize_text};
use crate::net::history::Position;

/// A line of `index.jsonl`, read fast.
#[derive(Debug)]
pub(super) struct FastLine<'a> {
    pub(super) seq: u64,
    /// Unix milliseconds, for blocks without a timestamp.
    pub(super) arrived: Option<i64>,
    /// `None` for an undecodable block.
    pub(super) block: Option<FastBlock<'a>>,
}

/// The fields of a block a search reads, raw (unsanitized).
#[derive(Debug, Default)]
pub(super) struct FastBlock<'a> {
    pub(super) text: Option<Cow<'a, str>>,
    pub(super) room: Option<Cow<'a, str>>,
    pub(super) timestamp: Option<Cow<'a, str>>,
}

pub(super) fn read_fast(line: &[u8]) -> Option<FastLine<'_>> {
    // The block is part of the line, so within the decoder's limit.
    if line.len() > MAX_BLOCK_BYTES {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    serde_json::from_str(text).ok()
}

impl FastLine<'_> {
    /// As `log::history::position_of` places it.
    pub(super) fn position(&self, log: LogKey) -> Position {
        let at = self
            .arrived
            .and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
            .or_else(|| {
                self.block
                    .as_ref()
                    .and_then(|b| b.timestamp.as_deref())
                    .and_then(parse_timestamp)
            })
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Position {
            at,
            log,
            seq: Seq(self.seq),
        }
    }
}

impl FastBlock<'_> {
    /// The text as decoding sanitizes it.
    pub(super) fn text(&self) -> Cow<'_, str> {
        let raw = self.text.as_deref().unwrap_or_default();
        if raw.len() <= MAX_TEXT_CHARS && is_clean_text(raw) {
            Cow::Borrowed(raw)
        } else {
            Cow::Owned(sanitize_text(raw, MAX_TEXT_CHARS))
        }
    }

    /// The room as decoding sanitizes it; `None` when empty or missing.
    pub(super) fn room(&self) -> Option<Cow<'_, str>> {
        let raw = self.room.as_deref()?;
        let room = if is_clean_line(raw) {
            Cow::Borrowed(raw)
        } else {
            Cow::Owned(sanitize_line(raw, MAX_ROOM_CHARS))
        };
        (!room.is_empty()).then_some(room)
    }
}

/// Whether `sanitize_text` leaves `text` (of at most `MAX_TEXT_CHARS`) as
/// it is.
pub(super) fn is_clean_text(text: &str) -> bool {
    if text.is_ascii() {
        text.bytes()
            .all(|b| b == b'\n' || (0x20..0x7f).contains(&b))
    } else {
        text.chars().all(|c| c == '\n' || is_safe_char(c))
    }
}

/// Whether `sanitize_line` leaves a room name as it is (a cheap check
/// for the usual name; others are sanitized).
pub(super) fn is_clean_line(room: &str) -> bool {
    room.len() <= MAX_ROOM_CHARS
        && room.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !room.starts_with(' ')
        && !room.ends_with(' ')
}

/// As decoding reads a timestamp; the form hychat and JS write
/// (`2026-11-24T14:26:00.123Z`) without the general parser.
pub(super) fn parse_timestamp(raw: &str) -> Option<OffsetDateTime> {
    parse_usual_timestamp(raw).or_else(|| OffsetDateTime::parse(raw.trim(), &Rfc3339).ok())
}

pub(super) fn parse_usual_timestamp(raw: &str) -> Option<OffsetDateTime> {
    let b = raw.as_bytes();
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    let month = Month::try_from(u8::try_from(number(5, 7)?).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(number(8, 10)?).ok()?).ok()?;
    let time = Time::from_hms_milli(
        u8::try_from(number(11, 13)?).ok()?,
        u8::try_from(number(14, 16)?).ok()?,
        u8::try_from(number(17, 19)?).ok()?,
        u16::try_from(number(20, 23)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// A map key, borrowed when it has no escapes.
pub(super) struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(StrVisitor).map(Key)
    }
}

/// A string value, borrowed when it has no escapes; anything else fails.
pub(super) struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrVisitor).map(Str)
    }
}

pub(super) struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> Deserialize<'de> for FastLine<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(LineVisitor)
    }
}

pub(super) struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = FastLine<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an index line")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seq = None;
        let mut block = None;
        let mut arrived = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key.0.as_ref() {
                "seq" if seq.is_none() => seq = Some(map.next_value::<u64>()?),
                "block" if block.is_none() => block = Some(map.next_value::<Option<FastBlock>>()?),
                "arrived" if arrived.is_none() => arrived = Some(map.next_value::<Option<i64>>()?),
                "seq" | "block" | "arrived" => return Err(de::Error::custom("duplicate key")),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(FastLine {
            seq: seq.ok_or_else(|| de::Error::missing_field("seq"))?,
            arrived: arrived.flatten(),
            block: block.flatten(),
        })
    }
}

impl<'de> Deserialize<'de> for FastBlock<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BlockVisitor)
    }
}

pub(super) struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = FastBlock<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a block")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut block = FastBlock::default();
        while let Some(key) = map.next_key::<Key>()? {
            // A later duplicate wins, as in a decoded object.
            match key.0.as_ref() {
                "text" => block.text = Some(map.next_value::<Str>()?.0),
                "room" => block.room = Some(map.next_value::<Str>()?.0),
                "timestamp" => block.timestamp = Some(map.next_value::<Str>()?.0),
                other if other.starts_with('$') => return Err(de::Error::custom("special key")),
                _ => {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(block)
    }
}

/// Any JSON value, read as fully as decoding reads it (numbers in range,
/// strings well escaped) but not kept.
pub(super) struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

pub(super) struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            if key.0.starts_with('$') {
                return Err(de::Error::custom("special key"));
            }
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}
