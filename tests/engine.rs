//! The engine in-process on loopback: nodes with their own temp storage and
//! one bootstrap node on 127.0.0.1 (`harness::node`), no binary, no other
//! process. Our own appends (`appends`), following a log (`follow`), a
//! followed log past 32,768 blocks across restarts (`reopen`), rooms
//! (`rooms`), several logs and peers (`topology`), peers joining and
//! leaving a room round after round without leaving tasks behind
//! (`churn`), and the replicator under load: a room of three writers and
//! four readers appending at once, 1,000 appends in turn by two writers, and
//! the completeness of a 10,000-message catch-up (`replication`); and the
//! UDP impairment proxy of the transport tests (`impair`). Every wait is
//! bounded.

// This binary uses only `harness::node`, `harness::followed`,
// `harness::churn`, `harness::completeness` and `harness::impair` of the
// shared harness.
#[allow(dead_code)]
#[path = "harness/mod.rs"]
mod harness;

#[path = "engine/appends.rs"]
mod appends;
#[path = "engine/churn.rs"]
mod churn;
#[path = "engine/follow.rs"]
mod follow;
#[path = "engine/impair.rs"]
mod impair;
#[path = "engine/reopen.rs"]
mod reopen;
#[path = "engine/replication.rs"]
mod replication;
#[path = "engine/rooms.rs"]
mod rooms;
#[path = "engine/topology.rs"]
mod topology;
