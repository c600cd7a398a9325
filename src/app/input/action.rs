//! What a key means. Maps crossterm key events to `Action`s and nothing more:
//! no state is read or changed here, so the key map can be tested (and
//! changed) on its own, apart from `App::update`.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// A user intent, independent of which key produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Insert(char),
    /// A line break inside the message (Alt+Enter, Shift+Enter, Ctrl+J).
    Newline,
    /// Send the line or run the command (Enter).
    Submit,
    Backspace,
    /// Delete under the cursor (Delete).
    Delete,
    Left,
    Right,
    WordLeft,
    WordRight,
    /// Start of the current line (Home, Ctrl+A).
    LineStart,
    /// End of the current line (End, Ctrl+E).
    LineEnd,
    /// Previous line of the input, or older history (Up).
    Up,
    /// Next line of the input, or newer history (Down).
    Down,
    /// Delete from the start of the line to the cursor (Ctrl+U).
    KillToStart,
    /// Delete from the cursor to the end of the line (Ctrl+K).
    KillToEnd,
    /// Delete the word before the cursor (Ctrl+W, Alt+Backspace).
    DeleteWordBefore,
    /// Complete a command or a name (Tab).
    Complete,
    PageUp,
    PageDown,
    /// Oldest message (Ctrl+Home).
    ScrollTop,
    /// Newest message, and follow new ones again (Ctrl+End).
    ScrollBottom,
    /// Quit now (Ctrl+C).
    Quit,
    /// Quit on empty input, else delete under the cursor (Ctrl+D).
    EndOfInput,
    /// Close a popup (Esc).
    Dismiss,
    /// Show the help screen (F1).
    Help,
    /// Show the network pane (F2).
    Network,
    /// The next channel, wrapping (Ctrl+N).
    NextChannel,
    /// The previous channel, wrapping (Ctrl+P).
    PreviousChannel,
    /// Channel N of the list, 1 being home (Alt+1 … Alt+9).
    Channel(u8),
    /// The next channel with unread messages, mentions first (Alt+A).
    NextUnread,
    /// Search this channel's history (Ctrl+F).
    Search,
}

impl Action {
    /// The action for a key, or `None` for keys that mean nothing here
    /// (including key releases, which some terminals report).
    pub fn from_key(key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        let action = match key.code {
            KeyCode::Enter if alt || shift => Action::Newline,
            KeyCode::Enter => Action::Submit,
            KeyCode::Tab => Action::Complete,
            KeyCode::Backspace if alt || ctrl => Action::DeleteWordBefore,
            KeyCode::Backspace => Action::Backspace,
            KeyCode::Delete => Action::Delete,
            KeyCode::Left if ctrl || alt => Action::WordLeft,
            KeyCode::Right if ctrl || alt => Action::WordRight,
            KeyCode::Left => Action::Left,
            KeyCode::Right => Action::Right,
            KeyCode::Up => Action::Up,
            KeyCode::Down => Action::Down,
            KeyCode::Home if ctrl => Action::ScrollTop,
            KeyCode::End if ctrl => Action::ScrollBottom,
            KeyCode::Home => Action::LineStart,
            KeyCode::End => Action::LineEnd,
            KeyCode::PageUp => Action::PageUp,
            KeyCode::PageDown => Action::PageDown,
            KeyCode::Esc => Action::Dismiss,
            KeyCode::F(1) => Action::Help,
            KeyCode::F(2) => Action::Network,
            // Ctrl together with Alt is AltGr on many keyboards: a character.
            KeyCode::Char(c) if ctrl && !alt => return control_key(c),
            KeyCode::Char(c) if alt && !ctrl => return alt_key(c),
            KeyCode::Char(c) => Action::Insert(c),
            _ => return None,
        };
        Some(action)
    }
}

fn control_key(c: char) -> Option<Action> {
    let action = match c.to_ascii_lowercase() {
        'a' => Action::LineStart,
        'e' => Action::LineEnd,
        'b' => Action::Left,
        // Find, as in most applications (Right moves the cursor).
        'f' => Action::Search,
        'u' => Action::KillToStart,
        'k' => Action::KillToEnd,
        'w' => Action::DeleteWordBefore,
        'h' => Action::Backspace,
        'j' => Action::Newline,
        'c' => Action::Quit,
        'd' => Action::EndOfInput,
        // Channels, as in most chat clients; history stays on Up / Down.
        'p' => Action::PreviousChannel,
        'n' => Action::NextChannel,
        _ => return None,
    };
    Some(action)
}

fn alt_key(c: char) -> Option<Action> {
    match c {
        'b' => Some(Action::WordLeft),
        'f' => Some(Action::WordRight),
        'a' => Some(Action::NextUnread),
        '1'..='9' => c
            .to_digit(10)
            .and_then(|d| u8::try_from(d).ok())
            .map(Action::Channel),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn maps_editing_keys() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            Action::from_key(key(KeyCode::Char('x'), none)),
            Some(Action::Insert('x'))
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('X'), KeyModifiers::SHIFT)),
            Some(Action::Insert('X'))
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Enter, none)),
            Some(Action::Submit)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Enter, KeyModifiers::ALT)),
            Some(Action::Newline)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('w'), KeyModifiers::CONTROL)),
            Some(Action::DeleteWordBefore)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('u'), KeyModifiers::CONTROL)),
            Some(Action::KillToStart)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Home, none)),
            Some(Action::LineStart)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Home, KeyModifiers::CONTROL)),
            Some(Action::ScrollTop)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::End, KeyModifiers::CONTROL)),
            Some(Action::ScrollBottom)
        );
    }

    #[test]
    fn quits_and_ignores_releases() {
        assert_eq!(
            Action::from_key(key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        let mut release = key(KeyCode::Char('a'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(Action::from_key(release), None);
        assert_eq!(
            Action::from_key(key(KeyCode::Char('z'), KeyModifiers::CONTROL)),
            None
        );
    }

    #[test]
    fn channel_keys() {
        let alt = KeyModifiers::ALT;
        assert_eq!(
            Action::from_key(key(KeyCode::Char('1'), alt)),
            Some(Action::Channel(1))
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('9'), alt)),
            Some(Action::Channel(9))
        );
        assert_eq!(Action::from_key(key(KeyCode::Char('0'), alt)), None);
        assert_eq!(
            Action::from_key(key(KeyCode::Char('a'), alt)),
            Some(Action::NextUnread)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('f'), KeyModifiers::CONTROL)),
            Some(Action::Search)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('n'), KeyModifiers::CONTROL)),
            Some(Action::NextChannel)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('p'), KeyModifiers::CONTROL)),
            Some(Action::PreviousChannel)
        );
        // Digits without Alt are typed.
        assert_eq!(
            Action::from_key(key(KeyCode::Char('1'), KeyModifiers::NONE)),
            Some(Action::Insert('1'))
        );
    }

    #[test]
    fn function_keys_open_the_popups() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            Action::from_key(key(KeyCode::F(1), none)),
            Some(Action::Help)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::F(2), none)),
            Some(Action::Network)
        );
        assert_eq!(Action::from_key(key(KeyCode::F(3), none)), None);
    }

    #[test]
    fn altgr_characters_are_typed() {
        let altgr = KeyModifiers::CONTROL | KeyModifiers::ALT;
        assert_eq!(
            Action::from_key(key(KeyCode::Char('@'), altgr)),
            Some(Action::Insert('@'))
        );
    }
}
