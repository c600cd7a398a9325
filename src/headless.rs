//! The headless subcommands: `key`, `send`, `tail`, `follow`, `unfollow`,
//! `following`, `seed` and `bootstrap`. Each drives the engine through the
//! same `NetCommand`/`NetEvent` boundary as the TUI and prints plain lines.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::domain::{ChatMessage, LogKey, RoomName, Seq};
use crate::logging::say;
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

pub async fn key(config: NetConfig) -> Result<(), Failure> {
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
            NetEvent::Error(message) => Some(Err(Failure(message.clone()))),
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

/// Formats one message the way the workshop viewer printed it.
pub fn format_line(message: &ChatMessage, offset: time::UtcOffset) -> String {
    let time = message
        .timestamp
        .map(|t| {
            let t = t.to_offset(offset);
            format!("{:02}:{:02}", t.hour(), t.minute())
        })
        .unwrap_or_else(|| "--:--".into());
    let nick = if message.nickname.is_empty() {
        "?"
    } else {
        &message.nickname
    };
    let text = message.text.replace('\n', "\n      ");
    let room = message
        .room
        .as_ref()
        .map(|room| format!("#{room} "))
        .unwrap_or_default();
    if message.is_chat() {
        format!("{time} {room}{nick}: {text}")
    } else {
        format!("{time} {room}{nick} [{}]: {text}", message.kind)
    }
}

pub fn format_json(log: LogKey, seq: Seq, message: &ChatMessage) -> String {
    let mut value: serde_json::Value =
        serde_json::from_slice(&message.encode()).unwrap_or(serde_json::Value::Null);
    if let Some(object) = value.as_object_mut() {
        // The field keeps its first name: scripts read `feed` already.
        object.insert("feed".into(), log.to_hex().into());
        object.insert("seq".into(), seq.0.into());
    }
    value.to_string()
}

pub async fn tail(
    config: NetConfig,
    key: LogKey,
    json: bool,
    lines: Option<usize>,
    offset: time::UtcOffset,
) -> Result<(), Failure> {
    let (handle, mut events) = start(config).await?;
    handle.send(NetCommand::Follow { key, name: None }).await;
    let print = |seq: Seq, message: &ChatMessage| {
        let line = if json {
            format_json(key, seq, message)
        } else {
            format_line(message, offset)
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    // Stopping (Ctrl+C, SIGTERM) is heard from the start, also while the
    // history is still being gathered: the engine then shuts down properly.
    let mut stop = Box::pin(shutdown_signal());
    // History: gather until the log is caught up, then print its tail in order.
    let mut history: Vec<(Seq, ChatMessage)> = Vec::new();
    let gathered = tokio::select! {
        caught_up = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(event) = events.recv().await {
                match event {
                    NetEvent::Appended { log, seq, message } if log == key => {
                        history.push((seq, message))
                    }
                    NetEvent::LogProgress {
                        log,
                        downloaded,
                        length,
                    } if log == key && length > 0 && downloaded >= length => {
                        return true;
                    }
                    NetEvent::Error(message) => say(&message),
                    _ => {}
                }
            }
            false
        }) => Some(caught_up.unwrap_or(false)),
        _ = &mut stop => None,
    };
    let Some(caught_up) = gathered else {
        shutdown(handle, events).await;
        return Ok(());
    };
    if !caught_up {
        tracing::info!("no full history within 30s; printing what arrived and going live");
    }
    history.sort_by_key(|(seq, _)| *seq);
    let skip = lines.map_or(0, |n| history.len().saturating_sub(n));
    for (seq, message) in history.iter().skip(skip) {
        print(*seq, message);
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(NetEvent::Appended { log, seq, message }) if log == key => print(seq, &message),
                Some(_) => {}
                None => break,
            },
            _ = &mut stop => break,
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
        NetEvent::Error(message) => Some(Err(Failure(message.clone()))),
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
        NetEvent::Error(message) => Some(Err(Failure(message.clone()))),
        _ => None,
    })
    .await;
    shutdown(handle, events).await;
    outcome.unwrap_or(Err(Failure::new("the engine stopped")))?;
    println!("no longer following {key}");
    Ok(())
}

pub async fn following(config: NetConfig) -> Result<(), Failure> {
    let (handle, mut events) = start(config).await?;
    let follows = wait_for(&mut events, |e| match e {
        NetEvent::Ready { follows, .. } => Some(follows.clone()),
        _ => None,
    })
    .await
    .unwrap_or_default();
    for entry in follows {
        match entry.name {
            Some(name) => println!("{} {name}", entry.key),
            None => println!("{}", entry.key),
        }
    }
    shutdown(handle, events).await;
    Ok(())
}

pub async fn seed(config: NetConfig, room: Option<RoomName>) -> Result<(), Failure> {
    let (handle, mut events) = start(config).await?;
    if let Some(room) = room {
        join_room(&handle, &mut events, room).await;
    }
    println!("seeding every log in this storage; Ctrl+C stops");
    let mut stop = Box::pin(shutdown_signal());
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
        NetEvent::Error(message) => format!("error {message}"),
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

pub async fn bootstrap(addr: SocketAddr, others: Vec<String>) -> Result<(), Failure> {
    let joining = net::resolve_bootstrap(others.clone()).await;
    if joining.len() < others.len() {
        eprintln!("note: some --bootstrap entries do not resolve; joining the others");
    }
    let node = net::run_bootstrap_node_joining(addr, &joining)
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
    shutdown_signal().await;
    Ok(())
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

/// Ctrl+C, SIGTERM or SIGHUP.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
        _ = async { match hup.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn lines_look_like_the_workshop_viewer() {
        let message = ChatMessage::new_chat("ann", "hi", datetime!(2026-11-24 14:26 UTC));
        assert_eq!(format_line(&message, time::UtcOffset::UTC), "14:26 ann: hi");
    }

    #[test]
    fn room_messages_name_their_room() {
        let mut message = ChatMessage::new_chat("ann", "hi", datetime!(2026-11-24 14:26 UTC));
        message.room = Some("streams-day".into());
        assert_eq!(
            format_line(&message, time::UtcOffset::UTC),
            "14:26 #streams-day ann: hi"
        );
    }

    #[test]
    fn json_lines_carry_log_and_seq() {
        let message = ChatMessage::new_chat("ann", "hi", datetime!(2026-11-24 14:26 UTC));
        let line = format_json(LogKey([1; 32]), Seq(4), &message);
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["seq"], 4);
        assert_eq!(value["text"], "hi");
        assert_eq!(value["feed"], LogKey([1; 32]).to_hex());
    }
}
