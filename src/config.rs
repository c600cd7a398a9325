//! The config file (`config.toml`): every key is optional, and flags and
//! environment variables override it. The commented example is
//! `assets/config.example.toml`. Owns parsing only.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::notify;
use crate::ui::theme::{parse_colour, Palette};

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Nickname written into new messages.
    pub nick: Option<String>,
    /// DHT bootstrap nodes as `host:port`; replaces the default list.
    pub bootstrap: Option<Vec<String>>,
    /// Set false to never host the machine-local bootstrap node.
    pub host_local_bootstrap: Option<bool>,
    /// Where the network socket binds: an IP, or IP:PORT (default every interface).
    pub bind: Option<String>,
    /// UI colours; each is a name ("cyan"), a 256-colour index ("33") or "#rrggbb".
    pub colours: Option<Colours>,
    /// How a message worth telling reaches the user.
    pub notify: Option<Notify>,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Colours {
    /// Nickname colours; each log's key picks one.
    pub nicks: Option<Vec<String>>,
    /// System lines.
    pub info: Option<String>,
    /// Inline errors.
    pub error: Option<String>,
    /// Times, separators, borders.
    pub dim: Option<String>,
}

/// The `[notify]` table: what happens when a message mentions the user or
/// comes into a channel they are not looking at.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Ring the terminal bell (default true).
    pub bell: Option<bool>,
    /// Show a desktop notification (default false).
    pub desktop: Option<bool>,
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
        Self::parse(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            reason: e.message().to_string(),
        })
    }

    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// The `[notify]` settings, with the defaults for keys not set.
    pub fn notify(&self) -> notify::Settings {
        let defaults = notify::Settings::default();
        let table = self.notify.as_ref();
        notify::Settings {
            bell: table.and_then(|t| t.bell).unwrap_or(defaults.bell),
            desktop: table.and_then(|t| t.desktop).unwrap_or(defaults.desktop),
        }
    }

    /// The UI palette: the defaults with the configured colours over them.
    pub fn palette(&self, path: &Path) -> Result<Palette, ConfigError> {
        let mut palette = Palette::default();
        let Some(colours) = &self.colours else {
            return Ok(palette);
        };
        let invalid = |e: crate::ui::theme::BadColour| ConfigError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        if let Some(nicks) = &colours.nicks {
            let parsed: Result<Vec<_>, _> = nicks.iter().map(|c| parse_colour(c)).collect();
            let parsed = parsed.map_err(invalid)?;
            if !parsed.is_empty() {
                palette.nicks = parsed;
            }
        }
        for (value, slot) in [
            (&colours.info, &mut palette.info),
            (&colours.error, &mut palette.error),
            (&colours.dim, &mut palette.dim),
        ] {
            if let Some(value) = value {
                *slot = parse_colour(value).map_err(invalid)?;
            }
        }
        Ok(palette)
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
    fn colours_override_the_default_palette() {
        let config =
            Config::parse("[colours]\ninfo = \"green\"\nnicks = [\"33\", \"#102030\"]").unwrap();
        let palette = config.palette(Path::new("c.toml")).unwrap();
        assert_eq!(palette.info, ratatui::style::Color::Green);
        assert_eq!(palette.nicks.len(), 2);
        assert_eq!(palette.error, Palette::default().error);
        let bad = Config::parse("[colours]\nerror = \"blurple\"").unwrap();
        let err = bad.palette(Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("blurple") && err.contains("c.toml"), "{err}");
    }

    #[test]
    fn unknown_keys_are_reported() {
        let err = Config::parse("nik = \"typo\"")
            .unwrap_err()
            .message()
            .to_string();
        assert!(err.contains("nik"), "{err}");
    }

    #[test]
    fn notify_rings_the_bell_and_keeps_the_desktop_quiet_by_default() {
        let settings = Config::default().notify();
        assert!(settings.bell && !settings.desktop);
        assert_eq!(settings, notify::Settings::default());
        let empty = Config::parse("[notify]").unwrap().notify();
        assert_eq!(empty, notify::Settings::default());
    }

    #[test]
    fn notify_keys_override_the_defaults() {
        let config = Config::parse("[notify]\nbell = false\ndesktop = true").unwrap();
        assert_eq!(
            config.notify(),
            notify::Settings {
                bell: false,
                desktop: true
            }
        );
        let desktop_only = Config::parse("[notify]\ndesktop = true").unwrap().notify();
        assert!(desktop_only.bell && desktop_only.desktop);
    }

    #[test]
    fn bad_notify_keys_are_reported() {
        let err = Config::parse("[notify]\nbel = true")
            .unwrap_err()
            .message()
            .to_string();
        assert!(err.contains("bel"), "{err}");
        let err = Config::parse("[notify]\ndesktop = \"yes\"")
            .unwrap_err()
            .message()
            .to_string();
        assert!(err.contains("bool"), "{err}");
        // The sentence the user sees names the file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[notify]\nbell = 1").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(
            err.starts_with("the config file ") && err.contains("is not valid: "),
            "{err}"
        );
    }

    #[test]
    fn a_missing_file_is_an_empty_config() {
        let config = Config::load(Path::new("/nonexistent/hychat/config.toml")).unwrap();
        assert_eq!(config, Config::default());
    }
}
