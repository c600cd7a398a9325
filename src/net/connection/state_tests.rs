//! Tests of `ConnectionState`: what happened and `now` in, what to do out,
//! with no protocol, channel or clock (`World` says what we hold).

use std::time::Duration;

use super::*;
use crate::net::types::{Nat, PeerPath};

const OWN: SessionId = SessionId([1; 16]);
const PEER: SessionId = SessionId([2; 16]);

/// A log we hold, its key, a room we are in, and a topic we do not hold.
const LOG_TOPIC: DiscoveryKey = DiscoveryKey([10; 32]);
const LOG: LogKey = LogKey([11; 32]);
const ROOM_TOPIC: DiscoveryKey = DiscoveryKey([20; 32]);
const ROOM_KEY: [u8; 32] = [21; 32];
const STRANGE_TOPIC: DiscoveryKey = DiscoveryKey([30; 32]);

/// What is ours in these tests.
struct World {
    held: BTreeMap<DiscoveryKey, Holding>,
    place: Option<Place>,
}

impl World {
    fn new() -> Self {
        let held = BTreeMap::from([
            (LOG_TOPIC, Holding::Log(LOG)),
            (
                ROOM_TOPIC,
                Holding::Room {
                    channel_key: ROOM_KEY,
                },
            ),
        ]);
        Self { held, place: None }
    }
}

impl Ours for World {
    fn holding(&self, topic: &DiscoveryKey) -> Option<Holding> {
        self.held.get(topic).copied()
    }

    fn place(&self) -> Option<Place> {
        self.place
    }
}

use ConnectionEffect as Do;
use ConnectionEvent as On;

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A connection we dialed, found on `LOG_TOPIC`, opened at `opened`.
fn dialed(opened: Instant) -> ConnectionState {
    ConnectionState::new(OWN, true, vec![LOG_TOPIC], Link::Direct, opened, true)
}

/// A connection we accepted, opened at `opened`.
fn accepted(opened: Instant) -> ConnectionState {
    ConnectionState::new(OWN, false, Vec::new(), Link::Direct, opened, false)
}

fn hello_from(session: SessionId, topics: Vec<DiscoveryKey>) -> Hello {
    Hello {
        session,
        topics,
        own: None,
        place: None,
    }
}

/// The peer's hello comes, and its session is kept: what follows.
fn greet(state: &mut ConnectionState, world: &World, hello: Hello, now: Instant) -> Vec<Do> {
    let effects = state.on(On::Hello(hello.encode()), world, now);
    let [Do::Claim { hello, .. }] = &effects[..] else {
        panic!("a first hello is claimed: {effects:?}");
    };
    let claimed = On::Claimed {
        hello: hello.clone(),
        verdict: SessionVerdict::Keep,
    };
    state.on(claimed, world, now)
}

/// The first channel opens and its log's replicator takes it.
fn attach_log(state: &mut ConnectionState, world: &World, now: Instant) {
    let effects = state.on(On::ChannelOpened(LOG_TOPIC), world, now);
    assert_eq!(effects.last(), Some(&Do::Attach(LOG_TOPIC, LOG)));
    state.on(On::Attached(LOG_TOPIC, LOG), world, now);
}

#[test]
fn an_unused_connection_is_closed_and_one_a_channel_opened_on_is_not() {
    let world = World::new();
    let t0 = Instant::now();
    let mut fresh = accepted(t0);
    assert!(fresh.unused(), "the timer is armed");
    let effects = fresh.on(On::Tick(Tick::Unused), &world, t0 + secs(10));
    assert_eq!(effects, [Do::Close(CloseReason::Unused)]);
    assert_eq!(CloseReason::Unused.ending(), Ending::Deliberate);

    // (the first channel's topic, what it becomes): each counts as used,
    // even one for a topic we no longer hold.
    let table = [
        (LOG_TOPIC, Do::Attach(LOG_TOPIC, LOG)),
        (ROOM_TOPIC, Do::AddRoom(ROOM_TOPIC)),
        (STRANGE_TOPIC, Do::Unheld(STRANGE_TOPIC)),
    ];
    for (topic, taken) in table {
        let mut used = accepted(t0);
        let effects = used.on(On::ChannelOpened(topic), &world, t0);
        assert_eq!(effects, [Do::HelloFirst, taken]);
        assert!(!used.unused(), "{topic:?}: the timer is off");
        assert!(used
            .on(On::Tick(Tick::Unused), &world, t0 + secs(10))
            .is_empty());
    }
}

#[test]
fn a_peer_never_heard_from_is_closed_as_failed() {
    let world = World::new();
    let t0 = Instant::now();
    // (last heard, since opened, closes)
    let table = [
        (t0, secs(2), false),
        (t0, ms(5_999), false),
        (t0, secs(6), true),
        (t0, secs(60), true),
        (t0 + ms(1), secs(6), false),
        (t0 + ms(1), secs(60), false),
    ];
    for (heard, since, closes) in table {
        let mut state = accepted(t0);
        let effects = state.on(On::Tick(Tick::Health { heard }), &world, t0 + since);
        assert_eq!(
            effects,
            closed_if(closes, CloseReason::NeverHeard),
            "heard {heard:?}, {since:?} after opening"
        );
    }
    assert_eq!(CloseReason::NeverHeard.ending(), Ending::Failed);
}

/// What a tick that closes for `reason` (or, unless `closes`, does
/// nothing) should do.
fn closed_if(closes: bool, reason: CloseReason) -> Vec<Do> {
    if closes {
        vec![Do::Close(reason)]
    } else {
        vec![]
    }
}

#[test]
fn a_dialed_path_that_never_answered_is_closed_as_unanswered_once() {
    let world = World::new();
    let t0 = Instant::now();
    // (we dialed it, packets in, since opened, closes)
    let table = [
        (true, 0, secs(2), true),
        (true, 0, secs(9), true),
        (true, 1, secs(2), false),
        (true, 40, secs(2), false),
        // Too early to tell: the look is spent all the same.
        (true, 0, ms(1_999), false),
        (false, 0, secs(2), false),
    ];
    for (was_dialed, packets_in, since, closes) in table {
        let mut state = if was_dialed { dialed(t0) } else { accepted(t0) };
        assert_eq!(state.awaits_answer(), was_dialed);
        let tick = On::Tick(Tick::Answer { packets_in });
        let effects = state.on(tick, &world, t0 + since);
        assert_eq!(
            effects,
            closed_if(closes, CloseReason::NeverAnswered),
            "dialed {was_dialed}, {packets_in} in, {since:?}"
        );
        assert!(!state.awaits_answer(), "looked at once");
        let again = On::Tick(Tick::Answer { packets_in: 0 });
        assert!(state.on(again, &world, t0 + secs(30)).is_empty());
    }
    assert_eq!(CloseReason::NeverAnswered.ending(), Ending::Unanswered);
}

#[test]
fn only_hychat_peers_are_pinged_and_one_fallen_silent_is_closed() {
    let world = World::new();
    let t0 = Instant::now();
    let mut state = dialed(t0);
    let now = t0 + secs(30);
    // A JS peer (no hello) is never pinged, nor judged silent.
    assert!(!state.pings());
    assert!(state
        .on(On::Tick(Tick::Ping { heard: t0 }), &world, now)
        .is_empty());

    greet(&mut state, &world, hello_from(PEER, vec![]), t0);
    assert!(state.pings());
    // (last heard before now, what the tick does)
    let table = [
        (secs(0), Do::Ping),
        (secs(19), Do::Ping),
        (secs(20), Do::Close(CloseReason::FellSilent)),
        (secs(30), Do::Close(CloseReason::FellSilent)),
    ];
    for (ago, effect) in table {
        let heard = now - ago;
        assert_eq!(
            state.on(On::Tick(Tick::Ping { heard }), &world, now),
            [effect],
            "heard {ago:?} ago"
        );
    }
    assert_eq!(CloseReason::FellSilent.ending(), Ending::Failed);
}

/// A state ready for one row of the endings table.
type Setup = fn(&World, Instant) -> ConnectionState;

#[test]
fn each_ending_is_chosen_by_why_the_connection_closes() {
    let world = World::new();
    let t0 = Instant::now();
    let plain: Setup = |_, t0| accepted(t0);
    let hychat: Setup = |world, t0| {
        let mut state = dialed(t0);
        greet(&mut state, world, hello_from(PEER, vec![]), t0);
        state
    };
    let attached: Setup = |world, t0| {
        let mut state = accepted(t0);
        attach_log(&mut state, world, t0);
        state
    };
    let malformed = || RoomHelloError::Malformed("not json".into());
    // (setup, what happened, since opened, why it closes, how it ends)
    let table: Vec<(Setup, ConnectionEvent, Duration, CloseReason, Ending)> = vec![
        (
            plain,
            On::ProtocolFailed("broken pipe".into()),
            secs(1),
            CloseReason::ProtocolError("broken pipe".into()),
            Ending::Failed,
        ),
        (
            plain,
            On::ProtocolEnded,
            secs(1),
            CloseReason::ProtocolEnded,
            Ending::Closed,
        ),
        (
            plain,
            On::StreamClosed,
            secs(1),
            CloseReason::StreamClosed,
            Ending::Closed,
        ),
        (
            plain,
            On::Superseded,
            secs(1),
            CloseReason::Superseded,
            Ending::Deliberate,
        ),
        (
            plain,
            On::Shutdown,
            secs(1),
            CloseReason::Shutdown,
            Ending::Deliberate,
        ),
        (
            plain,
            On::Hello(b"{not a hello".to_vec()),
            secs(1),
            CloseReason::MalformedHello,
            Ending::Deliberate,
        ),
        (
            plain,
            On::Hello(hello_from(OWN, vec![]).encode()),
            secs(1),
            CloseReason::Ourselves,
            Ending::Deliberate,
        ),
        (
            plain,
            On::Claimed {
                hello: hello_from(PEER, vec![]),
                verdict: SessionVerdict::Duplicate,
            },
            secs(1),
            CloseReason::Duplicate,
            Ending::Deliberate,
        ),
        (
            plain,
            On::Room {
                topic: ROOM_TOPIC,
                event: RoomEvent::Malformed(malformed()),
                open: true,
            },
            secs(1),
            CloseReason::MalformedRoomHello(malformed()),
            Ending::Deliberate,
        ),
        (
            plain,
            On::Room {
                topic: ROOM_TOPIC,
                event: RoomEvent::Flooding,
                open: true,
            },
            secs(1),
            CloseReason::FloodingRoomHellos,
            Ending::Deliberate,
        ),
        (
            attached,
            On::ChannelEnded(LOG_TOPIC, Detached::Hostile("three strikes".into())),
            secs(1),
            CloseReason::Hostile,
            Ending::Deliberate,
        ),
        (
            plain,
            On::Tick(Tick::Unused),
            secs(10),
            CloseReason::Unused,
            Ending::Deliberate,
        ),
        (
            plain,
            On::Tick(Tick::Health { heard: t0 }),
            secs(6),
            CloseReason::NeverHeard,
            Ending::Failed,
        ),
        (
            |_, t0| dialed(t0),
            On::Tick(Tick::Answer { packets_in: 0 }),
            secs(2),
            CloseReason::NeverAnswered,
            Ending::Unanswered,
        ),
        (
            hychat,
            On::Tick(Tick::Ping { heard: t0 }),
            secs(20),
            CloseReason::FellSilent,
            Ending::Failed,
        ),
    ];
    for (setup, event, since, reason, ending) in table {
        let mut state = setup(&world, t0);
        let label = format!("{event:?}");
        let effects = state.on(event, &world, t0 + since);
        let Some(Do::Close(closed)) = effects.last() else {
            panic!("{label}: no close in {effects:?}");
        };
        assert_eq!(closed, &reason, "{label}");
        assert_eq!(closed.ending(), ending, "{label}");
    }
}

#[test]
fn a_hostile_peer_is_closed_after_its_channel_is_let_go() {
    let world = World::new();
    let t0 = Instant::now();
    let mut state = accepted(t0);
    attach_log(&mut state, &world, t0);
    let ended = On::ChannelEnded(LOG_TOPIC, Detached::Hostile("strikes".into()));
    assert_eq!(
        state.on(ended, &world, t0),
        [
            Do::ChannelClosed(LOG_TOPIC),
            Do::Announce,
            Do::Close(CloseReason::Hostile)
        ]
    );
    assert!(state.logs().is_empty());
}

#[test]
fn a_dialed_connection_opens_the_topics_it_was_found_on_once() {
    let world = World::new();
    let t0 = Instant::now();
    let mut state = ConnectionState::new(
        OWN,
        true,
        vec![LOG_TOPIC, STRANGE_TOPIC, ROOM_TOPIC],
        Link::Direct,
        t0,
        true,
    );
    assert_eq!(state.start(), [Do::Announce], "the UI hears of it at once");
    assert_eq!(
        state.on(On::Handshake, &world, t0),
        [
            Do::Open {
                topic: LOG_TOPIC,
                key: LOG.0
            },
            Do::Open {
                topic: ROOM_TOPIC,
                key: ROOM_KEY
            },
        ],
        "what we hold, logs by their key and rooms by their channel key"
    );
    // Asked already: the peer's own open adds nothing.
    assert!(state.on(On::PeerOpened(LOG_TOPIC), &world, t0).is_empty());
    // A connection we accepted carries no topics: there we only answer.
    let mut answering = accepted(t0);
    assert!(answering.on(On::Handshake, &world, t0).is_empty());
    assert_eq!(
        answering.on(On::PeerOpened(LOG_TOPIC), &world, t0),
        [Do::Open {
            topic: LOG_TOPIC,
            key: LOG.0
        }]
    );
    assert!(answering
        .on(On::PeerOpened(STRANGE_TOPIC), &world, t0)
        .is_empty());
}

#[test]
fn our_hello_goes_first_on_the_first_channel_and_again_when_it_changes() {
    let world = World::new();
    let t0 = Instant::now();
    let mut state = accepted(t0);
    // No channel yet: nothing to say it on.
    assert!(state.on(On::LogsChanged, &world, t0).is_empty());
    assert!(state.on(On::NetworkChanged, &world, t0).is_empty());
    assert_eq!(
        state.on(On::ChannelOpened(LOG_TOPIC), &world, t0),
        [Do::HelloFirst, Do::Attach(LOG_TOPIC, LOG)]
    );
    assert_eq!(
        state.on(On::Attached(LOG_TOPIC, LOG), &world, t0),
        [Do::Announce]
    );
    assert_eq!(state.logs(), [LOG]);
    // Once said, the hello is not first on the next channel.
    assert_eq!(
        state.on(On::ChannelOpened(ROOM_TOPIC), &world, t0),
        [Do::AddRoom(ROOM_TOPIC)]
    );
    assert_eq!(state.on(On::LogsChanged, &world, t0), [Do::HelloAgain]);
    assert_eq!(state.on(On::NetworkChanged, &world, t0), [Do::HelloAgain]);
}

#[test]
fn a_hello_claims_its_session_then_opens_what_both_sides_hold() {
    let world = World::new();
    let t0 = Instant::now();
    let topics = vec![LOG_TOPIC, STRANGE_TOPIC, ROOM_TOPIC];
    // (we dialed it, the session that dialed)
    for (client, dialer) in [(true, OWN), (false, PEER)] {
        let mut state = if client { dialed(t0) } else { accepted(t0) };
        let hello = hello_from(PEER, topics.clone());
        assert_eq!(
            state.on(On::Hello(hello.encode()), &world, t0),
            [Do::Claim {
                hello: hello.clone(),
                dialer
            }]
        );
        assert_eq!(state.peer_session(), None, "not before the claim stands");
        let claimed = On::Claimed {
            hello,
            verdict: SessionVerdict::Keep,
        };
        assert_eq!(
            state.on(claimed, &world, t0),
            [
                Do::HelloTaken { topics: 3 },
                Do::Open {
                    topic: LOG_TOPIC,
                    key: LOG.0
                },
                Do::Open {
                    topic: ROOM_TOPIC,
                    key: ROOM_KEY
                },
            ]
        );
        assert_eq!(state.peer_session(), Some(PEER));
        // A later hello is taken without a claim; what is open stays so.
        let again = hello_from(PEER, topics.clone());
        assert_eq!(
            state.on(On::Hello(again.encode()), &world, t0),
            [Do::HelloTaken { topics: 3 }]
        );
    }
}

#[test]
fn the_route_comes_from_both_places_and_the_ui_hears_when_it_changes() {
    let mut world = World::new();
    let t0 = Instant::now();
    let mut state = dialed(t0);
    let peer_place = Place {
        local: "192.168.1.20:4000".parse().unwrap(),
        public_ip: None,
        nat: Nat::Unknown,
    };
    let hello = Hello {
        own: Some(LOG_TOPIC),
        place: Some(peer_place),
        ..hello_from(PEER, vec![])
    };
    let effects = greet(&mut state, &world, hello, t0);
    assert_eq!(effects, [Do::HelloTaken { topics: 0 }, Do::Announce]);
    let route = state.route().clone();
    assert_eq!(route.address, Some(peer_place.local));
    assert_eq!(
        route.path,
        PeerPath::Unknown,
        "we do not know our place yet"
    );
    assert_eq!(route.link, Link::Direct);
    assert_eq!(route.own_log, Some(LOG), "the log its hello says it writes");
    // Our place is known now: the path is decided.
    world.place = Some(Place {
        local: "192.168.1.20:5000".parse().unwrap(),
        ..peer_place
    });
    assert_eq!(state.on(On::NetworkChanged, &world, t0), [Do::Announce]);
    assert_eq!(state.route().path, PeerPath::ThisMachine);
    // Nothing changed: nothing to tell.
    assert!(state.on(On::NetworkChanged, &world, t0).is_empty());
}

#[test]
fn what_the_peer_was_sent_is_told_once_per_growth() {
    let world = World::new();
    let t0 = Instant::now();
    let mut state = accepted(t0);
    let sent = |index| On::Sent {
        topic: LOG_TOPIC,
        index,
    };
    assert!(
        state.on(sent(4), &world, t0).is_empty(),
        "no channel carries the log"
    );
    attach_log(&mut state, &world, t0);
    // (block written, what the UI hears)
    let table = [
        (4, Some(5)),
        (2, None),
        (4, None),
        (9, Some(10)),
        (u64::MAX, Some(u64::MAX)),
    ];
    for (index, told) in table {
        let expected: Vec<Do> = told
            .map(|length| Do::PeerHas { log: LOG, length })
            .into_iter()
            .collect();
        assert_eq!(state.on(sent(index), &world, t0), expected, "block {index}");
    }
}

#[test]
fn a_channel_that_ended_is_forgotten_and_may_open_again() {
    let world = World::new();
    let t0 = Instant::now();
    let mut state = accepted(t0);
    assert_eq!(state.on(On::PeerOpened(LOG_TOPIC), &world, t0).len(), 1);
    attach_log(&mut state, &world, t0);
    assert_eq!(
        state.on(On::ChannelEnded(LOG_TOPIC, Detached::Closed), &world, t0),
        [Do::ChannelClosed(LOG_TOPIC), Do::Announce]
    );
    assert!(state.logs().is_empty());
    assert_eq!(
        state.on(On::PeerOpened(LOG_TOPIC), &world, t0),
        [Do::Open {
            topic: LOG_TOPIC,
            key: LOG.0
        }]
    );
}

#[test]
fn room_channels_that_change_or_close_are_told() {
    let world = World::new();
    let t0 = Instant::now();
    let mut state = accepted(t0);
    let room = |event, open| On::Room {
        topic: ROOM_TOPIC,
        event,
        open,
    };
    // (what the room channels read, the channel still open, effects)
    let table = [
        (RoomEvent::Nothing, true, vec![]),
        (RoomEvent::Changed, true, vec![Do::Announce]),
        (
            RoomEvent::Changed,
            false,
            vec![Do::ChannelClosed(ROOM_TOPIC), Do::Announce],
        ),
    ];
    for (event, open, effects) in table {
        let label = format!("{event:?}, open {open}");
        assert_eq!(state.on(room(event, open), &world, t0), effects, "{label}");
    }
    // A room we left: its channel was closed, and it may be opened again.
    assert_eq!(state.on(On::PeerOpened(ROOM_TOPIC), &world, t0).len(), 1);
    assert_eq!(
        state.on(
            On::RoomsRefreshed {
                closed: vec![ROOM_TOPIC]
            },
            &world,
            t0
        ),
        [Do::ChannelClosed(ROOM_TOPIC), Do::Announce]
    );
    assert_eq!(state.on(On::PeerOpened(ROOM_TOPIC), &world, t0).len(), 1);
}

#[test]
fn an_announcement_that_did_not_fit_is_tried_again_at_the_health_check() {
    let world = World::new();
    let t0 = Instant::now();
    let mut state = accepted(t0);
    let health = || On::Tick(Tick::Health { heard: t0 + ms(1) });
    assert!(state.on(health(), &world, t0 + secs(2)).is_empty());
    state.on(On::Announced { delivered: false }, &world, t0);
    assert_eq!(state.on(health(), &world, t0 + secs(4)), [Do::Announce]);
    state.on(On::Announced { delivered: true }, &world, t0);
    assert!(state.on(health(), &world, t0 + secs(6)).is_empty());
}
