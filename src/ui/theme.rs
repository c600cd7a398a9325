//! Colours and styles, in one place: the tones of `app::view` mapped to
//! ratatui styles, and the nickname colours (slots picked from the log's key
//! by `app::view`, so the same nickname on two keys gets two colours).

use ratatui::style::{Color, Modifier, Style};

use crate::app::view::{nick_slot, Tone, NICK_COLOR_SLOTS};
use crate::net::FeedKey;

/// Mid-brightness 256-colour entries that read on dark and light backgrounds,
/// one per nickname colour slot of `app::view`.
const NICK_COLORS: [u8; NICK_COLOR_SLOTS] = [
    33, 37, 40, 70, 106, 136, 166, 160, 125, 127, 91, 61, 31, 172, 99, 169,
];

/// The colour of a nickname colour slot.
pub fn nick_color(slot: usize) -> Color {
    Color::Indexed(NICK_COLORS[slot % NICK_COLOR_SLOTS])
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
        Tone::Info => Style::new().fg(Color::Cyan),
        Tone::Error => Style::new().fg(Color::Red),
    }
}

/// A followed log's name in the side panel, in its nickname colour.
pub fn tone_nick(key: &FeedKey) -> Style {
    tone(Tone::Nick {
        feed: *key,
        own: false,
        slot: nick_slot(key),
    })
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn border() -> Style {
    Style::new().fg(Color::DarkGray)
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
