//! The help and key popups: opening and closing them, /key before the log
//! is open, and scrolling the help on a short screen.

use super::*;
use crate::app::overlay::help;

#[test]
fn help_and_key_overlays_open_and_close() {
    let mut app = ready_app(vec![]);
    submit(&mut app, "/help");
    assert_eq!(app.overlay(), Some(Overlay::Help));
    // Typing does not leak into the input behind the popup.
    type_str(&mut app, "x");
    assert!(app.input().is_empty());
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay(), None);
    submit(&mut app, "/key");
    assert_eq!(app.overlay(), Some(Overlay::Key));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay(), None);
    press(&mut app, KeyCode::F(1));
    assert_eq!(app.overlay(), Some(Overlay::Help));
}

#[test]
fn key_before_ready_is_an_error() {
    let mut app = App::new(NOW);
    submit(&mut app, "/key");
    assert_eq!(app.overlay(), None);
    assert!(last_row(&app).starts_with("15:00 ! the log is still opening"));
}

#[test]
fn help_scrolls_within_its_length_when_the_screen_is_short() {
    let mut app = ready_app(vec![]);
    app.update(Event::Resize(80, 12));
    press(&mut app, KeyCode::F(1));
    let max = help::max_scroll(ratatui::layout::Rect::new(0, 0, 80, 12));
    assert!(max > 0);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.overlay_scroll(), 1);
    for _ in 0..100 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(app.overlay_scroll(), max);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.overlay_scroll(), max - 1);
    press(&mut app, KeyCode::Home);
    assert_eq!(app.overlay_scroll(), 0);
    press(&mut app, KeyCode::PageDown);
    assert!(app.overlay_scroll() > 1);
    // A taller screen needs less scrolling; reopening starts at the top.
    app.update(Event::Resize(80, 60));
    assert_eq!(app.overlay_scroll(), 0);
    press(&mut app, KeyCode::Esc);
    assert!(app.input().is_empty());
}
