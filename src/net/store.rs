//! The storage directory: its layout, the lock that keeps a second process
//! out, the persisted follow list and profile. Owns small JSON files only;
//! hypercores live in the directories it names but are opened elsewhere.
//! The layout and the follow list can also be read without the lock
//! (`own_dir_in`, `log_dir_in`, `read_follows`, for `net::read_only`).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::keys::{LogKey, Seq};
use crate::domain::read::{ReadMark, MAX_REMEMBERED_UNREAD};
use crate::domain::room::{Member, RoomEntry, RoomName};
use crate::domain::Position;

const LOCK_FILE: &str = "hychat.lock";
const FOLLOWS_FILE: &str = "follows.json";
const PROFILE_FILE: &str = "profile.json";
const ROOMS_FILE: &str = "rooms.json";
const MUTED_FILE: &str = "muted.json";
const READ_FILE: &str = "read.json";

/// One followed log and the local name the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowEntry {
    pub key: LogKey,
    pub name: Option<String>,
}

/// A joined room as it is stored: its members, and which of them we met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoom {
    pub entry: RoomEntry,
    pub met: Vec<LogKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the storage directory {0} is already in use by another hychat process")]
    InUse(PathBuf),
    #[error("cannot write to the storage directory {path}: {source}")]
    Unwritable { path: PathBuf, source: io::Error },
    #[error("cannot read {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

#[derive(Serialize, Deserialize)]
struct FollowRecord {
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RoomRecord {
    name: String,
    #[serde(default)]
    members: Vec<MemberRecord>,
}

#[derive(Serialize, Deserialize)]
struct MemberRecord {
    key: String,
    /// The nickname the member goes by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nick: Option<String>,
    /// Introduced by itself (not only named in someone's list).
    #[serde(default)]
    met: bool,
}

/// One channel's read state on disk. Times are Unix milliseconds; a
/// message is `"KEYHEX:SEQ"`.
#[derive(Serialize, Deserialize)]
struct ReadRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    read_up_to: Option<PositionRecord>,
    last_viewed: i64,
    #[serde(default)]
    unread: Vec<String>,
    #[serde(default)]
    mentions: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct PositionRecord {
    at: i64,
    log: String,
    seq: u64,
}

#[derive(Serialize, Deserialize, Default)]
struct Profile {
    #[serde(default)]
    nickname: Option<String>,
}

/// A locked storage directory. The lock is released when this is dropped.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    _lock: File,
}

impl Store {
    /// Creates the directory if needed and takes its lock, or says who holds it.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let unwritable = |source| StoreError::Unwritable {
            path: root.to_path_buf(),
            source,
        };
        fs::create_dir_all(root).map_err(unwritable)?;
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join(LOCK_FILE))
            .map_err(unwritable)?;
        match lock.try_lock_exclusive() {
            Ok(true) => {}
            Ok(false) => return Err(StoreError::InUse(root.to_path_buf())),
            Err(e) => return Err(unwritable(e)),
        }
        let store = Self {
            root: root.to_path_buf(),
            _lock: lock,
        };
        fs::create_dir_all(store.logs_dir()).map_err(unwritable)?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where our own writable log lives. Holds the secret key.
    pub fn own_dir(&self) -> PathBuf {
        own_dir_in(&self.root)
    }

    /// Where followed logs live. The directory keeps the name of hychat's
    /// first storage layout (`feeds/`), so existing storage opens as it is.
    fn logs_dir(&self) -> PathBuf {
        logs_dir_in(&self.root)
    }

    /// Where a followed log is cloned to.
    pub fn log_dir(&self, key: &LogKey) -> PathBuf {
        log_dir_in(&self.root, key)
    }

    pub fn is_first_run(&self) -> bool {
        !self.own_dir().exists()
    }

    pub fn load_follows(&self) -> Result<Vec<FollowEntry>, StoreError> {
        read_follows(&self.root)
    }

    pub fn save_follows(&self, follows: &[FollowEntry]) -> Result<(), StoreError> {
        let records: Vec<FollowRecord> = follows
            .iter()
            .map(|f| FollowRecord {
                key: f.key.to_hex(),
                name: f.name.clone(),
            })
            .collect();
        self.write_json(FOLLOWS_FILE, &records)
    }

    /// Joined rooms and their remembered members.
    pub fn load_rooms(&self) -> Result<Vec<StoredRoom>, StoreError> {
        let path = self.root.join(ROOMS_FILE);
        let Some(records) = read_json::<Vec<RoomRecord>>(&path)? else {
            return Ok(Vec::new());
        };
        let corrupt = |reason: String| StoreError::Corrupt {
            path: path.clone(),
            reason,
        };
        records
            .into_iter()
            .map(|record| {
                let name = RoomName::parse(&record.name).map_err(|e| corrupt(e.to_string()))?;
                let mut members = Vec::new();
                let mut met = Vec::new();
                for m in record.members {
                    let key: LogKey = m
                        .key
                        .parse()
                        .map_err(|e: crate::domain::KeyParseError| corrupt(e.to_string()))?;
                    if m.met {
                        met.push(key);
                    }
                    members.push(Member {
                        key,
                        nickname: m.nick,
                    });
                }
                Ok(StoredRoom {
                    entry: RoomEntry { name, members },
                    met,
                })
            })
            .collect()
    }

    pub fn save_rooms(&self, rooms: &[StoredRoom]) -> Result<(), StoreError> {
        let records: Vec<RoomRecord> = rooms
            .iter()
            .map(|room| RoomRecord {
                name: room.entry.name.to_string(),
                members: room
                    .entry
                    .members
                    .iter()
                    .map(|m| MemberRecord {
                        key: m.key.to_hex(),
                        nick: m.nickname.clone(),
                        met: room.met.contains(&m.key),
                    })
                    .collect(),
            })
            .collect();
        self.write_json(ROOMS_FILE, &records)
    }

    /// Logs the user muted.
    pub fn load_muted(&self) -> Result<Vec<LogKey>, StoreError> {
        let path = self.root.join(MUTED_FILE);
        let Some(keys) = read_json::<Vec<String>>(&path)? else {
            return Ok(Vec::new());
        };
        keys.iter()
            .map(|k| {
                k.parse()
                    .map_err(|e: crate::domain::KeyParseError| StoreError::Corrupt {
                        path: path.clone(),
                        reason: e.to_string(),
                    })
            })
            .collect()
    }

    pub fn save_muted(&self, muted: &[LogKey]) -> Result<(), StoreError> {
        let keys: Vec<String> = muted.iter().map(LogKey::to_hex).collect();
        self.write_json(MUTED_FILE, &keys)
    }

    /// What was read of each channel. Entries that do not parse are left
    /// out (a read marker is not worth refusing to start over).
    pub fn load_read_marks(&self) -> Result<Vec<ReadMark>, StoreError> {
        let path = self.root.join(READ_FILE);
        let Some(records) = read_json::<Vec<ReadRecord>>(&path)? else {
            return Ok(Vec::new());
        };
        Ok(records.iter().filter_map(read_mark_of).collect())
    }

    pub fn save_read_marks(&self, marks: &[ReadMark]) -> Result<(), StoreError> {
        let records: Vec<ReadRecord> = marks.iter().map(read_record_of).collect();
        self.write_json(READ_FILE, &records)
    }

    pub fn load_nickname(&self) -> Result<Option<String>, StoreError> {
        Ok(read_json::<Profile>(&self.root.join(PROFILE_FILE))?.and_then(|p| p.nickname))
    }

    pub fn save_nickname(&self, nickname: &str) -> Result<(), StoreError> {
        let profile = Profile {
            nickname: Some(nickname.to_string()),
        };
        self.write_json(PROFILE_FILE, &profile)
    }

    /// Writes via a temporary file and a rename, so a crash never leaves half a file.
    fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        let path = self.root.join(name);
        let tmp = self.root.join(format!("{name}.tmp"));
        let unwritable = |source| StoreError::Unwritable {
            path: path.clone(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| unwritable(e.into()))?;
        let mut file = File::create(&tmp).map_err(unwritable)?;
        file.write_all(&bytes).map_err(unwritable)?;
        file.sync_all().map_err(unwritable)?;
        fs::rename(&tmp, &path).map_err(unwritable)
    }
}

// The layout and the reads below need no lock: `net::read_only` uses
// them beside a running hychat. Each file is replaced whole by a rename
// (`write_json`), so a read sees the old file or the new one.

/// The own log's folder of the storage at `root`. Holds the secret key.
pub(crate) fn own_dir_in(root: &Path) -> PathBuf {
    root.join("own")
}

fn logs_dir_in(root: &Path) -> PathBuf {
    root.join("feeds")
}

/// Where the storage at `root` keeps its copy of another's log `key`.
pub(crate) fn log_dir_in(root: &Path, key: &LogKey) -> PathBuf {
    logs_dir_in(root).join(key.to_hex())
}

/// The follow list of the storage at `root`; empty when it has none.
pub(crate) fn read_follows(root: &Path) -> Result<Vec<FollowEntry>, StoreError> {
    let path = root.join(FOLLOWS_FILE);
    let Some(records) = read_json::<Vec<FollowRecord>>(&path)? else {
        return Ok(Vec::new());
    };
    records
        .into_iter()
        .map(|r| {
            let key =
                r.key
                    .parse()
                    .map_err(|e: crate::domain::KeyParseError| StoreError::Corrupt {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
            Ok(FollowEntry { key, name: r.name })
        })
        .collect()
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn time_of(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

fn message_id(&(log, seq): &(LogKey, Seq)) -> String {
    format!("{}:{}", log.to_hex(), seq.0)
}

fn parse_message_id(text: &str) -> Option<(LogKey, Seq)> {
    let (log, seq) = text.split_once(':')?;
    Some((log.parse().ok()?, Seq(seq.parse().ok()?)))
}

fn read_record_of(mark: &ReadMark) -> ReadRecord {
    let ids = |list: &[(LogKey, Seq)]| list.iter().map(message_id).collect();
    ReadRecord {
        room: mark.room.as_ref().map(|r| r.to_string()),
        read_up_to: mark.read_up_to.map(|p| PositionRecord {
            at: millis(p.at),
            log: p.log.to_hex(),
            seq: p.seq.0,
        }),
        last_viewed: millis(mark.last_viewed),
        unread: ids(&mark.unread),
        mentions: ids(&mark.mentions),
    }
}

fn read_mark_of(record: &ReadRecord) -> Option<ReadMark> {
    let room = match &record.room {
        Some(name) => Some(RoomName::parse(name).ok()?),
        None => None,
    };
    let read_up_to = match &record.read_up_to {
        Some(p) => Some(Position {
            at: time_of(p.at)?,
            log: p.log.parse().ok()?,
            seq: Seq(p.seq),
        }),
        None => None,
    };
    let ids = |list: &[String]| -> Vec<(LogKey, Seq)> {
        list.iter()
            .filter_map(|id| parse_message_id(id))
            .take(MAX_REMEMBERED_UNREAD)
            .collect()
    };
    Some(ReadMark {
        room,
        read_up_to,
        last_viewed: time_of(record.last_viewed)?,
        unread: ids(&record.unread),
        mentions: ids(&record.mentions),
    })
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path()).unwrap();
        assert!(matches!(Store::open(dir.path()), Err(StoreError::InUse(_))));
        drop(first);
        assert!(Store::open(dir.path()).is_ok());
    }

    #[test]
    fn follows_and_nickname_persist() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.load_follows().unwrap().is_empty());
        let follows = vec![FollowEntry {
            key: LogKey([7; 32]),
            name: Some("ann".into()),
        }];
        store.save_follows(&follows).unwrap();
        store.save_nickname("cat-lover").unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.load_follows().unwrap(), follows);
        assert_eq!(store.load_nickname().unwrap().as_deref(), Some("cat-lover"));
    }

    #[test]
    fn rooms_and_mutes_persist() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.load_rooms().unwrap().is_empty());
        assert!(store.load_muted().unwrap().is_empty());
        let rooms = vec![StoredRoom {
            entry: RoomEntry {
                name: RoomName::parse("streams-day").unwrap(),
                members: vec![
                    Member {
                        key: LogKey([3; 32]),
                        nickname: Some("bob".into()),
                    },
                    Member {
                        key: LogKey([5; 32]),
                        nickname: None,
                    },
                ],
            },
            met: vec![LogKey([3; 32])],
        }];
        store.save_rooms(&rooms).unwrap();
        store.save_muted(&[LogKey([4; 32])]).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.load_rooms().unwrap(), rooms);
        assert_eq!(store.load_muted().unwrap(), vec![LogKey([4; 32])]);
    }

    #[test]
    fn read_marks_persist_and_bad_entries_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.load_read_marks().unwrap().is_empty());
        let at = time::macros::datetime!(2026-11-28 10:00:00.123 UTC);
        let log = LogKey([7; 32]);
        let marks = vec![
            ReadMark {
                room: None,
                read_up_to: Some(Position {
                    at,
                    log,
                    seq: Seq(41),
                }),
                last_viewed: at,
                unread: vec![(log, Seq(42)), (log, Seq(43))],
                mentions: vec![(log, Seq(43))],
            },
            ReadMark {
                room: Some(RoomName::parse("rust").unwrap()),
                read_up_to: None,
                last_viewed: at,
                unread: Vec::new(),
                mentions: Vec::new(),
            },
        ];
        store.save_read_marks(&marks).unwrap();
        assert_eq!(store.load_read_marks().unwrap(), marks);
        let path = dir.path().join(READ_FILE);
        fs::write(
            &path,
            r#"[{"room":"  ","last_viewed":0},{"last_viewed":5,"unread":["zz:1"]}]"#,
        )
        .unwrap();
        let loaded = store.load_read_marks().unwrap();
        assert_eq!(loaded.len(), 1);
        assert!(loaded[0].unread.is_empty());
    }

    #[test]
    fn corrupt_follow_list_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fs::write(dir.path().join(FOLLOWS_FILE), b"{oops").unwrap();
        let err = store.load_follows().unwrap_err();
        assert!(err.to_string().contains("follows.json"), "{err}");
    }
}
