//! The screen: its size and the time zone times are shown in (`Screen`,
//! `App`'s `screen`), where each part of it goes for a size (`Areas`:
//! timeline, side panel, input box, status bar), and how far a page key
//! moves. Pure geometry: `update` uses it for paging and scroll bounds,
//! `ui` draws into the areas.

use ratatui::layout::{Constraint, Layout, Rect};
use time::UtcOffset;

use super::input::Input;

/// How the app is shown: the terminal's size and the time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    /// Columns and rows, 80×24 until the first `Resize`.
    pub size: (u16, u16),
    /// Times are shown at this offset from UTC (UTC until the runner says).
    pub offset: UtcOffset,
}

impl Default for Screen {
    fn default() -> Self {
        Self {
            size: (80, 24),
            offset: UtcOffset::UTC,
        }
    }
}

impl Screen {
    /// The whole screen as a rectangle.
    pub fn rect(&self) -> Rect {
        Rect::new(0, 0, self.size.0, self.size.1)
    }

    /// Where each part goes, with the input box sized to `input`.
    pub fn areas(&self, input: &Input) -> Areas {
        Areas::compute(self.rect(), input)
    }
}

/// Narrower terminals get no side panel.
pub const SIDE_PANEL_MIN_TERMINAL_WIDTH: u16 = 60;
/// Most rows the input box grows to before it scrolls.
pub const INPUT_MAX_ROWS: usize = 6;

/// The screen split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub timeline: Rect,
    pub side: Option<Rect>,
    /// The input box, borders included.
    pub input: Rect,
    pub status: Rect,
}

impl Areas {
    /// Splits `area`: timeline (and side panel when wide enough) on top,
    /// then the input box sized to its content, then the status bar.
    pub fn compute(area: Rect, input: &Input) -> Self {
        let inner_width = usize::from(area.width.saturating_sub(2));
        let rows = input
            .layout(inner_width)
            .rows
            .len()
            .clamp(1, INPUT_MAX_ROWS);
        let input_height = u16::try_from(rows + 2).unwrap_or(3);
        let [main, input, status] = Layout::vertical([
            Constraint::Min(1),
            Constraint::Length(input_height),
            Constraint::Length(1),
        ])
        .areas(area);
        let (timeline, side) = if area.width >= SIDE_PANEL_MIN_TERMINAL_WIDTH {
            let side_width = (area.width / 4).clamp(24, 32);
            let [timeline, side] =
                Layout::horizontal([Constraint::Min(1), Constraint::Length(side_width)])
                    .areas(main);
            (timeline, Some(side))
        } else {
            (main, None)
        };
        Self {
            timeline,
            side,
            input,
            status,
        }
    }
}

/// Rows one PgUp/PgDn moves: a screen, keeping one row of context.
pub fn page(height: usize) -> usize {
    height.saturating_sub(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_hide_the_side_panel_when_narrow() {
        let input = Input::default();
        let wide = Areas::compute(Rect::new(0, 0, 100, 30), &input);
        assert!(wide.side.is_some());
        assert_eq!(wide.input.height, 3);
        assert_eq!(wide.status.y, 29);
        assert_eq!(wide.timeline.height, 26);
        let narrow = Areas::compute(Rect::new(0, 0, 59, 30), &input);
        assert!(narrow.side.is_none());
        assert_eq!(narrow.timeline.width, 59);
    }
}
