//! The engine in-process on loopback: nodes with their own temp storage and
//! one bootstrap node on 127.0.0.1 (`harness::node`), no binary, no other
//! process. Our own appends (`appends`), following a log (`follow`), a
//! followed log past 32,768 blocks across restarts (`reopen`), rooms
//! (`rooms`), several logs and peers (`topology`), and peers joining and
//! leaving a room round after round without leaving tasks behind
//! (`churn`). Every wait is bounded.

// This binary uses only `harness::node`, `harness::followed` and
// `harness::churn` of the shared harness.
#[allow(dead_code)]
#[path = "harness/mod.rs"]
mod harness;

#[path = "engine/appends.rs"]
mod appends;
#[path = "engine/churn.rs"]
mod churn;
#[path = "engine/follow.rs"]
mod follow;
#[path = "engine/reopen.rs"]
mod reopen;
#[path = "engine/rooms.rs"]
mod rooms;
#[path = "engine/topology.rs"]
mod topology;
