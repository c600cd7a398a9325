//! What the loopback benchmarks share: an engine node in a temp directory
//! pointed at one bootstrap node, percentiles, and run sizes from the
//! environment.
#![allow(dead_code)]

use std::time::Duration;

use hychat::net::{self, NetConfig, NetEvent, NetHandle};
use tokio::sync::mpsc;

pub struct Node {
    pub handle: NetHandle,
    pub events: mpsc::Receiver<NetEvent>,
    _dir: tempfile::TempDir,
}

pub async fn node(bootstrap: std::net::SocketAddr) -> Node {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = NetConfig::new(dir.path().to_path_buf());
    config.bootstrap = vec![bootstrap.to_string()];
    config.host_local_bootstrap = false;
    config.refresh_interval = Duration::from_secs(1);
    config.nickname = Some("bench".into());
    let (handle, events) = net::spawn(config).await.expect("engine starts");
    Node {
        handle,
        events,
        _dir: dir,
    }
}

/// The first event `pick` accepts, within `bound`; panics past it.
pub async fn wait_for<T>(
    events: &mut mpsc::Receiver<NetEvent>,
    bound: Duration,
    what: &str,
    mut pick: impl FnMut(&NetEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => {
                if let Some(found) = pick(&event) {
                    return found;
                }
            }
            _ => panic!("no {what} within {bound:?}"),
        }
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

pub fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
