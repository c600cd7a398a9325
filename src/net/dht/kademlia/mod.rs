//! The DHT node itself, as JS dht-rpc and hyperdht's record keeping run it:
//! the socket with its retries and reply matching (`rpc`), the routing table
//! and the iterative lookup (`table`, `query`), what a node decides for
//! each request (`node`, with `router` for the connection messages it
//! relays, `store` for the announcements it keeps, `records` for the
//! mutable and immutable records, `aged` for the bounded, aging map both
//! keep them in, and `tokens` for the tokens it issues), and the running node (`service`: `DhtNode`, the one task that
//! performs those decisions, joins the DHT and hands connection messages to
//! our servers). The node also holds the throttle both connection roles ask
//! before a random punch (`throttle`), as JS keeps it on the DHT instance.
//!
//! Uses `encoding` only. Everything above it (`connection`, `client`,
//! `server`, `diagnostics`) runs on a `DhtNode` or its `Rpc`.

mod aged;
mod node;
mod query;
pub(crate) mod records;
mod router;
pub(super) mod rpc;
pub(crate) mod service;
mod store;
pub(super) mod table;
mod throttle;
mod tokens;
