//! hychat: a serverless terminal chat. Each user writes a signed append-only
//! log (a hypercore); friends follow logs by key and replicate them live over
//! the Hyperswarm DHT.
//!
//! Architecture (docs/architecture.md §4):
//! - `net`: the network engine. Owns every hypercore, the swarm and the
//!   per-connection replication. Talks to the rest only through `NetEvent`s out
//!   and `NetCommand`s in.
//! - `app`: the UI state and a pure `update(Event) -> Vec<Command>`.
//! - `ui`: drawing only, from `&App`.
//! - `tui`: the one task that owns the terminal and runs the event loop.
//! - `cli`/`config`/`paths`: command line, config file and XDG locations.

pub mod app;
pub mod cli;
pub mod config;
pub mod headless;
pub mod net;
pub mod paths;
pub mod tui;
pub mod ui;
