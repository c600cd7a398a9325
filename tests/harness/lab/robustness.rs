//! Runs where something dies under hychat on the lab: the server a
//! `hychat dial` is holepunching to is killed in the middle of the punch,
//! and one of the five hychat DHT nodes is killed and later restarted
//! while a writer behind a NAT is announced through them. Each kill is a
//! SIGKILL by the process's pid, as if the host lost power.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use super::hosts::{CONE1, CONE2, DHT, RAND1, RAND2};
use super::scenarios::{hychat_only_dht, js_writer};
use super::scene::{panics, Scene, Timing, ARRIVAL};
use super::Lab;

/// How long a dial may go on after its server died.
pub const GIVE_UP: Duration = Duration::from_secs(40);
/// How long the dial may take to start punching.
const TO_PUNCH: Duration = Duration::from_secs(30);
/// Fresh tries when the punch won before the kill.
const TRIES: usize = 3;
/// What `hychat dial` prints when it reached nobody.
const UNREACHED: &str = "could not reach a peer of this log: ";

/// Waits up to `bound` for a line of `log` that `accept` takes, while
/// `alive` says to go on. Returns the line.
fn wait_in_log(
    log: &Path,
    bound: Duration,
    accept: impl Fn(&str) -> bool,
    mut alive: impl FnMut() -> bool,
) -> Option<String> {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| accept(l)) {
            return Some(line.to_string());
        }
        if !alive() {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Whether a debug log line is the punch's start (`punching`, with the
/// strategy it chose).
fn starts_punching(line: &str) -> bool {
    line.contains(" punching") && line.contains("strategy=")
}

/// One try of the mid-punch kill: `Ok(Some(took))` when the dial gave up
/// as it should `took` after the kill, `Ok(None)` when the punch won
/// before the kill (nothing to judge), `Err` with the report otherwise.
fn kill_mid_punch(scene: &mut Scene, list: &str) -> Result<Option<Duration>, String> {
    let (mut writer, key) = js_writer(scene, RAND2, list, ARRIVAL);
    let key = key.map_err(|e| format!("{e}\n{}", writer.describe()))?;
    let before = scene.lab.udp_sockets(CONE1);
    let peer = scene.peer(CONE1, "dialer", list);
    let timeout = ARRIVAL.as_secs().to_string();
    let args = peer.args(&["--log-level", "debug", "dial", &key, "--timeout", &timeout]);
    let log_path = peer.storage.join("hychat.log");
    let started = Instant::now();
    let mut dial = scene.spawn(&peer, "dial", args);
    let punching = wait_in_log(&log_path, TO_PUNCH, starts_punching, || dial.is_running());
    let killed_after = started.elapsed();
    writer.kill();
    let killed = Instant::now();
    let status = dial.wait_exit(GIVE_UP);
    let took = killed.elapsed();
    if status.is_none() {
        dial.terminate();
    }
    let output = dial.describe();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let after = scene.lab.udp_sockets(CONE1);
    let Some(punching) = punching else {
        return Err(format!(
            "the dial logged no `punching` line within {TO_PUNCH:?} (the writer was killed \
             after {:.1} s anyway)\n{output}\n{}",
            killed_after.as_secs_f64(),
            writer.describe()
        ));
    };
    eprintln!(
        "[server-dies-mid-punch] the writer was killed {:.1} s after the dial started, on `{}`",
        killed_after.as_secs_f64(),
        punching.trim()
    );
    if output.lines().any(|l| l.starts_with("reached ")) {
        eprintln!("[server-dies-mid-punch] the punch won before the kill; trying again");
        return Ok(None);
    }
    let mut problems = Vec::new();
    match status {
        None => problems.push(format!(
            "it was still running {GIVE_UP:?} after the server died and had to be stopped"
        )),
        Some(status) if status.code() != Some(1) => {
            problems.push(format!("it exited with {status:?}, not 1"))
        }
        Some(_) => {}
    }
    if !output.contains(UNREACHED) {
        problems.push(format!("it did not say {UNREACHED:?}"));
    }
    if let Some(line) = panics(&log, std::slice::from_ref(&output)) {
        problems.push(format!("it panicked: `{line}`"));
    }
    if after.len() > before.len() {
        problems.push(format!(
            "{CONE1} had {} UDP sockets before the dial and {} after it exited:\n{}",
            before.len(),
            after.len(),
            after.join("\n")
        ));
    }
    if problems.is_empty() {
        Ok(Some(took))
    } else {
        let hychat: Vec<&str> = log.lines().filter(|l| l.contains("hychat")).collect();
        Err(format!(
            "`hychat dial` on {CONE1} of the JS writer on {RAND2}, killed mid-punch: {}\n\
             exit status {status:?}, {:.1} s after the kill\n{output}\n--- its log (debug) ---\n{}",
            problems.join("; "),
            took.as_secs_f64(),
            hychat[hychat.len().saturating_sub(80)..].join("\n")
        ))
    }
}

/// The server dies mid-punch: on the five hychat nodes, `hychat dial
/// KEY --timeout 60` on cone1 holepunches to a JS writer behind rand2
/// (random probes, which take seconds); the writer is killed (SIGKILL) as
/// soon as the dial's debug log says it started punching. The dial must
/// exit 1 with "could not reach a peer of this log" within 40 s of the
/// kill, never panic, and leave cone1 with no more UDP sockets than before
/// it started. When the punch wins before the kill, a fresh pair tries
/// again (at most three times). No node may panic.
pub fn server_dies_mid_punch(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "server-dies-mid-punch");
    let (nodes, list) = hychat_only_dht(&mut scene);
    let mut judged = false;
    for _ in 0..TRIES {
        match kill_mid_punch(&mut scene, &list) {
            Ok(Some(took)) => {
                scene.record("the dial gave up after its server died mid-punch", took);
                judged = true;
                break;
            }
            Ok(None) => {}
            Err(e) => scene.fail(&e),
        }
    }
    if !judged {
        scene.fail(&format!(
            "the punch won before the kill {TRIES} times: the server was never killed mid-punch"
        ));
    }
    drop(nodes);
    scene.check_nodes_never_panicked();
    scene.finish()
}

/// A killed and restarted DHT node is routed around: on the five hychat
/// nodes, a hychat writer on cone2 (`send` + `seed`) announces its log;
/// then the first node (the first bootstrap entry of every peer, so one
/// the writer's announce went through) is killed. A `hychat tail` on
/// rand1, whose bootstrap list still names the dead node, gets the
/// message through the four others within 60 s. The node is started again
/// on the same host, port and storage, and a second `hychat tail`, on
/// cone1, gets the message within 60 s too. No node may panic.
pub fn relay_node_restarted(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "relay-restarted");
    let (mut nodes, list) = hychat_only_dht(&mut scene);
    let writer = scene.peer(CONE2, "wendy", &list);
    let key = scene.key(&writer);
    let text = scene.text("wendy behind cone2, while a DHT node dies");
    scene.send(&writer, None, &text);
    let log_path = writer.storage.join("hychat.log");
    let started = Instant::now();
    let mut seed = scene.spawn(
        &writer,
        "seed",
        writer.args(&["--log-level", "debug", "seed"]),
    );
    let announced = wait_in_log(
        &log_path,
        ARRIVAL,
        |l| l.contains("announced our server"),
        || seed.is_running(),
    );
    if announced.is_none() {
        scene.fail("the writer's seed did not announce itself within 60 s");
    }
    scene.record("the writer on cone2 announced", started.elapsed());

    nodes[0].kill();
    let first = scene.peer(RAND1, "rita", &list);
    let mut tail = scene.tail(&first, &key);
    let took = scene.expect_text(&mut tail, &text, ARRIVAL);
    scene.record(
        &format!("with the node on {DHT} dead: cone2-pc -> rand1-pc"),
        took,
    );
    tail.terminate();

    let others: Vec<String> = list
        .split(',')
        .filter(|a| *a != lab.dht_addr(DHT))
        .map(str::to_string)
        .collect();
    let started = Instant::now();
    let (restarted, _) = scene.restart_bootstrap_node(DHT, &others);
    nodes[0] = restarted;
    scene.record(&format!("the node on {DHT} restarted"), started.elapsed());
    let second = scene.peer(CONE1, "cleo", &list);
    let mut tail = scene.tail(&second, &key);
    let took = scene.expect_text(&mut tail, &text, ARRIVAL);
    scene.record(
        &format!("with the node on {DHT} restarted: cone2-pc -> cone1-pc"),
        took,
    );
    tail.terminate();
    seed.terminate();
    drop(nodes);
    scene.check_nodes_never_panicked();
    scene.finish()
}
