//! hychat's own DHT node and the pieces of the protocol it speaks:
//! - `codec`, `wire`, `messages`: the compact-encoding primitives, the
//!   dht-rpc envelope and hyperdht's messages;
//! - `crypto`, `tokens`: namespaces, holepunch secrets, sealed payloads,
//!   announce signatures, and the tokens a node issues;
//! - `table`, `query`: the routing table and the iterative lookup (pure);
//! - `node`, `router`, `store`: what a node decides for each request, how it
//!   relays connection messages, and the records it keeps (pure);
//! - `rpc`, `service`: the socket and the running node;
//! - `nat`, `probe`: the verdict on our address and NAT, and its probe.
//!
//! The bootstrap node runs on this; peers' own nodes are still hyperdht's
//! (see `compat/`) until the client and server roles move here.

pub(crate) mod codec;
pub(crate) mod nat;
pub(crate) mod probe;
#[allow(dead_code)] // used by the node driver (next stage)
pub(crate) mod query;
pub(crate) mod rpc;
#[allow(dead_code)] // used by the node driver (next stage)
pub(crate) mod table;
pub(crate) mod tokens;
pub(crate) mod wire;
