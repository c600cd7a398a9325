//! The in-process engine, for the loopback tests (`tests/engine`) and the
//! loopback benches (`benches/replication.rs`, `rooms.rs`, `interop.rs`):
//! a bootstrap node on 127.0.0.1, a `Node` (one engine with its own temp
//! storage, pointed at that bootstrap node) and bounded waits on its events.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hychat::domain::LogKey;
use hychat::net::{self, BootstrapNode, NetCommand, NetConfig, NetEvent, NetHandle};
use tempfile::TempDir;
use tokio::sync::mpsc;

/// Long enough for a slow shared machine; a hang still fails the test.
pub const WAIT: Duration = Duration::from_secs(60);

pub async fn bootstrap_node() -> BootstrapNode {
    net::run_bootstrap_node("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind a loopback bootstrap node")
}

/// An engine configuration on `storage` that only knows `bootstrap`.
pub fn config(storage: &Path, bootstrap: SocketAddr) -> NetConfig {
    let mut config = NetConfig::new(storage.to_path_buf());
    config.bootstrap = vec![bootstrap.to_string()];
    config.host_local_bootstrap = false;
    config.refresh_interval = Duration::from_secs(1);
    config.nickname = Some("tester".into());
    config
}

/// A running engine with its own storage directory.
pub struct Node {
    pub handle: NetHandle,
    pub events: mpsc::Receiver<NetEvent>,
    pub key: LogKey,
    pub dir: TempDir,
    /// Every event received so far by `wait_for` and friends, in order.
    pub seen: Vec<NetEvent>,
}

impl Node {
    pub async fn start(bootstrap: SocketAddr) -> Node {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, bootstrap).await
    }

    pub async fn start_in(dir: TempDir, bootstrap: SocketAddr) -> Node {
        if let Ok(filter) = std::env::var("HYCHAT_TEST_LOG") {
            // The engine's log, shown with a failing test's output.
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        let (handle, events) = net::spawn(config(dir.path(), bootstrap)).await.unwrap();
        let key = handle.own_key();
        Node {
            handle,
            events,
            key,
            dir,
            seen: Vec::new(),
        }
    }

    pub async fn send(&self, command: NetCommand) {
        assert!(self.handle.send(command).await, "engine gone");
    }

    pub async fn append(&self, text: &str) {
        self.send(NetCommand::Append {
            text: text.into(),
            room: None,
        })
        .await;
    }

    pub async fn follow(&self, key: LogKey) {
        self.send(NetCommand::Follow { key, name: None }).await;
    }

    /// Waits for the first event `pick` accepts, failing after `WAIT`.
    pub async fn wait_for<T>(&mut self, what: &str, pick: impl FnMut(&NetEvent) -> Option<T>) -> T {
        self.wait_within(WAIT, what, pick).await
    }

    /// Waits for the first event `pick` accepts, failing after `bound`.
    pub async fn wait_within<T>(
        &mut self,
        bound: Duration,
        what: &str,
        mut pick: impl FnMut(&NetEvent) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => {
                    if std::env::var_os("HYCHAT_TEST_TRACE").is_some() {
                        eprintln!("event: {event:?}");
                    }
                    let found = pick(&event);
                    self.seen.push(event);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Ok(None) => panic!("event stream ended while waiting for {what}"),
                Err(_) => panic!("timed out after {bound:?} waiting for {what}"),
            }
        }
    }

    /// Like `wait_for`, but first looks through the events already received.
    pub async fn seen_or_wait<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&NetEvent) -> Option<T>,
    ) -> T {
        if let Some(found) = self.seen.iter().find_map(&mut pick) {
            return found;
        }
        self.wait_for(what, pick).await
    }

    /// Collects the texts of `count` messages of `log`, in arrival order.
    pub async fn texts_of(&mut self, log: LogKey, count: usize) -> Vec<String> {
        let mut texts = Vec::new();
        while texts.len() < count {
            let text = self
                .wait_for(
                    &format!("message {} of {}", texts.len() + 1, log.short()),
                    |e| match e {
                        NetEvent::Appended {
                            log: f, message, ..
                        } if *f == log => Some(message.text.clone()),
                        _ => None,
                    },
                )
                .await;
            texts.push(text);
        }
        texts
    }

    /// Stops the engine and waits (each event within `WAIT`) until its
    /// event stream ends. Returns the storage directory, still on disk.
    pub async fn shutdown(mut self) -> TempDir {
        self.send(NetCommand::Shutdown).await;
        while tokio::time::timeout(WAIT, self.events.recv())
            .await
            .ok()
            .flatten()
            .is_some()
        {}
        self.dir
    }
}
