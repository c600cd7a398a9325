//! The app's start and end: the first-run welcome on `Ready`, and every way to quit.

use super::*;

#[test]
fn quit_paths() {
    let mut app = ready_app(vec![]);
    assert_eq!(submit(&mut app, "/quit"), vec![Command::Quit]);
    assert!(app.is_quitting());

    let mut app = ready_app(vec![]);
    assert_eq!(ctrl(&mut app, 'c'), vec![Command::Quit]);

    let mut app = ready_app(vec![]);
    type_str(&mut app, "ab");
    press(&mut app, KeyCode::Left);
    assert!(ctrl(&mut app, 'd').is_empty());
    assert_eq!(app.input().text(), "a");
    ctrl(&mut app, 'u');
    ctrl(&mut app, 'e');
    ctrl(&mut app, 'w');
    assert_eq!(ctrl(&mut app, 'd'), vec![Command::Quit]);
}

#[test]
fn first_run_shows_the_share_key() {
    let mut app = App::new(NOW);
    app.update(Event::Net(NetEvent::Ready {
        own: OWN,
        nickname: "me".into(),
        first_run: true,
        follows: vec![],
        rooms: vec![],
        muted: vec![],
        read_marks: Vec::new(),
    }));
    let text: Vec<_> = app.timeline_rows(200).iter().map(|r| r.text()).collect();
    assert!(text.iter().any(|r| r.contains(&OWN.to_hex())), "{text:?}");
    assert!(text.iter().any(|r| r.contains("/follow")), "{text:?}");
    assert_eq!(app.own(), Some(OWN));

    let quiet = ready_app(vec![]);
    assert!(quiet.timeline().entries().is_empty());
}
