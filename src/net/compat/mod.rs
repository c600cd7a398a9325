//! Everything that exists only because a pinned crate is defective. Each
//! entry names the crate and version, the symptom, where the workaround
//! lives, how to tell the crate is fixed, and what to delete then. Code
//! elsewhere that works around a crate carries a `compat:` comment that
//! points at a row of this table.
//!
//! | crate@version | symptom | workaround | fixed when | then delete |
//! |---|---|---|---|---|
//! | dht-rpc@0.0.2 | `DhtConfig` without `bind` binds 127.0.0.1: no packet reaches another host (EINVAL) | `net/bind.rs`, `DhtConfig::bind` in `swarm.rs` and `bootstrap.rs` | the default bind is 0.0.0.0 | nothing: an explicit bind stays |
//! | hyperdht@0.1.1 | `todo!()` in `DhtInner::on_request` on `PEER_HOLEPUNCH`, commands 6–10 and some handshake relay modes: a JS peer's request kills the DHT node and poisons its lock | `compat/dht_panics.rs`, used by `swarm.rs` (the swarm is rebuilt), `bootstrap.rs` (the node is rebuilt) and `observed.rs` (closing a connection whose lock a panic poisoned) | a `PEER_HOLEPUNCH` to a node answers or is ignored (lab scenario 5 shows no `panicked at` in the node's log) | `dht_panics.rs` and its callers' `catch_unwind`; the rebuild loops stay as plain restarts |
//! | hyperdht@0.1.1, hyperswarm@0.1.0 | the DHT socket, its RPC and a connection's remote address are private | `dht/probe.rs` asks DHT nodes from sockets of its own; the peer's address comes from its hello (`route.rs`) | `Swarm`/`Connection` expose the socket or the remote address | the probe's own sockets; `place` in the hello may stay for the path |
//! | hyperswarm@0.1.0 | a peer it reached once, or whose first dial failed, is never dialed again from discovery | `fresh_swarm.rs` (the swarm is made afresh after 10 s, then up to 120 s, with no connection carrying a log), `redial.rs` (lost peers are dialed again) | a peer whose connection ended is dialed again on the next lookup | both plans |
//! | hypercore_handshake@0.6.0 | `todo!()` on IO errors other than EOF/reset (a timed-out UDX stream) | each connection runs in its own task (`connection::supervise`) | a timed-out connection ends with an error | the panic branch in `supervise` |

pub(crate) mod dht_panics;
