//! Draws the popups over the screen: the help (commands and keys) and the
//! share key, laid out so the key sits alone on its line, easy to copy.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::commands::COMMANDS;
use crate::app::{App, Overlay};

use super::theme;

/// Keys and what they do, for the help screen.
const KEYS: &[(&str, &str)] = &[
    ("Enter", "send the message or run the command"),
    ("Alt+Enter", "new line in the message (pastes keep theirs)"),
    ("Up / Down", "earlier / later lines you sent"),
    ("Tab", "complete a command or a name"),
    ("PgUp / PgDn", "scroll the timeline"),
    ("Ctrl+Home / End", "oldest message / back to the newest"),
    ("Home / End", "start / end of the line (also Ctrl+A / E)"),
    (
        "Ctrl+W / Ctrl+U",
        "delete a word / to the start of the line",
    ),
    ("Esc", "close this window"),
    ("Ctrl+C", "quit (also Ctrl+D on an empty line)"),
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App, overlay: Overlay) {
    let (title, lines) = match overlay {
        Overlay::Help => (" help ", help_lines()),
        Overlay::Key => (" your share key ", key_lines(app)),
    };
    let longest = lines.iter().map(Line::width).max().unwrap_or(0);
    let width = u16::try_from(longest + 4)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let popup = centered(area, width, height);
    frame.render_widget(Clear, popup);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme::border())
        .title(Span::styled(title, theme::title()))
        .title_bottom(Span::styled(" Esc closes ", theme::dim()));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let inner = inner.inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
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

fn help_lines() -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled("Commands", theme::title())];
    for (name, args, what) in COMMANDS {
        let synopsis = format!("{name} {args}");
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {synopsis:<20}"),
                theme::tone(crate::app::view::Tone::Info),
            ),
            Span::raw(format!(" {what}")),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Keys", theme::title()));
    for (keys, what) in KEYS {
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {keys:<20}"),
                theme::tone(crate::app::view::Tone::Info),
            ),
            Span::raw(format!(" {what}")),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Start a message with // to send a line that begins with /.",
        theme::dim(),
    ));
    lines
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
