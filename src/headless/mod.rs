//! The headless subcommands: `key`, `send`, `tail` (in `tail.rs`), `follow`,
//! `unfollow`, `following`, `seed`, `bootstrap`, `dial` and `record` (in
//! `record.rs`). Each that writes
//! drives the engine through the same `NetCommand`/`NetEvent` boundary as
//! the TUI, which takes the storage's lock; the reads (`key`, `following`,
//! and `tail` where it can) read the storage without it
//! (`net::read_only`), so they work beside a running hychat. Each prints
//! plain lines.

mod record;
mod tail;

pub use record::record;
pub use tail::{format_json, format_line, tail};

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;

use crate::domain::{LogKey, RoomName};
use crate::logging::say;
use crate::net::read_only::StorageReader;
use crate::net::{self, NetCommand, NetConfig, NetEvent, NetHandle, NetworkStatus};

/// An error for the user: one sentence, exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Failure(pub String);

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

type Events = mpsc::Receiver<NetEvent>;

pub fn parse_key(input: &str) -> Result<LogKey, Failure> {
    input
        .parse()
        .map_err(|e: crate::domain::KeyParseError| Failure(e.to_string()))
}

async fn start(config: NetConfig) -> Result<(NetHandle, Events), Failure> {
    net::spawn(config).await.map_err(|e| Failure(e.to_string()))
}

/// Waits for `pick` to accept an event, or for the stream to end.
/// After the first peer holds what `send --wait` sent, how long others
/// are given to be counted too.
const HOLDERS_SETTLE: Duration = Duration::from_millis(500);

async fn wait_for<T>(
    events: &mut Events,
    mut pick: impl FnMut(&NetEvent) -> Option<T>,
) -> Option<T> {
    while let Some(event) = events.recv().await {
        if let Some(found) = pick(&event) {
            return Some(found);
        }
    }
    None
}

async fn shutdown(handle: NetHandle, mut events: Events) {
    handle.send(NetCommand::Shutdown).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while events.recv().await.is_some() {}
    })
    .await;
}

/// Prints the own key as the storage's files hold it. A storage without an
/// own log yet gets one, as the chat's first start would make it: a user
/// asks for the key to share it before anything else.
pub async fn key(config: NetConfig) -> Result<(), Failure> {
    let held = StorageReader::new(&config.storage)
        .own_key()
        .map_err(|e| Failure(e.to_string()))?;
    if let Some(own) = held {
        println!("{own}");
        return Ok(());
    }
    let (handle, events) = start(config).await?;
    println!("{}", handle.own_key());
    shutdown(handle, events).await;
    Ok(())
}

/// Joins `room` (remembered, like `/join`) and waits until the engine has.
async fn join_room(handle: &NetHandle, events: &mut Events, room: RoomName) {
    handle
        .send(NetCommand::JoinRoom { room: room.clone() })
        .await;
    wait_for(events, |e| match e {
        NetEvent::RoomJoined(entry) if entry.name == room => Some(()),
        _ => None,
    })
    .await;
}

pub async fn send(
    config: NetConfig,
    text: Option<String>,
    wait: Option<u64>,
    progress: bool,
    room: Option<RoomName>,
) -> Result<(), Failure> {
    let lines: Vec<String> = match text {
        Some(text) => vec![text],
        None => std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|e| Failure(format!("cannot read standard input: {e}")))?,
    };
    let lines: Vec<String> = lines.into_iter().filter(|l| !l.trim().is_empty()).collect();
    let started = OffsetDateTime::now_utc();
    let (handle, mut events) = start(config).await?;
    let own = handle.own_key();
    if let Some(room) = &room {
        join_room(&handle, &mut events, room.clone()).await;
    }
    // Commands go in from their own task, so each echo below is read (and
    // acknowledged) as soon as its message is on disk, not after the burst.
    let appends = {
        let handle = handle.clone();
        let lines = lines.clone();
        let room = room.clone();
        tokio::spawn(async move {
            for text in lines {
                let room = room.clone();
                handle.send(NetCommand::Append { text, room }).await;
            }
        })
    };
    // Our own log echoes each append once it is on disk (the index is not
    // replayed for `send`; an echo older than the start would not count).
    let mut written = 0;
    let mut last_seq = 0;
    while written < lines.len() {
        let echo = wait_for(&mut events, |e| match e {
            NetEvent::Appended { log, seq, message }
                if *log == own && message.timestamp.is_some_and(|t| t >= started) =>
            {
                Some(Ok(*seq))
            }
            NetEvent::Error(message) => Some(Err(Failure(message.to_string()))),
            _ => None,
        })
        .await;
        match echo {
            Some(Ok(seq)) => {
                written += 1;
                last_seq = last_seq.max(seq.0);
                if progress {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{written}");
                    let _ = out.flush();
                }
            }
            Some(Err(failure)) => return Err(failure),
            None => {
                return Err(Failure::new(
                    "the engine stopped before the messages were written",
                ))
            }
        }
    }
    let _ = appends.await;
    say(&format!("appended {written} message(s) to {own}"));
    if let Some(seconds) = wait {
        // A peer announces the blocks it holds as it downloads them (or we
        // wrote them to it); once one holds them all, the others that will
        // soon are given a moment to be counted too.
        let mut holders = std::collections::HashSet::new();
        let mut is_holder = |e: &NetEvent| match e {
            NetEvent::PeerHas { peer, log, length } if *log == own && *length > last_seq => {
                holders.insert(*peer);
                Some(())
            }
            _ => None,
        };
        let first = tokio::time::timeout(
            Duration::from_secs(seconds),
            wait_for(&mut events, &mut is_holder),
        )
        .await;
        if let Ok(Some(())) = first {
            let _ = tokio::time::timeout(HOLDERS_SETTLE, async {
                while let Some(event) = events.recv().await {
                    is_holder(&event);
                }
            })
            .await;
            let count = holders.len();
            let peers = if count == 1 { "peer" } else { "peers" };
            say(&format!(
                "✓ held by {count} {peers}: the new messages are on another machine"
            ));
        } else {
            say(&format!(
                "no peer downloaded the new messages within {seconds}s; they stay in your log and go out when a peer connects"
            ));
        }
    }
    shutdown(handle, events).await;
    Ok(())
}

pub async fn follow(config: NetConfig, key: LogKey, name: Option<String>) -> Result<(), Failure> {
    let (handle, mut events) = start(config).await?;
    handle.send(NetCommand::Follow { key, name }).await;
    let outcome = wait_for(&mut events, |e| match e {
        NetEvent::Followed(entry) if entry.key == key => Some(Ok(())),
        NetEvent::Error(message) => Some(Err(Failure(message.to_string()))),
        _ => None,
    })
    .await;
    shutdown(handle, events).await;
    outcome.unwrap_or(Err(Failure::new("the engine stopped")))?;
    println!("following {key}");
    Ok(())
}

pub async fn unfollow(config: NetConfig, key: LogKey) -> Result<(), Failure> {
    let (handle, mut events) = start(config).await?;
    handle.send(NetCommand::Unfollow { key }).await;
    let outcome = wait_for(&mut events, |e| match e {
        NetEvent::Unfollowed { log } if *log == key => Some(Ok(())),
        NetEvent::Error(message) => Some(Err(Failure(message.to_string()))),
        _ => None,
    })
    .await;
    shutdown(handle, events).await;
    outcome.unwrap_or(Err(Failure::new("the engine stopped")))?;
    println!("no longer following {key}");
    Ok(())
}

/// Lists the follow list as the storage's file holds it.
pub fn following(storage: &Path) -> Result<(), Failure> {
    let follows = StorageReader::new(storage)
        .follows()
        .map_err(|e| Failure(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    for entry in follows {
        let line = match entry.name {
            Some(name) => format!("{} {name}", entry.key),
            None => entry.key.to_string(),
        };
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    Ok(())
}

pub async fn seed(config: NetConfig, room: Option<RoomName>) -> Result<(), Failure> {
    // Heard from the start, so a signal during start-up still ends it cleanly.
    let mut stop = Box::pin(shutdown_signal());
    let (handle, mut events) = start(config).await?;
    if let Some(room) = room {
        join_room(&handle, &mut events, room).await;
    }
    println!("seeding every log in this storage; Ctrl+C stops");
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    if let Some(line) = seed_line(&event, handle.own_key()) {
                        println!("{} {line}", clock());
                    }
                }
                None => break,
            },
            _ = &mut stop => break,
        }
    }
    shutdown(handle, events).await;
    Ok(())
}

fn seed_line(event: &NetEvent, ours: LogKey) -> Option<String> {
    Some(match event {
        NetEvent::Ready { own, follows, .. } => {
            format!("own log {own}, {} followed", follows.len())
        }
        NetEvent::PeerConnected {
            peer,
            logs,
            rooms,
            route,
        } => {
            let logs: Vec<String> = logs
                .iter()
                .map(|log| {
                    if crate::net::route::relayed(log, route.own_log, Some(ours)) {
                        format!("{} (relayed)", log.short())
                    } else {
                        log.short()
                    }
                })
                .collect();
            let rooms: Vec<String> = rooms.iter().map(|r| format!(" in #{}", r.room)).collect();
            format!(
                "peer {peer} replicates [{}]{} via {}",
                logs.join(", "),
                rooms.concat(),
                route.summary()
            )
        }
        NetEvent::NetworkReport(report) => format!("network {}", report.summary()),
        NetEvent::PeerDisconnected { peer } => format!("peer {peer} left"),
        NetEvent::LogProgress {
            log,
            downloaded,
            length,
        } => {
            format!("log {} {downloaded}/{length}", log.short())
        }
        NetEvent::RoomMember { room, member } => {
            format!("met {} in #{room}", member.key.short())
        }
        NetEvent::NetworkStatus(status) => format!("network {}", describe(status)),
        NetEvent::Error(error) => format!("error {error}"),
        _ => return None,
    })
}

fn describe(status: &NetworkStatus) -> String {
    match status {
        NetworkStatus::Disabled => "disabled".into(),
        NetworkStatus::Bootstrapping => "bootstrapping".into(),
        NetworkStatus::Online { nodes } => format!("online ({nodes} nodes)"),
        NetworkStatus::Offline { reason, retry_in } => {
            format!("offline: {reason}; retrying in {}s", retry_in.as_secs())
        }
    }
}

fn clock() -> String {
    let now = OffsetDateTime::now_utc();
    format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second())
}

/// How often a bootstrap node says what its records hold.
const RECORDS_EVERY: Duration = Duration::from_secs(60);

fn describe_records(stats: &net::RecordStats) -> String {
    format!(
        "records: {} mutable, {} immutable ({} bytes of values); {} stored, {} served, {} refused",
        stats.mutable, stats.immutable, stats.bytes, stats.kept, stats.served, stats.refused
    )
}

pub async fn bootstrap(addr: SocketAddr, others: Vec<String>, relay: bool) -> Result<(), Failure> {
    // Heard before the node says where it listens, which is when tests and
    // scripts may send it on its way.
    let stop = shutdown_signal();
    let joining = net::resolve_bootstrap(others.clone()).await;
    if joining.len() < others.len() {
        eprintln!("note: some --bootstrap entries do not resolve; joining the others");
    }
    let mut node = net::run_bootstrap_node_joining(addr, &joining)
        .await
        .map_err(|e| Failure(format!("cannot run a bootstrap node on {addr}: {e}")))?;
    let addr = node.local_addr();
    println!("bootstrap node listening on {addr}");
    if !joining.is_empty() {
        let list: Vec<String> = joining.iter().map(ToString::to_string).collect();
        println!("joining the DHT of {}", list.join(", "));
    }
    if addr.ip().is_unspecified() {
        println!(
            "give peers: --bootstrap <this host's address>:{} (on this machine: 127.0.0.1:{})",
            addr.port(),
            addr.port()
        );
    } else {
        println!("give peers: --bootstrap {addr}");
    }
    if relay {
        let key = node.offer_relay();
        println!(
            "offering a blind relay, key {} (for peers whose NATs cannot be punched; --no-relay turns it off)",
            hex::encode(key)
        );
    }
    // What the node's records hold, and what its relay carries, each
    // minute they changed.
    let mut shown = node.records();
    let mut relay_shown = node.relay();
    let mut every = tokio::time::interval(RECORDS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return Ok(()),
            _ = every.tick() => {
                let now = node.records();
                if now != shown {
                    println!("{} {}", clock(), describe_records(&now));
                    shown = now;
                }
                let relay_now = node.relay();
                if relay_now != relay_shown {
                    if let Some(offer) = &relay_now {
                        println!("{} {}, {} linked since the start", clock(), offer.label(), offer.matched);
                    }
                    relay_shown = relay_now;
                }
            }
        }
    }
}

/// `hychat dial KEY`: one line per step, then the path and timings; exit 1
/// when no peer could be reached.
pub async fn dial(config: NetConfig, key: &str, timeout: u64) -> Result<(), Failure> {
    let key = parse_key(key)?;
    let bootstrap = net::resolve_bootstrap(config.bootstrap.clone()).await;
    let topic = key.discovery_key().0;
    println!("dialing the peers of log {key}");
    let report = net::dial(
        config.bind,
        bootstrap,
        topic,
        Duration::from_secs(timeout),
        |line| println!("{line}"),
    )
    .await
    .map_err(|e| Failure(format!("could not reach a peer of this log: {e}")))?;
    println!(
        "reached {} ({}) through {}: connected in {} ms, first message after {} ms",
        report.remote, report.path, report.relay, report.connect_ms, report.first_message_ms
    );
    Ok(())
}

/// Ctrl+C, SIGTERM or SIGHUP. The signals are listened for from this
/// call on, not from the first poll: a command that prints before it
/// first waits is not killed by a signal that comes in between.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let mut stop = StopSignal::listen();
    async move { stop.wait().await }
}

/// Ctrl+C, SIGTERM and SIGHUP, listened for from the moment this is made
/// (inside the runtime): a signal that comes before anyone waits is kept,
/// and ends the command cleanly instead of killing it.
pub(crate) struct StopSignal {
    signals: Vec<Signal>,
}

impl StopSignal {
    pub(crate) fn listen() -> Self {
        let signals = [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ]
        .into_iter()
        .filter_map(|kind| signal(kind).ok())
        .collect();
        Self { signals }
    }

    /// Waits for one of the signals (forever when none could be listened for).
    pub(crate) async fn wait(&mut self) {
        if self.signals.is_empty() {
            return std::future::pending().await;
        }
        let heard = self.signals.iter_mut().map(|s| Box::pin(s.recv()));
        futures::future::select_all(heard).await;
    }
}
