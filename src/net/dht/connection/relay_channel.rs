//! The `blind-relay` channel of one connection, as JS `protomux` runs it
//! for `blind-relay`'s client and server alike: we open our channel (id 1)
//! with an id (the client's public key, on both sides), the peer opens its
//! own, and each side's messages name the sender's channel. Pure: secret-
//! stream messages in, what they meant out; the relay client
//! (`client/relayed.rs`) and the relay (`server/relay.rs`) do the IO.
//!
//! Anything else a peer opens is rejected, as protomux rejects a protocol
//! nobody listens for; messages on channels we do not know are ignored.

use crate::net::dht::encoding::relay::{Frame, RelayMessage, BLIND_RELAY};

/// Our channel's id: the only one we open on a relay connection.
const OURS: u64 = 1;

/// What a secret-stream message meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChannelEvent {
    /// The peer opened its blind-relay channel.
    Opened,
    /// A blind-relay message on the peer's channel.
    Relay(RelayMessage),
    /// The peer closed its channel, or rejected ours.
    Closed,
    /// Send this frame back (a reject of a channel we do not speak).
    Reply(Vec<u8>),
}

/// One connection's blind-relay channel.
#[derive(Debug, Default)]
pub(crate) struct RelayChannel {
    /// The peer's channel id, once it opened.
    remote: Option<u64>,
}

impl RelayChannel {
    /// Our open frame, with `id` as the channel's id.
    pub(crate) fn open(id: [u8; 32]) -> Vec<u8> {
        Frame::Open {
            local_id: OURS,
            protocol: BLIND_RELAY.to_string(),
            id: Some(id.to_vec()),
        }
        .encode()
    }

    /// `message` on our channel, as a secret-stream message.
    pub(crate) fn send(message: &RelayMessage) -> Vec<u8> {
        message.frame(OURS).encode()
    }

    /// One secret-stream message from the peer. Bytes that are no frame
    /// are an error (the caller closes the connection).
    pub(crate) fn on_message(
        &mut self,
        bytes: &[u8],
    ) -> Result<Vec<ChannelEvent>, crate::net::dht::encoding::relay::RelayError> {
        let mut events = Vec::new();
        for frame in Frame::decode(bytes)? {
            match frame {
                Frame::Open {
                    local_id, protocol, ..
                } if protocol == BLIND_RELAY && self.remote.is_none() && local_id != 0 => {
                    self.remote = Some(local_id);
                    events.push(ChannelEvent::Opened);
                }
                Frame::Open { local_id, .. } => {
                    events.push(ChannelEvent::Reply(
                        Frame::Reject {
                            remote_id: local_id,
                        }
                        .encode(),
                    ));
                }
                Frame::Reject { remote_id: OURS } => events.push(ChannelEvent::Closed),
                Frame::Close { local_id } if Some(local_id) == self.remote => {
                    self.remote = None;
                    events.push(ChannelEvent::Closed);
                }
                Frame::Message {
                    channel,
                    kind,
                    body,
                } if Some(channel) == self.remote => {
                    if let Some(message) = RelayMessage::decode(kind, &body)? {
                        events.push(ChannelEvent::Relay(message));
                    }
                }
                Frame::Reject { .. } | Frame::Close { .. } | Frame::Message { .. } => {}
            }
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(initiator: bool, id: u32) -> RelayMessage {
        RelayMessage::Pair {
            initiator,
            token: [7; 32],
            id,
            seq: 0,
        }
    }

    #[test]
    fn a_peer_opens_pairs_and_closes() {
        let mut channel = RelayChannel::default();
        // A message before the peer's open is on no channel we know.
        let early = pair(true, 5).frame(3).encode();
        assert_eq!(channel.on_message(&early).unwrap(), vec![]);
        let open = Frame::Open {
            local_id: 3,
            protocol: BLIND_RELAY.into(),
            id: Some(vec![1; 32]),
        }
        .encode();
        assert_eq!(
            channel.on_message(&open).unwrap(),
            vec![ChannelEvent::Opened]
        );
        assert_eq!(
            channel.on_message(&early).unwrap(),
            vec![ChannelEvent::Relay(pair(true, 5))]
        );
        // A message on another channel is ignored.
        assert_eq!(
            channel
                .on_message(&pair(true, 5).frame(4).encode())
                .unwrap(),
            vec![]
        );
        assert_eq!(
            channel
                .on_message(&Frame::Close { local_id: 3 }.encode())
                .unwrap(),
            vec![ChannelEvent::Closed]
        );
    }

    #[test]
    fn another_protocol_is_rejected_and_a_reject_of_ours_closes() {
        let mut channel = RelayChannel::default();
        let open = Frame::Open {
            local_id: 2,
            protocol: "hypercore/alpha".into(),
            id: None,
        }
        .encode();
        assert_eq!(
            channel.on_message(&open).unwrap(),
            vec![ChannelEvent::Reply(Frame::Reject { remote_id: 2 }.encode())]
        );
        assert_eq!(
            channel
                .on_message(&Frame::Reject { remote_id: 1 }.encode())
                .unwrap(),
            vec![ChannelEvent::Closed]
        );
        assert!(channel.on_message(&[1]).is_err());
    }

    #[test]
    fn our_frames_are_the_js_clients() {
        assert_eq!(RelayChannel::open([0xaa; 32])[..4], [0, 1, 1, 11]);
        assert_eq!(RelayChannel::send(&pair(true, 1))[..3], [1, 0, 1]);
    }
}
