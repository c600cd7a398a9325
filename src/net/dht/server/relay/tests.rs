//! The blind relay on loopback, with real DHT nodes and real JS peers:
//! hychat peers meet through our relay and through a JS relay, JS peers
//! through ours (`blind-relay.js`), and what happens when a relay stops or
//! is gone.

use std::time::Duration;

use futures::StreamExt;
use hypercore_handshake::CipherEvent;

use super::*;
use crate::net::dht::client::connect_via;
use crate::net::dht::client::relayed::find_relays;
use crate::net::dht::client::ConnectError;
use crate::net::dht::connection::stream::{echo_round_trip, Taken};
use crate::net::dht::server::listener::listen_with;
use crate::net::dht::server::test_nodes::{announced, echo, start, three_nodes, JsScript};

/// How long a JS peer may take to start and say its key.
const JS_START: Duration = Duration::from_secs(20);
/// How long a dial through a relay may take on loopback.
const DIAL: Duration = Duration::from_secs(20);

/// A relay on its own node of the DHT `list`, once it is announced under
/// the relays' topic (waited for, at most 20 s).
async fn ready_relay(list: &[std::net::SocketAddrV4]) -> (Arc<DhtNode>, Relay) {
    let node = Arc::new(start(list.to_vec(), false));
    let relay = start_relay(Arc::clone(&node));
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        while !relay.stats().announced {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the relay is not announced within 20 s");
    (node, relay)
}

/// A hychat server that echoes, announced: its key and its paths.
async fn echo_server(
    list: &[std::net::SocketAddrV4],
) -> (Arc<DhtNode>, [u8; 32], mpsc::UnboundedReceiver<Taken>) {
    let node = Arc::new(start(list.to_vec(), false));
    let key = SigningKey::from_bytes(&rand::random());
    let public = key.verifying_key().to_bytes();
    let listener = listen_with(Arc::clone(&node), key, Lan::Off);
    let mut relays = listener.relays.clone();
    let paths = echo(listener);
    announced(&mut relays).await;
    (node, public, paths)
}

fn key_of(hex_key: &str) -> [u8; 32] {
    hex::decode(hex_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .unwrap_or_else(|| panic!("not a key: {hex_key:?}"))
}

/// Two hychats meet through our relay, found under the relays' topic:
/// both ends say they are relayed by it, a ping and 300 kB come back
/// whole, the relay counts one linked pair over two connections; when the
/// relay stops, the stream through it closes within 10 s; and a dial
/// through the relay that is gone fails with a sentence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hychats_talk_through_our_relay_until_it_stops() {
    let (_nodes, list) = three_nodes();
    let (_relay_node, relay) = ready_relay(&list).await;
    let client = start(list.clone(), false);
    assert_eq!(
        find_relays(&client, &[]).await,
        vec![relay.public_key],
        "the relay is found under the relays' topic"
    );
    let (_server_node, public, mut paths) = echo_server(&list).await;
    // One dial, no retry: the server and the relay are announced.
    let mut connected = tokio::time::timeout(
        DIAL,
        connect_via(&client, public, Lan::Off, Some(relay.public_key)),
    )
    .await
    .expect("the dial ends within 20 s")
    .unwrap_or_else(|e| panic!("the one dial through our relay failed: {e}"));
    assert_eq!(connected.stream.path, Taken::Relayed(relay.public_key));
    assert_eq!(
        echo_round_trip(&mut connected.stream, b"ping")
            .await
            .as_deref(),
        Some(&b"ping"[..])
    );
    let served = paths.recv().await.expect("the server accepted");
    assert_eq!(served, Taken::Relayed(relay.public_key));
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(
        echo_round_trip(&mut connected.stream, &big).await,
        Some(big),
        "300 kB come back whole through the relay"
    );
    let stats = relay.stats();
    assert_eq!((stats.matched, stats.active, stats.connections), (1, 1, 2));

    let gone = relay.public_key;
    drop(relay);
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = connected.stream.session.next().await {
            if matches!(event, CipherEvent::ErrStuff(_)) {
                break;
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the stream through the stopped relay is still open after 10 s"
    );

    let failed = tokio::time::timeout(
        Duration::from_secs(40),
        connect_via(&client, public, Lan::Off, Some(gone)),
    )
    .await
    .expect("a dial through a relay that is gone ends within 40 s");
    match failed {
        Err(e @ ConnectError::Relay(_)) => {
            assert!(e.to_string().contains("blind relay"), "{e}");
        }
        other => panic!("a dial through a relay that is gone: {other:?}"),
    }
}

/// Relays and peers of both kinds on one DHT of our nodes, one dial each:
/// - a JS server that names a JS relay: our client meets it there;
/// - our client names a JS relay for our server;
/// - a JS client names our relay for our server;
/// - a JS client names our relay for a JS server (hychat relays JS alone);
///   both JS peers believe they are firewalled and the client does not
///   punch, so the relay is their only way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_and_peers_of_both_kinds_meet_through_each_other() {
    let (_nodes, list) = three_nodes();
    let bootstrap = list
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut js_relay = JsScript::run("blind-relay.js", &["relay", &bootstrap]);
    let js_relay_key = key_of(&js_relay.line("RELAY ", JS_START).await);
    let client = start(list.clone(), false);

    // A JS server that names the JS relay.
    let mut js_server = JsScript::run(
        "blind-relay.js",
        &["echo", &bootstrap, &hex::encode(js_relay_key)],
    );
    let js_server_key = key_of(&js_server.line("KEY ", JS_START).await);
    let mut connected =
        tokio::time::timeout(DIAL, connect_via(&client, js_server_key, Lan::Off, None))
            .await
            .expect("the dial ends within 20 s")
            .unwrap_or_else(|e| {
                panic!("our one dial to the JS server behind a JS relay failed: {e}")
            });
    assert_eq!(connected.stream.path, Taken::Relayed(js_relay_key));
    assert_eq!(
        echo_round_trip(&mut connected.stream, b"hello js")
            .await
            .as_deref(),
        Some(&b"hello js"[..])
    );
    js_relay.line("PAIRED", DIAL).await;
    drop(connected);

    // Our client names the JS relay for our server.
    let (_server_node, public, mut paths) = echo_server(&list).await;
    let mut connected = tokio::time::timeout(
        DIAL,
        connect_via(&client, public, Lan::Off, Some(js_relay_key)),
    )
    .await
    .expect("the dial ends within 20 s")
    .unwrap_or_else(|e| panic!("our one dial through the JS relay failed: {e}"));
    assert_eq!(
        echo_round_trip(&mut connected.stream, b"ping")
            .await
            .as_deref(),
        Some(&b"ping"[..])
    );
    assert_eq!(paths.recv().await, Some(Taken::Relayed(js_relay_key)));
    js_relay.line("PAIRED", DIAL).await;
    drop(connected);

    // A JS client names our relay for our server.
    let (_relay_node, relay) = ready_relay(&list).await;
    let relay_hex = hex::encode(relay.public_key);
    let mut js_client = JsScript::run(
        "blind-relay.js",
        &["dial", &bootstrap, &hex::encode(public), &relay_hex],
    );
    assert_eq!(js_client.line("ECHO ", DIAL).await, "hello through a relay");
    assert_eq!(paths.recv().await, Some(Taken::Relayed(relay.public_key)));
    assert_eq!(relay.stats().matched, 1);

    // A JS client names our relay for a JS server: hychat relays JS alone.
    let mut js_plain = JsScript::run("blind-relay.js", &["echo", &bootstrap, "-", "firewalled"]);
    let js_plain_key = js_plain.line("KEY ", JS_START).await;
    let mut js_client = JsScript::run(
        "blind-relay.js",
        &["dial", &bootstrap, &js_plain_key, &relay_hex],
    );
    assert_eq!(js_client.line("ECHO ", DIAL).await, "hello through a relay");
    assert_eq!(
        relay.stats().matched,
        2,
        "the JS pair met through our relay"
    );
}
