//! JS peers connecting to each other through a DHT of hychat nodes alone:
//! five `hychat bootstrap` nodes on loopback, joined into one DHT, are the
//! only relays, and `tests/js/dht-connect-loop.js` (hyperdht 6.34 as
//! installed by `npm ci`) makes 24 fresh pairs of JS nodes, one pair at a
//! time: A listens, B connects to A's key, writes a line and must get it
//! echoed. The pairs cycle through A firewalled or open, B firewalled or
//! open, and three paths (the LAN shortcut on; off; off and no fast open,
//! so a firewalled pair meets only through the holepunch rounds), so the
//! relays carry what hyperdht sends them: the handshake (client, relay,
//! the server's answer back) and the rounds to and from the server's
//! puncher. Every pair must be reported connected, none retried. The
//! nodes log at debug level, so a failure shows the relay decisions
//! (`relay:` lines) beside the script's output; no node may panic.
//!
//! The pairs start after both JS nodes have bootstrapped: a hyperdht node
//! still bootstrapping may stop being firewalled in the middle of its own
//! connect, which hyperdht itself does not survive on any DHT (the script's
//! `--as-started` shows it; its header says how).

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::harness::bin::{loopback, panic_line, start_bootstrap_with};
use crate::harness::js::{ensure_js_peers, run_script};
use crate::harness::process::{one_at_a_time, Background};

/// Nodes in the DHT: more than the 3 a server announces to.
const NODES: usize = 5;
/// Pairs the script makes: every variant (12) twice.
const PAIRS: usize = 24;
/// Bound on the whole script (it bounds each pair at 10 s and its whole
/// run at 240 s itself); it takes about a second when every pair connects.
const SCRIPT_LIMIT: Duration = Duration::from_secs(300);
/// Relay decisions shown per node when the test fails.
const RELAY_LINES: usize = 40;

/// A bootstrap node as `harness::bin::start_bootstrap_joining` starts it,
/// but logging at debug level, so its relay decisions are in its log.
fn start_node(storage: &Path, others: &[u16]) -> (Background, u16) {
    start_bootstrap_with(storage, others, &["--log-level", "debug"])
}

/// The last relay decisions in a node's log.
fn relay_lines(storage: &Path) -> String {
    let log = std::fs::read_to_string(storage.join("hychat.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("relay:")).collect();
    let start = lines.len().saturating_sub(RELAY_LINES);
    format!(
        "--- {} (relay decisions: last {} of {}) ---\n{}",
        storage.join("hychat.log").display(),
        lines.len() - start,
        lines.len(),
        lines[start..].join("\n")
    )
}

/// One `{pair, ok, detail, ...}` line of the script: its pair number (or
/// name), whether it connected, and the whole line.
fn outcomes(output: &str) -> Vec<(String, bool, String)> {
    output
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            let pair = match &v["pair"] {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => return None,
            };
            Some((pair, v["ok"].as_bool()?, l.to_string()))
        })
        .collect()
}

#[test]
fn fresh_js_pairs_connect_through_five_hychat_nodes() {
    let _one_at_a_time = one_at_a_time();
    ensure_js_peers();
    let dirs: Vec<TempDir> = (0..NODES).map(|_| TempDir::new().unwrap()).collect();
    let mut nodes = Vec::new();
    let mut ports = Vec::new();
    for dir in &dirs {
        let (node, port) = start_node(dir.path(), &ports);
        nodes.push(node);
        ports.push(port);
    }
    let addresses: Vec<String> = ports.iter().map(|p| loopback(*p)).collect();
    let mut args = vec!["--pairs".to_string(), PAIRS.to_string()];
    args.extend(addresses.iter().cloned());

    let (output, finished) = match run_script("dht-connect-loop.js", &args, SCRIPT_LIMIT) {
        Ok(output) => (output, "it exited with status 0".to_string()),
        Err(failed) => (failed, "it failed".to_string()),
    };
    let seen = outcomes(&output);
    let mut problems = Vec::new();
    let mut connected = 0;
    for pair in 0..PAIRS {
        let reported: Vec<_> = seen.iter().filter(|o| o.0 == pair.to_string()).collect();
        match reported.as_slice() {
            [] => problems.push(format!("pair {pair}: not reported (not run)")),
            [(_, true, _)] => connected += 1,
            [(_, false, line)] => problems.push(format!("pair {pair}: FAILED: {line}")),
            _ => problems.push(format!("pair {pair}: reported {} times", reported.len())),
        }
    }
    for (pair, _, line) in &seen {
        if !pair.parse::<usize>().is_ok_and(|p| p < PAIRS) {
            problems.push(format!("a line this test does not expect: {line}"));
        }
    }

    for node in &mut nodes {
        node.terminate();
    }
    for (node, dir) in nodes.iter().zip(&dirs) {
        if let Some(line) = panic_line(node, dir.path()) {
            problems.push(format!("a hychat bootstrap node panicked: {line}"));
        }
    }

    let mut logs = String::new();
    if !problems.is_empty() {
        for (node, dir) in nodes.iter().zip(&dirs) {
            logs.push_str(&format!(
                "\n{}\n{}\n",
                node.describe(),
                relay_lines(dir.path())
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{connected} of {PAIRS} JS pairs connected through {NODES} hychat nodes ({finished}):\n{}\n\n\
         --- dht-connect-loop.js {} ---\n{output}\n{logs}",
        problems.join("\n"),
        args.join(" ")
    );
}
