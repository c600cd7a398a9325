//! Who is around: connected peers (since when, which logs they replicate,
//! which rooms they were met in, how they are reached, which logs they
//! relay) and the followed logs (local name, latest nickname seen, online
//! marker, catch-up progress). Owns this bookkeeping only; it is fed by
//! `App` from `NetEvent`s and read by the side panel and the network pane.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::domain::{ConnectionKey, LogKey, RoomName, Seq};
use crate::net::{FollowEntry, PeerRoom, PeerRoute};

/// One connected peer.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub id: ConnectionKey,
    pub since: OffsetDateTime,
    pub logs: Vec<LogKey>,
    /// The rooms it introduced itself in, with the log it says is its own.
    pub rooms: Vec<PeerRoom>,
    /// Where it is and how it is reached, as far as it told us.
    pub route: PeerRoute,
}

impl Peer {
    /// The log it says is its own: from its route, else from a room
    /// introduction; `None` when it did not say.
    pub fn own_log(&self) -> Option<LogKey> {
        self.route
            .own_log
            .or_else(|| self.rooms.first().map(|room| room.member))
    }

    /// Whether it serves `log` on someone else's behalf (see
    /// `net::route::relayed`; `ours` is our own log).
    pub fn relays(&self, log: &LogKey, ours: Option<LogKey>) -> bool {
        crate::net::route::relayed(log, self.own_log(), ours)
    }

    /// Whether every log it carries, besides ours, is someone else's (a
    /// seed, or a room member holding others' logs while its own is not
    /// shared with us).
    pub fn relays_only(&self, ours: Option<LogKey>) -> bool {
        let others: Vec<&LogKey> = self.logs.iter().filter(|f| Some(**f) != ours).collect();
        !others.is_empty() && others.iter().all(|log| self.relays(log, ours))
    }

    /// A connection that carries no log and no room yet: still
    /// connecting, or nothing in common.
    pub fn carries_nothing(&self) -> bool {
        self.logs.is_empty() && self.rooms.is_empty()
    }

    /// The rooms it was met in, each once, in the order it named them.
    pub fn room_names(&self) -> Vec<&RoomName> {
        let mut names: Vec<&RoomName> = Vec::new();
        for room in &self.rooms {
            if !names.contains(&&room.room) {
                names.push(&room.room);
            }
        }
        names
    }

    /// Its rooms as `#name`, safe to print.
    pub fn room_tags(&self) -> Vec<String> {
        self.room_names()
            .iter()
            .map(|r| format!("#{}", crate::app::text::printable_line(r.as_str())))
            .collect()
    }
}

/// One followed log.
#[derive(Debug, Clone, PartialEq)]
pub struct Followed {
    pub key: LogKey,
    /// The name the user gave it with `/follow KEY NAME`.
    pub local_name: Option<String>,
    /// The nickname of its newest message seen so far, with that message's seq.
    pub nickname: Option<(Seq, String)>,
    pub downloaded: u64,
    pub length: u64,
}

impl Followed {
    fn new(entry: FollowEntry) -> Self {
        Self {
            key: entry.key,
            local_name: entry.name,
            nickname: None,
            downloaded: 0,
            length: 0,
        }
    }

    /// The latest nickname seen, else the local name, else the short key.
    pub fn display_name(&self) -> String {
        match (&self.nickname, &self.local_name) {
            (Some((_, nick)), _) if !nick.is_empty() => nick.clone(),
            (_, Some(name)) => name.clone(),
            _ => self.key.short(),
        }
    }

    /// Whether blocks are still being fetched.
    pub fn catching_up(&self) -> bool {
        self.downloaded < self.length
    }
}

/// Peers in connection order and follows in follow order.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    peers: Vec<Peer>,
    follows: Vec<Followed>,
    /// How many blocks of which log each peer says it holds.
    remote_lengths: HashMap<(ConnectionKey, LogKey), u64>,
}

impl Peers {
    /// Every connection, in connection order.
    pub fn peers(&self) -> &[Peer] {
        &self.peers
    }

    /// The connections worth listing as peers: those carrying a log or a room.
    pub fn listed(&self) -> impl Iterator<Item = &Peer> {
        self.peers.iter().filter(|p| !p.carries_nothing())
    }

    /// How many connections carry nothing (yet).
    pub fn connecting(&self) -> usize {
        self.peers.iter().filter(|p| p.carries_nothing()).count()
    }

    pub fn follows(&self) -> &[Followed] {
        &self.follows
    }

    pub fn follow(&self, key: &LogKey) -> Option<&Followed> {
        self.follows.iter().find(|f| f.key == *key)
    }

    pub fn is_following(&self, key: &LogKey) -> bool {
        self.follow(key).is_some()
    }

    /// Replaces the follow list (on `Ready`), keeping what is known of
    /// logs that stay.
    pub fn set_follows(&mut self, entries: Vec<FollowEntry>) {
        let old = std::mem::take(&mut self.follows);
        for entry in entries {
            let mut followed = Followed::new(entry.clone());
            if let Some(previous) = old.iter().find(|f| f.key == entry.key) {
                followed = Followed {
                    local_name: entry.name,
                    ..previous.clone()
                };
            }
            self.follows.push(followed);
        }
    }

    /// Adds a follow, or renames one already there.
    pub fn add_follow(&mut self, entry: FollowEntry) {
        match self.follows.iter_mut().find(|f| f.key == entry.key) {
            Some(existing) => existing.local_name = entry.name,
            None => self.follows.push(Followed::new(entry)),
        }
    }

    pub fn remove_follow(&mut self, key: &LogKey) -> Option<Followed> {
        let index = self.follows.iter().position(|f| f.key == *key)?;
        Some(self.follows.remove(index))
    }

    /// Remembers the nickname of a followed log's message if it is the
    /// newest seen (history may arrive newest first).
    pub fn saw_nickname(&mut self, key: &LogKey, seq: Seq, nickname: &str) {
        if nickname.is_empty() {
            return;
        }
        if let Some(followed) = self.follows.iter_mut().find(|f| f.key == *key) {
            if followed.nickname.as_ref().is_none_or(|(s, _)| *s <= seq) {
                followed.nickname = Some((seq, nickname.to_string()));
            }
        }
    }

    pub fn progress(&mut self, key: &LogKey, downloaded: u64, length: u64) {
        if let Some(followed) = self.follows.iter_mut().find(|f| f.key == *key) {
            followed.downloaded = downloaded;
            followed.length = length;
        }
    }

    /// A peer connected, or its set of logs, rooms or its route changed:
    /// keeps its connect time.
    pub fn connected(
        &mut self,
        id: ConnectionKey,
        logs: Vec<LogKey>,
        rooms: Vec<PeerRoom>,
        route: PeerRoute,
        now: OffsetDateTime,
    ) {
        match self.peers.iter_mut().find(|p| p.id == id) {
            Some(peer) => {
                peer.logs = logs;
                peer.rooms = rooms;
                peer.route = route;
            }
            None => self.peers.push(Peer {
                id,
                since: now,
                logs,
                rooms,
                route,
            }),
        }
    }

    /// Whether some connected peer introduced `member` in `room`.
    pub fn is_in_room(&self, room: &RoomName, member: &LogKey) -> bool {
        self.peers
            .iter()
            .flat_map(|p| &p.rooms)
            .any(|r| r.room == *room && r.member == *member)
    }

    pub fn disconnected(&mut self, id: &ConnectionKey) -> Option<Peer> {
        self.remote_lengths.retain(|(peer, _), _| peer != id);
        let index = self.peers.iter().position(|p| p.id == *id)?;
        Some(self.peers.remove(index))
    }

    pub fn peer_has(&mut self, id: ConnectionKey, log: LogKey, length: u64) {
        if self.peers.iter().any(|p| p.id == id) {
            self.remote_lengths.insert((id, log), length);
        }
    }

    /// The longest length of `log` any connected peer reported.
    pub fn best_remote_length(&self, log: &LogKey) -> Option<u64> {
        self.remote_lengths
            .iter()
            .filter(|((_, f), _)| f == log)
            .map(|(_, length)| *length)
            .max()
    }

    /// Whether some connected peer replicates this log with us.
    pub fn is_online(&self, key: &LogKey) -> bool {
        self.peers.iter().any(|p| p.logs.contains(key))
    }

    /// Names Tab can complete to: latest nicknames and local names.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for followed in &self.follows {
            if let Some((_, nick)) = &followed.nickname {
                names.push(nick.clone());
            }
            if let Some(name) = &followed.local_name {
                names.push(name.clone());
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// Follows whose local name or latest nickname is `name` (ignoring case).
    pub fn find_by_name(&self, name: &str) -> Vec<&Followed> {
        let wanted = name.to_lowercase();
        self.follows
            .iter()
            .filter(|f| {
                f.local_name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase() == wanted)
                    || f.nickname
                        .as_ref()
                        .is_some_and(|(_, n)| n.to_lowercase() == wanted)
            })
            .collect()
    }
}

/// A compact duration such as `45s`, `3m`, `2h` or `5d`.
pub fn short_duration(from: OffsetDateTime, to: OffsetDateTime) -> String {
    let seconds = (to - from).whole_seconds().max(0);
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    const NOW: OffsetDateTime = datetime!(2026-11-24 15:00 UTC);

    fn entry(byte: u8, name: Option<&str>) -> FollowEntry {
        FollowEntry {
            key: LogKey([byte; 32]),
            name: name.map(str::to_string),
        }
    }

    #[test]
    fn peers_upsert_and_keep_their_connect_time() {
        let mut peers = Peers::default();
        let id = ConnectionKey([9; 32]);
        peers.connected(id, vec![LogKey([1; 32])], vec![], PeerRoute::default(), NOW);
        let rust = RoomName::parse("rust").unwrap();
        let in_rust = |key: u8| PeerRoom {
            room: rust.clone(),
            member: LogKey([key; 32]),
        };
        peers.connected(
            id,
            vec![LogKey([1; 32]), LogKey([2; 32])],
            vec![in_rust(2), in_rust(3)],
            PeerRoute::default(),
            NOW + Duration::minutes(3),
        );
        assert_eq!(peers.peers().len(), 1);
        assert_eq!(peers.peers()[0].since, NOW);
        assert_eq!(peers.peers()[0].room_names(), vec![&rust]);
        assert!(peers.is_online(&LogKey([2; 32])));
        assert!(peers.is_in_room(&rust, &LogKey([3; 32])));
        assert!(!peers.is_in_room(&rust, &LogKey([1; 32])));
        assert!(peers.disconnected(&id).is_some());
        assert!(!peers.is_online(&LogKey([2; 32])));
        assert!(!peers.is_in_room(&rust, &LogKey([3; 32])));
        assert!(peers.disconnected(&id).is_none());
    }

    #[test]
    fn follows_track_the_newest_nickname_and_progress() {
        let mut peers = Peers::default();
        peers.set_follows(vec![entry(1, Some("ann")), entry(2, None)]);
        let key = LogKey([1; 32]);
        assert_eq!(peers.follow(&key).unwrap().display_name(), "ann");
        peers.saw_nickname(&key, Seq(5), "annie");
        peers.saw_nickname(&key, Seq(2), "old-ann");
        assert_eq!(peers.follow(&key).unwrap().display_name(), "annie");
        assert_eq!(peers.follows()[1].display_name(), LogKey([2; 32]).short());
        peers.progress(&key, 3, 10);
        assert!(peers.follow(&key).unwrap().catching_up());
        peers.progress(&key, 10, 10);
        assert!(!peers.follow(&key).unwrap().catching_up());
        assert_eq!(peers.find_by_name("ANNIE").len(), 1);
        assert_eq!(peers.find_by_name("ann").len(), 1);
        assert_eq!(peers.names(), vec!["ann", "annie"]);
    }

    #[test]
    fn own_logs_relays_and_bare_connections() {
        let mut peers = Peers::default();
        let (ann, bob) = (LogKey([1; 32]), LogKey([2; 32]));
        let said = |own| PeerRoute {
            link: Default::default(),
            own_log: Some(own),
            ..PeerRoute::default()
        };
        peers.connected(
            ConnectionKey([1; 32]),
            vec![ann, bob],
            vec![],
            said(ann),
            NOW,
        );
        peers.connected(ConnectionKey([2; 32]), vec![bob], vec![], said(ann), NOW);
        peers.connected(
            ConnectionKey([3; 32]),
            vec![bob],
            vec![],
            PeerRoute::default(),
            NOW,
        );
        peers.connected(
            ConnectionKey([4; 32]),
            vec![],
            vec![],
            PeerRoute::default(),
            NOW,
        );
        let [writer, seed, silent, bare] = peers.peers() else {
            panic!("four connections");
        };
        let us = Some(LogKey([9; 32]));
        assert!(!writer.relays(&ann, us) && writer.relays(&bob, us) && !writer.relays_only(us));
        assert!(seed.relays_only(us));
        assert!(!silent.relays(&bob, us) && !silent.relays_only(us));
        assert!(bare.carries_nothing() && !bare.relays_only(us));
        // Our own log, held by a peer that follows us, is not relayed.
        assert!(!writer.relays(&bob, Some(bob)) && !seed.relays_only(Some(bob)));
        assert_eq!(peers.listed().count(), 3);
        assert_eq!(peers.connecting(), 1);
        // A room introduction names the peer's own log too.
        let rust = RoomName::parse("rust").unwrap();
        let in_rust = vec![PeerRoom {
            room: rust,
            member: bob,
        }];
        peers.connected(
            ConnectionKey([3; 32]),
            vec![bob],
            in_rust,
            PeerRoute::default(),
            NOW,
        );
        assert_eq!(peers.peers()[2].own_log(), Some(bob));
    }

    #[test]
    fn remote_lengths_are_forgotten_on_disconnect() {
        let mut peers = Peers::default();
        let id = ConnectionKey([9; 32]);
        let log = LogKey([1; 32]);
        peers.peer_has(id, log, 4);
        assert_eq!(peers.best_remote_length(&log), None);
        peers.connected(id, vec![log], vec![], PeerRoute::default(), NOW);
        peers.peer_has(id, log, 4);
        assert_eq!(peers.best_remote_length(&log), Some(4));
        peers.disconnected(&id);
        assert_eq!(peers.best_remote_length(&log), None);
    }

    #[test]
    fn formats_short_durations() {
        assert_eq!(short_duration(NOW, NOW + Duration::seconds(42)), "42s");
        assert_eq!(short_duration(NOW, NOW + Duration::minutes(3)), "3m");
        assert_eq!(short_duration(NOW, NOW + Duration::hours(5)), "5h");
        assert_eq!(short_duration(NOW, NOW + Duration::days(2)), "2d");
        assert_eq!(short_duration(NOW, NOW - Duration::seconds(5)), "0s");
    }
}
