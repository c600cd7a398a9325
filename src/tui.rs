//! The terminal runner: owns the terminal and the `App`, and is the only
//! place where the UI does IO. One task `select!`s over crossterm's
//! `EventStream`, the engine's `NetEvent` receiver, a one-second tick and
//! SIGTERM/SIGHUP; it drains what is pending, logs it to `App::update`,
//! hands the returned commands to the engine with `try_send`, and draws once
//! per batch. It never blocks the runtime: no blocking reads, no sleeps.
//! The app's notices and titles (`notify`) are written between frames: the
//! bell and the OSC title go out just before the next draw, and desktop
//! notifications go to their own thread. The window title is pushed on the
//! terminal's title stack when the TUI starts and popped when it leaves.
//! The terminal is restored by `TerminalGuard`'s `Drop` and, on a panic,
//! by a chained panic hook. Every `REPORT_EVERY` it logs, at debug level,
//! the runtime's live tasks and the frames drawn since its last report
//! (`frames.rs`), so a leak or a stall shows while it happens
//! (`benches/churn.rs` reads them).

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::task::Poll;
use std::time::Duration;

use crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, Event as TermEvent, EventStream,
};
use crossterm::style::Print;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use time::OffsetDateTime;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use crate::app::{App, Command, Event};
use crate::frames::FrameStats;
use crate::net::{EngineError, NetCommand, NetEvent, NetHandle};
use crate::notify::desktop::Desktop;
use crate::notify::terminal::{BetweenFrames, POP_TITLE, PUSH_TITLE};
use crate::notify::Settings;
use crate::ui;

/// How long to wait for the engine to flush and close after `Shutdown`.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Most events handled before a frame is drawn, so a flood cannot starve drawing.
const MAX_BATCH: usize = 512;
/// How often the live tasks and the latest frames are logged (debug level).
const REPORT_EVERY: Duration = Duration::from_secs(5);

/// Set while the terminal is in raw mode / the alternate screen.
static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);
/// Set by the panic hook: the UI thread panicked, so the UI leaves.
static PANICKED: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// Runs the UI until the user quits, a signal arrives, or the terminal
/// goes away.
///
/// `handle` and `events` are the two ends from `net::spawn`; `app` is
/// usually `App::new(OffsetDateTime::now_utc())`, and `start` the commands
/// it returned before the loop (`App::join` for `--room`), carried out
/// after the first frame. The first frame is drawn before any network event.
/// `notify` says whether a notice rings the bell and shows a desktop
/// notification. On quit it sends `NetCommand::Shutdown`, waits
/// up to `SHUTDOWN_GRACE` for `events` to close, and restores the terminal.
/// Errors are terminal IO errors (entering raw mode, drawing).
pub async fn run(
    handle: NetHandle,
    mut events: mpsc::Receiver<NetEvent>,
    mut app: App,
    start: Vec<Command>,
    notify: Settings,
) -> io::Result<()> {
    let started = Instant::now();
    let mut stats = FrameStats::default();
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    let mut outbox = Outbox::new(handle, notify);
    for command in app.update(Event::Resize(size.width, size.height)) {
        outbox.carry_out(command);
    }
    for command in app.update(Event::Tick(OffsetDateTime::now_utc())) {
        outbox.carry_out(command);
    }
    outbox.write_between_frames(&mut guard)?;
    guard.terminal.draw(|frame| ui::draw(frame, &app))?;
    stats.record(started.elapsed(), started.elapsed(), false);
    for command in start {
        outbox.carry_out(command);
    }

    let mut terminal_events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut sigterm = listen(SignalKind::terminate());
    let mut sighup = listen(SignalKind::hangup());
    let mut net_open = true;
    let mut outcome = Ok(());
    let mut reported = Instant::now();

    loop {
        let mut batch = Vec::new();
        let mut quit = false;
        tokio::select! {
            next = terminal_events.next() => match next {
                Some(Ok(event)) => batch.extend(convert(event)),
                Some(Err(error)) => {
                    outcome = Err(error);
                    quit = true;
                }
                // stdin is gone: nobody can type any more.
                None => quit = true,
            },
            next = events.recv(), if net_open => match next {
                Some(event) => batch.push(Event::Net(event)),
                None => {
                    net_open = false;
                    batch.push(Event::Net(NetEvent::Error(EngineError::Stopped)));
                }
            },
            _ = tick.tick() => {
                batch.push(Event::Tick(OffsetDateTime::now_utc()));
                if reported.elapsed() >= REPORT_EVERY {
                    reported = Instant::now();
                    report(&mut stats);
                }
            }
            _ = wait_for(&mut sigterm) => quit = true,
            _ = wait_for(&mut sighup) => quit = true,
        }
        // Drain what is already pending, polling with this task's waker.
        while net_open && batch.len() < MAX_BATCH {
            match events.try_recv() {
                Ok(event) => batch.push(Event::Net(event)),
                Err(_) => break,
            }
        }
        while batch.len() < MAX_BATCH {
            match futures::poll!(terminal_events.next()) {
                Poll::Ready(Some(Ok(event))) => batch.extend(convert(event)),
                _ => break,
            }
        }

        let frame_start = Instant::now();
        for event in batch {
            for command in app.update(event) {
                outbox.carry_out(command);
            }
        }
        quit |= std::mem::take(&mut outbox.quit);
        if PANICKED.load(Ordering::SeqCst) {
            // The hook gave the terminal back already: draw nothing more.
            outcome = Err(io::Error::other("a task panicked; see the log"));
            break;
        }
        let written = outbox.write_between_frames(&mut guard);
        if let Err(error) =
            written.and_then(|()| guard.terminal.draw(|frame| ui::draw(frame, &app)))
        {
            outcome = outcome.and(Err(error));
            quit = true;
        }
        stats.record(
            started.elapsed(),
            frame_start.elapsed(),
            app.timeline().window.paged,
        );
        if quit {
            break;
        }
    }

    if net_open {
        shutdown(&outbox.handle, &mut events).await;
    }
    drop(guard);
    tracing::info!("{}", stats.summary());
    outcome
}

/// Where the app's commands go: the engine (at once), the terminal (the
/// bell and the title, held until the next frame), and the desktop
/// notification thread (never waited on).
struct Outbox {
    handle: NetHandle,
    bell: bool,
    desktop: Desktop,
    between_frames: BetweenFrames,
    /// `Command::Quit` came; the loop leaves after this batch's frame.
    quit: bool,
}

impl Outbox {
    fn new(handle: NetHandle, notify: Settings) -> Self {
        Self {
            handle,
            bell: notify.bell,
            desktop: Desktop::new(notify.desktop),
            between_frames: BetweenFrames::default(),
            quit: false,
        }
    }

    fn carry_out(&mut self, command: Command) {
        match command {
            Command::Net(command) => send(&self.handle, command),
            Command::Quit => self.quit = true,
            Command::Notify(notice) => {
                self.between_frames.bell |= self.bell;
                self.desktop.notify(&notice);
            }
            Command::Title(text) => self.between_frames.title = Some(text),
        }
    }

    /// Writes the bell and the title, if any, through the backend's stdout
    /// (whole frames are drawn and flushed by then).
    fn write_between_frames(&mut self, guard: &mut TerminalGuard) -> io::Result<()> {
        let bytes = self.between_frames.take();
        if bytes.is_empty() {
            return Ok(());
        }
        let backend = guard.terminal.backend_mut();
        backend.write_all(bytes.as_bytes())?;
        backend.flush()
    }
}

/// Logs the runtime's live tasks and the frames since the last report.
fn report(stats: &mut FrameStats) {
    let tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    tracing::debug!("runner: {tasks} live tasks; {}", stats.interval());
}

fn convert(event: TermEvent) -> Option<Event> {
    match event {
        TermEvent::Key(key) => Some(Event::Key(key)),
        TermEvent::Paste(text) => Some(Event::Paste(text)),
        TermEvent::Resize(width, height) => Some(Event::Resize(width, height)),
        _ => None,
    }
}

fn send(handle: &NetHandle, command: NetCommand) {
    if !handle.try_send(command.clone()) {
        tracing::warn!(
            ?command,
            "the engine's command queue is full or closed; command dropped"
        );
    }
}

/// Asks the engine to flush and close, and waits (bounded) until it has.
async fn shutdown(handle: &NetHandle, events: &mut mpsc::Receiver<NetEvent>) {
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    if !handle.try_send(NetCommand::Shutdown)
        && tokio::time::timeout_at(deadline, handle.send(NetCommand::Shutdown))
            .await
            .is_err()
    {
        tracing::warn!("could not hand the engine a shutdown command");
    }
    let drained =
        tokio::time::timeout_at(deadline, async { while events.recv().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "the engine did not close in time");
    }
}

fn listen(kind: SignalKind) -> Option<Signal> {
    match signal(kind) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for a signal");
            None
        }
    }
}

/// Resolves when the signal arrives; never, when it could not be listened to.
async fn wait_for(signal: &mut Option<Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// The terminal in raw mode, on the alternate screen, with bracketed paste,
/// and its window title saved on its title stack. Dropping it puts
/// everything back.
pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen, pushes the window title,
    /// and installs the panic hook.
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
        let mut stdout = io::stdout();
        if let Err(error) = execute!(
            stdout,
            EnterAlternateScreen,
            EnableBracketedPaste,
            Print(PUSH_TITLE)
        ) {
            restore_terminal();
            return Err(error);
        }
        match Terminal::new(CrosstermBackend::new(stdout)) {
            Ok(terminal) => Ok(Self { terminal }),
            Err(error) => {
                restore_terminal();
                Err(error)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Leaves raw mode, the alternate screen and bracketed paste, shows the
/// cursor, and pops the window title from before. Does nothing when the
/// terminal was not taken over. Errors are ignored: this runs on the way
/// out (normal exit, SIGTERM/SIGHUP, a panic), when nothing better can be
/// done.
pub fn restore_terminal() {
    if TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(
            io::stdout(),
            DisableBracketedPaste,
            LeaveAlternateScreen,
            cursor::Show,
            Print(POP_TITLE)
        );
    }
}

/// Restores the terminal before the previous hook prints the panic, so the
/// message lands on the normal screen; the UI loop then leaves. Only panics
/// on the UI's own thread do this: a network task that panics inside a
/// dependency is contained by the runtime, its report goes to the log file
/// (stderr is captured there), and the chat goes on.
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let ui_thread = std::thread::current().id();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == ui_thread {
                PANICKED.store(true, Ordering::SeqCst);
                restore_terminal();
            }
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn converts_the_terminal_events_the_app_handles() {
        let key = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(convert(TermEvent::Key(key)), Some(Event::Key(key)));
        assert_eq!(
            convert(TermEvent::Paste("x\ny".into())),
            Some(Event::Paste("x\ny".into()))
        );
        assert_eq!(
            convert(TermEvent::Resize(80, 24)),
            Some(Event::Resize(80, 24))
        );
        assert_eq!(convert(TermEvent::FocusGained), None);
    }

    #[test]
    fn restoring_an_untouched_terminal_does_nothing() {
        // Must not write escape sequences when the TUI never started.
        restore_terminal();
        assert!(!TERMINAL_ACTIVE.load(Ordering::SeqCst));
    }
}
