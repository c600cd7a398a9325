//! The chat's memory end to end, on real TUIs in tmux with a loopback
//! bootstrap node. One test fills a log with 600 messages through
//! `hychat send` before the TUI starts, finds the one 500 messages back
//! with `/search`, reads the match counter in the input box's title, and
//! goes back to the newest messages with Esc. The other has one TUI read
//! a friend's first messages and `/quit` (leaving `read.json` behind);
//! the friend writes two more while it is closed, and after the restart
//! the "new since you were here" line stands between the messages read
//! and the first new one. The tests run one at a time.

use std::time::{Duration, Instant};

use hychat::net::Store;
use tempfile::TempDir;

use crate::harness::bin::{hychat, own_key, start_bootstrap, stderr_of, QUICK};
use crate::harness::process::one_at_a_time;
use crate::harness::tmux::ensure_tmux;
use crate::harness::tui::{side_panel, Tuis, SIDE_COLUMN};

/// Messages written before the search test's TUI starts.
const PILE: usize = 600;
/// How far back from the newest the message searched for stands.
const BACK: usize = 500;
/// The word only that message holds.
const WORD: &str = "zanzibar";

/// The read-marker line's text (`app::timeline::layout::UNREAD_LINE`).
const UNREAD_LINE: &str = "new since you were here";

/// Upper bound for a message to travel between two TUIs, reconnecting
/// after a restart included.
const DELIVERY: Duration = Duration::from_secs(90);

/// The `/search` test's text of message `n` (1 is the oldest).
fn pile_message(n: usize) -> String {
    if n == PILE - BACK {
        format!("pile #{n:04} has the word {WORD}")
    } else {
        format!("pile #{n:04}")
    }
}

/// The timeline's rows of a capture: what is left of the side panel.
fn timeline_rows(pane: &str) -> Vec<String> {
    pane.lines()
        .map(|line| line.chars().take(SIDE_COLUMN).collect::<String>())
        .collect()
}

/// The first row of the timeline that contains `text`.
fn row_of(rows: &[String], text: &str) -> Option<usize> {
    rows.iter().position(|row| row.contains(text))
}

/// Whether the shell in the pane reported the TUI's exit with status 0.
fn exited(pane: &str) -> bool {
    pane.lines().any(|line| line.trim() == "EXITED:0")
}

/// Appends `lines` to the own log in `storage` in one `hychat send`, which
/// reads them from stdin, and checks it confirmed them all.
fn send_lines(storage: &std::path::Path, port: u16, nick: &str, lines: &[String]) {
    let output = hychat(storage, port)
        .args(["--nick", nick, "send"])
        .write_stdin(lines.join("\n") + "\n")
        .output()
        .expect("run hychat send");
    let stderr = stderr_of(&output);
    assert!(
        output.status.success() && stderr.contains(&format!("appended {} message(s)", lines.len())),
        "hychat send of {} lines failed: {:?}\n{stderr}",
        lines.len(),
        output.status
    );
}

#[test]
fn search_finds_a_message_500_messages_back_and_esc_returns_to_the_newest() {
    let _one_at_a_time = one_at_a_time();
    ensure_tmux();
    let started = Instant::now();
    let dirs = [(); 2].map(|_| TempDir::new().unwrap());
    let (bootstrap, port) = start_bootstrap(dirs[0].path());
    let storage = dirs[1].path();
    let key = own_key(storage, port);
    let texts: Vec<String> = (1..=PILE).map(pile_message).collect();
    send_lines(storage, port, "carol", &texts);
    let written = started.elapsed();

    let mut fixture = Tuis::new();
    fixture.attach(bootstrap.transcript());
    let chat = fixture.launch("searcher", storage, key, "carol", port);
    let session = fixture.session(chat);
    let tmux = &fixture.tmux;
    let newest = pile_message(PILE);
    let wanted = pile_message(PILE - BACK);

    fixture.wait_for(chat, QUICK, "the newest messages of the pile", |pane| {
        pane.contains(&format!("carol: {newest}")) && pane.contains(" message to home ")
    });
    if tmux.capture(session).contains(WORD) {
        fixture.fail(&format!(
            "the message {BACK} back is on screen before any search"
        ));
    }

    tmux.type_line(session, &format!("/search {WORD}"));
    let title = format!(" search “{WORD}”: 1 of 1 ");
    let no_match = format!(" search “{WORD}”: no match ");
    let found = fixture.wait_for(
        chat,
        QUICK,
        "the search jumping to its only match",
        |pane| {
            pane.contains(&no_match)
                || (pane.contains(&title) && pane.contains(&format!("carol: {wanted}")))
        },
    );
    if tmux.capture(session).contains(&no_match) {
        fixture.fail(&format!(
            "`/search {WORD}` found nothing: the title says `{no_match}`"
        ));
    }
    // The view moved to the match: the newest end is out of sight.
    if tmux.capture(session).contains(&newest) {
        fixture.fail("the search shows its match, but the newest message is still on screen");
    }

    tmux.run(&["send-keys", "-t", session, "Escape"]);
    fixture.wait_for(
        chat,
        QUICK,
        "Esc returning to the newest messages",
        |pane| {
            pane.contains(&format!("carol: {newest}"))
                && pane.contains(" message to home ")
                && !pane.contains(WORD)
                && !pane.contains(" search “")
        },
    );

    tmux.type_line(session, "/quit");
    fixture.wait_for(chat, QUICK, "the TUI exiting with status 0", exited);
    eprintln!(
        "{PILE} messages written in {written:?}; match {BACK} back shown {found:?} after \
         /search; whole run {:?}",
        started.elapsed()
    );
}

#[test]
fn after_a_restart_the_read_marker_stands_where_you_left() {
    let _one_at_a_time = one_at_a_time();
    ensure_tmux();
    let started = Instant::now();
    // Dropped in reverse: the TUIs, then the node, then the directories.
    let dirs = [(); 3].map(|_| TempDir::new().unwrap());
    let (bootstrap, port) = start_bootstrap(dirs[0].path());
    let (alice_dir, bob_dir) = (dirs[1].path(), dirs[2].path());
    let (alice_key, bob_key) = (own_key(alice_dir, port), own_key(bob_dir, port));
    let mut fixture = Tuis::new();
    fixture.attach(bootstrap.transcript());
    let a = fixture.launch("alice", alice_dir, alice_key.clone(), "alice", port);
    let b = fixture.launch("bob", bob_dir, bob_key.clone(), "bob", port);

    for (i, other) in [(a, &bob_key), (b, &alice_key)] {
        fixture.wait_for(i, QUICK, "the first frame", |pane| {
            side_panel(pane)
                .iter()
                .any(|row| row.trim() == "Following (0)")
        });
        fixture
            .tmux
            .type_line(fixture.session(i), &format!("/follow {other}"));
    }
    for i in [a, b] {
        fixture.wait_for(i, QUICK, "`/follow` taking effect", |pane| {
            side_panel(pane)
                .iter()
                .any(|row| row.trim() == "Following (1)")
        });
    }

    // Alice reads Bob's first two messages.
    let pid = std::process::id();
    let said: Vec<String> = ["one", "two", "three", "four"]
        .iter()
        .map(|n| format!("bob says {n} ({pid})"))
        .collect();
    let bob_writes = |fixture: &Tuis, texts: &[String]| {
        for text in texts {
            fixture.tmux.type_line(fixture.session(b), text);
            fixture.wait_for(b, QUICK, "bob's own message", |pane| {
                pane.contains(&format!("bob: {text}"))
            });
        }
    };
    bob_writes(&fixture, &said[..2]);
    let first = fixture.wait_for(a, DELIVERY, "bob's first two messages", |pane| {
        said[..2]
            .iter()
            .all(|text| pane.contains(&format!("bob: {text}")))
    });
    if fixture
        .tmux
        .capture(fixture.session(a))
        .contains(UNREAD_LINE)
    {
        fixture.fail("the read-marker line shows before anything was left unread");
    }

    // Alice quits; what she read is on disk.
    fixture.tmux.type_line(fixture.session(a), "/quit");
    fixture.wait_for(a, QUICK, "alice's TUI exiting with status 0", exited);
    if !alice_dir.join("read.json").is_file() {
        fixture.fail("alice quit, but her storage holds no read.json");
    }
    match Store::open(alice_dir).and_then(|store| store.load_read_marks()) {
        Ok(marks) => {
            let read_bob = marks
                .iter()
                .find(|mark| mark.room.is_none())
                .and_then(|mark| mark.read_up_to)
                .is_some_and(|read| read.log.to_hex() == bob_key);
            if !read_bob {
                fixture.fail(&format!(
                    "read.json should say home was read up to a message of bob's, but holds \
                     {marks:?}"
                ));
            }
        }
        Err(e) => fixture.fail(&format!("alice's read.json cannot be read: {e}")),
    }

    // Bob writes two more while she is away.
    bob_writes(&fixture, &said[2..]);

    // Alice comes back: the line stands between what she read and the new.
    let restarted = Instant::now();
    let again = fixture.launch("alice-again", alice_dir, alice_key, "alice", port);
    let caught_up = fixture.wait_for(again, DELIVERY, "bob's new messages and the line", |pane| {
        said.iter()
            .all(|text| pane.contains(&format!("bob: {text}")))
            && pane.contains(UNREAD_LINE)
    });
    let since_restart = restarted.elapsed();
    let rows = timeline_rows(&fixture.tmux.capture(fixture.session(again)));
    let at = |text: &str| row_of(&rows, &format!("bob: {text}"));
    let placed = match (
        at(&said[0]),
        at(&said[1]),
        row_of(&rows, UNREAD_LINE),
        at(&said[2]),
        at(&said[3]),
    ) {
        (Some(one), Some(two), Some(line), Some(three), Some(four)) => {
            // Only a day's separator may stand between the line and the
            // first new message (when the run crosses midnight).
            let only_dates_between = rows[line + 1..three.max(line + 1)]
                .iter()
                .all(|row| row.contains("────"));
            one < two && two < line && line < three && three < four && only_dates_between
        }
        _ => false,
    };
    if !placed {
        fixture.fail(&format!(
            "after the restart the line `{UNREAD_LINE}` should stand right above `bob: {}` \
             and below `bob: {}`",
            said[2], said[1]
        ));
    }

    for i in [again, b] {
        fixture.tmux.type_line(fixture.session(i), "/quit");
        fixture.wait_for(i, QUICK, "the TUI exiting with status 0", exited);
    }
    eprintln!(
        "bob's first messages reached alice in {first:?}; after the restart his new ones and \
         the line showed in {caught_up:?} ({:?} after relaunching); whole run {:?}",
        since_restart,
        started.elapsed()
    );
}
