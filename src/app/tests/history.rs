//! Paging history through a timeline's window: the pages asked for, the
//! view kept still while they merge in, the window's bound, the jumps to
//! the top and the bottom, and stale pages. The engine is played by
//! `Disk`, which answers `LoadHistory` from messages held in a list.

use super::*;
use crate::app::timeline::WINDOW;
use crate::net::history::{HistoryPage, HistoryRequest, PageFrom, Position};

/// The channel's whole history, in channel order, as the engine would read it.
pub(super) struct Disk(pub(super) Vec<(Position, ChatMessage)>);

impl Disk {
    /// `count` messages of Ann, one a second from an hour before `NOW`.
    pub(super) fn of_ann(count: u64) -> Self {
        let start = NOW - time::Duration::hours(3);
        Disk(
            (0..count)
                .map(|seq| {
                    let at = start + time::Duration::seconds(seq as i64);
                    let position = Position {
                        at,
                        log: ANN,
                        seq: Seq(seq),
                    };
                    (
                        position,
                        ChatMessage::new_chat("ann", &format!("m{seq}"), at),
                    )
                })
                .collect(),
        )
    }

    pub(super) fn answer(&self, request: &HistoryRequest) -> HistoryPage {
        let all = &self.0;
        let (slice, exhausted) = match request.from {
            PageFrom::Newest => {
                let start = all.len().saturating_sub(request.count);
                (&all[start..], start == 0)
            }
            PageFrom::Oldest => {
                let end = request.count.min(all.len());
                (&all[..end], end == all.len())
            }
            PageFrom::Before(bound) => {
                let end = all.partition_point(|(p, _)| *p < bound);
                let start = end.saturating_sub(request.count);
                (&all[start..end], start == 0)
            }
            PageFrom::After(bound) => {
                let start = all.partition_point(|(p, _)| *p <= bound);
                let end = (start + request.count).min(all.len());
                (&all[start..end], end == all.len())
            }
        };
        let reached = match request.from {
            PageFrom::Newest | PageFrom::Before(_) => slice.first(),
            PageFrom::Oldest | PageFrom::After(_) => slice.last(),
        };
        HistoryPage {
            generation: request.generation,
            room: request.room.clone(),
            from: request.from,
            messages: slice.to_vec(),
            exhausted,
            reached: reached.map(|(p, _)| *p),
        }
    }

    /// Runs an update, answering every page it asks for (and the pages
    /// those answers ask for) until none is left. Returns the requests.
    pub(super) fn update(&self, app: &mut App, event: Event) -> Vec<HistoryRequest> {
        let mut asked = Vec::new();
        let mut pending = pages_in(app.update(event));
        while let Some(request) = pending.pop() {
            let page = self.answer(&request);
            asked.push(request);
            pending.extend(pages_in(app.update(Event::Net(NetEvent::History(page)))));
            assert!(asked.len() < 1_000, "pages asked without end");
        }
        asked
    }
}

pub(super) fn pages_in(commands: Vec<Command>) -> Vec<HistoryRequest> {
    commands
        .into_iter()
        .filter_map(|c| match c {
            Command::Net(NetCommand::LoadHistory(request)) => Some(request),
            _ => None,
        })
        .collect()
}

pub(super) fn ready(disk: &Disk) -> App {
    let mut app = App::new(NOW);
    app.update(Event::Resize(100, 30));
    let asked = disk.update(
        &mut app,
        Event::Net(NetEvent::Ready {
            own: OWN,
            nickname: "me".into(),
            first_run: false,
            follows: friends(),
            rooms: vec![],
            muted: vec![],
            read_marks: Vec::new(),
        }),
    );
    assert_eq!(asked[0].from, PageFrom::Newest, "the newest page first");
    assert_eq!(asked[0].room, None);
    assert_eq!(asked[0].logs, vec![OWN, ANN, BOB], "home's logs, sorted");
    app
}

pub(super) fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl_key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::CONTROL))
}

#[test]
fn start_up_shows_the_newest_page_at_the_bottom() {
    let disk = Disk::of_ann(4_000);
    let app = ready(&disk);
    assert_eq!(last_row(&app), format!("{} ann: m3999", time_of(3_999)));
    assert!(app.timeline().message_count() <= WINDOW);
    assert!(app.timeline().is_at_bottom());
    assert!(!app.timeline().window.complete_below);
}

/// The `HH:MM` of Ann's message `seq`.
fn time_of(seq: i64) -> String {
    let at = NOW - time::Duration::hours(3) + time::Duration::seconds(seq);
    format!("{:02}:{:02}", at.hour(), at.minute())
}

#[test]
fn paging_up_reaches_the_first_message_within_the_window_bound() {
    let disk = Disk::of_ann(4_000);
    let mut app = ready(&disk);
    let mut presses = 0;
    while !rows(&app).iter().any(|r| r.ends_with("ann: m0"))
        || app.timeline().scroll() < max_scroll(&app)
    {
        disk.update(&mut app, key(KeyCode::PageUp));
        presses += 1;
        assert!(
            app.timeline().message_count() <= WINDOW,
            "the window is bounded"
        );
        assert!(presses < 3_000, "the top was never reached");
    }
    // The view shows the oldest rows, in order.
    let top = visible(&app);
    assert!(top.iter().any(|r| r.ends_with("ann: m0")), "{top:?}");
    assert!(app.timeline().window.complete_below);
    assert!(!app.timeline().window.live, "the newest end was dropped");
    // A live message now stays on disk and is counted below the view.
    app.update(appended(ANN, 4_000, "ann", "live", 0));
    assert_eq!(app.timeline().new_below(), 1);
    assert!(!app.timeline().contains(&ANN, Seq(4_000)));
    // Paging down again meets every message once, in order, up to the newest.
    let mut seen: Vec<String> = top;
    while !app.timeline().is_at_bottom() || !app.timeline().window.live {
        disk.update(&mut app, key(KeyCode::PageDown));
        for row in visible(&app) {
            if seen.last() != Some(&row) && !seen.contains(&row) {
                seen.push(row);
            }
        }
        assert!(seen.len() < 20_000, "paging down never ended");
    }
    let numbers: Vec<u64> = seen
        .iter()
        .filter_map(|r| r.rsplit_once(": m").and_then(|(_, n)| n.parse().ok()))
        .collect();
    assert_eq!(numbers, (0..4_000).collect::<Vec<_>>());
}

#[test]
fn home_and_end_jump_afresh_to_either_end() {
    let disk = Disk::of_ann(4_000);
    let mut app = ready(&disk);
    let asked = disk.update(&mut app, ctrl_key(KeyCode::Home));
    assert_eq!(asked[0].from, PageFrom::Oldest);
    assert!(visible(&app).iter().any(|r| r.ends_with("ann: m0")));
    let asked = disk.update(&mut app, ctrl_key(KeyCode::End));
    assert_eq!(asked[0].from, PageFrom::Newest);
    assert!(app.timeline().is_at_bottom());
    assert!(last_row(&app).ends_with("ann: m3999"));
    // Back at the newest end, live messages show again.
    app.update(appended(ANN, 4_000, "ann", "live", 0));
    assert!(last_row(&app).ends_with("ann: live"));
}

#[test]
fn a_stale_page_is_dropped() {
    let disk = Disk::of_ann(4_000);
    let mut app = ready(&disk);
    let page = disk.answer(&HistoryRequest {
        generation: 99,
        room: None,
        logs: vec![ANN],
        from: PageFrom::Oldest,
        count: 10,
    });
    app.update(Event::Net(NetEvent::History(page)));
    assert!(!app.timeline().contains(&ANN, Seq(0)));
}

#[test]
fn following_someone_reads_the_windows_stretch_again() {
    let disk = Disk::of_ann(100);
    let mut app = ready(&disk);
    let carol = LogKey([0xc0; 32]);
    let asked = pages_in(app.update(Event::Net(NetEvent::Followed(follow(carol, None)))));
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].logs.contains(&carol));
    assert!(matches!(asked[0].from, PageFrom::After(p) if p.at <= NOW - time::Duration::hours(3)));
}

fn max_scroll(app: &App) -> usize {
    rows(app).len().saturating_sub(26)
}

/// The rows on screen (the timeline is 26 rows high at 100×30).
pub(super) fn visible(app: &App) -> Vec<String> {
    let all = rows(app);
    let end = all.len() - app.timeline().scroll().min(all.len());
    all[end.saturating_sub(26)..end].to_vec()
}
