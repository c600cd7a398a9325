//! Draws the input box: a title saying where a message goes (home or
//! `#room`), the wrapped text (scrolled to keep the cursor in view when it
//! outgrows the box), a placeholder when empty, and the terminal cursor at
//! the editing position. While a long paste waits, the title asks whether
//! to send it; while a search runs, it shows the search and its counter.

use ratatui::layout::{Position, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::{text, App};

use super::theme;

const PLACEHOLDER: &str =
    "Type a message. Enter sends, Alt+Enter adds a line, /help lists commands";
const SEARCH_PLACEHOLDER: &str =
    "n or Enter: older match · N or Shift+Enter: newer · Esc: back to the newest";

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let input = app.input();
    let search = app.search().filter(|s| s.channel == *app.active_channel());
    let (title, style) = if let Some(lines) = app.paste_pending() {
        (
            format!(" send {lines} lines? Enter sends · Esc cancels "),
            theme::warning().add_modifier(Modifier::BOLD),
        )
    } else if input.text().starts_with('/') && !input.text().starts_with("//") {
        (" command ".to_string(), theme::dim())
    } else if let Some(search) = search {
        let query = text::truncate(&text::printable_line(&search.query), 24);
        (
            format!(" search “{query}”: {} ", search.counter()),
            theme::warning().add_modifier(Modifier::BOLD),
        )
    } else {
        let to = text::printable_line(&app.active_channel().to_string());
        (format!(" message to {to} "), theme::dim())
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme::border())
        .title(Span::styled(title, style));
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
        let text = if search.is_some() {
            SEARCH_PLACEHOLDER
        } else {
            PLACEHOLDER
        };
        let placeholder = text::truncate(text, usize::from(inner.width));
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
