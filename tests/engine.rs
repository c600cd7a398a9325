//! The engine in-process on loopback: nodes with their own temp storage and
//! one bootstrap node on 127.0.0.1 (`harness::node`), no binary, no other
//! process. Our own appends (`appends`), following a log (`follow`), a
//! followed log past 32,768 blocks across restarts (`reopen`), rooms
//! (`rooms`), and several logs and peers (`topology`). Every wait is
//! bounded.

// This binary uses only `harness::node` and `harness::followed` of the
// shared harness.
#[allow(dead_code)]
#[path = "harness/mod.rs"]
mod harness;

#[path = "engine/appends.rs"]
mod appends;
#[path = "engine/follow.rs"]
mod follow;
#[path = "engine/reopen.rs"]
mod reopen;
#[path = "engine/rooms.rs"]
mod rooms;
#[path = "engine/topology.rs"]
mod topology;
