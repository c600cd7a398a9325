//! hychat's own pieces of the DHT protocol. Today: the dht-rpc envelope
//! (`wire`), the pure verdict on our address and NAT from what DHT nodes
//! report (`nat`), and the probe that asks them (`probe`). The DHT node
//! itself is still hyperdht's (see `compat/`); this is where ours will live.

pub(crate) mod codec;
// Used by the node (next stage).
#[allow(dead_code)]
pub(crate) mod crypto;
pub(crate) mod fuzz;
// Used by the node (next stage).
#[allow(dead_code)]
pub(crate) mod messages;
pub(crate) mod nat;
pub(crate) mod probe;
// Used by the node (next stage).
#[allow(dead_code)]
pub(crate) mod store;
pub(crate) mod wire;
