//! Component options: JSON from the host into the author's typed struct, and back out
//! as a JSON schema for `ferry plugins` and `ferry validate`.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::{Error, Result};

/// Parses options; the error names the offending key (`unknown field `sped``, or
/// `rows_per_second: invalid type: string "x", expected u64`).
pub fn parse_options<T: DeserializeOwned>(json: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = strip_position(&e.inner().to_string());
        let repeats_key = inner.starts_with(&format!("unknown field `{path}`"));
        match path.as_str() {
            "." | "" => Error::msg(inner),
            _ if repeats_key => Error::msg(inner),
            _ => Error::msg(format!("{path}: {inner}")),
        }
    })
}

/// A one-character option such as a CSV delimiter or quote, as the byte the CSV code
/// wants; `option` names it in the error.
pub fn ascii_char(option: &str, c: char) -> Result<u8> {
    match u8::try_from(c) {
        Ok(byte) if byte.is_ascii() => Ok(byte),
        _ => Err(Error::msg(format!(
            "{option}: '{c}' is not an ASCII character"
        ))),
    }
}

/// The JSON schema of an options struct, as a JSON string.
pub fn options_schema<T: JsonSchema>() -> String {
    serde_json::to_string(&schemars::schema_for!(T)).expect("a JSON schema serializes")
}

/// serde_json appends ` at line 1 column 42`, which points into JSON the user never saw.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema, Debug)]
    #[serde(deny_unknown_fields)]
    struct Opts {
        /// How many.
        #[serde(default)]
        count: u64,
    }

    #[test]
    fn valid_options_parse() {
        assert_eq!(parse_options::<Opts>(r#"{"count": 3}"#).unwrap().count, 3);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse_options::<Opts>(r#"{"cout": 3}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `cout`"), "{err}");
        assert!(!err.contains("line 1"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = parse_options::<Opts>(r#"{"count": "x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("count: invalid type"), "{err}");
    }

    #[test]
    fn schema_carries_doc_comments() {
        assert!(options_schema::<Opts>().contains("How many."));
    }
}
