//! The client role of a DHT connection, as JS hyperdht's `connect` plays
//! it: `connect` finds the server's relays, sends the first Noise message
//! through them and opens the stream on the path the answer allows, straight
//! or through the holepunch (`punch`: the client's rounds and probes).
//!
//! Uses `encoding`, `kademlia` and `connection`; never `server`.
//! `diagnostics` (`hychat dial`) and the server's tests dial with it.

mod connect;
mod punch;

pub(crate) use connect::{connect, ConnectError, Connected};
