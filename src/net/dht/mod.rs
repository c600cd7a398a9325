//! hychat's own DHT node and the pieces of the protocol it speaks:
//! - `codec`, `wire`, `messages`: the compact-encoding primitives, the
//!   dht-rpc envelope and hyperdht's messages;
//! - `crypto`, `tokens`: namespaces, holepunch secrets, sealed payloads,
//!   announce signatures, and the tokens a node issues;
//! - `table`, `query`: the routing table and the iterative lookup (pure);
//! - `node`, `router`, `store`: what a node decides for each request, how it
//!   relays connection messages, and the records it keeps (pure);
//! - `rpc`, `service`: the socket and the running node;
//! - `nat`, `probe`: the verdict on our address and NAT, and its probe;
//! - `sampler`, `strategy`: a puncher socket's NAT classifier, and how a
//!   punch is chosen, paced and throttled (pure).
//!
//! - `handshake`, `connect`, `punch`, `sockets`, `sampler`, `strategy`: the
//!   Noise handshake and the client role with its holepunch (NAT sampling,
//!   the rounds, the probes of each strategy);
//! - `announcer`, `server`: the server role (announce, answer handshakes,
//!   punch as the side that did not start, accept on the real path);
//! - `dial`: `hychat dial`, the client role as a diagnostic.
//!
//! The bootstrap node runs on this; peers' own nodes are still hyperdht's
//! (see `compat/`) until the client and server roles move here.

#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod announcer;
#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod codec;
pub(crate) mod connect;
#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod crypto;
pub(crate) mod dial;
pub(crate) mod fuzz;
#[allow(dead_code)] // the client and server roles still to come use it
pub(crate) mod handshake;
#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod messages;
pub(crate) mod nat;
pub(crate) mod node;
pub(crate) mod probe;
pub(crate) mod punch;
#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod query;
pub(crate) mod router;
#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod rpc;
#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod sampler;
#[allow(dead_code)] // the swarm switch (next stage) accepts with it
pub(crate) mod server;
pub(crate) mod service;
#[allow(dead_code)] // parts serve the server role still to come
pub(crate) mod sockets;
#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod store;
#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod strategy;
pub(crate) mod stream;
#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod table;
pub(crate) mod tokens;
#[allow(dead_code)] // parts serve the client and server roles still to come
pub(crate) mod wire;
