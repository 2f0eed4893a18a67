//! Spark's CSV reader options, with Spark's defaults, for every source that reads CSV.

use schemars::JsonSchema;
use serde::Deserialize;

/// How CSV records are read: Spark's reader options under their meaning in Spark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// Between fields (`sep`); any non-empty text, e.g. `","`, `", "`, `"þ"`.
    pub delimiter: String,
    /// Opens and closes a quoted field; none: quotes are text.
    pub quote: Option<char>,
    /// Inside quotes, makes the next quote (or escape) text. Spark's default is `\`; the
    /// quote itself gives RFC 4180 doubling (`""`). None: no escape.
    pub escape: Option<char>,
    /// A record starting with this is skipped.
    pub comment: Option<char>,
    /// A field that reads as this is null; an unquoted empty field reads as this.
    pub null_value: String,
    /// What a quoted empty field (`""`) reads as (Spark: "", so null with the default
    /// `null_value`).
    pub empty_value: String,
    /// Read as NaN in FLOAT and DOUBLE columns.
    pub nan_value: String,
    /// Read as positive infinity in FLOAT and DOUBLE columns.
    pub positive_inf: String,
    /// Read as negative infinity in FLOAT and DOUBLE columns.
    pub negative_inf: String,
    /// Whitespace before an unquoted field (and before a field's opening quote) is
    /// dropped.
    pub ignore_leading_white_space: bool,
    /// Whitespace after an unquoted field is dropped.
    pub ignore_trailing_white_space: bool,
    /// How DECIMAL columns write grouping and the decimal point.
    pub locale: Locale,
    /// What a quote inside a quoted field that is not escaped means.
    pub unescaped_quote_handling: UnescapedQuoteHandling,
    /// What bytes that are not UTF-8 do.
    pub encoding_errors: EncodingErrors,
}

impl Default for CsvOptions {
    /// Spark's defaults.
    fn default() -> Self {
        Self {
            delimiter: ",".into(),
            quote: Some('"'),
            escape: Some('\\'),
            comment: None,
            null_value: String::new(),
            empty_value: String::new(),
            nan_value: "NaN".into(),
            positive_inf: "Inf".into(),
            negative_inf: "-Inf".into(),
            ignore_leading_white_space: false,
            ignore_trailing_white_space: false,
            locale: Locale::default(),
            unescaped_quote_handling: UnescapedQuoteHandling::default(),
            encoding_errors: EncodingErrors::default(),
        }
    }
}

impl CsvOptions {
    /// Errs naming the option that cannot work.
    pub fn check(&self) -> Result<(), String> {
        if self.delimiter.is_empty() {
            return Err("delimiter: must not be empty".into());
        }
        if self.quote.is_some_and(|q| self.delimiter.starts_with(q)) {
            return Err("quote: must differ from the delimiter".into());
        }
        Ok(())
    }
}

/// A delimiter as Spark's `sep` takes it: the escapes `\t`, `\r`, `\b`, `\f`, `\"`,
/// `\'` and `\\` written as two characters are the characters they name (so `"\\t"`
/// from a Spark job is a tab); any other backslash is refused, as Spark refuses it.
pub fn spark_delimiter(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('t') => '\t',
            Some('r') => '\r',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some(c @ ('"' | '\'' | '\\')) => c,
            _ => {
                return Err(format!(
                "delimiter: unsupported escape in '{text}' (\\t, \\r, \\b, \\f, \\\", \\' or \\\\)"
            ))
            }
        });
    }
    Ok(out)
}

/// Spark's `unescapedQuoteHandling`: a quoted field holds a quote that is neither escaped
/// nor followed by the delimiter, as in `"a"b`.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnescapedQuoteHandling {
    /// The field is its text up to the delimiter, quotes included (`"a"b`).
    #[default]
    #[serde(alias = "stop_at_delimiter")]
    StopAtDelimiter,
    /// The quote is text and the field goes on to a quote before the delimiter
    /// (`"a"b"c",` is `a"b"c`).
    #[serde(alias = "stop_at_closing_quote")]
    StopAtClosingQuote,
    /// As Spark does it: the quote is dropped and the field goes on to a quote before the
    /// delimiter (`"a"b"c",` is `abc`).
    #[serde(alias = "back_to_delimiter")]
    BackToDelimiter,
    /// The field is null (Spark: `nullValue`).
    #[serde(alias = "skip_value")]
    SkipValue,
    /// The record is rejected.
    #[serde(alias = "raise_error")]
    RaiseError,
}

/// What bytes that are not valid in the encoding do to their record.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EncodingErrors {
    /// The record is rejected, naming the column.
    #[default]
    Reject,
    /// Each bad sequence reads as U+FFFD, as Spark reads it.
    Replace,
}

/// How numbers are written: Spark's `locale`, for DECIMAL columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locale {
    /// As given, e.g. "en-US".
    pub tag: String,
    /// Groups digits; dropped wherever it is, as Java's parsers drop it.
    pub grouping: char,
    /// The decimal point.
    pub decimal: char,
}

impl Default for Locale {
    fn default() -> Self {
        Self {
            tag: "en-US".into(),
            grouping: ',',
            decimal: '.',
        }
    }
}

/// The locales whose number symbols ferry knows, as Java writes them.
const LOCALES: &[(&str, char, char)] = &[
    ("en", ',', '.'),
    ("de-de", '.', ','),
    ("de-at", '.', ','),
    ("es-es", '.', ','),
    ("it-it", '.', ','),
    ("nl-nl", '.', ','),
    ("pt-br", '.', ','),
];

impl Locale {
    /// A language tag as Spark takes it ("en-US", "de-DE"); any English one, or one of a
    /// few whose symbols are known.
    pub fn parse(tag: &str) -> Result<Self, String> {
        let key = tag.replace('_', "-").to_ascii_lowercase();
        let known = LOCALES.iter().find(|(prefix, ..)| {
            key == *prefix || key.strip_prefix(prefix).is_some_and(|r| r.starts_with('-'))
        });
        let Some(&(_, grouping, decimal)) = known else {
            let names: Vec<&str> = LOCALES.iter().map(|(name, ..)| *name).collect();
            return Err(format!(
                "locale '{tag}': unknown; one of en-*, {}",
                names[1..].join(", ")
            ));
        };
        Ok(Self {
            tag: tag.to_string(),
            grouping,
            decimal,
        })
    }

    /// A DECIMAL written in this locale as a plain number (`80,000.65` in en-US is
    /// `80000.65`), for the decimal parser to check.
    pub(super) fn plain_decimal(&self, text: &str) -> String {
        text.chars()
            .filter(|&c| c != self.grouping)
            .map(|c| if c == self.decimal { '.' } else { c })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_map_their_symbols() {
        let us = Locale::parse("en-US").unwrap();
        assert_eq!(us, Locale::default());
        assert_eq!(us.plain_decimal("80,000.65"), "80000.65");
        assert_eq!(us.plain_decimal("1,2,3"), "123");
        let de = Locale::parse("de_DE").unwrap();
        assert_eq!(de.plain_decimal("80.000,65"), "80000.65");
        assert_eq!(Locale::parse("en").unwrap().grouping, ',');
        assert_eq!(
            Locale::parse("fr-FR").unwrap_err(),
            "locale 'fr-FR': unknown; one of en-*, de-de, de-at, es-es, it-it, nl-nl, pt-br"
        );
        assert!(Locale::parse("english").is_err());
    }

    #[test]
    fn delimiters_take_sparks_escapes() {
        assert_eq!(spark_delimiter("\\t").unwrap(), "\t");
        assert_eq!(spark_delimiter("a\\\\b").unwrap(), "a\\b");
        assert_eq!(spark_delimiter("þ").unwrap(), "þ");
        assert_eq!(spark_delimiter("\t").unwrap(), "\t");
        assert!(spark_delimiter("\\x")
            .unwrap_err()
            .starts_with("delimiter: unsupported"));
        assert!(spark_delimiter("a\\").is_err());
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(CsvOptions::default().check(), Ok(()));
        let empty = CsvOptions {
            delimiter: String::new(),
            ..CsvOptions::default()
        };
        assert!(empty.check().is_err());
    }
}
