//! State shared between the engine, the swarm task and the connection tasks,
//! one handle per concern. Every lock here is a std mutex held for a few map
//! operations and never across an `.await`.

pub(crate) mod directory;
pub(crate) mod rooms;
