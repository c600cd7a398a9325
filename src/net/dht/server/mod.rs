//! The server role of a DHT connection, as JS hyperdht's `server.js` plays
//! it: `listen` announces our key, answers each client's handshake, punches
//! as the side that did not start and accepts the stream on the path the
//! client's packets really take (`listener`), over the LAN too for a client
//! behind our own router (`lan`); `announcer` announces a key to the nodes
//! closest to it, and withdraws it (the swarm's topics use it too).
//!
//! Uses `encoding`, `kademlia` and `connection`; only its tests use
//! `client` (to dial a server).

pub(crate) mod announcer;
mod lan;
mod listener;

pub(crate) use listener::{listen, Listener};
