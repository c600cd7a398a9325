//! Loopback tests of hychat's replicator (docs/architecture.md §2,
//! "Replication"), over several writers and readers at once:
//!
//! - a room of three writers and four readers, the writers appending at
//!   once: every member ends up with every message, and no connection or
//!   log channel fails meanwhile;
//! - two nodes following each other through 1,000 appends in turn, each
//!   one needing an upgrade of its own, and still live afterwards;
//! - completeness: fresh followers of a 10,000-message log each hold every
//!   block. `HYCHAT_COMPLETENESS_RUNS` sets the number of followers (1 in
//!   the suite; `HYCHAT_COMPLETENESS_RUNS=20 cargo test --release --test
//!   engine completeness` for the 20 runs); each run's catch-up time is
//!   printed.
//!
//! Each test runs on a runtime of its own whose threads record the
//! engine's log lines about connections and channels ending
//! (`EngineLog`), so a test sees exactly its own nodes' lines and can tell
//! a failure from a duplicate connection closed on purpose. Every wait is
//! bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hychat::domain::{LogKey, RoomName};
use hychat::net::{NetCommand, NetEvent};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::harness::completeness::{self, seq_runs};
use crate::harness::node::{bootstrap_node, Node, WAIT};

/// The engine's log lines a test looks at: a connection opened a log
/// channel, the replicator let go of a hostile peer, a log channel ended,
/// a connection closed.
const WATCHED: [&str; 4] = [
    "replication channel open",
    "detaching a peer",
    "replication channel ended",
    "connection closed",
];

/// One logged line: its message and its fields, as the log shows them.
#[derive(Clone, Debug, Default)]
struct Line {
    message: String,
    fields: BTreeMap<String, String>,
}

impl Line {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        for (name, value) in &self.fields {
            write!(f, " {name}={value}")?;
        }
        Ok(())
    }
}

impl tracing::field::Visit for Line {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields
                .insert(field.name().to_string(), format!("{value:?}"));
        }
    }
}

/// Every `WATCHED` line logged on the threads of one test's runtime, in
/// order.
#[derive(Clone, Default)]
struct EngineLog(Arc<Mutex<Vec<Line>>>);

impl EngineLog {
    /// How many lines so far: the start of a phase.
    fn mark(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn since(&self, mark: usize) -> Vec<Line> {
        self.0.lock().unwrap()[mark..].to_vec()
    }
}

impl<S: tracing::Subscriber> Layer<S> for EngineLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut line = Line::default();
        event.record(&mut line);
        if WATCHED.contains(&line.message.as_str()) {
            self.0.lock().unwrap().push(line);
        }
    }
}

/// A runtime of two workers (the suite's machines have two cores) whose
/// threads, and the caller's, log to `log`, and to the test's output as
/// `HYCHAT_TEST_LOG` says. The caller keeps the guard.
fn runtime(log: &EngineLog) -> (tokio::runtime::Runtime, tracing::dispatcher::DefaultGuard) {
    let watched = log
        .clone()
        .with_filter(tracing_subscriber::filter::filter_fn(|m| {
            *m.level() <= tracing::Level::DEBUG
                && (m.target().starts_with("hychat::net::replication")
                    || m.target().starts_with("hychat::net::connection"))
        }));
    let shown = std::env::var("HYCHAT_TEST_LOG").ok().map(|filter| {
        tracing_subscriber::fmt::layer()
            .with_test_writer()
            .with_filter(tracing_subscriber::EnvFilter::new(filter))
    });
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(watched).with(shown));
    let guard = tracing::dispatcher::set_default(&dispatch);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            // For the thread's whole life.
            std::mem::forget(tracing::dispatcher::set_default(&dispatch));
        })
        .build()
        .unwrap();
    (runtime, guard)
}

/// Fails when a connection or a log channel failed since `mark`: the
/// replicator detached a peer, a connection that carried a log ended other
/// than on purpose, a log channel ended on a connection not closed on
/// purpose, or a node of `nodes` saw a `PeerDisconnected` for such a
/// connection. On purpose (`Deliberate`) is how the engine closes the
/// second of two connections to one peer. A connection that never carried
/// a log cannot fail a log channel; here it is the accepting half of a
/// node's dial to its own announcement, which the swarm closes. `nodes`' events must be those since `mark`. Returns
/// how many connections since `mark` were closed on purpose, and how many
/// closed before carrying a log.
fn assert_no_failure(
    log: &EngineLog,
    mark: usize,
    nodes: &[&Node],
    during: &str,
) -> (usize, usize) {
    let all = log.since(0);
    let since = &all[mark..];
    let peers = |lines: &[Line], wanted: &dyn Fn(&Line) -> bool| -> BTreeSet<String> {
        lines
            .iter()
            .filter(|line| wanted(line))
            .map(|line| line.field("peer").to_string())
            .collect()
    };
    let deliberate =
        |line: &Line| line.message == "connection closed" && line.field("how") == "Deliberate";
    let on_purpose = peers(&all, &deliberate);
    let carried = peers(&all, &|line| line.message == "replication channel open");
    let mut failures: Vec<String> = since
        .iter()
        .filter(|line| {
            let peer = line.field("peer");
            match line.message.as_str() {
                "detaching a peer" => true,
                "connection closed" => !deliberate(line) && carried.contains(peer),
                "replication channel ended" => !on_purpose.contains(peer),
                _ => false,
            }
        })
        .map(Line::to_string)
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        for event in &node.seen {
            if let NetEvent::PeerDisconnected { peer } = event {
                let peer = format!("{peer:?}");
                if carried.contains(&peer) && !on_purpose.contains(&peer) {
                    failures.push(format!("node {i} lost its connection {peer}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "a connection or a log channel failed during {during}:\n{}",
        failures.join("\n")
    );
    let closed = |line: &&Line| line.message == "connection closed";
    (
        since.iter().filter(|line| deliberate(line)).count(),
        since
            .iter()
            .filter(closed)
            .filter(|line| !carried.contains(line.field("peer")))
            .count(),
    )
}

/// Waits, at most `WAIT`, until every connection that carried a log since
/// `mark` has closed (on both of its ends), so that a later phase does not
/// see a finished one's connections go.
async fn wait_until_closed(log: &EngineLog, mark: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let lines = log.since(mark);
        let mut open: BTreeSet<&str> = BTreeSet::new();
        for line in &lines {
            match line.message.as_str() {
                "replication channel open" => {
                    open.insert(line.field("peer"));
                }
                "connection closed" => {
                    open.remove(line.field("peer"));
                }
                _ => {}
            }
        }
        if open.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "connections still open {WAIT:?} after their nodes stopped: {open:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits, at most `stall` between two of them, until `node` has received
/// every message of `expected` (log, seq → text): each once, with that
/// text, and in `room`. Fails naming what is missing. Returns when the
/// first of them arrived.
async fn hold_all(
    node: &mut Node,
    who: &str,
    expected: &BTreeMap<(LogKey, u64), String>,
    room: Option<&str>,
    stall: Duration,
) -> Instant {
    let mut first = None;
    let mut missing: BTreeSet<(LogKey, u64)> = expected.keys().copied().collect();
    let mut got: BTreeSet<(LogKey, u64)> = BTreeSet::new();
    let mut check = |event: &NetEvent, missing: &mut BTreeSet<(LogKey, u64)>| {
        let NetEvent::Appended { log, seq, message } = event else {
            return;
        };
        let Some(text) = expected.get(&(*log, seq.0)) else {
            return;
        };
        assert!(
            got.insert((*log, seq.0)),
            "{who} got block {} of {} twice",
            seq.0,
            log.short()
        );
        assert_eq!(
            (&message.text, message.room.as_deref()),
            (text, room),
            "{who}: block {} of {}",
            seq.0,
            log.short()
        );
        missing.remove(&(*log, seq.0));
    };
    for event in &node.seen {
        check(event, &mut missing);
    }
    while !missing.is_empty() {
        match tokio::time::timeout(stall, node.events.recv()).await {
            Ok(Some(event)) => {
                let before = missing.len();
                check(&event, &mut missing);
                if missing.len() < before {
                    first.get_or_insert_with(Instant::now);
                }
                node.seen.push(event);
            }
            Ok(None) => panic!("{who}'s engine stopped"),
            Err(_) => {
                let mut by_log: BTreeMap<LogKey, Vec<u64>> = BTreeMap::new();
                for (log, seq) in &missing {
                    by_log.entry(*log).or_default().push(*seq);
                }
                let report: Vec<String> = by_log
                    .iter()
                    .map(|(log, seqs)| {
                        format!(
                            "{}: {} missing: {}",
                            log.short(),
                            seqs.len(),
                            seq_runs(seqs.iter().copied())
                        )
                    })
                    .collect();
                panic!(
                    "{who} received nothing it lacked for {stall:?}; still missing {} block(s):\n{}",
                    missing.len(),
                    report.join("\n")
                );
            }
        }
    }
    first.unwrap_or_else(Instant::now)
}

/// Runs `work` on every node at once (so that no node's events queue up
/// while another is waited for), and gives the nodes back in order.
async fn on_every_node<F, W>(nodes: Vec<Node>, work: W) -> Vec<Node>
where
    W: Fn(usize, Node) -> F,
    F: std::future::Future<Output = Node> + Send + 'static,
{
    let tasks: Vec<_> = nodes
        .into_iter()
        .enumerate()
        .map(|(i, node)| tokio::spawn(work(i, node)))
        .collect();
    let mut nodes = Vec::new();
    for task in tasks {
        match task.await {
            Ok(node) => nodes.push(node),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    nodes
}

/// `hold_all` on every node at once.
async fn all_hold(
    nodes: Vec<Node>,
    expected: &BTreeMap<(LogKey, u64), String>,
    room: Option<&'static str>,
) -> Vec<Node> {
    on_every_node(nodes, |i, mut node| {
        let expected = expected.clone();
        async move {
            hold_all(&mut node, &format!("node {i}"), &expected, room, WAIT).await;
            node
        }
    })
    .await
}

/// Waits, at most `WAIT`, until `node` has at least `at_least`
/// connections open that each carry every log of `logs`; returns how many
/// it has then.
async fn wait_for_carriers(
    node: &mut Node,
    who: &str,
    logs: &BTreeSet<LogKey>,
    at_least: usize,
) -> usize {
    let mut open: BTreeMap<String, BTreeSet<LogKey>> = BTreeMap::new();
    let note = |event: &NetEvent, open: &mut BTreeMap<String, BTreeSet<LogKey>>| match event {
        NetEvent::PeerConnected { peer, logs, .. } => {
            open.insert(format!("{peer:?}"), logs.iter().copied().collect());
        }
        NetEvent::PeerDisconnected { peer } => {
            open.remove(&format!("{peer:?}"));
        }
        _ => {}
    };
    let carriers = |open: &BTreeMap<String, BTreeSet<LogKey>>| {
        open.values()
            .filter(|carried| logs.is_subset(carried))
            .count()
    };
    for event in &node.seen {
        note(event, &mut open);
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while carriers(&open) < at_least {
        match tokio::time::timeout_at(deadline, node.events.recv()).await {
            Ok(Some(event)) => {
                note(&event, &mut open);
                node.seen.push(event);
            }
            Ok(None) => panic!("{who}'s engine stopped"),
            Err(_) => panic!(
                "{who} has {} connection(s) carrying every writer's log after {WAIT:?}, \
                 not {at_least}",
                carriers(&open)
            ),
        }
    }
    carriers(&open)
}

const ROOM: &str = "replication-stress";

/// Three writers and four readers in one room, each member connected to at
/// least two others that carry every writer's log; the writers append 100
/// messages each, all at once, so members download each log from several
/// peers at the same time. Every member ends up with all 300, and no
/// connection or log channel failed while they spread.
#[test]
fn three_writers_and_four_readers_in_a_room_all_get_every_message() {
    const WRITERS: usize = 3;
    const READERS: usize = 4;
    const BURST: u64 = 100;
    /// Connections each member has, at least, before the writers start.
    const CARRIERS: usize = 2;
    let log = EngineLog::default();
    let (runtime, _guard) = runtime(&log);
    runtime.block_on(async {
        let room = RoomName::parse(ROOM).unwrap();
        let bootstrap = bootstrap_node().await;
        let mut nodes = Vec::new();
        for _ in 0..WRITERS + READERS {
            let node = Node::start(bootstrap.local_addr()).await;
            node.send(NetCommand::JoinRoom { room: room.clone() }).await;
            nodes.push(node);
        }
        let writers: Vec<LogKey> = nodes[..WRITERS].iter().map(|n| n.key).collect();

        // The members meet first: each writer's first message reaches
        // every member, and every member has connections to several
        // others, each carrying every writer's log. (Not necessarily to
        // all six: discovery may leave a pair unconnected, and the room
        // does not need it.)
        let mut hello = BTreeMap::new();
        for (i, node) in nodes[..WRITERS].iter().enumerate() {
            let text = format!("writer {i} is here");
            hello.insert((node.key, 0), text.clone());
            node.send(NetCommand::Append {
                text,
                room: Some(room.clone()),
            })
            .await;
        }
        let started = Instant::now();
        let nodes = all_hold(nodes, &hello, Some(ROOM)).await;
        let writer_logs: BTreeSet<LogKey> = writers.iter().copied().collect();
        let carriers = Arc::new(Mutex::new(Vec::new()));
        let mut nodes = on_every_node(nodes, |i, mut node| {
            let (writer_logs, carriers) = (writer_logs.clone(), carriers.clone());
            async move {
                let who = format!("node {i}");
                let open = wait_for_carriers(&mut node, &who, &writer_logs, CARRIERS).await;
                carriers.lock().unwrap().push(open);
                node
            }
        })
        .await;
        let met_in = started.elapsed();
        let carriers = carriers.lock().unwrap().clone();

        // The appending phase: what each node had received before it does
        // not count.
        for node in &mut nodes {
            while let Ok(event) = node.events.try_recv() {
                node.seen.push(event);
            }
            node.seen.clear();
        }
        let mark = log.mark();
        let mut burst = BTreeMap::new();
        for (i, key) in writers.iter().enumerate() {
            for n in 0..BURST {
                burst.insert((*key, 1 + n), format!("writer {i}, message {n}"));
            }
        }
        let go = Arc::new(tokio::sync::Barrier::new(WRITERS));
        let senders: Vec<_> = nodes[..WRITERS]
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let handle = node.handle.clone();
                let room = room.clone();
                let go = go.clone();
                tokio::spawn(async move {
                    go.wait().await;
                    for n in 0..BURST {
                        let text = format!("writer {i}, message {n}");
                        let room = Some(room.clone());
                        assert!(handle.send(NetCommand::Append { text, room }).await);
                    }
                })
            })
            .collect();
        let started = Instant::now();
        let mut nodes = all_hold(nodes, &burst, Some(ROOM)).await;
        let spread_in = started.elapsed();
        for sender in senders {
            sender.await.unwrap();
        }
        // What arrived after each node's last message counts too.
        for node in &mut nodes {
            while let Ok(event) = node.events.try_recv() {
                node.seen.push(event);
            }
        }
        let nodes_now: Vec<&Node> = nodes.iter().collect();
        let (duplicates, own) = assert_no_failure(&log, mark, &nodes_now, "the appending phase");
        eprintln!(
            "room of {WRITERS} writers and {READERS} readers: met in {:.2} s, each member with \
             {}..={} connections carrying every writer's log; {} messages at every member \
             {:.2} s after the writers started; meanwhile {duplicates} duplicate \
             connection(s) closed on purpose and {own} closed before carrying a log",
            met_in.as_secs_f64(),
            carriers.iter().min().unwrap(),
            carriers.iter().max().unwrap(),
            burst.len(),
            spread_in.as_secs_f64()
        );
        for node in nodes {
            node.shutdown().await;
        }
    });
}

/// The seq and text of `node`'s messages of `log` received so far.
fn received(node: &Node, log: LogKey) -> BTreeMap<u64, String> {
    let mut held = BTreeMap::new();
    for event in &node.seen {
        if let NetEvent::Appended {
            log: l,
            seq,
            message,
        } = event
        {
            if *l == log {
                let again = held.insert(seq.0, message.text.clone());
                assert!(
                    again.is_none(),
                    "block {} of {} came twice",
                    seq.0,
                    log.short()
                );
            }
        }
    }
    held
}

/// Waits until `node` has `text` of `log`; returns its seq.
async fn wait_for_text(node: &mut Node, log: LogKey, text: &str) -> u64 {
    node.wait_for(&format!("`{text}` of {}", log.short()), |e| match e {
        NetEvent::Appended {
            log: l,
            seq,
            message,
        } if *l == log && message.text == text => Some(seq.0),
        _ => None,
    })
    .await
}

/// A and B follow each other and take 500 turns: A appends, then B at once,
/// then each waits for the other's message before the next turn; 1,000
/// appends in all. Each message is a one-block upgrade of a caught-up
/// follower that no later append covers for (the next waits for it), so a
/// lost sync or upgrade stops the test at that message; and in every turn
/// both writers' syncs and both followers' requests cross on the one
/// connection. Afterwards a message from each, sent at once, still
/// arrives, and each holds all of the other's.
#[test]
fn a_live_message_arrives_after_1000_appends_in_turn() {
    const TURNS: u64 = 500;
    let log = EngineLog::default();
    let (runtime, _guard) = runtime(&log);
    runtime.block_on(async {
        let bootstrap = bootstrap_node().await;
        let mut a = Node::start(bootstrap.local_addr()).await;
        let mut b = Node::start(bootstrap.local_addr()).await;
        let (a_key, b_key) = (a.key, b.key);
        let mark = log.mark();
        a.follow(b_key).await;
        b.follow(a_key).await;
        let started = Instant::now();
        let mut slowest = (Duration::ZERO, 0);
        for turn in 0..TURNS {
            let turn_started = Instant::now();
            let (from_a, from_b) = (format!("a, turn {turn}"), format!("b, turn {turn}"));
            a.append(&from_a).await;
            b.append(&from_b).await;
            assert_eq!(
                wait_for_text(&mut b, a_key, &from_a).await,
                turn,
                "{from_a}"
            );
            assert_eq!(
                wait_for_text(&mut a, b_key, &from_b).await,
                turn,
                "{from_b}"
            );
            slowest = slowest.max((turn_started.elapsed(), turn));
        }
        let turns_in = started.elapsed();

        a.append("a, live at the end").await;
        b.append("b, live at the end").await;
        let started = Instant::now();
        wait_for_text(&mut b, a_key, "a, live at the end").await;
        wait_for_text(&mut a, b_key, "b, live at the end").await;
        let live_in = started.elapsed();

        for (reader, writer, name) in [(&b, a_key, "a"), (&a, b_key, "b")] {
            let mut expected: BTreeMap<u64, String> = (0..TURNS)
                .map(|seq| (seq, format!("{name}, turn {seq}")))
                .collect();
            expected.insert(TURNS, format!("{name}, live at the end"));
            assert_eq!(
                received(reader, writer),
                expected,
                "every message of {name} ({})",
                writer.short()
            );
        }
        let (duplicates, own) = assert_no_failure(&log, mark, &[&a, &b], "the appends");
        eprintln!(
            "{} appends in {TURNS} turns (both writers at once, each turn waiting for both): \
             {:.2} s, {:.1} ms a turn, the slowest {:.0} ms (turn {}); the last two, sent at \
             once, arrived within {:.0} ms; {duplicates} duplicate connection(s) closed on \
             purpose, {own} closed before carrying a log",
            2 * TURNS,
            turns_in.as_secs_f64(),
            turns_in.as_secs_f64() * 1000.0 / TURNS as f64,
            slowest.0.as_secs_f64() * 1000.0,
            slowest.1,
            live_in.as_secs_f64() * 1000.0
        );
        a.shutdown().await;
        b.shutdown().await;
    });
}

/// A writer appends 10,000 messages in one burst; each fresh follower
/// (one per run, the writer kept) must hold every seq, 0..10,000, each
/// once with its text, and no connection or channel may fail meanwhile.
#[test]
fn completeness_of_a_10000_message_catch_up_hychat_to_hychat() {
    const TOTAL: u64 = 10_000;
    let runs = completeness::runs();
    let log = EngineLog::default();
    let (runtime, _guard) = runtime(&log);
    runtime.block_on(async {
        let bootstrap = bootstrap_node().await;
        let mut writer = Node::start(bootstrap.local_addr()).await;
        let key = writer.key;
        let handle = writer.handle.clone();
        let started = Instant::now();
        let sender = tokio::spawn(async move {
            for seq in 0..TOTAL {
                let text = format!("message {seq}");
                assert!(handle.send(NetCommand::Append { text, room: None }).await);
            }
        });
        let mut own = BTreeMap::new();
        for seq in 0..TOTAL {
            own.insert((key, seq), format!("message {seq}"));
        }
        hold_all(&mut writer, "the writer", &own, None, WAIT).await;
        sender.await.unwrap();
        eprintln!(
            "the writer appended {TOTAL} messages in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        // The writer's events are read throughout, so it never waits on us.
        writer.seen.clear();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let drain = tokio::spawn(async move {
            loop {
                tokio::select! {
                    event = writer.events.recv() => if event.is_none() { break },
                    _ = &mut stopped => break,
                }
            }
            writer
        });

        let mut times = Vec::new();
        for run in 1..=runs {
            let mark = log.mark();
            let mut follower = Node::start(bootstrap.local_addr()).await;
            let started = Instant::now();
            follower.follow(key).await;
            let first = hold_all(&mut follower, &format!("follower {run}"), &own, None, WAIT).await;
            let took = started.elapsed();
            assert_no_failure(&log, mark, &[&follower], &format!("run {run}"));
            eprintln!(
                "completeness run {run}/{runs}: {TOTAL} of {TOTAL} blocks (0 missing) in {:.2} s, \
                 the first after {:.2} s",
                took.as_secs_f64(),
                (first - started).as_secs_f64()
            );
            times.push(took);
            follower.shutdown().await;
            wait_until_closed(&log, mark).await;
        }
        eprintln!(
            "completeness, hychat → hychat: {runs} run(s) of {TOTAL} blocks, 0 missing; {}",
            completeness::summary(&times)
        );
        let _ = stop.send(());
        drain.await.unwrap().shutdown().await;
    });
}
