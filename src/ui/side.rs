//! Draws the side panel: "Channels" (home and each joined room with its
//! Alt+N number, unread count and `@` mention marker, the active one
//! marked), "Following" (name, short key, ● when a connected peer serves
//! the log, a downloaded/length gauge while catching up) and "Peers" (name
//! and short id, how it is reached (`lan`, `internet`, `local`, or `relay`
//! when it only serves others' logs), time connected, the rooms it was met
//! in, and each log it serves: its writer's name and short key).
//! Connections that carry no log and no room are counted, not listed.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::channels::Channel;
use crate::app::network::peer_tag;
use crate::app::network::peers::{short_duration, Followed};
use crate::app::{text, App};

use super::theme;

const GAUGE_WIDTH: usize = 10;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
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
    lines.push(heading("Channels", width));
    let active = app.channels().active_index();
    for (index, channel) in app.channels().list().iter().enumerate() {
        lines.push(channel_line(index, channel, index == active, width));
    }
    lines.push(Line::raw(""));
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
    let peers: Vec<_> = app.peers().listed().collect();
    let connecting = app.peers().connecting();
    lines.push(heading(&format!("Peers ({})", peers.len()), width));
    if peers.is_empty() && connecting == 0 {
        lines.push(Line::styled(
            text::truncate(" none connected", width),
            theme::dim(),
        ));
    }
    for peer in peers {
        let since = short_duration(peer.since, app.now());
        let tag = peer_tag(peer, app.own()).map_or(String::new(), |tag| format!(" {tag}"));
        // Who it is, when it said which log is its own; else its session id.
        let who = peer.own_log().zip(app.peer_name(peer)).map(|(key, name)| {
            let room = width.saturating_sub(1 + 1 + 8 + tag.len() + 1 + since.len());
            Span::styled(
                format!("{} ", text::truncate(&text::printable_line(&name), room)),
                theme::tone_nick(&key),
            )
        });
        let mut header = vec![Span::raw(" ")];
        header.extend(who);
        header.push(Span::styled(peer.id.short(), theme::title()));
        header.push(Span::raw(tag));
        header.push(Span::styled(format!(" {since}"), theme::dim()));
        lines.push(Line::from(header));
        let rooms: Vec<String> = peer.room_tags();
        if !rooms.is_empty() {
            let met = format!("   in {}", rooms.join(" "));
            lines.push(Line::styled(text::truncate(&met, width), theme::dim()));
        }
        // One line per log it serves: who wrote it, then its short key.
        for log in &peer.logs {
            let short = log.short();
            let name = app
                .name_of(log)
                .map(|n| text::printable_line(&n))
                .unwrap_or_default();
            let name_room = width.saturating_sub(3 + 1 + short.len());
            let name = text::truncate(&name, name_room);
            let mut spans = vec![Span::raw("   ")];
            if !name.is_empty() {
                spans.push(Span::styled(format!("{name} "), theme::tone_nick(log)));
            }
            spans.push(Span::styled(short, theme::dim()));
            lines.push(Line::from(spans));
        }
    }
    if connecting > 0 {
        lines.push(Line::styled(
            text::truncate(&format!(" +{connecting} connecting"), width),
            theme::dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `▸2 #streams-day   3 @`: active marker, Alt+N number, name, then the
/// unread count and the mention marker at the right.
fn channel_line(index: usize, channel: &Channel, active: bool, width: usize) -> Line<'static> {
    let marker = if active { "▸" } else { " " };
    let number = match index + 1 {
        n @ 1..=9 => n.to_string(),
        _ => " ".to_string(),
    };
    let unread = match channel.unread() {
        0 => String::new(),
        n if n > 99 => " 99+".to_string(),
        n => format!(" {n}"),
    };
    let mention = if channel.mention() { " @" } else { "" };
    let suffix_width = unread.len() + mention.len();
    let name_room = width.saturating_sub(3 + suffix_width);
    let name = text::truncate(&text::printable_line(&channel.id.to_string()), name_room);
    let pad = name_room.saturating_sub(text::width(&name));
    let name_style = if active {
        theme::title().add_modifier(ratatui::style::Modifier::REVERSED)
    } else if channel.unread() > 0 {
        theme::title()
    } else {
        ratatui::style::Style::new()
    };
    let mut spans = vec![
        Span::styled(marker, theme::online()),
        Span::styled(number, theme::dim()),
        Span::raw(" "),
        Span::styled(name, name_style),
    ];
    if suffix_width > 0 && name_room > 0 {
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(unread, theme::unread()));
        spans.push(Span::styled(mention, theme::mention()));
    }
    Line::from(spans)
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
