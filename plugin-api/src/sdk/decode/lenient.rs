//! JSON as Spark's reader options let it be written (Jackson's lenient parser features:
//! comments, single quotes, unquoted names, leading zeros, NaN and Infinity, any escaped
//! character, raw control characters), rewritten into strict JSON for the arrow-rs
//! decoder. A fast scan ([`is_strict`]) keeps strict records off this path: only a
//! record that needs it is tokenized here, and a syntax error names its place in the
//! record as written.
//!
//! The rewrite also follows the schema, for Spark's rule that a value read into a
//! STRING field keeps its JSON text: an object, array or number there becomes a JSON
//! string holding exactly the bytes written (spaces, key order and quotes as they are).

use arrow::datatypes::{DataType, Fields};
use schemars::JsonSchema;
use serde::Deserialize;

/// Spark's JSON reader options that loosen the syntax, with Spark's defaults, under
/// Spark's names (`allowComments`) or ferry's (`allow_comments`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct JsonOptions {
    /// `/* … */` and `// …` comments between tokens.
    #[serde(alias = "allowComments")]
    pub allow_comments: bool,
    /// Field names without quotes, of ASCII letters, digits and `_$@#*+-`.
    #[serde(alias = "allowUnquotedFieldNames")]
    pub allow_unquoted_field_names: bool,
    /// Names and strings in single quotes (Spark's default: true).
    #[serde(alias = "allowSingleQuotes")]
    pub allow_single_quotes: bool,
    /// Numbers with leading zeros (`007`), read as their value.
    #[serde(alias = "allowNumericLeadingZeros")]
    pub allow_numeric_leading_zeros: bool,
    /// `NaN`, `Infinity`, `+Infinity`, `-Infinity` unquoted, for FLOAT and DOUBLE
    /// (Spark's default: true).
    #[serde(alias = "allowNonNumericNumbers")]
    pub allow_non_numeric_numbers: bool,
    /// A backslash before any character stands for that character (`\q` is `q`).
    #[serde(alias = "allowBackslashEscapingAnyCharacter")]
    pub allow_backslash_escaping_any_character: bool,
    /// Characters below U+0020 (a tab, say) unescaped inside strings.
    #[serde(alias = "allowUnquotedControlChars")]
    pub allow_unquoted_control_chars: bool,
}

impl Default for JsonOptions {
    fn default() -> Self {
        Self {
            allow_comments: false,
            allow_unquoted_field_names: false,
            allow_single_quotes: true,
            allow_numeric_leading_zeros: false,
            allow_non_numeric_numbers: true,
            allow_backslash_escaping_any_character: false,
            allow_unquoted_control_chars: false,
        }
    }
}

/// Where the schema has STRING values, whose JSON text is kept whatever is written, and
/// FLOAT or DOUBLE values, whose strings must be numbers or Spark's names for NaN and
/// the infinities.
#[derive(Debug)]
pub(super) enum Shape {
    Text,
    /// FLOAT or DOUBLE, by its DDL name.
    Float(&'static str),
    Fields(Vec<(String, Shape)>),
    Items(Box<Shape>),
    Values(Box<Shape>),
    Other,
}

impl Shape {
    /// The shape of a row of `fields`.
    pub(super) fn row(fields: &Fields) -> Self {
        Self::Fields(
            fields
                .iter()
                .map(|f| (f.name().clone(), Self::of(f.data_type())))
                .collect(),
        )
    }

    fn of(data_type: &DataType) -> Self {
        match data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Self::Text,
            DataType::Float16 | DataType::Float32 => Self::Float("FLOAT"),
            DataType::Float64 => Self::Float("DOUBLE"),
            DataType::Struct(fields) => Self::row(fields),
            DataType::List(item) | DataType::LargeList(item) => {
                Self::Items(Box::new(Self::of(item.data_type())))
            }
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => {
                    Self::Values(Box::new(Self::of(kv[1].data_type())))
                }
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }

    fn field(&self, name: &str) -> &Shape {
        match self {
            Self::Fields(fields) => fields
                .iter()
                .find(|(n, _)| n == name)
                .map_or(&OTHER, |f| &f.1),
            Self::Values(values) => values,
            _ => &OTHER,
        }
    }

    fn item(&self) -> &Shape {
        match self {
            Self::Items(item) => item,
            _ => &OTHER,
        }
    }
}

static OTHER: Shape = Shape::Other;

/// Whether the arrow-rs decoder can take `record` as it is: outside strings only JSON's
/// structure, `true`/`false`/`null` and numbers as RFC 8259 writes them; inside strings
/// no control character and only JSON's escapes. One pass.
pub(super) fn is_strict(record: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = record.get(i) {
        match b {
            b'"' => match strict_string_end(record, i + 1) {
                Some(end) => i = end,
                None => return false,
            },
            b' ' | b'\t' | b'\n' | b'\r' | b'{' | b'}' | b'[' | b']' | b',' | b':' => i += 1,
            b'-' | b'0'..=b'9' => {
                let len = token_len(&record[i..]);
                if !super::exact::is_json_number(&record[i..i + len]) {
                    return false;
                }
                i += len;
            }
            b'a'..=b'z' => {
                let len = token_len(&record[i..]);
                if !matches!(&record[i..i + len], b"true" | b"false" | b"null") {
                    return false;
                }
                i += len;
            }
            _ => return false,
        }
    }
    true
}

/// The length of the number, literal or name starting `bytes`.
pub(super) fn token_len(bytes: &[u8]) -> usize {
    let ends = |b: &u8| matches!(b, b',' | b':' | b']' | b'}' | b'"') || b.is_ascii_whitespace();
    bytes.iter().position(ends).unwrap_or(bytes.len())
}

/// Just past the closing quote of the string whose contents start at `from`, if the
/// string is strict and closed. Long runs of plain text (ids, timestamps) are passed a
/// word at a time; calling memchr for each string cost more than it saved, as JSON
/// strings are mostly short.
fn strict_string_end(record: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        i += plain_words(&record[i..]);
        match *record.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => match record.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' | b'u' => i += 2,
                _ => return None,
            },
            0..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// How many bytes at the start of `bytes` are whole 8-byte words holding no quote,
/// backslash or control character, each tested at once (SWAR: a byte of `x` is zero
/// exactly when the subtraction borrows into its high bit while its own is clear).
pub(super) fn plain_words(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_below = |x: u64, n: u8| x.wrapping_sub(ONES * n as u64) & !x & HIGHS != 0;
    let mut plain = 0;
    for word in bytes.chunks_exact(8) {
        let x = u64::from_ne_bytes(word.try_into().expect("8 bytes"));
        if has_below(x ^ (ONES * b'"' as u64), 1)
            || has_below(x ^ (ONES * b'\\' as u64), 1)
            || has_below(x, 0x20)
        {
            break;
        }
        plain += 8;
    }
    plain
}

/// A record rewritten into strict JSON.
pub(super) struct Rewritten {
    /// Strict JSON; empty if the record held only comments (it has no rows).
    pub json: Vec<u8>,
    /// An object or array was read into a STRING field, as its text.
    pub containers_as_text: bool,
}

/// Why a record was not rewritten.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// Malformed JSON with nothing lenient in it before the fault: the decoder's own
    /// reason (serde_json's) says it best.
    Plain,
    /// It has what its options do not allow, an invalid number, a value Spark does not
    /// read, or a fault after lenient syntax: the reason.
    Because(String),
}

/// `record` (an object, or an array of objects) as strict JSON, or why not: "malformed
/// JSON: … at line L column C" of the record as written.
pub(super) fn rewrite(
    record: &[u8],
    options: &JsonOptions,
    row: &Shape,
) -> Result<Rewritten, Refused> {
    let mut r = Rewriter {
        src: record,
        at: 0,
        out: Vec::with_capacity(record.len() + 8),
        options,
        containers_as_text: false,
        path: String::new(),
        lenient: false,
    };
    r.record(row).map_err(|e| r.explain(e))?;
    Ok(Rewritten {
        json: r.out,
        containers_as_text: r.containers_as_text,
    })
}

/// What is wrong, found at byte `at` of the record.
struct Syntax {
    at: usize,
    what: String,
    kind: Kind,
}

enum Kind {
    /// Malformed JSON.
    Plain,
    /// A number that is not valid JSON, spanning these bytes.
    Number(std::ops::Range<usize>),
    /// What an option that is off would allow.
    Option,
    /// A value Spark does not read; `what` says it all.
    Value,
}

type Step = Result<(), Syntax>;

struct Rewriter<'a> {
    src: &'a [u8],
    at: usize,
    out: Vec<u8>,
    options: &'a JsonOptions,
    containers_as_text: bool,
    /// The field being read, as reasons name it (`s.x`).
    path: String,
    /// Something only an option allows was read.
    lenient: bool,
}

impl<'a> Rewriter<'a> {
    fn fail<T>(&self, what: impl Into<String>) -> Result<T, Syntax> {
        self.fault(what.into(), Kind::Plain)
    }

    fn fault<T>(&self, what: String, kind: Kind) -> Result<T, Syntax> {
        Err(Syntax {
            at: self.at,
            what,
            kind,
        })
    }

    /// `what` needs `option`, which is off.
    fn needs<T>(&self, what: &str, option: &str) -> Result<T, Syntax> {
        self.fault(format!("{what} (allowed with {option})"), Kind::Option)
    }

    /// The number that starts at `start` is not valid JSON.
    fn bad_number<T>(&mut self, start: usize, what: &str) -> Result<T, Syntax> {
        let end = start + token_len(&self.src[start..]);
        self.at = start;
        self.fault(what.to_string(), Kind::Number(start..end))
    }

    fn explain(&self, e: Syntax) -> Refused {
        let reason = match e.kind {
            Kind::Value => e.what,
            Kind::Plain if !self.lenient => return Refused::Plain,
            Kind::Number(token) if !self.lenient => {
                // Strict JSON so far: in serde_json's words, as other malformed JSON.
                let why = match serde_json::from_slice::<serde::de::IgnoredAny>(self.src) {
                    Err(error) => error.to_string(),
                    Ok(_) => format!("invalid number at byte {}", token.start + 1),
                };
                let token = super::exact::excerpt(&self.src[token], super::exact::EXCERPT_CHARS);
                format!("malformed JSON: {why} ('{token}')")
            }
            _ => self.at_place(&e),
        };
        Refused::Because(reason)
    }

    /// "malformed JSON: what at line L column C".
    fn at_place(&self, e: &Syntax) -> String {
        let before = &self.src[..e.at.min(self.src.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
        let token = match &e.kind {
            Kind::Number(token) => {
                let token = &self.src[token.clone()];
                format!(
                    " ('{}')",
                    super::exact::excerpt(token, super::exact::EXCERPT_CHARS)
                )
            }
            _ => String::new(),
        };
        format!(
            "malformed JSON: {} at line {line} column {column}{token}",
            e.what
        )
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.at).copied()
    }

    fn record(&mut self, row: &Shape) -> Step {
        self.space()?;
        match self.peek() {
            None => return Ok(()),
            Some(b'{') => self.object(row)?,
            Some(b'[') => self.array(row)?,
            Some(_) => return self.fail("expected a JSON object or array"),
        }
        self.space()?;
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail("text after the JSON value"),
        }
    }

    /// Skips whitespace and, if allowed, comments.
    fn space(&mut self) -> Step {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.at += 1,
                Some(b'/') if !self.options.allow_comments => {
                    return self.needs("comment", "allow_comments")
                }
                Some(b'/') => self.comment()?,
                _ => return Ok(()),
            }
        }
    }

    fn comment(&mut self) -> Step {
        let rest = &self.src[self.at..];
        self.lenient = true;
        if rest.starts_with(b"//") {
            let len = rest.iter().position(|&b| b == b'\n' || b == b'\r');
            self.at += len.unwrap_or(rest.len());
        } else if rest.starts_with(b"/*") {
            match memchr::memmem::find(&rest[2..], b"*/") {
                Some(i) => self.at += i + 4,
                None => return self.fail("comment not closed"),
            }
        } else {
            return self.fail("unexpected '/'");
        }
        Ok(())
    }

    fn value(&mut self, shape: &Shape) -> Step {
        match self.peek() {
            Some(b'{' | b'[') if matches!(shape, Shape::Text) => {
                self.as_text(|r| r.value(&Shape::Other))
            }
            Some(b'{') => self.object(shape),
            Some(b'[') => self.array(shape.item()),
            Some(quote @ (b'"' | b'\'')) => match shape {
                Shape::Float(ddl) => self.float_string(quote, ddl),
                _ => self.string(quote),
            },
            Some(b't' | b'f' | b'n') => self.literal(),
            Some(b'-' | b'+' | b'0'..=b'9' | b'N' | b'I') if matches!(shape, Shape::Text) => {
                self.as_text(|r| r.number())
            }
            Some(b'-' | b'+' | b'0'..=b'9' | b'N' | b'I') => self.number(),
            Some(_) => self.fail("expected a JSON value"),
            None => self.fail("unexpected end"),
        }
    }

    /// Reads a value with `read`, but writes the bytes it spans as a JSON string.
    fn as_text(&mut self, read: impl FnOnce(&mut Self) -> Step) -> Step {
        let (start, written) = (self.at, self.out.len());
        self.containers_as_text |= matches!(self.peek(), Some(b'{' | b'['));
        read(self)?;
        self.out.truncate(written);
        let Ok(text) = std::str::from_utf8(&self.src[start..self.at]) else {
            return self.fail("invalid UTF-8");
        };
        let quoted = serde_json::to_string(text).expect("a str serializes");
        self.out.extend_from_slice(quoted.as_bytes());
        Ok(())
    }

    fn object(&mut self, shape: &Shape) -> Step {
        if self.open(b'{', b'}')? {
            return Ok(());
        }
        loop {
            let name = self.name()?;
            self.space()?;
            if self.peek() != Some(b':') {
                return self.fail("expected ':' after a field name");
            }
            self.at += 1;
            self.out.push(b':');
            self.space()?;
            let outer = self.path.len();
            if outer > 0 {
                self.path.push('.');
            }
            self.path.push_str(&name);
            self.value(shape.field(&name))?;
            self.path.truncate(outer);
            if self.next_item(b'}', "expected ',' or '}' in an object")? {
                return Ok(());
            }
        }
    }

    /// An array whose elements are of shape `item` (at the top of a record: rows).
    fn array(&mut self, item: &Shape) -> Step {
        if self.open(b'[', b']')? {
            return Ok(());
        }
        loop {
            self.value(item)?;
            if self.next_item(b']', "expected ',' or ']' in an array")? {
                return Ok(());
            }
        }
    }

    /// Writes the `open`ing bracket at the cursor and the space after it; true if the
    /// container is empty (its `close` is written too).
    fn open(&mut self, open: u8, close: u8) -> Result<bool, Syntax> {
        self.at += 1;
        self.out.push(open);
        self.space()?;
        let empty = self.peek() == Some(close);
        if empty {
            self.at += 1;
            self.out.push(close);
        }
        Ok(empty)
    }

    /// After an item: a comma (written, with the space after it) or the container's
    /// `close` (written; true); anything else fails with `expected`.
    fn next_item(&mut self, close: u8, expected: &str) -> Result<bool, Syntax> {
        self.space()?;
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                self.out.push(b',');
                self.space()?;
                Ok(false)
            }
            Some(b) if b == close => {
                self.at += 1;
                self.out.push(close);
                Ok(true)
            }
            _ => self.fail(expected),
        }
    }

    /// A field name, written quoted; returns its text.
    fn name(&mut self) -> Result<String, Syntax> {
        let start = self.out.len();
        match self.peek() {
            Some(quote @ (b'"' | b'\'')) => self.string(quote)?,
            Some(b) if is_name_byte(b) && self.options.allow_unquoted_field_names => {
                self.lenient = true;
                let len = self.src[self.at..]
                    .iter()
                    .take_while(|&&b| is_name_byte(b))
                    .count();
                self.out.push(b'"');
                self.out
                    .extend_from_slice(&self.src[self.at..self.at + len]);
                self.out.push(b'"');
                self.at += len;
            }
            Some(b) if is_name_byte(b) => {
                return self.needs("unquoted field name", "allow_unquoted_field_names")
            }
            _ => return self.fail("expected a field name"),
        }
        let quoted = &self.out[start..];
        Ok(serde_json::from_slice(quoted).expect("a string just written is JSON"))
    }

    /// A string in `quote`s, written in double quotes with strict escapes.
    fn string(&mut self, quote: u8) -> Step {
        if quote == b'\'' {
            if !self.options.allow_single_quotes {
                return self.needs("single-quoted string", "allow_single_quotes");
            }
            self.lenient = true;
        }
        self.at += 1;
        self.out.push(b'"');
        loop {
            let Some(b) = self.peek() else {
                return self.fail("string not closed");
            };
            match b {
                _ if b == quote => {
                    self.at += 1;
                    self.out.push(b'"');
                    return Ok(());
                }
                b'\\' => self.escape()?,
                b'"' => {
                    self.out.extend_from_slice(b"\\\"");
                    self.at += 1;
                }
                0..=0x1f if !self.options.allow_unquoted_control_chars => {
                    return self.needs(
                        &format!("unescaped control character U+{b:04X} in a string"),
                        "allow_unquoted_control_chars",
                    );
                }
                0..=0x1f => {
                    self.lenient = true;
                    self.out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                    self.at += 1;
                }
                _ => {
                    self.out.push(b);
                    self.at += 1;
                }
            }
        }
    }

    /// A string in a FLOAT or DOUBLE field: a number, or what Spark reads as NaN or an
    /// infinity (arrow-rs would also take "nan", "inf", "-NaN" …).
    fn float_string(&mut self, quote: u8, ddl: &str) -> Step {
        let (start, written) = (self.at, self.out.len());
        self.string(quote)?;
        let text: String = serde_json::from_slice(&self.out[written..]).expect("written JSON");
        const NAMES: [&str; 6] = ["NaN", "Infinity", "+Infinity", "-Infinity", "+INF", "-INF"];
        let word = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
        let why = if !(word.starts_with("nan") || word.starts_with("inf")) {
            // A number or not, arrow-rs reads it exactly or refuses it.
            return Ok(());
        } else if !NAMES.contains(&text.as_str()) {
            "NaN and the infinities are written NaN, Infinity, +Infinity, -Infinity, +INF or -INF"
        } else if !self.options.allow_non_numeric_numbers {
            "allowed with allow_non_numeric_numbers"
        } else {
            return Ok(());
        };
        let got = serde_json::Value::from(text).to_string();
        let got = super::exact::excerpt(got.as_bytes(), super::exact::EXCERPT_CHARS);
        self.at = start;
        let what = format!("field '{}': expected {ddl}, got {got} ({why})", self.path);
        self.fault(what, Kind::Value)
    }

    /// The escape at `at` (a backslash and what follows).
    fn escape(&mut self) -> Step {
        let Some(&next) = self.src.get(self.at + 1) else {
            return self.fail("string not closed");
        };
        match next {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                self.out.extend_from_slice(&[b'\\', next]);
                self.at += 2;
            }
            b'u' => {
                let hex = self.src.get(self.at + 2..self.at + 6);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return self.fail("\\u not followed by 4 hex digits");
                }
                self.out.extend_from_slice(&self.src[self.at..self.at + 6]);
                self.at += 6;
            }
            // Jackson reads \' whenever single quotes are allowed.
            b'\'' if self.options.allow_single_quotes => {
                self.lenient = true;
                self.out.push(b'\'');
                self.at += 2;
            }
            _ if !self.options.allow_backslash_escaping_any_character => {
                let shown = super::exact::excerpt(&[next], 1);
                return self.needs(
                    &format!("unknown escape '\\{shown}'"),
                    "allow_backslash_escaping_any_character",
                );
            }
            0..=0x1f => {
                self.lenient = true;
                self.out
                    .extend_from_slice(format!("\\u{next:04x}").as_bytes());
                self.at += 2;
            }
            _ => {
                // The character itself; a multi-byte one is copied by the string loop.
                self.lenient = true;
                self.at += 1;
                if next.is_ascii() {
                    self.out.push(next);
                    self.at += 1;
                }
            }
        }
        Ok(())
    }

    fn literal(&mut self) -> Step {
        let len = self.src[self.at..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let word = &self.src[self.at..self.at + len];
        if !matches!(word, b"true" | b"false" | b"null") {
            return self.unknown(self.at);
        }
        self.out.extend_from_slice(word);
        self.at += len;
        Ok(())
    }

    /// A number, or NaN and the infinities (written as strings, which FLOAT and DOUBLE
    /// read); leading zeros dropped.
    fn number(&mut self) -> Step {
        let start = self.at;
        let sign = match self.peek() {
            Some(s @ (b'-' | b'+')) => {
                self.at += 1;
                Some(s)
            }
            _ => None,
        };
        if matches!(self.peek(), Some(b'N' | b'I')) {
            return self.non_numeric(start, sign);
        }
        if sign == Some(b'+') {
            return self.bad_number(start, "'+' before a number");
        }
        let digits = self.digits();
        if digits.is_empty() {
            return self.bad_number(start, "invalid number");
        }
        let zeros = digits.iter().take_while(|&&b| b == b'0').count();
        if zeros > 0 && digits.len() > 1 {
            if !self.options.allow_numeric_leading_zeros {
                let what = "number with a leading zero (allowed with allow_numeric_leading_zeros)";
                return self.bad_number(start, what);
            }
            self.lenient = true;
        }
        let kept = &digits[zeros.min(digits.len() - 1)..];
        let mut number = Vec::with_capacity(self.at - start);
        number.extend(sign);
        number.extend_from_slice(kept);
        if self.peek() == Some(b'.') {
            self.at += 1;
            let fraction = self.digits();
            if fraction.is_empty() {
                return self.bad_number(start, "invalid number: no digits after the point");
            }
            number.push(b'.');
            number.extend_from_slice(fraction);
        }
        if let Some(e @ (b'e' | b'E')) = self.peek() {
            self.at += 1;
            number.push(e);
            if let Some(s @ (b'+' | b'-')) = self.peek() {
                self.at += 1;
                number.push(s);
            }
            let exponent = self.digits();
            if exponent.is_empty() {
                return self.bad_number(start, "invalid number: no digits in the exponent");
            }
            number.extend_from_slice(exponent);
        }
        if self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.')
        {
            return self.bad_number(start, "invalid number");
        }
        self.out.extend_from_slice(&number);
        Ok(())
    }

    fn digits(&mut self) -> &'a [u8] {
        let (src, start) = (self.src, self.at);
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        &src[start..self.at]
    }

    /// The word at `start` is no JSON value.
    fn unknown(&mut self, start: usize) -> Step {
        self.at = start;
        let word = &self.src[start..start + token_len(&self.src[start..])];
        let word = super::exact::excerpt(word, super::exact::EXCERPT_CHARS);
        self.fail(format!("'{word}' is not a JSON value"))
    }

    /// `NaN`, `Infinity`, `+Infinity` or `-Infinity` (Jackson's set), from `start`.
    fn non_numeric(&mut self, start: usize, sign: Option<u8>) -> Step {
        let len = self.src[self.at..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let word = &self.src[self.at..self.at + len];
        let text = match (sign, word) {
            (None, b"NaN") => "\"NaN\"",
            (None | Some(b'+'), b"Infinity") => "\"Infinity\"",
            (Some(b'-'), b"Infinity") => "\"-Infinity\"",
            _ => return self.unknown(start),
        };
        if !self.options.allow_non_numeric_numbers {
            self.at = start;
            return self.needs("NaN or Infinity", "allow_non_numeric_numbers");
        }
        self.lenient = true;
        self.at += len;
        self.out.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// A byte of an unquoted field name: what Jackson takes (ASCII letters, digits and
/// `_$@#*+-`).
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'@' | b'#' | b'*' | b'+' | b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::ddl::parse_ddl;

    fn all() -> JsonOptions {
        JsonOptions {
            allow_comments: true,
            allow_unquoted_field_names: true,
            allow_single_quotes: true,
            allow_numeric_leading_zeros: true,
            allow_non_numeric_numbers: true,
            allow_backslash_escaping_any_character: true,
            allow_unquoted_control_chars: true,
        }
    }

    fn with(options: JsonOptions, ddl: &str, record: &str) -> Result<String, String> {
        let row = Shape::row(parse_ddl(ddl).unwrap().fields());
        match rewrite(record.as_bytes(), &options, &row) {
            Ok(r) => Ok(String::from_utf8(r.json).unwrap()),
            Err(Refused::Plain) => Err("plain".into()),
            Err(Refused::Because(reason)) => Err(reason),
        }
    }

    fn strict(ddl: &str, record: &str) -> Result<String, String> {
        with(JsonOptions::default(), ddl, record)
    }

    #[test]
    fn the_scan_passes_strict_json_only() {
        let strict = [
            r#"{"a": 1, "b": [true, false, null, -0.5e3], "c": "it's /* \" \\ \u00e9"}"#,
            r#"[{"a": "x"}, {}]"#,
            "  {\"a\":\t1}  ",
        ];
        for r in strict {
            assert!(is_strict(r.as_bytes()), "{r}");
        }
        let lenient = [
            "{'a': 1}",
            "{a: 1}",
            r#"{"a": 01}"#,
            r#"{"a": NaN}"#,
            r#"{"a": -Infinity}"#,
            r#"{"a": 1} // c"#,
            r#"{"a": "\q"}"#,
            "{\"a\": \"tab\there\"}",
            r#"{"a": "open"#,
            r#"{"a": +1}"#,
            r#"{"a": 1.}"#,
        ];
        for r in lenient {
            assert!(!is_strict(r.as_bytes()), "{r}");
        }
    }

    /// Long strings are passed a word at a time: whatever ends one or makes it lenient
    /// is found at every place within a word, at any alignment.
    #[test]
    fn the_scan_finds_every_byte_in_long_strings() {
        for at in 0..24 {
            let text = |c: &str| format!("{}{c}{}", "x".repeat(at), "é".repeat(8));
            assert!(is_strict(format!(r#"{{"a": "{}"}}"#, text("")).as_bytes()));
            assert!(is_strict(
                format!(r#"{{"a": "{}"}}"#, text("\\n")).as_bytes()
            ));
            let ended = text("\", \"b\": \"");
            assert!(is_strict(format!(r#"{{"a": "{ended}"}}"#).as_bytes()));
            for lenient in ["\t", "\u{1}", "\\q", "\"'"] {
                let record = format!(r#"{{"a": "{}"}}"#, text(lenient));
                assert!(!is_strict(record.as_bytes()), "{record:?}");
            }
        }
    }

    #[test]
    fn spark_defaults_read_single_quotes_and_non_numeric_numbers() {
        let ddl = "a DOUBLE, s STRING";
        assert_eq!(
            strict(ddl, r#"{'a': NaN, 's': 'it\'s "q"'}"#).unwrap(),
            r#"{"a":"NaN","s":"it's \"q\""}"#
        );
        assert_eq!(
            strict(ddl, "[{\"a\": -Infinity}, {\"a\": +Infinity}]").unwrap(),
            r#"[{"a":"-Infinity"},{"a":"Infinity"}]"#
        );
        let malformed = |why: &str| Err(format!("malformed JSON: {why}"));
        let refused = [
            (r#"{"a": 1} // c"#, malformed("comment (allowed with allow_comments) at line 1 column 10")),
            ("{a: 1}", malformed("unquoted field name (allowed with allow_unquoted_field_names) at line 1 column 2")),
            (r#"{"s": "\q"}"#, malformed(r"unknown escape '\q' (allowed with allow_backslash_escaping_any_character) at line 1 column 8")),
            ("{\"s\": \"a\tb\"}", malformed("unescaped control character U+0009 in a string (allowed with allow_unquoted_control_chars) at line 1 column 9")),
            // In an otherwise strict record, a bad number in serde_json's words.
            (r#"{"a": 007}"#, malformed("invalid number at line 1 column 8 ('007')")),
            (r#"{"a": +1.5}"#, malformed("expected value at line 1 column 7 ('+1.5')")),
            (r#"{"a": 1.}"#, malformed("invalid number at line 1 column 9 ('1.')")),
            // After lenient syntax, serde_json would blame that: the place as written.
            ("{'a': 007}", malformed("number with a leading zero (allowed with allow_numeric_leading_zeros) at line 1 column 7 ('007')")),
            ("{'a': INF}", malformed("'INF' is not a JSON value at line 1 column 7")),
            ("{'a': -NaN}", malformed("'-NaN' is not a JSON value at line 1 column 7")),
            ("{'a':\n 'x}", malformed("string not closed at line 2 column 5")),
            ("{'a': 1} x", malformed("text after the JSON value at line 1 column 10")),
            // Malformed strict JSON: the decoder explains it, as it always has.
            (r#"{"a": INF}"#, Err("plain".into())),
            (r#"{"a": nul}"#, Err("plain".into())),
            (r#"{"a": 1} x"#, Err("plain".into())),
        ];
        for (record, why) in refused {
            assert_eq!(strict(ddl, record), why, "{record}");
        }
    }

    #[test]
    fn each_option_off_refuses_what_it_allows() {
        let off = JsonOptions {
            allow_single_quotes: false,
            allow_non_numeric_numbers: false,
            ..JsonOptions::default()
        };
        assert_eq!(
            with(off, "a DOUBLE", "{'a': 1}"),
            Err("malformed JSON: single-quoted string (allowed with allow_single_quotes) at line 1 column 2".into())
        );
        assert_eq!(
            with(off, "a DOUBLE", r#"{"a": Infinity}"#),
            Err("malformed JSON: NaN or Infinity (allowed with allow_non_numeric_numbers) at line 1 column 7".into())
        );
        // A backslash before a quote is still an error without single quotes.
        assert!(with(off, "s STRING", r#"{"s": "\'"}"#).is_err());
    }

    #[test]
    fn every_option_on() {
        let record =
            "/* lead */ {id: 007, $x-1: -00.50, 's': 'a\\qb\\'c\u{1}\\\u{2}', n: NaN} // end";
        assert_eq!(
            with(all(), "id INT, s STRING", record).unwrap(),
            r#"{"id":7,"$x-1":-0.50,"s":"aqb'c\u0001\u0002","n":"NaN"}"#
        );
        assert_eq!(with(all(), "a INT", "// only a comment").unwrap(), "");
        assert_eq!(with(all(), "a INT", r#"{"a": 00}"#).unwrap(), r#"{"a":0}"#);
        assert_eq!(
            with(all(), "s STRING", r#"{"s": "\é"}"#).unwrap(),
            r#"{"s":"é"}"#
        );
        assert!(with(all(), "a INT", "{\"a\": 1 /* open").is_err());
        assert!(with(all(), "a INT", "{é: 1}").is_err());
    }

    #[test]
    fn string_fields_keep_the_json_text_as_written() {
        let ddl = "s STRING, l ARRAY<STRING>, st STRUCT<x: STRING>, m MAP<STRING, STRING>, n INT";
        let record = r#"{"s": {"b": 2,  'a' : [1, 2.50]}, "l": [1.50e3, {"c": NaN}, "x", null, true], "st": {"x": [ 007 ]}, "m": {"k": {}}, "n": 01}"#;
        let options = JsonOptions {
            allow_numeric_leading_zeros: true,
            ..JsonOptions::default()
        };
        let row = Shape::row(parse_ddl(ddl).unwrap().fields());
        let r = rewrite(record.as_bytes(), &options, &row).unwrap();
        assert_eq!(
            String::from_utf8(r.json).unwrap(),
            r#"{"s":"{\"b\": 2,  'a' : [1, 2.50]}","l":["1.50e3","{\"c\": NaN}","x",null,true],"st":{"x":"[ 007 ]"},"m":{"k":"{}"},"n":1}"#
        );
        assert!(r.containers_as_text);
        let r = rewrite(br#"{"s": 1, "n": 2}"#, &options, &row).unwrap();
        assert!(!r.containers_as_text);
        // What is inside is still read by the options.
        assert!(strict(ddl, r#"{"s": {"a": 01}}"#).is_err());
    }
}
