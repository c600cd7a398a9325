//! Background processes of a test (hychat, node): stdout read line by line
//! on a thread, stderr collected, an optional stdin pipe for feeding lines
//! later, and a transcript of everything printed for failure messages.
//! Dropping a `Background` stops its process by pid: SIGTERM, a bounded
//! wait, then SIGKILL. Also the lock that runs the tests which start
//! several processes one at a time (`one_at_a_time`).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// The lock of the tests that start several processes (the full-screen chat
/// in tmux, the JS peers, the network lab): they run one at a time, since
/// side by side on 2 cores they only measure the contention. A test that
/// failed while holding it does not stop the others.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long a process gets to leave after SIGTERM before it is killed. The
/// headless commands give the engine 5 s to close.
const TERMINATE_GRACE: Duration = Duration::from_secs(10);

/// Everything a process printed so far. Cheap to clone, so a failure report
/// can hold it while the test keeps the process itself.
#[derive(Clone)]
pub struct Transcript {
    name: Arc<str>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Transcript {
    fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            stdout: Arc::default(),
            stderr: Arc::default(),
        }
    }

    /// Stdout and stderr so far, headed by the process name.
    pub fn describe(&self) -> String {
        describe_output(&self.name, &self.stdout, &self.stderr)
    }
}

/// A long-running child process with its stdout read line by line on a
/// thread. Dropping it terminates the process (see `terminate`).
pub struct Background {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    transcript: Transcript,
}

impl Background {
    /// Starts `command` with piped stdout and stderr; stdin is a pipe kept
    /// open for `write_line` when `with_stdin`, otherwise /dev/null.
    pub fn spawn(name: &str, mut command: Command, with_stdin: bool) -> Self {
        let mut child = command
            .stdin(if with_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let transcript = Transcript::new(name);
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        let seen = Arc::clone(&transcript.stdout);
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                seen.lock().unwrap().push(line.clone());
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&transcript.stderr);
        thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let stdin = child.stdin.take();
        Self {
            name: name.to_string(),
            child,
            stdin,
            lines,
            transcript,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A handle on what the process prints, for failure reports.
    pub fn transcript(&self) -> Transcript {
        self.transcript.clone()
    }

    /// The next stdout line, or `None` when `timeout` passes or stdout closes.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Reads stdout until a line satisfies `accept`, for at most `timeout`.
    pub fn wait_for_line(
        &mut self,
        timeout: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let line = self.next_line(left)?;
            if accept(&line) {
                return Some(line);
            }
        }
    }

    /// Writes one line to the process's stdin (which must be a pipe).
    pub fn write_line(&mut self, line: &str) {
        let name = &self.name;
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("{name} was started without a stdin pipe"));
        if let Err(e) = writeln!(stdin, "{line}").and_then(|()| stdin.flush()) {
            panic!(
                "cannot write to {name}'s stdin: {e}\n{}",
                self.transcript.describe()
            );
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit by itself. Returns its
    /// exit status, or `None` while it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (no chance to say goodbye: as if its host lost power), then
    /// reaped. Returns the exit status.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        self.stdin = None;
        let _ = self.child.kill();
        self.child.wait().ok()
    }

    /// What the process printed so far, for failure messages.
    pub fn describe(&self) -> String {
        self.transcript.describe()
    }

    /// SIGTERM, then up to `TERMINATE_GRACE` to exit, then SIGKILL. Returns
    /// the exit status, or `None` when the process had to be killed.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        // Closing stdin first lets a process reading it see the end.
        self.stdin = None;
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling a child we spawned and have not reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + TERMINATE_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    /// Stops the process and checks it left on SIGTERM with status 0.
    pub fn stop_cleanly(&mut self) {
        let status = self.terminate();
        assert!(
            status.is_some_and(|s| s.success()),
            "{} should exit with status 0 on SIGTERM, got {status:?}\n{}",
            self.name,
            self.describe()
        );
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A process's stdout lines and stderr, each headed by its name: how a
/// failure report shows what a process printed.
pub fn describe_output(name: &str, stdout: &Mutex<Vec<String>>, stderr: &Mutex<String>) -> String {
    format!(
        "--- {name} stdout ---\n{}\n--- {name} stderr ---\n{}",
        stdout.lock().unwrap().join("\n"),
        stderr.lock().unwrap()
    )
}
