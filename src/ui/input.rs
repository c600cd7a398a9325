//! Draws the input box: a title saying where a message goes (home or
//! `#room`), the wrapped text (scrolled to keep the cursor in view when it
//! outgrows the box), a placeholder when empty, and the terminal cursor at
//! the editing position.

use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::App;

use super::theme;

const PLACEHOLDER: &str =
    "Type a message. Enter sends, Alt+Enter adds a line, /help lists commands";

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let input = app.input();
    let title = if input.text().starts_with('/') && !input.text().starts_with("//") {
        " command ".to_string()
    } else {
        let to = crate::app::text::printable_line(&app.active_channel().to_string());
        format!(" message to {to} ")
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme::border())
        .title(Span::styled(title, theme::dim()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let layout = input.layout(usize::from(inner.width));
    let visible = usize::from(inner.height);
    let (cursor_row, cursor_column) = layout.cursor;
    let first = (cursor_row + 1).saturating_sub(visible);
    if input.is_empty() {
        let placeholder = crate::app::text::truncate(PLACEHOLDER, usize::from(inner.width));
        frame.render_widget(
            Paragraph::new(Span::styled(placeholder, theme::dim())),
            inner,
        );
    } else {
        let lines: Vec<Line> = layout
            .rows
            .iter()
            .skip(first)
            .take(visible)
            .map(|row| Line::raw(row.clone()))
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }
    if app.overlay().is_none() && !app.is_quitting() {
        let x = inner.x
            + u16::try_from(cursor_column)
                .unwrap_or(0)
                .min(inner.width - 1);
        let y = inner.y
            + u16::try_from(cursor_row - first)
                .unwrap_or(0)
                .min(inner.height - 1);
        frame.set_cursor_position(Position::new(x, y));
    }
}
