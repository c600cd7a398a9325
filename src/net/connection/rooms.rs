//! The room channels of one connection: a protocol channel per room both
//! sides are in, keyed by the room's derived channel key. No hypercore is
//! attached; the channel carries only room hellos (`hychat/room`), which
//! introduce each side's log and the members it knows. Owns sending our
//! hello (again whenever it changes), reading the peer's, and knowing which
//! rooms the peer introduced itself in.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::stream::{self, SelectAll, Stream, StreamExt};
use hypercore_protocol::{Channel, Message};

use crate::domain::keys::{ConnectionKey, DiscoveryKey};
use crate::net::shared::rooms::{Introduction, RoomDirectory};
use crate::net::types::PeerRoom;
use crate::net::wire::room_hello::{RoomHello, RoomHelloError, ROOM_EXTENSION};

/// More room hellos than this on one channel within `HELLO_WINDOW` is a
/// flood: honest peers send one on opening and one per change of members
/// or nickname.
pub(crate) const MAX_HELLOS_PER_WINDOW: usize = 30;
pub(crate) const HELLO_WINDOW: Duration = Duration::from_secs(60);

/// A message from the peer on a room channel; `None` when the channel ended.
pub(crate) type RoomMessage = (DiscoveryKey, Option<Message>);

type MessageStream = Pin<Box<dyn Stream<Item = RoomMessage> + Send>>;

/// What a message on a room channel means for the connection.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RoomEvent {
    /// Nothing the connection needs to act on.
    Nothing,
    /// The peer introduced itself or ended a room channel: announce again.
    Changed,
    /// The peer sent a room hello that does not decode: disconnect.
    Malformed(RoomHelloError),
    /// The peer sends room hellos faster than any honest peer: disconnect.
    Flooding,
}

#[derive(Default)]
pub(crate) struct RoomChannels {
    open: BTreeMap<DiscoveryKey, Channel>,
    /// The peer's introduction in each room.
    peer_rooms: BTreeMap<DiscoveryKey, PeerRoom>,
    messages: SelectAll<MessageStream>,
    /// When the peer's recent room hellos arrived, per room.
    recent_hellos: HashMap<DiscoveryKey, VecDeque<Instant>>,
}

impl RoomChannels {
    /// Takes over a freshly opened room channel and sends our hello on it.
    pub(crate) async fn add(
        &mut self,
        mut channel: Channel,
        rooms: &RoomDirectory,
        peer: ConnectionKey,
    ) {
        let topic = DiscoveryKey(*channel.discovery_key());
        let Some(receiver) = channel.take_receiver() else {
            return;
        };
        let ended = stream::once(async move { (topic, None) });
        self.messages.push(Box::pin(
            receiver.map(move |m| (topic, Some(m))).chain(ended),
        ));
        send_hello(&channel, topic, rooms, peer).await;
        self.open.insert(topic, channel);
    }

    /// The next message on any room channel. Pending forever when none is open.
    pub(crate) async fn next(&mut self) -> RoomMessage {
        match self.messages.next().await {
            Some(message) => message,
            None => std::future::pending().await,
        }
    }

    pub(crate) fn is_open(&self, topic: &DiscoveryKey) -> bool {
        self.open.contains_key(topic)
    }

    /// Any open channel, for messages that are not about one room.
    pub(crate) fn any_channel(&self) -> Option<&Channel> {
        self.open.values().find(|c| !c.closed())
    }

    /// The rooms the peer introduced itself in.
    pub(crate) fn peer_rooms(&self) -> Vec<PeerRoom> {
        self.peer_rooms.values().cloned().collect()
    }

    /// Reads one message from the peer.
    pub(crate) fn on_message(
        &mut self,
        (topic, message): RoomMessage,
        rooms: &RoomDirectory,
    ) -> RoomEvent {
        match message {
            Some(Message::Extension(extension)) if extension.name == ROOM_EXTENSION => {
                if self.flooding(topic, Instant::now()) {
                    return RoomEvent::Flooding;
                }
                let hello = match RoomHello::decode(&extension.message) {
                    Ok(hello) => hello,
                    Err(e) => return RoomEvent::Malformed(e),
                };
                let Some(room) = rooms.get(&topic) else {
                    return RoomEvent::Nothing;
                };
                let member = hello.me.key;
                rooms.introduce(Introduction {
                    room: room.clone(),
                    sender: hello.me,
                    known: hello.members,
                });
                self.peer_rooms.insert(topic, PeerRoom { room, member });
                RoomEvent::Changed
            }
            Some(Message::Close(_)) | None => {
                self.end(&topic);
                RoomEvent::Changed
            }
            Some(_) => RoomEvent::Nothing,
        }
    }

    /// Notes a room hello; true when there were too many lately.
    fn flooding(&mut self, topic: DiscoveryKey, now: Instant) -> bool {
        let recent = self.recent_hellos.entry(topic).or_default();
        while recent
            .front()
            .is_some_and(|at| now.duration_since(*at) > HELLO_WINDOW)
        {
            recent.pop_front();
        }
        recent.push_back(now);
        recent.len() > MAX_HELLOS_PER_WINDOW
    }

    /// Forgets a room channel that ended or that we closed.
    fn end(&mut self, topic: &DiscoveryKey) {
        self.peer_rooms.remove(topic);
        self.open.remove(topic);
        self.recent_hellos.remove(topic);
    }

    /// Sends our hello again on every room channel (our nickname or the
    /// members we know changed), and closes the channels of rooms we left.
    /// Returns the topics closed.
    pub(crate) async fn refresh(
        &mut self,
        rooms: &RoomDirectory,
        peer: ConnectionKey,
    ) -> Vec<DiscoveryKey> {
        let left: Vec<DiscoveryKey> = self
            .open
            .keys()
            .filter(|topic| rooms.get(topic).is_none())
            .copied()
            .collect();
        for topic in &left {
            if let Some(channel) = self.open.get(topic) {
                let _ = channel.close().await;
            }
            self.end(topic);
        }
        for (topic, channel) in &self.open {
            send_hello(channel, *topic, rooms, peer).await;
        }
        left
    }
}

async fn send_hello(
    channel: &Channel,
    topic: DiscoveryKey,
    rooms: &RoomDirectory,
    peer: ConnectionKey,
) {
    let Some(hello) = rooms.hello(&topic) else {
        return;
    };
    if let Err(e) = channel.send(hello.to_message()).await {
        tracing::debug!(?peer, error = %e, "could not send a room hello");
    }
}

#[cfg(test)]
mod tests {
    use hypercore_protocol::schema::Extension;

    use super::*;
    use crate::domain::keys::LogKey;
    use crate::domain::room::{Member, RoomName};

    fn extension(name: &str, message: &[u8]) -> Option<Message> {
        Some(Message::Extension(Extension {
            name: name.into(),
            message: message.to_vec(),
        }))
    }

    /// A hello from a member who knows nobody else.
    fn lone_hello() -> RoomHello {
        RoomHello {
            me: Member {
                key: LogKey([2; 32]),
                nickname: None,
            },
            members: vec![],
        }
    }

    #[test]
    fn a_malformed_room_hello_asks_for_a_disconnect() {
        let rooms = RoomDirectory::new(crate::net::shared::signal());
        let room = RoomName::parse("streams-day").unwrap();
        rooms.set(room.clone(), vec![]);
        let mut channels = RoomChannels::default();
        let event = channels.on_message(
            (room.topic(), extension(ROOM_EXTENSION, b"{not json")),
            &rooms,
        );
        assert!(matches!(event, RoomEvent::Malformed(_)), "{event:?}");
        assert!(rooms.take_introductions().is_empty());
    }

    #[test]
    fn a_room_hello_introduces_its_sender_and_the_members_it_knows() {
        let rooms = RoomDirectory::new(crate::net::shared::signal());
        let room = RoomName::parse("streams-day").unwrap();
        rooms.set(room.clone(), vec![]);
        let bob = Member {
            key: LogKey([2; 32]),
            nickname: Some("bob".into()),
        };
        let cy = Member {
            key: LogKey([3; 32]),
            nickname: None,
        };
        let hello = RoomHello {
            me: bob.clone(),
            members: vec![cy.clone()],
        };
        let mut channels = RoomChannels::default();
        let event = channels.on_message(
            (room.topic(), extension(ROOM_EXTENSION, &hello.encode())),
            &rooms,
        );
        assert_eq!(event, RoomEvent::Changed);
        assert_eq!(
            channels.peer_rooms(),
            vec![PeerRoom {
                room: room.clone(),
                member: bob.key
            }]
        );
        assert_eq!(
            rooms.take_introductions(),
            vec![Introduction {
                room,
                sender: bob,
                known: vec![cy],
            }]
        );
        // Other extensions (the log hello travels here too) are not ours.
        let other = channels.on_message(
            (
                RoomName::parse("x").unwrap().topic(),
                extension("hychat/hello", b"{}"),
            ),
            &rooms,
        );
        assert_eq!(other, RoomEvent::Nothing);
    }

    #[test]
    fn a_peer_flooding_room_hellos_is_cut_off() {
        let rooms = RoomDirectory::new(crate::net::shared::signal());
        let room = RoomName::parse("streams-day").unwrap();
        rooms.set(room.clone(), vec![]);
        let hello = lone_hello();
        let mut channels = RoomChannels::default();
        for _ in 0..MAX_HELLOS_PER_WINDOW {
            let event = channels.on_message(
                (room.topic(), extension(ROOM_EXTENSION, &hello.encode())),
                &rooms,
            );
            assert_eq!(event, RoomEvent::Changed);
        }
        let event = channels.on_message(
            (room.topic(), extension(ROOM_EXTENSION, &hello.encode())),
            &rooms,
        );
        assert_eq!(event, RoomEvent::Flooding);
    }

    #[test]
    fn a_hello_for_a_room_we_left_is_ignored() {
        let rooms = RoomDirectory::new(crate::net::shared::signal());
        let room = RoomName::parse("gone").unwrap();
        let hello = lone_hello();
        let mut channels = RoomChannels::default();
        let event = channels.on_message(
            (room.topic(), extension(ROOM_EXTENSION, &hello.encode())),
            &rooms,
        );
        assert_eq!(event, RoomEvent::Nothing);
        assert!(rooms.take_introductions().is_empty());
    }
}
