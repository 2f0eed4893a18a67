//! Records of a text file as byte ranges of its buffer, with the 1-based line each
//! starts on, found without copying: non-blank lines, or the elements of a JSON file
//! that holds an array of objects.

use std::ops::Range;

/// A record: where it is in the buffer and the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub bytes: Range<usize>,
    pub line: usize,
}

/// Walks a buffer record by record.
#[derive(Debug)]
pub struct Cursor {
    pos: usize,
    line: usize,
    /// Inside a top-level JSON array whose elements are the records.
    in_array: bool,
}

impl Cursor {
    /// Records are the buffer's non-blank lines.
    pub fn lines() -> Self {
        Self {
            pos: 0,
            line: 1,
            in_array: false,
        }
    }

    /// Records are the elements if the buffer opens a JSON array, else its lines. Lines
    /// after the array's end are records again (a line holding an array decodes to a
    /// row per element).
    pub fn json(buf: &[u8]) -> Self {
        let mut cursor = Self::lines();
        cursor.skip_space(buf);
        if buf.get(cursor.pos) == Some(&b'[') {
            cursor.pos += 1;
            cursor.in_array = true;
        }
        cursor
    }

    pub fn next(&mut self, buf: &[u8]) -> Option<Record> {
        if self.in_array {
            self.next_element(buf)
        } else {
            self.next_line(buf)
        }
    }

    fn next_line(&mut self, buf: &[u8]) -> Option<Record> {
        while self.pos < buf.len() {
            let (start, line) = (self.pos, self.line);
            let end = buf[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(buf.len(), |i| start + i);
            self.pos = end + 1;
            self.line += 1;
            let text = buf[start..end]
                .strip_suffix(b"\r")
                .unwrap_or(&buf[start..end]);
            if !text.trim_ascii().is_empty() {
                let bytes = start..start + text.len();
                return Some(Record { bytes, line });
            }
        }
        None
    }

    fn next_element(&mut self, buf: &[u8]) -> Option<Record> {
        loop {
            self.skip_space(buf);
            match buf.get(self.pos) {
                None => return None,
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.in_array = false;
                    return self.next_line(buf);
                }
                Some(_) => return Some(self.element(buf)),
            }
        }
    }

    /// The value starting at `pos`, up to the `,` or `]` that closes it (or the end).
    fn element(&mut self, buf: &[u8]) -> Record {
        let (start, line) = (self.pos, self.line);
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        while let Some(&b) = buf.get(self.pos) {
            match b {
                _ if escaped => escaped = false,
                b'\\' if in_string => escaped = true,
                b'"' => in_string = !in_string,
                _ if in_string => {}
                b'{' | b'[' => depth += 1,
                b',' | b']' if depth == 0 => break,
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.line += usize::from(b == b'\n');
            self.pos += 1;
        }
        let text = buf[start..self.pos].trim_ascii_end();
        Record {
            bytes: start..start + text.len(),
            line,
        }
    }

    fn skip_space(&mut self, buf: &[u8]) {
        while let Some(&b) = buf.get(self.pos).filter(|b| b.is_ascii_whitespace()) {
            self.line += usize::from(b == b'\n');
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(buf: &str, mut cursor: Cursor) -> Vec<(&str, usize)> {
        std::iter::from_fn(|| cursor.next(buf.as_bytes()))
            .map(|r| (&buf[r.bytes], r.line))
            .collect()
    }

    #[test]
    fn lines_skip_blanks_and_carriage_returns() {
        let buf = "a\r\n\n  \nb\nc";
        assert_eq!(
            records(buf, Cursor::lines()),
            [("a", 1), ("b", 4), ("c", 5)]
        );
    }

    #[test]
    fn array_elements_with_their_lines() {
        let buf = "[\n  {\"a\": \"x,]}\\\"\"},\n  {\"b\": [1, {\"c\": 2}]}\n]\n";
        let expected = [(r#"{"a": "x,]}\""}"#, 2), (r#"{"b": [1, {"c": 2}]}"#, 3)];
        assert_eq!(records(buf, Cursor::json(buf.as_bytes())), expected);
    }

    #[test]
    fn lines_after_an_array_are_records() {
        let buf = "[{\"a\":1}, {\"a\":2}]\n[{\"a\":3}]\n";
        let expected = [(r#"{"a":1}"#, 1), (r#"{"a":2}"#, 1), (r#"[{"a":3}]"#, 2)];
        assert_eq!(records(buf, Cursor::json(buf.as_bytes())), expected);
    }

    #[test]
    fn json_lines_stay_lines() {
        let buf = "{\"a\":1}\n{\"a\":\n";
        let expected = [(r#"{"a":1}"#, 1), (r#"{"a":"#, 2)];
        assert_eq!(records(buf, Cursor::json(buf.as_bytes())), expected);
    }
}
