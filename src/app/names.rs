//! How logs are named and found by name: the best name known for a log, the
//! one label sentences and lists use (`bob (b0b0b0b0)`), the names Tab
//! completes to, and resolving a typed name or key to one log, with the one
//! wording for "nobody" and "more than one". `impl App`: names are read
//! from several concerns (our own nickname, the follows, the archive's
//! nicknames, room members), so this sits beside them all.

use std::collections::BTreeSet;

use crate::domain::LogKey;

use super::commands::Target;
use super::{text, App};

/// Where a typed name is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::app) enum Among {
    /// The names of followed logs only (for `/unfollow`).
    Follows,
    /// Follow names, room members' nicknames and nicknames seen on messages.
    Everyone,
    /// As `Everyone`, but muted logs win over others of the same name.
    MutedFirst,
}

impl App {
    /// The best name known for a log: the name of a followed log, else the
    /// newest nickname on its messages, else the nickname it gave as a
    /// room member; `None` when nothing is known. Our own log is "you".
    pub fn name_of(&self, key: &LogKey) -> Option<String> {
        if self.me.own == Some(*key) {
            return Some("you".to_string());
        }
        if let Some(followed) = self.network.peers.follow(key) {
            if followed.nickname.is_some() || followed.local_name.is_some() {
                return Some(followed.display_name());
            }
        }
        self.routing
            .archive
            .latest_nickname(*key)
            .or_else(|| self.routing.audience.member_nickname(key))
            .map(str::to_string)
    }

    /// `bob (b0b0b0b0)`, or the short key alone when no name is known:
    /// the one way a log is named in sentences and lists.
    pub(in crate::app) fn who(&self, key: &LogKey) -> String {
        match self.name_of(key).map(|n| text::printable_line(&n)) {
            Some(name) if !name.is_empty() && name != key.short() => {
                format!("{name} ({})", key.short())
            }
            _ => key.short(),
        }
    }

    /// Names Tab completes to: follows, room members, nicknames seen.
    pub(in crate::app) fn known_names(&self) -> Vec<String> {
        let mut names = self.network.peers.names();
        names.extend(
            self.routing
                .audience
                .all_members()
                .into_iter()
                .filter_map(|m| m.nickname.clone()),
        );
        names.extend(
            self.routing
                .archive
                .nicknames()
                .into_iter()
                .map(|(_, n)| n.to_string()),
        );
        names.retain(|n| !n.is_empty() && !n.contains(char::is_whitespace));
        names.sort();
        names.dedup();
        names
    }

    /// The one log a name or key means, or a sentence saying why not.
    /// Names are matched ignoring case, among the logs `among` says.
    pub(in crate::app) fn resolve(
        &self,
        target: Target,
        command: &str,
        among: Among,
    ) -> Result<LogKey, NameError> {
        let name = match target {
            Target::Key(key) => return Ok(key),
            Target::Name(name) => name,
        };
        let wanted = name.to_lowercase();
        let matches = |n: &str| n.to_lowercase() == wanted;
        let mut keys: BTreeSet<LogKey> = self
            .network
            .peers
            .find_by_name(&name)
            .iter()
            .map(|f| f.key)
            .collect();
        if among != Among::Follows {
            keys.extend(
                self.routing
                    .audience
                    .all_members()
                    .into_iter()
                    .filter(|m| m.nickname.as_deref().is_some_and(matches))
                    .map(|m| m.key),
            );
            keys.extend(
                self.routing
                    .archive
                    .nicknames()
                    .into_iter()
                    .filter(|(_, n)| matches(n))
                    .map(|(k, _)| k),
            );
            if let Some(own) = self.me.own {
                if matches(&self.me.nickname) {
                    keys.insert(own);
                }
                if keys.len() > 1 {
                    keys.remove(&own);
                }
            }
        }
        if among == Among::MutedFirst && keys.iter().any(|k| self.routing.audience.is_muted(k)) {
            keys.retain(|k| self.routing.audience.is_muted(k));
        }
        let keys: Vec<LogKey> = keys.into_iter().collect();
        let shown = text::truncate(&text::printable_line(&name), 40);
        match keys.as_slice() {
            [key] => Ok(*key),
            [] if among == Among::Follows => Err(NameError::NotFollowed { name: shown }),
            [] => Err(NameError::Unknown {
                name: shown,
                command: command.to_string(),
            }),
            many => Err(NameError::Ambiguous {
                name: shown,
                command: command.to_string(),
                keys: many.to_vec(),
            }),
        }
    }
}

/// Why a name does not mean one log; `name` is as the user typed it,
/// cleaned and cut to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NameError {
    #[error("you follow nobody called {name}")]
    NotFollowed { name: String },
    #[error("nobody called {name} here; {command} takes a name you have seen or a key")]
    Unknown { name: String, command: String },
    #[error("{name} is {} logs ({}); {command} one by key", .keys.len(), shorts(.keys))]
    Ambiguous {
        name: String,
        command: String,
        keys: Vec<LogKey>,
    },
}

fn shorts(keys: &[LogKey]) -> String {
    keys.iter()
        .map(LogKey::short)
        .collect::<Vec<_>>()
        .join(", ")
}
