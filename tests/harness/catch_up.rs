//! The catch-up of a long log by a new reader, for the benches that time it
//! against the JS reference in one run (`benches/replication.rs`,
//! `benches/transport.rs`): a hychat writer and a JS writer each append the
//! same number of messages on one loopback DHT, then a new reader of each
//! kind asked for follows one of them, and its first block, the newest
//! `NEWEST_FIRST_WINDOW` and every block are timed from the reader's start.
//! The JS viewer reads its log in order (a read stream from block 0), so its
//! newest blocks come last.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hychat::domain::LogKey;
use hychat::net::{self, NetCommand, NetEvent};
use tokio::sync::mpsc;

use super::bench::Pair;
use super::js::{JsViewer, JsWriter, Mode};
use super::node::Node;

/// How long a catch-up (or the writing of a log) may take before the bench
/// gives up on it.
pub const CATCH_UP_BOUND: Duration = Duration::from_secs(600);

/// Waits (bounded) for an `Appended` of `log`; returns its seq.
pub async fn next_block(events: &mut mpsc::Receiver<NetEvent>, log: LogKey) -> u64 {
    let deadline = tokio::time::Instant::now() + CATCH_UP_BOUND;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(NetEvent::Appended { log: f, seq, .. })) if f == log => return seq.0,
            Ok(Some(_)) => {}
            _ => panic!("no block of {} within the bound", log.short()),
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Times of one catch-up, from the reader's start.
pub struct CatchUp {
    pub first: Duration,
    pub newest: Duration,
    pub all: Duration,
    /// When the reader's connection carrying the log came up (hychat
    /// readers only; the JS viewer does not say).
    pub connected: Option<Duration>,
}

/// Tracks which blocks a reader holds, and when the newest window and the
/// whole log were complete.
struct Progress {
    length: u64,
    seen: BTreeSet<u64>,
    first: Option<Duration>,
    newest: Option<Duration>,
}

impl Progress {
    fn new(length: u64) -> Self {
        Self {
            length,
            seen: BTreeSet::new(),
            first: None,
            newest: None,
        }
    }

    /// Notes block `seq` at `at`; the full result once every block is held.
    fn saw(&mut self, seq: u64, at: Duration) -> Option<CatchUp> {
        self.seen.insert(seq);
        self.first.get_or_insert(at);
        let window = net::NEWEST_FIRST_WINDOW.min(self.length);
        if self.newest.is_none() && self.seen.range(self.length - window..).count() as u64 == window
        {
            self.newest = Some(at);
        }
        (self.seen.len() as u64 == self.length).then(|| CatchUp {
            first: self.first.unwrap_or(at),
            newest: self.newest.unwrap_or(at),
            all: at,
            connected: None,
        })
    }
}

/// Prints one catch-up's line.
pub fn report(pair: &str, length: u64, result: &CatchUp) {
    let after_connect = result
        .connected
        .map(|at| {
            format!(
                "   (newest {} {:.0} ms after connecting)",
                net::NEWEST_FIRST_WINDOW,
                result.newest.saturating_sub(at).as_secs_f64() * 1e3
            )
        })
        .unwrap_or_default();
    println!(
        "{pair:<18} first block {:>7.3} s   newest {} {:>7.3} s   all {length} {:>7.2} s   ({:.0} blocks/s){after_connect}",
        result.first.as_secs_f64(),
        net::NEWEST_FIRST_WINDOW,
        result.newest.as_secs_f64(),
        result.all.as_secs_f64(),
        length as f64 / result.all.as_secs_f64()
    );
}

/// A new in-process hychat reader follows `key` until it holds `length`.
pub async fn hychat_reader(addr: SocketAddr, key: LogKey, length: u64) -> CatchUp {
    let mut reader = Node::start(addr).await;
    let start = Instant::now();
    reader
        .handle
        .send(NetCommand::Follow { key, name: None })
        .await;
    let mut progress = Progress::new(length);
    let mut connected = None;
    let deadline = tokio::time::Instant::now() + CATCH_UP_BOUND;
    loop {
        let event = match tokio::time::timeout_at(deadline, reader.events.recv()).await {
            Ok(Some(event)) => event,
            _ => panic!("no block of {} within the bound", key.short()),
        };
        match event {
            NetEvent::PeerConnected { logs, .. } if logs.contains(&key) => {
                connected.get_or_insert(start.elapsed());
            }
            NetEvent::Appended { log, seq, .. } if log == key => {
                if let Some(mut done) = progress.saw(seq.0, start.elapsed()) {
                    done.connected = connected;
                    return done;
                }
            }
            _ => {}
        }
    }
}

/// A new JS viewer follows `key` until it printed `length` blocks.
pub fn js_reader(key: &str, storage: &Path, bootstrap: &str, length: u64) -> CatchUp {
    let start = now_ms();
    let mut viewer = JsViewer::start(key, storage, bootstrap);
    let mut progress = Progress::new(length);
    loop {
        let Some(block) = viewer.next_block(CATCH_UP_BOUND) else {
            panic!(
                "the JS viewer stopped after {} blocks\n{}",
                progress.seen.len(),
                viewer.process.describe()
            );
        };
        let at = Duration::from_millis(block.received_ms.saturating_sub(start));
        if let Some(done) = progress.saw(block.seq, at) {
            return done;
        }
    }
}

/// The two writers of a catch-up run, each with a log of the same length.
pub struct Writers {
    pub hychat: Node,
    pub js: JsWriter,
    pub length: u64,
}

impl Writers {
    /// A hychat writer (in-process) and a JS writer (storage under `dir`)
    /// on the DHT at `addr`, each appending `length` messages
    /// (`history 0`, `history 1`, ...); prints how long each took.
    pub async fn write(addr: SocketAddr, dir: &Path, length: u64) -> Writers {
        let mut hychat = Node::start(addr).await;
        let key = hychat.handle.own_key();
        let fill = Instant::now();
        for i in 0..length {
            hychat
                .handle
                .send(NetCommand::Append {
                    text: format!("history {i}"),
                    room: None,
                })
                .await;
        }
        for _ in 0..length {
            next_block(&mut hychat.events, key).await;
        }
        println!(
            "hychat wrote {length} messages in {:.1} s",
            fill.elapsed().as_secs_f64()
        );
        let fill = Instant::now();
        let mut js = JsWriter::start(&dir.join("js-writer"), &addr.to_string(), Mode::Both, false)
            .unwrap_or_else(|e| panic!("{e}"));
        let texts: Vec<String> = (0..length).map(|i| format!("history {i}")).collect();
        js.append_many(0, &texts).unwrap_or_else(|e| panic!("{e}"));
        println!(
            "JS wrote {length} messages in {:.1} s",
            fill.elapsed().as_secs_f64()
        );
        Writers { hychat, js, length }
    }

    /// A new reader for each of `pairs`, one after another, each printing
    /// its line; the JS readers' storage goes under `dir`.
    pub async fn catch_up(&self, addr: SocketAddr, dir: &Path, pairs: &[Pair]) {
        let length = self.length;
        let address = addr.to_string();
        let js_key: LogKey = self.js.key.parse().expect("the JS writer's key");
        let hychat_key = self.hychat.key;
        println!("catch-up of {length} messages by a new reader, from its start:");
        for (n, &pair) in pairs.iter().enumerate() {
            let storage = dir.join(format!("reader-{n}"));
            let result = match pair {
                Pair::JsToJs => js_reader(&self.js.key, &storage, &address, length),
                Pair::JsToHychat => hychat_reader(addr, js_key, length).await,
                Pair::HychatToJs => js_reader(&hychat_key.to_hex(), &storage, &address, length),
                Pair::HychatToHychat => hychat_reader(addr, hychat_key, length).await,
            };
            report(pair.label(), length, &result);
        }
    }
}
