//! The one harness of the integration tests and the benches. Each test
//! binary reaches it with `#[path = "harness/mod.rs"] mod harness;`, each
//! bench with `#[path = "../tests/harness/mod.rs"] mod harness;`, and uses
//! the part it needs:
//!
//! - `node`: the in-process engine (`Node`) and a loopback bootstrap node,
//!   for `tests/engine` and the loopback benches;
//! - `bin`: the real `hychat` binary with a clean environment, a temp
//!   storage and a loopback bootstrap address; its key, a bootstrap node
//!   from the binary, free ports, a log file's tail;
//! - `process`: background processes (`Background`, `Transcript`) and the
//!   lock that runs the tests starting several processes one at a time;
//! - `tmux`: a private tmux server; `tui`: the full-screen chat in it;
//! - `js`: the JS reference peers of `tests/js`;
//! - `lab`: the network lab (namespaces, routers, NAT) and its scenarios,
//!   for `tests/binary/lab.rs` and `benches/lab.rs`;
//! - `crash`: kill -9 of `hychat send` at random moments and the check of
//!   what survived, for `tests/binary/crash.rs` and `benches/storage.rs`;
//! - `followed`: a follower's copy of a log built in-process from the
//!   writer's log with hypercore proofs, for `tests/engine/reopen.rs`,
//!   `benches/storage.rs` and `benches/scale.rs`;
//! - `kills`: kill -9 during the catch-up of a followed log and during
//!   start-up, and the checks of what each kill left, for
//!   `tests/binary/kill_catchup.rs` and `tests/binary/kill_startup.rs`;
//! - `churn`: a crowd of in-process peers that joins a room and leaves it
//!   again, round after round, for `tests/engine/churn.rs` and
//!   `benches/churn.rs`;
//! - `completeness`: the number of runs of the completeness tests and how
//!   they report missing blocks, for `tests/engine/replication.rs` and
//!   `tests/binary/completeness.rs`;
//! - `catch_up`: a new reader's catch-up of a long hychat log and a long JS
//!   log, timed, for `benches/replication.rs` and `benches/transport.rs`;
//! - `bench`: percentiles, for the benches only;
//! - `env`: counts and seeds from the environment, a positive number or a
//!   failure with a sentence, for the tests and benches that take them.
//!
//! No binary uses all of it, so each declares the module with
//! `#[allow(dead_code)]`; nothing in here turns the lint off.

pub mod bench;
pub mod bin;
pub mod catch_up;
pub mod churn;
pub mod completeness;
pub mod crash;
pub mod env;
pub mod followed;
pub mod impair;
pub mod js;
pub mod kills;
pub mod lab;
pub mod node;
pub mod process;
pub mod tmux;
pub mod tui;
