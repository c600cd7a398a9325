//! The config file (`config.toml`): every key is optional, and flags and
//! environment variables override it. The commented example is
//! `assets/config.example.toml`. Owns parsing only.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Nickname written into new messages.
    pub nick: Option<String>,
    /// DHT bootstrap nodes as `host:port`; replaces the default list.
    pub bootstrap: Option<Vec<String>>,
    /// Set false to never host the machine-local bootstrap node.
    pub host_local_bootstrap: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the config file {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl Config {
    /// Reads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(ConfigError::Unreadable {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
            }
        };
        Self::parse(&text).map_err(|reason| ConfigError::Invalid {
            path: path.to_path_buf(),
            reason,
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_example_parses() {
        let example = include_str!("../assets/config.example.toml");
        let config = Config::parse(example).unwrap();
        assert_eq!(config.nick.as_deref(), Some("cat-lover"));
    }

    #[test]
    fn unknown_keys_are_reported() {
        let err = Config::parse("nik = \"typo\"").unwrap_err();
        assert!(err.contains("nik"), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_empty_config() {
        let config = Config::load(Path::new("/nonexistent/hychat/config.toml")).unwrap();
        assert_eq!(config, Config::default());
    }
}
