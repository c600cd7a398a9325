//! The engine task: owns the store, every open log and its delivery task, and
//! the swarm task's control channel. Turns `NetCommand`s into log writes,
//! follow-list, room and mute changes and topic joins, and room introductions
//! into remembered members whose logs it holds. A log is held while it is
//! followed or a member of a joined room.

pub(crate) mod batch;
pub(crate) mod config;
pub(crate) mod membership;

use std::collections::HashMap;

use hypercore::Hypercore;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::domain::keys::{DiscoveryKey, LogKey};
use crate::domain::message::MAX_NICK_CHARS;
use crate::domain::room::{Member, RoomName};
use crate::domain::text::sanitize_line;
use crate::domain::OwnLogRefusal;
use crate::net::connection::ConnectionContext;
use crate::net::engine::batch::Draft;
use crate::net::engine::config::{
    NetConfig, NetError, NetHandle, COMMAND_CHANNEL_CAPACITY, EVENT_CHANNEL_CAPACITY,
};
use crate::net::engine::membership::Membership;
use crate::net::history::{HistoryRequest, SearchRequest};
use crate::net::log::{self, LogTask};
use crate::net::replication;
use crate::net::shared::rooms::Introduction;
use crate::net::shared::Shared;
use crate::net::store::{FollowEntry, Store};
use crate::net::swarm::{self, SwarmControl, SwarmSettings};
use crate::net::types::{EngineError, NetCommand, NetEvent, NetworkReport, NetworkStatus};

/// A log with its running delivery task.
struct HeldLog {
    core: Hypercore,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    replicator: JoinHandle<()>,
}

struct Engine {
    store: Store,
    /// Whether starting logs send what their indexes hold (`NetConfig`).
    replay_history: bool,
    own_key: LogKey,
    /// Where our appends go first, and are synced, before the hypercore.
    own_journal: log::own::OwnJournal,
    nickname: String,
    follows: Vec<FollowEntry>,
    membership: Membership,
    muted: Vec<LogKey>,
    logs: HashMap<LogKey, HeldLog>,
    shared: Shared,
    events: mpsc::Sender<NetEvent>,
    swarm: Option<mpsc::Sender<SwarmControl>>,
}

pub(crate) async fn spawn(
    config: NetConfig,
) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    if config.networking {
        crate::net::swarm::bind::check_bind(config.bind)?;
    }
    let store = Store::open(&config.storage)?;
    let first_run = store.is_first_run();
    let follows = store.load_follows()?;
    let rooms = store.load_rooms()?;
    let muted = store.load_muted()?;
    let read_marks = store.load_read_marks().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "what was read could not be loaded; every channel starts read");
        Vec::new()
    });
    let nickname = match &config.nickname {
        Some(nick) => {
            let nick = clean_nickname(nick);
            store.save_nickname(&nick)?;
            nick
        }
        None => store.load_nickname()?.unwrap_or_else(default_nickname),
    };
    let own_dir = store.own_dir();
    let (own_core, own_journal) =
        log::own::open_own(&own_dir)
            .await
            .map_err(|e| NetError::OpenLog {
                path: own_dir.clone(),
                reason: e.to_string(),
            })?;
    let own_key = log::core_key(&own_core);

    let (event_tx, event_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let (command_tx, command_rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
    let mut engine = Engine {
        store,
        own_key,
        own_journal,
        nickname: nickname.clone(),
        follows: follows.clone(),
        membership: Membership::new(rooms),
        muted: muted.clone(),
        logs: HashMap::new(),
        shared: Shared::default(),
        events: event_tx.clone(),
        swarm: None,
        replay_history: config.replay_history,
    };
    // Ready goes first, so the UI can draw who we are before any history.
    let _ = event_tx
        .send(NetEvent::Ready {
            own: own_key,
            nickname,
            first_run,
            follows: follows.clone(),
            rooms: engine.membership.entries(),
            muted,
            read_marks,
        })
        .await;
    engine.start_log(own_key, own_core, false, &own_dir);
    engine.shared.rooms.set_identity(engine.me());
    engine.tell_rooms();
    tokio::spawn(engine.run(config, command_rx));
    let handle = NetHandle {
        commands: command_tx,
        own: own_key,
    };
    Ok((handle, event_rx))
}

fn default_nickname() -> String {
    std::env::var("USER")
        .ok()
        .map(|u| clean_nickname(&u))
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "anon".to_string())
}

fn clean_nickname(nick: &str) -> String {
    sanitize_line(nick, MAX_NICK_CHARS)
}

impl Engine {
    async fn run(mut self, config: NetConfig, mut commands: mpsc::Receiver<NetCommand>) {
        for key in self.held_keys() {
            if let Err(e) = self.open_held(key).await {
                self.error(e).await;
            }
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let swarm_task = if config.networking {
            let (control_tx, control_rx) = mpsc::channel(64);
            self.swarm = Some(control_tx);
            let (report_tx, report_rx) = watch::channel(NetworkReport::default());
            let ctx = ConnectionContext {
                shared: self.shared.clone(),
                events: self.events.clone(),
                shutdown: shutdown_rx,
                network: report_rx,
            };
            let settings = SwarmSettings {
                bootstrap: config.bootstrap.clone(),
                host_local_bootstrap: config.host_local_bootstrap,
                refresh_interval: config.refresh_interval,
                bind: config.bind,
                offer_relay: config.offer_relay,
            };
            let topics = self.initial_topics();
            // The swarm runs on our own DHT node, which sleeps until a
            // datagram or a timer: it needs no pacing.
            Some(tokio::spawn(swarm::run(
                settings, ctx, control_rx, topics, report_tx,
            )))
        } else {
            let _ = self
                .events
                .send(NetEvent::NetworkStatus(NetworkStatus::Disabled))
                .await;
            None
        };

        let mut introductions = self.shared.rooms.watch_introductions();
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(NetCommand::Shutdown) | None => break,
                    Some(NetCommand::Append { text, room }) => {
                        // Appends already queued behind this one are written
                        // with it: one journal write and sync for them all.
                        let gathered = batch::gather(
                            Draft { text, room },
                            || commands.try_recv().ok(),
                            batch::MAX_BATCH,
                        );
                        self.append_batch(gathered.drafts).await;
                        match gathered.after {
                            Some(NetCommand::Shutdown) => break,
                            Some(command) => self.handle(command).await,
                            None => {}
                        }
                    }
                    Some(command) => self.handle(command).await,
                },
                Ok(()) = introductions.changed() => {
                    self.meet(self.shared.rooms.take_introductions()).await;
                }
            }
        }

        let _ = shutdown_tx.send(true);
        if let Some(task) = swarm_task {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
        }
        self.close_all().await;
        tracing::info!("engine stopped");
    }

    async fn handle(&mut self, command: NetCommand) {
        match command {
            NetCommand::Append { text, room } => {
                self.append_batch(vec![Draft { text, room }]).await
            }
            NetCommand::Follow { key, name } => self.follow(key, name).await,
            NetCommand::Unfollow { key } => self.unfollow(key).await,
            NetCommand::SetNick { nickname } => self.set_nick(&nickname).await,
            NetCommand::JoinRoom { room } => self.join_room(room).await,
            NetCommand::LeaveRoom { room } => self.leave_room(&room).await,
            NetCommand::Mute { key } => self.set_muted(key, true).await,
            NetCommand::Unmute { key } => self.set_muted(key, false).await,
            NetCommand::LoadHistory(request) => self.load_history(request),
            NetCommand::Search(request) => self.search(request),
            NetCommand::SaveReadMarks(marks) => {
                if let Err(e) = self.store.save_read_marks(&marks) {
                    tracing::warn!(error = %e, "could not save what was read");
                }
            }
            NetCommand::Shutdown => {}
        }
    }

    async fn error(&self, error: impl Into<EngineError>) {
        let error = error.into();
        tracing::warn!(%error, "command failed");
        let _ = self.events.send(NetEvent::Error(error)).await;
    }

    /// Writes a batch of our appends (see `batch`): one journal write and
    /// sync for all of them, then one hypercore append. A message is
    /// acknowledged (shown, counted by `send`) only once its block reaches
    /// the hypercore, so only after the journal holds it on disk: the journal
    /// is what the log is rebuilt from at the next start.
    async fn append_batch(&mut self, drafts: Vec<Draft>) {
        let blocks: Vec<Vec<u8>> = drafts
            .iter()
            .filter_map(|draft| draft.block(&self.nickname, OffsetDateTime::now_utc()))
            .collect();
        if blocks.is_empty() {
            return;
        }
        let Some(core) = self.logs.get(&self.own_key).map(|own| own.core.clone()) else {
            return;
        };
        let count = blocks.len();
        let write = |e: &dyn std::fmt::Display| EngineError::Write {
            count,
            reason: e.to_string(),
        };
        if let Err(e) = self.own_journal.append(blocks.clone()).await {
            self.error(write(&e)).await;
            return;
        }
        if let Err(e) = core.append_batch(&blocks).await {
            self.error(write(&e)).await;
        }
    }

    async fn follow(&mut self, key: LogKey, name: Option<String>) {
        if let Err(refusal) = OwnLogRefusal::Follow.check(&key, Some(self.own_key)) {
            self.error(refusal).await;
            return;
        }
        let name = name.map(|n| clean_nickname(&n)).filter(|n| !n.is_empty());
        let entry = FollowEntry { key, name };
        match self.follows.iter_mut().find(|f| f.key == key) {
            Some(existing) => *existing = entry.clone(),
            None => self.follows.push(entry.clone()),
        }
        if let Err(e) = self.store.save_follows(&self.follows) {
            self.error(e).await;
        }
        if self.logs.contains_key(&key) {
            // Held for a room until now: a followed log is looked for too.
            self.set_topic(key, true).await;
        } else if let Err(e) = self.open_held(key).await {
            self.error(e).await;
            return;
        }
        let _ = self.events.send(NetEvent::Followed(entry)).await;
    }

    async fn unfollow(&mut self, key: LogKey) {
        let before = self.follows.len();
        self.follows.retain(|f| f.key != key);
        if self.follows.len() == before {
            self.error(EngineError::NotFollowed(key)).await;
            return;
        }
        if let Err(e) = self.store.save_follows(&self.follows) {
            self.error(e).await;
        }
        self.release_unheld().await;
        if self.logs.contains_key(&key) {
            // Still held for a room, where its members bring it.
            self.set_topic(key, false).await;
        }
        let _ = self.events.send(NetEvent::Unfollowed { log: key }).await;
    }

    async fn set_nick(&mut self, nickname: &str) {
        let nickname = clean_nickname(nickname);
        if nickname.is_empty() {
            self.error(EngineError::EmptyNickname).await;
            return;
        }
        if let Err(e) = self.store.save_nickname(&nickname) {
            self.error(e).await;
            return;
        }
        self.nickname = nickname.clone();
        self.shared.rooms.set_identity(self.me());
        let _ = self.events.send(NetEvent::NickChanged { nickname }).await;
    }

    /// Who we are in rooms.
    fn me(&self) -> Member {
        Member {
            key: self.own_key,
            nickname: Some(self.nickname.clone()),
        }
    }

    /// Every log held besides our own: followed ones and room members'.
    fn held_keys(&self) -> Vec<LogKey> {
        let mut keys: Vec<LogKey> = self.follows.iter().map(|f| f.key).collect();
        keys.extend(self.membership.member_keys());
        let mut seen = std::collections::HashSet::new();
        keys.retain(|key| *key != self.own_key && seen.insert(*key));
        keys
    }

    /// Stops replicating and delivering logs no longer followed nor in a
    /// joined room. Their data stays on disk.
    async fn release_unheld(&mut self) {
        let held: std::collections::HashSet<LogKey> = self.held_keys().into_iter().collect();
        let unheld: Vec<LogKey> = self
            .logs
            .keys()
            .filter(|key| **key != self.own_key && !held.contains(key))
            .copied()
            .collect();
        for key in unheld {
            self.shared.registry.remove(&key);
            self.set_topic(key, false).await;
            if let Some(log) = self.logs.remove(&key) {
                stop_log(log).await;
            }
        }
    }

    /// What connections tell each room: the members we met, unmuted.
    fn tell_rooms(&self) {
        for entry in self.membership.entries() {
            let passed_on = self.membership.passed_on(&entry.name, &self.muted);
            self.shared.rooms.set(entry.name, passed_on);
        }
    }

    async fn save_rooms(&self) {
        if let Err(e) = self.store.save_rooms(self.membership.stored()) {
            self.error(e).await;
        }
    }

    async fn join_room(&mut self, room: RoomName) {
        if self.membership.join(&room) {
            self.save_rooms().await;
            self.tell_rooms();
            if let Some(swarm) = &self.swarm {
                let _ = swarm.send(SwarmControl::Join(room.topic())).await;
            }
            tracing::info!(%room, "joined a room");
        }
        if let Some(entry) = self.membership.get(&room).cloned() {
            let _ = self.events.send(NetEvent::RoomJoined(entry)).await;
        }
    }

    async fn leave_room(&mut self, room: &RoomName) {
        if !self.membership.leave(room) {
            self.error(EngineError::NotInRoom(room.clone())).await;
            return;
        }
        self.save_rooms().await;
        self.shared.rooms.remove(room);
        if let Some(swarm) = &self.swarm {
            let _ = swarm.send(SwarmControl::Leave(room.topic())).await;
        }
        self.release_unheld().await;
        let _ = self
            .events
            .send(NetEvent::RoomLeft { room: room.clone() })
            .await;
    }

    /// Remembers members a room hello named and holds their logs, so their
    /// room messages arrive and are served on to members who join later.
    async fn meet(&mut self, introductions: Vec<Introduction>) {
        let mut met = Vec::new();
        for introduction in introductions {
            let room = introduction.room.clone();
            let changed = self
                .membership
                .introduce(introduction, self.own_key, &self.muted);
            met.extend(changed.into_iter().map(|member| (room.clone(), member)));
        }
        if met.is_empty() {
            return;
        }
        self.save_rooms().await;
        self.tell_rooms();
        for (room, member) in met {
            let key = member.key;
            tracing::info!(%room, ?key, "met a room member");
            let _ = self
                .events
                .send(NetEvent::RoomMember { room, member })
                .await;
            if !self.logs.contains_key(&key) {
                if let Err(e) = self.open_held(key).await {
                    self.error(e).await;
                }
            }
        }
    }

    async fn set_muted(&mut self, key: LogKey, muted: bool) {
        if let Err(refusal) = OwnLogRefusal::Mute.check(&key, Some(self.own_key)) {
            self.error(refusal).await;
            return;
        }
        let was = self.muted.contains(&key);
        if muted == was {
            let error = if muted {
                EngineError::AlreadyMuted(key)
            } else {
                EngineError::NotMuted(key)
            };
            self.error(error).await;
            return;
        }
        if muted {
            self.muted.push(key);
        } else {
            self.muted.retain(|k| *k != key);
        }
        if let Err(e) = self.store.save_muted(&self.muted) {
            self.error(e).await;
            return;
        }
        // A muted member is no longer passed on to others.
        self.tell_rooms();
        let event = if muted {
            NetEvent::Muted { log: key }
        } else {
            NetEvent::Unmuted { log: key }
        };
        let _ = self.events.send(event).await;
    }

    /// Opens a log held for a follow or a room. Only followed logs get a
    /// swarm topic of their own: room members are met on the room's topic,
    /// and the logs they hold travel over that connection (the hello lists
    /// them), so a room of many members costs one topic, not one each.
    async fn open_held(&mut self, key: LogKey) -> Result<(), EngineError> {
        let dir = self.store.log_dir(&key);
        let core = log::open_clone(&dir, key)
            .await
            .map_err(|e| EngineError::OpenLog {
                key,
                reason: e.to_string(),
            })?;
        self.start_log(key, core, true, &dir);
        if self.follows.iter().any(|f| f.key == key) {
            self.set_topic(key, true).await;
        }
        Ok(())
    }

    /// Joins or leaves a log's swarm topic.
    async fn set_topic(&self, key: LogKey, joined: bool) {
        if let Some(swarm) = &self.swarm {
            let control = if joined {
                SwarmControl::Join(key.discovery_key())
            } else {
                SwarmControl::Leave(key.discovery_key())
            };
            let _ = swarm.send(control).await;
        }
    }

    /// The swarm topics at start: our log's, each followed log's, each room's.
    fn initial_topics(&self) -> Vec<DiscoveryKey> {
        std::iter::once(self.own_key)
            .chain(self.follows.iter().map(|f| f.key))
            .map(|key| key.discovery_key())
            .chain(
                self.membership
                    .entries()
                    .iter()
                    .map(|room| room.name.topic()),
            )
            .collect()
    }

    fn start_log(
        &mut self,
        key: LogKey,
        core: Hypercore,
        report_progress: bool,
        dir: &std::path::Path,
    ) {
        let created = LogTask::new(core.clone(), dir, report_progress, self.events.clone());
        let mut task = match created {
            Ok(task) => task,
            Err(e) => {
                tracing::warn!(?key, error = %e, "cannot open the message index");
                return;
            }
        };
        if key == self.own_key {
            // Our appends come in batches: each goes out in order.
            task.deliver_appends_in_order();
        }
        let (stop, stop_rx) = watch::channel(false);
        let replay = self.replay_history;
        let (handle, replicator) =
            replication::spawn(key, core.clone(), self.events.clone(), stop_rx.clone());
        let task = tokio::spawn(task.run(replay, stop_rx));
        self.shared.registry.insert(key, core.clone(), handle);
        self.logs.insert(
            key,
            HeldLog {
                core,
                stop,
                task,
                replicator,
            },
        );
    }

    /// Reads a page of history off the engine's task and sends it back as
    /// `NetEvent::History`.
    /// Where each of these logs lives on disk.
    fn dirs_of(&self, logs: &[LogKey]) -> Vec<(LogKey, std::path::PathBuf)> {
        logs.iter()
            .map(|key| {
                let dir = if *key == self.own_key {
                    self.store.own_dir()
                } else {
                    self.store.log_dir(key)
                };
                (*key, dir)
            })
            .collect()
    }

    /// Searches a channel's history off the engine's task (the scan reads
    /// every index file of the channel's logs).
    fn search(&self, request: SearchRequest) {
        let dirs = self.dirs_of(&request.logs);
        let events = self.events.clone();
        tokio::spawn(async move {
            let found = tokio::task::spawn_blocking(move || log::search::search(&dirs, &request));
            if let Ok(results) = found.await {
                let _ = events.send(NetEvent::SearchResults(results)).await;
            }
        });
    }

    fn load_history(&self, request: HistoryRequest) {
        let dirs = self.dirs_of(&request.logs);
        let events = self.events.clone();
        tokio::spawn(async move {
            let read =
                tokio::task::spawn_blocking(move || log::history::read_page(&dirs, &request));
            if let Ok(page) = read.await {
                let _ = events.send(NetEvent::History(page)).await;
            }
        });
    }

    async fn close_all(&mut self) {
        let own_dir = self.store.own_dir();
        for (key, log) in self.logs.drain() {
            let core = (key == self.own_key).then(|| log.core.clone());
            stop_log(log).await;
            // Nothing is appended after this: the copy can be trusted at
            // the next start (see `log::own`).
            if let Some(core) = core {
                if let Err(e) = log::own::close_clean(&own_dir, &core) {
                    tracing::warn!(error = %e, "could not mark the own log's copy clean; the next start rebuilds it");
                }
            }
        }
    }
}

async fn stop_log(log: HeldLog) {
    let _ = log.stop.send(true);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        let _ = log.task.await;
        let _ = log.replicator.await;
    })
    .await;
}
