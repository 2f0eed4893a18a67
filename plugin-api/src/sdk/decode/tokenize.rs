//! A CSV record cut into fields by Spark's rules (those of univocity, the parser Spark
//! uses), as recorded from Spark in `tests/spark_reader/cases/csv_*`:
//!
//! - A field is quoted only if its quote comes first (after leading whitespace, when
//!   that is ignored); a quote later in an unquoted field is text (`a"b` is `a"b`).
//! - Inside quotes, the escape before a quote is a quote, and before another escape is
//!   one escape (`\"` is `"`, `\\` is `\`); before anything else it is kept (`\n` is
//!   `\n`). With the escape equal to the quote, a doubled quote is a quote (RFC 4180).
//! - Whitespace between a closing quote and the delimiter is dropped.
//! - A closing quote followed by other text is an unescaped quote, read as the
//!   [`UnescapedQuoteHandling`] says.
//!
//! Fields are byte slices: the delimiter, quote and escape are matched as the UTF-8
//! bytes of their characters, which never match inside another character.

use std::borrow::Cow;
use std::ops::Range;

use super::csv_options::UnescapedQuoteHandling;

/// One field as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Field<'a> {
    /// Without quotes: the text between the delimiters, trimmed as asked.
    Unquoted(&'a [u8]),
    /// Within quotes: the text with the escapes read.
    Quoted(Cow<'a, [u8]>),
    /// Dropped under `SKIP_VALUE`: an unescaped quote was in it.
    Skipped,
}

/// Why a record could not be cut into fields, and in which field (0-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TokenError {
    pub column: usize,
    pub why: &'static str,
    /// Where the field is in the record.
    pub field: Range<usize>,
}

/// How records are cut.
#[derive(Clone, Debug)]
pub(super) struct Tokenizer {
    pub delimiter: Vec<u8>,
    /// No quote: quotes are text.
    pub quote: Option<Vec<u8>>,
    /// No escape: an escape is text.
    pub escape: Option<Vec<u8>>,
    pub trim_leading: bool,
    pub trim_trailing: bool,
    pub unescaped_quotes: UnescapedQuoteHandling,
}

/// Where a quoted field ended and what it held.
struct Quoted<'a> {
    field: Field<'a>,
    /// Just past it: at a delimiter or the end of the record.
    end: usize,
}

/// univocity's whitespace: control characters and the space.
fn is_space(b: u8) -> bool {
    b <= b' '
}

impl Tokenizer {
    /// The fields of `record` (one line, without its line ending).
    pub fn fields<'a>(&self, record: &'a [u8]) -> Result<Vec<Field<'a>>, TokenError> {
        let mut fields = Vec::new();
        let mut at = 0;
        loop {
            if self.trim_leading {
                at = self.skip_space(record, at);
            }
            let quoted = (self.quote.as_deref()).filter(|q| record[at..].starts_with(q));
            let end = match quoted {
                Some(quote) => {
                    let column = fields.len();
                    let q = self.quoted(record, at, quote, column)?;
                    fields.push(q.field);
                    q.end
                }
                None => {
                    let end = self.delimiter_from(record, at);
                    fields.push(Field::Unquoted(self.trim_end(&record[at..end])));
                    end
                }
            };
            if end == record.len() {
                return Ok(fields);
            }
            at = end + self.delimiter.len();
        }
    }

    /// The quoted field whose opening `quote` is at `start`.
    fn quoted<'a>(
        &self,
        record: &'a [u8],
        start: usize,
        quote: &[u8],
        column: usize,
    ) -> Result<Quoted<'a>, TokenError> {
        let unterminated = TokenError {
            column,
            why: "unterminated quoted field",
            field: start..record.len(),
        };
        let content = start + quote.len();
        let mut text: Cow<'a, [u8]> = Cow::Borrowed(&[]);
        let mut at = content;
        // Text since `at`'s last jump, appended in one go.
        let mut run = at;
        loop {
            let rest = record.get(at..).filter(|r| !r.is_empty());
            let rest = rest.ok_or(unterminated.clone())?;
            let escape = self.escape.as_deref().filter(|e| rest.starts_with(e));
            if let Some(escape) = escape.filter(|e| *e != quote) {
                let after = &rest[escape.len()..];
                let escaped = [quote, escape].into_iter().find(|c| after.starts_with(c));
                if let Some(escaped) = escaped {
                    append(&mut text, record, run, at);
                    text.to_mut().extend_from_slice(escaped);
                    at += escape.len() + escaped.len();
                    run = at;
                } else {
                    at += escape.len();
                }
                continue;
            }
            if !rest.starts_with(quote) {
                at += 1;
                continue;
            }
            let after = at + quote.len();
            if escape.is_some() && record[after..].starts_with(quote) {
                // The escape is the quote: a doubled quote is one.
                append(&mut text, record, run, at);
                text.to_mut().extend_from_slice(quote);
                at = after + quote.len();
                run = at;
                continue;
            }
            // Of a run of quotes before the delimiter, the last closes the field and
            // the others are text (Spark reads `"a"""` as `a""`).
            let mut run_end = after;
            while record[run_end..].starts_with(quote) {
                run_end += quote.len();
            }
            let next = self.skip_space(record, run_end);
            if next == record.len() || record[next..].starts_with(&self.delimiter) {
                append(&mut text, record, run, run_end - quote.len());
                return Ok(Quoted {
                    field: Field::Quoted(text),
                    end: next,
                });
            }
            append(&mut text, record, run, at);
            match self.unescaped_quotes {
                UnescapedQuoteHandling::StopAtDelimiter => {
                    // The field is read as unquoted text, from its opening quote on.
                    let end = self.delimiter_from(record, after);
                    let mut whole = quote.to_vec();
                    whole.extend_from_slice(&text);
                    whole.extend_from_slice(self.trim_end(&record[at..end]));
                    let field = Field::Quoted(Cow::Owned(whole));
                    return Ok(Quoted { field, end });
                }
                UnescapedQuoteHandling::SkipValue => {
                    let end = self.delimiter_from(record, after);
                    let field = Field::Skipped;
                    return Ok(Quoted { field, end });
                }
                UnescapedQuoteHandling::StopAtClosingQuote => {
                    // The quote is text, and the field goes on to the next closing one.
                    run = at;
                    at = after;
                }
                UnescapedQuoteHandling::BackToDelimiter => {
                    // As Spark reads it: the quote is dropped and the field goes on.
                    at = after;
                    run = at;
                }
                UnescapedQuoteHandling::RaiseError => {
                    let why = "a quote inside a quoted field that is neither escaped nor \
                               followed by the delimiter";
                    let field = start..self.delimiter_from(record, after);
                    return Err(TokenError { column, why, field });
                }
            }
        }
    }

    /// Where the delimiter next occurs from `at`, or the end of `record`.
    fn delimiter_from(&self, record: &[u8], at: usize) -> usize {
        let first = self.delimiter[0];
        let mut from = at;
        while let Some(i) = memchr::memchr(first, &record[from..]) {
            if record[from + i..].starts_with(&self.delimiter) {
                return from + i;
            }
            from += i + 1;
        }
        record.len()
    }

    /// Past the whitespace at `at`, stopping at a delimiter (which may be a tab).
    fn skip_space(&self, record: &[u8], mut at: usize) -> usize {
        while at < record.len()
            && is_space(record[at])
            && !record[at..].starts_with(&self.delimiter)
        {
            at += 1;
        }
        at
    }

    /// `text` without trailing whitespace, if that is ignored.
    fn trim_end<'a>(&self, text: &'a [u8]) -> &'a [u8] {
        if !self.trim_trailing {
            return text;
        }
        let kept = text
            .iter()
            .rposition(|&b| !is_space(b))
            .map_or(0, |i| i + 1);
        &text[..kept]
    }
}

/// Appends `record[from..to]` to `text`, borrowing while it is one slice.
fn append<'a>(text: &mut Cow<'a, [u8]>, record: &'a [u8], from: usize, to: usize) {
    if from == to {
        return;
    }
    match text {
        Cow::Borrowed([]) => *text = Cow::Borrowed(&record[from..to]),
        _ => text.to_mut().extend_from_slice(&record[from..to]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer(delimiter: &str, escape: Option<&str>) -> Tokenizer {
        Tokenizer {
            delimiter: delimiter.as_bytes().to_vec(),
            quote: Some(b"\"".to_vec()),
            escape: escape.map(|e| e.as_bytes().to_vec()),
            trim_leading: false,
            trim_trailing: false,
            unescaped_quotes: UnescapedQuoteHandling::StopAtDelimiter,
        }
    }

    /// The fields as text: unquoted plain, quoted in «», skipped as ∅.
    fn cut(t: &Tokenizer, record: &str) -> Result<Vec<String>, TokenError> {
        let fields = t.fields(record.as_bytes())?;
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        Ok(fields
            .into_iter()
            .map(|f| match f {
                Field::Unquoted(b) => text(b),
                Field::Quoted(b) => format!("«{}»", text(&b)),
                Field::Skipped => "∅".into(),
            })
            .collect())
    }

    #[test]
    fn quotes_count_only_at_the_start_of_a_field() {
        let t = tokenizer(",", Some("\\"));
        assert_eq!(cut(&t, "a,b").unwrap(), ["a", "b"]);
        assert_eq!(cut(&t, "a,,").unwrap(), ["a", "", ""]);
        assert_eq!(cut(&t, "").unwrap(), [""]);
        assert_eq!(
            cut(&t, r#"1,a"b, "q" "#).unwrap(),
            ["1", r#"a"b"#, r#" "q" "#]
        );
        assert_eq!(cut(&t, r#""a, b","",x"#).unwrap(), ["«a, b»", "«»", "x"]);
        assert_eq!(cut(&t, r#""a" ,b"#).unwrap(), ["«a»", "b"]);
    }

    #[test]
    fn the_default_escape_reads_backslash_quote_and_backslash_backslash() {
        let t = tokenizer(",", Some("\\"));
        assert_eq!(cut(&t, r#""a \"q\" w""#).unwrap(), [r#"«a "q" w»"#]);
        assert_eq!(cut(&t, r#""back\\slash""#).unwrap(), [r"«back\slash»"]);
        assert_eq!(cut(&t, r#""a\b","x\,y""#).unwrap(), [r"«a\b»", r"«x\,y»"]);
        assert_eq!(cut(&t, r#""ends \\""#).unwrap(), [r"«ends \»"]);
        assert_eq!(cut(&t, r#"a\"b"#).unwrap(), [r#"a\"b"#]);
    }

    #[test]
    fn the_last_of_a_run_of_quotes_before_the_delimiter_closes_the_field() {
        // As Spark reads them with the default escape.
        let t = tokenizer(",", Some("\\"));
        let read = |r| cut(&t, r).unwrap();
        assert_eq!(read("\"\"\"\""), ["«\"\"»"]);
        assert_eq!(read("\"a\"\"\" ,x"), ["«a\"\"»", "x"]);
        assert_eq!(read("\"\"\""), ["«\"»"]);
        assert_eq!(read("\"\"\"a\""), ["«\"\"\"a\"»"]);
        assert_eq!(read("\"a\"\"b\""), ["«\"a\"\"b\"»"]);
    }

    #[test]
    fn a_doubled_quote_is_one_when_the_escape_is_the_quote() {
        let t = tokenizer(",", Some("\""));
        assert_eq!(cut(&t, r#""a ""q"" w",1"#).unwrap(), [r#"«a "q" w»"#, "1"]);
        assert_eq!(cut(&t, r#""""""#).unwrap(), [r#"«"»"#]);
        assert_eq!(cut(&t, r#""back\slash""#).unwrap(), [r"«back\slash»"]);
    }

    #[test]
    fn unescaped_quotes_are_read_as_each_mode_says() {
        use UnescapedQuoteHandling::*;
        let records = [r#""a"b,2"#, r#""a"b"c",3"#, r#""a ""q"" w",4"#];
        let read = |mode| {
            let t = Tokenizer {
                unescaped_quotes: mode,
                ..tokenizer(",", Some("\\"))
            };
            records.map(|r| cut(&t, r).map_err(|e| e.why))
        };
        let fields = |f: &[&str]| Ok(f.iter().map(|s| s.to_string()).collect());
        let unterminated = Err("unterminated quoted field");
        assert_eq!(
            read(StopAtDelimiter),
            [
                fields(&[r#"«"a"b»"#, "2"]),
                fields(&[r#"«"a"b"c"»"#, "3"]),
                fields(&[r#"«"a ""q"" w"»"#, "4"]),
            ]
        );
        assert_eq!(
            read(StopAtClosingQuote),
            [
                unterminated.clone(),
                fields(&[r#"«a"b"c»"#, "3"]),
                fields(&[r#"«a ""q"" w»"#, "4"]),
            ]
        );
        assert_eq!(
            read(BackToDelimiter),
            [
                unterminated,
                fields(&["«abc»", "3"]),
                fields(&["«a q w»", "4"]),
            ]
        );
        assert_eq!(
            read(SkipValue),
            [
                fields(&["∅", "2"]),
                fields(&["∅", "3"]),
                fields(&["∅", "4"])
            ]
        );
        assert!(read(RaiseError).iter().all(Result::is_err));
    }

    #[test]
    fn multi_character_and_non_ascii_delimiters() {
        let t = tokenizer(", ", Some("\\"));
        assert_eq!(cut(&t, "1, a,b, 5").unwrap(), ["1", "a,b", "5"]);
        assert_eq!(cut(&t, r#"2, "q, s", 2"#).unwrap(), ["2", "«q, s»", "2"]);
        let t = tokenizer("þ", Some("\\"));
        assert_eq!(
            cut(&t, "1þcafé,þ\"a þ b\"").unwrap(),
            ["1", "café,", "«a þ b»"]
        );
    }

    #[test]
    fn whitespace_is_trimmed_outside_quotes_only() {
        let t = Tokenizer {
            trim_leading: true,
            trim_trailing: true,
            ..tokenizer(",", Some("\\"))
        };
        assert_eq!(
            cut(&t, " 2 ,\"  q  \" ,\t tab\t, \"x\" ,").unwrap(),
            ["2", "«  q  »", "tab", "«x»", ""]
        );
        let tabs = Tokenizer {
            trim_leading: true,
            trim_trailing: true,
            ..tokenizer("\t", None)
        };
        assert_eq!(cut(&tabs, "a\t\t b ").unwrap(), ["a", "", "b"]);
    }

    #[test]
    fn an_unterminated_field_names_its_column() {
        let t = tokenizer(",", Some("\\"));
        let e = t.fields(br#"1,"abc"#).unwrap_err();
        assert_eq!((e.column, e.why), (1, "unterminated quoted field"));
        assert_eq!(t.fields(br#""a\""#).unwrap_err().column, 0);
    }
}
