//! Text measuring and wrapping for the terminal: display widths (emoji, CJK),
//! lines made printable (by `domain::text`'s rule), and greedy
//! word wrapping into rows of a given width. Pure functions, no styling: the
//! timeline view and the input box both build on these.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

const ZERO_WIDTH_JOINER: char = '\u{200D}';

/// The terminal-safety rule and the one-line cleaner, defined once in
/// `domain::text` (the codec applies the same rule to every block; the
/// renderer applies it again so no path reaches the terminal with an escape).
pub use crate::domain::text::{is_safe_char as is_printable, printable_line};

/// Where `needle` occurs in `haystack`, ignoring case, as byte ranges of
/// `haystack` that do not overlap. Empty for an empty needle.
pub fn find_ignoring_case(haystack: &str, needle: &str) -> Vec<std::ops::Range<usize>> {
    let needle: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    let mut found = Vec::new();
    if needle.is_empty() {
        return found;
    }
    let mut from = 0;
    for (start, _) in haystack.char_indices() {
        if start < from {
            continue;
        }
        let mut wanted = needle.iter();
        let mut want = wanted.next();
        for (offset, c) in haystack[start..].char_indices() {
            for lower in c.to_lowercase() {
                match want {
                    Some(w) if *w == lower => want = wanted.next(),
                    _ => {
                        want = Some(&'\0');
                        break;
                    }
                }
            }
            if want == Some(&'\0') {
                break;
            }
            if want.is_none() {
                let end = start + offset + c.len_utf8();
                found.push(start..end);
                from = end;
                break;
            }
        }
    }
    found
}

/// Splits text into its lines (on `\n`, `\r\n` or `\r`), each made printable.
pub fn printable_lines(s: &str) -> Vec<String> {
    let normalized = s.replace("\r\n", "\n").replace('\r', "\n");
    normalized.split('\n').map(printable_line).collect()
}

/// The user-perceived characters of `s`, approximating grapheme clusters:
/// a base character with its combining marks, variation selectors, emoji
/// modifiers, zero-width-joined sequences and regional-indicator pairs.
pub fn clusters(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    let mut regional_run = 0usize;
    for (index, c) in s.char_indices() {
        let joins = match prev {
            None => false,
            Some(p) => {
                p == ZERO_WIDTH_JOINER
                    || c == ZERO_WIDTH_JOINER
                    || c.width() == Some(0)
                    || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
                    || (is_regional_indicator(c)
                        && is_regional_indicator(p)
                        && regional_run % 2 == 1)
            }
        };
        if !joins && index > start {
            out.push(&s[start..index]);
            start = index;
        }
        regional_run = if is_regional_indicator(c) {
            regional_run + 1
        } else {
            0
        };
        prev = Some(c);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Columns `s` takes on screen, summed per cluster as the terminal lays it out.
pub fn width(s: &str) -> usize {
    clusters(s).into_iter().map(UnicodeWidthStr::width).sum()
}

/// Wraps one line of text (no newlines) at word boundaries. The first row
/// holds `first` columns, the others `rest`; words longer than a row are
/// split between characters. Never returns an empty vector.
pub fn wrap_line(text: &str, first: usize, rest: usize) -> Vec<String> {
    let first = first.max(1);
    let rest = rest.max(1);
    let mut rows = Vec::new();
    let mut current = String::new();
    let mut used = 0usize;
    let mut capacity = first;
    let mut push_row = |current: &mut String, used: &mut usize, capacity: &mut usize| {
        rows.push(current.trim_end().to_string());
        current.clear();
        *used = 0;
        *capacity = rest;
    };
    for token in tokens(text) {
        let token_width = width(token);
        let is_space = token.starts_with(char::is_whitespace);
        if used + token_width <= capacity {
            current.push_str(token);
            used += token_width;
        } else if is_space {
            // Spaces at a break are dropped rather than carried over.
            push_row(&mut current, &mut used, &mut capacity);
        } else if used > 0 && token_width <= rest {
            push_row(&mut current, &mut used, &mut capacity);
            current.push_str(token);
            used = token_width;
        } else {
            for cluster in clusters(token) {
                let cluster_width = UnicodeWidthStr::width(cluster);
                if used + cluster_width > capacity && used > 0 {
                    push_row(&mut current, &mut used, &mut capacity);
                }
                current.push_str(cluster);
                used += cluster_width;
            }
        }
    }
    rows.push(current.trim_end().to_string());
    rows
}

/// Alternating runs of whitespace and non-whitespace.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space: Option<bool> = None;
    for (index, c) in text.char_indices() {
        let space = c.is_whitespace();
        if in_space.is_some_and(|s| s != space) {
            out.push(&text[start..index]);
            start = index;
        }
        in_space = Some(space);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Cuts `s` to at most `max` columns, ending with `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for cluster in clusters(s) {
        let w = UnicodeWidthStr::width(cluster);
        if used + w + 1 > max {
            break;
        }
        out.push_str(cluster);
        used += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_text_ignoring_case() {
        fn found<'a>(h: &'a str, n: &str) -> Vec<&'a str> {
            find_ignoring_case(h, n)
                .into_iter()
                .map(|r| &h[r])
                .collect()
        }
        assert_eq!(found("Fast clocks, FAST trains", "fast"), ["Fast", "FAST"]);
        assert_eq!(found("née ZOË zoë", "Zoë"), ["ZOË", "zoë"]);
        assert_eq!(found("aaaa", "aa"), ["aa", "aa"]);
        assert!(found("abc", "").is_empty());
        assert!(found("ab", "abc").is_empty());
        assert_eq!(
            found("İx", "i̇x").len(),
            1,
            "a capital that lowercases to two chars"
        );
    }

    #[test]
    fn measures_wide_and_combining_characters() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("日本語"), 6);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(clusters("e\u{301}x"), vec!["e\u{301}", "x"]);
        assert_eq!(clusters("👩\u{200D}💻!"), vec!["👩\u{200D}💻", "!"]);
        assert_eq!(clusters("🇫🇷🇩🇪").len(), 2);
    }

    #[test]
    fn drops_controls_and_escapes() {
        assert_eq!(printable_line("a\u{1b}[2Jb\u{7}c\td"), "a[2Jbc d");
        assert_eq!(printable_line("x\u{202E}y\u{9b}z"), "xyz");
        assert_eq!(
            printable_lines("one\r\ntwo\rthree\nfour"),
            vec!["one", "two", "three", "four"]
        );
    }

    #[test]
    fn wraps_at_word_boundaries() {
        assert_eq!(
            wrap_line("hello world again", 11, 11),
            vec!["hello world", "again"]
        );
        assert_eq!(wrap_line("hello world", 5, 8), vec!["hello", "world"]);
        assert_eq!(wrap_line("", 5, 5), vec![""]);
        assert_eq!(wrap_line("a  b", 10, 10), vec!["a  b"]);
    }

    #[test]
    fn splits_long_words_and_keeps_wide_chars_whole() {
        assert_eq!(wrap_line("abcdefghij", 4, 4), vec!["abcd", "efgh", "ij"]);
        let rows = wrap_line("日本語のテキスト", 5, 5);
        assert!(rows.iter().all(|r| width(r) <= 5), "{rows:?}");
        assert_eq!(rows.concat(), "日本語のテキスト");
    }

    #[test]
    fn first_row_can_be_narrower() {
        let rows = wrap_line("one two three four", 4, 10);
        assert_eq!(rows, vec!["one", "two three", "four"]);
    }

    #[test]
    fn truncates_with_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("日本語", 4), "日…");
    }
}
