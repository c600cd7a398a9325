//! The network view: DHT status and engine errors, the stored network
//! report, the status facts and the network pane with its connections;
//! peers and follows: connection and follow events in the peer state,
//! /peers, and dropping blocks of a log no longer followed.

use std::time::Duration;

use super::*;
use crate::app::network::{self, pane};
use crate::app::overlay::help;
use crate::domain::ConnectionKey;
use crate::net::{
    EngineError, Nat, NetworkReport, NetworkStatus, PeerPath, PeerRoom, PeerRoute, Reachability,
};

#[test]
fn network_status_and_errors() {
    let mut app = ready_app(vec![]);
    assert_eq!(app.network(), None);
    app.update(Event::Net(NetEvent::NetworkStatus(
        NetworkStatus::Offline {
            reason: "no route".into(),
            retry_in: Duration::from_secs(10),
        },
    )));
    app.update(Event::Tick(NOW + time::Duration::seconds(4)));
    assert_eq!(app.retry_in(), Some(Duration::from_secs(6)));
    app.update(Event::Net(NetEvent::Error(EngineError::Save {
        reason: "could not follow: disk full".into(),
    })));
    assert_eq!(last_row(&app), "15:00 ! could not follow: disk full");
}

fn report() -> NetworkReport {
    NetworkReport {
        bound: Some("0.0.0.0:49737".parse().unwrap()),
        local_ip: Some("192.168.1.20".parse().unwrap()),
        public_ip: Some("203.0.113.5".parse().unwrap()),
        nat: Nat::Consistent,
        reachable: Reachability::Unreachable,
        punches: Default::default(),
        relay: None,
    }
}

fn route(address: Option<&str>, path: PeerPath, own_log: Option<LogKey>) -> PeerRoute {
    PeerRoute {
        link: Default::default(),
        address: address.map(|a| a.parse().unwrap()),
        path,
        own_log,
    }
}

fn connect(app: &mut App, byte: u8, logs: Vec<LogKey>, route: PeerRoute) {
    net(
        app,
        NetEvent::PeerConnected {
            peer: ConnectionKey([byte; 32]),
            logs,
            rooms: vec![],
            route,
        },
    );
}

/// The network pane as plain text at a wide popup's width.
fn pane(app: &App) -> Vec<String> {
    pane::lines(app, 76)
        .iter()
        .map(|line| line.iter().map(|(t, _)| t.as_str()).collect())
        .collect()
}

/// The value of a fact in the pane, its wrapped rows joined.
fn fact(pane: &[String], label: &str) -> String {
    let at = pane
        .iter()
        .position(|row| row.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in {pane:#?}"));
    let mut rows = vec![pane[at].trim_start()[label.len()..].trim()];
    rows.extend(
        pane[at + 1..]
            .iter()
            .take_while(|row| row.starts_with(&" ".repeat(25)))
            .map(|row| row.trim()),
    );
    rows.join(" ")
}

#[test]
fn the_network_report_is_stored_and_shown() {
    let mut app = ready_app(vec![]);
    assert_eq!(app.network_report(), &NetworkReport::default());
    let before = pane(&app);
    for label in [
        "listening on",
        "local address",
        "public address",
        "NAT",
        "reachable from outside",
    ] {
        assert_eq!(fact(&before, label), "not known yet", "{before:#?}");
    }
    net(&mut app, NetEvent::NetworkReport(report()));
    assert_eq!(app.network_report(), &report());
    let after = pane(&app);
    assert_eq!(
        fact(&after, "listening on"),
        "0.0.0.0:49737 (every interface)"
    );
    assert_eq!(fact(&after, "local address"), "192.168.1.20");
    assert_eq!(
        fact(&after, "public address"),
        "203.0.113.5 (as DHT nodes see it)"
    );
    assert_eq!(
        fact(&after, "NAT"),
        "port-preserving NAT: peers behind such NATs can reach you"
    );
    assert_eq!(
        fact(&after, "reachable from outside"),
        "no (a NAT or firewall drops unsolicited traffic)"
    );
    assert_eq!(
        network::status_facts(app.network_report()),
        [
            "public 203.0.113.5",
            "port-preserving NAT",
            "not reachable from outside"
        ]
    );
    // A NAT that changes ports says what to do about it.
    net(
        &mut app,
        NetEvent::NetworkReport(NetworkReport {
            nat: Nat::Random,
            ..report()
        }),
    );
    assert_eq!(
        fact(&pane(&app), "NAT"),
        "NAT with a new port per destination: direct connections fail; \
         use a public seed (see README)"
    );
}

#[test]
fn the_dht_state_counts_its_time_from_when_it_changed() {
    let mut app = ready_app(vec![]);
    let at = |seconds| NOW + time::Duration::seconds(seconds);
    app.update(Event::Tick(at(5)));
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Online { nodes: 3 }),
    );
    app.update(Event::Tick(at(65)));
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Online { nodes: 4 }),
    );
    app.update(Event::Tick(at(185)));
    assert_eq!(app.network_since(), at(5));
    let text = pane(&app);
    assert_eq!(fact(&text, "DHT"), "Online (4 nodes)");
    assert_eq!(fact(&text, "since"), "15:00 (3m ago)", "{text:#?}");
    // Offline again and again: the state's time stays, each retry counts anew.
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Offline {
            reason: "no route".into(),
            retry_in: Duration::from_secs(10),
        }),
    );
    app.update(Event::Tick(at(195)));
    net(
        &mut app,
        NetEvent::NetworkStatus(NetworkStatus::Offline {
            reason: "no route".into(),
            retry_in: Duration::from_secs(20),
        }),
    );
    app.update(Event::Tick(at(200)));
    assert_eq!(app.network_since(), at(185));
    assert_eq!(app.retry_in(), Some(Duration::from_secs(15)));
}

#[test]
fn net_command_and_f2_open_the_pane_and_esc_closes_it() {
    let mut app = ready_app(vec![]);
    type_str(&mut app, "/ne");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.input().text(), "/net ");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.overlay(), Some(Overlay::Network));
    // Typing does not leak into the input behind the pane.
    type_str(&mut app, "x");
    assert!(app.input().is_empty());
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay(), None);
    press(&mut app, KeyCode::F(2));
    assert_eq!(app.overlay(), Some(Overlay::Network));
    // F2 again closes it; F1 and F2 switch between help and the pane.
    press(&mut app, KeyCode::F(2));
    assert_eq!(app.overlay(), None);
    press(&mut app, KeyCode::F(2));
    press(&mut app, KeyCode::F(1));
    assert_eq!(app.overlay(), Some(Overlay::Help));
    press(&mut app, KeyCode::F(2));
    assert_eq!(app.overlay(), Some(Overlay::Network));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay(), None);
    assert!(help::lines(76)
        .iter()
        .any(|line| line.iter().any(|(t, _)| t.contains("/net"))));
}

#[test]
fn the_network_pane_scrolls_when_there_are_many_connections() {
    let mut app = ready_app(friends());
    app.update(Event::Resize(80, 16));
    for byte in 1..=6 {
        connect(&mut app, byte, vec![ANN, BOB], PeerRoute::default());
    }
    press(&mut app, KeyCode::F(2));
    let max = pane::max_scroll(&app, ratatui::layout::Rect::new(0, 0, 80, 16));
    assert!(max > 0);
    for _ in 0..100 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(app.overlay_scroll(), max);
}

#[test]
fn a_peer_carrying_nothing_is_not_listed() {
    let mut app = ready_app(friends());
    connect(
        &mut app,
        0xc0,
        vec![],
        route(Some("127.0.0.1:40001"), PeerPath::ThisMachine, None),
    );
    assert_eq!(app.peers().peers().len(), 1);
    assert_eq!(app.peers().listed().count(), 0);
    assert_eq!(app.peers().connecting(), 1);
    // The pane still shows the connection, and that it carries nothing.
    let text = pane(&app).join("\n");
    assert!(
        text.contains("  c0c0c0c0 · this machine · 127.0.0.1:40001 · for 0s\n    no logs yet"),
        "{text}"
    );
    // Once it carries a log it is a peer like any other.
    connect(&mut app, 0xc0, vec![ANN], PeerRoute::default());
    assert_eq!(app.peers().listed().count(), 1);
    assert_eq!(app.peers().connecting(), 0);
}

#[test]
fn logs_a_peer_does_not_write_are_marked_relayed() {
    let mut app = ready_app(vec![follow(ANN, Some("ann")), follow(BOB, Some("bob"))]);
    // Ann's machine, on the LAN: her log is hers, ours she relays.
    connect(
        &mut app,
        0xa0,
        vec![ANN, OWN],
        route(Some("192.168.1.30:49737"), PeerPath::Lan, Some(ANN)),
    );
    // A seed on the internet behind a NAT that rewrites its port (so the
    // port is not known): its own log is not shared, Bob's it relays.
    let seed = LogKey([0x5e; 32]);
    connect(
        &mut app,
        0x5e,
        vec![BOB],
        route(Some("198.51.100.7:0"), PeerPath::Internet, Some(seed)),
    );
    // A peer that did not say which log is its own: nothing is marked.
    connect(&mut app, 0x3a, vec![BOB], PeerRoute::default());
    let text = pane(&app).join("\n");
    assert!(
        text.contains(
            "Connections (3)\n\
             \x20 ann a0a0a0a0 · LAN · 192.168.1.30:49737 · for 0s\n\
             \x20   ann a1a1a1a1\n\
             \x20   you 11111111\n\
             \x20 5e5e5e5e · internet · 198.51.100.7 · for 0s\n\
             \x20   bob b0b0b0b0 · relayed\n\
             \x20 3a3a3a3a · path unknown · address not reported · for 0s\n\
             \x20   bob b0b0b0b0"
        ),
        "{text}"
    );
    let tags: Vec<Option<&str>> = app
        .peers()
        .listed()
        .map(|p| network::peer_tag(p, app.own()))
        .collect();
    assert_eq!(tags, [Some("lan"), Some("relay"), None]);
}

// ---- peers and follows ----

#[test]
fn peers_command_lists_connected_peers() {
    let mut app = ready_app(vec![follow(ANN, Some("ann"))]);
    submit(&mut app, "/peers");
    assert_eq!(last_row(&app), "15:00 * no peers connected");
    app.update(Event::Net(NetEvent::PeerConnected {
        peer: ConnectionKey([0xee; 32]),
        logs: vec![OWN, ANN],
        rooms: vec![],
        route: Default::default(),
    }));
    app.update(Event::Tick(NOW + time::Duration::minutes(3)));
    submit(&mut app, "/peers");
    let text = rows(&app);
    let tail = &text[text.len() - 2..];
    assert_eq!(tail[0], "15:03 * 1 peer connected:");
    assert_eq!(
        tail[1],
        "        eeeeeeee for 3m: you (11111111), ann (a1a1a1a1)"
    );
}

#[test]
fn peers_and_follows_follow_the_events() {
    let mut app = ready_app(vec![follow(ANN, Some("ann"))]);
    let peer = ConnectionKey([7; 32]);
    app.update(Event::Net(NetEvent::PeerConnected {
        peer,
        logs: vec![ANN],
        rooms: vec![],
        route: Default::default(),
    }));
    assert!(app.peers().is_online(&ANN));
    app.update(Event::Net(NetEvent::LogProgress {
        log: ANN,
        downloaded: 2,
        length: 9,
    }));
    let followed = app.peers().follow(&ANN).unwrap();
    assert_eq!((followed.downloaded, followed.length), (2, 9));
    app.update(appended(ANN, 3, "annie", "hi", 1));
    assert_eq!(app.peers().follow(&ANN).unwrap().display_name(), "annie");
    app.update(Event::Net(NetEvent::PeerDisconnected { peer }));
    assert!(!app.peers().is_online(&ANN));

    app.update(Event::Tick(NOW + time::Duration::minutes(5)));
    app.update(Event::Net(NetEvent::Followed(follow(BOB, None))));
    assert!(app.peers().is_following(&BOB));
    assert!(rows(&app).join(" ").contains("following b0b0b0b0;"));
    app.update(Event::Net(NetEvent::Unfollowed { log: ANN }));
    assert!(!app.peers().is_following(&ANN));
    assert!(rows(&app).iter().all(|r| !r.contains("annie:")));
    assert!(last_row(&app).contains("stopped following annie"));
}

#[test]
fn blocks_in_flight_for_an_unfollowed_log_are_dropped_until_followed_again() {
    let mut app = ready_app(vec![follow(ANN, None)]);
    app.update(appended(ANN, 0, "ann", "one", 1));
    app.update(Event::Net(NetEvent::Unfollowed { log: ANN }));
    app.update(appended(ANN, 1, "ann", "late", 2));
    assert!(rows(&app).iter().all(|r| !r.contains("ann:")));
    app.update(Event::Net(NetEvent::Followed(follow(ANN, None))));
    app.update(appended(ANN, 0, "ann", "one", 1));
    assert!(rows(&app).iter().any(|r| r.contains("ann: one")));
}

#[test]
fn peers_show_the_rooms_they_were_met_in() {
    let mut app = room_app();
    net(
        &mut app,
        NetEvent::PeerConnected {
            peer: ConnectionKey([0xee; 32]),
            logs: vec![BOB],
            rooms: vec![PeerRoom {
                room: room("rust"),
                member: BOB,
            }],
            route: Default::default(),
        },
    );
    submit(&mut app, "/peers");
    assert_eq!(
        last_row(&app),
        "        eeeeeeee for 0s in #rust: bob (b0b0b0b0)"
    );
}
