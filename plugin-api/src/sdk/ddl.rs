//! Spark DDL schema strings (`"ts TIMESTAMP, tags ARRAY<STRING>"`) to Arrow schemas and back.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use schemars::{json_schema, JsonSchema, SchemaGenerator};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A DDL string that could not be parsed: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{message} at position {position} in \"{}\"\n  {}\n  {}",
    one_line(.ddl), one_line(.ddl), caret(*.position, *.len)
)]
pub struct DdlError {
    /// What is wrong.
    pub message: String,
    /// Where the offending token starts, in characters from 0.
    pub position: usize,
    /// The offending token's length in characters.
    pub len: usize,
    /// The whole DDL string, for the caret under the token.
    pub ddl: String,
}

/// The DDL on one line, so that the caret line stays aligned under it.
fn one_line(ddl: &str) -> String {
    ddl.chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect()
}

fn caret(position: usize, len: usize) -> String {
    format!("{}{}", " ".repeat(position), "^".repeat(len.max(1)))
}

/// Parses a Spark DDL schema such as `"ts TIMESTAMP, geo STRUCT<lat: DOUBLE, lon: DOUBLE>"`.
///
/// Columns are nullable unless marked `NOT NULL`; `COMMENT 'text'` goes to the field's
/// metadata under `"comment"`.
pub fn parse_ddl(ddl: &str) -> Result<Schema, DdlError> {
    let mut parser = Parser {
        ddl,
        tokens: tokenize(ddl)?,
        at: 0,
    };
    parser.schema().map(Schema::new)
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    /// A `backtick quoted` name.
    Name(String),
    /// A 'quoted' or "quoted" string.
    Text(String),
    Punct(char),
    End,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    pos: usize,
    len: usize,
}

impl Token {
    fn describe(&self) -> String {
        match &self.tok {
            Tok::Word(w) => format!("'{w}'"),
            Tok::Name(n) => format!("`{n}`"),
            Tok::Text(t) => format!("string '{t}'"),
            Tok::Punct(c) => format!("'{c}'"),
            Tok::End => "end of input".into(),
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(word))
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn tokenize(ddl: &str) -> Result<Vec<Token>, DdlError> {
    let chars: Vec<char> = ddl.chars().collect();
    let error = |message: String, position, len| DdlError {
        message,
        position,
        len,
        ddl: ddl.to_string(),
    };
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (c, start) = (chars[i], i);
        let tok = if c.is_whitespace() {
            i += 1;
            continue;
        } else if is_word_char(c) {
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            Tok::Word(chars[start..i].iter().collect())
        } else if matches!(c, '`' | '\'' | '"') {
            let (text, end) = quoted(&chars, start)
                .ok_or_else(|| error(format!("unclosed {c}"), start, chars.len() - start))?;
            i = end;
            if c == '`' {
                Tok::Name(text)
            } else {
                Tok::Text(text)
            }
        } else if "<>(),:".contains(c) {
            i += 1;
            Tok::Punct(c)
        } else {
            return Err(error(format!("unexpected character '{c}'"), start, 1));
        };
        tokens.push(Token {
            tok,
            pos: start,
            len: i - start,
        });
    }
    let end = Token {
        tok: Tok::End,
        pos: chars.len(),
        len: 1,
    };
    tokens.push(end);
    Ok(tokens)
}

/// The text of the quoted run opening at `chars[start]` and the index after it. Backticks
/// escape by doubling (`` `a``b` ``), string quotes with a backslash (`'it\'s'`).
fn quoted(chars: &[char], start: usize) -> Option<(String, usize)> {
    let quote = chars[start];
    let mut text = String::new();
    let mut i = start + 1;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        match c {
            '\\' if quote != '`' => {
                text.push(next?);
                i += 2;
            }
            '`' if quote == '`' && next == Some('`') => {
                text.push('`');
                i += 2;
            }
            c if c == quote => return Some((text, i + 1)),
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    None
}

struct Parser<'a> {
    ddl: &'a str,
    tokens: Vec<Token>,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.at]
    }

    fn next(&mut self) -> Token {
        let token = self.tokens[self.at].clone();
        self.at = (self.at + 1).min(self.tokens.len() - 1);
        token
    }

    fn eat(&mut self, punct: char) -> bool {
        let found = self.peek().tok == Tok::Punct(punct);
        self.at += usize::from(found);
        found
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.peek().is_word(word);
        self.at += usize::from(found);
        found
    }

    fn fail<T>(&self, token: &Token, message: impl Into<String>) -> Result<T, DdlError> {
        Err(DdlError {
            message: message.into(),
            position: token.pos,
            len: token.len,
            ddl: self.ddl.to_string(),
        })
    }

    fn schema(&mut self) -> Result<Vec<Field>, DdlError> {
        if self.peek().tok == Tok::End {
            return self.fail(self.peek(), "empty schema");
        }
        let fields = self.fields("column")?;
        match self.peek() {
            t if t.tok == Tok::End => Ok(fields),
            t => self.fail(
                t,
                format!(
                    "unexpected {} after column '{}' (expected ',')",
                    t.describe(),
                    fields[fields.len() - 1].name()
                ),
            ),
        }
    }

    /// Comma-separated fields, up to the first token after one that is not a comma.
    fn fields(&mut self, what: &str) -> Result<Vec<Field>, DdlError> {
        let mut fields: Vec<Field> = Vec::new();
        loop {
            let name_token = self.peek().clone();
            let field = self.field(what)?;
            if fields.iter().any(|f| f.name() == field.name()) {
                let message = format!("duplicate {what} name '{}'", field.name());
                return self.fail(&name_token, message);
            }
            fields.push(field);
            if !self.eat(',') {
                return Ok(fields);
            }
        }
    }

    /// `name [:] TYPE [NOT NULL] [COMMENT 'text']`; the colon only inside STRUCT.
    fn field(&mut self, what: &str) -> Result<Field, DdlError> {
        let token = self.next();
        let name = match token.tok {
            Tok::Word(name) | Tok::Name(name) => name,
            _ => {
                return self.fail(
                    &token,
                    format!("expected a {what} name, found {}", token.describe()),
                )
            }
        };
        if what == "field" {
            self.eat(':');
        }
        if matches!(self.peek().tok, Tok::End | Tok::Punct(_)) {
            return self.fail(self.peek(), format!("missing type for {what} '{name}'"));
        }
        let field = Field::new(name, self.data_type()?, true);
        self.constraints(field)
    }

    /// Any `NOT NULL` and `COMMENT 'text'` after a field's type.
    fn constraints(&mut self, mut field: Field) -> Result<Field, DdlError> {
        loop {
            if self.eat_word("NOT") {
                let token = self.next();
                if !token.is_word("NULL") {
                    let found = token.describe();
                    return self.fail(&token, format!("expected NULL after NOT, found {found}"));
                }
                field = field.with_nullable(false);
            } else if self.eat_word("COMMENT") {
                let token = self.next();
                let Tok::Text(comment) = token.tok else {
                    return self.fail(&token, "expected a quoted comment after COMMENT");
                };
                field = field.with_metadata(HashMap::from([("comment".to_string(), comment)]));
            } else {
                return Ok(field);
            }
        }
    }

    fn data_type(&mut self) -> Result<DataType, DdlError> {
        let token = self.next();
        let Tok::Word(word) = &token.tok else {
            return self.fail(
                &token,
                format!("expected a type, found {}", token.describe()),
            );
        };
        let upper = word.to_ascii_uppercase();
        match upper.as_str() {
            "ARRAY" => {
                let open = self.open(&upper)?;
                let item = self.data_type()?;
                self.close(&open)?;
                Ok(DataType::new_list(item, true))
            }
            "MAP" => {
                let open = self.open(&upper)?;
                let key = self.data_type()?;
                if !self.eat(',') {
                    let found = self.peek().describe();
                    return self.fail(
                        self.peek(),
                        format!("expected ',' between MAP key and value types, found {found}"),
                    );
                }
                let value = self.data_type()?;
                self.close(&open)?;
                Ok(map_type(key, value))
            }
            "STRUCT" => {
                let open = self.open(&upper)?;
                let fields = match self.peek().tok {
                    Tok::Punct('>') => Vec::new(),
                    _ => self.fields("field")?,
                };
                self.close(&open)?;
                Ok(DataType::Struct(fields.into()))
            }
            _ => self.scalar(&token, word),
        }
    }

    /// Consumes the `<` after a nested type's name and returns it.
    fn open(&mut self, type_name: &str) -> Result<Token, DdlError> {
        let token = self.next();
        match token.tok {
            Tok::Punct('<') => Ok(token),
            _ => self.fail(
                &token,
                format!("expected '<' after {type_name}, found {}", token.describe()),
            ),
        }
    }

    fn close(&mut self, open: &Token) -> Result<(), DdlError> {
        if self.eat('>') {
            return Ok(());
        }
        let found = self.peek();
        match found.tok {
            Tok::End => self.fail(open, "unbalanced '<': no matching '>'"),
            _ => self.fail(
                found,
                format!(
                    "expected '>' to close the '<' at position {}, found {}",
                    open.pos,
                    found.describe()
                ),
            ),
        }
    }

    fn scalar(&mut self, token: &Token, word: &str) -> Result<DataType, DdlError> {
        let params = self.params()?;
        let upper = word.to_ascii_uppercase();
        let (data_type, max_params) = match upper.as_str() {
            "STRING" => (DataType::Utf8, 0),
            // Read as STRING, their lengths would be silently ignored; Spark 4 refuses
            // them outside table schemas too.
            "VARCHAR" | "CHAR" => {
                let message = format!(
                    "{upper} is not supported: its length would not be checked; use STRING"
                );
                return self.fail(token, message);
            }
            "BIGINT" | "LONG" => (DataType::Int64, 0),
            "INT" | "INTEGER" => (DataType::Int32, 0),
            "SMALLINT" | "SHORT" => (DataType::Int16, 0),
            "TINYINT" | "BYTE" => (DataType::Int8, 0),
            "DOUBLE" => (DataType::Float64, 0),
            "FLOAT" | "REAL" => (DataType::Float32, 0),
            "BOOLEAN" => (DataType::Boolean, 0),
            "TIMESTAMP" | "TIMESTAMP_LTZ" => (
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                0,
            ),
            "TIMESTAMP_NTZ" => (DataType::Timestamp(TimeUnit::Microsecond, None), 0),
            "DATE" => (DataType::Date32, 0),
            "BINARY" => (DataType::Binary, 0),
            "DECIMAL" | "DEC" | "NUMERIC" => return self.decimal(&params),
            _ => return self.fail(token, format!("unknown type '{word}'")),
        };
        match params.get(max_params) {
            Some((_, extra)) => self.fail(extra, format!("too many parameters for {upper}")),
            None => Ok(data_type),
        }
    }

    /// `DECIMAL`, `DECIMAL(p)` or `DECIMAL(p, s)`; Spark's default is (10, 0).
    fn decimal(&self, params: &[(u32, Token)]) -> Result<DataType, DdlError> {
        let (precision, scale) = match params {
            [] => (10, 0),
            [(p, _)] => (*p, 0),
            [(p, _), (s, _)] => (*p, *s),
            [_, _, (_, extra), ..] => {
                return self.fail(extra, "DECIMAL takes at most (precision, scale)")
            }
        };
        if !(1..=38).contains(&precision) {
            return self.fail(
                &params[0].1,
                format!("DECIMAL precision must be 1 to 38, got {precision}"),
            );
        }
        if scale > precision {
            return self.fail(
                &params[1].1,
                format!("DECIMAL scale {scale} exceeds precision {precision}"),
            );
        }
        Ok(DataType::Decimal128(precision as u8, scale as i8))
    }

    /// Optional `(n, ...)` after a type name.
    fn params(&mut self) -> Result<Vec<(u32, Token)>, DdlError> {
        let mut params = Vec::new();
        if !self.eat('(') {
            return Ok(params);
        }
        loop {
            let token = self.next();
            let Some(n) = (match &token.tok {
                Tok::Word(w) => w.parse().ok(),
                _ => None,
            }) else {
                return self.fail(
                    &token,
                    format!("expected a number, found {}", token.describe()),
                );
            };
            params.push((n, token));
            if self.eat(')') {
                return Ok(params);
            }
            if !self.eat(',') {
                let found = self.peek().describe();
                return self.fail(self.peek(), format!("expected ',' or ')', found {found}"));
            }
        }
    }
}

/// `MAP<K, V>` the way arrow-rs lays it out: non-null keys in an `entries` struct.
fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = Fields::from(vec![
        Field::new("key", key, false),
        Field::new("value", value, true),
    ]);
    let entries = Field::new("entries", DataType::Struct(entries), false);
    DataType::Map(Arc::new(entries), false)
}

/// The DDL spelling of an Arrow type, e.g. `ARRAY<STRING>`; types Spark lacks print as Arrow's.
pub fn data_type_to_ddl(data_type: &DataType) -> String {
    use DataType::*;
    let name = match data_type {
        Utf8 | LargeUtf8 | Utf8View => "STRING",
        Int64 => "BIGINT",
        Int32 => "INT",
        Int16 => "SMALLINT",
        Int8 => "TINYINT",
        Float64 => "DOUBLE",
        Float32 => "FLOAT",
        Boolean => "BOOLEAN",
        Timestamp(_, Some(_)) => "TIMESTAMP",
        Timestamp(_, None) => "TIMESTAMP_NTZ",
        Date32 | Date64 => "DATE",
        Binary | LargeBinary | BinaryView => "BINARY",
        Decimal128(p, s) => return format!("DECIMAL({p},{s})"),
        List(item) | LargeList(item) => {
            return format!("ARRAY<{}>", data_type_to_ddl(item.data_type()))
        }
        Map(entries, _) => match entries.data_type() {
            Struct(kv) if kv.len() == 2 => {
                let (k, v) = (kv[0].data_type(), kv[1].data_type());
                return format!("MAP<{}, {}>", data_type_to_ddl(k), data_type_to_ddl(v));
            }
            _ => return data_type.to_string(),
        },
        Struct(fields) => {
            let fields: Vec<_> = fields.iter().map(|f| field_to_ddl(f, ": ")).collect();
            return format!("STRUCT<{}>", fields.join(", "));
        }
        other => return other.to_string(),
    };
    name.to_string()
}

/// The schema as a DDL string that [`parse_ddl`] reads back.
pub fn schema_to_ddl(schema: &Schema) -> String {
    let columns: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| field_to_ddl(f, " "))
        .collect();
    columns.join(", ")
}

fn field_to_ddl(field: &Field, separator: &str) -> String {
    let name = field.name();
    let mut ddl = match !name.is_empty() && name.chars().all(is_word_char) {
        true => name.clone(),
        false => format!("`{}`", name.replace('`', "``")),
    };
    ddl += separator;
    ddl += &data_type_to_ddl(field.data_type());
    if !field.is_nullable() {
        ddl += " NOT NULL";
    }
    if let Some(comment) = field.metadata().get("comment") {
        let escaped = comment.replace('\\', "\\\\").replace('\'', "\\'");
        ddl += &format!(" COMMENT '{escaped}'");
    }
    ddl
}

/// A schema option in config, written as a Spark DDL string.
#[derive(Clone, Debug, PartialEq)]
pub struct DdlSchema(pub SchemaRef);

impl<'de> Deserialize<'de> for DdlSchema {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ddl = String::deserialize(deserializer)?;
        let schema = parse_ddl(&ddl).map_err(de::Error::custom)?;
        Ok(Self(Arc::new(schema)))
    }
}

impl Serialize for DdlSchema {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&schema_to_ddl(&self.0))
    }
}

impl JsonSchema for DdlSchema {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "DdlSchema".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        json_schema!({
            "type": "string",
            "description": "Spark DDL schema, e.g. \"ts TIMESTAMP, n BIGINT, tags ARRAY<STRING>, geo STRUCT<lat: DOUBLE, lon: DOUBLE>\".",
            "examples": ["timestamp TIMESTAMP, value BIGINT, event_type STRING"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(ddl: &str) -> Schema {
        parse_ddl(ddl).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(ddl: &str) -> DdlError {
        parse_ddl(ddl).unwrap_err()
    }

    fn utc() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    }

    #[test]
    fn parses_the_example() {
        let schema = parse(
            "ts TIMESTAMP, n BIGINT, tags ARRAY<STRING>, geo STRUCT<lat: DOUBLE, lon: DOUBLE>, amount DECIMAL(10,2)",
        );
        let geo = Fields::from(vec![
            Field::new("lat", DataType::Float64, true),
            Field::new("lon", DataType::Float64, true),
        ]);
        let expected = Schema::new(vec![
            Field::new("ts", utc(), true),
            Field::new("n", DataType::Int64, true),
            Field::new("tags", DataType::new_list(DataType::Utf8, true), true),
            Field::new("geo", DataType::Struct(geo), true),
            Field::new("amount", DataType::Decimal128(10, 2), true),
        ]);
        assert_eq!(schema, expected);
    }

    #[test]
    fn maps_every_scalar_type_case_insensitively() {
        let cases = [
            ("string", DataType::Utf8),
            ("bigint", DataType::Int64),
            ("LONG", DataType::Int64),
            ("int", DataType::Int32),
            ("INTEGER", DataType::Int32),
            ("SMALLINT", DataType::Int16),
            ("short", DataType::Int16),
            ("TINYINT", DataType::Int8),
            ("byte", DataType::Int8),
            ("DOUBLE", DataType::Float64),
            ("float", DataType::Float32),
            ("REAL", DataType::Float32),
            ("boolean", DataType::Boolean),
            ("timestamp", utc()),
            (
                "TIMESTAMP_NTZ",
                DataType::Timestamp(TimeUnit::Microsecond, None),
            ),
            ("date", DataType::Date32),
            ("BINARY", DataType::Binary),
            ("DECIMAL", DataType::Decimal128(10, 0)),
            ("decimal(5)", DataType::Decimal128(5, 0)),
            ("DECIMAL( 38 , 10 )", DataType::Decimal128(38, 10)),
        ];
        for (ddl, expected) in cases {
            let schema = parse(&format!("c {ddl}"));
            assert_eq!(schema.field(0).data_type(), &expected, "{ddl}");
        }
    }

    #[test]
    fn parses_nested_types() {
        let schema = parse(
            "m MAP<STRING, ARRAY<INT>>, s struct<a INT, `b c`: ARRAY<STRUCT<x: DATE>>>, e STRUCT<>",
        );
        assert_eq!(
            schema.field(0).data_type(),
            &map_type(DataType::Utf8, DataType::new_list(DataType::Int32, true))
        );
        let DataType::Struct(s) = schema.field(1).data_type() else {
            panic!()
        };
        assert_eq!(s[0].data_type(), &DataType::Int32);
        assert_eq!(s[1].name(), "b c");
        let x = Fields::from(vec![Field::new("x", DataType::Date32, true)]);
        assert_eq!(
            s[1].data_type(),
            &DataType::new_list(DataType::Struct(x), true)
        );
        assert_eq!(
            schema.field(2).data_type(),
            &DataType::Struct(Fields::empty())
        );
    }

    #[test]
    fn reads_quoted_names_not_null_and_comments() {
        let schema = parse("`event time` TIMESTAMP NOT NULL COMMENT 'when it happened', `a``b` STRING comment \"it\\'s\", s STRUCT<x: INT NOT NULL>");
        let f = schema.field(0);
        assert_eq!(f.name(), "event time");
        assert!(!f.is_nullable());
        assert_eq!(f.metadata()["comment"], "when it happened");
        assert_eq!(schema.field(1).name(), "a`b");
        assert!(schema.field(1).is_nullable());
        assert_eq!(schema.field(1).metadata()["comment"], "it's");
        let DataType::Struct(s) = schema.field(2).data_type() else {
            panic!()
        };
        assert!(!s[0].is_nullable());
    }

    #[test]
    fn error_points_at_the_bad_token() {
        let e = error("ts TIMESTAMP, n BIGINTT");
        assert_eq!(
            e.to_string(),
            "unknown type 'BIGINTT' at position 16 in \"ts TIMESTAMP, n BIGINTT\"\n  ts TIMESTAMP, n BIGINTT\n                  ^^^^^^^"
        );
    }

    #[test]
    fn reports_each_kind_of_mistake_where_it_is() {
        let cases = [
            ("", "empty schema", 0),
            ("   ", "empty schema", 3),
            ("a INT, b STRING, a BIGINT", "duplicate column name 'a'", 17),
            ("s STRUCT<x INT, x INT>", "duplicate field name 'x'", 16),
            ("ts, n BIGINT", "missing type for column 'ts'", 2),
            ("n BIGINT, ts", "missing type for column 'ts'", 12),
            ("tags ARRAY<STRING", "unbalanced '<': no matching '>'", 10),
            (
                "tags ARRAY<STRING, n INT",
                "expected '>' to close the '<' at position 10, found ','",
                17,
            ),
            (
                "tags ARRAY<STRING>>",
                "unexpected '>' after column 'tags' (expected ',')",
                18,
            ),
            (
                "n BIGINT garbage",
                "unexpected 'garbage' after column 'n' (expected ',')",
                9,
            ),
            ("n BIGINT,", "expected a column name, found end of input", 9),
            (
                "n BIGINT NOT",
                "expected NULL after NOT, found end of input",
                12,
            ),
            (
                "d DECIMAL(39, 2)",
                "DECIMAL precision must be 1 to 38, got 39",
                10,
            ),
            ("d DECIMAL(5, 6)", "DECIMAL scale 6 exceeds precision 5", 13),
            ("s STRING(3)", "too many parameters for STRING", 9),
            (
                "s VarChar(20)",
                "VARCHAR is not supported: its length would not be checked; use STRING",
                2,
            ),
            (
                "a INT, s STRUCT<c: char(1)>",
                "CHAR is not supported: its length would not be checked; use STRING",
                19,
            ),
            (
                "m MAP<STRING>",
                "expected ',' between MAP key and value types, found '>'",
                12,
            ),
            (
                "a ARRAY STRING",
                "expected '<' after ARRAY, found 'STRING'",
                8,
            ),
            ("a INT; b INT", "unexpected character ';'", 5),
            ("`a INT", "unclosed `", 0),
        ];
        for (ddl, message, position) in cases {
            let e = error(ddl);
            assert_eq!(
                (e.message.as_str(), e.position),
                (message, position),
                "{ddl}"
            );
        }
    }

    #[test]
    fn caret_stays_aligned_for_multi_line_ddl() {
        let e = error("a INT,\n\tb BIGINTT");
        let lines: Vec<_> = e.to_string().lines().map(String::from).collect();
        assert_eq!(lines[1], "  a INT,  b BIGINTT");
        assert_eq!(lines[2].find('^'), lines[1].find("BIGINTT"));
    }

    #[test]
    fn writes_ddl_that_parses_back() {
        let ddl = "ts TIMESTAMP NOT NULL COMMENT 'it\\'s', local TIMESTAMP_NTZ, n BIGINT, i INT, s SMALLINT, t TINYINT, \
                   f FLOAT, d DOUBLE, b BOOLEAN, day DATE, bin BINARY, amount DECIMAL(10,2), tags ARRAY<STRING>, \
                   m MAP<STRING, BIGINT>, geo STRUCT<lat: DOUBLE NOT NULL, `odd name`: ARRAY<INT>>";
        let schema = parse(ddl);
        let written = schema_to_ddl(&schema);
        assert_eq!(parse(&written), schema);
        assert!(
            written.starts_with("ts TIMESTAMP NOT NULL COMMENT 'it\\'s', local TIMESTAMP_NTZ"),
            "{written}"
        );
        assert!(
            written.ends_with("geo STRUCT<lat: DOUBLE NOT NULL, `odd name`: ARRAY<INT>>"),
            "{written}"
        );
        assert_eq!(data_type_to_ddl(&DataType::UInt64), "UInt64");
    }

    #[test]
    fn ddl_schema_deserializes_from_a_string() {
        let s: DdlSchema = serde_json::from_str("\"n BIGINT, tags ARRAY<STRING>\"").unwrap();
        assert_eq!(
            s.0.field(1).data_type(),
            &DataType::new_list(DataType::Utf8, true)
        );
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            "\"n BIGINT, tags ARRAY<STRING>\""
        );
        let e = serde_json::from_str::<DdlSchema>("\"n BIGINTT\"").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unknown type 'BIGINTT' at position 2"),
            "{e}"
        );
        let schema = schemars::schema_for!(DdlSchema);
        assert_eq!(schema.get("type").unwrap(), "string");
        let description = schema.get("description").unwrap().as_str().unwrap();
        assert!(description.starts_with("Spark DDL schema, e.g."));
    }
}
