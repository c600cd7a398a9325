//! Telling the user when it matters: the runner's side of
//! `app::Command::Notify` and `app::Command::Title`. The app decides when a
//! message is worth telling and what the title says; this module only
//! carries that out.
//! - `Settings`: the config's `[notify]` table (`bell`, `desktop`).
//! - `terminal`: the bytes the runner writes between frames (the bell, the
//!   OSC 0 title, and the title stack's push and pop). Pure.
//! - `desktop`: desktop notifications, shown from a thread of their own
//!   behind a small bounded queue; silent, and off for good, after the
//!   first failure (no notification service, as on servers and in CI).

pub mod desktop;
pub mod terminal;

/// How a `Notice` reaches the user (the config's `[notify]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Ring the terminal bell (BEL).
    pub bell: bool,
    /// Show a desktop notification.
    pub desktop: bool,
}

impl Default for Settings {
    /// The bell rings; desktop notifications are off until asked for.
    fn default() -> Self {
        Self {
            bell: true,
            desktop: false,
        }
    }
}
