//! The full-screen chat end to end: two real TUIs in two detached tmux
//! sessions (on a private tmux socket) and a loopback bootstrap node. One
//! test has them follow each other by typing `/follow KEY`, exchange
//! messages, list the peer in the side panel, and `/quit` leaving the
//! terminal clean with exit status 0. The other has them meet in a room
//! with no keys exchanged: both `/join streams-day`, each message shows in
//! the other's room view (and not in home), and `/members` lists the other
//! as online, and then, with one of them in home, the other's room
//! message rings the bell and counts in the window title, a mention marks
//! it, and Alt+A goes to the room. A third checks the window title: whatever it becomes while
//! the TUI runs, the title from before comes back when it quits (Ctrl+C)
//! or is sent SIGTERM. A fourth runs the headless reads beside one running
//! TUI: `hychat key` prints the TUI's key, and `hychat tail OWN_KEY` prints
//! the message just typed into it. The tests run one at a time.

use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::harness::bin::{
    free_udp_port, hychat, hychat_command, own_key, start_bootstrap, stderr_of, stdout_of, QUICK,
};
use crate::harness::process::{one_at_a_time, Background};
use crate::harness::tmux::ensure_tmux;
use crate::harness::tui::{self, panel_shows_peer, side_panel, Tuis};

/// The room both TUIs join in the room test.
const ROOM: &str = "streams-day";

/// Alice and Bob, each in a tmux session with its own storage, and the
/// loopback bootstrap node they share. Fields drop in order: the TUIs
/// first, then the node, then the directories, then the hold on the
/// machine (`one_at_a_time`).
struct AliceAndBob {
    fixture: Tuis,
    /// When the two were started.
    started: Instant,
    _bootstrap: Background,
    _dirs: [TempDir; 3],
    _one_at_a_time: MutexGuard<'static, ()>,
}

fn start_alice_and_bob() -> AliceAndBob {
    let one_at_a_time = one_at_a_time();
    ensure_tmux();
    let dirs = [(); 3].map(|_| TempDir::new().unwrap());
    let (bootstrap, port) = start_bootstrap(dirs[0].path());
    let keys: Vec<String> = dirs[1..].iter().map(|d| own_key(d.path(), port)).collect();
    assert_ne!(keys[0], keys[1]);
    let mut fixture = Tuis::new();
    fixture.attach(bootstrap.transcript());
    for ((nick, dir), key) in ["alice", "bob"].into_iter().zip(&dirs[1..]).zip(keys) {
        fixture.launch(nick, dir.path(), key, nick, port);
    }
    AliceAndBob {
        fixture,
        started: Instant::now(),
        _bootstrap: bootstrap,
        _dirs: dirs,
        _one_at_a_time: one_at_a_time,
    }
}

/// The pane's title before hychat starts (set by the shell, as a prompt would).
const TITLE_BEFORE: &str = "title from before";

/// The process whose parent is `parent`, from `/proc` (the TUI under the
/// pane's shell).
fn child_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let after_comm = &stat[stat.rfind(')')? + 1..];
            let ppid: u32 = after_comm.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
}

/// How a TUI is made to leave.
#[derive(Clone, Copy, Debug)]
enum Leave {
    CtrlC,
    Sigterm,
}

/// Waits for the TUI's first frame, checks its title, has tmux change the
/// title, makes the TUI leave, and checks the title from before is back.
fn check_the_title_comes_back(fixture: &Tuis, chat: usize, leave: Leave) {
    let session = fixture.session(chat);
    let title = || fixture.tmux.format(session, "#{pane_title}");
    fixture.wait_for(chat, QUICK, "the first frame", |pane| {
        side_panel(pane)
            .iter()
            .any(|row| row.trim() == "Following (0)")
    });
    // While it runs, the title is hychat's (with the unread count, none here).
    let deadline = Instant::now() + QUICK;
    let mut running = title();
    while running != "hychat" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        running = title();
    }
    if running != "hychat" {
        fixture.fail(&format!(
            "while hychat runs the pane title is {running:?}, not \"hychat\""
        ));
    }
    // Whatever the title becomes meanwhile (here: set by tmux itself)...
    fixture
        .tmux
        .run(&["select-pane", "-t", session, "-T", "set while running"]);
    if title() != "set while running" {
        fixture.fail("tmux did not set the pane title");
    }
    match leave {
        Leave::CtrlC => {
            fixture.tmux.run(&["send-keys", "-t", session, "C-c"]);
        }
        Leave::Sigterm => {
            let shell: u32 = fixture
                .tmux
                .format(session, "#{pane_pid}")
                .parse()
                .expect("a pane pid");
            let Some(tui) = child_of(shell) else {
                fixture.fail("cannot find the TUI's process under the pane's shell");
            };
            let status = std::process::Command::new("kill")
                .args(["-TERM", &tui.to_string()])
                .status()
                .expect("run kill");
            assert!(status.success(), "kill -TERM {tui}: {status:?}");
        }
    }
    fixture.wait_for(chat, QUICK, "the TUI exiting with status 0", |pane| {
        pane.lines().any(|line| line.trim() == "EXITED:0")
    });
    // ...the one from before is back.
    let after = title();
    if after != TITLE_BEFORE {
        fixture.fail(&format!(
            "after {leave:?} the pane title is {after:?}, not {TITLE_BEFORE:?}"
        ));
    }
}

#[test]
fn the_window_title_from_before_comes_back_on_exit() {
    let _one_at_a_time = one_at_a_time();
    ensure_tmux();
    let dirs = [(); 2].map(|_| TempDir::new().unwrap());
    let (bootstrap, port) = start_bootstrap(dirs[0].path());
    let storage = dirs[1].path();
    let key = own_key(storage, port);
    let mut fixture = Tuis::new();
    fixture.attach(bootstrap.transcript());
    fixture.prelude = Some(format!("printf '\\033]0;{TITLE_BEFORE}\\007'"));

    let first = fixture.launch("title-ctrl-c", storage, key.clone(), "ann", port);
    check_the_title_comes_back(&fixture, first, Leave::CtrlC);
    // The same storage, once the first has let go of it.
    let second = fixture.launch("title-sigterm", storage, key, "ann", port);
    check_the_title_comes_back(&fixture, second, Leave::Sigterm);
    drop(fixture);
    drop(bootstrap);
}

/// Upper bound for a message to travel between the two TUIs.
const DELIVERY: Duration = Duration::from_secs(90);

#[test]
fn two_tuis_in_tmux_follow_each_other_chat_and_quit_cleanly() {
    let setup = start_alice_and_bob();
    let fixture = &setup.fixture;
    let (a, b) = (0, 1);
    let tmux = &fixture.tmux;
    let session = |i: usize| fixture.session(i);
    let started = setup.started;

    // Both draw their first frame, on the alternate screen.
    for (i, nick) in [(a, "alice"), (b, "bob")] {
        let short = fixture.chats[i].short().to_string();
        fixture.wait_for(i, QUICK, "the first frame", |pane| {
            side_panel(pane)
                .iter()
                .any(|row| row.trim() == "Following (0)")
                && pane.contains(&format!(" {nick} {short} "))
        });
        if tmux.format(session(i), "#{alternate_on}") != "1" {
            fixture.fail("the TUI does not use the alternate screen");
        }
    }

    tmux.type_line(session(a), &format!("/follow {}", fixture.chats[b].key));
    tmux.type_line(session(b), &format!("/follow {}", fixture.chats[a].key));
    for i in [a, b] {
        fixture.wait_for(i, QUICK, "`/follow` taking effect", |pane| {
            side_panel(pane)
                .iter()
                .any(|row| row.trim() == "Following (1)")
        });
    }

    let from_alice = format!("hello bob, alice here {}", std::process::id());
    tmux.type_line(session(a), &from_alice);
    let a_to_b = fixture.wait_for(b, DELIVERY, "alice's message arriving", |pane| {
        pane.contains(&format!("alice: {from_alice}"))
    });
    let from_bob = format!("hi alice, bob answers {}", std::process::id());
    tmux.type_line(session(b), &from_bob);
    let b_to_a = fixture.wait_for(a, DELIVERY, "bob's message arriving", |pane| {
        pane.contains(&format!("bob: {from_bob}"))
    });
    // Each sees its own message too, under its own nickname.
    fixture.wait_for(a, QUICK, "alice's own message", |pane| {
        pane.contains(&format!("alice: {from_alice}"))
    });
    fixture.wait_for(b, QUICK, "bob's own message", |pane| {
        pane.contains(&format!("bob: {from_bob}"))
    });

    // The side panel: the friend followed and online, a peer serving its log.
    for (i, other) in [(a, b), (b, a)] {
        let other_short = fixture.chats[other].short().to_string();
        fixture.wait_for(i, QUICK, "the side panel listing the peer", |pane| {
            panel_shows_peer(&side_panel(pane), &other_short)
        });
    }

    // /quit leaves the alternate screen and exits with status 0.
    tmux.type_line(session(a), "/quit");
    fixture.wait_for(a, QUICK, "alice's TUI exiting with status 0", |pane| {
        pane.lines().any(|line| line.trim() == "EXITED:0")
    });
    if tmux.format(session(a), "#{alternate_on}") != "0" {
        fixture.fail("after /quit the alternate screen is still on");
    }
    if tmux.format(session(a), "#{cursor_flag}") != "1" {
        fixture.fail("after /quit the cursor is still hidden");
    }
    let after_quit = tmux.capture(session(a));
    if after_quit.contains("Following (") || after_quit.contains("Peers (") {
        fixture.fail("after /quit the chat screen is still drawn on the normal screen");
    }
    // Bob's TUI is unaffected, and quits the same way.
    if tmux.capture(session(b)).contains("EXITED:") {
        fixture.fail("bob's TUI exited when alice quit");
    }
    tmux.type_line(session(b), "/quit");
    fixture.wait_for(b, QUICK, "bob's TUI exiting with status 0", |pane| {
        pane.lines().any(|line| line.trim() == "EXITED:0")
    });
    if tmux.format(session(b), "#{alternate_on}") != "0" {
        fixture.fail("after /quit bob's alternate screen is still on");
    }
    eprintln!(
        "alice→bob in {a_to_b:?}, bob→alice in {b_to_a:?}, whole run {:?}",
        started.elapsed()
    );
    drop(setup);
}

#[test]
fn two_tuis_meet_in_a_room_without_exchanging_keys() {
    // The keys are read only to check `/members`; neither TUI is told the other's.
    let setup = start_alice_and_bob();
    let fixture = &setup.fixture;
    let (a, b) = (0, 1);
    let tmux = &fixture.tmux;
    let session = |i: usize| fixture.session(i);
    let started = setup.started;

    // Both start in home, the only channel.
    for i in [a, b] {
        fixture.wait_for(i, QUICK, "the first frame, in home", |pane| {
            let panel = side_panel(pane);
            panel.iter().any(|row| row.trim() == "Channels")
                && panel.iter().any(|row| row.trim() == "▸1 home")
                && pane.contains(" message to home ")
        });
    }

    // Both join the room by name, and are put in it once joined.
    for i in [a, b] {
        tmux.type_line(session(i), &format!("/join {ROOM}"));
    }
    for i in [a, b] {
        fixture.wait_for(i, QUICK, "`/join` entering the room", |pane| {
            side_panel(pane)
                .iter()
                .any(|row| row.trim() == format!("▸2 #{ROOM}"))
                && pane.contains(&format!(" message to #{ROOM} "))
                && pane.contains(&format!("you are in #{ROOM}"))
        });
    }

    // A message each way, written in the room, shows in the other's room view.
    let from_alice = format!("alice in the room {}", std::process::id());
    tmux.type_line(session(a), &from_alice);
    let a_to_b = fixture.wait_for(b, DELIVERY, "alice's room message arriving", |pane| {
        pane.contains(&format!("alice: {from_alice}"))
            && pane.contains(&format!(" message to #{ROOM} "))
    });
    let from_bob = format!("bob in the room {}", std::process::id());
    tmux.type_line(session(b), &from_bob);
    let b_to_a = fixture.wait_for(a, DELIVERY, "bob's room message arriving", |pane| {
        pane.contains(&format!("bob: {from_bob}")) && pane.contains(&format!("alice: {from_alice}"))
    });
    fixture.wait_for(b, QUICK, "bob's own room message", |pane| {
        pane.contains(&format!("bob: {from_bob}"))
    });

    // Alt+1 is home, where room messages do not show; Alt+2 is the room again.
    tmux.run(&["send-keys", "-t", session(a), "M-1"]);
    fixture.wait_for(a, QUICK, "Alt+1 switching to home", |pane| {
        pane.contains(" message to home ")
            && side_panel(pane).iter().any(|row| row.trim() == "▸1 home")
            && !pane.contains(&from_bob)
            && !pane.contains(&from_alice)
    });
    tmux.run(&["send-keys", "-t", session(a), "M-2"]);
    fixture.wait_for(a, QUICK, "Alt+2 switching back to the room", |pane| {
        pane.contains(&format!(" message to #{ROOM} ")) && pane.contains(&from_bob)
    });

    // Each lists the other among the room's members, online. The list is
    // a snapshot, so ask again until the peer's room introduction is in.
    for (i, other, nick) in [(a, b, "bob"), (b, a, "alice")] {
        let wanted = format!("{nick} {} online", fixture.chats[other].short());
        let deadline = Instant::now() + DELIVERY;
        loop {
            tmux.type_line(session(i), "/members");
            let listed = Instant::now() + Duration::from_secs(3);
            let mut seen = false;
            while !seen && Instant::now() < listed {
                std::thread::sleep(tui::POLL);
                seen = tmux.capture(session(i)).contains(&wanted);
            }
            if seen {
                break;
            }
            if Instant::now() >= deadline {
                fixture.fail(&format!(
                    "pane {}: `/members` did not list `{wanted}` within {DELIVERY:?}",
                    session(i)
                ));
            }
        }
    }

    // Told when it matters: with alice in home, bob's room message rings
    // her terminal's bell and counts in her title; one that names her
    // marks the title; Alt+A takes her to the room and clears it.
    let title = |i: usize| tmux.format(session(i), "#{pane_title}");
    let wait_title = |i: usize, wanted: &str, what: &str| {
        let deadline = Instant::now() + DELIVERY;
        while title(i) != wanted {
            if Instant::now() >= deadline {
                fixture.fail(&format!(
                    "pane {}: {what}: the title is {:?}, not {wanted:?}",
                    session(i),
                    title(i)
                ));
            }
            std::thread::sleep(tui::POLL);
        }
    };
    tmux.run(&["send-keys", "-t", session(a), "M-1"]);
    fixture.wait_for(a, QUICK, "Alt+1 switching to home", |pane| {
        pane.contains(" message to home ")
    });
    wait_title(a, "hychat", "in home with nothing unread");
    if tmux.format(session(a), "#{window_bell_flag}") != "0" {
        fixture.fail("alice's bell rang before anything was unread");
    }
    tmux.type_line(
        session(b),
        &format!("news in the room {}", std::process::id()),
    );
    wait_title(a, "(1) hychat", "bob's room message unread");
    if tmux.format(session(a), "#{window_bell_flag}") != "1" {
        fixture.fail("bob's room message did not ring alice's bell");
    }
    tmux.type_line(session(b), "alice, look at this");
    wait_title(a, "(2@) hychat", "a message naming alice unread");
    tmux.run(&["send-keys", "-t", session(a), "M-a"]);
    fixture.wait_for(a, QUICK, "Alt+A going to the unread room", |pane| {
        pane.contains(&format!(" message to #{ROOM} ")) && pane.contains("alice, look at this")
    });
    wait_title(a, "hychat", "the room read");

    for i in [a, b] {
        tmux.type_line(session(i), "/quit");
        fixture.wait_for(i, QUICK, "the TUI exiting with status 0", |pane| {
            pane.lines().any(|line| line.trim() == "EXITED:0")
        });
    }
    eprintln!(
        "in #{ROOM}: alice→bob in {a_to_b:?}, bob→alice in {b_to_a:?}, whole run {:?}",
        started.elapsed()
    );
    drop(setup);
}

/// The reads need no lock: beside a running TUI, `hychat key` prints its
/// key and `hychat tail OWN_KEY` the message typed into it, at once.
#[test]
fn key_and_tail_of_the_own_key_work_beside_a_running_tui() {
    let _one_at_a_time = one_at_a_time();
    ensure_tmux();
    let dir = TempDir::new().unwrap();
    // Nothing listens on this port: the TUI stays offline.
    let closed = free_udp_port();
    let key = own_key(dir.path(), closed);
    let mut fixture = Tuis::new();
    let me = fixture.launch("alice", dir.path(), key.clone(), "alice", closed);
    let short = fixture.chats[me].short().to_string();
    fixture.wait_for(me, QUICK, "the first frame", |pane| {
        pane.contains(&format!(" alice {short} "))
    });
    let text = format!("a note to myself {}", std::process::id());
    fixture.tmux.type_line(fixture.session(me), &text);
    fixture.wait_for(me, QUICK, "the message on screen", |pane| {
        pane.contains(&format!("alice: {text}"))
    });

    let output = hychat(dir.path(), closed).arg("key").output().unwrap();
    if !output.status.success() || stdout_of(&output).trim_end() != key {
        fixture.fail(&format!(
            "`hychat key` beside the TUI printed {:?} (status {:?}), not {key}\nstderr: {}",
            stdout_of(&output),
            output.status,
            stderr_of(&output)
        ));
    }

    let mut tail = Background::spawn(
        "tail of the own key",
        hychat_command(dir.path(), closed, &["tail", &key]),
        false,
    );
    fixture.attach(tail.transcript());
    let wanted = format!("alice: {text}");
    if tail
        .wait_for_line(QUICK, |l| l.ends_with(&wanted))
        .is_none()
    {
        fixture.fail(&format!("`hychat tail {key}` did not print {wanted:?}"));
    }
    // Stopped by pid (SIGTERM), it leaves cleanly; the TUI goes on.
    if !tail.terminate().is_some_and(|s| s.success()) {
        fixture.fail("`hychat tail` did not exit with status 0 on SIGTERM");
    }
    if fixture
        .tmux
        .capture(fixture.session(me))
        .contains("EXITED:")
    {
        fixture.fail("the TUI exited beside the reads");
    }
    fixture.tmux.type_line(fixture.session(me), "/quit");
    fixture.wait_for(me, QUICK, "the TUI exiting with status 0", |pane| {
        pane.lines().any(|line| line.trim() == "EXITED:0")
    });
}
