//! The full-screen chat in tmux: launching real TUIs in detached sessions
//! of one private tmux server, reading the side panel off a captured pane
//! (at `WIDTH`×`HEIGHT`), polling a pane with a bounded wait, and failing
//! with every pane, the tail of every TUI's log file and the output of any
//! other process the test attached.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::bin::{log_tail, loopback, BIN, HYCHAT_ENV};
use super::process::Transcript;
use super::tmux::Tmux;

pub const WIDTH: usize = 120;
pub const HEIGHT: usize = 40;
/// First column of the side panel at WIDTH (see `app::screen::Areas`): the
/// panel is a quarter of the width clamped to 24..=32, drawn with a left border.
pub const SIDE_COLUMN: usize = WIDTH
    - if WIDTH / 4 < 24 {
        24
    } else if WIDTH / 4 > 32 {
        32
    } else {
        WIDTH / 4
    };
/// How often a pane is captured while waiting.
pub const POLL: Duration = Duration::from_millis(500);

/// One TUI: its tmux session, storage and key.
pub struct Chat {
    pub session: &'static str,
    pub storage: PathBuf,
    pub key: String,
}

impl Chat {
    pub fn short(&self) -> &str {
        &self.key[..8]
    }
}

/// The side panel's rows of a capture: what is right of its left border.
pub fn side_panel(capture: &str) -> Vec<String> {
    capture
        .lines()
        .filter_map(|line| {
            let mut cells = line.chars().skip(SIDE_COLUMN);
            (cells.next() == Some('│')).then(|| cells.collect::<String>())
        })
        .collect()
}

/// The number in the side panel's `Peers (N)` heading, when drawn.
pub fn peer_count(panel: &[String]) -> Option<usize> {
    panel.iter().find_map(|row| {
        row.trim()
            .strip_prefix("Peers (")?
            .strip_suffix(')')?
            .parse()
            .ok()
    })
}

/// Whether the side panel shows `other` (a short key) as followed and
/// online, and some connected peer serving its log.
pub fn panel_shows_peer(panel: &[String], other: &str) -> bool {
    let followed_online = panel
        .iter()
        .take_while(|row| !row.trim().starts_with("Peers ("))
        .any(|row| row.contains('●') && row.contains(other));
    let served = panel
        .iter()
        .skip_while(|row| !row.trim().starts_with("Peers ("))
        .skip(1)
        .any(|row| row.split_whitespace().any(|word| word == other));
    followed_online && peer_count(panel).is_some_and(|n| n >= 1) && served
}

/// TUIs in one private tmux server, plus whatever else a failure report
/// should show.
pub struct Tuis {
    pub tmux: Tmux,
    pub chats: Vec<Chat>,
    /// A shell command list (e.g. a `printf` that sets the pane's title)
    /// that `launch` runs before hychat.
    pub prelude: Option<String>,
    others: Vec<Transcript>,
}

impl Tuis {
    pub fn new() -> Self {
        Self {
            tmux: Tmux::new(),
            chats: Vec::new(),
            prelude: None,
            others: Vec::new(),
        }
    }

    /// Starts a TUI in a new session and returns its index. The shell
    /// runs `self.prelude` first (if any), reports hychat's exit status as
    /// `EXITED:<code>` and keeps the pane open.
    pub fn launch(
        &mut self,
        session: &'static str,
        storage: &Path,
        key: String,
        nick: &str,
        bootstrap_port: u16,
    ) -> usize {
        let storage_text = storage.to_str().expect("a UTF-8 temp path");
        assert!(!storage_text.contains('\'') && !BIN.contains('\''));
        let prelude = match &self.prelude {
            Some(prelude) => format!("{prelude}; "),
            None => String::new(),
        };
        let script = format!(
            "{prelude}unset {}; '{BIN}' --storage '{storage_text}' --bootstrap {} \
             --nick {nick}; echo EXITED:$?; sleep 600",
            HYCHAT_ENV.join(" "),
            loopback(bootstrap_port)
        );
        self.tmux.new_session(session, WIDTH, HEIGHT, &script);
        self.chats.push(Chat {
            session,
            storage: storage.to_path_buf(),
            key,
        });
        self.chats.len() - 1
    }

    /// Adds a process's output to every failure report.
    pub fn attach(&mut self, transcript: Transcript) {
        self.others.push(transcript);
    }

    pub fn session(&self, chat: usize) -> &'static str {
        self.chats[chat].session
    }

    /// Panics with `what`, every pane, the tail of every TUI's log file
    /// and the output of every attached process.
    pub fn fail(&self, what: &str) -> ! {
        let mut report = format!("{what}\n");
        for chat in &self.chats {
            report.push_str(&format!(
                "\n===== pane {} =====\n{}\n{}\n",
                chat.session,
                self.tmux.try_capture(chat.session),
                log_tail(&chat.storage)
            ));
        }
        for other in &self.others {
            report.push_str(&format!("\n{}\n", other.describe()));
        }
        panic!("{report}");
    }

    /// Polls a pane until `accept` holds, for at most `timeout`.
    pub fn wait_for(
        &self,
        chat: usize,
        timeout: Duration,
        what: &str,
        accept: impl Fn(&str) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            if accept(&self.tmux.capture(self.chats[chat].session)) {
                return started.elapsed();
            }
            if started.elapsed() >= timeout {
                self.fail(&format!(
                    "pane {}: {what} did not happen within {timeout:?}",
                    self.chats[chat].session
                ));
            }
            thread::sleep(POLL);
        }
    }
}

impl Default for Tuis {
    fn default() -> Self {
        Self::new()
    }
}
