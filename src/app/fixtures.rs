//! Constructors the app's unit tests share (the `tests` module and the
//! tests inside the app's own modules).

use crate::domain::{LogKey, Member, RoomName};

/// A room name the test knows to be valid.
pub(crate) fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

/// A room member, with a nickname if it has told one.
pub(crate) fn member(key: LogKey, nick: Option<&str>) -> Member {
    Member {
        key,
        nickname: nick.map(str::to_string),
    }
}
