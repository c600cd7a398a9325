//! Churn on loopback: an observer stays in a room while `churn::PEERS`
//! peers join it, speak and leave, round after round (`harness::churn`),
//! leaving the two ways in turn. Once they have gone, the observer lists no
//! peer, and its runtime holds no more live tasks than before the first
//! round plus what is meant to stay: the two tasks of each member's log it
//! now holds (members are remembered, by design), at most one per
//! connection it had and one per swarm it made afresh (what udx 0.2.0
//! keeps: a stream whose peer went away before acknowledging its close is
//! driven for ever, and a socket stays open while a stream of an abandoned
//! dial is in its map), and `TASK_MARGIN`. A task left behind per channel
//! adds one per log each connection carried: the replicator's writer task
//! (`net/replication/driver.rs`) did until a connection's end detached its
//! channels, and left the observer 80 to 110 tasks over that bound in two
//! rounds, where a run without it stays some 30 under it.
//!
//! The observer runs on a runtime of its own and only that runtime's tasks
//! are counted, like the chat's own process: the departed peers' engines
//! leave the same udx leftovers behind in the test's process, which would
//! drown the observer's figures. The bootstrap node has a runtime of its
//! own too, so that twenty busy peers do not slow its answers.
//!
//! Each round meets in a room of its own: hyperswarm 0.1.0 never withdraws
//! an announcement, so in one room the departed peers of earlier rounds
//! are found and dialed (three dials at a time) along with the new ones,
//! and a round takes longer than this test may. A round waits for `HEARD`
//! of its peers' lines to reach the observer, not all of them: on two
//! shared cores in a debug build twenty nodes can take a minute to meet
//! all round (`benches/churn.rs` measures the whole meeting in release),
//! so the peers leave while the room's connections are still being made.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hychat::domain::{ConnectionKey, LogKey, RoomName};
use hychat::net::{NetCommand, NetEvent, NetworkStatus};
use tokio::time::Instant;

use crate::harness::churn::{said, Crowd, Leaving, OwnRuntime, PEERS};
use crate::harness::node::{Node, WAIT};

/// Rounds of peers joining and leaving; they alternate the ways of leaving.
const ROUNDS: usize = 2;

/// The lines of a round the observer hears before the peers leave.
const HEARD: usize = PEERS / 4;

/// Tasks of a log the engine holds: its delivery task and its replicator
/// (`net/engine` `start_log`).
const TASKS_PER_HELD_LOG: usize = 2;

/// Live tasks that may come and go on their own (a probe, a lookup).
const TASK_MARGIN: usize = 8;

/// How long the observer's tasks of the departed peers get to end.
const SETTLE: Duration = Duration::from_secs(20);

/// What the observer saw, kept up to date by the task reading its events.
#[derive(Default)]
struct Seen {
    peers: HashSet<ConnectionKey>,
    /// Every connection the observer had.
    connections: HashSet<ConnectionKey>,
    members: HashSet<LogKey>,
    lines: HashSet<String>,
    online: bool,
    /// Swarms made: the first one and every fresh one.
    swarms: usize,
}

/// Polls `holds` every 100 ms until it is true or `bound` passed; returns
/// whether it held.
async fn poll_until(bound: Duration, mut holds: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if holds() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn room(round: usize) -> RoomName {
    RoomName::parse(&format!("churn-{round}")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_joining_and_leaving_a_room_leave_no_tasks_or_connections_behind() {
    let bootstrap_runtime = OwnRuntime::new();
    let bootstrap = bootstrap_runtime.bootstrap_node().await;
    let runtime = OwnRuntime::new();
    let mut observer = runtime
        .get()
        .spawn(Node::start(bootstrap.local_addr()))
        .await
        .expect("start the observer");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut events = std::mem::replace(&mut observer.events, tokio::sync::mpsc::channel(1).1);
    let reader = {
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let mut seen = seen.lock().unwrap();
                match event {
                    NetEvent::PeerConnected { peer, .. } => {
                        seen.peers.insert(peer);
                        seen.connections.insert(peer);
                    }
                    NetEvent::PeerDisconnected { peer } => {
                        seen.peers.remove(&peer);
                    }
                    NetEvent::RoomMember { member, .. } => {
                        seen.members.insert(member.key);
                    }
                    NetEvent::Appended { message, .. } => {
                        seen.lines.insert(message.text);
                    }
                    NetEvent::NetworkStatus(NetworkStatus::Bootstrapping) => {
                        seen.swarms += 1;
                        seen.online = false;
                    }
                    NetEvent::NetworkStatus(status) => {
                        seen.online = matches!(status, NetworkStatus::Online { .. });
                    }
                    _ => {}
                }
            }
        })
    };
    let listed = || seen.lock().unwrap().peers.len();
    let members = || seen.lock().unwrap().members.len();

    observer.send(NetCommand::JoinRoom { room: room(0) }).await;
    assert!(
        poll_until(WAIT, || seen.lock().unwrap().online).await,
        "the observer never came online"
    );
    // The lowest count over two quiet seconds.
    let mut baseline = usize::MAX;
    poll_until(Duration::from_secs(2), || {
        baseline = baseline.min(runtime.alive_tasks());
        false
    })
    .await;

    let mut crowd = Crowd::new(bootstrap.local_addr());
    for round in 0..ROUNDS {
        let started = Instant::now();
        if round > 0 {
            observer
                .send(NetCommand::JoinRoom { room: room(round) })
                .await;
        }
        let in_room = crowd.arrive(round, &room(round)).await;
        let heard = poll_until(WAIT, || {
            let seen = seen.lock().unwrap();
            let heard = (0..PEERS).filter(|peer| seen.lines.contains(&said(round, *peer)));
            heard.count() >= HEARD
        })
        .await;
        assert!(
            heard,
            "round {round}: the observer heard fewer than {HEARD} of the peers within {WAIT:?}"
        );
        let met = started.elapsed();
        let how = Leaving::in_round(round);
        crowd.leave(in_room, how).await;
        let left = started.elapsed();
        let emptied = poll_until(WAIT, || listed() == 0).await;
        assert!(
            emptied,
            "round {round} ({how:?}): the observer still lists {} peers {WAIT:?} after they left",
            listed()
        );
        eprintln!(
            "round {round} ({how:?}): {HEARD} heard after {:.1} s, all left after {:.1} s, \
             none listed after {:.1} s; the observer has {} live tasks, holds {} members",
            met.as_secs_f64(),
            left.as_secs_f64(),
            started.elapsed().as_secs_f64(),
            runtime.alive_tasks(),
            members(),
        );
    }

    // What may stay, as the module comment says.
    let allowed = || {
        let seen = seen.lock().unwrap();
        let fresh_swarms = seen.swarms.saturating_sub(1);
        TASKS_PER_HELD_LOG * seen.members.len() + seen.connections.len() + fresh_swarms
    };
    let settled = poll_until(SETTLE, || {
        runtime.alive_tasks() <= baseline + allowed() + TASK_MARGIN
    })
    .await;
    let after = runtime.alive_tasks();
    let (connections, swarms) = {
        let seen = seen.lock().unwrap();
        (seen.connections.len(), seen.swarms)
    };
    eprintln!(
        "the observer: {baseline} live tasks before the rounds, {after} after them; it holds \
         {} members' logs, had {connections} connections and made {swarms} swarms",
        members()
    );
    assert!(
        settled,
        "the observer has {after} live tasks {SETTLE:?} after {ROUNDS} rounds of {PEERS} peers \
         left: more than the {baseline} before them, {TASKS_PER_HELD_LOG} for each of the {} \
         members' logs it holds, one for each of its {connections} connections and of its \
         {} fresh swarms, and a margin of {TASK_MARGIN}: something a peer started outlives it",
        members(),
        swarms.saturating_sub(1)
    );
    assert_eq!(listed(), 0, "the observer lists peers again");
    observer.send(NetCommand::Shutdown).await;
    let _ = tokio::time::timeout(WAIT, reader).await;
}
