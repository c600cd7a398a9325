//! The client role of a DHT connection, as JS hyperdht's `connect` plays
//! it: `connect` finds the server's relays, sends the first Noise message
//! through them and opens the stream on the path the answer allows, straight
//! or through the holepunch (`punch`: the client's rounds and probes) raced
//! with the LAN shortcut behind a shared router (`lan`), or through a
//! blind relay when either side asks for one (`relayed`, which also finds
//! relays and retries a dial whose holepunch cannot work); and the client
//! side of the mutable and immutable records (`records`).
//!
//! Uses `encoding`, `kademlia` and `connection`; never `server`. The
//! server pairs through a relay with `relayed::pair_through`.
//! `diagnostics` (`hychat dial`) and the server's tests dial with it.

mod connect;
mod lan;
mod punch;
pub(crate) mod records;
pub(crate) mod relayed;

#[cfg(test)]
pub(crate) use connect::{connect_via, connect_with};
pub(crate) use connect::{ConnectError, Connected};
pub(crate) use relayed::connect_or_relay;
