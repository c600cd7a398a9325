//! Draws the status bar: who we are (nickname and short key), the peer
//! count (connections that carry a log or a room), the network state and what is known of our place on the network
//! (public address, NAT, reachability: as many whole facts as fit, the
//! least useful dropped first), and on the right the "N new below" counter,
//! a completion hint, or (when the terminal is too narrow for the side
//! panel and its channel list) the channels with unread messages.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::network::DhtState;
use crate::app::screen::SIDE_PANEL_MIN_TERMINAL_WIDTH;
use crate::app::{text, App};

use super::theme;

/// Below this width the short key is left out of the status bar.
const COMPACT_BELOW: usize = 60;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let width = usize::from(area.width);
    let right = right_text(app, area.width);
    let right_width = text::width(&right);
    let mut spans = left_spans(app, area.width);
    let left_budget = width.saturating_sub(right_width + usize::from(right_width > 0));
    add_facts(&mut spans, app, left_budget);
    clip(&mut spans, left_budget);
    let left_width: usize = spans.iter().map(|s| text::width(&s.content)).sum();
    if !right.is_empty() && left_width + right_width <= width {
        spans.push(Span::raw(" ".repeat(width - left_width - right_width)));
        spans.push(Span::styled(
            right,
            theme::warning().add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme::status_bar()),
        area,
    );
}

fn left_spans(app: &App, width: u16) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if app.is_quitting() {
        spans.push(Span::styled(" closing, saving logs… ", theme::warning()));
        return spans;
    }
    match app.own() {
        Some(own) => {
            spans.push(Span::styled(
                format!(" {} ", text::printable_line(app.nickname())),
                theme::title(),
            ));
            if usize::from(width) >= COMPACT_BELOW {
                spans.push(Span::raw(format!("{} ", own.short())));
            }
        }
        None => spans.push(Span::raw(" starting… ")),
    }
    let peers = app.peers().listed().count();
    spans.push(Span::raw(format!(
        "│ {peers} {} │ ",
        if peers == 1 { "peer" } else { "peers" }
    )));
    let (network, style) = network_text(app);
    spans.push(Span::styled(network, style));
    spans
}

fn network_text(app: &App) -> (String, ratatui::style::Style) {
    let style = match app.dht_state() {
        DhtState::Connecting | DhtState::Disabled => theme::dim(),
        DhtState::Online => theme::online(),
        DhtState::Bootstrapping | DhtState::Offline => theme::warning(),
    };
    (app.dht_words(), style)
}

/// Appends ` · public 203.0.113.5 · port-preserving NAT · not reachable
/// from outside`, or as many of its last facts as fit whole in `budget`.
/// While offline (or with networking off) the state alone is the truth.
fn add_facts(spans: &mut Vec<Span<'static>>, app: &App, budget: usize) {
    if !matches!(app.dht_state(), DhtState::Online | DhtState::Bootstrapping) {
        return;
    }
    let used: usize = spans.iter().map(|s| text::width(&s.content)).sum();
    let facts = app.status_facts();
    let shown = (0..facts.len())
        .map(|first| format!(" · {}", facts[first..].join(" · ")))
        .find(|shown| used + text::width(shown) <= budget);
    if let Some(shown) = shown {
        spans.push(Span::raw(shown));
    }
}

fn right_text(app: &App, width: u16) -> String {
    if let Some(hint) = app.hint() {
        return format!("{} ", text::printable_line(hint));
    }
    match app.timeline().new_below() {
        0 if app.timeline().is_at_bottom() && width < SIDE_PANEL_MIN_TERMINAL_WIDTH => {
            unread_elsewhere(app)
        }
        0 if app.timeline().is_at_bottom() => String::new(),
        0 => "↓ scrolled up (Ctrl+End) ".into(),
        n => format!("↓ {n} new below "),
    }
}

/// `unread 2:3@ 3:1 `: channel numbers with their unread counts and
/// mention markers, for when the channel list is not drawn.
fn unread_elsewhere(app: &App) -> String {
    let counts: Vec<String> = app
        .channels()
        .list()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.unread() > 0)
        .map(|(i, c)| {
            let mention = if c.mention() { "@" } else { "" };
            format!("{}:{}{mention}", i + 1, c.unread())
        })
        .collect();
    if counts.is_empty() {
        String::new()
    } else {
        format!("unread {} ", counts.join(" "))
    }
}

/// Cuts the spans to `budget` columns.
fn clip(spans: &mut Vec<Span<'static>>, budget: usize) {
    let mut used = 0;
    let mut keep = Vec::new();
    for span in spans.drain(..) {
        let w = text::width(&span.content);
        if used + w <= budget {
            used += w;
            keep.push(span);
        } else {
            let rest = budget.saturating_sub(used);
            if rest > 0 {
                keep.push(Span::styled(
                    text::truncate(&span.content, rest),
                    span.style,
                ));
            }
            break;
        }
    }
    *spans = keep;
}
