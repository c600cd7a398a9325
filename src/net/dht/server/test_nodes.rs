//! Test fixtures of the server's tests: our DHT nodes on loopback, a
//! listener that echoes, and the wait for a server's announcement.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hypercore_handshake::CipherEvent;
use tokio::sync::{mpsc, watch};

use super::Listener;
use crate::net::dht::connection::stream::Taken;
use crate::net::dht::kademlia::service::{DhtNode, NodeConfig};

pub(super) fn start(bootstrap: Vec<SocketAddrV4>, persistent: bool) -> DhtNode {
    DhtNode::start(NodeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        bootstrap,
        persistent_ip: persistent.then_some(Ipv4Addr::LOCALHOST),
    })
    .unwrap()
}

pub(super) fn v4(node: &DhtNode) -> SocketAddrV4 {
    match node.local_addr() {
        SocketAddr::V4(v4) => v4,
        SocketAddr::V6(_) => unreachable!("bound to IPv4"),
    }
}

/// Three of our nodes joined into one DHT.
pub(super) fn three_nodes() -> (Vec<DhtNode>, Vec<SocketAddrV4>) {
    let first = start(Vec::new(), true);
    let seed = vec![v4(&first)];
    let nodes = vec![first, start(seed.clone(), true), start(seed, true)];
    let list = nodes.iter().map(v4).collect();
    (nodes, list)
}

/// Echoes every message on every connection the listener accepts, and
/// reports each connection's path.
pub(super) fn echo(mut listener: Listener) -> mpsc::UnboundedReceiver<Taken> {
    let (paths_tx, paths) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(mut accepted) = listener.connections.recv().await {
            let _ = paths_tx.send(accepted.stream.path);
            tokio::spawn(async move {
                while let Some(event) = accepted.stream.session.next().await {
                    if let CipherEvent::Message(bytes) = event {
                        if accepted.stream.session.send(bytes).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    paths
}

/// Waits for the server's first announcement to reach its relays.
pub(super) async fn announced(relays: &mut watch::Receiver<Vec<SocketAddrV4>>) {
    tokio::time::timeout(Duration::from_secs(10), relays.wait_for(|r| !r.is_empty()))
        .await
        .expect("the server announces itself within 10 s")
        .expect("the server runs");
}

/// A JS script of `tests/js` run with `args`: its stdout lines as they
/// come. Dropping it kills the process (only it).
pub(super) struct JsScript {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every line read so far, for failure messages.
    pub(super) said: Vec<String>,
}

impl JsScript {
    pub(super) fn run(script: &str, args: &[&str]) -> JsScript {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            root.join("tests/js/node_modules/hyperdht").exists(),
            "this test runs JS peers: run `npm ci --prefix tests/js` (node is needed too)"
        );
        let mut child = Command::new("node")
            .arg(format!("tests/js/{script}"))
            .args(args)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node for tests/js/{script}: {e}"));
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        JsScript {
            child,
            lines,
            said: Vec::new(),
        }
    }

    /// The rest of the first line that starts with `prefix` within `wait`,
    /// or a panic with everything the script said.
    pub(super) async fn line(&mut self, prefix: &str, wait: Duration) -> String {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.try_recv() {
                Ok(line) => {
                    self.said.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.trim().to_string();
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) if !left.is_zero() => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(_) => panic!(
                    "the JS script said no {prefix:?} within {wait:?}; it said: {:?}",
                    self.said
                ),
            }
        }
    }
}

impl Drop for JsScript {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
