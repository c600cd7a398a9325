//! Slash commands. This file: the list of them, their help text, and
//! parsing a typed line into a `SlashCommand` or a `CommandError` the user
//! can read; parsing only. What a submitted line does to the app (a
//! message sent, a command run) is `run.rs`'s (`impl App`).

mod run;

use std::str::FromStr;

use crate::app::text;
use crate::domain::message::MAX_NICK_CHARS;
use crate::domain::{LogKey, RoomName};

/// Every command with its argument synopsis and what it does, for `/help`
/// and for Tab completion.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "/follow",
        "KEY [NAME]",
        "follow a friend's log, optionally naming it",
    ),
    ("/unfollow", "KEY|NAME", "stop following a log"),
    (
        "/join",
        "ROOM",
        "join a room and meet everyone in it (or switch to it)",
    ),
    ("/leave", "[ROOM]", "leave a room (this one by default)"),
    ("/members", "", "list this room's members, online or not"),
    ("/mute", "NAME|KEY", "hide someone's messages everywhere"),
    ("/unmute", "NAME|KEY", "show someone's messages again"),
    ("/nick", "NAME", "change the nickname on your new messages"),
    ("/key", "", "show your share key"),
    ("/peers", "", "list connected peers"),
    (
        "/net",
        "",
        "show the network: addresses, NAT, each connection",
    ),
    (
        "/search",
        "TEXT",
        "find TEXT in this channel's history (Ctrl+F)",
    ),
    ("/clear", "", "clear the screen (messages are kept)"),
    ("/help", "", "show commands and keys"),
    ("/quit", "", "leave hychat"),
];

/// A parsed slash command.
#[derive(Debug, Clone, PartialEq)]
pub enum SlashCommand {
    Follow {
        key: LogKey,
        name: Option<String>,
    },
    Unfollow(Target),
    Join(RoomName),
    /// `None` leaves the active room.
    Leave(Option<RoomName>),
    Members,
    Mute(Target),
    Unmute(Target),
    Nick(String),
    Key,
    Peers,
    Net,
    Search(String),
    Clear,
    Help,
    Quit,
}

/// Whom `/unfollow`, `/mute` and `/unmute` name: a key, or a name still
/// to be looked up.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Key(LogKey),
    Name(String),
}

/// Why a line is not a valid command. The message is for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command {0}; type /help for the list")]
    Unknown(String),
    #[error("usage: {0}")]
    Usage(String),
    #[error("{0}")]
    BadKey(String),
    #[error("a nickname needs 1 to {MAX_NICK_CHARS} printable characters")]
    BadNick,
    #[error("a name needs 1 to {MAX_NICK_CHARS} printable characters")]
    BadName,
    /// The room name rule that was broken, as a sentence.
    #[error("{0}")]
    BadRoom(String),
}

/// The names of all commands, for completion.
pub fn command_names() -> Vec<String> {
    COMMANDS
        .iter()
        .map(|(name, _, _)| name.to_string())
        .collect()
}

/// Parses a line that starts with `/`.
pub fn parse(line: &str) -> Result<SlashCommand, CommandError> {
    let line = line.trim();
    let (name, rest) = match line.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim()),
        None => (line, ""),
    };
    let command = match name.to_lowercase().as_str() {
        "/follow" => {
            let (key, name) = match rest.split_once(char::is_whitespace) {
                Some((key, name)) => (key, Some(name.trim())),
                None => (rest, None),
            };
            if key.is_empty() {
                return Err(usage("/follow"));
            }
            let key = LogKey::from_str(key).map_err(|e| CommandError::BadKey(e.to_string()))?;
            let name = match name {
                Some(name) => Some(valid_name(name).ok_or(CommandError::BadName)?),
                None => None,
            };
            SlashCommand::Follow { key, name }
        }
        "/unfollow" => SlashCommand::Unfollow(target("/unfollow", rest)?),
        "/mute" => SlashCommand::Mute(target("/mute", rest)?),
        "/unmute" => SlashCommand::Unmute(target("/unmute", rest)?),
        "/join" => {
            if rest.is_empty() {
                return Err(usage("/join"));
            }
            SlashCommand::Join(room(rest)?)
        }
        "/leave" | "/part" => match rest {
            "" => SlashCommand::Leave(None),
            name => SlashCommand::Leave(Some(room(name)?)),
        },
        "/members" | "/who" => no_argument(SlashCommand::Members, "/members", rest)?,
        "/nick" => {
            if rest.is_empty() {
                return Err(usage("/nick"));
            }
            SlashCommand::Nick(valid_name(rest).ok_or(CommandError::BadNick)?)
        }
        "/key" => no_argument(SlashCommand::Key, "/key", rest)?,
        "/peers" => no_argument(SlashCommand::Peers, "/peers", rest)?,
        "/net" | "/network" => no_argument(SlashCommand::Net, "/net", rest)?,
        "/search" | "/find" => {
            if rest.is_empty() {
                return Err(usage("/search"));
            }
            SlashCommand::Search(rest.to_string())
        }
        "/clear" => no_argument(SlashCommand::Clear, "/clear", rest)?,
        "/help" | "/?" => SlashCommand::Help,
        "/quit" | "/exit" => SlashCommand::Quit,
        _ => {
            return Err(CommandError::Unknown(text::truncate(
                &text::printable_line(name),
                40,
            )))
        }
    };
    Ok(command)
}

fn target(name: &str, rest: &str) -> Result<Target, CommandError> {
    if rest.is_empty() {
        return Err(usage(name));
    }
    Ok(match LogKey::from_str(rest) {
        Ok(key) => Target::Key(key),
        Err(_) => Target::Name(rest.to_string()),
    })
}

fn room(name: &str) -> Result<RoomName, CommandError> {
    RoomName::parse(name).map_err(|e| CommandError::BadRoom(e.to_string()))
}

fn no_argument(
    command: SlashCommand,
    name: &str,
    rest: &str,
) -> Result<SlashCommand, CommandError> {
    if rest.is_empty() {
        Ok(command)
    } else {
        Err(usage(name))
    }
}

fn usage(name: &str) -> CommandError {
    let synopsis = COMMANDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map_or("", |(_, args, _)| args);
    CommandError::Usage(format!("{name} {synopsis}").trim_end().to_string())
}

/// A name or nickname as it will be stored: printable, trimmed, not too long.
fn valid_name(raw: &str) -> Option<String> {
    let name = text::printable_line(raw).trim().to_string();
    let length = name.chars().count();
    (length > 0 && length <= MAX_NICK_CHARS && name.len() == raw.trim().len()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "8f2c1e9a4b7d3f60c5e1a2b3d4f5061728394a5b6c7d8e9fa0b1c2d3e4f50617";

    #[test]
    fn parses_follow_with_and_without_a_name() {
        let key: LogKey = HEX.parse().unwrap();
        assert_eq!(
            parse(&format!("/follow {HEX} ann")),
            Ok(SlashCommand::Follow {
                key,
                name: Some("ann".into())
            })
        );
        assert_eq!(
            parse(&format!("/follow hyper://{HEX}")),
            Ok(SlashCommand::Follow { key, name: None })
        );
        assert_eq!(
            parse(&format!("/follow {HEX} Ann Lee")),
            Ok(SlashCommand::Follow {
                key,
                name: Some("Ann Lee".into())
            })
        );
    }

    #[test]
    fn bad_keys_use_the_key_parser_message() {
        let expected = "nope".parse::<LogKey>().unwrap_err().to_string();
        assert_eq!(
            parse("/follow nope"),
            Err(CommandError::BadKey(expected.clone()))
        );
        assert!(expected.contains("64 hex characters"));
        assert_eq!(
            parse("/follow"),
            Err(CommandError::Usage("/follow KEY [NAME]".into()))
        );
    }

    #[test]
    fn unfollow_takes_a_key_or_a_name() {
        let key: LogKey = HEX.parse().unwrap();
        assert_eq!(
            parse(&format!("/unfollow {HEX}")),
            Ok(SlashCommand::Unfollow(Target::Key(key)))
        );
        assert_eq!(
            parse("/unfollow bob"),
            Ok(SlashCommand::Unfollow(Target::Name("bob".into())))
        );
        assert!(matches!(parse("/unfollow"), Err(CommandError::Usage(_))));
    }

    #[test]
    fn room_commands_parse_and_validate_names() {
        let room = |name: &str| RoomName::parse(name).unwrap();
        assert_eq!(
            parse("/join  streams-day "),
            Ok(SlashCommand::Join(room("streams-day")))
        );
        assert_eq!(
            parse("/join Rust in Space"),
            Ok(SlashCommand::Join(room("Rust in Space")))
        );
        assert_eq!(
            parse("/join"),
            Err(CommandError::Usage("/join ROOM".into()))
        );
        let too_long = "x".repeat(65);
        let expected = RoomName::parse(&too_long).unwrap_err().to_string();
        assert_eq!(
            parse(&format!("/join {too_long}")),
            Err(CommandError::BadRoom(expected))
        );
        assert_eq!(parse("/leave"), Ok(SlashCommand::Leave(None)));
        assert_eq!(
            parse("/leave rust"),
            Ok(SlashCommand::Leave(Some(room("rust"))))
        );
        assert_eq!(parse("/members"), Ok(SlashCommand::Members));
        assert_eq!(
            parse("/members all"),
            Err(CommandError::Usage("/members".into()))
        );
    }

    #[test]
    fn mute_and_unmute_take_a_key_or_a_name() {
        let key: LogKey = HEX.parse().unwrap();
        assert_eq!(
            parse(&format!("/mute {HEX}")),
            Ok(SlashCommand::Mute(Target::Key(key)))
        );
        assert_eq!(
            parse("/unmute Bob Lee"),
            Ok(SlashCommand::Unmute(Target::Name("Bob Lee".into())))
        );
        assert_eq!(
            parse("/mute"),
            Err(CommandError::Usage("/mute NAME|KEY".into()))
        );
    }

    #[test]
    fn nick_is_validated() {
        assert_eq!(
            parse("/nick  cat-lover "),
            Ok(SlashCommand::Nick("cat-lover".into()))
        );
        assert_eq!(
            parse(&format!("/nick {}", "x".repeat(33))),
            Err(CommandError::BadNick)
        );
        assert_eq!(parse("/nick a\u{1b}b"), Err(CommandError::BadNick));
        assert!(matches!(parse("/nick"), Err(CommandError::Usage(_))));
    }

    #[test]
    fn simple_commands_and_unknown_ones() {
        assert_eq!(parse("/key"), Ok(SlashCommand::Key));
        assert_eq!(parse("/PEERS"), Ok(SlashCommand::Peers));
        assert_eq!(parse("/net"), Ok(SlashCommand::Net));
        assert_eq!(parse("/network"), Ok(SlashCommand::Net));
        assert_eq!(parse("/net x"), Err(CommandError::Usage("/net".into())));
        assert_eq!(parse("/clear"), Ok(SlashCommand::Clear));
        assert_eq!(
            parse("/search  fast  clocks "),
            Ok(SlashCommand::Search("fast  clocks".into()))
        );
        assert!(matches!(parse("/search"), Err(CommandError::Usage(_))));
        assert_eq!(parse("/help"), Ok(SlashCommand::Help));
        assert_eq!(parse("/quit"), Ok(SlashCommand::Quit));
        assert!(matches!(parse("/key extra"), Err(CommandError::Usage(_))));
        assert_eq!(
            parse("/frobnicate x"),
            Err(CommandError::Unknown("/frobnicate".into()))
        );
        assert_eq!(
            CommandError::Unknown("/x".into()).to_string(),
            "unknown command /x; type /help for the list"
        );
    }
}
