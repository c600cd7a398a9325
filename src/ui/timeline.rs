//! Draws the timeline: the window of rows selected by the scroll state,
//! styled by tone. Rows are already wrapped to the width by `app::view`.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::view::Row;
use crate::app::App;

use super::theme;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let height = usize::from(area.height);
    let scroll = app.timeline().scroll();
    let rows = app.cached_timeline_rows(usize::from(area.width));
    if rows.is_empty() {
        let note = match app.active_channel().room() {
            _ if app.own().is_none() => "Opening your log…".to_string(),
            None => "No messages yet.".to_string(),
            Some(room) => format!(
                "No messages in #{} yet.",
                crate::app::text::printable_line(room.as_str())
            ),
        };
        frame.render_widget(Paragraph::new(Span::styled(note, theme::dim())), area);
        return;
    }
    // Past the top of the rows: clamp there.
    let scroll = scroll.min(rows.len().saturating_sub(height));
    let end = rows.len() - scroll;
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = rows[start..end].iter().map(line).collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn line(row: &Row) -> Line<'static> {
    Line::from(
        row.segments
            .iter()
            .map(|s| Span::styled(s.text.clone(), theme::tone(s.tone)))
            .collect::<Vec<_>>(),
    )
}
