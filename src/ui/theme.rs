//! Colours and styles, in one place: the tones of `app::timeline` mapped to
//! ratatui styles, and the nickname colours (slots picked from the log's key
//! by `app::timeline::layout`, so the same nickname on two keys gets two colours). The
//! palette can be set once at start-up from the config file's `[colours]`.

use std::str::FromStr;
use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};

use crate::app::timeline::layout::{nick_slot, NICK_COLOR_SLOTS};
use crate::app::timeline::Tone;
use crate::domain::LogKey;

/// Mid-brightness 256-colour entries that read on dark and light backgrounds,
/// one per nickname colour slot of `app::timeline::layout`.
const NICK_COLORS: [u8; NICK_COLOR_SLOTS] = [
    33, 37, 40, 70, 106, 136, 166, 160, 125, 127, 91, 61, 31, 172, 99, 169,
];

/// The colours the UI draws with.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    /// Nickname colours; a log's key picks one.
    pub nicks: Vec<Color>,
    /// System lines (welcome, follows, /key).
    pub info: Color,
    /// Inline errors.
    pub error: Color,
    /// Times, separators, borders, secondary text.
    pub dim: Color,
}

impl Default for Palette {
    fn default() -> Self {
        Self {
            nicks: NICK_COLORS.iter().map(|c| Color::Indexed(*c)).collect(),
            info: Color::Cyan,
            error: Color::Red,
            dim: Color::DarkGray,
        }
    }
}

/// A colour the config file names that is not a colour.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a colour: use a name such as \"cyan\", a 256-colour index such as \"33\", or \"#rrggbb\"")]
pub struct BadColour(pub String);

/// Parses one colour as written in the config file.
pub fn parse_colour(text: &str) -> Result<Color, BadColour> {
    Color::from_str(text.trim()).map_err(|_| BadColour(text.to_string()))
}

static PALETTE: OnceLock<Palette> = OnceLock::new();

/// Sets the palette for the rest of the process; only the first call counts.
pub fn set_palette(palette: Palette) {
    let _ = PALETTE.set(palette);
}

fn palette() -> &'static Palette {
    PALETTE.get_or_init(Palette::default)
}

/// The colour of a nickname colour slot.
pub fn nick_color(slot: usize) -> Color {
    let nicks = &palette().nicks;
    if nicks.is_empty() {
        return Color::Reset;
    }
    nicks[slot % nicks.len()]
}

pub fn tone(tone: Tone) -> Style {
    match tone {
        Tone::Time | Tone::Separator => dim(),
        Tone::Nick { own, slot, .. } => {
            let style = Style::new().fg(nick_color(slot));
            if own {
                style.add_modifier(Modifier::BOLD)
            } else {
                style
            }
        }
        Tone::Text { own: true } => Style::new().add_modifier(Modifier::BOLD),
        Tone::Text { own: false } => Style::new(),
        Tone::Other => dim().add_modifier(Modifier::ITALIC),
        Tone::Info => Style::new().fg(palette().info),
        Tone::Error => Style::new().fg(palette().error),
        Tone::Unread => warning(),
    }
}

/// A followed log's name in the side panel, in its nickname colour.
pub fn tone_nick(key: &LogKey) -> Style {
    tone(Tone::Nick {
        log: *key,
        own: false,
        slot: nick_slot(key),
    })
}

pub fn dim() -> Style {
    Style::new().fg(palette().dim)
}

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn border() -> Style {
    Style::new().fg(palette().dim)
}

pub fn status_bar() -> Style {
    Style::new().fg(Color::White).bg(Color::Indexed(236))
}

pub fn online() -> Style {
    Style::new().fg(Color::Green)
}

pub fn warning() -> Style {
    Style::new().fg(Color::Yellow)
}

/// A channel's unread count.
pub fn unread() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

/// The marker of a channel where someone named you.
pub fn mention() -> Style {
    Style::new()
        .fg(palette().error)
        .add_modifier(Modifier::BOLD)
}

/// Text a search found.
pub fn found() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// Text a search found, in the match being shown.
pub fn found_current() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(Color::Yellow)
        .add_modifier(Modifier::BOLD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_by_name_index_and_hex() {
        assert_eq!(parse_colour("cyan"), Ok(Color::Cyan));
        assert_eq!(parse_colour("33"), Ok(Color::Indexed(33)));
        assert_eq!(parse_colour("#ff8800"), Ok(Color::Rgb(255, 136, 0)));
        assert_eq!(parse_colour("blurple"), Err(BadColour("blurple".into())));
    }
}
