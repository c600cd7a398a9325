//! Draws the timeline: the window of rows selected by the scroll state,
//! styled by tone. Rows are already wrapped to the width by
//! `app::timeline::layout`.
//! The last row of each of our own messages gets its delivery mark ("✓
//! held by 2") where it fits; the mark is drawn here, not laid out, so the
//! cached layout does not change as peers download. While a search runs,
//! its text is highlighted in the message rows, most in the match shown.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use unicode_width::UnicodeWidthStr;

use crate::app::network::delivery;
use crate::app::text;
use crate::app::timeline::{Body, Row, Tone};
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
    let width = usize::from(area.width);
    let search = app.search().filter(|s| s.channel == *app.active_channel());
    let current = search
        .and_then(|s| s.current())
        .and_then(|p| app.timeline().index_of(p));
    let lines: Vec<Line> = (start..end)
        .map(|i| {
            let last_of_entry = rows
                .get(i + 1)
                .is_none_or(|next| next.entry != rows[i].entry);
            let mark = last_of_entry
                .then(|| delivery_mark(app, &rows[i], width))
                .flatten();
            let found = search.map(|s| Found {
                query: &s.query,
                current: current == Some(rows[i].entry),
            });
            line(&rows[i], mark, found)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// The delivery mark after a row ending one of our own messages, if any
/// peer holds it and the row has room.
fn delivery_mark(app: &App, row: &Row, width: usize) -> Option<String> {
    let entry = app.timeline().entries().get(row.entry)?;
    let Body::Message { log, seq, .. } = &entry.body else {
        return None;
    };
    if Some(*log) != app.own() {
        return None;
    }
    let used: usize = row.segments.iter().map(|s| s.text.width()).sum();
    delivery::mark(app.held_by(*seq), width.saturating_sub(used))
}

/// A search's text, to highlight in a row.
#[derive(Clone, Copy)]
struct Found<'a> {
    query: &'a str,
    /// The row belongs to the match being shown.
    current: bool,
}

fn line(row: &Row, mark: Option<String>, found: Option<Found>) -> Line<'static> {
    let mut spans: Vec<Span> = Vec::new();
    for segment in &row.segments {
        let style = theme::tone(segment.tone);
        let body = matches!(segment.tone, Tone::Text { .. } | Tone::Other);
        match found.filter(|_| body) {
            Some(found) => highlight(&segment.text, style, found, &mut spans),
            None => spans.push(Span::styled(segment.text.clone(), style)),
        }
    }
    if let Some(mark) = mark {
        spans.push(Span::styled(mark, theme::dim()));
    }
    Line::from(spans)
}

/// `text` in `style`, with what the search found in a highlight.
fn highlight(text: &str, style: Style, found: Found, spans: &mut Vec<Span<'static>>) {
    let hit = if found.current {
        theme::found_current()
    } else {
        theme::found()
    };
    let mut from = 0;
    for range in text::find_ignoring_case(text, found.query) {
        if range.start > from {
            spans.push(Span::styled(text[from..range.start].to_string(), style));
        }
        spans.push(Span::styled(
            text[range.clone()].to_string(),
            style.patch(hit),
        ));
        from = range.end;
    }
    if from < text.len() || from == 0 {
        spans.push(Span::styled(text[from..].to_string(), style));
    }
}
