//! hychat's own DHT node, speaking dht-rpc and hyperdht as the JS modules
//! do. Everything hychat does on the DHT runs on it: the bootstrap node
//! (`swarm/bootstrap.rs`), every peer's swarm (the client role through
//! `client::connect_or_relay`, the server role through `server::listen` and the
//! announcer, topics through LOOKUP and the announcer), and `hychat dial`.
//!
//! The folders, each using only those listed before it (no arrow points
//! back):
//! - `encoding/`: the compact-encoding primitives, the dht-rpc envelope,
//!   hyperdht's messages and the crypto over them (pure);
//! - `kademlia/`: the node: its socket, routing table and lookups, what it
//!   decides for each request, the records and tokens it keeps, and the
//!   running `DhtNode`;
//! - `connection/`: what both roles of a connection share: the Noise
//!   handshake, the holepunch's NAT sampler, strategy and sockets, and the
//!   stream a connection ends in;
//! - `client/`: the client role (`connect`, with its holepunch);
//! - `server/`: the server role (`listen`) and the announcer;
//! - `diagnostics/`: the NAT verdict and its probe, and `hychat dial`.
//!
//! encoding <- kademlia <- connection <- client <- server <- diagnostics;
//! `server` uses `client` to pair through a blind relay (JS's server dials
//! the relay the same way) and in its tests; `diagnostics` uses `client`
//! (not `server`).

pub(crate) mod client;
pub(crate) mod connection;
pub(crate) mod diagnostics;
pub(crate) mod encoding;
pub(crate) mod kademlia;
pub(crate) mod server;
