//! Draws the popups over the screen: the help (laid out by
//! `app::overlay::help`) and the network pane (laid out by
//! `app::network::pane`), both placed by `app::overlay` and scrolled by the
//! app, and the share key, with the key alone on its line so it is easy to
//! copy.

use ratatui::layout::{Constraint, Flex, Layout, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::network::pane::{self, PaneTone};
use crate::app::overlay::help::{self, HelpTone};
use crate::app::overlay::{popup_area, text_width, Overlay};
use crate::app::timeline::Tone;
use crate::app::App;

use super::theme;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, overlay: Overlay) {
    match overlay {
        Overlay::Help => draw_help(frame, area, app),
        Overlay::Key => draw_key(frame, area, app),
        Overlay::Network => draw_network(frame, area, app),
    }
}

fn draw_help(frame: &mut Frame, area: Rect, app: &App) {
    let lines: Vec<Line> = help::lines(text_width(area.width))
        .into_iter()
        .map(|line| {
            Line::from(
                line.into_iter()
                    .map(|(piece, tone)| Span::styled(piece, help_style(tone)))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    draw_scrolled(frame, area, app, " help ", lines);
}

fn draw_network(frame: &mut Frame, area: Rect, app: &App) {
    let lines: Vec<Line> = pane::lines(app, text_width(area.width))
        .into_iter()
        .map(|line| {
            Line::from(
                line.into_iter()
                    .map(|(piece, tone)| Span::styled(piece, pane_style(tone)))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    draw_scrolled(frame, area, app, " network ", lines);
}

/// A popup of lines laid out for `text_width`, scrolled as the app
/// says, with where it is in the footer when it does not fit.
fn draw_scrolled(frame: &mut Frame, area: Rect, app: &App, title: &str, lines: Vec<Line>) {
    let popup = popup_area(area, lines.len());
    let visible = usize::from(popup.height.saturating_sub(2));
    let scroll = app
        .overlay_scroll()
        .min(lines.len().saturating_sub(visible));
    let footer = if lines.len() > visible {
        format!(
            " Esc closes, Up/Down scroll ({}-{} of {}) ",
            scroll + 1,
            (scroll + visible).min(lines.len()),
            lines.len()
        )
    } else {
        " Esc closes ".to_string()
    };
    let text: Vec<Line> = lines.into_iter().skip(scroll).take(visible).collect();
    let inner = frame_popup(frame, popup, title, &footer);
    frame.render_widget(Paragraph::new(text), inner);
}

fn help_style(tone: HelpTone) -> ratatui::style::Style {
    match tone {
        HelpTone::Heading => theme::title(),
        HelpTone::Name => theme::tone(Tone::Info),
        HelpTone::Plain => ratatui::style::Style::new(),
    }
}

fn pane_style(tone: PaneTone) -> ratatui::style::Style {
    match tone {
        PaneTone::Heading | PaneTone::Id => theme::title(),
        PaneTone::Label => theme::tone(Tone::Info),
        PaneTone::Plain => ratatui::style::Style::new(),
        PaneTone::Dim => theme::dim(),
        PaneTone::Good => theme::online(),
        PaneTone::Warning => theme::warning(),
        PaneTone::Nick(key) => theme::tone_nick(&key),
    }
}

fn draw_key(frame: &mut Frame, area: Rect, app: &App) {
    let lines = key_lines(app);
    let longest = lines.iter().map(Line::width).max().unwrap_or(0);
    let width = u16::try_from(longest + 4)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let popup = centered(area, width, height);
    let inner = frame_popup(frame, popup, " your share key ", " Esc closes ");
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// Clears the popup's area, draws its frame, and gives back the text area.
fn frame_popup(frame: &mut Frame, popup: Rect, title: &str, footer: &str) -> Rect {
    frame.render_widget(Clear, popup);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme::border())
        .title(Span::styled(title.to_string(), theme::title()))
        .title_bottom(Span::styled(footer.to_string(), theme::dim()));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    inner.inner(Margin::new(1, 0))
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    cell
}

fn key_lines(app: &App) -> Vec<Line<'static>> {
    let Some(own) = app.own() else {
        return vec![Line::raw("Your log is still opening.")];
    };
    vec![
        Line::raw("Give this key to friends; they run /follow with it:"),
        Line::raw(""),
        Line::styled(own.to_hex(), theme::title()),
        Line::raw(""),
        Line::styled("The same key in z-base-32, for JS peers:", theme::dim()),
        Line::styled(own.to_z32(), theme::dim()),
    ]
}
