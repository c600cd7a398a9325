//! Text cleaning, the one rule for what may reach a terminal: no C0/C1
//! controls, no DEL, no text-direction overrides or isolates. Blocks, room
//! names, nicknames and everything the renderer draws go through these. Pure.

/// Keeps printable characters only; newlines and tabs become spaces.
pub fn sanitize_line(input: &str, max_chars: usize) -> String {
    input
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .filter(|c| is_safe_char(*c))
        .take(max_chars)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Like `sanitize_line`, but keeps newlines so multi-line messages survive.
pub fn sanitize_text(input: &str, max_chars: usize) -> String {
    input
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| *c == '\n' || is_safe_char(*c))
        .take(max_chars)
        .collect()
}

/// Rejects C0/C1 controls, DEL, and bidi overrides that could reorder the screen.
pub fn is_safe_char(c: char) -> bool {
    !(c.is_control()
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c))
}

/// One line of printable text for the renderer: tabs, newlines and carriage
/// returns become spaces, other unsafe characters are dropped, nothing is
/// trimmed or cut.
pub fn printable_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .filter(|c| is_safe_char(*c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lose_controls_and_direction_overrides() {
        assert_eq!(printable_line("a\u{1b}[2Jb\u{7}c\td"), "a[2Jbc d");
        assert_eq!(printable_line("x\u{202E}y\u{9b}z"), "xyz");
        assert_eq!(sanitize_line(" a\nb\u{2066}c  ", 4), "a b");
        assert_eq!(sanitize_text("a\nb\u{1b}c", 10), "a\nbc");
    }
}
