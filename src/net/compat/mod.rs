//! Everything that exists only because a pinned crate is defective. Each
//! entry names the crate and version, the symptom, where the workaround
//! lives, how to tell the crate is fixed, and what to delete then. Code
//! elsewhere that works around a crate carries a `compat:` comment that
//! points at a row of this table.
//!
//! | crate@version | symptom | workaround | fixed when | then delete |
//! |---|---|---|---|---|
//! | dht-rpc@0.0.2 | `DhtConfig` without `bind` binds 127.0.0.1: no packet reaches another host (EINVAL) | `swarm/bind.rs`, `DhtConfig::bind` in `swarm/mod.rs` and `swarm/bootstrap.rs` | the default bind is 0.0.0.0 | nothing: an explicit bind stays |
//! | hyperdht@0.1.1 | `todo!()` in `DhtInner::on_request` on `PEER_HOLEPUNCH`, commands 6–10 and some handshake relay modes: a JS peer's request kills the DHT node and poisons its lock | `compat/dht_panics.rs`, used by `swarm/mod.rs` (the swarm is rebuilt), `swarm/bootstrap.rs` (the node is rebuilt) and `observed.rs` (closing a connection whose lock a panic poisoned) | a `PEER_HOLEPUNCH` to a node answers or is ignored (lab scenario 5 shows no `panicked at` in the node's log) | `dht_panics.rs` and its callers' `catch_unwind`; the rebuild loops stay as plain restarts |
//! | hyperdht@0.1.1, hyperswarm@0.1.0 | the DHT socket, its RPC and a connection's remote address are private | `dht/probe.rs` asks DHT nodes from sockets of its own; the peer's address comes from its hello (`route.rs`) | `Swarm`/`Connection` expose the socket or the remote address | the probe's own sockets; `place` in the hello may stay for the path |
//! | hyperswarm@0.1.0 | a peer it reached once, or whose first dial failed, is never dialed again from discovery | `compat/fresh_swarm.rs` (the swarm is made afresh after 10 s, then up to 120 s, with no connection carrying a log), `compat/redial.rs` (lost peers are dialed again) | a peer whose connection ended is dialed again on the next lookup | both plans and their calls in `swarm/mod.rs` |
//! | hyperswarm@0.1.0 | our own lookups find our own announcements and dial them | both halves are closed (`swarm/mod.rs`, marked; the hello's session check in `connection/mod.rs`) | no connection to our own key is ever made | the marked branch and `own_dial_key` |
//! | dht-rpc@0.0.2, hypercore_handshake@0.6.0 | futures wake themselves before returning `Pending`: an idle node keeps a core busy | `compat/pacing.rs` (`Paced` defers self-wakes), around the swarm, bootstrap and connection tasks | an idle node (`ps`, 20 s) uses near 0% CPU without `Paced` | `pacing.rs` and the `Paced::new` wrappers |
//! | hypercore-protocol@0.7.2 | `Protocol` returns `Pending` forever after its stream ends, and exposes neither extension messages on channels it did not open nor a peer's ranges | `compat/observed.rs` (notices the end, closes properly on drop, reports what it reads), `compat/frames.rs` (reads hellos, ranges and lengths from passing frames) | `Protocol` yields `None` at the end and an event per extension and range | both files; `connection/mod.rs` then reads `Protocol` events |
//! | hypercore@0.17.0-alpha.1 | the built-in replicator: a local append waits for a wake-up; a writer's newer length is not asked for when syncs cross; one request in flight, dropped requests and data; proofs from two peers at once fail the channel ("Tree was modified during changeset"); some clones and every log over 32,768 blocks cannot be reopened; reads fail briefly while replication writes; a `dbg!` writes to stderr | marked `compat: hypercore row`: `FlushAfterAppend`, `review_upgrades` (`connection/mod.rs`) with `connection/policy.rs`, `clone_afresh` (`engine/mod.rs`), `open_clone` (`log/open.rs`), the own log's journal and rebuild (`log/own.rs`, `log/journal.rs`, `log/legacy.rs`), `read_with_retry` (`log/task.rs`), `log/requests.rs` (retries, skips, stalls), `report_stall`, `report_channel_failure` (`shared/health.rs`), `capture_stderr_into` (`logging.rs`) | a 10,000-block catch-up between two hychats with live appends and a room of three passes without any of them firing (the log lines they write) | those functions, once a replicator of our own replaces `attach_channel` |
//! | hyperdht@0.1.1 | a JS client's handshake through several relays gives a server two or three connections for one stream; dropping one resets the stream | duplicates are parked (`swarm/mod.rs`, marked) | one connection per remote stream | `parked` in `swarm/mod.rs` |
//! | hypercore_handshake@0.6.0 | `todo!()` on IO errors other than EOF/reset (a timed-out UDX stream) | each connection runs in its own task (`connection::supervise`) | a timed-out connection ends with an error | the panic branch in `supervise` |

pub(crate) mod dht_panics;
pub(crate) mod frames;
pub(crate) mod fresh_swarm;
pub(crate) mod observed;
pub(crate) mod pacing;
pub(crate) mod redial;
