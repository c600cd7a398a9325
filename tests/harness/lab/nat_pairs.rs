//! The chat across each pair of NATs with either side dialing (the test
//! plan's H1-H7), on the five hychat nodes of `hychat_only_dht`: the real
//! chat swarm of `hychat seed` and `hychat tail` (not `hychat dial`), and
//! the JS writer and viewer of `tests/js`.
//!
//! One `Attempt` is one connection: a client on one host dials a server on
//! another, and the message the writer holds must reach the reader within
//! `ARRIVAL`. Who dials is set by who comes second. The server side starts
//! first and is announced (a hychat's debug log says it looked its topic
//! up and announced it; a JS writer in `server` mode says `JOINED` once its
//! announcement is flushed), then the client starts, and its first lookup
//! finds the server. A JS peer only announces (`--mode server`) or only
//! looks up (`--mode client`), so it never dials the other way; a hychat
//! server looks its topics up again now and then while it has no peer and
//! may dial back while the client's punch runs, which is allowed and
//! counted, but the intended connection must be in both logs: `connection
//! established client=true` in the client's, `client=false` in the
//! server's, each on a path the two NATs call for and with the other
//! side's public address as the remote.
//!
//! The pair that cannot punch (random <-> random) meets through a blind
//! relay: the five nodes offer one each, as bootstrap nodes do by default
//! (`hychat_only_dht_with_relays`). A hychat client's punch fails, and it
//! dials again through a relay it finds under the relays' topic; a JS
//! client names one of the nodes' relays (hyperswarm's `relayThrough`,
//! `--relay-through` of the viewer). Both ends log a `blind relay` path
//! and their remote is the relay, not the peer.
//!
//! Every process is fresh, so no throttle of random punches carries over.
//! The tests (`hychats_across_nats`, `hychat_and_js_across_nats`) run every
//! attempt and report the failures together; the bench times the same
//! attempts with JS <-> JS beside them (`figures`).

use std::path::Path;
use std::time::{Duration, Instant};

use super::super::bin::QUICK;
use super::super::js::viewer_args;
use super::super::process::Background;
use super::hosts::{CONE1, CONE2, PUB1, PUB2, RAND1, RAND2};
use super::logs::{excerpt, read_log, wait_for_log, wait_in_log};
use super::scenarios::{hychat_only_dht_with_relays, js_writer_in_mode, viewer_shows};
use super::scene::{panics, Peer, Scene, Timing, ARRIVAL};
use super::Lab;

/// Where a lab host is: public, behind a port-preserving NAT, or behind a
/// NAT that picks a new port per destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Public,
    Cone,
    Random,
}

impl Place {
    pub fn of(host: &str) -> Place {
        match host {
            CONE1 | CONE2 => Place::Cone,
            RAND1 | RAND2 => Place::Random,
            _ => Place::Public,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Place::Public => "public",
            Place::Cone => "cone",
            Place::Random => "random",
        }
    }
}

/// The paths a client at `client` may name for a server at `server`, each
/// the start of the path: JS `holepuncher.js`'s choice, as `DIAL_PAIRS`
/// has it. Both behind cone NATs punch consistently (or the server's fast
/// probe gets in first); a consistent client sprays random probes at a
/// random server; a random client opens birthday sockets at a consistent
/// one; a public client is consistent and punches a random server (whose
/// own probes may get in first: "fast"); a public server may claim to be
/// reachable, and then a random client goes straight to it.
pub fn client_paths(client: Place, server: Place) -> &'static [&'static str] {
    match (client, server) {
        (Place::Cone, Place::Cone) => &["punched, fast", "punched, consistent"],
        (Place::Cone, Place::Random) => &["punched, random probes"],
        (Place::Random, Place::Cone) => &["punched, birthday sockets"],
        (Place::Public, Place::Random | Place::Cone) => &["punched, "],
        (_, Place::Public) => &["direct", "punched, "],
        (Place::Random, Place::Random) => &[RELAYED],
    }
}

/// The start of the path of a connection through a blind relay.
pub const RELAYED: &str = "blind relay";

/// The paths the server may name: a punched one when both are behind NATs;
/// with a public client or on a public host it may also be `direct` (the
/// client claimed to be reachable, or came straight to it).
pub fn server_paths(client: Place, server: Place) -> &'static [&'static str] {
    if client == Place::Random && server == Place::Random {
        &[RELAYED]
    } else if client == Place::Public || server == Place::Public {
        &["direct", "punched, "]
    } else {
        &["punched, "]
    }
}

/// Which implementation runs a side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Hychat,
    Js,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Hychat => "hychat",
            Side::Js => "JS",
        }
    }
}

/// One connection to make: who dials from where, who is dialed where, and
/// which of the two writes the message (a JS side only ever writes as the
/// server: a JS writer that only looks up would have to be started before
/// its reader knows its key).
#[derive(Clone, Copy, Debug)]
pub struct Attempt {
    pub client: &'static str,
    pub client_side: Side,
    pub server: &'static str,
    pub server_side: Side,
    pub server_writes: bool,
}

impl Attempt {
    pub const fn new(
        client_side: Side,
        client: &'static str,
        server_side: Side,
        server: &'static str,
        server_writes: bool,
    ) -> Self {
        Attempt {
            client,
            client_side,
            server,
            server_side,
            server_writes,
        }
    }

    /// Where the client and the server are.
    pub fn places(&self) -> (Place, Place) {
        (Place::of(self.client), Place::of(self.server))
    }

    /// "cone -> random", the client first.
    pub fn nats(&self) -> String {
        let (client, server) = self.places();
        format!("{} -> {}", client.name(), server.name())
    }

    /// "hychat on cone1-pc dials hychat on rand2-pc (cone -> random), the
    /// dialed side writes".
    pub fn label(&self) -> String {
        format!(
            "{} on {} dials {} on {} ({}), the {} side writes",
            self.client_side.name(),
            self.client,
            self.server_side.name(),
            self.server,
            self.nats(),
            if self.server_writes {
                "dialed"
            } else {
                "dialing"
            }
        )
    }
}

/// The pairs of hosts every kind of attempt is made between: cone <->
/// cone, cone <-> random, random <-> cone, public <-> random, random <->
/// public and random <-> random (through a blind relay). hychat <->
/// hychat makes each once with the reader dialing and once with the writer
/// dialing, which covers cone -> random, random -> cone, public -> random,
/// random -> public, cone -> cone and random -> random twice each, on
/// different hosts.
pub const PAIRS: [(&str, &str); 6] = [
    (CONE1, CONE2),
    (CONE1, RAND2),
    (RAND1, CONE2),
    (PUB1, RAND2),
    (RAND1, PUB2),
    (RAND1, RAND2),
];

/// hychat <-> hychat: every pair of `PAIRS` (writer, reader), the reader
/// dialing, then the writer dialing.
pub fn hychat_attempts() -> Vec<Attempt> {
    each_pair(|writer, reader| {
        [
            Attempt::new(Side::Hychat, reader, Side::Hychat, writer, true),
            Attempt::new(Side::Hychat, writer, Side::Hychat, reader, false),
        ]
    })
}

/// hychat <-> JS: for every pair of `PAIRS` (the hychat's host first),
/// `hychat tail` dials a JS writer (JS -> hychat), then a JS viewer dials a
/// hychat writer (`send`, then `seed`: hychat -> JS).
pub fn js_attempts() -> Vec<Attempt> {
    each_pair(|hychat, js| {
        [
            Attempt::new(Side::Hychat, hychat, Side::Js, js, true),
            Attempt::new(Side::Js, js, Side::Hychat, hychat, true),
        ]
    })
}

/// The attempts `both` makes of each of `PAIRS`, in order.
fn each_pair(both: impl Fn(&'static str, &'static str) -> [Attempt; 2]) -> Vec<Attempt> {
    PAIRS.iter().flat_map(|&(a, b)| both(a, b)).collect()
}

/// JS <-> JS, the reference: the client and server hosts of every
/// hychat <-> JS attempt, a JS viewer dialing a JS writer.
pub fn js_reference_attempts() -> Vec<Attempt> {
    js_attempts()
        .iter()
        .map(|a| Attempt::new(Side::Js, a.client, Side::Js, a.server, true))
        .collect()
}

/// What a line `connection established peer=.. client=B path=P remote=A`
/// of a hychat log says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Established {
    pub client: bool,
    pub path: String,
    pub remote: String,
}

impl Established {
    /// The IP of the remote address.
    pub fn remote_ip(&self) -> &str {
        self.remote
            .rsplit_once(':')
            .map_or(self.remote.as_str(), |(ip, _)| ip)
    }
}

/// The connection line in `line`, if it is one.
pub fn parse_established(line: &str) -> Option<Established> {
    let (_, fields) = line.split_once("connection established ")?;
    let (_, client) = fields.split_once("client=")?;
    let client = match client.split_whitespace().next()? {
        "true" => true,
        "false" => false,
        _ => return None,
    };
    let (_, path) = fields.split_once(" path=")?;
    let (path, remote) = path.split_once(" remote=")?;
    let remote = remote.split_whitespace().next()?;
    Some(Established {
        client,
        path: path.to_string(),
        remote: remote.to_string(),
    })
}

/// Every connection line of a hychat log.
pub fn established(log: &str) -> Vec<Established> {
    log.lines().filter_map(parse_established).collect()
}

/// What one attempt that connected did.
#[derive(Clone, Debug)]
pub struct Connected {
    /// From starting the client's process to the message at the reader.
    pub took: Duration,
    /// The paths in the hychat logs ("-" for a JS side).
    pub client_path: String,
    pub server_path: String,
    /// Connections a hychat server dialed back while the client's punch
    /// ran (hychat <-> hychat only).
    pub dialed_back: usize,
}

/// What a hychat logs once a topic's record is on the DHT.
const ANNOUNCED: &str = "looked up and announced a topic";

/// How many topics a hychat log says were announced (each `topic=` once).
fn announced_topics(log: &str) -> usize {
    let mut topics: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(ANNOUNCED))
        .filter_map(|l| l.split_once(" topic=")?.1.split_whitespace().next())
        .collect();
    topics.sort_unstable();
    topics.dedup();
    topics.len()
}

/// Polls a hychat's log until it announced `topics` topics (its own log's,
/// and the followed one for a tail), for at most `bound`.
fn wait_announced(storage: &Path, topics: usize, bound: Duration) -> bool {
    wait_for_log(storage, bound, |log| announced_topics(log) >= topics)
}

/// The public address of a lab host: its router's WAN address if it is
/// behind one.
pub fn public_ip(lab: &Lab, host: &str) -> String {
    lab.addr(lab.router_of(host).unwrap_or(host)).to_string()
}

/// One side of an attempt while it runs: a hychat (its peer and process)
/// or a JS process.
struct Running {
    name: String,
    process: Background,
    /// The hychat's storage; `None` for a JS side.
    peer: Option<Peer>,
}

/// What a failed attempt says: its label, its problems and both sides.
fn attempt_failed(a: &Attempt, problems: &[String], client: &Running, server: &Running) -> String {
    format!(
        "{}: {}\n{}\n{}",
        a.label(),
        problems.join("; "),
        client.describe(),
        server.describe()
    )
}

impl Running {
    fn log(&self) -> String {
        self.peer
            .as_ref()
            .map_or_else(String::new, |p| read_log(&p.storage))
    }

    fn describe(&self) -> String {
        match &self.peer {
            Some(peer) => format!(
                "{}\n--- {} ({}) debug log, hychat lines ---\n{}",
                self.process.describe(),
                self.name,
                peer.storage.display(),
                excerpt(&self.log(), 60)
            ),
            None => self.process.describe(),
        }
    }

    /// SIGTERM; a problem unless a hychat left with 0, or a JS process
    /// (which has no handler for it) with 0 or by that signal, within the
    /// grace `terminate` gives.
    fn stop(&mut self) -> Option<String> {
        use std::os::unix::process::ExitStatusExt;
        let status = self.process.terminate();
        let clean = status.is_some_and(|s| {
            s.success() || (self.peer.is_none() && s.signal() == Some(libc::SIGTERM))
        });
        (!clean).then(|| format!("{} did not leave cleanly on SIGTERM: {status:?}", self.name))
    }
}

/// `hychat --log-level debug seed --no-relay` of `peer`, once it says it
/// runs (the relays are the DHT nodes').
fn hychat_seed(scene: &mut Scene, peer: &Peer) -> Result<Background, String> {
    let args = peer.args(&["--log-level", "debug", "seed", "--no-relay"]);
    let mut seed = scene.spawn(peer, "seed", args);
    match seed.wait_for_line(QUICK, |l| l.starts_with("seeding every log")) {
        Some(_) => Ok(seed),
        None => Err(format!(
            "hychat seed on {} did not start\n{}",
            peer.host,
            seed.describe()
        )),
    }
}

/// `hychat --log-level debug tail KEY --json` of `peer`.
fn hychat_tail(scene: &mut Scene, peer: &Peer, key: &str) -> Background {
    let args = peer.args(&["--log-level", "debug", "tail", key, "--json"]);
    scene.spawn(peer, &format!("tail {}", &key[..8]), args)
}

/// Whether a `tail --json` line is the message `text`.
fn tail_shows(line: &str, text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line).is_ok_and(|value| value["text"] == text)
}

/// A JS viewer of `key` on `host` that only looks the topic up, naming
/// the blind relay `relay` when given one.
fn js_client_viewer(
    scene: &mut Scene,
    host: &'static str,
    key: &str,
    bootstrap: &str,
    relay: Option<&str>,
) -> Running {
    let storage = scene.js_storage("viewer");
    let mut args = viewer_args(key, &storage, bootstrap).to_vec();
    args.extend(["--mode".to_string(), "client".to_string()]);
    if let Some(relay) = relay {
        args.extend(["--relay-through".to_string(), relay.to_string()]);
    }
    let name = format!("js viewer (client, on {host})");
    let process = scene.js(host, &name, "viewer.js", &args);
    Running {
        name,
        process,
        peer: None,
    }
}

/// The server side of an attempt, started and announced.
struct Served {
    running: Running,
    /// The log's key and the message in it.
    key: String,
    text: String,
    /// The hychat writer on the client's host, prepared (key, message) but
    /// not started, when the client writes.
    client_writer: Option<Peer>,
}

/// The server side, started and announced, with the writer's message in
/// the log (the server's, or the client's prepared one).
fn start_server(scene: &mut Scene, a: &Attempt, bootstrap: &str) -> Result<Served, String> {
    let text = scene.text(&format!("from {} on {}", a.server_side.name(), a.server));
    match a.server_side {
        Side::Js => {
            let (mut writer, key) = js_writer_in_mode(scene, a.server, bootstrap, QUICK, "server");
            let name = format!("js writer (server, on {})", a.server);
            let key = key.map_err(|e| format!("{e}\n{}", writer.describe()))?;
            writer.write_line(&text);
            if writer
                .wait_for_line(QUICK, |l| l.starts_with("APPENDED 0 "))
                .is_none()
            {
                return Err(format!("the {name} did not append\n{}", writer.describe()));
            }
            let running = Running {
                name,
                process: writer,
                peer: None,
            };
            Ok(Served {
                running,
                key,
                text,
                client_writer: None,
            })
        }
        Side::Hychat => {
            let peer = scene.peer(a.server, "server", bootstrap);
            // The writer's own peer, whichever side it is; a hychat client
            // writer is prepared here too, so its key is known.
            let writer = if a.server_writes {
                peer.clone()
            } else {
                scene.peer(a.client, "client", bootstrap)
            };
            let key = scene.key(&writer);
            let text = if a.server_writes {
                text
            } else {
                scene.text(&format!("from hychat on {}", a.client))
            };
            scene.send(&writer, None, &text);
            let (process, name) = if a.server_writes {
                (
                    hychat_seed(scene, &peer)?,
                    format!("hychat seed (server, on {})", a.server),
                )
            } else {
                (
                    hychat_tail(scene, &peer, &key),
                    format!("hychat tail (server, on {})", a.server),
                )
            };
            let running = Running {
                name,
                process,
                peer: Some(peer.clone()),
            };
            // A seed has its own log's topic; a tail the followed one too.
            let topics = if a.server_writes { 1 } else { 2 };
            if !wait_announced(&peer.storage, topics, QUICK) {
                return Err(format!(
                    "the {} never announced its topic\n{}",
                    running.name,
                    running.describe()
                ));
            }
            Ok(Served {
                running,
                key,
                text,
                client_writer: (!a.server_writes).then_some(writer),
            })
        }
    }
}

/// Runs one attempt: the server side, then the client, then the message
/// at the reader and the connection lines in the hychat logs. `Err` says
/// what went wrong, with every process's output and each hychat's log.
/// Random <-> random goes through a blind relay: a JS client names
/// `relay` (the attempt fails without one), and each hychat's line names
/// the relay as its remote.
pub fn connect(
    scene: &mut Scene,
    a: &Attempt,
    bootstrap: &str,
    relay: Option<&str>,
) -> Result<Connected, String> {
    let lab = scene.lab;
    let Served {
        running: mut server,
        key,
        text,
        client_writer,
    } = start_server(scene, a, bootstrap)?;
    let started = Instant::now();
    let mut client = match (a.client_side, client_writer) {
        (Side::Js, _) => {
            let relayed = a.places() == (Place::Random, Place::Random);
            js_client_viewer(scene, a.client, &key, bootstrap, relay.filter(|_| relayed))
        }
        (Side::Hychat, Some(writer)) => match hychat_seed(scene, &writer) {
            Ok(process) => Running {
                name: format!("hychat seed (client, on {})", a.client),
                process,
                peer: Some(writer),
            },
            Err(e) => return Err(format!("{e}\n{}", server.describe())),
        },
        (Side::Hychat, None) => {
            let peer = scene.peer(a.client, "client", bootstrap);
            Running {
                name: format!("hychat tail (client, on {})", a.client),
                process: hychat_tail(scene, &peer, &key),
                peer: Some(peer),
            }
        }
    };
    // The reader: the server when the client writes.
    let reader = if a.server_writes {
        &mut client
    } else {
        &mut server
    };
    let shows = |line: &str| tail_shows(line, &text) || viewer_shows(line, &text);
    let arrived = reader.process.wait_for_line(ARRIVAL, shows).is_some();
    let took = started.elapsed();
    let mut problems = Vec::new();
    if !arrived {
        problems.push(format!(
            "the {} did not get the message within {ARRIVAL:?}",
            reader.name
        ));
    }
    let (client_place, server_place) = a.places();
    let mut paths = ["-".to_string(), "-".to_string()];
    let mut dialed_back = 0;
    for (i, (side, running, dials, expected, other)) in [
        (
            a.client_side,
            &client,
            true,
            client_paths(client_place, server_place),
            a.server,
        ),
        (
            a.server_side,
            &server,
            false,
            server_paths(client_place, server_place),
            a.client,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(peer) = running.peer.as_ref().filter(|_| side == Side::Hychat) else {
            continue;
        };
        let other_ip = public_ip(lab, other);
        // The line is logged before replication starts: by the time the
        // message arrived it is there (a moment's grace for the file).
        // Through a relay, the remote is the relay.
        let relayed = expected == [RELAYED];
        let intended = |e: &Established| {
            e.client == dials
                && if relayed {
                    e.path.starts_with(RELAYED)
                } else {
                    e.remote_ip() == other_ip
                }
        };
        let bound = if arrived {
            Duration::from_secs(3)
        } else {
            Duration::ZERO
        };
        let line = wait_in_log(&peer.storage, bound, |l| {
            parse_established(l).is_some_and(|e| intended(&e))
        });
        let lines = established(&read_log(&peer.storage));
        if !dials {
            dialed_back = lines.iter().filter(|e| e.client).count();
        }
        let role = if dials { "client" } else { "server" };
        match line.and_then(|l| parse_established(&l)) {
            None => problems.push(format!(
                "the {} logged no `connection established client={dials}` with remote {other_ip} \
                 (its connection lines: {lines:?})",
                running.name
            )),
            Some(e) => {
                if !expected.iter().any(|p| e.path.starts_with(p)) {
                    problems.push(format!(
                        "the {} ({role}) named the path {:?}, not one of {expected:?}",
                        running.name, e.path
                    ));
                }
                paths[i].clone_from(&e.path);
            }
        }
        if let Some(line) = panics(&running.log(), &[running.process.describe()]) {
            problems.push(format!("the {} panicked: `{line}`", running.name));
        }
    }
    problems.extend(client.stop());
    problems.extend(server.stop());
    let [client_path, server_path] = paths;
    if problems.is_empty() {
        Ok(Connected {
            took,
            client_path,
            server_path,
            dialed_back,
        })
    } else {
        Err(attempt_failed(a, &problems, &client, &server))
    }
}

/// Runs `attempts` one after the other, recording each success on the
/// scene and collecting the failures.
fn run_all(
    scene: &mut Scene,
    attempts: &[Attempt],
    (bootstrap, relay): (&str, Option<&str>),
    failures: &mut Vec<String>,
) -> Vec<(Attempt, Result<Connected, String>)> {
    let mut results = Vec::new();
    for a in attempts {
        let result = connect(scene, a, bootstrap, relay);
        match &result {
            Ok(c) => scene.record(
                &format!(
                    "{}: client {}, server {}{}",
                    a.label(),
                    c.client_path,
                    c.server_path,
                    if c.dialed_back > 0 {
                        format!(", {} dialed back", c.dialed_back)
                    } else {
                        String::new()
                    }
                ),
                c.took,
            ),
            Err(e) => {
                eprintln!("[{}] FAILED: {}", a.nats(), a.label());
                failures.push(e.clone());
            }
        }
        results.push((*a, result));
    }
    results
}

/// H7 with the chat itself: on the five hychat nodes, each offering a
/// blind relay, every attempt of `hychat_attempts` connects on the path
/// its NATs call for (random <-> random through a relay) and carries the
/// message within `ARRIVAL`. No node panics.
pub fn hychats_across_nats(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "hychats-across-nats");
    let (nodes, list, _) = hychat_only_dht_with_relays(&mut scene);
    let mut failures = Vec::new();
    run_all(&mut scene, &hychat_attempts(), (&list, None), &mut failures);
    finish_across_nats(
        scene,
        nodes,
        &failures,
        "hychats did not chat across NATs as they should",
    )
}

/// Fails the scene with `what` and every failure if there were any;
/// else stops the DHT, checks that no node panicked, and returns the
/// timings.
fn finish_across_nats(
    scene: Scene,
    nodes: Vec<Background>,
    failures: &[String],
    what: &str,
) -> Vec<Timing> {
    if !failures.is_empty() {
        scene.fail(&format!("{what}:\n{}", failures.join("\n\n")));
    }
    drop(nodes);
    scene.check_nodes_never_panicked();
    scene.finish()
}

/// H1-H6 with the chat itself: on the five hychat nodes, each offering a
/// blind relay, every attempt of `js_attempts` connects and carries the
/// message within `ARRIVAL`; random <-> random through a relay, a hychat
/// client finding one itself and a JS client naming the first node's. No
/// node panics.
pub fn hychat_and_js_across_nats(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "hychat-js-across-nats");
    let (nodes, list, relays) = hychat_only_dht_with_relays(&mut scene);
    let mut failures = Vec::new();
    let relay = relays.first().map(String::as_str);
    run_all(&mut scene, &js_attempts(), (&list, relay), &mut failures);
    finish_across_nats(
        scene,
        nodes,
        &failures,
        "hychat and JS did not chat across NATs as they should",
    )
}

/// For the bench: one DHT of five hychat nodes offering blind relays, and
/// on it every attempt of `hychat_attempts`, `js_attempts` and
/// `js_reference_attempts` (random <-> random through a relay, JS clients
/// naming the first node's). Asserts nothing: every result is returned.
pub fn figures(lab: &Lab) -> Vec<(Attempt, Result<Connected, String>)> {
    let mut scene = Scene::new(lab, "nat-pairs");
    let (nodes, list, relays) = hychat_only_dht_with_relays(&mut scene);
    let relay = relays.first().map(String::as_str);
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    for attempts in [hychat_attempts(), js_attempts(), js_reference_attempts()] {
        rows.extend(run_all(
            &mut scene,
            &attempts,
            (&list, relay),
            &mut failures,
        ));
    }
    drop(nodes);
    rows
}
