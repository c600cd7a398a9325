//! A connection through a blind relay, as JS hyperdht's `relayThrough`
//! runs it, for both roles (the server's listener pairs through here
//! too): dial the relay like any server, open the `blind-relay` channel on
//! that connection with our key as its id, send `pair` with the token the
//! handshake agreed and our UDX stream's id, and when the relay answers
//! with our link's id, connect the stream to the relay's address on the
//! relay connection's socket. The secret stream then runs end to end
//! through the relay, keyed by the peers' own handshake: the relay sees
//! ciphertext and stream ids only.
//!
//! Which relay: the one a side's handshake payload names (the server's
//! wins, and it pairs as the initiator; otherwise the client's). A hychat
//! client names one when the environment forces it
//! (`HYCHAT_RELAY_THROUGH`, as JS's `relayThrough` option) or after a
//! holepunch that cannot work (`wants_relay`), picking one of the relays
//! announced under the relays' topic (`find_relays`; `server/relay.rs`
//! announces there).
//!
//! The relay connection lives as long as the relayed stream (a `Hold` the
//! stream's session keeps); when the relay's connection ends, the relayed
//! stream is destroyed with it.

use std::future::Future;
use std::net::{SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hypercore_handshake::CipherEvent;

use super::connect::{connect_via, ConnectError, Connected};
use super::punch::PunchError;
use crate::net::dht::connection::lan::Lan;
use crate::net::dht::connection::relay_channel::{ChannelEvent, RelayChannel};
use crate::net::dht::connection::stream::Hold;
use crate::net::dht::encoding::crypto::hash;
use crate::net::dht::encoding::messages::{LookupRawReply, LOOKUP};
use crate::net::dht::encoding::relay::RelayMessage;
use crate::net::dht::kademlia::service::DhtNode;
use crate::net::transport::session::Session;
use crate::net::transport::udx::socket::UdxStream;

/// The relay must pair us within this (JS's relay timeout).
pub(crate) const PAIR_TIMEOUT: Duration = Duration::from_secs(15);
/// Relays tried after a holepunch that cannot work.
const RELAYS_TRIED: usize = 2;
/// The environment variable that sends every dial through one relay.
pub(crate) const RELAY_THROUGH_ENV: &str = "HYCHAT_RELAY_THROUGH";

/// The DHT topic hychat's relays announce themselves under.
pub(crate) fn relay_topic() -> [u8; 32] {
    hash(&[b"hychat blind relay v1"])
}

/// Why a relay could not carry a connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    #[error("could not reach the blind relay {relay}: {reason}")]
    Unreachable { relay: String, reason: String },
    #[error("the blind relay {0} refused to relay")]
    Refused(String),
    #[error("the blind relay {0} did not pair us within 15 s")]
    TimedOut(String),
    #[error("the blind relay {0} closed the connection before pairing us")]
    Closed(String),
    #[error("the UDX stream through the blind relay could not open: {0}")]
    Stream(String),
}

/// A stream through a relay, and what keeps the relay connection open.
pub(crate) struct Relayed {
    pub(crate) stream: UdxStream,
    pub(crate) relay_addr: SocketAddrV4,
    pub(crate) hold: Hold,
}

fn short(key: &[u8; 32]) -> String {
    key[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Pairs our stream `local_id` through the relay `relay_key` under
/// `token`, as the `initiator` or not. (Boxed: dialing the relay is a
/// `connect_via`, which may call this again.)
pub(crate) fn pair_through(
    node: &DhtNode,
    relay_key: [u8; 32],
    initiator: bool,
    token: [u8; 32],
    local_id: u32,
) -> Pin<Box<dyn Future<Output = Result<Relayed, RelayError>> + Send + '_>> {
    Box::pin(pair(node, relay_key, initiator, token, local_id))
}

async fn pair(
    node: &DhtNode,
    relay_key: [u8; 32],
    initiator: bool,
    token: [u8; 32],
    local_id: u32,
) -> Result<Relayed, RelayError> {
    let relay = short(&relay_key);
    // The relay is dialed as any server (never through a relay itself).
    let connected = connect_via(node, relay_key, Lan::from_env(), None)
        .await
        .map_err(|e| RelayError::Unreachable {
            relay: relay.clone(),
            reason: e.to_string(),
        })?;
    let udx = connected.stream.udx.clone();
    let relay_addr = connected.stream.remote_addr;
    let mut session = connected.stream.session;
    let pair = RelayMessage::Pair {
        initiator,
        token,
        id: local_id,
        seq: 0,
    };
    let mut channel = RelayChannel::default();
    let opened = async {
        session
            .send(RelayChannel::open(node.key_pair().public))
            .await?;
        session.send(RelayChannel::send(&pair)).await
    };
    if opened.await.is_err() {
        return Err(RelayError::Closed(relay));
    }
    let paired = tokio::time::timeout(
        PAIR_TIMEOUT,
        answer(&mut session, &mut channel, initiator, token, &relay),
    )
    .await
    .map_err(|_| RelayError::TimedOut(relay.clone()))??;
    let stream = udx
        .socket()
        .create_stream(local_id)
        .and_then(|half| half.connect(SocketAddr::V4(relay_addr), paired))
        .map_err(|e| RelayError::Stream(e.to_string()))?;
    tracing::debug!(%relay, %relay_addr, link = paired, "paired through a blind relay");
    let hold = Hold(tokio::spawn(keep(session, channel, stream.clone())));
    Ok(Relayed {
        stream,
        relay_addr,
        hold,
    })
}

/// Reads the relay connection until the relay pairs us: our link's id.
async fn answer(
    session: &mut Session,
    channel: &mut RelayChannel,
    initiator: bool,
    token: [u8; 32],
    relay: &str,
) -> Result<u32, RelayError> {
    while let Some(event) = session.next().await {
        let CipherEvent::Message(bytes) = event else {
            if matches!(event, CipherEvent::ErrStuff(_)) {
                break;
            }
            continue;
        };
        let events = channel
            .on_message(&bytes)
            .map_err(|_| RelayError::Refused(relay.to_string()))?;
        for event in events {
            match event {
                ChannelEvent::Relay(RelayMessage::Pair {
                    initiator: theirs,
                    token: t,
                    id,
                    ..
                }) if theirs == initiator && t == token => return Ok(id),
                ChannelEvent::Closed => return Err(RelayError::Refused(relay.to_string())),
                ChannelEvent::Reply(frame) => {
                    if session.send(frame).await.is_err() {
                        break;
                    }
                }
                ChannelEvent::Opened | ChannelEvent::Relay(_) => {}
            }
        }
    }
    Err(RelayError::Closed(relay.to_string()))
}

/// Keeps the relay connection read (its keepalives flow) until it ends,
/// then destroys the stream it carried.
async fn keep(mut session: Session, mut channel: RelayChannel, stream: UdxStream) {
    while let Some(event) = session.next().await {
        match event {
            CipherEvent::Message(bytes) => match channel.on_message(&bytes) {
                Ok(events) if !events.contains(&ChannelEvent::Closed) => {}
                _ => break,
            },
            CipherEvent::ErrStuff(_) => break,
            _ => {}
        }
    }
    tracing::debug!("the blind relay's connection ended; closing the stream it carried");
    stream.destroy();
}

/// Whether a failed dial should be tried again through a relay: only when
/// the holepunch cannot work, whenever it is tried (both NATs random, the
/// peer offers no way to punch or does not punch), as hyperswarm forces a
/// relay after the same. A punch that failed this time (no probe got
/// through, the random-punch throttle, no NAT verdict in time) is dialed
/// again later by the swarm instead, and a direct path is kept for when it
/// works.
pub(crate) fn wants_relay(error: &ConnectError) -> bool {
    matches!(
        error,
        ConnectError::CannotConnect
            | ConnectError::Punch(
                PunchError::DoubleRandomized
                    | PunchError::NotPunchable
                    | PunchError::RemoteNotPunching
            )
    )
}

/// The relay the environment sends every dial through, if it names one
/// (64 hex digits); anything else is ignored with a warning.
pub(crate) fn forced_relay() -> Option<[u8; 32]> {
    let text = std::env::var(RELAY_THROUGH_ENV).ok()?;
    let parsed = parse_key(text.trim());
    if parsed.is_none() {
        tracing::warn!(
            value = %text,
            "{RELAY_THROUGH_ENV} is not a key of 64 hex digits; dialing without a relay"
        );
    }
    parsed
}

fn parse_key(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut key = [0; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

/// The relays announced under the relays' topic, but `not` these keys.
pub(crate) async fn find_relays(node: &DhtNode, not: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let answers = node.query(LOOKUP, relay_topic(), None).await;
    let mut keys: Vec<[u8; 32]> = answers
        .iter()
        .filter_map(|a| LookupRawReply::decode(a.reply.value.as_deref()?).ok())
        .flat_map(|reply| reply.peers)
        .map(|peer| peer.public_key)
        .filter(|key| !not.contains(key))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Connects to `public_key`: through the forced relay if the environment
/// names one; otherwise as `connect` does, and when the holepunch cannot
/// work, again through an announced relay.
pub(crate) async fn connect_or_relay(
    node: &DhtNode,
    public_key: [u8; 32],
) -> Result<Connected, ConnectError> {
    let lan = Lan::from_env();
    if let Some(relay) = forced_relay() {
        return connect_via(node, public_key, lan, Some(relay)).await;
    }
    let first = match connect_via(node, public_key, lan, None).await {
        Err(e) if wants_relay(&e) => e,
        done => return done,
    };
    let relays = find_relays(node, &[public_key, node.key_pair().public]).await;
    if relays.is_empty() {
        return Err(first);
    }
    tracing::debug!(error = %first, relays = relays.len(), "the holepunch cannot work; trying a blind relay");
    let mut last = first;
    for relay in relays.into_iter().take(RELAYS_TRIED) {
        match connect_via(node, public_key, lan, Some(relay)).await {
            Ok(connected) => return Ok(connected),
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_punch_that_can_never_work_is_tried_through_a_relay() {
        let table = [
            (ConnectError::Punch(PunchError::DoubleRandomized), true),
            (ConnectError::Punch(PunchError::NotPunchable), true),
            (ConnectError::Punch(PunchError::RemoteNotPunching), true),
            (ConnectError::CannotConnect, true),
            (ConnectError::Punch(PunchError::Throttled), false),
            (ConnectError::Punch(PunchError::Aborted), false),
            (ConnectError::Punch(PunchError::ProbeTimeout), false),
            (ConnectError::NotFound, false),
            (ConnectError::NoAnswer("x".into()), false),
            (ConnectError::Punch(PunchError::Invalid), false),
            (ConnectError::Stream("x".into()), false),
        ];
        for (error, relay) in table {
            assert_eq!(wants_relay(&error), relay, "{error}");
        }
    }

    #[test]
    fn a_forced_relay_is_64_hex_digits() {
        let key = "ab".repeat(32);
        assert_eq!(parse_key(&key), Some([0xab; 32]));
        for bad in [
            "",
            "ab",
            &"zz".repeat(32),
            &"ab".repeat(33),
            &"é".repeat(32),
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }
}
