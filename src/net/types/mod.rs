//! The types at the engine's boundary that the rooms below it need too: the
//! events and commands (`event.rs`), what is known of the network
//! (`network.rs`) and what a command can fail with (`error.rs`). This room
//! uses only `domain/` and the leaf files `net/history.rs` and
//! `net/store.rs`, so every arrow to it points down; `net/mod.rs`
//! re-exports it for the app.

pub mod error;
pub mod event;
pub mod network;

pub use error::EngineError;
pub use event::{NetCommand, NetEvent, PeerRoom};
pub use network::{
    Link, Nat, NetworkReport, NetworkStatus, PeerPath, PeerRoute, PunchStats, Reachability,
    RelayOffer,
};
