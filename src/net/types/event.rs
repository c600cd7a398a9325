//! What crosses the engine's boundary as messages: the events it sends the
//! chat and the headless commands (`NetEvent`), and the commands they send
//! it (`NetCommand`). Every room below the engine that reports to the UI
//! sends these; none of them reaches up into `net/mod.rs` for them.

use crate::domain::{
    ChatMessage, ConnectionKey, LogKey, Member, ReadMark, RoomEntry, RoomName, Seq,
};
use crate::net::history;
use crate::net::store::FollowEntry;
use crate::net::types::error::EngineError;
use crate::net::types::network::{NetworkReport, NetworkStatus, PeerRoute};

/// What the network layer tells the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum NetEvent {
    /// Sent once, first: who we are and what we follow.
    Ready {
        own: LogKey,
        nickname: String,
        first_run: bool,
        follows: Vec<FollowEntry>,
        /// Joined rooms, with the members each remembers.
        rooms: Vec<RoomEntry>,
        /// Logs whose messages the user hid with `/mute`.
        muted: Vec<LogKey>,
        /// What was read of each channel when hychat last stopped.
        read_marks: Vec<ReadMark>,
    },
    /// A block of some log, decoded and sanitized. History and live alike.
    Appended {
        log: LogKey,
        seq: Seq,
        message: ChatMessage,
    },
    /// A peer connected, or the set of logs it replicates with us changed.
    PeerConnected {
        peer: ConnectionKey,
        logs: Vec<LogKey>,
        /// The rooms this peer introduced itself in, with its log.
        rooms: Vec<PeerRoom>,
        /// Where the peer is and how we reach it, as far as it told us.
        route: PeerRoute,
    },
    PeerDisconnected {
        peer: ConnectionKey,
    },
    /// Catch-up progress of a followed log: blocks delivered out of the signed length.
    LogProgress {
        log: LogKey,
        downloaded: u64,
        length: u64,
    },
    /// A peer holds blocks of `log` up to `length` (the highest it has
    /// announced; it downloads in order, so in practice all below it too).
    PeerHas {
        peer: ConnectionKey,
        log: LogKey,
        length: u64,
    },
    NetworkStatus(NetworkStatus),
    /// What this node learned of its own place on the network (sent when it changes).
    NetworkReport(NetworkReport),
    Followed(FollowEntry),
    Unfollowed {
        log: LogKey,
    },
    NickChanged {
        nickname: String,
    },
    /// A room was joined (by command or `--room`); its remembered members come along.
    RoomJoined(RoomEntry),
    RoomLeft {
        room: RoomName,
    },
    /// A member was introduced in a room, or changed its nickname there.
    RoomMember {
        room: RoomName,
        member: Member,
    },
    Muted {
        log: LogKey,
    },
    Unmuted {
        log: LogKey,
    },
    /// A command failed; its `Display` is the sentence for the user.
    Error(EngineError),
    /// A page of history, answering `NetCommand::LoadHistory`.
    History(history::HistoryPage),
    /// Where a search found its text, answering `NetCommand::Search`.
    SearchResults(history::SearchResults),
}

/// A room a connected peer introduced itself in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRoom {
    pub room: RoomName,
    /// The log the peer says is its own.
    pub member: LogKey,
}

/// What the UI asks of the network layer.
#[derive(Debug, Clone, PartialEq)]
pub enum NetCommand {
    Append {
        text: String,
        /// The room the message is written in; `None` for the home view.
        room: Option<RoomName>,
    },
    Follow {
        key: LogKey,
        name: Option<String>,
    },
    Unfollow {
        key: LogKey,
    },
    SetNick {
        nickname: String,
    },
    /// Join a room (idempotent): meet its members on the room's topic.
    JoinRoom {
        room: RoomName,
    },
    /// Leave a room: stop meeting its members; logs nobody else needs close.
    LeaveRoom {
        room: RoomName,
    },
    /// Hide a log's messages everywhere, persistently.
    Mute {
        key: LogKey,
    },
    Unmute {
        key: LogKey,
    },
    /// Read a page of a channel's history; answered by `NetEvent::History`.
    LoadHistory(history::HistoryRequest),
    /// Search a channel's whole history; answered by `NetEvent::SearchResults`.
    Search(history::SearchRequest),
    /// Remember what was read of each channel (`read.json`), for the next start.
    SaveReadMarks(Vec<ReadMark>),
    /// Flush and close every log, then end the event stream.
    Shutdown,
}
