//! Two hosts behind one home router that does not hairpin (`CONE1` and
//! `CONE1_PC2`, on cone1's 10.0.1.0/24 behind 203.0.113.11): they reach
//! each other only on their home network, never through the router's
//! public address. hyperdht peers connect there through the LAN shortcut
//! (each side shares its interface addresses in the handshake, and the
//! client pings the server's LAN address from its DHT socket while it
//! punches); this scenario shows hychat does too, with itself and with JS.
//!
//! 1. The router does not hairpin (`check_no_hairpin`): a UDP packet from
//!    `CONE1` to the router's public address and the port the router
//!    mapped for `CONE1_PC2` never arrives, while a public host's packet to
//!    that same mapping does, and `CONE1`'s packet to `CONE1_PC2`'s LAN
//!    address does. The scenario fails here if the router ever hairpins,
//!    so nothing below can pass through the public address by accident.
//! 2. On the DHT of five hychat nodes (`hychat_only_dht`): a hychat writer
//!    (`send`, then `seed`) and a `hychat tail` reader on the other host,
//!    each way round; a JS writer (announces only) read by `hychat tail`
//!    (JS -> hychat: hychat's client role against a JS server); a hychat
//!    writer read by a JS viewer that only looks up (hychat -> JS: hychat's
//!    server role against a JS client). Each message reaches its reader
//!    within `LAN_ARRIVAL` of the reader's start (measured and printed),
//!    and each hychat log names the connection: `connection established`
//!    with `path=direct` and the other host's LAN address as the remote,
//!    in the role it played; no connection names the router's public
//!    address. Every hychat leaves on SIGTERM with 0, nobody panics.
//! 3. The control: the same two hychats with the shortcut turned off on
//!    both (`HYCHAT_LAN_SHORTCUT=off`) get nothing across within
//!    `LAN_ARRIVAL` and log no connection: the shortcut is what makes the
//!    difference (they punch, and every probe to the router's public
//!    address dies there).
//!
//! Every wait is bounded; nothing is retried.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::super::bin::QUICK;
use super::super::js::viewer_args;
use super::super::process::Background;
use super::hosts::{CONE1, CONE1_PC2, DHT};
use super::logs::{excerpt, read_log, wait_in_log};
use super::nat_pairs::{established, public_ip, Established};
use super::scenarios::{hychat_only_dht, js_writer_in_mode, viewer_shows};
use super::scene::{panics, Peer, Scene, Timing};
use super::{Lab, LAN_SHORTCUT};

/// How long a message may take over the LAN, from the reader's start to
/// the message at the reader: a LAN connect is one relayed handshake and
/// one ping (measured: about 1-3 s, DHT lookups included).
pub const LAN_ARRIVAL: Duration = Duration::from_secs(20);
/// How long each step of the hairpin check waits for a datagram.
const DATAGRAM_WAIT: Duration = Duration::from_secs(10);
/// How long the hairpin check listens for packets that must not come.
const SILENCE: Duration = Duration::from_secs(2);
/// Ports of the hairpin check's scripts (nothing else listens there).
const ECHO_PORT: u16 = 40100;
const LISTEN_PORT: u16 = 40200;

/// Whether a `tail --json` line is the message `text`.
fn tail_shows(line: &str, text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line).is_ok_and(|value| value["text"] == text)
}

/// `node -e SCRIPT` on `host`.
fn node_script(lab: &Lab, host: &str, name: &str, script: &str) -> Background {
    let mut command = lab.command(host, "node");
    command.arg("-e").arg(script);
    Background::spawn(name, command, false)
}

/// Step 1: the router in front of `CONE1` and `CONE1_PC2` does not
/// hairpin. `CONE1_PC2` sends from `LISTEN_PORT` to an echo on the public
/// `DHT` host, which sees the router's mapping and answers through it
/// (the mapping works from outside); then `CONE1` sends five datagrams to
/// that mapping, which must not arrive within `SILENCE`, and one to
/// `CONE1_PC2`'s LAN address, which must.
pub fn check_no_hairpin(lab: &Lab) -> Result<String, String> {
    let public = lab.addr(DHT);
    let router_ip = public_ip(lab, CONE1_PC2);
    let pc2_lan = lab.addr(CONE1_PC2);
    let echo_script = format!(
        "const d=require('dgram').createSocket('udp4');\
         d.on('message',(m,r)=>{{console.log('FROM '+r.address+':'+r.port);d.send('pong',r.port,r.address)}});\
         d.bind({ECHO_PORT},'0.0.0.0',()=>console.log('READY'))"
    );
    let listen_script = format!(
        "const d=require('dgram').createSocket('udp4');\
         d.on('message',(m,r)=>console.log('GOT '+m+' FROM '+r.address));\
         d.bind({LISTEN_PORT},'0.0.0.0',()=>{{console.log('READY');d.send('ping',{ECHO_PORT},'{public}')}})"
    );
    let mut echo = node_script(lab, DHT, "udp echo (on dht)", &echo_script);
    let describe = |what: &str, processes: &[&Background]| {
        let described: Vec<String> = processes.iter().map(|p| p.describe()).collect();
        format!("the hairpin check: {what}\n{}", described.join("\n"))
    };
    if echo
        .wait_for_line(DATAGRAM_WAIT, |l| l == "READY")
        .is_none()
    {
        return Err(describe("the UDP echo on dht did not start", &[&echo]));
    }
    let mut listener = node_script(
        lab,
        CONE1_PC2,
        "udp listener (on cone1-pc2)",
        &listen_script,
    );
    let mapped = echo
        .wait_for_line(DATAGRAM_WAIT, |l| l.starts_with("FROM "))
        .and_then(|l| l.strip_prefix("FROM ").map(str::to_string));
    let Some(mapped) = mapped
        .clone()
        .filter(|m| m.starts_with(&format!("{router_ip}:")))
    else {
        return Err(describe(
            &format!("the echo saw no datagram from {router_ip} (saw {mapped:?})"),
            &[&echo, &listener],
        ));
    };
    let pong = format!("GOT pong FROM {public}");
    if listener
        .wait_for_line(DATAGRAM_WAIT, |l| l == pong)
        .is_none()
    {
        return Err(describe(
            &format!("the echo's answer through {mapped} did not reach cone1-pc2"),
            &[&echo, &listener],
        ));
    }
    let (host, port) = mapped.rsplit_once(':').expect("FROM ip:port");
    let send_script = format!(
        "const d=require('dgram').createSocket('udp4');let n=0;\
         d.bind(0,()=>{{const t=setInterval(()=>{{d.send('hairpin',{port},'{host}');\
         if(++n===5){{clearInterval(t);d.send('lan',{LISTEN_PORT},'{pc2_lan}',()=>{{console.log('SENT');d.close()}})}}}},100)}})"
    );
    let mut sender = node_script(lab, CONE1, "udp sender (on cone1-pc)", &send_script);
    if sender
        .wait_for_line(DATAGRAM_WAIT, |l| l == "SENT")
        .is_none()
    {
        return Err(describe(
            "the sender on cone1-pc did not send",
            &[&echo, &listener, &sender],
        ));
    }
    let lan_line = format!("GOT lan FROM {}", lab.addr(CONE1));
    if listener
        .wait_for_line(DATAGRAM_WAIT, |l| l == lan_line)
        .is_none()
    {
        return Err(describe(
            "cone1-pc's datagram to cone1-pc2's LAN address did not arrive",
            &[&echo, &listener, &sender],
        ));
    }
    if let Some(line) = listener.wait_for_line(SILENCE, |l| l.starts_with("GOT hairpin")) {
        return Err(describe(
            &format!("the router hairpins: cone1-pc's datagram to {mapped} arrived ({line})"),
            &[&echo, &listener, &sender],
        ));
    }
    // Earlier lines are gone from the channel: the transcript has them all.
    if listener.describe().contains("GOT hairpin") {
        return Err(describe(
            &format!("the router hairpins: cone1-pc's datagram to {mapped} arrived"),
            &[&echo, &listener, &sender],
        ));
    }
    Ok(mapped)
}

/// One side of an attempt: its process, and the hychat's storage.
struct Running {
    name: String,
    process: Background,
    storage: Option<PathBuf>,
}

impl Running {
    fn log(&self) -> String {
        self.storage.as_deref().map(read_log).unwrap_or_default()
    }

    fn describe(&self) -> String {
        match &self.storage {
            Some(storage) => format!(
                "{}\n--- {} ({}) debug log, hychat lines ---\n{}",
                self.process.describe(),
                self.name,
                storage.display(),
                excerpt(&self.log(), 60)
            ),
            None => self.process.describe(),
        }
    }
}

/// Which implementation writes or reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Hychat,
    Js,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Hychat => "hychat",
            Side::Js => "JS",
        }
    }
}

/// One message across the router: who writes where, who reads where, and
/// whether the hychats have the shortcut.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    writer: Side,
    writer_host: &'static str,
    reader: Side,
    reader_host: &'static str,
    shortcut: bool,
}

impl Attempt {
    fn label(&self) -> String {
        format!(
            "{} writer on {} -> {} reader on {}{}",
            self.writer.name(),
            self.writer_host,
            self.reader.name(),
            self.reader_host,
            if self.shortcut {
                ""
            } else {
                " (LAN shortcut off)"
            }
        )
    }
}

/// What a hychat logs once a topic's record is on the DHT.
const ANNOUNCED: &str = "looked up and announced a topic";

/// A hychat process of `peer` with `args` after `--log-level debug`, with
/// the shortcut off when `shortcut` is not set.
fn hychat(scene: &mut Scene, peer: &Peer, what: &str, args: &[&str], shortcut: bool) -> Running {
    let mut all = vec!["--log-level", "debug"];
    all.extend_from_slice(args);
    let args = peer.args(&all);
    let name = format!("hychat {what} (on {})", peer.host);
    let process = if shortcut {
        scene.spawn(peer, what, args)
    } else {
        scene
            .lab
            .spawn_with_env(peer.host, &name, &args, &[(LAN_SHORTCUT, "off")])
    };
    Running {
        name,
        process,
        storage: Some(peer.storage.clone()),
    }
}

/// The writer, started and announced, with `text` in its log: its
/// process and the log's key.
fn start_writer(
    scene: &mut Scene,
    a: &Attempt,
    text: &str,
    bootstrap: &str,
) -> Result<(Running, String), String> {
    match a.writer {
        Side::Js => {
            let (mut writer, key) =
                js_writer_in_mode(scene, a.writer_host, bootstrap, QUICK, "server");
            let key = key.map_err(|e| format!("{e}\n{}", writer.describe()))?;
            writer.write_line(text);
            if writer
                .wait_for_line(QUICK, |l| l.starts_with("APPENDED 0 "))
                .is_none()
            {
                return Err(format!(
                    "the JS writer did not append\n{}",
                    writer.describe()
                ));
            }
            let running = Running {
                name: format!("js writer (server, on {})", a.writer_host),
                process: writer,
                storage: None,
            };
            Ok((running, key))
        }
        Side::Hychat => {
            let peer = scene.peer(a.writer_host, "writer", bootstrap);
            let key = scene.key(&peer);
            scene.send(&peer, None, text);
            let mut seed = hychat(scene, &peer, "seed", &["seed"], a.shortcut);
            if seed
                .process
                .wait_for_line(QUICK, |l| l.starts_with("seeding every log"))
                .is_none()
            {
                return Err(format!(
                    "the hychat seed did not start\n{}",
                    seed.describe()
                ));
            }
            if wait_in_log(&peer.storage, QUICK, |l| l.contains(ANNOUNCED)).is_none() {
                return Err(format!(
                    "the hychat seed never announced its topic\n{}",
                    seed.describe()
                ));
            }
            seed.name = format!("hychat seed (writer, on {})", a.writer_host);
            Ok((seed, key))
        }
    }
}

/// The reader of `key`, started.
fn start_reader(scene: &mut Scene, a: &Attempt, key: &str, bootstrap: &str) -> Running {
    match a.reader {
        Side::Js => {
            let storage = scene.js_storage("viewer");
            let mut args = viewer_args(key, &storage, bootstrap).to_vec();
            args.extend(["--mode".to_string(), "client".to_string()]);
            let name = format!("js viewer (client, on {})", a.reader_host);
            Running {
                process: scene.js(a.reader_host, &name, "viewer.js", &args),
                name,
                storage: None,
            }
        }
        Side::Hychat => {
            let peer = scene.peer(a.reader_host, "reader", bootstrap);
            let mut tail = hychat(scene, &peer, "tail", &["tail", key, "--json"], a.shortcut);
            tail.name = format!("hychat tail (reader, on {})", a.reader_host);
            tail
        }
    }
}

/// SIGTERM; a problem unless a hychat left with 0, or a JS process (which
/// has no handler for it) with 0 or by that signal.
fn stop(running: &mut Running) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    let status = running.process.terminate();
    let clean = status.is_some_and(|s| {
        s.success() || (running.storage.is_none() && s.signal() == Some(libc::SIGTERM))
    });
    (!clean).then(|| {
        format!(
            "{} did not leave cleanly on SIGTERM: {status:?}",
            running.name
        )
    })
}

/// The connection lines a hychat log must have: one in `role` (client:
/// it dialed) over the LAN (`path=direct`, the other host's LAN address
/// as the remote), and none naming the router's public address.
fn lan_problems(
    lab: &Lab,
    running: &Running,
    other_host: &str,
    client: bool,
    arrived: bool,
) -> Vec<String> {
    let Some(storage) = running.storage.as_deref() else {
        return Vec::new();
    };
    let lan_ip = lab.addr(other_host).to_string();
    let router_ip = public_ip(lab, other_host);
    let over_the_lan =
        |e: &Established| e.client == client && e.path == "direct" && e.remote_ip() == lan_ip;
    // The line is logged before replication starts: by the time the
    // message arrived it is there (a moment's grace for the file).
    let grace = if arrived {
        Duration::from_secs(3)
    } else {
        Duration::ZERO
    };
    wait_in_log(storage, grace, |l| {
        super::nat_pairs::parse_established(l).is_some_and(|e| over_the_lan(&e))
    });
    let lines = established(&read_log(storage));
    let mut problems = Vec::new();
    if !lines.iter().any(over_the_lan) {
        problems.push(format!(
            "the {} logged no `connection established client={client} path=direct` with \
             remote {lan_ip} (its connection lines: {lines:?})",
            running.name
        ));
    }
    if lines.iter().any(|e| e.remote_ip() == router_ip) {
        problems.push(format!(
            "the {} connected through the router's public address {router_ip}: {lines:?}",
            running.name
        ));
    }
    problems
}

/// One attempt with the shortcut on: the message at the reader within
/// `LAN_ARRIVAL` of its start, and each hychat's connection line over the
/// LAN. Returns how long the message took.
fn over_the_lan(scene: &mut Scene, a: &Attempt, bootstrap: &str) -> Result<Duration, String> {
    let lab = scene.lab;
    let text = scene.text(&format!("from {} on {}", a.writer.name(), a.writer_host));
    let (writer, key) = start_writer(scene, a, &text, bootstrap)?;
    let started = Instant::now();
    let mut reader = start_reader(scene, a, &key, bootstrap);
    let shows = |line: &str| tail_shows(line, &text) || viewer_shows(line, &text);
    let arrived = reader.process.wait_for_line(LAN_ARRIVAL, shows).is_some();
    let took = started.elapsed();
    let mut problems = Vec::new();
    if !arrived {
        problems.push(format!(
            "the {} did not get the message within {LAN_ARRIVAL:?}",
            reader.name
        ));
    }
    // The reader dials (it looks the writer's topic up); a hychat writer
    // may dial back once the tail announced, so only the reader's role is
    // fixed.
    problems.extend(lan_problems(lab, &reader, a.writer_host, true, arrived));
    if a.reader == Side::Js {
        problems.extend(lan_problems(lab, &writer, a.reader_host, false, arrived));
    } else if a.writer == Side::Hychat {
        let either = |client| lan_problems(lab, &writer, a.reader_host, client, arrived);
        let (accepted, dialed) = (either(false), either(true));
        if !accepted.is_empty() && !dialed.is_empty() {
            problems.extend(accepted);
        }
    }
    conclude(a, problems, reader, writer, took)
}

/// The control: two hychats with the shortcut off get nothing across
/// within `LAN_ARRIVAL` and log no connection. Returns how long it
/// watched.
fn without_the_shortcut(
    scene: &mut Scene,
    a: &Attempt,
    bootstrap: &str,
) -> Result<Duration, String> {
    let text = scene.text(&format!("unreachable from {}", a.writer_host));
    let (writer, key) = start_writer(scene, a, &text, bootstrap)?;
    let started = Instant::now();
    let mut reader = start_reader(scene, a, &key, bootstrap);
    let arrived = reader
        .process
        .wait_for_line(LAN_ARRIVAL, |l| tail_shows(l, &text))
        .is_some();
    let watched = started.elapsed();
    let mut problems = Vec::new();
    if arrived {
        problems.push(format!(
            "the {} got the message without the shortcut: the router let it through",
            reader.name
        ));
    }
    for running in [&reader, &writer] {
        let lines = established(&running.log());
        if !lines.is_empty() {
            problems.push(format!(
                "the {} connected without the shortcut: {lines:?}",
                running.name
            ));
        }
        // The reader found the writer and tried: its punch started, or
        // its dial failed. Else nothing here would prove anything.
        let tried = |log: &str| log.contains(" punching ") || log.contains("dial failed");
        if running.name.contains("tail") && !tried(&running.log()) {
            problems.push(format!(
                "the {} never tried to reach the writer (no punch, no failed dial)",
                running.name
            ));
        }
    }
    conclude(a, problems, reader, writer, watched)
}

/// Ends an attempt: a panic of either side is a problem too, both stop,
/// and the attempt gives `value`, or its problems with what both said.
fn conclude<T>(
    a: &Attempt,
    mut problems: Vec<String>,
    mut reader: Running,
    mut writer: Running,
    value: T,
) -> Result<T, String> {
    for running in [&reader, &writer] {
        if let Some(line) = panics(&running.log(), &[running.process.describe()]) {
            problems.push(format!("the {} panicked: `{line}`", running.name));
        }
    }
    problems.extend(stop(&mut reader));
    problems.extend(stop(&mut writer));
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(format!(
            "{}: {}\n{}\n{}",
            a.label(),
            problems.join("; "),
            reader.describe(),
            writer.describe()
        ))
    }
}

/// The attempts with the shortcut on: hychat -> hychat each way, JS ->
/// hychat (`hychat tail` dials a JS writer) and hychat -> JS (a JS viewer
/// dials a hychat writer).
const OVER_THE_LAN: [Attempt; 4] = [
    Attempt {
        writer: Side::Hychat,
        writer_host: CONE1,
        reader: Side::Hychat,
        reader_host: CONE1_PC2,
        shortcut: true,
    },
    Attempt {
        writer: Side::Hychat,
        writer_host: CONE1_PC2,
        reader: Side::Hychat,
        reader_host: CONE1,
        shortcut: true,
    },
    Attempt {
        writer: Side::Js,
        writer_host: CONE1_PC2,
        reader: Side::Hychat,
        reader_host: CONE1,
        shortcut: true,
    },
    Attempt {
        writer: Side::Hychat,
        writer_host: CONE1,
        reader: Side::Js,
        reader_host: CONE1_PC2,
        shortcut: true,
    },
];

/// The control: hychat -> hychat with the shortcut off on both.
const CONTROL: Attempt = Attempt {
    writer: Side::Hychat,
    writer_host: CONE1,
    reader: Side::Hychat,
    reader_host: CONE1_PC2,
    shortcut: false,
};

/// The whole scenario (see the module header): the hairpin check, every
/// attempt of `OVER_THE_LAN`, then `CONTROL`; the failures reported
/// together. No node panics.
pub fn same_router(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "same-router");
    let started = Instant::now();
    match check_no_hairpin(lab) {
        Ok(mapped) => scene.record(
            &format!("no hairpin: cone1-pc's datagrams to cone1-pc2's mapping {mapped} died at the router"),
            started.elapsed(),
        ),
        Err(e) => scene.fail(&e),
    }
    let (nodes, list) = hychat_only_dht(&mut scene);
    let mut failures = Vec::new();
    for a in &OVER_THE_LAN {
        match over_the_lan(&mut scene, a, &list) {
            Ok(took) => scene.record(&format!("{} over the LAN", a.label()), took),
            Err(e) => {
                eprintln!("[same-router] FAILED: {}", a.label());
                failures.push(e);
            }
        }
    }
    match without_the_shortcut(&mut scene, &CONTROL, &list) {
        Ok(watched) => scene.record(
            &format!("{}: nothing across, no connection", CONTROL.label()),
            watched,
        ),
        Err(e) => failures.push(e),
    }
    if !failures.is_empty() {
        scene.fail(&format!(
            "two hosts behind one router did not connect over their LAN as they should:\n{}",
            failures.join("\n\n")
        ));
    }
    drop(nodes);
    scene.check_nodes_never_panicked();
    scene.finish()
}
