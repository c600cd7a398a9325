//! Muting: /mute and /unmute by name or key, the engine's answers hiding and
//! showing messages everywhere, and logs muted before start.

use super::*;

#[test]
fn mute_resolves_names_and_the_answer_hides_messages_everywhere() {
    let mut app = room_app();
    app.update(appended(ANN, 0, "ann", "home line", 1));
    app.update(in_room(BOB, 0, "bob", "room line", 1, "rust"));
    app.update(Event::Tick(NOW + time::Duration::minutes(10)));
    // Bob is known by his member nickname, Ann by her follow name.
    assert_eq!(
        submit(&mut app, "/mute BOB"),
        vec![Command::Net(NetCommand::Mute { key: BOB })]
    );
    assert_eq!(
        submit(&mut app, "/mute ann"),
        vec![Command::Net(NetCommand::Mute { key: ANN })]
    );
    assert!(submit(&mut app, "/mute me").is_empty());
    assert_eq!(
        last_row(&app),
        "15:10 ! that is you; you cannot mute yourself"
    );
    assert!(submit(&mut app, &format!("/mute {}", OWN.to_hex())).is_empty());
    assert!(last_row(&app).contains("cannot mute yourself"));
    assert!(submit(&mut app, "/mute carol").is_empty());
    assert_eq!(
        last_entry(&app),
        "nobody called carol here; /mute takes a name you have seen or a key"
    );
    assert!(submit(&mut app, "/unmute ann").is_empty());
    assert_eq!(last_row(&app), "15:10 ! ann (a1a1a1a1) is not muted");

    net(&mut app, NetEvent::Muted { log: BOB });
    assert_eq!(
        last_entry(&app),
        "muted bob (b0b0b0b0): their messages are hidden everywhere; /unmute shows them again"
    );
    assert!(rows_in(&app, 1).iter().all(|r| !r.contains("room line")));
    // New blocks of a muted log stay hidden.
    app.update(in_room(BOB, 1, "bob", "still talking", 2, "rust"));
    assert!(rows_in(&app, 1)
        .iter()
        .all(|r| !r.contains("still talking")));
    assert_eq!(channel_list(&app)[1].1, 0);
    assert!(app.is_muted(&BOB));
    assert!(submit(&mut app, "/mute bob").is_empty());
    assert!(last_row(&app).contains("muted already"));

    assert_eq!(
        submit(&mut app, "/unmute bob"),
        vec![Command::Net(NetCommand::Unmute { key: BOB })]
    );
    net(&mut app, NetEvent::Unmuted { log: BOB });
    assert_eq!(
        last_row(&app),
        "15:10 * unmuted bob (b0b0b0b0): their messages show again"
    );
    let text = rows_in(&app, 1);
    assert!(text.contains(&"15:01 bob: room line".to_string()));
    assert!(text.contains(&"15:02 bob: still talking".to_string()));
    assert!(rows(&app).contains(&"15:01 ann: home line".to_string()));
}

#[test]
fn an_ambiguous_name_is_an_error_listing_the_keys() {
    let mut app = room_app();
    // Ann's log writes as "bob" too.
    app.update(appended(ANN, 0, "bob", "i am bob", 1));
    app.update(Event::Tick(NOW + time::Duration::minutes(10)));
    assert!(submit(&mut app, "/mute bob").is_empty());
    assert_eq!(
        last_row(&app),
        "15:10 ! bob is 2 logs (a1a1a1a1, b0b0b0b0); /mute one by key"
    );
    assert_eq!(
        submit(&mut app, &format!("/mute {}", BOB.to_hex())),
        vec![Command::Net(NetCommand::Mute { key: BOB })]
    );
    // Unmuting prefers the muted one of the two.
    net(&mut app, NetEvent::Muted { log: BOB });
    assert_eq!(
        submit(&mut app, "/unmute bob"),
        vec![Command::Net(NetCommand::Unmute { key: BOB })]
    );
}

#[test]
fn logs_muted_before_start_stay_hidden() {
    let mut app = App::new(NOW);
    net(
        &mut app,
        NetEvent::Ready {
            own: OWN,
            nickname: "me".into(),
            first_run: false,
            follows: friends(),
            rooms: vec![],
            muted: vec![BOB],
            read_marks: Vec::new(),
        },
    );
    app.update(appended(BOB, 0, "bob", "shh", 1));
    app.update(appended(ANN, 0, "ann", "hello", 2));
    assert_eq!(rows(&app)[1..], ["15:02 ann: hello"]);
}
