//! hychat: a serverless terminal chat. Each user writes a signed append-only
//! log (a hypercore); friends follow logs by key, or meet in a named room, and
//! replicate them live over the Hyperswarm DHT. The design, with the rules the
//! pinned crates impose, is in `docs/architecture.md`.
//!
//! The crate map:
//! - `domain`: the shared vocabulary: keys and ids, the chat message and its
//!   codec, room names and members, and the text-cleaning rule. Pure.
//! - `net`: the network engine. Owns every hypercore, the swarm, each
//!   connection's replication and the DHT probe; talks to the rest only
//!   through `NetEvent`s out and `NetCommand`s in. `net::compat` lists every
//!   workaround for a pinned crate.
//! - `app`: the UI state and a pure `update(Event) -> Vec<Command>`.
//! - `ui`: drawing only, from `&App`.
//! - `tui`: the one task that owns the terminal and runs the event loop;
//!   `frames`: how fast it draws, logged at exit.
//! - `notify`: what the runner does with the app's notices and titles: the
//!   bell, the window title, desktop notifications.
//! - `headless`: the subcommands without a terminal UI, over the same boundary.
//! - `cli`, `config`, `paths`, `logging`: the command line, the config file,
//!   the XDG locations, and where log lines and user messages go.
#![warn(unreachable_pub)]

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod frames;
pub mod headless;
pub mod logging;
pub mod net;
pub mod notify;
pub mod paths;
pub mod tui;
pub mod ui;
