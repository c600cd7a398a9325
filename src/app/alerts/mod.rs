//! When hychat tells the user something needs them, and what the terminal
//! title says. A message from someone else that names the user, or that
//! comes into a channel they are not looking at, is a `Notice`; notices are
//! throttled so a burst (a catch-up, a busy room) rings once. The title
//! carries the unread count ("(3) hychat", "(3@) hychat" with a mention)
//! and is sent only when it changes. Pure: time comes in as `now`; the
//! runner rings the bell, shows desktop notifications and sets the title.
//! `update.rs` (`impl App`) is the app's side: a notice for a message
//! placed, the title after every event.

mod update;

use time::{Duration, OffsetDateTime};

/// A message worth telling the user about: it names them, or it came into
/// a channel they are not looking at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Where it came in: "home" or "#room".
    pub channel: String,
    /// Who wrote it, as the timeline names them.
    pub from: String,
    /// The message, as written.
    pub text: String,
    /// It names the user.
    pub mention: bool,
}

/// Least time between two notices; a mention is held back only by another
/// mention.
pub const NOTICE_GAP: Duration = Duration::seconds(3);

/// The title when nothing is unread.
pub const TITLE: &str = "hychat";

/// What was last told, to throttle notices and send the title on change.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    last_notice: Option<OffsetDateTime>,
    last_mention: Option<OffsetDateTime>,
    title: Option<String>,
}

impl Alerts {
    /// The notice to give now, or `None` when one went out too recently.
    pub fn notice(&mut self, notice: Notice, now: OffsetDateTime) -> Option<Notice> {
        let recent = |last: Option<OffsetDateTime>| last.is_some_and(|t| now - t < NOTICE_GAP);
        let held = if notice.mention {
            recent(self.last_mention)
        } else {
            recent(self.last_notice)
        };
        if held {
            return None;
        }
        self.last_notice = Some(now);
        if notice.mention {
            self.last_mention = Some(now);
        }
        Some(notice)
    }

    /// The title for `unread` messages (any naming the user when
    /// `mention`), when it differs from the one last sent.
    pub fn title(&mut self, unread: usize, mention: bool) -> Option<String> {
        let title = title_text(unread, mention);
        if self.title.as_deref() == Some(title.as_str()) {
            return None;
        }
        self.title = Some(title.clone());
        Some(title)
    }
}

/// "hychat", "(3) hychat", or "(3@) hychat" when one names the user.
pub fn title_text(unread: usize, mention: bool) -> String {
    match (unread, mention) {
        (0, _) => TITLE.to_string(),
        (n, false) => format!("({n}) {TITLE}"),
        (n, true) => format!("({n}@) {TITLE}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-28 10:00 UTC);

    fn notice(mention: bool) -> Notice {
        Notice {
            channel: "#rust".into(),
            from: "ann".into(),
            text: "hi".into(),
            mention,
        }
    }

    #[test]
    fn a_burst_of_notices_rings_once_but_a_mention_gets_through() {
        let mut alerts = Alerts::default();
        assert!(alerts.notice(notice(false), NOW).is_some());
        let soon = NOW + Duration::seconds(1);
        assert!(alerts.notice(notice(false), soon).is_none());
        assert!(alerts.notice(notice(true), soon).is_some());
        assert!(alerts.notice(notice(true), soon).is_none());
        let later = NOW + NOTICE_GAP + Duration::seconds(1);
        assert!(alerts.notice(notice(false), later).is_some());
        assert!(alerts.notice(notice(true), later).is_some());
    }

    #[test]
    fn the_title_is_sent_when_it_changes() {
        let mut alerts = Alerts::default();
        assert_eq!(alerts.title(0, false).as_deref(), Some("hychat"));
        assert_eq!(alerts.title(0, false), None);
        assert_eq!(alerts.title(3, false).as_deref(), Some("(3) hychat"));
        assert_eq!(alerts.title(3, true).as_deref(), Some("(3@) hychat"));
        assert_eq!(alerts.title(0, true).as_deref(), Some("hychat"));
    }
}
