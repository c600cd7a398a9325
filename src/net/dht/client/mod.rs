//! The client role of a DHT connection, as JS hyperdht's `connect` plays
//! it: `connect` finds the server's relays, sends the first Noise message
//! through them and opens the stream on the path the answer allows, straight
//! or through the holepunch (`punch`: the client's rounds and probes) raced
//! with the LAN shortcut behind a shared router (`lan`); and the client
//! side of the mutable and immutable records (`records`).
//!
//! Uses `encoding`, `kademlia` and `connection`; never `server`.
//! `diagnostics` (`hychat dial`) and the server's tests dial with it.

mod connect;
mod lan;
mod punch;
pub(crate) mod records;

#[cfg(test)]
pub(crate) use connect::connect_with;
pub(crate) use connect::{connect, ConnectError, Connected};
