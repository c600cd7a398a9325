//! The help screen's content: which lines it has at a width (the commands,
//! then the keys), and how far it scrolls on a screen, so `update` can
//! bound its scrolling and `ui` can draw it. Pure text layout; no styling
//! beyond a tone per piece. Where the popup sits is `overlay`'s.

use ratatui::layout::Rect;

use crate::app::commands::COMMANDS;
use crate::app::text;

use super::{popup_area, text_width};

/// Keys and what they do.
pub const KEYS: &[(&str, &str)] = &[
    ("Enter", "send the message or run the command"),
    ("Alt+Enter", "new line in the message (pastes keep theirs)"),
    ("Up / Down", "earlier / later lines you sent"),
    ("Alt+1 … Alt+9", "switch to channel 1 … 9 (1 is home)"),
    ("Ctrl+N / Ctrl+P", "next / previous channel"),
    (
        "Alt+A",
        "next channel with unread messages (mentions first)",
    ),
    ("Ctrl+F", "search this channel; n / N: older / newer match"),
    ("Tab", "complete a command or a name"),
    ("F1 / F2", "this help / the network pane (/net)"),
    ("PgUp / PgDn", "scroll the timeline"),
    ("Ctrl+Home / End", "oldest message / back to the newest"),
    ("Home / End", "start / end of the line (also Ctrl+A / E)"),
    (
        "Ctrl+W / Ctrl+U",
        "delete a word / to the start of the line",
    ),
    ("//text", "send a line that begins with /"),
    (
        "HH:MM~",
        "the writer's clock is ahead: shown at its arrival",
    ),
    ("Ctrl+C", "quit (also Ctrl+D on an empty line)"),
];

/// Width of the name column when names and descriptions sit side by side.
const NAME_COLUMN: usize = 20;
/// Narrowest description column worth keeping beside the names.
const MIN_DESCRIPTION: usize = 30;
/// Indent of a description stacked under its name.
const STACKED_INDENT: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpTone {
    Heading,
    Name,
    Plain,
}

/// One line of the help: pieces of text with their tones.
pub type HelpLine = Vec<(String, HelpTone)>;

/// The help at a text width: names and descriptions side by side when
/// there is room, else each description stacked under its name.
pub fn lines(width: usize) -> Vec<HelpLine> {
    let mut out = vec![vec![("Commands".to_string(), HelpTone::Heading)]];
    for (name, args, what) in COMMANDS {
        entry(&mut out, format!("{name} {args}").trim_end(), what, width);
    }
    out.push(Vec::new());
    out.push(vec![("Keys".to_string(), HelpTone::Heading)]);
    for (keys, what) in KEYS {
        entry(&mut out, keys, what, width);
    }
    out
}

/// Rows the help can scroll on a screen of this size.
pub fn max_scroll(screen: Rect) -> usize {
    let count = lines(text_width(screen.width)).len();
    let visible = usize::from(popup_area(screen, count).height.saturating_sub(2));
    count.saturating_sub(visible)
}

fn entry(out: &mut Vec<HelpLine>, name: &str, what: &str, width: usize) {
    let side_by_side = width >= 2 + NAME_COLUMN + 1 + MIN_DESCRIPTION;
    if side_by_side {
        let indent = 2 + NAME_COLUMN + 1;
        let rows = text::wrap_line(what, width - indent, width - indent);
        for (number, row) in rows.into_iter().enumerate() {
            let left = if number == 0 {
                format!("  {name:<NAME_COLUMN$} ")
            } else {
                " ".repeat(indent)
            };
            out.push(vec![(left, HelpTone::Name), (row, HelpTone::Plain)]);
        }
    } else {
        out.push(vec![(format!("  {name}"), HelpTone::Name)]);
        let room = width.saturating_sub(STACKED_INDENT);
        for row in text::wrap_line(what, room, room) {
            out.push(vec![
                (" ".repeat(STACKED_INDENT), HelpTone::Plain),
                (row, HelpTone::Plain),
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(line: &HelpLine) -> String {
        line.iter().map(|(t, _)| t.as_str()).collect()
    }

    #[test]
    fn wide_help_puts_descriptions_beside_names() {
        let help = lines(76);
        assert_eq!(help.len(), 1 + COMMANDS.len() + 2 + KEYS.len());
        assert!(plain(&help[1]).starts_with("  /follow KEY [NAME]   follow"));
        assert!(help.iter().any(|l| plain(l).contains("Alt+A")));
        assert!(help.iter().all(|l| text::width(&plain(l)) <= 76));
    }

    #[test]
    fn narrow_help_stacks_and_wraps_with_an_indent() {
        let help = lines(30);
        assert_eq!(plain(&help[1]), "  /follow KEY [NAME]");
        assert!(plain(&help[2]).starts_with("      follow a friend's"));
        assert!(
            help.iter().all(|l| text::width(&plain(l)) <= 30),
            "{help:?}"
        );
        assert!(help.len() > 2 * (COMMANDS.len() + KEYS.len()));
    }

    #[test]
    fn scrolls_only_when_it_does_not_fit() {
        assert_eq!(max_scroll(Rect::new(0, 0, 100, 40)), 0);
        let short = Rect::new(0, 0, 100, 12);
        assert_eq!(max_scroll(short), lines(text_width(100)).len() - 10);
    }
}
