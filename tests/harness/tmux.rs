//! A private tmux server for a test (`tmux -L <unique>`, no config file):
//! installing tmux when missing, starting detached sessions, typing with
//! `send-keys`, reading with `capture-pane`, and killing the server and its
//! socket on drop. Every tmux command is bounded in time.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound for one tmux command.
const TMUX_COMMAND: Duration = Duration::from_secs(10);

/// Installs tmux when it is missing; panics when that is not possible.
pub fn ensure_tmux() {
    let present = || {
        Command::new("sh")
            .args(["-c", "command -v tmux"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present() {
        return;
    }
    let update = Command::new("apt-get").arg("update").status();
    let install = Command::new("apt-get")
        .args(["install", "-y", "tmux"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    assert!(
        present(),
        "this test needs tmux, which is not installed, and installing it failed \
         (apt-get update: {update:?}, apt-get install -y tmux: {install:?}); \
         install tmux and run again"
    );
}

/// A tmux server of our own (`tmux -L <unique>`), killed on drop.
pub struct Tmux {
    socket: String,
    /// The socket file, known once the server runs; removed on drop.
    socket_path: Option<PathBuf>,
}

impl Tmux {
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Self {
            socket: format!("hychat-e2e-{}-{nanos}", std::process::id()),
            socket_path: None,
        }
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command
            .env_remove("TMUX")
            .args(["-L", &self.socket, "-f", "/dev/null"]);
        command
    }

    /// Runs a tmux command with a bounded wait and returns its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tmux");
        let deadline = Instant::now() + TMUX_COMMAND;
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tmux {args:?} did not finish in {TMUX_COMMAND:?}");
        }
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Starts a detached `width`×`height` session running `sh -c script`,
    /// and remembers the server's socket file for the cleanup.
    pub fn new_session(&mut self, session: &str, width: usize, height: usize, script: &str) {
        self.run(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "sh",
            "-c",
            script,
        ]);
        if self.socket_path.is_none() {
            let path = self.run(&["display-message", "-p", "#{socket_path}"]);
            self.socket_path = Some(PathBuf::from(path.trim()));
        }
    }

    pub fn capture(&self, session: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", session])
    }

    /// Like `capture`, but never panics: for failure reports.
    pub fn try_capture(&self, session: &str) -> String {
        self.command()
            .args(["capture-pane", "-p", "-t", session])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("(cannot capture: {e})"))
    }

    pub fn type_line(&self, session: &str, text: &str) {
        self.run(&["send-keys", "-t", session, "-l", text]);
        self.run(&["send-keys", "-t", session, "Enter"]);
    }

    pub fn format(&self, session: &str, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", session, format])
            .trim()
            .to_string()
    }
}

impl Default for Tmux {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}
