//! What a DHT of hychat nodes keeps for JS clients (issue 29): five
//! `hychat bootstrap` nodes on loopback, joined into one DHT, are the only
//! nodes that store anything, and three ephemeral JS hyperdht clients
//! (`tests/js/dht-records.js`, hyperdht 6.34 as installed by `npm ci`) check
//! through hyperdht's public API that they keep records as JS hyperdht's
//! persistent nodes do: the bump of an announced target (it only grows, one
//! more than 60 s ahead is ignored, and it outlives an unannounce), immutable
//! records, and mutable records with their seq rules (SEQ_TOO_LOW and
//! SEQ_REUSED from every node asked). Every case the script runs is named
//! here and must be reported passed: a case missing from its output fails
//! the test like a failed one. A failure shows the script's output, what
//! the nodes printed and the tail of their log files; no node may panic.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::harness::bin::{log_tail, loopback, panic_line, start_bootstrap_dht};
use crate::harness::js::{ensure_js_peers, run_script};
use crate::harness::process::{one_at_a_time, Background};

/// Nodes in the DHT: more than the 3 a record must reach, so a put or an
/// announce is checked on several nodes at once.
const NODES: usize = 5;
/// Bound on the whole script (it bounds each case at 30 s and its whole
/// run at 240 s itself).
const SCRIPT_LIMIT: Duration = Duration::from_secs(300);

/// Every case `dht-records.js` runs, in its order, by the name it prints.
const CASES: [&str; 17] = [
    "clients ready",
    "bump 1 is reported",
    "bump 2 replaces 1",
    "bump 1 after 2 leaves 2 (monotonic)",
    "bump 24 h ahead is ignored",
    "bump Date.now() is applied",
    "bump 30 s ahead (within 60 s) is applied",
    "bump kept across an unannounce and another key announced with bump 0",
    "bump kept when the first key announces again with bump 0",
    "immutable put by one client, get by another",
    "immutable get of a hash never put is null",
    "mutable put seq 0, get by another client",
    "mutable put seq 2 replaces seq 0",
    "mutable put seq 1 after 2: SEQ_TOO_LOW from every node, seq 2 kept",
    "mutable put reusing seq 2 with another value: SEQ_REUSED from every node",
    "mutable put of seq 2 again with the same value is accepted",
    "mutable get asking for seq 3 is null",
];

/// One `{case, ok, detail}` line of the script.
struct Outcome {
    case: String,
    ok: bool,
    detail: String,
}

/// The script's case lines; any other line is left out (it is in the
/// output the failure shows).
fn outcomes(output: &str) -> Vec<Outcome> {
    output
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            Some(Outcome {
                case: v["case"].as_str()?.to_string(),
                ok: v["ok"].as_bool()?,
                detail: v["detail"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

/// What the nodes printed and the tail of their log files.
fn describe_nodes(nodes: &[Background], dirs: &[TempDir]) -> String {
    let mut text = String::new();
    for (node, dir) in nodes.iter().zip(dirs) {
        text.push_str(&format!(
            "\n{}\n{}\n",
            node.describe(),
            log_tail(dir.path())
        ));
    }
    text
}

#[test]
fn js_clients_find_bumps_and_records_kept_by_five_hychat_nodes() {
    let _one_at_a_time = one_at_a_time();
    ensure_js_peers();
    let dirs: Vec<TempDir> = (0..NODES).map(|_| TempDir::new().unwrap()).collect();
    let paths: Vec<&Path> = dirs.iter().map(TempDir::path).collect();
    let (mut nodes, ports) = start_bootstrap_dht(&paths);
    let addresses: Vec<String> = ports.iter().map(|p| loopback(*p)).collect();

    let (output, finished) = match run_script("dht-records.js", &addresses, SCRIPT_LIMIT) {
        Ok(output) => (output, "it exited with status 0".to_string()),
        Err(failed) => (failed, "it failed".to_string()),
    };
    let seen = outcomes(&output);
    let mut problems = Vec::new();
    let mut passed = 0;
    for case in CASES {
        let reported: Vec<&Outcome> = seen.iter().filter(|o| o.case == case).collect();
        match reported.as_slice() {
            [] => problems.push(format!("{case}: not reported (not run)")),
            [one] if one.ok => {
                passed += 1;
                eprintln!("passed: {case}: {}", one.detail);
            }
            [one] => problems.push(format!("{case}: FAILED: {}", one.detail)),
            _ => problems.push(format!("{case}: reported {} times", reported.len())),
        }
    }
    for other in seen.iter().filter(|o| !CASES.contains(&o.case.as_str())) {
        problems.push(format!(
            "{}: a case this test does not know (ok: {}): {}",
            other.case, other.ok, other.detail
        ));
    }

    for node in &mut nodes {
        node.terminate();
    }
    for (node, dir) in nodes.iter().zip(&dirs) {
        if let Some(line) = panic_line(node, dir.path()) {
            problems.push(format!("a hychat bootstrap node panicked: {line}"));
        }
    }

    assert!(
        problems.is_empty(),
        "{passed} of {} cases of dht-records.js over {NODES} hychat nodes passed \
         ({finished}):\n{}\n\n--- dht-records.js {} ---\n{output}\n{}",
        CASES.len(),
        problems.join("\n"),
        addresses.join(" "),
        describe_nodes(&nodes, &dirs)
    );
}
