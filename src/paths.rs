//! Where hychat keeps its files, the XDG way: logs and keys in the data dir,
//! `config.toml` in the config dir, the log file in the state (or cache) dir.
//! `--storage DIR` puts all three under one directory. No IO beyond lookups.

use std::path::{Path, PathBuf};

use directories::ProjectDirs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Logs, keys, follow list (the engine's storage directory).
    pub data: PathBuf,
    /// The config file.
    pub config_file: PathBuf,
    /// The diagnostic log file.
    pub log_file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("no home directory found: pass --storage DIR or set HYCHAT_STORAGE")]
pub struct NoHome;

impl Paths {
    /// Everything under one directory.
    pub fn under(dir: &Path) -> Self {
        Self {
            data: dir.to_path_buf(),
            config_file: dir.join("config.toml"),
            log_file: dir.join("hychat.log"),
        }
    }

    /// The platform's per-user directories.
    pub fn standard() -> Result<Self, NoHome> {
        let dirs = ProjectDirs::from("", "", "hychat").ok_or(NoHome)?;
        let logs = dirs.state_dir().unwrap_or_else(|| dirs.cache_dir());
        Ok(Self {
            data: dirs.data_dir().to_path_buf(),
            config_file: dirs.config_dir().join("config.toml"),
            log_file: logs.join("hychat.log"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_dir_holds_everything() {
        let paths = Paths::under(Path::new("/tmp/alice"));
        assert_eq!(paths.data, Path::new("/tmp/alice"));
        assert_eq!(paths.config_file, Path::new("/tmp/alice/config.toml"));
        assert_eq!(paths.log_file, Path::new("/tmp/alice/hychat.log"));
    }
}
