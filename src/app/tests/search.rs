//! Searching a channel: the request, stepping through the matches newest
//! first, a match outside the window read from "disk" (`Disk`), the
//! counter, the keys, and Esc back to the newest end.

use super::history::{key, pages_in, ready, visible, Disk};
use super::*;
use crate::net::history::{Position, SearchRequest, SearchResults};

/// Ann's 2,000 messages, three of which say "needle" (at 10, 500 and 1,990).
fn haystack() -> Disk {
    let mut disk = Disk::of_ann(2_000);
    for (position, message) in &mut disk.0 {
        if [10, 500, 1_990].contains(&position.seq.0) {
            message.text = format!("{} has a NeedLe in it", message.text);
        }
    }
    disk
}

impl Disk {
    /// What the engine's search answers.
    fn search(&self, request: &SearchRequest) -> SearchResults {
        let query = request.query.to_lowercase();
        let matches: Vec<Position> = self
            .0
            .iter()
            .filter(|(_, m)| m.text.to_lowercase().contains(&query))
            .map(|(p, _)| *p)
            .collect();
        SearchResults {
            generation: request.generation,
            room: request.room.clone(),
            query: request.query.clone(),
            matches,
            capped: false,
        }
    }

    /// Runs an update, answering its searches and pages (and what those
    /// answers ask for) until nothing is left.
    fn run(&self, app: &mut App, event: Event) {
        let mut pending = vec![event];
        let mut rounds = 0;
        while let Some(event) = pending.pop() {
            let commands = app.update(event);
            for command in &commands {
                if let Command::Net(NetCommand::Search(request)) = command {
                    pending.push(Event::Net(NetEvent::SearchResults(self.search(request))));
                }
            }
            for request in pages_in(commands) {
                pending.push(Event::Net(NetEvent::History(self.answer(&request))));
            }
            rounds += 1;
            assert!(rounds < 1_000, "requests without end");
        }
    }
}

fn counter(app: &App) -> String {
    app.search().map(|s| s.counter()).unwrap_or_default()
}

fn shows(app: &App, text: &str) -> bool {
    visible(app).iter().any(|r| r.ends_with(text))
}

#[test]
fn search_asks_for_the_channel_and_steps_through_matches_newest_first() {
    let disk = haystack();
    let mut app = ready(&disk);
    let commands = app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('f'),
        KeyModifiers::CONTROL,
    )));
    assert!(without_pages(commands).is_empty());
    assert_eq!(app.input().text(), "/search ");
    type_str(&mut app, "needle");
    let commands = app.update(key(KeyCode::Enter));
    let request = commands.iter().find_map(|c| match c {
        Command::Net(NetCommand::Search(request)) => Some(request.clone()),
        _ => None,
    });
    let request = request.expect("a search is asked of the engine");
    assert_eq!(request.query, "needle");
    assert_eq!(request.room, None);
    assert_eq!(request.logs, vec![OWN, ANN, BOB]);
    assert_eq!(counter(&app), "searching…");

    disk.run(
        &mut app,
        Event::Net(NetEvent::SearchResults(disk.search(&request))),
    );
    assert_eq!(counter(&app), "1 of 3");
    assert!(
        shows(&app, "m1990 has a NeedLe in it"),
        "{:?}",
        visible(&app)
    );
    assert!(!app.timeline().is_at_bottom(), "scrolled up to the match");

    // Enter goes older; m500 is not in the window: it is read from disk.
    disk.run(&mut app, key(KeyCode::Enter));
    assert_eq!(counter(&app), "2 of 3");
    assert!(
        shows(&app, "m500 has a NeedLe in it"),
        "{:?}",
        visible(&app)
    );
    assert!(app.timeline().message_count() <= crate::app::timeline::WINDOW);

    disk.run(&mut app, key(KeyCode::Char('n')));
    assert_eq!(counter(&app), "3 of 3");
    assert!(shows(&app, "m10 has a NeedLe in it"), "{:?}", visible(&app));
    disk.run(&mut app, key(KeyCode::Char('n')));
    assert_eq!(counter(&app), "3 of 3");
    assert_eq!(app.hint(), Some("that is the oldest match"));

    // Shift+Enter and N go newer.
    disk.run(
        &mut app,
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT)),
    );
    assert_eq!(counter(&app), "2 of 3");
    assert!(shows(&app, "m500 has a NeedLe in it"));
    disk.run(&mut app, key(KeyCode::Char('N')));
    assert_eq!(counter(&app), "1 of 3");
    assert!(app.input().is_empty(), "n and N were not typed");

    // Esc ends the search at the newest end.
    disk.run(&mut app, key(KeyCode::Esc));
    assert!(app.search().is_none());
    assert!(app.timeline().is_at_bottom());
    assert!(shows(&app, "m1999"));
    // n is typed again.
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.input().text(), "n");
}

#[test]
fn a_search_without_matches_says_so_and_stale_answers_are_dropped() {
    let disk = haystack();
    let mut app = ready(&disk);
    let commands = submit(&mut app, "/search hay");
    let Some(Command::Net(NetCommand::Search(first))) = commands.first().cloned() else {
        panic!("no search asked: {commands:?}");
    };
    let commands = submit(&mut app, "/search nothing like it");
    let Some(Command::Net(NetCommand::Search(second))) = commands.first().cloned() else {
        panic!("no search asked: {commands:?}");
    };
    // The first search's answer comes late: dropped.
    let mut late = disk.search(&first);
    late.matches = disk
        .search(&SearchRequest {
            query: "needle".into(),
            ..first.clone()
        })
        .matches;
    app.update(Event::Net(NetEvent::SearchResults(late)));
    assert_eq!(counter(&app), "searching…");
    app.update(Event::Net(NetEvent::SearchResults(disk.search(&second))));
    assert_eq!(counter(&app), "no match");
    assert!(app.timeline().is_at_bottom());
    // Sending a message ends the search.
    submit(&mut app, "hello");
    assert!(app.search().is_none());
    // An empty search is a sentence, not a request.
    assert!(without_pages(submit(&mut app, "/search   ")).is_empty());
    assert!(last_entry(&app).contains("/search"), "{}", last_entry(&app));
}

#[test]
fn a_capped_answer_says_so_and_switching_channels_ends_the_search() {
    let mut app = room_app();
    let commands = submit(&mut app, "/search e");
    let Some(Command::Net(NetCommand::Search(request))) = commands.first().cloned() else {
        panic!("no search asked: {commands:?}");
    };
    app.update(Event::Net(NetEvent::SearchResults(SearchResults {
        generation: request.generation,
        room: None,
        query: "e".into(),
        matches: vec![Position {
            at: NOW,
            log: ANN,
            seq: Seq(0),
        }],
        capped: true,
    })));
    assert_eq!(counter(&app), "1 of 1+");
    alt(&mut app, '2');
    assert!(app.search().is_none());
}
