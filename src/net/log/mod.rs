//! One log: opening it on disk (`open`), its local message index (`index`),
//! the pure plans of what to deliver next (`delivery`) and when to ask for a
//! missing block (`requests`), and the task that runs them (`task`).

pub(crate) mod delivery;
pub(crate) mod index;
pub(crate) mod open;
pub(crate) mod requests;
pub(crate) mod task;

pub(crate) use open::{core_key, discard_clone, open_clone, open_core};
pub(crate) use task::LogTask;
