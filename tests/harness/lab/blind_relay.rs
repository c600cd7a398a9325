//! A blind relay that dies mid-stream. On the five hychat DHT nodes
//! (offering no relay), one more `hychat bootstrap` on `PUB1` offers the
//! only relay. A writer's `seed` behind `RAND1` and a reader's `tail`
//! behind `RAND2` (two NATs no punch can join) meet through it: the
//! message arrives, both logs name the relay's path, and the seed's line
//! for the peer says `through blind relay`. Then the relay is killed
//! (SIGKILL, as if its host lost power): both sides' connections close
//! within `CLOSE`, the reader's next dials fail with a sentence naming the
//! blind relay, nobody panics, and both leave on SIGTERM with 0.

use std::time::{Duration, Instant};

use super::hosts::{PUB1, RAND1, RAND2};
use super::logs::{excerpt, read_log, wait_in_log};
use super::nat_pairs::{established, RELAYED};
use super::scenarios::hychat_only_dht;
use super::scene::{panics, Scene, Timing, ARRIVAL};
use super::Lab;

/// Both sides notice a dead path within this: hychat closes a connection
/// silent for 20 s (`hychat/ping`), and the UDX stream's own timers may be
/// first.
pub const CLOSE: Duration = Duration::from_secs(40);
/// The reader's redials through the dead relay fail within this.
const REDIAL_FAILS: Duration = Duration::from_secs(60);

/// What a hychat logs when a connection ends.
const CLOSED: &str = "connection closed";

pub fn relay_dies_mid_stream(lab: &Lab) -> Vec<Timing> {
    let mut scene = Scene::new(lab, "relay-dies");
    let (nodes, list) = hychat_only_dht(&mut scene);
    let others: Vec<String> = list.split(',').map(str::to_string).collect();
    let (mut relay, _, relay_key) = scene.relaying_bootstrap_node(PUB1, &others);
    let short = &relay_key[..8];

    let writer = scene.peer(RAND1, "wendy", &list);
    let reader = scene.peer(RAND2, "rita", &list);
    let key = scene.key(&writer);
    let text = scene.text("wendy behind rand1, through the relay on pub1");
    scene.send(&writer, None, &text);
    let mut seed = scene.spawn(
        &writer,
        "seed",
        writer.args(&["--log-level", "debug", "seed", "--no-relay"]),
    );
    let mut tail = scene.spawn(
        &reader,
        "tail",
        reader.args(&["--log-level", "debug", "tail", &key, "--json"]),
    );
    let took = scene.expect_text(&mut tail, &text, ARRIVAL);
    scene.record("rand1-pc -> rand2-pc through the blind relay on pub1", took);
    let mut problems = Vec::new();
    let through = format!("{RELAYED} {short}");
    for (who, storage) in [("writer", &writer.storage), ("reader", &reader.storage)] {
        let lines = established(&read_log(storage));
        if !lines.iter().any(|e| e.path == through) {
            problems.push(format!(
                "the {who} logged no connection on the path {through:?}: {lines:?}"
            ));
        }
    }
    let seed_says = format!("through {through}");
    if seed
        .wait_for_line(Duration::from_secs(5), |l| {
            l.contains("replicates") && l.ends_with(&seed_says)
        })
        .is_none()
    {
        problems.push(format!(
            "the seed's line for the reader does not end {seed_says:?}"
        ));
    }

    let closed_before = |storage: &std::path::Path| {
        read_log(storage)
            .lines()
            .filter(|l| l.contains(CLOSED))
            .count()
    };
    let before = [
        closed_before(&writer.storage),
        closed_before(&reader.storage),
    ];
    relay.kill();
    let killed = Instant::now();
    for ((who, storage), before) in [("writer", &writer.storage), ("reader", &reader.storage)]
        .into_iter()
        .zip(before)
    {
        let left = CLOSE.saturating_sub(killed.elapsed());
        let closed = super::logs::wait_for_log(storage, left, |log| {
            log.lines().filter(|l| l.contains(CLOSED)).count() > before
        });
        if !closed {
            problems.push(format!(
                "the {who}'s connection through the relay was not closed within {CLOSE:?} of the relay's death"
            ));
        }
    }
    let closed_after = killed.elapsed();
    let left = REDIAL_FAILS.saturating_sub(killed.elapsed());
    let failed = wait_in_log(&reader.storage, left, |l| {
        l.contains("dial failed") && l.contains("blind relay") && l.contains(short)
    });
    match &failed {
        Some(line) => eprintln!("[relay-dies] the reader's redial: {}", line.trim()),
        None => problems.push(format!(
            "the reader logged no failed dial naming the blind relay {short} within {REDIAL_FAILS:?} of its death"
        )),
    }
    for (name, process, storage) in [
        ("seed", &mut seed, &writer.storage),
        ("tail", &mut tail, &reader.storage),
    ] {
        if let Some(line) = panics(&read_log(storage), &[process.describe()]) {
            problems.push(format!("the {name} panicked: `{line}`"));
        }
        if !process.terminate().is_some_and(|s| s.success()) {
            problems.push(format!("the {name} did not leave with 0 on SIGTERM"));
        }
    }
    if problems.is_empty() {
        scene.record("both sides closed after the relay died", closed_after);
        drop(nodes);
        scene.check_nodes_never_panicked();
        return scene.finish();
    }
    scene.fail(&format!(
        "a blind relay that dies mid-stream: {}\n{}\n{}\n--- the writer's log ---\n{}\n--- the reader's log ---\n{}",
        problems.join("; "),
        seed.describe(),
        tail.describe(),
        excerpt(&read_log(&writer.storage), 60),
        excerpt(&read_log(&reader.storage), 60)
    ));
}
