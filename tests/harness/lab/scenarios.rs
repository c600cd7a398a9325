//! The scenarios the lab tests assert (`tests/binary/lab.rs`) and the lab
//! bench times (`benches/lab.rs`). Each builds its processes on the lab,
//! fails with a full report, ends with the panic check, and returns its
//! timings (the first is the first message).

use std::thread;
use std::time::{Duration, Instant};

use super::super::bin::{is_key, QUICK};
use super::super::js::viewer_args;
use super::super::process::Background;
use super::super::tmux::{ensure_tmux, Tmux};
use super::hosts::{
    CONE1, CONE1_ROUTER, CONE2, CONE2_ROUTER, DHT, JS_DHT_HOSTS, LAN1, LAN2, LANDHT, PUB1, PUB2,
    RAND1, RAND1_ROUTER, RAND2,
};
use super::scene::{panics, Peer, Scene, Timing, ARRIVAL};
use super::{Block, Lab};

/// Two hychats follow each other: each one's history reaches the other
/// (both tails started after the messages were written), then each one's
/// live message reaches the other's running tail (`send --wait`).
pub fn two_way(scene: &mut Scene, a: &'static str, b: &'static str, bootstrap: &str) {
    let routers: Vec<&str> = [a, b]
        .iter()
        .filter_map(|host| scene.lab.router_of(host))
        .collect();
    let before: Vec<u64> = routers.iter().map(|r| scene.lab.masqueraded(r)).collect();
    let ann = scene.peer(a, "ann", bootstrap);
    let bob = scene.peer(b, "bob", bootstrap);
    let key_ann = scene.key(&ann);
    let key_bob = scene.key(&bob);
    scene.follow(&ann, &key_bob);
    scene.follow(&bob, &key_ann);
    let history_ann = scene.text(&format!("history from ann on {a}"));
    let history_bob = scene.text(&format!("history from bob on {b}"));
    scene.send(&ann, None, &history_ann);
    scene.send(&bob, None, &history_bob);

    let mut tail_on_ann = scene.tail(&ann, &key_bob);
    let mut tail_on_bob = scene.tail(&bob, &key_ann);
    let took = scene.expect_text(&mut tail_on_bob, &history_ann, ARRIVAL);
    scene.record(&format!("history {a} -> {b}"), took);
    let took = scene.expect_text(&mut tail_on_ann, &history_bob, ARRIVAL);
    scene.record(&format!("history {b} -> {a} (after the other)"), took);

    // Live, bob to ann: bob's storage is free once his tail stops.
    tail_on_bob.terminate();
    let live_bob = scene.text(&format!("live from bob on {b}"));
    let started = Instant::now();
    scene.send_and_wait(&bob, None, &live_bob);
    scene.expect_text(&mut tail_on_ann, &live_bob, Duration::from_secs(15));
    scene.record(&format!("live {b} -> {a}"), started.elapsed());

    // Live, ann to bob: bob tails again (ann's history first).
    let mut tail_on_bob = scene.tail(&bob, &key_ann);
    scene.expect_text(&mut tail_on_bob, &history_ann, ARRIVAL);
    tail_on_ann.terminate();
    let live_ann = scene.text(&format!("live from ann on {a}"));
    let started = Instant::now();
    scene.send_and_wait(&ann, None, &live_ann);
    scene.expect_text(&mut tail_on_bob, &live_ann, Duration::from_secs(15));
    scene.record(&format!("live {a} -> {b}"), started.elapsed());
    tail_on_bob.terminate();
    // The messages really crossed each NAT on the way.
    for (router, before) in routers.iter().zip(before) {
        if scene.lab.masqueraded(router) <= before {
            scene.fail(&format!("the NAT of {router} masqueraded nothing"));
        }
    }
}

/// Whether a seed line says it holds `short`'s log complete with at
/// least `blocks` blocks: `HH:MM:SS log SHORT D/L` with D = L >= blocks.
pub fn holds(line: &str, short: &str, blocks: u64) -> bool {
    let Some((_, progress)) = line.split_once(&format!(" log {short} ")) else {
        return false;
    };
    let Some((downloaded, length)) = progress.trim().split_once('/') else {
        return false;
    };
    match (downloaded.parse::<u64>(), length.parse::<u64>()) {
        (Ok(downloaded), Ok(length)) => downloaded == length && length >= blocks,
        _ => false,
    }
}

/// The scene `name`: a hychat bootstrap node on `dht`, and `two_way`
/// between `a` and `b`.
fn two_way_scene(
    lab: &Lab,
    name: &'static str,
    dht: &'static str,
    a: &'static str,
    b: &'static str,
) -> Vec<Timing> {
    let mut scene = Scene::new(lab, name);
    let (node, address) = scene.bootstrap_node(dht);
    two_way(&mut scene, a, b, &address);
    drop(node);
    scene.finish()
}

/// Scenario 1: two hosts on one LAN, a hychat bootstrap node on a third.
pub fn lan(lab: &Lab) -> Vec<Timing> {
    two_way_scene(lab, "lan", LANDHT, LAN1, LAN2)
}

/// Scenario 2a: a public host and a host behind a cone NAT.
pub fn public_and_cone(lab: &Lab) -> Vec<Timing> {
    two_way_scene(lab, "public-cone", DHT, PUB1, CONE1)
}

/// Scenario 2b: two hosts behind two cone NATs.
pub fn cone_and_cone(lab: &Lab) -> Vec<Timing> {
    two_way_scene(lab, "cone-cone", DHT, CONE1, CONE2)
}

/// The check that ends a scenario `name` with cone1 and cone2 blocked from
/// each other: the drop rule must have dropped packets, or the two homes
/// never tried to reach each other. The rule is lifted on return.
fn cone_block_dropped(scene: &Scene, name: &str, block: Block) {
    let dropped = block.dropped();
    eprintln!("[{name}] the drop rule between cone1 and cone2 dropped {dropped} packets");
    if dropped == 0 {
        scene.fail("the drop rule between cone1 and cone2 dropped nothing: the two homes never tried to reach each other, so the scenario did not test what it says");
    }
}

/// Scenario 3: a writer and a reader behind two NATs that cannot reach
/// each other, and a seed on a public host that follows the writer:
/// history, live, and with the writer offline.
pub fn seed_between_blocked_nats(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "seed-relay");
    let (node, address) = scene.bootstrap_node(DHT);
    let block = lab.block(CONE1_ROUTER, CONE2_ROUTER);
    let writer = scene.peer(CONE1, "wendy", &address);
    let reader = scene.peer(CONE2, "rita", &address);
    let seeder = scene.peer(PUB1, "seed", &address);
    let key = scene.key(&writer);
    let short = key[..8].to_string();
    scene.follow(&seeder, &key);
    let history = scene.text("history from wendy behind cone1");
    scene.send(&writer, None, &history);

    let mut seed = scene.seed(&seeder, None);
    let mut writer_online = scene.seed(&writer, None);
    let started = Instant::now();
    scene.expect_line(&mut seed, "that it holds wendy's log", ARRIVAL, |l| {
        holds(l, &short, 1)
    });
    let mut tail = scene.tail(&reader, &key);
    scene.expect_text(&mut tail, &history, ARRIVAL);
    scene.record(
        "history cone1-pc -> seed on pub1 -> cone2-pc",
        started.elapsed(),
    );

    writer_online.terminate();
    let live = scene.text("live from wendy behind cone1");
    let started = Instant::now();
    scene.send_and_wait(&writer, None, &live);
    scene.expect_text(&mut tail, &live, Duration::from_secs(20));
    scene.record("live cone1-pc -> seed -> cone2-pc", started.elapsed());

    tail.terminate();
    let offline = scene.text("sent by wendy before she went offline");
    scene.send_and_wait(&writer, None, &offline);
    // The writer's process has ended: only the seed holds this message.
    let mut tail = scene.tail(&reader, &key);
    let took = scene.expect_text(&mut tail, &offline, ARRIVAL);
    scene.record("writer offline: seed -> cone2-pc", took);
    tail.terminate();
    drop(seed);
    cone_block_dropped(&scene, "seed-relay", block);
    drop(node);
    scene.finish()
}

/// In `room`, `reader`'s `--room` seed meets `writer` and holds its log
/// (one block at least), and `text`, the writer's message, is in the
/// reader's index.
fn room_message_arrives(
    scene: &Scene,
    reader: &Peer,
    reader_seed: &mut Background,
    room: &str,
    (writer, key): (&Peer, &str),
    text: &str,
) {
    let short = &key[..8];
    let met = format!("met {short} in #{room}");
    let nick = &writer.nick;
    scene.expect_all(
        reader_seed,
        ARRIVAL,
        &[
            (&format!("that it met {nick}"), &|l: &str| l.ends_with(&met)),
            (&format!("that it holds {nick}'s log"), &|l: &str| {
                holds(l, short, 1)
            }),
        ],
    );
    scene.expect_in_index(reader, key, text, Some(room), QUICK);
}

/// Scenario 4: a room of three, two members behind NATs that cannot
/// reach each other and a public `--room R seed`; each member's
/// messages reach the other, from before they met and live.
pub fn room_between_blocked_nats(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "room");
    let (node, address) = scene.bootstrap_node(DHT);
    let block = lab.block(CONE1_ROUTER, CONE2_ROUTER);
    let room = format!("lab-room-{}", std::process::id());
    let room = room.as_str();
    let mia = scene.peer(CONE1, "mia", &address);
    let max = scene.peer(CONE2, "max", &address);
    let host = scene.peer(PUB1, "host", &address);
    let key_mia = scene.key(&mia);
    let key_max = scene.key(&max);
    let short_mia = key_mia[..8].to_string();
    let from_mia = scene.text("mia writes in the room from behind cone1");
    let from_max = scene.text("max writes in the room from behind cone2");
    scene.send(&mia, Some(room), &from_mia);
    scene.send(&max, Some(room), &from_max);

    let host_seed = scene.seed(&host, Some(room));
    let started = Instant::now();
    let mut mia_seed = scene.seed(&mia, Some(room));
    let mut max_seed = scene.seed(&max, Some(room));
    room_message_arrives(
        &scene,
        &max,
        &mut max_seed,
        room,
        (&mia, &key_mia),
        &from_mia,
    );
    scene.record(
        "room: cone1-pc's message reaches cone2-pc",
        started.elapsed(),
    );
    room_message_arrives(
        &scene,
        &mia,
        &mut mia_seed,
        room,
        (&max, &key_max),
        &from_max,
    );
    scene.record(
        "room: cone2-pc's message reaches cone1-pc",
        started.elapsed(),
    );

    // Live: max is online while mia writes.
    mia_seed.terminate();
    let live = scene.text("mia writes live in the room");
    let started = Instant::now();
    scene.send_and_wait(&mia, Some(room), &live);
    scene.expect_line(
        &mut max_seed,
        "that it holds mia's live message",
        ARRIVAL,
        |l| holds(l, &short_mia, 2),
    );
    scene.expect_in_index(&max, &key_mia, &live, Some(room), QUICK);
    scene.record("room live: cone1-pc -> cone2-pc", started.elapsed());
    drop(max_seed);
    drop(host_seed);
    cone_block_dropped(&scene, "room", block);
    drop(node);
    scene.finish()
}

/// A JS writer on `host` (hypercore 10, both sides of its topic):
/// started, its key read, and joined to its topic, each within `bound`.
/// `Err` says which step did not happen.
pub fn js_writer(
    scene: &mut Scene,
    host: &'static str,
    bootstrap: &str,
    bound: Duration,
) -> (Background, Result<String, String>) {
    js_writer_in_mode(scene, host, bootstrap, bound, "both")
}

/// The same, joined to its topic as `mode` says: `both`, `server` (it
/// only announces, so it never dials) or `client` (it only looks up).
pub fn js_writer_in_mode(
    scene: &mut Scene,
    host: &'static str,
    bootstrap: &str,
    bound: Duration,
    mode: &str,
) -> (Background, Result<String, String>) {
    let storage = scene.js_storage("writer");
    let args = [
        "--storage".to_string(),
        storage.to_str().expect("a UTF-8 temp path").to_string(),
        "--bootstrap".to_string(),
        bootstrap.to_string(),
        "--mode".to_string(),
        mode.to_string(),
    ];
    let name = format!("js writer (on {host})");
    let mut writer = scene.js(host, &name, "writer.js", &args);
    let key = writer
        .wait_for_line(bound, |l| l.starts_with("KEY ") || l.starts_with("FATAL"))
        .and_then(|l| l.strip_prefix("KEY ").map(str::to_string));
    let Some(key) = key.filter(|k| is_key(k)) else {
        return (
            writer,
            Err(format!("the JS writer on {host} printed no key")),
        );
    };
    let joined = writer.wait_for_line(bound, |l| l == "JOINED" || l.starts_with("FATAL"));
    if joined.as_deref() != Some("JOINED") {
        return (
            writer,
            Err(format!(
                "the JS writer on {host} did not join its topic within {bound:?}"
            )),
        );
    }
    (writer, Ok(key))
}

/// A JS viewer of `key` on `host`.
pub fn js_viewer(scene: &mut Scene, host: &'static str, key: &str, bootstrap: &str) -> Background {
    let storage = scene.js_storage("viewer");
    let args = viewer_args(key, &storage, bootstrap);
    let name = format!("js viewer (on {host})");
    scene.js(host, &name, "viewer.js", &args)
}

/// Whether a viewer line is the block with `text`.
pub fn viewer_shows(line: &str, text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line)
        .is_ok_and(|value| value["block"]["text"] == text)
}

/// A fresh JS writer on `writer_host` and a fresh JS viewer on
/// `viewer_host`, both bootstrapping from `bootstrap`: the writer appends
/// one message and the viewer prints it, within `bound` each. Both
/// processes stop on return (new DHT instances for every pair, so JS's
/// throttle of random punches never applies). `Err` says which step did
/// not happen.
pub fn js_pair(
    scene: &mut Scene,
    writer_host: &'static str,
    viewer_host: &'static str,
    bootstrap: &str,
    bound: Duration,
) -> Result<Duration, String> {
    let (mut writer, key) = js_writer(scene, writer_host, bootstrap, bound);
    let key = key.map_err(|e| format!("{e}\n{}", writer.describe()))?;
    let mut viewer = js_viewer(scene, viewer_host, &key, bootstrap);
    let text = scene.text(&format!("from the JS writer on {writer_host}"));
    let started = Instant::now();
    writer.write_line(&text);
    if writer
        .wait_for_line(bound, |l| l.starts_with("APPENDED 0 "))
        .is_none()
    {
        return Err(format!("the JS writer on {writer_host} did not append"));
    }
    match viewer.wait_for_line(bound, |l| viewer_shows(l, &text)) {
        Some(_) => Ok(started.elapsed()),
        None => Err(format!(
            "the JS viewer on {viewer_host} did not get the message of the JS writer on \
             {writer_host} within {bound:?}\n{}\n{}",
            writer.describe(),
            viewer.describe()
        )),
    }
}

/// Two hychats on public hosts meet through `bootstrap` alone: ann's
/// history reaches bob's tail. Returns how long that took.
pub fn hychats_meet(scene: &mut Scene, bootstrap: &str) -> Duration {
    let ann = scene.peer(PUB1, "ann", bootstrap);
    let bob = scene.peer(PUB2, "bob", bootstrap);
    let key = scene.key(&ann);
    let text = scene.text("ann on pub1, through the hychat node");
    scene.send(&ann, None, &text);
    let seed = scene.seed(&ann, None);
    let mut tail = scene.tail(&bob, &key);
    let took = scene.expect_text(&mut tail, &text, ARRIVAL);
    drop(tail);
    drop(seed);
    took
}

/// Scenario 5: JS peers behind two NATs meet on a DHT of a hychat
/// bootstrap node and three JS DHT nodes; then two hychats meet through
/// the hychat node alone.
pub fn js_on_a_mixed_dht(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "js-mixed-dht");
    let (node, address) = scene.bootstrap_node(DHT);
    let js_nodes: Vec<Background> = JS_DHT_HOSTS
        .iter()
        .map(|host| scene.js_dht_node(host, &address))
        .collect();
    let mut list = vec![address.clone()];
    list.extend(JS_DHT_HOSTS.iter().map(|host| lab.dht_addr(host)));
    let list = list.join(",");
    match js_pair(&mut scene, CONE1, CONE2, &list, ARRIVAL) {
        Ok(took) => scene.record("JS cone1-pc -> JS cone2-pc", took),
        Err(e) => scene.fail(&e),
    }
    let took = hychats_meet(&mut scene, &address);
    scene.record("then hychat pub1 -> pub2 through the hychat node", took);
    drop(js_nodes);
    drop(node);
    scene.finish()
}

/// Five hychat bootstrap nodes on five public hosts, each joined to the
/// others: the nodes (stopped on drop) and the bootstrap list naming all.
pub fn hychat_only_dht(scene: &mut Scene) -> (Vec<Background>, String) {
    let (nodes, list, _) = five_hychat_nodes(scene, false);
    (nodes, list)
}

/// `hychat_only_dht`, each node offering a blind relay, as bootstrap
/// nodes do by default: also the relays' keys.
pub fn hychat_only_dht_with_relays(scene: &mut Scene) -> (Vec<Background>, String, Vec<String>) {
    five_hychat_nodes(scene, true)
}

fn five_hychat_nodes(scene: &mut Scene, relays: bool) -> (Vec<Background>, String, Vec<String>) {
    let hosts = [DHT, JS_DHT_HOSTS[0], JS_DHT_HOSTS[1], JS_DHT_HOSTS[2], PUB2];
    let all: Vec<String> = hosts.iter().map(|host| scene.lab.dht_addr(host)).collect();
    let mut keys = Vec::new();
    let nodes = hosts
        .iter()
        .map(|host| {
            let own = scene.lab.dht_addr(host);
            let others: Vec<String> = all.iter().filter(|a| **a != own).cloned().collect();
            if relays {
                let (node, _, key) = scene.relaying_bootstrap_node(host, &others);
                keys.push(key);
                node
            } else {
                scene.bootstrap_node_joining(host, &others).0
            }
        })
        .collect();
    (nodes, all.join(","), keys)
}

/// Scenario 5, all hychat (H8): five hychat bootstrap nodes on five
/// public hosts, each joined to the others, are the only DHT of JS peers
/// behind NATs. Fresh JS pairs connect through them cone <-> cone,
/// cone <-> random and random <-> cone (the JS peers classify their NAT
/// from the nodes' answers and relay handshakes and holepunch rounds
/// through them); then two hychats meet through the same nodes, and
/// hychats behind NATs put and get mutable and immutable records on them
/// (`records`). No node may panic, not even one it recovers from.
pub fn js_on_a_hychat_only_dht(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "js-hychat-only-dht");
    let (nodes, list) = hychat_only_dht(&mut scene);
    let pairs = [
        (CONE1, CONE2, "cone -> cone"),
        (CONE1, RAND1, "cone -> random"),
        (RAND1, CONE2, "random -> cone"),
    ];
    let mut failures = Vec::new();
    for (writer, viewer, nats) in pairs {
        let started = Instant::now();
        match js_pair(&mut scene, writer, viewer, &list, ARRIVAL) {
            Ok(took) => scene.record(&format!("JS {writer} -> JS {viewer} ({nats})"), took),
            Err(e) => {
                eprintln!(
                    "[js-hychat-only-dht] {nats} failed after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                failures.push(format!("{nats}: {e}"));
            }
        }
    }
    if !failures.is_empty() {
        scene.fail(&format!(
            "JS pairs did not connect through five hychat nodes:\n{}",
            failures.join("\n\n")
        ));
    }
    let took = hychats_meet(&mut scene, &list);
    scene.record("then hychat pub1 -> pub2 through the hychat nodes", took);
    let took = super::records::records_across_nats(&mut scene, &list);
    scene.record("records put behind NATs, got behind others", took);
    drop(nodes);
    scene.check_nodes_never_panicked();
    scene.finish()
}

/// What `hychat seed` says about the network on hosts in each kind of
/// place, and about each connection's route: a public host (no NAT,
/// reachable), a host behind a port-preserving NAT, one behind a NAT
/// with a new port per destination (told apart with two DHT nodes), and
/// two hosts on one LAN. Each host's facts come from DHT nodes on other
/// hosts, so a report computed on one machine could not pass. The seeds
/// run as they do by default, offering a blind relay once reachable: those
/// on the public host and the LAN say so, those behind NATs must not.
pub fn network_report(lab: &Lab) -> Vec<Timing> {
    /// What a report line says of the blind relay a seed offers.
    const RELAY: &str = "blind relay ";
    let mut scene = Scene::new(lab, "network-report");
    let (node, first) = scene.bootstrap_node(DHT);
    let (second_node, second) = scene.bootstrap_node(PUB2);
    let (lan_node, lan_address) = scene.bootstrap_node(LANDHT);
    let both = format!("{first},{second}");
    let public = scene.peer(PUB1, "pat", &both);
    let cone = scene.peer(CONE1, "cody", &both);
    let random = scene.peer(RAND1, "rae", &both);
    let lan_a = scene.peer(LAN1, "lea", &lan_address);
    let lan_b = scene.peer(LAN2, "leo", &lan_address);
    let key_public = scene.key(&public);
    let key_cone = scene.key(&cone);
    let key_lan_a = scene.key(&lan_a);
    let key_lan_b = scene.key(&lan_b);
    scene.follow(&public, &key_cone);
    scene.follow(&cone, &key_public);
    scene.follow(&lan_a, &key_lan_b);
    scene.follow(&lan_b, &key_lan_a);
    let started = Instant::now();
    let mut seeds: Vec<Background> = [&public, &cone, &random, &lan_a, &lan_b]
        .into_iter()
        .map(|peer| scene.seed_with(peer, None, true))
        .collect();
    let public_ip = lab.addr(PUB1).to_string();
    let cone_ip = lab.addr(CONE1_ROUTER).to_string();
    let random_ip = lab.addr(RAND1_ROUTER).to_string();
    let report = |line: &str, facts: &[&str], not: &[&str]| {
        line.contains(" network local ")
            && facts.iter().all(|f| line.contains(f))
            && !not.iter().any(|f| line.contains(f))
    };
    let public_public = format!("public {public_ip}");
    let cone_public = format!("public {cone_ip}");
    let random_public = format!("public {random_ip}");
    let lan_a_public = format!("public {}", lab.addr(LAN1));
    let checks: [(&str, usize, Vec<&str>, Vec<&str>); 5] = [
        (
            "public host",
            0,
            vec![&public_public, "no NAT", "reachable from outside", RELAY],
            vec!["not reachable"],
        ),
        (
            "cone NAT",
            1,
            vec![
                &cone_public,
                "port-preserving NAT",
                "not reachable from outside",
            ],
            vec![RELAY],
        ),
        (
            "random NAT",
            2,
            vec![
                &random_public,
                "NAT with a new port per destination",
                "not reachable from outside",
            ],
            vec![RELAY],
        ),
        (
            "LAN host",
            3,
            vec![&lan_a_public, "no NAT", "reachable from outside", RELAY],
            vec!["not reachable"],
        ),
        ("other LAN host", 4, vec!["no NAT"], vec!["not reachable"]),
    ];
    for (place, index, facts, not) in &checks {
        let seen = seeds[*index].wait_for_line(ARRIVAL, |l| report(l, facts, not));
        if seen.is_none() {
            scene.fail(&format!(
                "the {place}'s seed never reported {facts:?} (without {not:?})"
            ));
        }
    }
    scene.record("every host knows where it is", started.elapsed());
    // Each connection says where its peer is, and whose log it carries.
    let short = |key: &str| key[..8].to_string();
    let routes: [(usize, String, String); 4] = [
        (0, short(&key_cone), format!("via internet, {cone_ip}")),
        (1, short(&key_public), format!("via internet, {public_ip}:")),
        (
            3,
            short(&key_lan_b),
            format!("via LAN, {}:", lab.addr(LAN2)),
        ),
        (
            4,
            short(&key_lan_a),
            format!("via LAN, {}:", lab.addr(LAN1)),
        ),
    ];
    for (index, log, route) in &routes {
        // The peer's own log, not marked relayed (nor is ours, which it
        // holds because it follows us).
        let relayed = format!("{log} (relayed)");
        let seen = seeds[*index].wait_for_line(ARRIVAL, |l| {
            l.contains(" replicates [")
                && l.contains(log.as_str())
                && !l.contains(&relayed)
                && !l.contains("(relayed)")
                && l.contains(route.as_str())
        });
        if seen.is_none() {
            scene.fail(&format!(
                "seed {index} never showed the peer writing {log} with its route '{route}'"
            ));
        }
    }
    scene.record("every connection knows its route", started.elapsed());
    seeds.clear();
    drop((node, second_node, lan_node));
    scene.finish()
}

/// The full-screen chat on a host behind a port-preserving NAT, in a
/// real terminal (tmux): its network pane (F2) shows the public address
/// and NAT the DHT nodes report and a connection to a public host over
/// the internet, and a message typed there reaches a reader on another
/// public host.
pub fn tui_behind_a_nat(lab: &Lab) -> Vec<Timing> {
    ensure_tmux();
    let mut scene = Scene::new(lab, "tui-behind-a-nat");
    let (node, address) = scene.bootstrap_node(DHT);
    let (second_node, second) = scene.bootstrap_node(PUB2);
    let both = format!("{address},{second}");
    let chat = scene.peer(CONE1, "tess", &both);
    let public = scene.peer(PUB1, "pat", &both);
    let reader = scene.peer(PUB2, "rob", &both);
    let key_chat = scene.key(&chat);
    let key_public = scene.key(&public);
    scene.follow(&chat, &key_public);
    scene.follow(&public, &key_chat);
    let seed = scene.seed(&public, None);
    let mut tmux = Tmux::new();
    let script = format!(
        "{}; echo EXITED:$?; sleep 600",
        lab.shell_line(CONE1, &chat.args(&[]))
    );
    tmux.new_session("tess", 120, 36, &script);
    let started = Instant::now();
    let cone_ip = lab.addr(CONE1_ROUTER).to_string();
    let public_ip = lab.addr(PUB1).to_string();
    let fail = |scene: &Scene, tmux: &Tmux, what: &str| -> ! {
        scene.fail(&format!(
            "{what}\n===== the chat =====\n{}",
            tmux.try_capture("tess")
        ))
    };
    let wait = |tmux: &Tmux, accept: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + ARRIVAL;
        while Instant::now() < deadline {
            if accept(&tmux.capture("tess")) {
                return true;
            }
            thread::sleep(Duration::from_millis(200));
        }
        false
    };
    let status_facts = format!("public {cone_ip}");
    if !wait(&tmux, &|screen| {
        screen.contains(&status_facts) && screen.contains("port-preserving NAT")
    }) {
        fail(
            &scene,
            &tmux,
            "the status bar never showed the public address and the NAT",
        );
    }
    scene.record("the status bar knows the NAT", started.elapsed());
    tmux.run(&["send-keys", "-t", "tess", "F2"]);
    let route = format!("internet · {public_ip}:");
    let public_address = format!("{cone_ip} (as DHT nodes see it)");
    if !wait(&tmux, &|screen| {
        screen.contains("port-preserving NAT: peers behind")
            && screen.contains(&public_address)
            && screen.contains("no (a NAT or firewall drops unsolicited traffic)")
            && screen.contains(&route)
    }) {
        fail(&scene, &tmux, "the network pane never showed the NAT, the public address and the route to the public host");
    }
    scene.record("the network pane shows the route", started.elapsed());
    tmux.run(&["send-keys", "-t", "tess", "Escape"]);
    let text = scene.text("typed in the chat behind a NAT");
    tmux.type_line("tess", &text);
    let mut tail = scene.tail(&reader, &key_chat);
    let took = scene.expect_text(&mut tail, &text, ARRIVAL);
    scene.record("typed message -> a reader on a public host", took);
    tmux.type_line("tess", "/quit");
    if !wait(&tmux, &|screen| screen.contains("EXITED:0")) {
        fail(&scene, &tmux, "the chat did not quit cleanly");
    }
    drop((tail, seed, node, second_node));
    scene.finish()
}

/// One pair of the "hychat dials JS" matrix: `hychat dial` on `dialer`
/// reaches the log that a fresh JS writer on `writer` serves.
#[derive(Clone, Copy, Debug)]
pub struct DialPair {
    pub dialer: &'static str,
    pub writer: &'static str,
    /// Where each side is, the dialer first, and the way through.
    pub what: &'static str,
    /// The paths the dial may name, each the start of the path it prints.
    pub paths: &'static [&'static str],
}

impl DialPair {
    pub fn label(&self) -> String {
        format!("{} <- {} ({})", self.dialer, self.writer, self.what)
    }
}

/// The pairs hychat must reach, with the paths their NAT verdicts call for
/// (JS `holepuncher.js`): cone <-> cone punches consistently (or the JS
/// server's fast-mode probe gets in first); a consistent client sprays
/// random probes at a random server; a random client opens birthday
/// sockets towards a consistent server. A public client is consistent, and
/// the random server's own birthday probes may reach it before its probes
/// start (then it says "fast"). The JS server on a public host may find
/// itself reachable and claim OPEN: then, and only then, "direct" is right.
pub const DIAL_PAIRS: [DialPair; 5] = [
    DialPair {
        dialer: CONE1,
        writer: CONE2,
        what: "cone <- cone, consistent",
        paths: &["punched, fast", "punched, consistent"],
    },
    DialPair {
        dialer: CONE1,
        writer: RAND2,
        what: "cone <- random, random probes",
        paths: &["punched, random probes"],
    },
    DialPair {
        dialer: RAND1,
        writer: CONE2,
        what: "random <- cone, birthday sockets",
        paths: &["punched, birthday sockets"],
    },
    DialPair {
        dialer: PUB1,
        writer: RAND2,
        what: "public <- random, punched",
        paths: &["punched, "],
    },
    DialPair {
        dialer: RAND1,
        writer: PUB2,
        what: "random <- public, direct or punched",
        paths: &["direct", "punched, "],
    },
];

/// The pair that cannot punch: both behind NATs with a new port per
/// destination.
pub const DIAL_REFUSED: DialPair = DialPair {
    dialer: RAND1,
    writer: RAND2,
    what: "random <- random, refused",
    paths: &[],
};

/// What `hychat dial` says when both NATs are random.
pub const CANNOT_PUNCH: &str =
    "both peers are behind NATs that pick a new port per destination; they cannot punch";
/// How long the refusal may take.
pub const REFUSAL: Duration = Duration::from_secs(20);
/// How long a dial may run on after printing its result.
const DIAL_EXIT: Duration = Duration::from_secs(5);

/// What one `hychat dial` did.
#[derive(Clone, Debug)]
pub struct Dialed {
    /// From the start of the process to its result line (or its exit).
    pub took: Duration,
    /// The path it named ("punched, consistent", ...).
    pub path: String,
    /// Its own figures: connected, and first message, after (ms).
    pub connect_ms: u64,
    pub first_message_ms: u64,
}

/// The parts of `reached ADDR (PATH) through RELAY: connected in N ms,
/// first message after M ms`: the path and both figures.
pub fn parse_reached(line: &str) -> Option<(String, u64, u64)> {
    let rest = line.strip_prefix("reached ")?;
    let (_, rest) = rest.split_once(" (")?;
    let (path, rest) = rest.split_once(") through ")?;
    let (_, figures) = rest.split_once(": connected in ")?;
    let (connect, rest) = figures.split_once(" ms, first message after ")?;
    let first = rest.strip_suffix(" ms")?;
    Some((path.to_string(), connect.parse().ok()?, first.parse().ok()?))
}

/// One finished `hychat dial`: what it printed and what it left behind.
struct DialRun {
    took: Duration,
    reached: Option<String>,
    /// `None`: it was still running `DIAL_EXIT` after its result, and killed.
    status: Option<std::process::ExitStatus>,
    output: String,
    log: String,
    /// UDP sockets still open on its host after it exited.
    leftovers: Vec<String>,
}

impl DialRun {
    /// The checks every dial must pass, whatever its result: it left by
    /// itself, released its sockets and never panicked.
    fn problems(&self, host: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if self.status.is_none() {
            problems.push(format!(
                "it was still running {DIAL_EXIT:?} after its result and had to be killed"
            ));
        }
        if !self.leftovers.is_empty() {
            problems.push(format!(
                "after it exited, {host} still had UDP sockets open:\n{}",
                self.leftovers.join("\n")
            ));
        }
        if let Some(line) = panics(&self.log, std::slice::from_ref(&self.output)) {
            problems.push(format!("it panicked: `{line}`"));
        }
        problems
    }

    fn describe(&self) -> String {
        format!(
            "exit status {:?} after {:.1} s\n{}\n--- its log (debug) ---\n{}",
            self.status,
            self.took.as_secs_f64(),
            self.output,
            log_excerpt(&self.log)
        )
    }
}

/// The hychat lines of a debug log, at most the last 80.
fn log_excerpt(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("hychat")).collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

/// `hychat --log-level debug dial KEY --timeout 60` on `host` (a fresh
/// process, its own storage), waited for until it printed its result or
/// exited (at most `ARRIVAL` and some), then until it exited.
fn dial(scene: &mut Scene, host: &'static str, key: &str, bootstrap: &str) -> DialRun {
    let peer = scene.peer(host, "dialer", bootstrap);
    let timeout = ARRIVAL.as_secs().to_string();
    let args = peer.args(&["--log-level", "debug", "dial", key, "--timeout", &timeout]);
    let started = Instant::now();
    let mut process = scene.spawn(&peer, "dial", args);
    let reached = process.wait_for_line(ARRIVAL + DIAL_EXIT, |l| l.starts_with("reached "));
    let took = started.elapsed();
    let status = process.wait_exit(DIAL_EXIT);
    if status.is_none() {
        process.terminate();
    }
    let output = process.describe();
    let leftovers = scene.lab.udp_sockets(host);
    let log = std::fs::read_to_string(peer.storage.join("hychat.log")).unwrap_or_default();
    DialRun {
        took,
        reached,
        status,
        output,
        log,
        leftovers,
    }
}

/// A fresh JS writer on the pair's writer host, and `hychat dial` of its
/// log on the dialer host: the dial must exit 0 within `ARRIVAL`, having
/// reached the writer on one of the pair's paths, left by itself, released
/// its sockets and never panicked. `Err` says what went wrong, with both
/// processes' output and the dial's log.
pub fn dial_pair(scene: &mut Scene, pair: &DialPair, bootstrap: &str) -> Result<Dialed, String> {
    let (mut writer, key) = js_writer(scene, pair.writer, bootstrap, ARRIVAL);
    let key = key.map_err(|e| format!("{e}\n{}", writer.describe()))?;
    let run = dial(scene, pair.dialer, &key, bootstrap);
    writer.terminate();
    let mut problems = run.problems(pair.dialer);
    let mut dialed = None;
    match run.reached.as_deref().map(|l| (l, parse_reached(l))) {
        None => problems.push("it printed no `reached` line".to_string()),
        Some((line, None)) => problems.push(format!("its result line does not parse: {line:?}")),
        Some((_, Some((path, connect_ms, first_message_ms)))) => {
            if !pair.paths.iter().any(|p| path.starts_with(p)) {
                problems.push(format!(
                    "it named the path {path:?}, not one of {:?}",
                    pair.paths
                ));
            }
            dialed = Some(Dialed {
                took: run.took,
                path,
                connect_ms,
                first_message_ms,
            });
        }
    }
    if !run.status.is_some_and(|s| s.success()) {
        problems.push("it did not exit with 0".to_string());
    }
    if run.took > ARRIVAL {
        problems.push(format!("it took {:.1} s", run.took.as_secs_f64()));
    }
    match dialed {
        Some(dialed) if problems.is_empty() => Ok(dialed),
        _ => Err(format!(
            "`hychat dial` on {} of the JS writer on {}: {}\n{}\n{}",
            pair.dialer,
            pair.writer,
            problems.join("; "),
            run.describe(),
            writer.describe()
        )),
    }
}

/// A fresh JS writer behind one random NAT and `hychat dial` of its log
/// behind the other: the dial must refuse cleanly, exiting 1 with the
/// "cannot punch" sentence within `REFUSAL`, without a panic, and release
/// its sockets. Returns how long it took.
pub fn dial_refused(scene: &mut Scene, bootstrap: &str) -> Result<Duration, String> {
    let pair = DIAL_REFUSED;
    let (mut writer, key) = js_writer(scene, pair.writer, bootstrap, ARRIVAL);
    let key = key.map_err(|e| format!("{e}\n{}", writer.describe()))?;
    let run = dial(scene, pair.dialer, &key, bootstrap);
    writer.terminate();
    let mut problems = run.problems(pair.dialer);
    if run.reached.is_some() {
        problems.push("it reached the writer, which no punch can do".to_string());
    }
    if run.status.and_then(|s| s.code()) != Some(1) {
        problems.push("it did not exit with 1".to_string());
    }
    let sentence = "could not reach a peer of this log: ";
    if !run.output.contains(sentence) || !run.output.contains(CANNOT_PUNCH) {
        problems.push(format!("it did not say {sentence:?} with {CANNOT_PUNCH:?}"));
    }
    if run.took >= REFUSAL {
        problems.push(format!(
            "it took {:.1} s to give up, not under {REFUSAL:?}",
            run.took.as_secs_f64()
        ));
    }
    if problems.is_empty() {
        Ok(run.took)
    } else {
        Err(format!(
            "`hychat dial` on {} of the JS writer on {}: {}\n{}\n{}",
            pair.dialer,
            pair.writer,
            problems.join("; "),
            run.describe(),
            writer.describe()
        ))
    }
}

/// Scenario 6 (H1-H6, hychat dials): on the five hychat nodes of
/// `hychat_only_dht`, `hychat dial` reaches a fresh JS writer for each of
/// `DIAL_PAIRS` (fresh processes on both sides each time, so no throttle of
/// random punches applies), on the path the NATs call for, within 60 s;
/// then refuses the random <-> random pair cleanly and quickly. No node
/// may panic. Every pair runs; the failures are reported together.
pub fn hychat_dials_js_across_nats(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "hychat-dials-js");
    let (nodes, list) = hychat_only_dht(&mut scene);
    let mut failures = Vec::new();
    for pair in DIAL_PAIRS {
        match dial_pair(&mut scene, &pair, &list) {
            Ok(dialed) => scene.record(
                &format!(
                    "hychat dial {}: {}, connected after {} ms, first message after {} ms",
                    pair.label(),
                    dialed.path,
                    dialed.connect_ms,
                    dialed.first_message_ms
                ),
                dialed.took,
            ),
            Err(e) => {
                eprintln!("[hychat-dials-js] {} failed", pair.label());
                failures.push(format!("{}: {e}", pair.label()));
            }
        }
    }
    match dial_refused(&mut scene, &list) {
        Ok(took) => scene.record(&format!("hychat dial {}", DIAL_REFUSED.label()), took),
        Err(e) => failures.push(format!("{}: {e}", DIAL_REFUSED.label())),
    }
    if !failures.is_empty() {
        scene.fail(&format!(
            "hychat did not dial JS writers as it should:\n{}",
            failures.join("\n\n")
        ));
    }
    drop(nodes);
    scene.check_nodes_never_panicked();
    scene.finish()
}

/// One pair's figures for the bench: `hychat dial` and a JS viewer on the
/// same host reaching a JS writer on the same other host, on one DHT, once
/// per run.
pub struct PairFigures {
    pub pair: DialPair,
    pub dials: Vec<Result<Dialed, String>>,
    /// Empty for the refused pair, which JS refuses too.
    pub js: Vec<Result<Duration, String>>,
}

/// For the bench: on one DHT of five hychat nodes, each of `DIAL_PAIRS` is
/// dialed by hychat (`dial_pair`) and then connected by a JS pair
/// (`js_pair`, the viewer on the dialer's host: from starting the viewer
/// to the writer's message on it), `runs` times, fresh processes each (the
/// random strategies' times are luck: one run says little); then the
/// refused pair, dialed by hychat alone, `runs` times. Asserts nothing.
pub fn hychat_dial_and_js_figures(lab: &Lab, runs: usize) -> Vec<PairFigures> {
    let mut scene = Scene::new(lab, "dial-vs-js");
    let (nodes, list) = hychat_only_dht(&mut scene);
    let mut rows = Vec::new();
    for pair in DIAL_PAIRS {
        let mut row = PairFigures {
            pair,
            dials: Vec::new(),
            js: Vec::new(),
        };
        for _ in 0..runs {
            row.dials.push(dial_pair(&mut scene, &pair, &list));
            row.js.push(js_pair(
                &mut scene,
                pair.writer,
                pair.dialer,
                &list,
                ARRIVAL,
            ));
        }
        rows.push(row);
    }
    let mut refused = PairFigures {
        pair: DIAL_REFUSED,
        dials: Vec::new(),
        js: Vec::new(),
    };
    for _ in 0..runs {
        refused
            .dials
            .push(dial_refused(&mut scene, &list).map(|took| Dialed {
                took,
                path: "refused".to_string(),
                connect_ms: 0,
                first_message_ms: 0,
            }));
    }
    rows.push(refused);
    drop(nodes);
    rows
}
