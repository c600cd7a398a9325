//! Reading a lab hychat's debug log: the whole of it, a bounded wait for
//! what it must come to say, and the hychat lines of its end for a failure
//! report.

use std::cell::RefCell;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// The debug log of a hychat's storage, empty while it has none.
pub fn read_log(storage: &Path) -> String {
    std::fs::read_to_string(storage.join("hychat.log")).unwrap_or_default()
}

/// Polls a hychat's log until `done` holds of it, for at most `bound`.
pub fn wait_for_log(storage: &Path, bound: Duration, done: impl Fn(&str) -> bool) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if done(&read_log(storage)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Polls a hychat's log until a line satisfies `accept`, for at most
/// `bound`; returns that line.
pub fn wait_in_log(
    storage: &Path,
    bound: Duration,
    accept: impl Fn(&str) -> bool,
) -> Option<String> {
    let found = RefCell::new(None);
    wait_for_log(storage, bound, |log| {
        let line = log.lines().find(|l| accept(l));
        *found.borrow_mut() = line.map(str::to_string);
        line.is_some()
    });
    found.into_inner()
}

/// The hychat lines of a debug log, at most the last `most`.
pub fn excerpt(log: &str, most: usize) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("hychat")).collect();
    lines[lines.len().saturating_sub(most)..].join("\n")
}
