//! Colours and styles, in one place: the tones of `app::view` mapped to
//! ratatui styles, and the nickname colour derived from a log's key (so two
//! people with the same nickname but different keys usually differ).

use ratatui::style::{Color, Modifier, Style};

use crate::app::view::Tone;
use crate::net::FeedKey;

/// Mid-brightness 256-colour entries that read on dark and light backgrounds.
const NICK_COLORS: [u8; 16] = [
    33, 37, 40, 70, 106, 136, 166, 160, 125, 127, 91, 61, 31, 172, 99, 169,
];

/// The colour of a log's nicknames: FNV-1a over the key bytes.
pub fn nick_color(key: &FeedKey) -> Color {
    let hash = key
        .0
        .iter()
        .fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193));
    Color::Indexed(NICK_COLORS[(hash % NICK_COLORS.len() as u32) as usize])
}

pub fn tone(tone: Tone) -> Style {
    match tone {
        Tone::Time | Tone::Separator => dim(),
        Tone::Nick { feed, own } => {
            let style = Style::new().fg(nick_color(&feed));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nick_colour_depends_on_the_key_only() {
        let a = FeedKey([1; 32]);
        assert_eq!(nick_color(&a), nick_color(&FeedKey([1; 32])));
        let colours: std::collections::HashSet<_> =
            (0..=255u8).map(|b| nick_color(&FeedKey([b; 32]))).collect();
        assert!(colours.len() > 8, "only {} colours used", colours.len());
    }
}
