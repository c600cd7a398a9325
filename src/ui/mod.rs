//! Rendering: `draw(frame, &App)` paints the whole screen from the app's
//! state and never changes it. Geometry comes from `app::screen` and
//! timeline rows from `app::timeline::layout`; this module only picks
//! widgets and styles. It reads the app and `domain`, never `net`. Parts:
//! `timeline`, `side` (channels, following and peers), `input`, `status`,
//! `popup` (help, key and the network pane), `theme` (colours).

mod input;
mod popup;
mod side;
mod status;
pub mod theme;
mod timeline;

use ratatui::Frame;

use crate::app::screen::Areas;
use crate::app::App;

/// Draws one frame of the app.
pub fn draw(frame: &mut Frame, app: &App) {
    let areas = Areas::compute(frame.area(), app.input());
    timeline::draw(frame, areas.timeline, app);
    if let Some(side) = areas.side {
        side::draw(frame, side, app);
    }
    input::draw(frame, areas.input, app);
    status::draw(frame, areas.status, app);
    if let Some(overlay) = app.overlay() {
        popup::draw(frame, frame.area(), app, overlay);
    }
}
