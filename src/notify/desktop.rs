//! Desktop notifications: the freedesktop notification service on the
//! session D-Bus, reached through notify-rust over zbus (pure Rust, no C
//! library).
//!
//! The UI loop never waits for them. `Desktop::notify` puts a `Message` on
//! a bounded queue with `try_send` and returns; when the queue is full the
//! message is dropped. One thread of our own (`hychat-notify`) takes them
//! off and shows them one at a time, each bounded by `SHOW_TIMEOUT`. The
//! first failure (no session bus, no notification service, no answer) is
//! logged once, at warn level, to the log file, and ends the thread; the
//! runner sees the queue closed and stops trying. Nothing reaches the
//! screen. `Message::from_notice` (what is shown) is pure; the `Show`
//! trait lets tests stand in for the service.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use notify_rust::{Notification, Urgency};

use crate::app::Notice;
use crate::domain::text::{sanitize_line, sanitize_text};

/// Messages waiting to be shown; more are dropped.
pub const QUEUE: usize = 4;
/// The longest one notification may take (connect, authenticate, call).
pub const SHOW_TIMEOUT: Duration = Duration::from_secs(5);
/// The body shows at most this many characters of the message.
pub const MAX_BODY_CHARS: usize = 200;
/// A nickname or channel in the summary is cut after this many characters.
const MAX_NAME_CHARS: usize = 48;

/// One notification, as it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// "hychat: ann in #rust".
    pub summary: String,
    /// The message text, cut to `MAX_BODY_CHARS`, with the markup
    /// characters `&`, `<` and `>` escaped (servers may read the body as
    /// markup).
    pub body: String,
    /// It names the user: shown with normal urgency instead of low.
    pub mention: bool,
}

impl Message {
    pub fn from_notice(notice: &Notice) -> Self {
        let from = sanitize_line(&notice.from, MAX_NAME_CHARS);
        let channel = sanitize_line(&notice.channel, MAX_NAME_CHARS);
        let mut text = sanitize_text(&notice.text, MAX_BODY_CHARS + 1)
            .trim()
            .to_string();
        if text.chars().count() > MAX_BODY_CHARS {
            text = text.chars().take(MAX_BODY_CHARS - 1).collect();
            text.push('…');
        }
        Self {
            summary: format!("hychat: {from} in {channel}"),
            body: escape_markup(&text),
            mention: notice.mention,
        }
    }
}

/// Escapes the three characters the notification spec's body markup reads.
fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Why a notification could not be shown; any of them ends the thread.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error("cannot start their runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("no notification service: {0}")]
    NoService(String),
    #[error("the notification service did not answer within {0:?}")]
    NoAnswer(Duration),
}

/// Something that shows notifications: the session bus's service, or a
/// test's stand-in. Runs on the notification thread, and may block there.
pub trait Show: Send + 'static {
    /// Shows one; an error goes to the log, and ends the thread.
    fn show(&mut self, message: &Message) -> Result<(), ShowError>;
}

/// The runner's handle: a queue to the notification thread, or nothing.
#[derive(Debug)]
pub struct Desktop {
    queue: Option<SyncSender<Message>>,
}

impl Desktop {
    /// No desktop notifications.
    pub fn off() -> Self {
        Self { queue: None }
    }

    /// The session bus's notification service when `on`; nothing otherwise.
    pub fn new(on: bool) -> Self {
        if on {
            Self::start(Service::default())
        } else {
            Self::off()
        }
    }

    /// Starts the notification thread over `show`.
    pub fn start(show: impl Show) -> Self {
        let (queue, messages) = mpsc::sync_channel(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("hychat-notify".into())
            .spawn(move || drive(show, messages));
        match spawned {
            Ok(_) => Self { queue: Some(queue) },
            Err(error) => {
                tracing::warn!(%error, "desktop notifications are off: cannot start their thread");
                Self::off()
            }
        }
    }

    /// Hands `notice` to the notification thread, or drops it when the
    /// queue is full or notifications are off. Never blocks.
    pub fn notify(&mut self, notice: &Notice) {
        let Some(queue) = &self.queue else {
            return;
        };
        match queue.try_send(Message::from_notice(notice)) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            // The thread stopped after a failure, and logged it.
            Err(TrySendError::Disconnected(_)) => self.queue = None,
        }
    }

    /// Whether notices still go anywhere.
    pub fn is_on(&self) -> bool {
        self.queue.is_some()
    }
}

/// The notification thread: shows each message until the first failure,
/// or until the runner drops its handle.
fn drive(mut show: impl Show, messages: Receiver<Message>) {
    while let Ok(message) = messages.recv() {
        if let Err(reason) = show.show(&message) {
            tracing::warn!("desktop notifications are off: {reason}");
            return;
        }
    }
}

/// The freedesktop notification service on the session bus. Its runtime
/// (one thread: the notification thread itself) is built at the first
/// notification.
#[derive(Default)]
struct Service {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Show for Service {
    fn show(&mut self, message: &Message) -> Result<(), ShowError> {
        let runtime = match self.runtime.take() {
            Some(runtime) => runtime,
            None => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(ShowError::Runtime)?,
        };
        let mut notification = Notification::new();
        notification
            .appname("hychat")
            .summary(&message.summary)
            .body(&message.body)
            .urgency(if message.mention {
                Urgency::Normal
            } else {
                Urgency::Low
            });
        let shown = runtime.block_on(async {
            match tokio::time::timeout(SHOW_TIMEOUT, notification.show_async()).await {
                // The handle holds the bus connection; it closes here.
                Ok(Ok(_handle)) => Ok(()),
                Ok(Err(error)) => Err(ShowError::NoService(error.to_string())),
                Err(_) => Err(ShowError::NoAnswer(SHOW_TIMEOUT)),
            }
        });
        self.runtime = Some(runtime);
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    fn notice(text: &str, mention: bool) -> Notice {
        Notice {
            channel: "#rust".into(),
            from: "ann".into(),
            text: text.into(),
            mention,
        }
    }

    #[test]
    fn the_summary_names_who_and_where() {
        let message = Message::from_notice(&notice("hello", false));
        assert_eq!(message.summary, "hychat: ann in #rust");
        assert_eq!(message.body, "hello");
        assert!(!message.mention);
        assert!(Message::from_notice(&notice("hi ann", true)).mention);
    }

    #[test]
    fn the_body_is_cleaned_cut_and_escaped() {
        let message = Message::from_notice(&notice(" a\x1b[2J <b>&\u{202e}x\n", false));
        assert_eq!(message.body, "a[2J &lt;b&gt;&amp;x");
        let long = Message::from_notice(&notice(&"é".repeat(1000), false));
        assert_eq!(long.body.chars().count(), MAX_BODY_CHARS);
        assert!(long.body.ends_with("é…"), "{}", long.body);
        let exact = Message::from_notice(&notice(&"x".repeat(MAX_BODY_CHARS), false));
        assert_eq!(exact.body, "x".repeat(MAX_BODY_CHARS));
        let hostile = Notice {
            channel: "#r\x07oom".into(),
            from: "a\x1bnn".into(),
            ..notice("x", false)
        };
        assert_eq!(
            Message::from_notice(&hostile).summary,
            "hychat: ann in #room"
        );
    }

    /// Records what it is asked to show; fails from the `fail_at`th on.
    struct Recorder {
        shown: Arc<Mutex<Vec<Message>>>,
        fail_at: usize,
    }

    impl Show for Recorder {
        fn show(&mut self, message: &Message) -> Result<(), ShowError> {
            let mut shown = self.shown.lock().unwrap();
            shown.push(message.clone());
            if shown.len() >= self.fail_at {
                Err(ShowError::NoService("none in this test".into()))
            } else {
                Ok(())
            }
        }
    }

    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "{what} did not happen in 10 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn notices_are_shown_in_order_off_the_callers_thread() {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let mut desktop = Desktop::start(Recorder {
            shown: shown.clone(),
            fail_at: usize::MAX,
        });
        desktop.notify(&notice("one", false));
        desktop.notify(&notice("two", true));
        wait_until("two notices shown", || shown.lock().unwrap().len() == 2);
        let bodies: Vec<_> = shown
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.body.clone())
            .collect();
        assert_eq!(bodies, ["one", "two"]);
        assert!(desktop.is_on());
    }

    #[test]
    fn the_first_failure_turns_them_off_for_good() {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let mut desktop = Desktop::start(Recorder {
            shown: shown.clone(),
            fail_at: 1,
        });
        desktop.notify(&notice("one", false));
        wait_until("the failing notice tried", || {
            shown.lock().unwrap().len() == 1
        });
        // The thread is gone once its queue is closed; the next notice finds it so.
        wait_until("notifications off", || {
            desktop.notify(&notice("more", false));
            !desktop.is_on()
        });
        desktop.notify(&notice("after", false));
        assert_eq!(shown.lock().unwrap().len(), 1, "nothing is tried again");
    }

    /// Blocks in `show` until released.
    struct Stuck {
        release: Arc<Mutex<()>>,
        shown: Arc<Mutex<usize>>,
    }

    impl Show for Stuck {
        fn show(&mut self, _: &Message) -> Result<(), ShowError> {
            drop(self.release.lock().unwrap());
            *self.shown.lock().unwrap() += 1;
            Ok(())
        }
    }

    #[test]
    fn a_busy_service_never_blocks_the_caller_and_extra_notices_are_dropped() {
        let release = Arc::new(Mutex::new(()));
        let held = release.lock().unwrap();
        let shown = Arc::new(Mutex::new(0));
        let mut desktop = Desktop::start(Stuck {
            release: release.clone(),
            shown: shown.clone(),
        });
        let started = Instant::now();
        for i in 0..100 {
            desktop.notify(&notice(&format!("n{i}"), false));
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "notify waited: {:?}",
            started.elapsed()
        );
        drop(held);
        // At most one in the thread's hands and QUEUE waiting.
        wait_until("the queue drained", || *shown.lock().unwrap() >= 2);
        std::thread::sleep(Duration::from_millis(100));
        let count = *shown.lock().unwrap();
        assert!(count <= QUEUE + 1, "{count} shown");
        assert!(desktop.is_on());
    }

    #[test]
    fn off_means_nothing_happens() {
        let mut desktop = Desktop::new(false);
        assert!(!desktop.is_on());
        desktop.notify(&notice("x", true));
        assert!(!desktop.is_on());
    }

    /// The real service, as the chat uses it. With no session bus (CI,
    /// servers) it fails at once and says why in one sentence; where a
    /// desktop runs one, a notification is shown. Either way it answers
    /// within its time limit and never panics.
    #[test]
    fn the_service_answers_in_time_and_says_why_it_cannot() {
        use std::os::unix::fs::MetadataExt;
        // Where zbus looks for the session bus: the variable, else
        // $XDG_RUNTIME_DIR/bus, else /run/user/EUID/bus.
        let euid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
        let runtime_dir =
            std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| format!("/run/user/{euid}"));
        let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
            || std::path::Path::new(&runtime_dir).join("bus").exists();
        let started = Instant::now();
        let shown = Service::default().show(&Message::from_notice(&notice(
            "a test of hychat's suite",
            false,
        )));
        let took = started.elapsed();
        match shown {
            Ok(()) => assert!(bus, "shown with no session bus to show it on"),
            Err(error) if bus => assert!(
                matches!(error, ShowError::NoService(_) | ShowError::NoAnswer(_)),
                "{error}"
            ),
            Err(error) => {
                assert!(matches!(error, ShowError::NoService(_)), "{error}");
                assert!(took < SHOW_TIMEOUT, "no bus, yet it took {took:?}");
            }
        }
        assert!(took < SHOW_TIMEOUT + Duration::from_secs(2), "{took:?}");
    }
}
