//! The server role of a DHT connection, as JS hyperdht's `server.js` plays
//! it: `listen` announces our key, answers each client's handshake, punches
//! as the side that did not start and accepts the stream on the path the
//! client's packets really take (`listener`), over the LAN too for a client
//! behind our own router (`lan`); `announcer` announces a key to the nodes
//! closest to it, and withdraws it (the swarm's topics use it too); `relay`
//! runs a blind relay (a second server, with its pairing table `pairing`).
//!
//! Uses `encoding`, `kademlia` and `connection`, and `client` for what a
//! server shares with it: pairing through a client's blind relay, and the
//! relays' topic (its tests dial with it too).

pub(crate) mod announcer;
mod lan;
mod listener;
mod pairing;
pub(crate) mod relay;
#[cfg(test)]
mod test_nodes;

pub(crate) use listener::{listen, Listener};
pub(crate) use relay::{start_relay, Relay};
