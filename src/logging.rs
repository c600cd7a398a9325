//! Where hychat's own words go: the log file (via `tracing`, never the
//! screen), stray stderr of dependencies captured into that file, and the
//! user's real stderr kept aside for the one-sentence messages of `say`.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// The terminal's stderr, kept when fd 2 is captured into the log file.
static USER_STDERR: OnceLock<Mutex<File>> = OnceLock::new();

/// Prints a line for the user on stderr (the real one, not the log).
pub fn say(line: &str) {
    match USER_STDERR.get().and_then(|m| m.lock().ok()) {
        Some(mut file) => {
            let _ = writeln!(file, "{line}");
        }
        None => eprintln!("{line}"),
    }
}

/// Logs go to a file, never to the screen. With `capture_stderr`, stray
/// prints from dependencies (hypercore has a `dbg!` on a hot path) go there
/// too, and `USER_STDERR` keeps the real stderr for our own messages.
pub fn init(path: &Path, level: tracing::Level, capture_stderr: bool) {
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    if capture_stderr {
        capture_stderr_into(&file);
    }
    // Dependencies log at INFO from inside their hot paths: keep them to warnings.
    let filter = tracing_subscriber::EnvFilter::new(format!("warn,hychat={level}"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}

/// Points fd 2 at the log file and keeps the original for `say`.
// compat: hypercore row (a `dbg!` on a hot path writes to stderr)
fn capture_stderr_into(file: &File) {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: dup/dup2 on valid descriptors; the duplicate is owned by the File.
    unsafe {
        let copy = libc::dup(2);
        if copy >= 0 && libc::dup2(file.as_raw_fd(), 2) >= 0 {
            let _ = USER_STDERR.set(Mutex::new(File::from_raw_fd(copy)));
        }
    }
}
