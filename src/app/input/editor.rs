//! The line editor under the timeline: the text being typed, its cursor,
//! the history of submitted lines and Tab completion. Owns editing only; it
//! does not know what a command is or where a line goes once submitted.
//! The buffer only ever holds printable characters and `\n`.

use crate::app::text;

/// Most submitted lines remembered for Up/Down.
const HISTORY_LIMIT: usize = 200;
/// Spaces a pasted tab becomes.
const TAB: &str = "    ";

/// The editor state. `cursor` is a byte offset on a character boundary.
#[derive(Debug, Clone, Default)]
pub struct Input {
    buffer: String,
    cursor: usize,
    history: Vec<String>,
    /// Index into `history` while browsing it with Up/Down.
    browsing: Option<usize>,
    /// What was typed before browsing started, given back past the newest entry.
    draft: String,
}

/// The input laid out for a box of some width: rows and where the cursor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLayout {
    pub rows: Vec<String>,
    /// (row, column) of the cursor, in cells.
    pub cursor: (usize, usize),
}

/// What Tab found for a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// Nothing starts with the prefix.
    None,
    /// Exactly one candidate: the word was replaced by it.
    Unique(String),
    /// Several candidates; the word was extended to what they share, if anything.
    Several(Vec<String>),
}

impl Input {
    pub fn text(&self) -> &str {
        &self.buffer
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// Replaces the whole buffer and puts the cursor at its end.
    pub fn set_text(&mut self, text: &str) {
        self.buffer = clean(text);
        self.cursor = self.buffer.len();
    }

    /// Types one character at the cursor; unprintable ones are ignored.
    pub fn insert_char(&mut self, c: char) {
        if c == '\t' {
            self.insert_str(TAB);
        } else if text::is_printable(c) {
            self.buffer.insert(self.cursor, c);
            self.cursor += c.len_utf8();
        }
    }

    /// Inserts pasted or completed text at the cursor. Line breaks of any
    /// style become `\n`, tabs become spaces, other controls are dropped.
    pub fn insert_str(&mut self, s: &str) {
        let cleaned = clean(s);
        self.buffer.insert_str(self.cursor, &cleaned);
        self.cursor += cleaned.len();
    }

    pub fn newline(&mut self) {
        self.buffer.insert(self.cursor, '\n');
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        let start = self.prev_boundary(self.cursor);
        self.buffer.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    pub fn delete(&mut self) {
        let end = self.next_boundary(self.cursor);
        self.buffer.replace_range(self.cursor..end, "");
    }

    pub fn left(&mut self) {
        self.cursor = self.prev_boundary(self.cursor);
    }

    pub fn right(&mut self) {
        self.cursor = self.next_boundary(self.cursor);
    }

    pub fn word_left(&mut self) {
        self.cursor = self.word_start_before(self.cursor);
    }

    pub fn word_right(&mut self) {
        let rest = &self.buffer[self.cursor..];
        let skipped_space = rest.len() - rest.trim_start().len();
        let word = rest[skipped_space..]
            .find(char::is_whitespace)
            .unwrap_or(rest.len() - skipped_space);
        self.cursor += skipped_space + word;
    }

    pub fn line_start(&mut self) {
        self.cursor = self.current_line().0;
    }

    pub fn line_end(&mut self) {
        self.cursor = self.current_line().1;
    }

    /// Ctrl+U: deletes from the start of the current line to the cursor.
    pub fn kill_to_start(&mut self) {
        let start = self.current_line().0;
        self.buffer.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Ctrl+K: deletes from the cursor to the end of the current line.
    pub fn kill_to_end(&mut self) {
        let end = self.current_line().1;
        self.buffer.replace_range(self.cursor..end, "");
    }

    /// Ctrl+W: deletes the word before the cursor and the spaces after it.
    pub fn delete_word_before(&mut self) {
        let start = self.word_start_before(self.cursor);
        self.buffer.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Up: moves to the line above inside a multi-line input, otherwise
    /// recalls the previous history entry.
    pub fn up(&mut self) {
        let (start, _) = self.current_line();
        if start > 0 {
            let column = text::width(&self.buffer[start..self.cursor]);
            let (above_start, above_end) = self.line_around(start - 1);
            self.cursor = self.at_column(above_start, above_end, column);
        } else {
            self.history_older();
        }
    }

    /// Down: moves to the line below inside a multi-line input, otherwise
    /// recalls the next history entry (and finally what was being typed).
    pub fn down(&mut self) {
        let (start, end) = self.current_line();
        if end < self.buffer.len() {
            let column = text::width(&self.buffer[start..self.cursor]);
            let (below_start, below_end) = self.line_around(end + 1);
            self.cursor = self.at_column(below_start, below_end, column);
        } else {
            self.history_newer();
        }
    }

    fn history_older(&mut self) {
        let index = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = self.buffer.clone();
                self.history.len() - 1
            }
            Some(0) => return,
            Some(i) => i - 1,
        };
        self.browsing = Some(index);
        self.buffer = self.history[index].clone();
        self.cursor = self.buffer.len();
    }

    fn history_newer(&mut self) {
        let Some(index) = self.browsing else { return };
        if index + 1 < self.history.len() {
            self.browsing = Some(index + 1);
            self.buffer = self.history[index + 1].clone();
        } else {
            self.browsing = None;
            self.buffer = std::mem::take(&mut self.draft);
        }
        self.cursor = self.buffer.len();
    }

    /// Takes the typed text for sending, remembers it in the history and
    /// leaves the editor empty.
    pub fn submit(&mut self) -> String {
        let line = std::mem::take(&mut self.buffer);
        self.cursor = 0;
        self.browsing = None;
        self.draft.clear();
        if !line.trim().is_empty() && self.history.last() != Some(&line) {
            self.history.push(line.clone());
            if self.history.len() > HISTORY_LIMIT {
                self.history.remove(0);
            }
        }
        line
    }

    /// The history, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// The word (text since the last whitespace) that ends at the cursor,
    /// and where it starts.
    pub fn word_at_cursor(&self) -> (usize, &str) {
        let before = &self.buffer[..self.cursor];
        let start = before
            .rfind(char::is_whitespace)
            .map(|i| i + before[i..].chars().next().map_or(1, char::len_utf8))
            .unwrap_or(0);
        (start, &before[start..])
    }

    /// Completes the word before the cursor against `candidates`
    /// (case-insensitive prefix match). A unique match is inserted with a
    /// trailing space; several are extended to their common prefix.
    pub fn complete(&mut self, candidates: &[String]) -> Completion {
        let (start, word) = self.word_at_cursor();
        let word_lower = word.to_lowercase();
        let mut matches: Vec<String> = candidates
            .iter()
            .filter(|c| c.to_lowercase().starts_with(&word_lower) && !c.is_empty())
            .cloned()
            .collect();
        matches.sort();
        matches.dedup();
        match matches.len() {
            0 => Completion::None,
            1 => {
                let choice = format!("{} ", matches[0]);
                self.replace_word(start, &choice);
                Completion::Unique(matches[0].clone())
            }
            _ => {
                let common = common_prefix(&matches);
                if text::width(&common) > text::width(word) {
                    self.replace_word(start, &common);
                }
                Completion::Several(matches)
            }
        }
    }

    fn replace_word(&mut self, start: usize, with: &str) {
        let with = clean(with);
        self.buffer.replace_range(start..self.cursor, &with);
        self.cursor = start + with.len();
    }

    /// Lays the input out in rows of `width` cells, breaking between
    /// characters, and finds the cursor's cell.
    pub fn layout(&self, width: usize) -> InputLayout {
        let width = width.max(1);
        let mut rows = Vec::new();
        let mut cursor = (0, 0);
        let mut line_start = 0;
        for line in self.buffer.split('\n') {
            let mut row = String::new();
            let mut used = 0;
            let mut position = line_start;
            for cluster in text::clusters(line) {
                let cells = text::width(cluster);
                if used + cells > width && used > 0 {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                if position == self.cursor {
                    cursor = (rows.len(), used);
                }
                row.push_str(cluster);
                used += cells;
                position += cluster.len();
            }
            if position == self.cursor {
                if used >= width {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                cursor = (rows.len(), used);
            }
            rows.push(row);
            line_start = position + 1;
        }
        InputLayout { rows, cursor }
    }

    /// (start, end) byte offsets of the line holding the cursor, without its `\n`.
    fn current_line(&self) -> (usize, usize) {
        self.line_around(self.cursor)
    }

    fn line_around(&self, position: usize) -> (usize, usize) {
        let start = self.buffer[..position].rfind('\n').map_or(0, |i| i + 1);
        let end = self.buffer[position..]
            .find('\n')
            .map_or(self.buffer.len(), |i| position + i);
        (start, end)
    }

    fn at_column(&self, start: usize, end: usize, column: usize) -> usize {
        let mut used = 0;
        let mut position = start;
        for cluster in text::clusters(&self.buffer[start..end]) {
            let cells = text::width(cluster);
            if used + cells > column {
                break;
            }
            used += cells;
            position += cluster.len();
        }
        position
    }

    fn prev_boundary(&self, position: usize) -> usize {
        text::clusters(&self.buffer[..position])
            .last()
            .map_or(position, |c| position - c.len())
    }

    fn next_boundary(&self, position: usize) -> usize {
        text::clusters(&self.buffer[position..])
            .first()
            .map_or(position, |c| position + c.len())
    }

    fn word_start_before(&self, position: usize) -> usize {
        let before = &self.buffer[..position];
        let trimmed = before.trim_end();
        trimmed
            .rfind(char::is_whitespace)
            .map(|i| i + trimmed[i..].chars().next().map_or(1, char::len_utf8))
            .unwrap_or(0)
    }
}

/// Normalizes line breaks, expands tabs and drops other controls.
fn clean(s: &str) -> String {
    let normalized = s.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(normalized.len());
    for c in normalized.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str(TAB),
            c if text::is_printable(c) => out.push(c),
            _ => {}
        }
    }
    out
}

fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut end = first.len();
    for word in &words[1..] {
        end = first
            .char_indices()
            .zip(word.chars())
            .take_while(|((_, a), b)| a.to_lowercase().eq(b.to_lowercase()))
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    first[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(s: &str) -> Input {
        let mut input = Input::default();
        for c in s.chars() {
            input.insert_char(c);
        }
        input
    }

    #[test]
    fn types_and_moves() {
        let mut input = typed("helo");
        input.left();
        input.insert_char('l');
        assert_eq!(input.text(), "hello");
        input.line_start();
        input.insert_char('>');
        input.line_end();
        input.insert_char('!');
        assert_eq!(input.text(), ">hello!");
        input.backspace();
        input.line_start();
        input.delete();
        assert_eq!(input.text(), "hello");
    }

    #[test]
    fn ignores_control_characters() {
        let mut input = typed("a");
        input.insert_char('\u{1b}');
        input.insert_char('\u{7}');
        input.insert_str("b\u{1b}[31mc\r\nd\te");
        assert_eq!(input.text(), "ab[31mc\nd    e");
    }

    #[test]
    fn ctrl_w_deletes_the_word_before_the_cursor() {
        let mut input = typed("hello big  world  ");
        input.delete_word_before();
        assert_eq!(input.text(), "hello big  ");
        input.delete_word_before();
        assert_eq!(input.text(), "hello ");
        input.delete_word_before();
        assert_eq!(input.text(), "");
        input.delete_word_before();
        assert_eq!(input.text(), "");
    }

    #[test]
    fn ctrl_u_and_ctrl_k_kill_parts_of_the_line() {
        let mut input = typed("one two");
        input.word_left();
        input.kill_to_start();
        assert_eq!(input.text(), "two");
        assert_eq!(input.cursor(), 0);
        input.word_right();
        input.left();
        input.kill_to_end();
        assert_eq!(input.text(), "tw");
    }

    #[test]
    fn backspace_removes_a_whole_cluster() {
        let mut input = typed("ae\u{301}");
        input.backspace();
        assert_eq!(input.text(), "a");
        let mut input = typed("x👩\u{200D}💻");
        input.backspace();
        assert_eq!(input.text(), "x");
    }

    #[test]
    fn history_recalls_and_restores_the_draft() {
        let mut input = Input::default();
        input.set_text("first");
        input.submit();
        input.set_text("second");
        input.submit();
        input.set_text("draft");
        input.up();
        assert_eq!(input.text(), "second");
        input.up();
        assert_eq!(input.text(), "first");
        input.up();
        assert_eq!(input.text(), "first");
        input.down();
        assert_eq!(input.text(), "second");
        input.down();
        assert_eq!(input.text(), "draft");
    }

    #[test]
    fn up_and_down_move_between_lines_of_a_multiline_input() {
        let mut input = typed("abcd");
        input.newline();
        input.insert_str("xy");
        input.up();
        assert_eq!(input.cursor(), 2);
        input.down();
        assert_eq!(input.cursor(), 7);
    }

    #[test]
    fn completes_unique_and_common_prefixes() {
        let commands = vec!["/follow".to_string(), "/unfollow".into(), "/help".into()];
        let mut input = typed("/fo");
        assert_eq!(
            input.complete(&commands),
            Completion::Unique("/follow".into())
        );
        assert_eq!(input.text(), "/follow ");

        let names = vec!["annabel".to_string(), "anna".into(), "bob".into()];
        let mut input = typed("hi an");
        assert!(matches!(input.complete(&names), Completion::Several(v) if v.len() == 2));
        assert_eq!(input.text(), "hi anna");
        let mut input = typed("zz");
        assert_eq!(input.complete(&names), Completion::None);
        assert_eq!(input.text(), "zz");
    }

    #[test]
    fn layout_wraps_and_places_the_cursor() {
        let mut input = typed("abcdef");
        assert_eq!(
            input.layout(4),
            InputLayout {
                rows: vec!["abcd".into(), "ef".into()],
                cursor: (1, 2)
            }
        );
        input.newline();
        let layout = input.layout(4);
        assert_eq!(layout.rows, vec!["abcd", "ef", ""]);
        assert_eq!(layout.cursor, (2, 0));
        let full = typed("abcd");
        assert_eq!(full.layout(4).cursor, (1, 0));
        let mut wide = typed("日本語");
        wide.line_start();
        wide.right();
        assert_eq!(wide.layout(4).cursor, (0, 2));
        assert_eq!(wide.layout(4).rows, vec!["日本", "語"]);
    }
}
