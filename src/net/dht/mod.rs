//! hychat's own pieces of the DHT protocol. Today: the dht-rpc envelope
//! (`wire`), the pure verdict on our address and NAT from what DHT nodes
//! report (`nat`), the probe that asks them (`probe`), and the pure routing
//! table (`table`) and iterative lookup (`query`). The DHT node itself is
//! still hyperdht's (see `compat/`); this is where ours will live.

pub(crate) mod codec;
pub(crate) mod nat;
pub(crate) mod probe;
#[allow(dead_code)] // used by the node driver (next stage)
pub(crate) mod query;
#[allow(dead_code)] // used by the node driver (next stage)
pub(crate) mod table;
pub(crate) mod wire;
