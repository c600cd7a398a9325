//! The identifiers: `LogKey` (a log's public key), `DiscoveryKey` (its swarm
//! topic), `Seq` (a block index), `ConnectionKey` (the remote key of one
//! connection) and `SessionId` (one hychat process's hello session). Owns key
//! parsing and display; no IO.

use std::fmt;
use std::str::FromStr;

/// Declares a 32-byte identifier: the newtype, `short()` (its first 8 hex
/// characters, for compact display) and a `Debug` that shows that.
macro_rules! id32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The first 8 hex characters, for compact display.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.short())
            }
        }
    };
}

id32!(
    /// The public key of one hypercore log. This is what users share and follow.
    LogKey
);

id32!(
    /// The hash of a `LogKey` that peers use as the swarm topic and channel id.
    DiscoveryKey
);

id32!(
    /// The remote's public key on one connection (its handshake key). It names
    /// a connection, not a person: the swarm makes a new keypair for every
    /// process, and again whenever hychat rebuilds its swarm.
    ConnectionKey
);

/// One hychat process's hello session, random per process start: two
/// connections whose hellos carry the same session reach the same peer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub [u8; 16]);

impl SessionId {
    /// A fresh random session.
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// Lowercase hex, as the hello carries it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", hex::encode(&self.0[..4]))
    }
}

/// The index of a block in a log.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Seq(pub u64);

/// What nobody may do with their own log. One sentence each, shared by the
/// UI (which refuses at once) and the engine (which refuses for headless
/// commands and any other caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OwnLogRefusal {
    #[error("that is your own log; friends follow it, you already have it")]
    Follow,
    #[error("that is you; you cannot mute yourself")]
    Mute,
}

impl OwnLogRefusal {
    /// Refuses when `key` is our own log (`own`, once known).
    pub fn check(self, key: &LogKey, own: Option<LogKey>) -> Result<(), Self> {
        if own == Some(*key) {
            Err(self)
        } else {
            Ok(())
        }
    }
}

/// Why a string is not a key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{input}` is not a log key: use 64 hex characters, hyper://<64 hex>, or the 52-character z-base-32 form"
)]
pub struct KeyParseError {
    input: String,
}

impl LogKey {
    /// Full lowercase hex, the canonical share form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The z-base-32 form used by the JS ecosystem (52 characters).
    pub fn to_z32(&self) -> String {
        zbase32::encode(self.0)
    }

    pub fn discovery_key(&self) -> DiscoveryKey {
        DiscoveryKey(hypercore_protocol::discovery_key(&self.0))
    }
}

impl FromStr for LogKey {
    type Err = KeyParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = || KeyParseError {
            input: input.chars().take(80).collect(),
        };
        let trimmed = input.trim();
        let body = trimmed
            .strip_prefix("hyper://")
            .unwrap_or(trimmed)
            .trim_end_matches('/');
        let bytes = match body.len() {
            64 => hex::decode(body).map_err(|_| error())?,
            52 => zbase32::decode(body).map_err(|_| error())?,
            _ => return Err(error()),
        };
        let array: [u8; 32] = bytes.try_into().map_err(|_| error())?;
        Ok(LogKey(array))
    }
}

impl fmt::Display for LogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Display for ConnectionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "8f2c1e9a4b7d3f60c5e1a2b3d4f5061728394a5b6c7d8e9fa0b1c2d3e4f50617";

    #[test]
    fn parses_hex_and_hyper_url() {
        let key: LogKey = HEX.parse().unwrap();
        assert_eq!(key.to_hex(), HEX);
        let url: LogKey = format!("hyper://{HEX}/").parse().unwrap();
        assert_eq!(url, key);
        let upper: LogKey = HEX.to_uppercase().parse().unwrap();
        assert_eq!(upper, key);
    }

    #[test]
    fn z32_round_trips() {
        let key: LogKey = HEX.parse().unwrap();
        let z = key.to_z32();
        assert_eq!(z.len(), 52);
        assert_eq!(z.parse::<LogKey>().unwrap(), key);
    }

    #[test]
    fn rejects_other_forms_with_a_message_naming_the_accepted_ones() {
        for bad in [
            "",
            "abc",
            &HEX[..63],
            &format!("{HEX}00"),
            &HEX.replace('8', "g"),
        ] {
            let err = bad.parse::<LogKey>().unwrap_err();
            assert!(err.to_string().contains("64 hex characters"), "{err}");
        }
    }

    #[test]
    fn only_the_own_log_is_refused() {
        let own = LogKey([1; 32]);
        assert_eq!(
            OwnLogRefusal::Follow.check(&own, Some(own)),
            Err(OwnLogRefusal::Follow)
        );
        assert_eq!(
            OwnLogRefusal::Mute.check(&LogKey([2; 32]), Some(own)),
            Ok(())
        );
        assert_eq!(OwnLogRefusal::Mute.check(&own, None), Ok(()));
    }

    #[test]
    fn discovery_key_differs_from_key() {
        let key: LogKey = HEX.parse().unwrap();
        assert_ne!(key.discovery_key().0, key.0);
    }
}
