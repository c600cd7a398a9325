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

#[cfg(test)]
mod tests {
    use super::*;
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
}
