//! The `encoding` of JSON and CSV files: their bytes are decoded to UTF-8 before the
//! records are cut, so the decoders, positions and line numbers work as for UTF-8. Bytes
//! that are not valid in the declared encoding are never replaced silently: each spot is
//! kept so that the record holding it is rejected.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use encoding_rs::{DecoderResult, Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};
use ferry_plugin_api::log::info;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{de, Deserialize, Deserializer};

/// An encoding a text file may be declared in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    /// UTF-16 whose byte order mark decides, big-endian without one (RFC 2781).
    Utf16,
    Utf16Le,
    Utf16Be,
    /// Every byte is the code point of its value, as Java's ISO-8859-1 (WHATWG would
    /// read it as windows-1252, turning 0x80 into '€').
    Latin1,
    /// As WHATWG defines it: every byte decodes.
    Windows1252,
}

const NAMES: &str = "UTF-8, UTF-16, UTF-16LE, UTF-16BE, ISO-8859-1 (latin1), windows-1252 (cp1252)";

impl Charset {
    /// Reads a name as Spark and Java write it, ignoring case, `-` and `_`.
    pub fn parse(name: &str) -> Result<Self, String> {
        let key: String = (name.chars())
            .filter(|c| !matches!(c, '-' | '_'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Ok(match key.as_str() {
            "utf8" => Self::Utf8,
            "utf16" => Self::Utf16,
            "utf16le" => Self::Utf16Le,
            "utf16be" => Self::Utf16Be,
            "iso88591" | "latin1" => Self::Latin1,
            "windows1252" | "cp1252" => Self::Windows1252,
            _ => return Err(format!("unknown encoding '{name}'; one of {NAMES}")),
        })
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Utf8 => "UTF-8",
            Self::Utf16 => "UTF-16",
            Self::Utf16Le => "UTF-16LE",
            Self::Utf16Be => "UTF-16BE",
            Self::Latin1 => "ISO-8859-1",
            Self::Windows1252 => "windows-1252",
        })
    }
}

impl<'de> Deserialize<'de> for Charset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

impl JsonSchema for Charset {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Charset".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": format!("A text encoding, any case: {NAMES}."),
            "examples": ["UTF-8", "UTF-16LE", "ISO-8859-1"]
        })
    }
}

/// Bytes that are not valid in the file's encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// Where U+FFFD stands for them in the decoded text.
    pub at: usize,
    /// Why, e.g. `invalid UTF-16LE (byte 42 of the file: 00 d8)`.
    pub reason: String,
    /// The line that holds them, exactly as in the file (its line ending left out).
    pub line: Vec<u8>,
}

/// A file's text in UTF-8, with the spots that could not be decoded.
#[derive(Debug, Default)]
pub struct Decoded {
    pub text: Vec<u8>,
    /// In order; one per line (the first on it), as it rejects that line's record.
    pub invalid: Vec<Invalid>,
}

/// `data` in UTF-8, read as `declared` (none: UTF-8). UTF-8 is passed through as it is
/// (the decoders check it), unless the file starts with a UTF-16 byte order mark, which
/// UTF-8 can never start with. Err: the file cannot be read as declared.
pub fn decode(path: &str, data: Vec<u8>, declared: Option<Charset>) -> Result<Decoded, String> {
    const LE: &[u8] = b"\xFF\xFE";
    const BE: &[u8] = b"\xFE\xFF";
    let bom = match data.get(..2) {
        Some(LE) => Some(Charset::Utf16Le),
        Some(BE) => Some(Charset::Utf16Be),
        _ => None,
    };
    let charset = match (declared.unwrap_or(Charset::Utf8), bom) {
        (Charset::Utf8, Some(found)) => {
            info!("'{path}' starts with a {found} byte order mark: decoding it as {found}");
            found
        }
        (Charset::Utf16, Some(found)) => found,
        (declared @ (Charset::Utf16Le | Charset::Utf16Be), Some(found)) if found != declared => {
            return Err(format!(
                "it starts with a {found} byte order mark, but encoding is {declared}"
            ))
        }
        (declared, _) => declared,
    };
    Ok(match charset {
        Charset::Utf8 => Decoded {
            text: data,
            invalid: Vec::new(),
        },
        Charset::Latin1 => {
            let mut text = vec![0; data.len() * 2];
            let written = encoding_rs::mem::convert_latin1_to_utf8(&data, &mut text);
            text.truncate(written);
            Decoded {
                text,
                invalid: Vec::new(),
            }
        }
        Charset::Windows1252 => transcode(&data, WINDOWS_1252, charset),
        Charset::Utf16Le => transcode(&data, UTF_16LE, charset),
        // Without a byte order mark, UTF-16 is big-endian.
        Charset::Utf16 | Charset::Utf16Be => transcode(&data, UTF_16BE, Charset::Utf16Be),
    })
}

/// Decodes `data` with `encoding`, marking each malformed sequence with U+FFFD. A byte
/// order mark is kept, as U+FEFF in UTF-8, which the record cursor skips.
fn transcode(data: &[u8], encoding: &'static Encoding, charset: Charset) -> Decoded {
    const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder.max_utf8_buffer_length_without_replacement(data.len());
    let mut text = vec![0; capacity.unwrap_or(data.len() * 3) + REPLACEMENT.len()];
    let (mut read, mut written) = (0, 0);
    let mut invalid: Vec<Invalid> = Vec::new();
    let mut last_line = None;
    loop {
        let (result, r, w) =
            decoder.decode_to_utf8_without_replacement(&data[read..], &mut text[written..], true);
        (read, written) = (read + r, written + w);
        match result {
            DecoderResult::InputEmpty => break,
            DecoderResult::OutputFull => text.resize(text.len() * 2, 0),
            DecoderResult::Malformed(length, after) => {
                let end = read - usize::from(after);
                let bad = end - usize::from(length)..end;
                if text.len() - written < REPLACEMENT.len() {
                    text.resize(text.len() * 2, 0);
                }
                text[written..written + REPLACEMENT.len()].copy_from_slice(REPLACEMENT);
                let line = line_around(data, bad.start, charset);
                if last_line.as_ref() != Some(&line) {
                    invalid.push(Invalid {
                        at: written,
                        reason: format!(
                            "invalid {charset} (byte {} of the file: {})",
                            bad.start,
                            hex(&data[bad.clone()])
                        ),
                        line: data[line.clone()].to_vec(),
                    });
                    last_line = Some(line);
                }
                written += REPLACEMENT.len();
            }
        }
    }
    text.truncate(written);
    Decoded { text, invalid }
}

/// The line of `data` holding byte `at`, without its line ending (nor a byte order
/// mark): UTF-16 is split at its newline code units, other encodings at `\n` bytes.
fn line_around(data: &[u8], at: usize, charset: Charset) -> Range<usize> {
    let (newline, cr): (&[u8], &[u8]) = match charset {
        Charset::Utf16Le => (b"\n\0", b"\r\0"),
        Charset::Utf16Be => (b"\0\n", b"\0\r"),
        _ => (b"\n", b"\r"),
    };
    let width = newline.len();
    let is_newline = |i: usize| data.get(i..i + width) == Some(newline);
    let aligned = at - at % width;
    let mut start = aligned;
    while start >= width && !is_newline(start - width) {
        start -= width;
    }
    if start == 0 && width == 2 && matches!(data.get(..2), Some(b"\xFF\xFE" | b"\xFE\xFF")) {
        start = 2;
    }
    let mut end = aligned;
    while end < data.len() && !is_newline(end) {
        end += width;
    }
    let end = end.min(data.len());
    match data[start..end].ends_with(cr) {
        true => start..end - width,
        false => start..end,
    }
}

fn hex(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let units = text.encode_utf16();
        match big_endian {
            true => units.flat_map(u16::to_be_bytes).collect(),
            false => units.flat_map(u16::to_le_bytes).collect(),
        }
    }

    fn text(data: &[u8], declared: Option<Charset>) -> String {
        let decoded = decode("f", data.to_vec(), declared).unwrap();
        assert_eq!(decoded.invalid, []);
        String::from_utf8(decoded.text).unwrap()
    }

    #[test]
    fn names_as_spark_and_java_write_them() {
        for (name, charset) in [
            ("UTF-8", Charset::Utf8),
            ("utf8", Charset::Utf8),
            ("UTF-16", Charset::Utf16),
            ("UTF-16LE", Charset::Utf16Le),
            ("utf_16be", Charset::Utf16Be),
            ("ISO-8859-1", Charset::Latin1),
            ("latin1", Charset::Latin1),
            ("windows-1252", Charset::Windows1252),
            ("Cp1252", Charset::Windows1252),
        ] {
            assert_eq!(Charset::parse(name), Ok(charset), "{name}");
        }
        let refused = Charset::parse("Shift_JIS").unwrap_err();
        assert!(
            refused.starts_with("unknown encoding 'Shift_JIS'; one of UTF-8"),
            "{refused}"
        );
    }

    #[test]
    fn each_encoding_decodes_to_the_same_text() {
        let expected = "\u{feff}id,name\n1,café ½\n";
        let le = utf16(expected, false);
        let be_without_bom = utf16(&expected[3..], true);
        assert_eq!(text(&le, None), expected);
        assert_eq!(text(&le, Some(Charset::Utf16)), expected);
        assert_eq!(text(&le, Some(Charset::Utf16Le)), expected);
        assert_eq!(text(&utf16(expected, true), None), expected);
        assert_eq!(
            text(&be_without_bom, Some(Charset::Utf16Be)),
            &expected[3..]
        );
        assert_eq!(text(&be_without_bom, Some(Charset::Utf16)), &expected[3..]);
        let latin1 = b"id,name\n1,caf\xe9 \xbd\n";
        assert_eq!(text(latin1, Some(Charset::Latin1)), &expected[3..]);
        assert_eq!(text(latin1, Some(Charset::Windows1252)), &expected[3..]);
    }

    #[test]
    fn iso_8859_1_is_not_windows_1252() {
        assert_eq!(text(b"\x80\x9c", Some(Charset::Latin1)), "\u{80}\u{9c}");
        assert_eq!(text(b"\x80\x9c", Some(Charset::Windows1252)), "€œ");
    }

    #[test]
    fn invalid_bytes_are_marked_with_their_line() {
        let mut data = utf16("{\"a\": 1}\r\n{\"a\": \"", false);
        data.extend([0x00, 0xd8]); // a high surrogate with no low one after it
        data.extend(utf16("x\"}\r\n{\"a\": 3}\n", false));
        data.push(b'!'); // half a code unit
        let decoded = decode("f", data.clone(), Some(Charset::Utf16Le)).unwrap();
        let text = String::from_utf8(decoded.text).unwrap();
        assert_eq!(
            text,
            "{\"a\": 1}\r\n{\"a\": \"\u{fffd}x\"}\r\n{\"a\": 3}\n\u{fffd}"
        );
        let line = utf16("{\"a\": \"", false);
        let line = [line.as_slice(), &[0x00, 0xd8], &utf16("x\"}", false)].concat();
        let expected = [
            Invalid {
                at: text.find('\u{fffd}').unwrap(),
                reason: "invalid UTF-16LE (byte 34 of the file: 00 d8)".into(),
                line,
            },
            Invalid {
                at: text.rfind('\u{fffd}').unwrap(),
                reason: format!("invalid UTF-16LE (byte {} of the file: 21)", data.len() - 1),
                line: b"!".to_vec(),
            },
        ];
        assert_eq!(decoded.invalid, expected);
    }

    #[test]
    fn a_byte_order_mark_against_the_declared_order_is_refused() {
        let le = utf16("\u{feff}x", false);
        let refused = decode("f", le, Some(Charset::Utf16Be)).unwrap_err();
        assert_eq!(
            refused,
            "it starts with a UTF-16LE byte order mark, but encoding is UTF-16BE"
        );
    }
}
