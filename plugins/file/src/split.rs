//! Records of a text file as byte ranges of its buffer, with the 1-based line each
//! starts on, found without copying: non-blank lines, the elements of a JSON file that
//! holds an array of objects, or (multi-line JSON) whole top-level JSON values.
//! A UTF-8 byte order mark at the start of the buffer is not part of any record.

use std::ops::Range;

/// What, besides JSON's own strings, can hold a bracket that does not count: strings in
/// single quotes and comments, when Spark's allowSingleQuotes and allowComments allow
/// them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Syntax {
    pub single_quotes: bool,
    pub comments: bool,
}

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
    /// Records are top-level JSON values, which may span lines, not lines.
    documents: bool,
    syntax: Syntax,
    /// What ends a line.
    line_end: LineEnd,
}

/// What ends a line of the buffer.
#[derive(Debug)]
enum LineEnd {
    /// `\n` (a `\r` before it is dropped).
    Newline,
    /// `\n`, `\r\n` or `\r`: what Spark's JSON reader takes without a lineSep.
    AnyBreak,
    /// This text (Spark's lineSep); `trim`: the whitespace around a record is not part
    /// of it (JSON), else it is (CSV, where it may be a field's).
    Text { separator: Vec<u8>, trim: bool },
}

/// The UTF-8 byte order mark some editors (and Excel) write at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Cursor {
    /// Records are the buffer's non-blank lines.
    pub fn lines(buf: &[u8]) -> Self {
        Self {
            pos: if buf.starts_with(BOM) { BOM.len() } else { 0 },
            line: 1,
            in_array: false,
            documents: false,
            syntax: Syntax::default(),
            line_end: LineEnd::Newline,
        }
    }

    /// Records are the buffer's non-blank lines, each ended by `separator` rather than a
    /// line end; a newline inside one is text. Their line is the line they start on.
    pub fn separated(buf: &[u8], separator: &[u8]) -> Self {
        let separator = separator.to_vec();
        Self {
            line_end: LineEnd::Text {
                separator,
                trim: false,
            },
            ..Self::lines(buf)
        }
    }

    /// Records are the elements if the buffer opens a JSON array, else its lines. Lines
    /// after the array's end are records again (a line holding an array decodes to a
    /// row per element). An array that is never closed is not entered: its first line
    /// is then a (bad) record of its own and the lines after it are read as lines, so
    /// one unclosed line cannot swallow the rest of a JSON-lines file.
    /// Lines end at `separator` if one is given, else at `\n`, `\r\n` or `\r`.
    pub fn json(buf: &[u8], syntax: Syntax, separator: Option<&[u8]>) -> Self {
        let line_end = match separator {
            Some(text) => LineEnd::Text {
                separator: text.to_vec(),
                trim: true,
            },
            None => LineEnd::AnyBreak,
        };
        let mut cursor = Self {
            syntax,
            line_end,
            ..Self::lines(buf)
        };
        let line = cursor.line;
        cursor.skip_space(buf);
        if closes(&buf[cursor.pos..], syntax) {
            cursor.open_array(buf);
        } else {
            // Back to the start, so the line numbers and the first record stay whole.
            (cursor.pos, cursor.line) = (Self::lines(buf).pos, line);
        }
        cursor
    }

    /// Multi-line JSON: records are the buffer's top-level values, each possibly spanning
    /// lines; the elements of a top-level array are records of their own. Text that does
    /// not open an object or array is a record up to the end of its line (and is then
    /// rejected by the decoder), so nothing after it is swallowed.
    pub fn documents(buf: &[u8], syntax: Syntax) -> Self {
        Self {
            documents: true,
            syntax,
            ..Self::lines(buf)
        }
    }

    /// The next record, or `None` at the end of the buffer.
    pub fn next(&mut self, buf: &[u8]) -> Option<Record> {
        if self.in_array {
            self.next_element(buf)
        } else if self.documents {
            self.next_document(buf)
        } else {
            self.next_line(buf)
        }
    }

    /// Enters the array that opens at `pos`, if one does.
    fn open_array(&mut self, buf: &[u8]) -> bool {
        let opens = buf.get(self.pos) == Some(&b'[');
        if opens {
            self.pos += 1;
            self.in_array = true;
        }
        opens
    }

    fn next_document(&mut self, buf: &[u8]) -> Option<Record> {
        self.skip_space(buf);
        while self.skip_comment(buf) {
            self.skip_space(buf);
        }
        match buf.get(self.pos)? {
            b'[' if self.open_array(buf) => self.next_element(buf),
            b'{' => Some(self.value(buf, true)),
            _ => self.next_line(buf),
        }
    }

    fn next_line(&mut self, buf: &[u8]) -> Option<Record> {
        let any_break = match self.line_end {
            LineEnd::Text { .. } => return self.next_separated(buf),
            LineEnd::Newline => false,
            LineEnd::AnyBreak => true,
        };
        while self.pos < buf.len() {
            let (start, line) = (self.pos, self.line);
            let end = match any_break {
                true => memchr::memchr2(b'\n', b'\r', &buf[start..]),
                false => memchr::memchr(b'\n', &buf[start..]),
            };
            let end = end.map_or(buf.len(), |i| start + i);
            let crlf = buf.get(end) == Some(&b'\r') && buf.get(end + 1) == Some(&b'\n');
            self.pos = end + 1 + usize::from(crlf);
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

    /// The next non-blank record up to the `LineEnd::Text` separator (without the
    /// whitespace around it if it is to be trimmed).
    fn next_separated(&mut self, buf: &[u8]) -> Option<Record> {
        let LineEnd::Text { separator, trim } = &self.line_end else {
            return None;
        };
        let (mut pos, mut line) = (self.pos, self.line);
        let newlines = |bytes: &[u8]| bytes.iter().filter(|&&b| b == b'\n').count();
        let record = loop {
            if *trim {
                let blank = (buf[pos..].iter())
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
                line += newlines(&buf[pos..pos + blank]);
                pos += blank;
            }
            if pos >= buf.len() {
                break None;
            }
            let start = pos;
            let len = (buf[start..].windows(separator.len())).position(|w| w == separator);
            let end = len.map_or(buf.len(), |len| start + len);
            let text = match trim {
                true => buf[start..end].trim_ascii_end(),
                false => &buf[start..end],
            };
            let first = line;
            pos = (end + separator.len()).min(buf.len());
            line += newlines(&buf[start..pos]);
            if !text.trim_ascii().is_empty() {
                let bytes = start..start + text.len();
                break Some(Record { bytes, line: first });
            }
        };
        (self.pos, self.line) = (pos, line);
        record
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
                    return self.next(buf);
                }
                Some(_) => return Some(self.value(buf, false)),
            }
        }
    }

    /// The value starting at `pos`: an array element up to the `,` or `]` that closes
    /// it, or a `top_level` object up to its closing brace (or either to the end).
    fn value(&mut self, buf: &[u8], top_level: bool) -> Record {
        let (start, line) = (self.pos, self.line);
        let mut depth = 0usize;
        let mut lexer = Lexer::new(self.syntax);
        while let Some(&b) = buf.get(self.pos) {
            match b {
                _ if !lexer.structural(buf, self.pos) => {}
                b'{' | b'[' => depth += 1,
                b',' | b']' if depth == 0 => break,
                b'}' | b']' if top_level && depth == 1 => {
                    self.pos += 1;
                    break;
                }
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

    /// Skips the comment at `pos`, if comments are allowed and one starts there (an
    /// unclosed one runs to the end).
    fn skip_comment(&mut self, buf: &[u8]) -> bool {
        let rest = &buf[self.pos..];
        let len = match rest.get(..2) {
            _ if !self.syntax.comments => return false,
            Some(b"//") => rest.iter().position(|&b| b == b'\n'),
            Some(b"/*") => (rest[2..].windows(2).position(|w| w == b"*/")).map(|i| i + 4),
            _ => return false,
        };
        let len = len.unwrap_or(rest.len());
        self.line += rest[..len].iter().filter(|&&b| b == b'\n').count();
        self.pos += len;
        true
    }

    fn skip_space(&mut self, buf: &[u8]) {
        while let Some(&b) = buf.get(self.pos).filter(|b| b.is_ascii_whitespace()) {
            self.line += usize::from(b == b'\n');
            self.pos += 1;
        }
    }
}

/// Whether `buf` opens an array that it also closes: its brackets and braces balance
/// (outside strings) before the end.
fn closes(buf: &[u8], syntax: Syntax) -> bool {
    if buf.first() != Some(&b'[') {
        return false;
    }
    let mut depth = 0usize;
    let mut lexer = Lexer::new(syntax);
    for (i, &b) in buf.iter().enumerate() {
        match b {
            _ if !lexer.structural(buf, i) => {}
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// Where the bytes of JSON text are, one after the other: in JSON's structure, or in a
/// string or comment, whose brackets do not count.
struct Lexer {
    syntax: Syntax,
    state: Lexed,
}

#[derive(Clone, Copy)]
enum Lexed {
    Structure,
    /// In a string closed by this quote; after a backslash, `escaped`.
    String {
        quote: u8,
        escaped: bool,
    },
    /// The `/` that opens a comment has been seen.
    Slash,
    /// In a `//` comment, to the end of the line.
    Line,
    /// In a `/* */` comment; `star`: the last byte was a `*` of its body.
    Block {
        star: bool,
    },
}

impl Lexer {
    fn new(syntax: Syntax) -> Self {
        Self {
            syntax,
            state: Lexed::Structure,
        }
    }

    /// Whether `buf[i]`, the byte after the last one given, is structure.
    fn structural(&mut self, buf: &[u8], i: usize) -> bool {
        let b = buf[i];
        self.state = match self.state {
            Lexed::String {
                escaped: true,
                quote,
            } => Lexed::String {
                quote,
                escaped: false,
            },
            Lexed::String { quote, .. } if b == quote => Lexed::Structure,
            Lexed::String { quote, .. } => Lexed::String {
                quote,
                escaped: b == b'\\',
            },
            Lexed::Slash if b == b'/' => Lexed::Line,
            Lexed::Slash => Lexed::Block { star: false },
            Lexed::Line if b == b'\n' || b == b'\r' => Lexed::Structure,
            Lexed::Line => Lexed::Line,
            Lexed::Block { star: true } if b == b'/' => Lexed::Structure,
            Lexed::Block { .. } => Lexed::Block { star: b == b'*' },
            Lexed::Structure => return self.opens(buf, i),
        };
        false
    }

    /// Whether the byte at `i`, in structure, stays there (else it opens a string or
    /// comment).
    fn opens(&mut self, buf: &[u8], i: usize) -> bool {
        let quote = |quote| Lexed::String {
            quote,
            escaped: false,
        };
        self.state = match buf[i] {
            b'"' => quote(b'"'),
            b'\'' if self.syntax.single_quotes => quote(b'\''),
            b'/' if self.syntax.comments && matches!(buf.get(i + 1), Some(b'/' | b'*')) => {
                Lexed::Slash
            }
            _ => return true,
        };
        false
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
    fn separated_records_hold_newlines_and_keep_their_line() {
        let buf = "1,a|2,\"b\nc\"||  |3,d\r\n|4,e";
        let got = records(buf, Cursor::separated(buf.as_bytes(), b"|"));
        assert_eq!(
            got,
            [("1,a", 1), ("2,\"b\nc\"", 1), ("3,d\r\n", 2), ("4,e", 3)]
        );
    }

    #[test]
    fn lines_skip_blanks_and_carriage_returns() {
        let buf = "a\r\n\n  \nb\nc";
        assert_eq!(
            records(buf, Cursor::lines(buf.as_bytes())),
            [("a", 1), ("b", 4), ("c", 5)]
        );
    }

    #[test]
    fn array_elements_with_their_lines() {
        let buf = "[\n  {\"a\": \"x,]}\\\"\"},\n  {\"b\": [1, {\"c\": 2}]}\n]\n";
        let expected = [(r#"{"a": "x,]}\""}"#, 2), (r#"{"b": [1, {"c": 2}]}"#, 3)];
        assert_eq!(
            records(buf, Cursor::json(buf.as_bytes(), Syntax::default(), None)),
            expected
        );
    }

    #[test]
    fn lines_after_an_array_are_records() {
        let buf = "[{\"a\":1}, {\"a\":2}]\n[{\"a\":3}]\n";
        let expected = [(r#"{"a":1}"#, 1), (r#"{"a":2}"#, 1), (r#"[{"a":3}]"#, 2)];
        assert_eq!(
            records(buf, Cursor::json(buf.as_bytes(), Syntax::default(), None)),
            expected
        );
    }

    #[test]
    fn json_lines_stay_lines() {
        let buf = "{\"a\":1}\n{\"a\":\n";
        let expected = [(r#"{"a":1}"#, 1), (r#"{"a":"#, 2)];
        assert_eq!(
            records(buf, Cursor::json(buf.as_bytes(), Syntax::default(), None)),
            expected
        );
    }

    #[test]
    fn an_unclosed_array_line_is_one_record_and_the_next_lines_are_read() {
        let buf = "[{\"a\": 1}\n{\"a\": 2}\n{\"a\": [3]}\n";
        let expected = [
            (r#"[{"a": 1}"#, 1),
            (r#"{"a": 2}"#, 2),
            (r#"{"a": [3]}"#, 3),
        ];
        assert_eq!(
            records(buf, Cursor::json(buf.as_bytes(), Syntax::default(), None)),
            expected
        );
        let buf = "\u{feff}\n  [{\"a\": \"]\"},\n{\"a\": 2}";
        let expected = [(r#"  [{"a": "]"},"#, 2), (r#"{"a": 2}"#, 3)];
        assert_eq!(
            records(buf, Cursor::json(buf.as_bytes(), Syntax::default(), None)),
            expected
        );
    }

    #[test]
    fn an_unclosed_object_line_is_one_record() {
        let buf = "{\"a\": 1\n{\"a\": 2}\n[{\"a\": 3}\n";
        let expected = [(r#"{"a": 1"#, 1), (r#"{"a": 2}"#, 2), (r#"[{"a": 3}"#, 3)];
        assert_eq!(
            records(buf, Cursor::json(buf.as_bytes(), Syntax::default(), None)),
            expected
        );
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let buf = "\u{feff}a\nb\n";
        let lines = records(buf, Cursor::lines(buf.as_bytes()));
        assert_eq!(lines, [("a", 1), ("b", 2)]);
        let buf = "\u{feff}[{\"a\":1}]";
        assert_eq!(
            records(buf, Cursor::json(buf.as_bytes(), Syntax::default(), None)),
            [(r#"{"a":1}"#, 1)]
        );
    }

    #[test]
    fn documents_span_lines_and_arrays_give_their_elements() {
        let buf = "\u{feff}{\n  \"a\": {\"b\": \"}\"}\n}\n[\n {\"a\": 2},\n {\"a\": 3}\n]\noops\n{\"a\": 4}";
        let expected = [
            ("{\n  \"a\": {\"b\": \"}\"}\n}", 1),
            (r#"{"a": 2}"#, 5),
            (r#"{"a": 3}"#, 6),
            ("oops", 8),
            (r#"{"a": 4}"#, 9),
        ];
        assert_eq!(
            records(buf, Cursor::documents(buf.as_bytes(), Syntax::default())),
            expected
        );
    }

    #[test]
    fn an_unclosed_document_runs_to_the_end() {
        let buf = "{\"a\": [1,\n2\n";
        let expected = [("{\"a\": [1,\n2", 1)];
        assert_eq!(
            records(buf, Cursor::documents(buf.as_bytes(), Syntax::default())),
            expected
        );
    }

    #[test]
    fn single_quotes_and_comments_hide_brackets_when_allowed() {
        let syntax = Syntax {
            single_quotes: true,
            comments: true,
        };
        let buf = "[{'a': '}]\"'}, /* ] } */ {'a': 2} // ]\n, {\"b\": \"'\"}]";
        let expected = [
            (r#"{'a': '}]"'}"#, 1),
            ("/* ] } */ {'a': 2} // ]", 1),
            (r#"{"b": "'"}"#, 2),
        ];
        assert_eq!(
            records(buf, Cursor::json(buf.as_bytes(), syntax, None)),
            expected
        );
        let buf = "{'a': '}'}\n{'b': 1}";
        let expected = [("{'a': '}'}", 1), ("{'b': 1}", 2)];
        assert_eq!(
            records(buf, Cursor::documents(buf.as_bytes(), syntax)),
            expected
        );
    }

    #[test]
    fn comments_between_documents_are_skipped_when_allowed() {
        let syntax = Syntax {
            single_quotes: true,
            comments: true,
        };
        let buf = "/* a\n { */ // b\n{'a': 1}\n// c";
        let cursor = Cursor::documents(buf.as_bytes(), syntax);
        assert_eq!(records(buf, cursor), [("{'a': 1}", 3)]);
        let cursor = Cursor::documents(buf.as_bytes(), Syntax::default());
        assert_eq!(records(buf, cursor)[0], ("/* a", 1));
    }

    #[test]
    fn json_lines_end_at_any_line_break() {
        let buf = "{\"a\": 1}\r{\"a\": 2}\r\n\r\n{\"a\": 3}\n";
        let cursor = Cursor::json(buf.as_bytes(), Syntax::default(), None);
        let expected = [(r#"{"a": 1}"#, 1), (r#"{"a": 2}"#, 2), (r#"{"a": 3}"#, 4)];
        assert_eq!(records(buf, cursor), expected);
    }

    #[test]
    fn a_line_separator_replaces_newlines() {
        let buf = "{\"a\": 1}|{\"a\": 2}\n| |{\"a\":\n3}\r|";
        let cursor = Cursor::json(buf.as_bytes(), Syntax::default(), Some(b"|"));
        let expected = [(r#"{"a": 1}"#, 1), (r#"{"a": 2}"#, 1), ("{\"a\":\n3}", 2)];
        assert_eq!(records(buf, cursor), expected);
        let buf = "{\"a\": 1};;{\"a\": 2}";
        let cursor = Cursor::json(buf.as_bytes(), Syntax::default(), Some(b";;"));
        assert_eq!(
            records(buf, cursor),
            [(r#"{"a": 1}"#, 1), (r#"{"a": 2}"#, 1)]
        );
    }
}
