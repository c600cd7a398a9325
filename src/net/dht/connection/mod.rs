//! What a DHT connection is made of, whichever side started it: the Noise
//! handshake (`handshake`), the holepunch's shared pieces (a puncher
//! socket's NAT sampler, `sampler`; the strategy and its probes, pure,
//! `strategy`; the puncher's sockets, `sockets`), the LAN shortcut's
//! (`lan`: which interface addresses to share, which of the other side's
//! to try), the blind relay's channel (`relay_channel`: the protomux
//! frames of `pair` and `unpair`, both roles) and the stream a connection
//! ends in (`stream`: `DhtStream`, and how it was `Taken`).
//!
//! Uses `encoding` and `kademlia`; `client` and `server` use it, and it
//! uses neither.

pub(super) mod handshake;
pub(super) mod lan;
pub(super) mod relay_channel;
pub(super) mod sampler;
pub(super) mod sockets;
pub(super) mod strategy;
pub(crate) mod stream;
