//! The real `hychat` binary, as a user runs it: the command line (`cli`),
//! the full-screen chat in tmux (`e2e_tui`), its search and read marker
//! across a restart (`e2e_chat`), interop with the reference JS
//! peers (`interop`), the bumps and records a DHT of hychat nodes keeps
//! for JS clients (`dht_records`), every block of a 10,000-message JS log
//! reaching `hychat tail` (`completeness`), the network lab of namespaces,
//! routers and NAT (`lab`), and kill -9 during appends (`crash`), during the
//! catch-up of a followed log (`kill_catchup`) and during start-up
//! (`kill_startup`). Every process is stopped by its guard and every wait
//! is bounded.
//!
//! The tests that start several processes (`e2e_tui`, `e2e_chat`, `interop`,
//! `dht_records`, `completeness`, `lab`) run one at a time
//! (`harness::process::one_at_a_time`; `Lab::shared` holds it too); the
//! `cli` tests run in parallel beside them. The lab needs root, iproute2
//! and iptables, and its tests fail with one sentence without them; the
//! TUI tests install tmux when it is missing, and the interop, DHT record
//! and completeness tests need `node` and run `npm ci --prefix tests/js`
//! when the JS peers' packages are missing.

// Each module uses a different part of the shared harness, and the
// in-process engine (`harness::node`) none of them.
#[allow(dead_code)]
#[path = "harness/mod.rs"]
mod harness;

#[path = "binary/cli.rs"]
mod cli;
#[path = "binary/completeness.rs"]
mod completeness;
#[path = "binary/crash.rs"]
mod crash;
#[path = "binary/dht_js_connect.rs"]
mod dht_js_connect;
#[path = "binary/dht_records.rs"]
mod dht_records;
#[path = "binary/e2e_chat.rs"]
mod e2e_chat;
#[path = "binary/e2e_tui.rs"]
mod e2e_tui;
#[path = "binary/interop.rs"]
mod interop;
#[path = "binary/kill_catchup.rs"]
mod kill_catchup;
#[path = "binary/kill_startup.rs"]
mod kill_startup;
#[path = "binary/lab.rs"]
mod lab;
