//! Draws the side panel: "Following" (name, short key, ● when a connected
//! peer serves the log, a downloaded/length gauge while catching up) and
//! "Peers" (short id, time connected, and each log it serves: its writer's
//! name and short key).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::peers::{short_duration, Followed};
use crate::app::{text, App};

use super::theme;

const GAUGE_WIDTH: usize = 10;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::new()
        .borders(Borders::LEFT)
        .border_style(theme::border());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    if width < 4 {
        return;
    }
    let mut lines = Vec::new();
    let follows = app.peers().follows();
    lines.push(heading(&format!("Following ({})", follows.len()), width));
    if follows.is_empty() {
        lines.push(Line::styled(
            text::truncate(" nobody yet: /follow KEY", width),
            theme::dim(),
        ));
    }
    for followed in follows {
        lines.push(follow_line(app, followed, width));
        if followed.catching_up() {
            lines.push(gauge(followed, width));
        }
    }
    lines.push(Line::raw(""));
    let peers = app.peers().peers();
    lines.push(heading(&format!("Peers ({})", peers.len()), width));
    if peers.is_empty() {
        lines.push(Line::styled(
            text::truncate(" none connected", width),
            theme::dim(),
        ));
    }
    for peer in peers {
        let since = short_duration(peer.since, app.now());
        lines.push(Line::from(vec![
            Span::raw(" "),
            Span::styled(peer.id.short(), theme::title()),
            Span::styled(format!(" {since}"), theme::dim()),
        ]));
        // One line per log it serves: who wrote it, then its short key.
        for feed in &peer.feeds {
            let short = feed.short();
            let name = if app.own() == Some(*feed) {
                "you".to_string()
            } else {
                app.peers()
                    .follow(feed)
                    .map(Followed::display_name)
                    .unwrap_or_default()
            };
            let name_room = width.saturating_sub(3 + 1 + short.len());
            let name = text::truncate(&name, name_room);
            let mut spans = vec![Span::raw("   ")];
            if !name.is_empty() {
                spans.push(Span::styled(format!("{name} "), theme::tone_nick(feed)));
            }
            spans.push(Span::styled(short, theme::dim()));
            lines.push(Line::from(spans));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn heading(title: &str, width: usize) -> Line<'static> {
    Line::styled(text::truncate(&format!(" {title}"), width), theme::title())
}

/// `● name      1a2b3c4d`, the name cut to fit.
fn follow_line(app: &App, followed: &Followed, width: usize) -> Line<'static> {
    let online = app.peers().is_online(&followed.key);
    let marker = if online {
        Span::styled(" ● ", theme::online())
    } else {
        Span::styled(" ○ ", theme::dim())
    };
    let short = followed.key.short();
    let name_room = width.saturating_sub(3 + 1 + short.len());
    let name = text::truncate(&text::printable_line(&followed.display_name()), name_room);
    let pad = name_room.saturating_sub(text::width(&name));
    let mut spans = vec![marker, Span::styled(name, theme::tone_nick(&followed.key))];
    if name_room > 0 {
        spans.push(Span::raw(" ".repeat(pad + 1)));
        spans.push(Span::styled(short, theme::dim()));
    }
    Line::from(spans)
}

/// `   ██████░░░░ 12/40`
fn gauge(followed: &Followed, width: usize) -> Line<'static> {
    let numbers = format!(" {}/{}", followed.downloaded, followed.length);
    let room = width.saturating_sub(3 + numbers.len()).min(GAUGE_WIDTH);
    let filled = if followed.length == 0 {
        0
    } else {
        let ratio = followed.downloaded.min(followed.length) as f64 / followed.length as f64;
        ((ratio * room as f64).round() as usize).min(room)
    };
    Line::from(vec![
        Span::raw("   "),
        Span::styled("█".repeat(filled), theme::online()),
        Span::styled("░".repeat(room - filled), theme::dim()),
        Span::styled(numbers, theme::dim()),
    ])
}
