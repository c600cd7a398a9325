//! The chat message format (docs/architecture.md §3): one JSON object per block, compatible
//! with the workshop's `single-chat.js`. Owns encoding our own blocks and
//! decoding untrusted ones into sanitized `ChatMessage`s. Pure: no IO, and it
//! never panics on any input.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::text::{sanitize_line, sanitize_text};

/// The `type` of an ordinary chat line.
pub const CHAT_MESSAGE_TYPE: &str = "chat-message";
/// Blocks larger than this are refused outright: no chat line needs more.
pub const MAX_BLOCK_BYTES: usize = 64 * 1024;
/// Longest text kept after decoding, in characters.
pub const MAX_TEXT_CHARS: usize = 8 * 1024;
/// Longest nickname kept after decoding, in characters.
pub const MAX_NICK_CHARS: usize = 32;

/// One decoded, sanitized block.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    /// The block's `type`; unknown types are kept so the UI can show them neutrally.
    pub kind: String,
    pub nickname: String,
    pub text: String,
    /// `None` when the writer's timestamp is missing or unreadable.
    pub timestamp: Option<OffsetDateTime>,
    /// The room the message was written in, if any.
    pub room: Option<String>,
    /// Fields this version does not know, kept as they came (sanitized strings).
    pub extra: Map<String, Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("block is {0} bytes, over the {MAX_BLOCK_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("block is not UTF-8")]
    NotUtf8,
    #[error("block is not a JSON object: {0}")]
    NotJson(String),
}

impl ChatMessage {
    /// A new chat line written now by `nickname`.
    pub fn new_chat(nickname: &str, text: &str, now: OffsetDateTime) -> Self {
        Self {
            kind: CHAT_MESSAGE_TYPE.to_string(),
            nickname: nickname.to_string(),
            text: text.to_string(),
            timestamp: Some(now),
            room: None,
            extra: Map::new(),
        }
    }

    pub fn is_chat(&self) -> bool {
        self.kind == CHAT_MESSAGE_TYPE
    }

    /// Encodes the block exactly as the workshop writer does, plus `room` when set.
    pub fn encode(&self) -> Vec<u8> {
        let mut object = self.extra.clone();
        object.insert("type".into(), Value::String(self.kind.clone()));
        object.insert("nickname".into(), Value::String(self.nickname.clone()));
        object.insert("text".into(), Value::String(self.text.clone()));
        if let Some(timestamp) = self.timestamp {
            object.insert(
                "timestamp".into(),
                Value::String(format_timestamp(timestamp)),
            );
        }
        if let Some(room) = &self.room {
            object.insert("room".into(), Value::String(room.clone()));
        }
        // Serializing a map of plain values cannot fail.
        serde_json::to_vec(&Value::Object(object)).unwrap_or_default()
    }

    /// Decodes an untrusted block. Control characters never survive.
    pub fn decode(block: &[u8]) -> Result<Self, DecodeError> {
        if block.len() > MAX_BLOCK_BYTES {
            return Err(DecodeError::TooLarge(block.len()));
        }
        let text = std::str::from_utf8(block).map_err(|_| DecodeError::NotUtf8)?;
        let value: Value =
            serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
        let Value::Object(mut object) = value else {
            return Err(DecodeError::NotJson("not an object".into()));
        };
        let mut take_string = |name: &str| match object.remove(name) {
            Some(Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
            None => None,
        };
        let kind = take_string("type").unwrap_or_default();
        let nickname = take_string("nickname").unwrap_or_default();
        let body = take_string("text").unwrap_or_default();
        let timestamp = take_string("timestamp").and_then(|s| parse_timestamp(&s));
        let room =
            take_string("room").map(|r| sanitize_line(&r, crate::domain::room::MAX_ROOM_CHARS));
        let extra = object
            .into_iter()
            .map(|(k, v)| (sanitize_line(&k, 64), sanitize_value(v)))
            .collect();
        Ok(Self {
            kind: sanitize_line(&kind, 64),
            nickname: sanitize_line(&nickname, MAX_NICK_CHARS),
            text: sanitize_text(&body, MAX_TEXT_CHARS),
            timestamp,
            room: room.filter(|r| !r.is_empty()),
            extra,
        })
    }
}

/// ISO-8601 UTC with milliseconds, as JavaScript's `Date.toISOString()`.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

fn parse_timestamp(raw: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339).ok()
}

fn sanitize_value(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(sanitize_text(&s, MAX_TEXT_CHARS)),
        Value::Array(items) => Value::Array(items.into_iter().map(sanitize_value).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (sanitize_line(&k, 64), sanitize_value(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The check the decoder's tests and the replication fuzz bench make of
/// every decoded message (exposed as `net::testing::sanitized`).
#[cfg(any(test, feature = "testing"))]
pub(crate) mod check {
    use serde_json::Value;

    use super::{ChatMessage, MAX_NICK_CHARS, MAX_TEXT_CHARS};
    use crate::domain::room::MAX_ROOM_CHARS;
    use crate::domain::text::is_safe_char;

    fn safe_line(s: &str, max: usize) -> bool {
        s.chars().count() <= max && s.chars().all(is_safe_char)
    }

    fn safe_text(s: &str, max: usize) -> bool {
        s.chars().count() <= max && s.chars().all(|c| c == '\n' || is_safe_char(c))
    }

    fn safe_value(value: &Value) -> bool {
        match value {
            Value::String(s) => safe_text(s, MAX_TEXT_CHARS),
            Value::Array(items) => items.iter().all(safe_value),
            Value::Object(map) => map.iter().all(|(k, v)| safe_line(k, 64) && safe_value(v)),
            _ => true,
        }
    }

    /// Nothing of a decoded message can reach the terminal as a control or
    /// direction character, and every field is within its limit.
    pub fn sanitized(message: &ChatMessage) -> bool {
        safe_line(&message.kind, 64)
            && safe_line(&message.nickname, MAX_NICK_CHARS)
            && safe_text(&message.text, MAX_TEXT_CHARS)
            && message
                .room
                .as_deref()
                .is_none_or(|r| safe_line(r, MAX_ROOM_CHARS))
            && message
                .extra
                .iter()
                .all(|(k, v)| safe_line(k, 64) && safe_value(v))
    }
}

#[cfg(test)]
mod tests {
    use super::check::sanitized;
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn round_trips_the_workshop_format() {
        let message =
            ChatMessage::new_chat("cat-lover", "hello world", datetime!(2026-11-24 14:26 UTC));
        let bytes = message.encode();
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["type"], "chat-message");
        assert_eq!(json["timestamp"], "2026-11-24T14:26:00.000Z");
        assert_eq!(ChatMessage::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn reads_a_js_block_and_keeps_unknown_fields() {
        let block = br#"{"type":"reaction","nickname":"js","text":"+1","timestamp":"2026-11-24T14:26:00.123Z","emoji":"\u001b[31m!"}"#;
        let message = ChatMessage::decode(block).unwrap();
        assert_eq!(message.kind, "reaction");
        assert!(!message.is_chat());
        assert_eq!(message.timestamp.unwrap().millisecond(), 123);
        assert_eq!(message.extra["emoji"], "[31m!");
    }

    #[test]
    fn strips_escapes_and_controls() {
        let block = "{\"type\":\"chat-message\",\"nickname\":\"ev\\u001b]0;pwn\\u0007il\",\"text\":\"a\\u001b[2Jb\\r\\nc\\u009bd\\u202ee\"}";
        let message = ChatMessage::decode(block.as_bytes()).unwrap();
        assert_eq!(message.nickname, "ev]0;pwnil");
        assert_eq!(message.text, "a[2Jb\ncde");
        assert!(message.timestamp.is_none());
    }

    #[test]
    fn refuses_hostile_blocks_without_panicking() {
        assert_eq!(
            ChatMessage::decode(&[0xff, 0xfe, b'{']),
            Err(DecodeError::NotUtf8)
        );
        assert!(matches!(
            ChatMessage::decode(b"not json"),
            Err(DecodeError::NotJson(_))
        ));
        assert!(matches!(
            ChatMessage::decode(b"[1,2]"),
            Err(DecodeError::NotJson(_))
        ));
        assert!(matches!(
            ChatMessage::decode(b"{\"text\":"),
            Err(DecodeError::NotJson(_))
        ));
        let huge = vec![b'a'; 1024 * 1024];
        assert_eq!(
            ChatMessage::decode(&huge),
            Err(DecodeError::TooLarge(1024 * 1024))
        );
    }

    #[test]
    fn limits_lengths_and_coerces_non_string_fields() {
        let long_nick = "n".repeat(500);
        let block = format!(r#"{{"type":"chat-message","nickname":"{long_nick}","text":42}}"#);
        let message = ChatMessage::decode(block.as_bytes()).unwrap();
        assert_eq!(message.nickname.chars().count(), MAX_NICK_CHARS);
        assert_eq!(message.text, "42");
    }

    /// Strings with the characters a hostile writer would use.
    fn hostile_string(max: usize) -> impl Strategy<Value = String> {
        let nasty = prop::sample::select(vec![
            '\u{1b}', '\u{7}', '\u{0}', '\r', '\n', '\t', '\u{7f}', '\u{9b}', '\u{202e}',
            '\u{2066}', '"', '\\', '{', '🙂',
        ]);
        proptest::collection::vec(prop_oneof![any::<char>(), nasty], 0..max)
            .prop_map(String::from_iter)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any bytes: an error or a sanitized message, never a panic.
        #[test]
        fn any_bytes_decode_to_an_error_or_a_sanitized_message(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            if let Ok(message) = ChatMessage::decode(&bytes) {
                prop_assert!(sanitized(&message), "{message:?}");
            }
        }

        /// A block with hostile fields decodes to those fields sanitized and
        /// cut; mutated or cut, it decodes to an error or a sanitized message.
        #[test]
        fn hostile_fields_are_sanitized_and_cut(
            kind in hostile_string(80),
            nickname in hostile_string(80),
            text in prop_oneof![9 => hostile_string(64), 1 => hostile_string(9_000)],
            room in hostile_string(80),
            extra in hostile_string(80),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let block = serde_json::json!({
                "type": kind,
                "nickname": nickname,
                "text": text,
                "room": room,
                extra.clone(): [extra.clone(), {"k": extra}],
            });
            let mut bytes = serde_json::to_vec(&block).unwrap_or_default();
            let message = ChatMessage::decode(&bytes);
            prop_assert!(message.is_ok(), "{message:?}");
            if let Ok(message) = message {
                prop_assert!(sanitized(&message), "{message:?}");
                prop_assert_eq!(message.nickname, sanitize_line(&nickname, MAX_NICK_CHARS));
                prop_assert_eq!(message.text, sanitize_text(&text, MAX_TEXT_CHARS));
            }
            for (at, xor) in flips {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] ^= xor;
                }
            }
            if let Some(cut) = cut {
                bytes.truncate(cut % (bytes.len() + 1));
            }
            if let Ok(message) = ChatMessage::decode(&bytes) {
                prop_assert!(sanitized(&message), "{message:?}");
            }
        }
    }
}
